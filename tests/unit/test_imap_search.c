/*
 * test_imap_search: the pure half of SEARCH (src/imap/search-parse.c and
 * the matcher in src/imap/search.c). Which criteria parse and which are
 * refused, and whether one hand-filled message matches, as a client would
 * see it in the SEARCH response.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "imap/search.h"
#include "unit.h"

/* Arguments as they follow the word SEARCH (starting with the space). */
static struct imap_search_query *test_parse(struct arena *arena, const char *args)
{
	struct imap_parser parser;
	struct imap_search_query *query = NULL;

	imap_parser_init(&parser, arena, args, strlen(args));
	if (!imap_search_parse(&parser, &query) || !imap_parse_eol(&parser))
		return NULL;
	return query;
}

static const char *test_error(struct arena *arena, const char *args)
{
	struct imap_parser parser;
	struct imap_search_query *query;

	imap_parser_init(&parser, arena, args, strlen(args));
	if (imap_search_parse(&parser, &query) && imap_parse_eol(&parser))
		return "(parsed)";
	return parser.error != NULL ? parser.error : "(no error text)";
}

/* A message from Alice to Bob, 1 Feb 2024 10:00 +0100 internal date,
 * 2000 bytes, \Seen and $Work. */
static const char test_header[] =
	"From: Alice <alice@example.test>\r\n"
	"To: bob@example.test\r\n"
	"Subject: =?UTF-8?Q?Caf=C3=A9_plans?=\r\n"
	"Date: Wed, 31 Jan 2024 23:30:00 -0500\r\n"
	"X-Mailer: Tester 1.0\r\n"
	"List-Id: <dev.lists.example.test>\r\n"
	"\r\n";

static struct imap_search_message test_message(void)
{
	struct imap_search_message m = {
		.seq = 3, .uid = 30, .max_seq = 5, .max_uid = 50,
		.flags = STORE_FLAG_SEEN, .keywords = "$Work Later",
		.internal_date = 1706778000, /* 2024-02-01 09:00 UTC */
		.internal_date_tz = 60,
		.has_sent_date = true,
		.sent_date = 1706761800, /* 2024-02-01 04:30 UTC = 31 Jan 23:30 -0500 */
		.size = 2000,
		.from = "Alice <alice@example.test>",
		.to = "bob@example.test",
		.subject = "Café plans",
		.header = test_header,
		.header_len = sizeof(test_header) - 1,
	};
	return m;
}

/* Does the test message match the criteria args? -1 when they don't parse. */
static int test_match(const char *args)
{
	struct arena *arena = arena_new();
	struct imap_search_query *query = test_parse(arena, args);
	struct imap_search_message m = test_message();
	int result = query ? imap_search_match(query, &m, arena) : -1;

	arena_free(arena);
	return result;
}

static void search_flag_keys_match_the_flags(void)
{
	UNIT_CHECK(test_match(" ALL") == 1);
	UNIT_CHECK(test_match(" SEEN") == 1);
	UNIT_CHECK(test_match(" UNSEEN") == 0);
	UNIT_CHECK(test_match(" ANSWERED") == 0);
	UNIT_CHECK(test_match(" UNANSWERED") == 1);
	UNIT_CHECK(test_match(" DELETED") == 0);
	UNIT_CHECK(test_match(" UNDELETED") == 1);
	UNIT_CHECK(test_match(" DRAFT") == 0);
	UNIT_CHECK(test_match(" UNDRAFT") == 1);
	UNIT_CHECK(test_match(" FLAGGED") == 0);
	UNIT_CHECK(test_match(" unflagged") == 1);
}

static void search_recent_is_never_set_in_buzon(void)
{
	UNIT_CHECK(test_match(" RECENT") == 0);
	UNIT_CHECK(test_match(" NEW") == 0);
	UNIT_CHECK(test_match(" OLD") == 1);
	UNIT_CHECK(test_match(" NOT RECENT") == 1);
}

