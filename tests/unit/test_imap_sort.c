/*
 * test_imap_sort: the pure half of SORT (src/imap/sort.c): RFC 5256 §2.1
 * base subjects (the RFC's artifacts and nastier mixes), RFC 5957 display
 * names, the sort-criteria parser, and the order that keys computed from a
 * store_message_info give, as a client would see it in "* SORT".
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "imap/sort.h"
#include "unit.h"

static bool test_reply;

static const char *test_base(struct arena *arena, const char *subject)
{
	return imap_sort_base_subject(arena, subject, &test_reply);
}

static void base_subject_strips_reply_and_forward_prefixes(void)
{
	struct arena *a = arena_new();

	UNIT_CHECK_STR(test_base(a, "Re: hello"), "hello");
	UNIT_CHECK(test_reply);
	UNIT_CHECK_STR(test_base(a, "RE:  Re: re:hello"), "hello");
	UNIT_CHECK_STR(test_base(a, "Fwd: hello"), "hello");
	UNIT_CHECK(test_reply);
	UNIT_CHECK_STR(test_base(a, "Fw: hello"), "hello");
	UNIT_CHECK_STR(test_base(a, "fw : hello"), "hello");
	UNIT_CHECK_STR(test_base(a, "Re[2]: hello"), "hello");
	UNIT_CHECK_STR(test_base(a, "Re [2] : hello"), "hello");
	UNIT_CHECK_STR(test_base(a, "Fwd:Fwd: RE: hello"), "hello");
	UNIT_CHECK_STR(test_base(a, "[list] Re: hello"), "hello");
	UNIT_CHECK(test_reply);
	UNIT_CHECK_STR(test_base(a, "[PATCH] [v2] Re: hello"), "hello");
	arena_free(a);
}

static void base_subject_keeps_what_only_looks_like_a_prefix(void)
{
	struct arena *a = arena_new();

	UNIT_CHECK_STR(test_base(a, "Rebecca: hi"), "Rebecca: hi");
	UNIT_CHECK(!test_reply);
	UNIT_CHECK_STR(test_base(a, "Ref: hi"), "Ref: hi");
	UNIT_CHECK_STR(test_base(a, "Fwdx: hi"), "Fwdx: hi");
	UNIT_CHECK_STR(test_base(a, "hello Re: world"), "hello Re: world");
	UNIT_CHECK_STR(test_base(a, "[fwd: unclosed"), "[fwd: unclosed");
	UNIT_CHECK_STR(test_base(a, "[unclosed blob"), "[unclosed blob");
	arena_free(a);
}

static void base_subject_blobs_stay_when_nothing_else_is_left(void)
{
	struct arena *a = arena_new();

	UNIT_CHECK_STR(test_base(a, "[list] hello"), "hello");
	UNIT_CHECK(!test_reply);
	UNIT_CHECK_STR(test_base(a, "[list]"), "[list]");
	UNIT_CHECK_STR(test_base(a, "[a] [b]"), "[b]");
	UNIT_CHECK_STR(test_base(a, "[a] [b]  "), "[b]");
	UNIT_CHECK_STR(test_base(a, "Re: [list]"), "[list]");
	UNIT_CHECK(test_reply);
	arena_free(a);
}

static void base_subject_trailers_and_fwd_wrappers(void)
{
	struct arena *a = arena_new();

	UNIT_CHECK_STR(test_base(a, "hello (fwd)"), "hello");
	UNIT_CHECK(test_reply);
	UNIT_CHECK_STR(test_base(a, "hello (fwd) (FWD)  "), "hello");
	UNIT_CHECK_STR(test_base(a, "[fwd: hello]"), "hello");
	UNIT_CHECK(test_reply);
	UNIT_CHECK_STR(test_base(a, "[Fwd: Re: [list] hello (fwd)]"), "hello");
	UNIT_CHECK_STR(test_base(a, "Re: [fwd: [fwd: hello]]"), "hello");
	UNIT_CHECK_STR(test_base(a, "[fwd: ]"), "");
	arena_free(a);
}

static void base_subject_normalises_white_space(void)
{
	struct arena *a = arena_new();

	UNIT_CHECK_STR(test_base(a, "  hello\t\tworld  "), "hello world");
	UNIT_CHECK_STR(test_base(a, "hello\r\n world"), "hello world");
	UNIT_CHECK_STR(test_base(a, ""), "");
	UNIT_CHECK(!test_reply);
	UNIT_CHECK_STR(test_base(a, NULL), "");
	UNIT_CHECK_STR(test_base(a, "Re:"), "");
	UNIT_CHECK_STR(test_base(a, "   "), "");
	UNIT_CHECK_STR(test_base(a, "Re: Grüße"), "Grüße");
	arena_free(a);
}

static void display_name_is_the_first_name_or_address(void)
{
	struct arena *a = arena_new();

	UNIT_CHECK_STR(imap_sort_display_name(a, "\"Doe, John\" <j@x>", "j@x"), "Doe, John");
	UNIT_CHECK_STR(imap_sort_display_name(a, "Alice <a@x>, Bob <b@x>", "a@x"), "Alice");
	UNIT_CHECK_STR(imap_sort_display_name(a, "a@x, Bob <b@x>", "a@x"), "a@x");
	UNIT_CHECK_STR(imap_sort_display_name(a, "<j@x>", "j@x"), "j@x");
	UNIT_CHECK_STR(imap_sort_display_name(a, "\"\" <j@x>", "j@x"), "j@x");
	UNIT_CHECK_STR(imap_sort_display_name(a, "\"a \\\"q\\\" b\" <j@x>", "j@x"), "a \"q\" b");
	UNIT_CHECK_STR(imap_sort_display_name(a, "Zoë (work) <z@x>", "z@x"), "Zoë (work)");
	UNIT_CHECK_STR(imap_sort_display_name(a, NULL, NULL), "");
	arena_free(a);
}

static struct imap_sort_program *test_parse(struct arena *arena, const char *args)
{
	struct imap_parser parser;
	struct imap_sort_program *program;

	imap_parser_init(&parser, arena, args, strlen(args));
	if (!imap_sort_parse(&parser, &program) || !imap_parse_eol(&parser))
		return NULL;
	return program;
}

static void sort_criteria_parse(void)
{
	struct arena *a = arena_new();
	struct imap_sort_program *p;

	p = test_parse(a, " (DATE) UTF-8 ALL");
	UNIT_CHECK(p != NULL && p->count == 1 && p->criteria[0].key == IMAP_SORT_DATE &&
		   !p->criteria[0].reverse && !p->query->esearch);
	p = test_parse(a, " RETURN (MIN COUNT) (reverse subject SIZE displayfrom) us-ascii UNSEEN");
	UNIT_CHECK(p != NULL && p->count == 3 && p->criteria[0].reverse &&
		   p->criteria[0].key == IMAP_SORT_SUBJECT && !p->criteria[1].reverse &&
		   p->criteria[2].key == IMAP_SORT_DISPLAYFROM && p->query->esearch &&
		   p->query->return_options == (IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_COUNT));
	p = test_parse(a, " RETURN () (ARRIVAL) UTF-8 ALL");
	UNIT_CHECK(p != NULL && p->query->return_options == IMAP_SEARCH_RETURN_ALL);
	p = test_parse(a, " (TO) KOI8-R ALL");
	UNIT_CHECK(p != NULL && !p->query->charset_supported);
	const char *bad[] = { "", " ", " ()", " (DATE", " DATE UTF-8 ALL", " (REVERSE) UTF-8 ALL",
			      " (REVERSE REVERSE DATE) UTF-8 ALL", " (FOO) UTF-8 ALL",
			      " (DATE) UTF-8", " (DATE) UTF-8 ", " (DATE)  UTF-8 ALL",
			      " (DATE) UTF-8 ALL)", " RETURN (DATE) UTF-8 ALL",
			      " (DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE "
			      "DATE DATE DATE DATE DATE DATE) UTF-8 ALL" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (test_parse(a, bad[i]) != NULL) {
			printf("  parsed: \"%s\"\n", bad[i]);
			UNIT_CHECK(0);
		}
	}
	arena_free(a);
}

/* Sort four hand-made messages and return the order as "2 1 3 4". */
static const char *test_order(struct arena *a, const char *criteria,
			      const struct store_message_info *infos, size_t count)
{
	char args[256];
	struct imap_sort_program *p;
	struct imap_sort_item items[8];
	static char out[64];
	size_t o = 0;

	snprintf(args, sizeof(args), " (%s) UTF-8 ALL", criteria);
	p = test_parse(a, args);
	if (p == NULL)
		return "(parse error)";
	for (size_t i = 0; i < count; i++)
		imap_sort_item_fill(p, a, (uint32_t)i, &infos[i], &items[i]);
	imap_sort_items(p, items, count);
	out[0] = '\0';
	for (size_t i = 0; i < count; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, i ? " %u" : "%u", items[i].index + 1);
	return out;
}

