/*
 * test_imap_thread: the THREAD algorithms of RFC 5256 §3 (src/imap/
 * thread.c) on hand-built messages, checked against the THREAD response a
 * client would see: ORDEREDSUBJECT, and REFERENCES with its links,
 * dummies, pruning, subject merging and date sorting; message-id
 * normalisation; loops, duplicates and a chain deep enough to break any
 * recursive walk.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "imap/sort.h"
#include "imap/thread.h"
#include "unit.h"

/* One test message: id, subject, date, References, In-Reply-To. */
struct test_msg {
	const char *id, *subject;
	int64_t date;
	const char *refs, *reply_to;
};

static char *test_thread(struct arena *a, enum imap_thread_algorithm alg,
			 const struct test_msg *in, size_t count)
{
	struct imap_thread_message *msgs = arena_zalloc(a, (count + 1) * sizeof(*msgs));
	struct buf out = BUF_INIT;
	size_t len;

	for (size_t i = 0; i < count; i++) {
		char *base = imap_sort_base_subject(a, in[i].subject, &msgs[i].is_reply);
		msgs[i].number = (uint32_t)i + 1;
		msgs[i].subject = imap_search_fold(a, base, strlen(base), &len);
		msgs[i].sent_date = in[i].date;
		msgs[i].message_id = in[i].id;
		msgs[i].references = in[i].refs;
		msgs[i].in_reply_to = in[i].reply_to;
	}
	imap_thread_write(a, alg, msgs, count, &out);
	buf_append_char(&out, '\0');
	char *s = arena_strdup(a, out.data);
	buf_free(&out);
	return s;
}

#define REFS(a, msgs) \
	test_thread((a), IMAP_THREAD_REFERENCES, (msgs), sizeof(msgs) / sizeof((msgs)[0]))
#define ORDERED(a, msgs) \
	test_thread((a), IMAP_THREAD_ORDEREDSUBJECT, (msgs), sizeof(msgs) / sizeof((msgs)[0]))

static void msgid_is_normalised(void)
{
	struct arena *a = arena_new();
	size_t pos = 0;

	UNIT_CHECK_STR(imap_thread_next_msgid(a, "<a@b>", &pos), "a@b");
	pos = 0;
	UNIT_CHECK_STR(imap_thread_next_msgid(a, "<\"01KF8JCEOCBS0045PS\"@xxx.yyy.com>", &pos),
		       "01KF8JCEOCBS0045PS@xxx.yyy.com");
	pos = 0;
	UNIT_CHECK_STR(imap_thread_next_msgid(a, " <a@b>\r\n\t<c@d> junk <e@f>", &pos), "a@b");
	UNIT_CHECK_STR(imap_thread_next_msgid(a, " <a@b>\r\n\t<c@d> junk <e@f>", &pos), "c@d");
	UNIT_CHECK_STR(imap_thread_next_msgid(a, " <a@b>\r\n\t<c@d> junk <e@f>", &pos), "e@f");
	UNIT_CHECK(imap_thread_next_msgid(a, " <a@b>\r\n\t<c@d> junk <e@f>", &pos) == NULL);
	pos = 0;
	UNIT_CHECK(imap_thread_next_msgid(a, "<nope> <@x> <x@> <unclosed@x", &pos) == NULL);
	pos = 0;
	UNIT_CHECK_STR(imap_thread_next_msgid(a, "<a <b@c>", &pos), "b@c");
	pos = 0;
	UNIT_CHECK(imap_thread_next_msgid(a, NULL, &pos) == NULL);
	arena_free(a);
}

static void orderedsubject_groups_by_base_subject(void)
{
	struct arena *a = arena_new();
	const struct test_msg m[] = {
		{ NULL, "topic", 30, NULL, NULL },
		{ NULL, "Re: topic", 40, NULL, NULL },
		{ NULL, "other", 10, NULL, NULL },
		{ NULL, "RE: TOPIC", 35, NULL, NULL },
		{ NULL, "Re: other", 50, NULL, NULL },
		{ NULL, "alone", 20, NULL, NULL },
		{ NULL, "", 5, NULL, NULL },
	};

	/* threads by their first date: "" (5), other (10), alone (20), topic (30) */
	UNIT_CHECK_STR(ORDERED(a, m), "(7)(3 5)(6)(1 (4)(2))");
	arena_free(a);
}

static void references_link_chains(void)
{
	struct arena *a = arena_new();
	const struct test_msg m[] = {
		{ "<a@x>", "topic", 10, NULL, NULL },
		{ "<b@x>", "Re: topic", 20, NULL, "<a@x>" },
		{ "<c@x>", "Re: topic", 30, "<a@x> <b@x>", NULL },
		{ "<d@x>", "Re: topic", 25, "<a@x>", NULL },
	};

	UNIT_CHECK_STR(REFS(a, m), "(1 (2 3)(4))");
	arena_free(a);
}