static void search_keywords_are_case_insensitive_whole_words(void)
{
	UNIT_CHECK(test_match(" KEYWORD $Work") == 1);
	UNIT_CHECK(test_match(" KEYWORD $work") == 1);
	UNIT_CHECK(test_match(" KEYWORD $Wor") == 0);
	UNIT_CHECK(test_match(" KEYWORD Later") == 1);
	UNIT_CHECK(test_match(" UNKEYWORD $Junk") == 1);
	UNIT_CHECK(test_match(" UNKEYWORD later") == 0);
	/* a system flag given as a keyword means the flag */
	UNIT_CHECK(test_match(" KEYWORD \\Seen") == 1);
	UNIT_CHECK(test_match(" UNKEYWORD \\Seen") == 0);
}

static void search_address_and_subject_are_substrings_without_case(void)
{
	UNIT_CHECK(test_match(" FROM alice") == 1);
	UNIT_CHECK(test_match(" FROM \"ALICE@EXAMPLE\"") == 1);
	UNIT_CHECK(test_match(" FROM bob") == 0);
	UNIT_CHECK(test_match(" TO Bob@") == 1);
	UNIT_CHECK(test_match(" CC alice") == 0);
	UNIT_CHECK(test_match(" BCC \"\"") == 0);
	UNIT_CHECK(test_match(" SUBJECT plans") == 1);
	UNIT_CHECK(test_match(" FROM {5}\r\nALICE") == 1);
	/* UTF-8 letters fold too */
	UNIT_CHECK(test_match(" CHARSET UTF-8 SUBJECT \"CAFÉ\"") == 1);
	UNIT_CHECK(test_match(" SUBJECT \"cafe\"") == 0);
}

static void search_header_needs_the_field_and_its_text(void)
{
	UNIT_CHECK(test_match(" HEADER X-Mailer tester") == 1);
	UNIT_CHECK(test_match(" HEADER x-mailer \"\"") == 1);
	UNIT_CHECK(test_match(" HEADER X-Spam \"\"") == 0);
	UNIT_CHECK(test_match(" HEADER List-Id dev.lists") == 1);
	UNIT_CHECK(test_match(" HEADER Subject \"café\"") == 1);
	UNIT_CHECK(test_match(" HEADER X-Mailer 2.0") == 0);
}

static void search_header_keys_are_maybe_without_the_header(void)
{
	struct arena *arena = arena_new();
	struct imap_search_query *q = test_parse(arena, " OR HEADER X-Mailer tester SEEN");
	struct imap_search_query *q2 = test_parse(arena, " HEADER X-Mailer tester SEEN");
	struct imap_search_query *q3 = test_parse(arena, " HEADER X-Mailer tester UNSEEN");
	struct imap_search_message m = test_message();

	m.header = NULL;
	UNIT_CHECK(q != NULL && q2 != NULL && q3 != NULL);
	UNIT_CHECK(q->needs_header);
	/* decided by the other key, whatever the header says */
	UNIT_CHECK(imap_search_match_message(q, &m, arena) == IMAP_SEARCH_YES);
	UNIT_CHECK(imap_search_match_message(q2, &m, arena) == IMAP_SEARCH_MAYBE);
	UNIT_CHECK(imap_search_match_message(q3, &m, arena) == IMAP_SEARCH_NO);
	arena_free(arena);
}

/* HEADER on a field parse-at-save kept (Subject, From, Message-ID ...)
 * is decided from the stored value: no header read, absent means no. */