static void keys_order_messages(void)
{
	struct arena *a = arena_new();
	struct store_message_info m[4];

	memset(m, 0, sizeof(m));
	m[0].subject = "Re: Apple";
	m[0].from_addr = "zed@x";
	m[0].from = "Aardvark <zed@x>";
	m[0].to_addr = "Bob@x";
	m[0].internal_date = 400;
	m[0].has_sent_date = true;
	m[0].sent_date = 200;
	m[0].size = 30;
	m[1].subject = "banana";
	m[1].from_addr = "alpha@x";
	m[1].from = "\"Alpha, Al\" <alpha@x>";
	m[1].internal_date = 300;
	m[1].has_sent_date = true;
	m[1].sent_date = 100;
	m[1].size = 10;
	m[2].subject = "[list] Fwd: apple (fwd)";
	m[2].from_addr = "mike@x";
	m[2].from = "mike@x";
	m[2].to_addr = "adam@x";
	m[2].internal_date = 250; /* no Date: the internal date is the sent date */
	m[2].size = 30;
	m[3].from_addr = "BOB@x";
	m[3].from = "Bob <BOB@x>";
	m[3].to_addr = "bob@y";
	m[3].internal_date = 100;
	m[3].has_sent_date = true;
	m[3].sent_date = 300;
	m[3].size = 20;

	UNIT_CHECK_STR(test_order(a, "ARRIVAL", m, 4), "4 3 2 1");
	UNIT_CHECK_STR(test_order(a, "DATE", m, 4), "2 1 3 4");
	UNIT_CHECK_STR(test_order(a, "SIZE", m, 4), "2 4 1 3");
	UNIT_CHECK_STR(test_order(a, "REVERSE SIZE", m, 4), "1 3 4 2");
	UNIT_CHECK_STR(test_order(a, "SUBJECT", m, 4), "4 1 3 2");
	UNIT_CHECK_STR(test_order(a, "REVERSE SUBJECT", m, 4), "2 1 3 4");
	UNIT_CHECK_STR(test_order(a, "SUBJECT REVERSE DATE", m, 4), "4 3 1 2");
	UNIT_CHECK_STR(test_order(a, "FROM", m, 4), "2 4 3 1");
	UNIT_CHECK_STR(test_order(a, "DISPLAYFROM", m, 4), "1 2 4 3");
	/* bob@x and bob@y have the same mailbox: sequence order decides */
	UNIT_CHECK_STR(test_order(a, "TO", m, 4), "2 3 1 4");
	UNIT_CHECK_STR(test_order(a, "REVERSE TO", m, 4), "1 4 3 2");
	UNIT_CHECK_STR(test_order(a, "CC", m, 4), "1 2 3 4");
	UNIT_CHECK_STR(test_order(a, "SIZE DATE", m, 4), "2 4 1 3");
	UNIT_CHECK_STR(test_order(a, "SIZE REVERSE DATE", m, 4), "2 4 3 1");
	arena_free(a);
}

int main(void)
{
	UNIT_RUN(base_subject_strips_reply_and_forward_prefixes);
	UNIT_RUN(base_subject_keeps_what_only_looks_like_a_prefix);
	UNIT_RUN(base_subject_blobs_stay_when_nothing_else_is_left);
	UNIT_RUN(base_subject_trailers_and_fwd_wrappers);
	UNIT_RUN(base_subject_normalises_white_space);
	UNIT_RUN(display_name_is_the_first_name_or_address);
	UNIT_RUN(sort_criteria_parse);
	UNIT_RUN(keys_order_messages);
	return unit_finish();
}
