/*
 * unit.h: the whole unit-test harness. A test file defines test functions,
 * lists them in main with UNIT_RUN, and returns unit_finish(). Each test
 * prints one line, "ok NAME" or "FAIL NAME: file:line: expression", which
 * scripts/check.sh counts into the final "N passed, N failed".
 */
#ifndef BUZON_TESTS_UNIT_H
#define BUZON_TESTS_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_failed_total;
static int unit_current_failed;

#define UNIT_CHECK(expr) do { \
		if (!(expr)) { \
			printf("  check failed: %s:%d: %s\n", __FILE__, __LINE__, #expr); \
			unit_current_failed = 1; \
		} \
	} while (0)

#define UNIT_CHECK_STR(got, want) do { \
		const char *unit_g = (got), *unit_w = (want); \
		if (unit_g == NULL || strcmp(unit_g, unit_w) != 0) { \
			printf("  check failed: %s:%d: %s\n    got:  %s\n    want: %s\n", \
			       __FILE__, __LINE__, #got, unit_g ? unit_g : "(null)", unit_w); \
			unit_current_failed = 1; \
		} \
	} while (0)

#define UNIT_RUN(fn) do { \
		unit_current_failed = 0; \
		fn(); \
		printf("%s %s\n", unit_current_failed ? "FAIL" : "ok", #fn); \
		unit_failed_total += unit_current_failed; \
		fflush(stdout); \
	} while (0)

static inline int unit_finish(void)
{
	return unit_failed_total ? 1 : 0;
}

#endif