static void search_header_on_stored_fields_needs_no_header(void)
{
	struct arena *arena = arena_new();
	struct imap_search_query *subject = test_parse(arena, " HEADER SUBJECT \"CAFÉ PL\"");
	struct imap_search_query *other = test_parse(arena, " HEADER subject cafe");
	struct imap_search_query *empty = test_parse(arena, " HEADER Cc \"\"");
	struct imap_search_query *any_to = test_parse(arena, " HEADER To \"\"");
	struct imap_search_query *msgid = test_parse(arena, " HEADER Message-Id <A1@");
	struct imap_search_query *mailer = test_parse(arena, " HEADER X-Mailer tester");
	struct imap_search_message m = test_message();

	m.header = NULL;
	m.fields_stored = true;
	m.message_id = "<a1@example.test>";
	UNIT_CHECK(subject && other && empty && any_to && msgid && mailer);
	UNIT_CHECK(imap_search_match_message(subject, &m, arena) == IMAP_SEARCH_YES);
	UNIT_CHECK(imap_search_match_message(other, &m, arena) == IMAP_SEARCH_NO);
	UNIT_CHECK(imap_search_match_message(empty, &m, arena) == IMAP_SEARCH_NO);
	UNIT_CHECK(imap_search_match_message(any_to, &m, arena) == IMAP_SEARCH_YES);
	UNIT_CHECK(imap_search_match_message(msgid, &m, arena) == IMAP_SEARCH_YES);
	/* a field not kept still needs the header */
	UNIT_CHECK(imap_search_match_message(mailer, &m, arena) == IMAP_SEARCH_MAYBE);
	arena_free(arena);
}

static void search_internal_date_uses_its_own_day(void)
{
	/* 09:00 UTC is 10:00 +0100 on 1 Feb */
	UNIT_CHECK(test_match(" ON 1-Feb-2024") == 1);
	UNIT_CHECK(test_match(" ON \"01-feb-2024\"") == 1);
	UNIT_CHECK(test_match(" BEFORE 1-Feb-2024") == 0);
	UNIT_CHECK(test_match(" BEFORE 2-Feb-2024") == 1);
	UNIT_CHECK(test_match(" SINCE 1-Feb-2024") == 1);
	UNIT_CHECK(test_match(" SINCE 2-Feb-2024") == 0);
	UNIT_CHECK(test_match(" SINCE 31-Dec-1969") == 1);
}

static void search_sent_date_is_the_senders_day(void)
{
	/* Date: 31 Jan 23:30 -0500, although it is 1 Feb in UTC */
	UNIT_CHECK(test_match(" SENTON 31-Jan-2024") == 1);
	UNIT_CHECK(test_match(" SENTON 1-Feb-2024") == 0);
	UNIT_CHECK(test_match(" SENTBEFORE 1-Feb-2024") == 1);
	UNIT_CHECK(test_match(" SENTSINCE 1-Feb-2024") == 0);
	UNIT_CHECK(test_match(" SENTSINCE 31-Jan-2024") == 1);
}

static void search_sent_date_far_from_the_key_is_decided_without_header(void)
{
	struct arena *arena = arena_new();
	struct imap_search_message m = test_message();
	struct imap_search_query *far = test_parse(arena, " SENTSINCE 1-Jan-2024");
	struct imap_search_query *near = test_parse(arena, " SENTON 31-Jan-2024");

	m.header = NULL;
	UNIT_CHECK(far != NULL && near != NULL);
	UNIT_CHECK(imap_search_match_message(far, &m, arena) == IMAP_SEARCH_YES);
	UNIT_CHECK(imap_search_match_message(near, &m, arena) == IMAP_SEARCH_MAYBE);
	m.has_sent_date = false;
	UNIT_CHECK(imap_search_match_message(far, &m, arena) == IMAP_SEARCH_NO);
	arena_free(arena);
}

static void search_size_keys_are_strict(void)
{
	UNIT_CHECK(test_match(" LARGER 1999") == 1);
	UNIT_CHECK(test_match(" LARGER 2000") == 0);
	UNIT_CHECK(test_match(" SMALLER 2001") == 1);
	UNIT_CHECK(test_match(" SMALLER 2000") == 0);
	UNIT_CHECK(test_match(" LARGER 18446744073709551615") == 0);
}

