/*
 * test_imap_fetch: the pure half of FETCH (src/imap/fetch-parse.c). What a
 * client's FETCH arguments turn into, which are refused, where each section
 * lies in a stored message (from the part table the MIME parser keeps),
 * how <partial> clamps, and the INTERNALDATE format.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "imap/fetch.h"
#include "mime/mime.h"
#include "unit.h"

/* Arguments as they follow the word FETCH ("SP sequence-set SP items"). */
static struct imap_fetch_request *test_parse(struct arena *arena, const char *args)
{
	struct imap_parser parser;
	struct imap_fetch_request *request = NULL;

	imap_parser_init(&parser, arena, args, strlen(args));
	if (!imap_fetch_parse(&parser, &request) || !imap_parse_eol(&parser))
		return NULL;
	return request;
}

/* The parser's error for args, or "(parsed)". */
static const char *test_error(struct arena *arena, const char *args)
{
	struct imap_parser parser;
	struct imap_fetch_request *request;

	imap_parser_init(&parser, arena, args, strlen(args));
	if (imap_fetch_parse(&parser, &request) && imap_parse_eol(&parser))
		return "(parsed)";
	return parser.error != NULL ? parser.error : "(no error text)";
}

static void fetch_parses_every_simple_item(void)
{
	struct arena *arena = arena_new();
	struct imap_fetch_request *r =
		test_parse(arena, " 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY)");

	UNIT_CHECK(r != NULL);
	if (r != NULL) {
		static const enum imap_fetch_item_kind want[] = {
			IMAP_FETCH_UID, IMAP_FETCH_FLAGS, IMAP_FETCH_INTERNALDATE,
			IMAP_FETCH_RFC822_SIZE, IMAP_FETCH_ENVELOPE, IMAP_FETCH_BODYSTRUCTURE,
			IMAP_FETCH_BODY,
		};
		UNIT_CHECK(r->item_count == 7);
		for (size_t i = 0; i < 7 && i < r->item_count; i++)
			UNIT_CHECK(r->items[i].kind == want[i]);
		UNIT_CHECK(r->has_uid && r->has_flags && r->needs_structure && !r->sets_seen);
		UNIT_CHECK(r->set.count == 1 && r->set.ranges[0].lo == 1 &&
			   r->set.ranges[0].hi == UINT32_MAX);
	}
	arena_free(arena);
}

static void fetch_items_are_case_insensitive_and_single_item_needs_no_parens(void)
{
	struct arena *arena = arena_new();
	struct imap_fetch_request *r = test_parse(arena, " 2,4:5 flags");

	UNIT_CHECK(r != NULL && r->item_count == 1 && r->items[0].kind == IMAP_FETCH_FLAGS);
	UNIT_CHECK(r != NULL && r->set.count == 2);
	r = test_parse(arena, " 1 body.peek[header]");
	UNIT_CHECK(r != NULL && r->item_count == 1 && r->items[0].peek);
	UNIT_CHECK_STR(r ? r->items[0].response_name : NULL, "BODY[HEADER]");
	arena_free(arena);
}

static void fetch_macros_expand_per_rfc9051(void)
{
	struct arena *arena = arena_new();
	struct imap_fetch_request *fast = test_parse(arena, " 1 FAST");
	struct imap_fetch_request *all = test_parse(arena, " 1 ALL");
	struct imap_fetch_request *full = test_parse(arena, " 1 full");

	UNIT_CHECK(fast != NULL && fast->item_count == 3 && fast->items[0].kind == IMAP_FETCH_FLAGS &&
		   fast->items[1].kind == IMAP_FETCH_INTERNALDATE &&
		   fast->items[2].kind == IMAP_FETCH_RFC822_SIZE);
	UNIT_CHECK(all != NULL && all->item_count == 4 && all->items[3].kind == IMAP_FETCH_ENVELOPE);
	UNIT_CHECK(full != NULL && full->item_count == 5 && full->items[4].kind == IMAP_FETCH_BODY);
	/* a macro must be used by itself */
	UNIT_CHECK_STR(test_error(arena, " 1 (ALL)"), "Unknown fetch item");
	UNIT_CHECK_STR(test_error(arena, " 1 (FLAGS FAST)"), "Unknown fetch item");
	UNIT_CHECK(test_parse(arena, " 1 ALL FLAGS") == NULL);
	arena_free(arena);
}