static void references_missing_parents_make_dummies(void)
{
	struct arena *a = arena_new();
	const struct test_msg two[] = {
		{ "<d@x>", "one", 20, "<missing@x>", NULL },
		{ "<e@x>", "two", 10, "<missing@x>", NULL },
	};
	const struct test_msg one[] = {
		{ "<d@x>", "one", 20, "<gone@x> <missing@x>", NULL },
	};
	const struct test_msg nested[] = {
		/* <m1> -> <m2> -> 1 and <m1> -> <m3> -> 2: under the root the
		 * dummy <m1> keeps its two children, the inner dummies go */
		{ "<d@x>", "one", 20, "<m1@x> <m2@x>", NULL },
		{ "<e@x>", "two", 10, "<m1@x> <m3@x>", NULL },
	};

	UNIT_CHECK_STR(REFS(a, two), "((2)(1))");
	UNIT_CHECK_STR(REFS(a, one), "(1)");
	UNIT_CHECK_STR(REFS(a, nested), "((2)(1))");
	arena_free(a);
}

static void references_fall_back_to_in_reply_to(void)
{
	struct arena *a = arena_new();
	const struct test_msg m[] = {
		{ "<a@x>", "topic", 10, NULL, NULL },
		/* no valid id in References: the first of In-Reply-To */
		{ "<b@x>", "x", 20, "garbage", "<a@x> (from joe <joe@x>)" },
		/* In-Reply-To with junk after: only its first id counts */
		{ "<c@x>", "y", 30, NULL, "<b@x> <a@x>" },
		/* quoting differs but the id is the same */
		{ "<d@x>", "z", 40, NULL, "<\"c\"@x>" },
	};

	UNIT_CHECK_STR(REFS(a, m), "(1 2 3 4)");
	arena_free(a);
}

static void references_keep_existing_parents_and_refuse_loops(void)
{
	struct arena *a = arena_new();
	const struct test_msg loop[] = {
		{ "<a@x>", "one", 10, "<b@x>", NULL },
		{ "<b@x>", "two", 20, "<a@x>", NULL },
	};
	const struct test_msg self[] = {
		{ "<a@x>", "one", 10, "<a@x>", NULL },
	};
	const struct test_msg truncated[] = {
		{ "<a@x>", "one", 10, NULL, NULL },
		{ "<b@x>", "two", 20, "<a@x>", NULL },
		{ "<c@x>", "three", 30, "<a@x> <b@x>", NULL },
		/* claims <c> is a child of <a> directly: <c> keeps <b> as parent
		 * (1.A), and 4 hangs from <c> */
		{ "<d@x>", "four", 40, "<a@x> <c@x>", NULL },
	};

	UNIT_CHECK_STR(REFS(a, loop), "(2 1)");
	UNIT_CHECK_STR(REFS(a, self), "(1)");
	UNIT_CHECK_STR(REFS(a, truncated), "(1 2 3 4)");
	arena_free(a);
}

static void references_duplicate_ids_belong_to_the_first(void)
{
	struct arena *a = arena_new();
	const struct test_msg m[] = {
		{ "<a@x>", "one", 10, NULL, NULL },
		{ "<a@x>", "two", 20, NULL, NULL },
		{ "<c@x>", "three", 30, "<a@x>", NULL },
		{ NULL, "four", 5, NULL, NULL },
		{ "no id here", "five", 6, NULL, NULL },
	};

	UNIT_CHECK_STR(REFS(a, m), "(4)(5)(1 3)(2)");
	arena_free(a);
}