static void search_sequence_and_uid_sets(void)
{
	UNIT_CHECK(test_match(" 3") == 1);
	UNIT_CHECK(test_match(" 1:2,4:*") == 0);
	UNIT_CHECK(test_match(" 2:4") == 1);
	UNIT_CHECK(test_match(" 4:2") == 1);
	UNIT_CHECK(test_match(" *") == 0);
	UNIT_CHECK(test_match(" UID 30") == 1);
	UNIT_CHECK(test_match(" UID 31:*") == 0);
	UNIT_CHECK(test_match(" UID 1:29,31:*") == 0);
	UNIT_CHECK(test_match(" UID 100:*") == 0); /* means 50:100 */
	UNIT_CHECK(test_match(" UID 20:30") == 1);
	UNIT_CHECK(test_match(" $") == 0); /* no saved result */
}

static void search_and_or_not_combine(void)
{
	UNIT_CHECK(test_match(" SEEN FROM alice") == 1);
	UNIT_CHECK(test_match(" SEEN FROM bob") == 0);
	UNIT_CHECK(test_match(" OR FROM bob SEEN") == 1);
	UNIT_CHECK(test_match(" OR FROM bob UNSEEN") == 0);
	UNIT_CHECK(test_match(" NOT FROM bob") == 1);
	UNIT_CHECK(test_match(" NOT NOT FROM bob") == 0);
	UNIT_CHECK(test_match(" (SEEN (FROM alice TO bob))") == 1);
	UNIT_CHECK(test_match(" OR (UNSEEN FROM alice) (SEEN FROM zzz)") == 0);
	UNIT_CHECK(test_match(" NOT (UNSEEN OR DELETED DRAFT)") == 1);
	UNIT_CHECK(test_match(" OR OR DELETED DRAFT FLAGGED") == 0);
}

/* A fake full-text index: "hello" is in messages 10 and 30, "world" in
 * 20. include_headers adds 40 to the answer. */
static int test_lookup(void *context, const char *needle, bool include_headers,
		       uint32_t **uids_r, size_t *count_r)
{
	static uint32_t hello[] = { 10, 30 }, world[] = { 20 }, text[] = { 10, 30, 40 };
	int *calls = context;

	(*calls)++;
	if (strcmp(needle, "fail") == 0)
		return -1;
	*count_r = 0;
	*uids_r = NULL;
	if (strcmp(needle, "hello") == 0) {
		*uids_r = include_headers ? text : hello;
		*count_r = include_headers ? 3 : 2;
	} else if (strcmp(needle, "world") == 0) {
		*uids_r = world;
		*count_r = 1;
	}
	return 0;
}

static void search_body_and_text_use_the_index_once_per_key(void)
{
	struct arena *arena = arena_new();
	struct imap_search_query *q = test_parse(arena, " OR BODY Hello (NOT TEXT world)");
	struct imap_search_message m = test_message();
	int calls = 0;

	UNIT_CHECK(q != NULL);
	/* not prepared: undecided rather than wrong */
	m.uid = 20;
	UNIT_CHECK(imap_search_match_message(q, &m, arena) == IMAP_SEARCH_MAYBE);
	UNIT_CHECK(imap_search_prepare(q, test_lookup, &calls) == 0);
	UNIT_CHECK(calls == 2);
	m.uid = 30;
	UNIT_CHECK(imap_search_match(q, &m, arena));
	m.uid = 20;
	UNIT_CHECK(!imap_search_match(q, &m, arena));
	m.uid = 25;
	UNIT_CHECK(imap_search_match(q, &m, arena));
	q = test_parse(arena, " BODY fail");
	UNIT_CHECK(q != NULL && imap_search_prepare(q, test_lookup, &calls) < 0);
	arena_free(arena);
}