static void fetch_body_sections_get_canonical_response_names(void)
{
	struct arena *arena = arena_new();
	struct imap_fetch_request *r = test_parse(
		arena, " 1 (BODY[] BODY.PEEK[header] BODY[Text] BODY[1] BODY[1.2.3] BODY[2.mime] "
		       "BODY[3.HEADER] BODY[3.text] BODY[header.fields (From To)] "
		       "BODY.PEEK[4.HEADER.FIELDS.NOT (\"X-Spam\" {4}\r\nDate)])");

	UNIT_CHECK(r != NULL && r->item_count == 10);
	if (r != NULL && r->item_count == 10) {
		UNIT_CHECK_STR(r->items[0].response_name, "BODY[]");
		UNIT_CHECK_STR(r->items[1].response_name, "BODY[HEADER]");
		UNIT_CHECK_STR(r->items[2].response_name, "BODY[TEXT]");
		UNIT_CHECK_STR(r->items[3].response_name, "BODY[1]");
		UNIT_CHECK_STR(r->items[4].response_name, "BODY[1.2.3]");
		UNIT_CHECK_STR(r->items[5].response_name, "BODY[2.MIME]");
		UNIT_CHECK_STR(r->items[6].response_name, "BODY[3.HEADER]");
		UNIT_CHECK_STR(r->items[7].response_name, "BODY[3.TEXT]");
		UNIT_CHECK_STR(r->items[8].response_name, "BODY[HEADER.FIELDS (From To)]");
		UNIT_CHECK_STR(r->items[9].response_name, "BODY[4.HEADER.FIELDS.NOT (X-Spam Date)]");
		UNIT_CHECK(r->items[4].section.text == IMAP_SECTION_ALL);
		UNIT_CHECK_STR(r->items[4].section.part, "1.2.3");
		UNIT_CHECK(r->items[5].section.text == IMAP_SECTION_MIME);
		UNIT_CHECK(r->items[8].section.text == IMAP_SECTION_HEADER_FIELDS);
		UNIT_CHECK(r->items[8].section.field_count == 2);
		UNIT_CHECK_STR(r->items[8].section.fields[1], "To");
		UNIT_CHECK(r->items[9].section.text == IMAP_SECTION_HEADER_FIELDS_NOT);
		UNIT_CHECK_STR(r->items[9].section.part, "4");
		UNIT_CHECK(r->sets_seen);
		UNIT_CHECK(!r->items[0].peek && r->items[1].peek && r->items[9].peek);
	}
	arena_free(arena);
}

static void fetch_peek_only_does_not_set_seen(void)
{
	struct arena *arena = arena_new();
	struct imap_fetch_request *r =
		test_parse(arena, " 1:3 (BODY.PEEK[] RFC822.HEADER BODY.PEEK[1.MIME])");

	UNIT_CHECK(r != NULL && !r->sets_seen);
	r = test_parse(arena, " 1 BODY[]");
	UNIT_CHECK(r != NULL && r->sets_seen && !r->needs_structure);
	arena_free(arena);
}

static void fetch_rfc822_items_map_to_sections(void)
{
	struct arena *arena = arena_new();
	struct imap_fetch_request *r = test_parse(arena, " 1 (RFC822 RFC822.HEADER RFC822.TEXT)");

	UNIT_CHECK(r != NULL && r->item_count == 3);
	if (r != NULL && r->item_count == 3) {
		UNIT_CHECK_STR(r->items[0].response_name, "RFC822");
		UNIT_CHECK(r->items[0].section.text == IMAP_SECTION_ALL && !r->items[0].peek);
		UNIT_CHECK_STR(r->items[1].response_name, "RFC822.HEADER");
		UNIT_CHECK(r->items[1].section.text == IMAP_SECTION_HEADER && r->items[1].peek);
		UNIT_CHECK_STR(r->items[2].response_name, "RFC822.TEXT");
		UNIT_CHECK(r->items[2].section.text == IMAP_SECTION_TEXT && !r->items[2].peek);
		UNIT_CHECK(r->sets_seen);
	}
	arena_free(arena);
}