static void references_merge_threads_by_subject(void)
{
	struct arena *a = arena_new();
	const struct test_msg reply_joins[] = {
		{ "<a@x>", "Re: hello", 10, NULL, NULL },
		{ "<b@x>", "hello", 20, NULL, NULL },
		{ "<c@x>", "Fwd: hello", 30, NULL, NULL },
	};
	const struct test_msg equals_get_a_dummy[] = {
		{ "<a@x>", "hi", 10, NULL, NULL },
		{ "<b@x>", "hi", 20, NULL, NULL },
		{ "<c@x>", "Re: hi", 30, NULL, NULL },
	};
	const struct test_msg replies_only[] = {
		{ "<a@x>", "Re: hi", 10, NULL, NULL },
		{ "<b@x>", "Re: hi", 20, NULL, NULL },
	};
	const struct test_msg empty_subjects_stay_apart[] = {
		{ "<a@x>", "", 10, NULL, NULL },
		{ "<b@x>", "Re:", 20, NULL, NULL },
	};
	const struct test_msg dummies_merge[] = {
		{ "<a@x>", "topic", 10, "<m1@x>", NULL },
		{ "<b@x>", "Re: topic", 20, "<m1@x>", NULL },
		{ "<c@x>", "topic", 30, "<m2@x>", NULL },
		{ "<d@x>", "Re: topic", 40, "<m2@x>", NULL },
	};

	/* 2 is not a reply: the others become its children */
	UNIT_CHECK_STR(REFS(a, reply_joins), "(2 (1)(3))");
	/* two originals: a dummy holds both, the reply joins it */
	UNIT_CHECK_STR(REFS(a, equals_get_a_dummy), "((1)(2)(3))");
	UNIT_CHECK_STR(REFS(a, replies_only), "((1)(2))");
	UNIT_CHECK_STR(REFS(a, empty_subjects_stay_apart), "(1)(2)");
	UNIT_CHECK_STR(REFS(a, dummies_merge), "((1)(2)(3)(4))");
	arena_free(a);
}

static void references_sort_siblings_by_date_then_sequence(void)
{
	struct arena *a = arena_new();
	const struct test_msg m[] = {
		{ "<a@x>", "one", 50, NULL, NULL },
		{ "<b@x>", "two", 10, "<a@x>", NULL },
		{ "<c@x>", "three", 10, "<a@x>", NULL },
		{ "<d@x>", "four", 5, "<a@x>", NULL },
		{ "<e@x>", "five", 40, NULL, NULL },
		{ "<f@x>", "six", 40, NULL, NULL },
	};

	UNIT_CHECK_STR(REFS(a, m), "(5)(6)(1 (4)(2)(3))");
	arena_free(a);
}

/* A chain of 20,000 replies, and the same again with every message also
 * naming the first one: no recursion, no quadratic loop check. */
static void references_deep_chain_is_written_without_recursion(void)
{
	struct arena *a = arena_new();
	enum { N = 20000 };
	struct test_msg *m = calloc(N, sizeof(*m));
	struct buf expect = BUF_INIT;

	for (size_t i = 0; i < N; i++) {
		m[i].id = arena_printf(a, "<m%zu@x>", i);
		m[i].subject = "chain";
		m[i].date = (int64_t)i;
		if (i > 0)
			m[i].refs = arena_printf(a, "<m0@x> <m%zu@x>", i - 1);
		buf_printf(&expect, i ? " %zu" : "(%zu", i + 1);
	}
	buf_append_str(&expect, ")");
	buf_append_char(&expect, '\0');
	char *got = test_thread(a, IMAP_THREAD_REFERENCES, m, N);
	UNIT_CHECK(strcmp(got, expect.data) == 0);
	got = test_thread(a, IMAP_THREAD_ORDEREDSUBJECT, m, 3);
	UNIT_CHECK_STR(got, "(1 (2)(3))");
	buf_free(&expect);
	free(m);
	arena_free(a);
}

static void no_messages_no_threads(void)
{
	struct arena *a = arena_new();

	UNIT_CHECK_STR(test_thread(a, IMAP_THREAD_REFERENCES, NULL, 0), "");
	UNIT_CHECK_STR(test_thread(a, IMAP_THREAD_ORDEREDSUBJECT, NULL, 0), "");
	enum imap_thread_algorithm alg;
	UNIT_CHECK(imap_thread_parse_algorithm("references", &alg) &&
		   alg == IMAP_THREAD_REFERENCES);
	UNIT_CHECK(imap_thread_parse_algorithm("OrderedSubject", &alg) &&
		   alg == IMAP_THREAD_ORDEREDSUBJECT);
	UNIT_CHECK(!imap_thread_parse_algorithm("REFS", &alg));
	arena_free(a);
}

int main(void)
{
	UNIT_RUN(msgid_is_normalised);
	UNIT_RUN(orderedsubject_groups_by_base_subject);
	UNIT_RUN(references_link_chains);
	UNIT_RUN(references_missing_parents_make_dummies);
	UNIT_RUN(references_fall_back_to_in_reply_to);
	UNIT_RUN(references_keep_existing_parents_and_refuse_loops);
	UNIT_RUN(references_duplicate_ids_belong_to_the_first);
	UNIT_RUN(references_merge_threads_by_subject);
	UNIT_RUN(references_sort_siblings_by_date_then_sequence);
	UNIT_RUN(references_deep_chain_is_written_without_recursion);
	UNIT_RUN(no_messages_no_threads);
	return unit_finish();
}