static void search_charset_is_checked_but_not_an_error(void)
{
	struct arena *arena = arena_new();
	struct imap_search_query *q;

	q = test_parse(arena, " CHARSET UTF-8 ALL");
	UNIT_CHECK(q != NULL && q->charset_supported);
	q = test_parse(arena, " charset \"us-ascii\" ALL");
	UNIT_CHECK(q != NULL && q->charset_supported);
	q = test_parse(arena, " CHARSET ISO-8859-1 FROM x");
	UNIT_CHECK(q != NULL && !q->charset_supported);
	UNIT_CHECK_STR(q ? q->charset : NULL, "ISO-8859-1");
	q = test_parse(arena, " ALL");
	UNIT_CHECK(q != NULL && q->charset == NULL && q->charset_supported);
	UNIT_CHECK(test_parse(arena, " CHARSET") == NULL);
	UNIT_CHECK(test_parse(arena, " CHARSET UTF-8") == NULL);
	UNIT_CHECK(test_parse(arena, " ALL CHARSET UTF-8 ALL") == NULL);
	arena_free(arena);
}

static void search_return_options_ask_for_esearch(void)
{
	struct arena *arena = arena_new();
	struct imap_search_query *q;

	q = test_parse(arena, " RETURN (MIN MAX COUNT) FLAGGED");
	UNIT_CHECK(q != NULL && q->esearch);
	UNIT_CHECK(q != NULL && q->return_options == (IMAP_SEARCH_RETURN_MIN |
						      IMAP_SEARCH_RETURN_MAX |
						      IMAP_SEARCH_RETURN_COUNT));
	q = test_parse(arena, " RETURN () CHARSET UTF-8 ALL");
	UNIT_CHECK(q != NULL && q->return_options == IMAP_SEARCH_RETURN_ALL);
	q = test_parse(arena, " ALL");
	UNIT_CHECK(q != NULL && !q->esearch);
	UNIT_CHECK_STR(test_error(arena, " RETURN (FIRST) ALL"), "Unknown RETURN option");
	/* RFC 9394: PARTIAL takes a range; not with ALL, not twice */
	q = test_parse(arena, " RETURN (PARTIAL -1:-50 COUNT) ALL");
	UNIT_CHECK(q != NULL && q->return_options == (IMAP_SEARCH_RETURN_PARTIAL |
						      IMAP_SEARCH_RETURN_COUNT));
	UNIT_CHECK(q != NULL && q->partial.first == -1 && q->partial.last == -50);
	UNIT_CHECK(test_parse(arena, " RETURN (PARTIAL) ALL") == NULL);
	UNIT_CHECK(test_parse(arena, " RETURN (PARTIAL 1) ALL") == NULL);
	UNIT_CHECK(test_parse(arena, " RETURN (PARTIAL 0:1) ALL") == NULL);
	UNIT_CHECK(test_parse(arena, " RETURN (PARTIAL -1:2) ALL") == NULL);
	UNIT_CHECK(test_parse(arena, " RETURN (ALL PARTIAL 1:2) ALL") == NULL);
	UNIT_CHECK(test_parse(arena, " RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL") == NULL);
	UNIT_CHECK(test_parse(arena, " RETURN ALL") == NULL);
	UNIT_CHECK(test_parse(arena, " RETURN (MIN)") == NULL);
	/* RFC 5267 §4: UPDATE and CONTEXT; RFC 5465 §8: UPDATE (fetch-att ...) */
	q = test_parse(arena, " RETURN (CONTEXT UPDATE COUNT) ALL");
	UNIT_CHECK(q != NULL && q->return_options == (IMAP_SEARCH_RETURN_CONTEXT |
						      IMAP_SEARCH_RETURN_UPDATE |
						      IMAP_SEARCH_RETURN_COUNT));
	UNIT_CHECK(q != NULL && q->update_fetch == NULL);
	q = test_parse(arena, " RETURN (UPDATE (UID BODY.PEEK[HEADER.FIELDS (TO)]) MIN) ALL");
	UNIT_CHECK(q != NULL && q->update_fetch != NULL && q->update_fetch_len == 35);
	UNIT_CHECK(q != NULL && q->return_options == (IMAP_SEARCH_RETURN_UPDATE |
						      IMAP_SEARCH_RETURN_MIN));
	UNIT_CHECK(test_parse(arena, " RETURN (UPDATE (NOSUCH)) ALL") == NULL);
	UNIT_CHECK(test_parse(arena, " RETURN (UPDATE (UID) ALL") == NULL);
	arena_free(arena);
}