static void fetch_partial_is_parsed_with_64_bit_numbers(void)
{
	struct arena *arena = arena_new();
	struct imap_fetch_request *r =
		test_parse(arena, " 1 (BODY[]<0.100> BODY.PEEK[TEXT]<18446744073709551615.1>)");

	UNIT_CHECK(r != NULL && r->item_count == 2);
	if (r != NULL && r->item_count == 2) {
		UNIT_CHECK(r->items[0].partial && r->items[0].origin == 0 && r->items[0].length == 100);
		UNIT_CHECK(r->items[1].origin == UINT64_MAX && r->items[1].length == 1);
		UNIT_CHECK_STR(r->items[0].response_name, "BODY[]");
	}
	UNIT_CHECK_STR(test_error(arena, " 1 BODY[]<0.0>"), "Partial length must not be zero");
	UNIT_CHECK_STR(test_error(arena, " 1 BODY[]<5>"), "Unexpected character");
	UNIT_CHECK_STR(test_error(arena, " 1 BODY[]<18446744073709551616.1>"), "Expected a number");
	UNIT_CHECK(test_parse(arena, " 1 BODY[]<1.2") == NULL);
	UNIT_CHECK(test_parse(arena, " 1 BODY<0.10>") == NULL);
	arena_free(arena);
}

static void fetch_refuses_malformed_arguments(void)
{
	static const char *const bad[] = {
		"", " ", "1 FLAGS", " 1", " 1 ", " FLAGS", " 0 FLAGS", " 1:0 FLAGS", " a FLAGS",
		" 1 ()", " 1 (FLAGS", " 1 (FLAGS))", " 1 (FLAGS  UID)", " 1 FOO", " 1 BODY[",
		" 1 BODY[]]", " 1 BODY[MIME]", " 1 BODY[0]", " 1 BODY[1.0]", " 1 BODY[01x]",
		" 1 BODY[1.]", " 1 BODY[.1]", " 1 BODY[HEADER.FIELDS]", " 1 BODY[HEADER.FIELDS ()]",
		" 1 BODY[HEADER.FIELDS (From]", " 1 BODY[HEADER.FIELDS(From)]",
		" 1 BODY[HEADER.FIELDS (\"a:b\")]", " 1 BODY[TEXT.HEADER]", " 1 BODY[1.TEXTX]",
		" 1 BODY.PEEK", " 1 UID[]", " 1 FLAGS[]", " 1 BINARY[HEADER]",
		" 1 BINARY.SIZE[1]<0.1>", " 4294967296 FLAGS",
		" 1 BODYSTRUCTURE.PEEK", " 1 (FLAGS)x", " 1 BODY[HEADER]<0.10>x",
		" 1 BODY[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25.26.27."
		"28.29.30.31.32.33.34.35.36.37.38.39.40.41.42.43.44.45.46.47.48.49.50.51.52.53.54."
		"55.56.57.58.59.60.61.62.63.64.65]",
	};
	struct arena *arena = arena_new();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (test_parse(arena, bad[i]) != NULL) {
			printf("  accepted: \"%s\"\n", bad[i]);
			UNIT_CHECK(!"malformed FETCH arguments accepted");
		}
	}
	arena_free(arena);
}

static void fetch_item_count_is_bounded(void)
{
	struct arena *arena = arena_new();
	char args[8 * (IMAP_FETCH_MAX_ITEMS + 2) + 16];
	size_t n = 0;

	n += (size_t)snprintf(args + n, sizeof(args) - n, " 1 (");
	for (int i = 0; i < IMAP_FETCH_MAX_ITEMS; i++)
		n += (size_t)snprintf(args + n, sizeof(args) - n, "%sUID", i ? " " : "");
	snprintf(args + n, sizeof(args) - n, ")");
	UNIT_CHECK(test_parse(arena, args) != NULL);
	snprintf(args + n, sizeof(args) - n, " UID)");
	UNIT_CHECK_STR(test_error(arena, args), "[LIMIT] Too many fetch items");
	arena_free(arena);
}

static void fetch_parser_survives_every_prefix_and_byte(void)
{
	/* what a fuzzer would try first: each prefix of a rich command, and
	 * every byte value in a sensitive position */
	static const char cmd[] = " 1:*,3 (UID BODY.PEEK[1.2.HEADER.FIELDS.NOT (A \"B\" {1}\r\nC)]<1.2> "
				  "RFC822 BODY[3.MIME])";
	struct arena *arena = arena_new();
	struct imap_parser parser;
	struct imap_fetch_request *r;
	char buf[64];

	for (size_t len = 0; len <= sizeof(cmd) - 1; len++) {
		imap_parser_init(&parser, arena, cmd, len);
		(void)imap_fetch_parse(&parser, &r);
		UNIT_CHECK(parser.p >= cmd && parser.p <= cmd + len);
	}
	for (int c = 0; c < 256; c++) {
		int n = snprintf(buf, sizeof(buf), " 1 BODY[1%c]", c);
		if (c == 0)
			n = 9;
		imap_parser_init(&parser, arena, buf, (size_t)n);
		(void)imap_fetch_parse(&parser, &r);
	}
	UNIT_CHECK(test_parse(arena, cmd) != NULL);
	arena_free(arena);
}

