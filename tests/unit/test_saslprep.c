/*
 * test_saslprep: SASLprep (RFC 4013) on the examples of RFC 4013 §3, the
 * stored / query difference, and input that is not UTF-8.
 */
#include "unit.h"

#include <string.h>

#include "auth/saslprep.h"

/* out of saslprep_prepare(in) as a query, or "<error>" */
static const char *prep(struct arena *arena, const char *in, bool stored)
{
	const char *out = NULL, *error = NULL;

	if (saslprep_prepare(arena, in, stored, &out, &error) < 0) {
		UNIT_CHECK(error != NULL);
		return "<error>";
	}
	return out;
}

/* RFC 4013 §3, each line of its table. */
static void rfc4013_examples(void)
{
	struct arena *arena = arena_new();

	UNIT_CHECK_STR(prep(arena, "I\xc2\xad" "X", false), "IX");  /* SOFT HYPHEN mapped to nothing */
	UNIT_CHECK_STR(prep(arena, "user", false), "user");          /* no transformation */
	UNIT_CHECK_STR(prep(arena, "USER", false), "USER");          /* case preserved */
	UNIT_CHECK_STR(prep(arena, "\xc2\xaa", false), "a");         /* U+00AA, NFKC */
	UNIT_CHECK_STR(prep(arena, "\xe2\x85\xa8", false), "IX");    /* U+2168, NFKC */
	UNIT_CHECK_STR(prep(arena, "\x07", false), "<error>");       /* prohibited character */
	UNIT_CHECK_STR(prep(arena, "\xd8\xa7" "1", false), "<error>"); /* bidirectional check */
	arena_free(arena);
}

/* The same examples hold for stored strings; addresses and ASCII
 * passwords are unchanged; a non-ASCII space is a space (§2.1). */
static void stored_strings_and_ascii(void)
{
	struct arena *arena = arena_new();

	UNIT_CHECK_STR(prep(arena, "I\xc2\xad" "X", true), "IX");
	UNIT_CHECK_STR(prep(arena, "\xe2\x85\xa8", true), "IX");
	UNIT_CHECK_STR(prep(arena, "alice@example.test", true), "alice@example.test");
	UNIT_CHECK_STR(prep(arena, "b0b pass !~", true), "b0b pass !~");
	UNIT_CHECK_STR(prep(arena, "a\xc2\xa0" "b", true), "a b"); /* NO-BREAK SPACE */
	UNIT_CHECK_STR(prep(arena, "caf\xc3\xa9", true), "caf\xc3\xa9");
	UNIT_CHECK_STR(prep(arena, "cafe\xcc\x81", true), "caf\xc3\xa9"); /* NFKC composes */
	UNIT_CHECK_STR(prep(arena, "", true), "");
	arena_free(arena);
}

/* RFC 3454 §7: an unassigned code point (in Unicode 3.2) may be in a query
 * but not in a stored string. U+0221 was unassigned in 3.2. */
static void unassigned_only_in_queries(void)
{
	struct arena *arena = arena_new();

	UNIT_CHECK_STR(prep(arena, "x\xc8\xa1", true), "<error>");
	UNIT_CHECK_STR(prep(arena, "x\xc8\xa1", false), "x\xc8\xa1");
	arena_free(arena);
}

/* Prohibited output (RFC 4013 §2.3) and malformed UTF-8 are refused. */
static void prohibited_and_malformed_are_refused(void)
{
	static const char *const bad[] = {
		"a\tb",                 /* ASCII control, C.2.1 */
		"a\x7f",                /* DEL */
		"\xee\x80\x80",         /* U+E000 private use, C.3 */
		"\xef\xbf\xbe",         /* U+FFFE non-character, C.4 */
		"\342\200\216a",       /* U+200E LEFT-TO-RIGHT MARK, C.8 */
		"\xf3\xa0\x80\x81",     /* U+E0001 LANGUAGE TAG, C.9 */
		"\xc0\xaf",             /* overlong "/" */
		"\xe0\x80\xaf",         /* overlong "/" */
		"\xed\xa0\x80",         /* a surrogate */
		"\xf4\x90\x80\x80",     /* above U+10FFFF */
		"\xc3",                 /* truncated */
		"\x80",                 /* a lone continuation byte */
	};
	struct arena *arena = arena_new();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *got = prep(arena, bad[i], false);
		if (strcmp(got, "<error>") != 0)
			printf("# accepted case %zu\n", i);
		UNIT_CHECK_STR(got, "<error>");
	}
	arena_free(arena);
}

static void overlong_input_is_refused(void)
{
	struct arena *arena = arena_new();
	char *big = arena_alloc(arena, SASLPREP_INPUT_MAX + 2);

	memset(big, 'a', SASLPREP_INPUT_MAX + 1);
	big[SASLPREP_INPUT_MAX + 1] = '\0';
	UNIT_CHECK_STR(prep(arena, big, false), "<error>");
	big[SASLPREP_INPUT_MAX] = '\0';
	UNIT_CHECK(strlen(prep(arena, big, false)) == SASLPREP_INPUT_MAX);
	arena_free(arena);
}

int main(void)
{
	UNIT_RUN(rfc4013_examples);
	UNIT_RUN(stored_strings_and_ascii);
	UNIT_RUN(unassigned_only_in_queries);
	UNIT_RUN(prohibited_and_malformed_are_refused);
	UNIT_RUN(overlong_input_is_refused);
	return unit_finish();
}