/* RFC 7377 §2.2: ESEARCH's IN (...) before SEARCH's own arguments. */
static bool test_esearch(struct arena *arena, const char *args, struct imap_esearch_sources *src)
{
	struct imap_parser parser;
	struct imap_search_query *query;

	imap_parser_init(&parser, arena, args, strlen(args));
	return imap_esearch_parse_sources(&parser, src) && imap_search_parse(&parser, &query) &&
	       imap_parse_eol(&parser);
}

static void esearch_source_options(void)
{
	struct arena *arena = arena_new();
	struct imap_esearch_sources src;

	UNIT_CHECK(test_esearch(arena, " SUBJECT x", &src) && !src.given);
	UNIT_CHECK(test_esearch(arena, " INTERNALDATE", &src) == false); /* not a key: BAD */
	UNIT_CHECK(test_esearch(arena, " IN (personal inboxes) RETURN (COUNT) ALL", &src));
	UNIT_CHECK(src.given && src.personal && src.inboxes && !src.selected && !src.subscribed);
	UNIT_CHECK(test_esearch(arena, " in (Selected subtree-one (Work \"Old Mail\") "
				       "mailboxes INBOX subscribed) 1:100", &src));
	UNIT_CHECK(src.selected && src.subscribed && src.name_count == 3);
	UNIT_CHECK(src.name_count == 3 && src.names[1].filter == IMAP_ESEARCH_SUBTREE_ONE);
	UNIT_CHECK(src.name_count == 3 && strcmp(src.names[1].raw, "Old Mail") == 0);
	UNIT_CHECK(src.name_count == 3 && src.names[2].filter == IMAP_ESEARCH_MAILBOXES);
	static const char *const bad[] = {
		" IN () ALL", " IN (selected-delayed) ALL", " IN (personal (DEPTH 1)) ALL",
		" IN (mailboxes) ALL", " IN (mailboxes ()) ALL", " IN (x) ALL", " IN personal ALL",
		" IN (personal)", " IN (subtree (a b) ALL",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		UNIT_CHECK(!test_esearch(arena, bad[i], &src));
	arena_free(arena);
}

/* RFC 9394 §3.1: positions of results, from either end, clamped. */
static void search_partial_slices_results(void)
{
	struct { int64_t first, last; size_t count, start, end; } cases[] = {
		{ 1, 5, 30, 0, 5 },     { 5, 1, 30, 0, 5 },     { -1, -3, 30, 27, 30 },
		{ -3, -1, 30, 27, 30 }, { 25, 40, 30, 24, 30 }, { 31, 40, 30, 30, 30 },
		{ -29, -40, 30, 0, 2 }, { -31, -40, 30, 0, 0 }, { 1, 1, 0, 0, 0 },
		{ -1, -1, 1, 0, 1 },    { 4294967295, 1, 3, 0, 3 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct imap_partial_range range = { cases[i].first, cases[i].last };
		size_t start, end;
		imap_partial_slice(&range, cases[i].count, &start, &end);
		UNIT_CHECK(start == cases[i].start && end == cases[i].end);
	}
}

static void search_dates_are_validated(void)
{
	int64_t day;

	UNIT_CHECK(imap_search_parse_date("1-Jan-1970", 10, &day) && day == 0);
	UNIT_CHECK(imap_search_parse_date("01-Feb-2024", 11, &day) && day == 19754);
	UNIT_CHECK(imap_search_parse_date("29-Feb-2024", 11, &day));
	UNIT_CHECK(!imap_search_parse_date("29-Feb-2023", 11, &day));
	UNIT_CHECK(imap_search_parse_date("31-Dec-1969", 11, &day) && day == -1);
	UNIT_CHECK(!imap_search_parse_date("31-Apr-2024", 11, &day));
	UNIT_CHECK(!imap_search_parse_date("0-Jan-2024", 10, &day));
	UNIT_CHECK(!imap_search_parse_date("1-Foo-2024", 10, &day));
	UNIT_CHECK(!imap_search_parse_date("1-Jan-24", 8, &day));
	UNIT_CHECK(!imap_search_parse_date("1-Jan-20244", 11, &day));
	UNIT_CHECK(!imap_search_parse_date("123-Jan-2024", 12, &day));
	UNIT_CHECK(!imap_search_parse_date("1 Jan 2024", 10, &day));
	UNIT_CHECK(!imap_search_parse_date("", 0, &day));
	struct arena *arena = arena_new();
	UNIT_CHECK_STR(test_error(arena, " SINCE 32-Jan-2024"), "Invalid date (expected d-Mon-yyyy)");
	arena_free(arena);
}

static void search_refuses_malformed_criteria(void)
{
	static const char *const bad[] = {
		"", " ", "ALL", " ()", " (ALL", " ALL)", " (ALL))", " FOO", " FROM", " FROM ",
		" NOT", " OR ALL", " OR", " HEADER", " HEADER X-A", " HEADER \"\" x",
		" HEADER \"a:b\" x", " KEYWORD", " KEYWORD (x)", " LARGER", " LARGER -1",
		" LARGER 18446744073709551616", " SINCE", " SINCE 1-Feb", " UID", " UID x",
		" 0", " 1:0", " ALL  ALL", " ALL\tALL", " ALL (", " SEEN UNSEEN)",
		" FROM {5}\r\nab", " \"ALL\"", " RETURN", " CHARSET UTF-8",
	};
	struct arena *arena = arena_new();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (test_parse(arena, bad[i]) != NULL) {
			printf("  accepted: \"%s\"\n", bad[i]);
			UNIT_CHECK(!"malformed SEARCH criteria accepted");
		}
	}
	arena_free(arena);
}

static void search_nesting_is_bounded(void)
{
	struct arena *arena = arena_new();
	char args[4 * IMAP_SEARCH_MAX_DEPTH + 64];
	size_t n;

	/* depth 100 is fine, 101 is refused; for lists and for NOT chains */
	for (int depth = IMAP_SEARCH_MAX_DEPTH; depth <= IMAP_SEARCH_MAX_DEPTH + 1; depth++) {
		n = 0;
		args[n++] = ' ';
		for (int i = 0; i < depth; i++)
			args[n++] = '(';
		memcpy(args + n, "ALL", 3);
		n += 3;
		for (int i = 0; i < depth; i++)
			args[n++] = ')';
		args[n] = '\0';
		if (depth == IMAP_SEARCH_MAX_DEPTH)
			UNIT_CHECK(test_parse(arena, args) != NULL);
		else
			UNIT_CHECK_STR(test_error(arena, args), "[LIMIT] Search criteria nested too deep");
	}
	n = 0;
	for (int i = 0; i < IMAP_SEARCH_MAX_DEPTH + 5; i++) {
		memcpy(args + n, " NOT", 4);
		n += 4;
	}
	memcpy(args + n, " ALL", 5);
	UNIT_CHECK_STR(test_error(arena, args), "[LIMIT] Search criteria nested too deep");
	arena_free(arena);
}

static void search_key_count_is_bounded(void)
{
	struct arena *arena = arena_new();
	static char args[4 * (IMAP_SEARCH_MAX_KEYS + 2)];
	size_t n = 0;

	for (int i = 0; i < IMAP_SEARCH_MAX_KEYS; i++) {
		memcpy(args + n, " ALL", 4);
		n += 4;
	}
	args[n] = '\0';
	UNIT_CHECK(test_parse(arena, args) != NULL);
	memcpy(args + n, " ALL", 5);
	UNIT_CHECK_STR(test_error(arena, args), "[LIMIT] Too many search keys");
	arena_free(arena);
}

static void search_parser_survives_every_prefix(void)
{
	static const char cmd[] = " RETURN (MIN) CHARSET UTF-8 OR (FROM {3}\r\nabc UID 1:*) "
				  "NOT HEADER X-A \"b\" SENTSINCE \"1-Feb-2024\" 2,4:* KEYWORD $x";
	struct arena *arena = arena_new();
	struct imap_parser parser;
	struct imap_search_query *q;

	for (size_t len = 0; len <= sizeof(cmd) - 1; len++) {
		imap_parser_init(&parser, arena, cmd, len);
		(void)imap_search_parse(&parser, &q);
		UNIT_CHECK(parser.p >= cmd && parser.p <= cmd + len);
	}
	UNIT_CHECK(test_parse(arena, cmd) != NULL);
	arena_free(arena);
}

static void search_folding_covers_common_scripts(void)
{
	struct arena *arena = arena_new();

	UNIT_CHECK_STR(imap_search_fold(arena, "ÀÉÎÕÜ ÆØÅ", strlen("ÀÉÎÕÜ ÆØÅ"), NULL), "àéîõü æøå");
	UNIT_CHECK_STR(imap_search_fold(arena, "ŁÓDŹ Ÿ", strlen("ŁÓDŹ Ÿ"), NULL), "łódź ÿ");
	UNIT_CHECK_STR(imap_search_fold(arena, "ОТПУСК Ёж", strlen("ОТПУСК Ёж"), NULL), "отпуск ёж");
	UNIT_CHECK_STR(imap_search_fold(arena, "ΣΟΦΙΑ ς", strlen("ΣΟΦΙΑ ς"), NULL), "σοφια σ");
	UNIT_CHECK_STR(imap_search_fold(arena, "AbC \xff\xc3", 6, NULL), "abc \xff\xc3");
	UNIT_CHECK_STR(imap_search_fold(arena, "日本", strlen("日本"), NULL), "日本");
	arena_free(arena);
}

int main(void)
{
	UNIT_RUN(search_flag_keys_match_the_flags);
	UNIT_RUN(search_recent_is_never_set_in_buzon);
	UNIT_RUN(search_keywords_are_case_insensitive_whole_words);
	UNIT_RUN(search_address_and_subject_are_substrings_without_case);
	UNIT_RUN(search_header_needs_the_field_and_its_text);
	UNIT_RUN(search_header_keys_are_maybe_without_the_header);
	UNIT_RUN(search_header_on_stored_fields_needs_no_header);
	UNIT_RUN(search_internal_date_uses_its_own_day);
	UNIT_RUN(search_sent_date_is_the_senders_day);
	UNIT_RUN(search_sent_date_far_from_the_key_is_decided_without_header);
	UNIT_RUN(search_size_keys_are_strict);
	UNIT_RUN(search_sequence_and_uid_sets);
	UNIT_RUN(search_and_or_not_combine);
	UNIT_RUN(search_body_and_text_use_the_index_once_per_key);
	UNIT_RUN(search_charset_is_checked_but_not_an_error);
	UNIT_RUN(search_return_options_ask_for_esearch);
	UNIT_RUN(search_partial_slices_results);
	UNIT_RUN(esearch_source_options);
	UNIT_RUN(search_dates_are_validated);
	UNIT_RUN(search_refuses_malformed_criteria);
	UNIT_RUN(search_nesting_is_bounded);
	UNIT_RUN(search_key_count_is_bounded);
	UNIT_RUN(search_parser_survives_every_prefix);
	UNIT_RUN(search_folding_covers_common_scripts);
	return unit_finish();
}