/* A multipart message with an attached message/rfc822, laid out as the MIME
 * parser records it: the offsets are all that matter here. */
static const char test_message[] =
	"From: a@example.test\r\n"                              /*   0 */
	"Content-Type: multipart/mixed; boundary=b\r\n"         /*  22 */
	"\r\n"                                                  /*  66 */
	"--b\r\n"                                               /*  68 */
	"Content-Type: text/plain\r\n"                          /*  73 */
	"\r\n"                                                  /*  99 */
	"hello\r\n"                                             /* 101 */
	"--b\r\n"                                               /* 108 */
	"Content-Type: message/rfc822\r\n"                      /* 113 */
	"\r\n"                                                  /* 143 */
	"Subject: inner\r\n"                                    /* 145 */
	"\r\n"                                                  /* 161 */
	"inner body\r\n"                                        /* 163 */
	"--b--\r\n";                                            /* 175 */

static void test_sections(struct mime_message **msg_r, struct arena *arena)
{
	*msg_r = mime_parse_message(arena, test_message, sizeof(test_message) - 1);
}

/* The bytes a section names, as a string. */
static const char *test_range(struct arena *arena, const struct mime_message *msg,
			      const char *part, enum imap_fetch_section_text text)
{
	struct imap_fetch_section section = { .part = (char *)part, .text = text };
	struct imap_fetch_range range;

	if (!imap_fetch_section_range(&section, msg->parts, msg->part_count,
				      sizeof(test_message) - 1, &range))
		return "(none)";
	return arena_strndup(arena, test_message + range.start, (size_t)(range.end - range.start));
}

static void fetch_sections_map_to_stored_offsets(void)
{
	struct arena *arena = arena_new();
	struct mime_message *msg;

	test_sections(&msg, arena);
	UNIT_CHECK_STR(test_range(arena, msg, "", IMAP_SECTION_ALL), test_message);
	UNIT_CHECK_STR(test_range(arena, msg, "", IMAP_SECTION_HEADER),
		       "From: a@example.test\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n");
	UNIT_CHECK(strncmp(test_range(arena, msg, "", IMAP_SECTION_TEXT), "--b\r\n", 5) == 0);
	UNIT_CHECK_STR(test_range(arena, msg, "1", IMAP_SECTION_ALL), "hello");
	UNIT_CHECK_STR(test_range(arena, msg, "1", IMAP_SECTION_MIME),
		       "Content-Type: text/plain\r\n\r\n");
	UNIT_CHECK_STR(test_range(arena, msg, "2", IMAP_SECTION_ALL),
		       "Subject: inner\r\n\r\ninner body");
	UNIT_CHECK_STR(test_range(arena, msg, "2", IMAP_SECTION_HEADER), "Subject: inner\r\n\r\n");
	UNIT_CHECK_STR(test_range(arena, msg, "2", IMAP_SECTION_TEXT), "inner body");
	UNIT_CHECK_STR(test_range(arena, msg, "2.1", IMAP_SECTION_ALL), "inner body");
	arena_free(arena);
}

static void fetch_missing_sections_are_reported_not_invented(void)
{
	struct arena *arena = arena_new();
	struct mime_message *msg;

	test_sections(&msg, arena);
	UNIT_CHECK_STR(test_range(arena, msg, "3", IMAP_SECTION_ALL), "(none)");
	UNIT_CHECK_STR(test_range(arena, msg, "1.1", IMAP_SECTION_ALL), "(none)");
	UNIT_CHECK_STR(test_range(arena, msg, "9.9.9", IMAP_SECTION_MIME), "(none)");
	/* HEADER and TEXT of a part that is not a message */
	UNIT_CHECK_STR(test_range(arena, msg, "1", IMAP_SECTION_HEADER), "(none)");
	UNIT_CHECK_STR(test_range(arena, msg, "1", IMAP_SECTION_TEXT), "(none)");
	arena_free(arena);
}

static void fetch_single_part_message_has_part_one(void)
{
	static const char text[] = "Subject: x\r\n\r\nbody\r\n";
	struct arena *arena = arena_new();
	struct mime_message *msg = mime_parse_message(arena, text, sizeof(text) - 1);
	struct imap_fetch_section section = { .part = "1", .text = IMAP_SECTION_ALL };
	struct imap_fetch_range range;

	UNIT_CHECK(imap_fetch_section_range(&section, msg->parts, msg->part_count,
					    sizeof(text) - 1, &range));
	UNIT_CHECK(range.start == 14);
	/* without a table only the whole message is known */
	UNIT_CHECK(!imap_fetch_section_range(&section, NULL, 0, sizeof(text) - 1, &range));
	section.part = "";
	UNIT_CHECK(imap_fetch_section_range(&section, NULL, 0, sizeof(text) - 1, &range));
	UNIT_CHECK(range.start == 0 && range.end == sizeof(text) - 1);
	arena_free(arena);
}

