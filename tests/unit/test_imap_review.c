/*
 * test_imap_review: findings of a review of src/imap/ that the pure
 * functions show: modified UTF-7 names that smuggle a NUL, and SEARCH
 * sequence sets that cost a scan of every range for every message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "imap/search.h"
#include "imap/utf7.h"
#include "unit.h"

/* "&AAA-" is U+0000: as a C string "a&AAA-b" would decode to "a", a second
 * spelling of an existing name. */
static void utf7_decode_refuses_nul(void)
{
	struct arena *a = arena_new();

	UNIT_CHECK(utf7_decode(a, "a&AAA-b") == NULL);
	UNIT_CHECK(utf7_decode(a, "INBOX&AAA-") == NULL);
	UNIT_CHECK(utf7_decode(a, "&AAAA8A-") == NULL); /* NUL, then U+00F0 */
	/* control characters other than NUL still round-trip (the name check
	 * refuses them later), as do real names */
	UNIT_CHECK_STR(utf7_decode(a, "&APw-"), "\xc3\xbc");
	arena_free(a);
}

static struct imap_search_query *review_parse(struct arena *arena, const char *args)
{
	struct imap_parser parser;
	struct imap_search_query *query = NULL;

	imap_parser_init(&parser, arena, args, strlen(args));
	if (!imap_search_parse(&parser, &query) || !imap_parse_eol(&parser))
		return NULL;
	return query;
}

static bool review_match_seq(const struct imap_search_query *q, uint32_t seq, uint32_t max,
			     struct arena *arena)
{
	struct imap_search_message m = { .seq = seq, .uid = seq, .max_seq = max, .max_uid = max };

	return imap_search_match(q, &m, arena);
}

/* RFC 9051 §9: "*" is the largest number in use; "a:b" is the same as
 * "b:a". The reference answer, range by range. */
static bool review_in_ranges(const uint32_t (*r)[2], size_t count, uint32_t n, uint32_t max)
{
	for (size_t i = 0; i < count; i++) {
		uint32_t lo = r[i][0] ? r[i][0] : max, hi = r[i][1] ? r[i][1] : max;
		if (lo > hi) {
			uint32_t t = lo;
			lo = hi;
			hi = t;
		}
		if (n >= lo && n <= hi)
			return true;
	}
	return false;
}

/* Random sets of ranges, "*" included (0 in the table), against every
 * number and several values of "*": the indexed matcher gives the same
 * answer as the definition. */
static void search_seqset_matches_like_the_definition(void)
{
	struct arena *arena = arena_new();
	unsigned seed = 12345;

	for (int round = 0; round < 400; round++) {
		uint32_t ranges[8][2];
		size_t count = 1 + (size_t)(rand_r(&seed) % 8);
		struct buf args = BUF_INIT;

		buf_append_str(&args, " ");
		for (size_t i = 0; i < count; i++) {
			for (int k = 0; k < 2; k++)
				ranges[i][k] = (uint32_t)(rand_r(&seed) % 25); /* 0 = "*" */
			if (rand_r(&seed) % 3 == 0)
				ranges[i][1] = ranges[i][0];
			if (i > 0)
				buf_append_char(&args, ',');
			for (int k = 0; k < 2; k++) {
				if (k == 1 && ranges[i][1] == ranges[i][0] && rand_r(&seed) % 2)
					break; /* single number */
				if (k == 1)
					buf_append_char(&args, ':');
				if (ranges[i][k] == 0)
					buf_append_char(&args, '*');
				else
					buf_printf(&args, "%u", ranges[i][k]);
			}
		}
		struct imap_search_query *q = review_parse(arena, args.data);
		UNIT_CHECK(q != NULL);
		if (q == NULL) {
			printf("    could not parse:%s\n", args.data);
			buf_free(&args);
			continue;
		}
		for (uint32_t max = 1; max <= 30; max += 3) {
			for (uint32_t n = 1; n <= 30; n++) {
				bool want = review_in_ranges((const uint32_t (*)[2])ranges, count, n, max);
				if (review_match_seq(q, n, max, arena) != want) {
					printf("    set%s n=%u max=%u: want %d\n", args.data, n, max, want);
					unit_current_failed = 1;
				}
			}
		}
		buf_free(&args);
	}
	arena_free(arena);
}

/* A hostile SEARCH carries ~100,000 ranges (lines joined by literals, up
 * to 1 MB); matching must not scan them all for every message (rule 5).
 * 20,000 ranges against 20,000 messages: 400 million range checks the
 * naive way (seconds), a few hundred thousand with the index. */
static void search_seqset_with_many_ranges_is_fast(void)
{
	struct arena *arena = arena_new();
	struct buf args = BUF_INIT;
	uint32_t matched = 0;

	buf_append_str(&args, " UID ");
	for (uint32_t i = 0; i < 20000; i++)
		buf_printf(&args, "%s%u:%u", i ? "," : "", 1000000 + 4 * i, 1000001 + 4 * i);
	buf_append_str(&args, ",7");
	struct imap_search_query *q = review_parse(arena, args.data);
	UNIT_CHECK(q != NULL);
	clock_t t0 = clock();
	for (uint32_t uid = 1; q != NULL && uid <= 20000; uid++)
		matched += review_match_seq(q, uid, 20000, arena);
	double seconds = (double)(clock() - t0) / CLOCKS_PER_SEC;
	UNIT_CHECK(matched == 1);
	UNIT_CHECK(seconds < 0.5);
	if (seconds >= 0.5)
		printf("    20,000 messages took %.2f s\n", seconds);
	buf_free(&args);
	arena_free(arena);
}

int main(void)
{
	UNIT_RUN(utf7_decode_refuses_nul);
	UNIT_RUN(search_seqset_matches_like_the_definition);
	UNIT_RUN(search_seqset_with_many_ranges_is_fast);
	return unit_finish();
}