static void fetch_ranges_are_clamped_to_the_message(void)
{
	struct mime_part part = { .section = "", .header_offset = 0, .body_offset = 500,
				  .body_end = 900 };
	struct imap_fetch_section section = { .part = "", .text = IMAP_SECTION_TEXT };
	struct imap_fetch_range range;

	UNIT_CHECK(imap_fetch_section_range(&section, &part, 1, 100, &range));
	UNIT_CHECK(range.start == 100 && range.end == 100);
	section.text = IMAP_SECTION_HEADER;
	UNIT_CHECK(imap_fetch_section_range(&section, &part, 1, 100, &range));
	UNIT_CHECK(range.start == 0 && range.end == 100);
}

static void fetch_partial_clamps_per_rfc9051(void)
{
	struct imap_fetch_item item = { .partial = true, .origin = 0, .length = 2048 };
	size_t offset, length;

	/* BODY[]<0.2048> of a 1500-octet message returns 1500 octets */
	imap_fetch_partial(&item, 1500, &offset, &length);
	UNIT_CHECK(offset == 0 && length == 1500);
	item.origin = 1000;
	item.length = 100;
	imap_fetch_partial(&item, 1500, &offset, &length);
	UNIT_CHECK(offset == 1000 && length == 100);
	item.origin = 1500;
	imap_fetch_partial(&item, 1500, &offset, &length);
	UNIT_CHECK(length == 0);
	item.origin = UINT64_MAX;
	item.length = UINT64_MAX;
	imap_fetch_partial(&item, 1500, &offset, &length);
	UNIT_CHECK(length == 0);
	item.origin = 1400;
	imap_fetch_partial(&item, 1500, &offset, &length);
	UNIT_CHECK(offset == 1400 && length == 100);
	item.partial = false;
	imap_fetch_partial(&item, 1500, &offset, &length);
	UNIT_CHECK(offset == 0 && length == 1500);
}

static void fetch_internaldate_uses_the_stored_zone(void)
{
	char date[IMAP_FETCH_DATE_SIZE];

	/* 2024-02-01 12:34:56 UTC */
	imap_fetch_format_date(1706790896, 0, date);
	UNIT_CHECK_STR(date, "01-Feb-2024 12:34:56 +0000");
	imap_fetch_format_date(1706790896, 120, date);
	UNIT_CHECK_STR(date, "01-Feb-2024 14:34:56 +0200");
	imap_fetch_format_date(1706790896, -(13 * 60 + 30), date);
	UNIT_CHECK_STR(date, "31-Jan-2024 23:04:56 -1330");
	imap_fetch_format_date(0, 0, date);
	UNIT_CHECK_STR(date, "01-Jan-1970 00:00:00 +0000");
	imap_fetch_format_date(INT64_MAX, 0, date);
	UNIT_CHECK(strlen(date) == 26);
}

int main(void)
{
	UNIT_RUN(fetch_parses_every_simple_item);
	UNIT_RUN(fetch_items_are_case_insensitive_and_single_item_needs_no_parens);
	UNIT_RUN(fetch_macros_expand_per_rfc9051);
	UNIT_RUN(fetch_body_sections_get_canonical_response_names);
	UNIT_RUN(fetch_peek_only_does_not_set_seen);
	UNIT_RUN(fetch_rfc822_items_map_to_sections);
	UNIT_RUN(fetch_partial_is_parsed_with_64_bit_numbers);
	UNIT_RUN(fetch_refuses_malformed_arguments);
	UNIT_RUN(fetch_item_count_is_bounded);
	UNIT_RUN(fetch_parser_survives_every_prefix_and_byte);
	UNIT_RUN(fetch_sections_map_to_stored_offsets);
	UNIT_RUN(fetch_missing_sections_are_reported_not_invented);
	UNIT_RUN(fetch_single_part_message_has_part_one);
	UNIT_RUN(fetch_ranges_are_clamped_to_the_message);
	UNIT_RUN(fetch_partial_clamps_per_rfc9051);
	UNIT_RUN(fetch_internaldate_uses_the_stored_zone);
	return unit_finish();
}
