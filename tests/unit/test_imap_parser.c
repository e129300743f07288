/*
 * Unit tests for the IMAP framer and lexer (src/imap/parser.c), modified
 * UTF-7 (utf7.c) and SASL PLAIN decoding (auth/sasl.c).
 */
#include "auth/sasl.h"
#include "imap/parser.h"
#include "imap/utf7.h"
#include "unit.h"

#include <string.h>

static enum imap_frame_status feed(struct imap_frame *f, const char *s)
{
	struct buf in = BUF_INIT;
	enum imap_frame_status st;

	buf_append_str(&in, s);
	st = imap_frame_feed(f, &in);
	buf_free(&in);
	return st;
}

static void frame_simple_command_is_complete(void)
{
	struct imap_frame f;

	imap_frame_init(&f, 1000);
	UNIT_CHECK(feed(&f, "a1 NOOP") == IMAP_FRAME_NEED_MORE);
	UNIT_CHECK(feed(&f, "\r\n") == IMAP_FRAME_COMPLETE);
	UNIT_CHECK_STR(f.command.data, "a1 NOOP\r\n");
	imap_frame_free(&f);
}

static void frame_sync_literal_asks_for_continuation(void)
{
	struct imap_frame f;

	imap_frame_init(&f, 1000);
	UNIT_CHECK(feed(&f, "a LOGIN {5}\r\n") == IMAP_FRAME_CONTINUE);
	UNIT_CHECK(feed(&f, "alice") == IMAP_FRAME_NEED_MORE);
	UNIT_CHECK(feed(&f, " pw\r\n") == IMAP_FRAME_COMPLETE);
	UNIT_CHECK_STR(f.command.data, "a LOGIN {5}\r\nalice pw\r\n");
	imap_frame_free(&f);
}

static void frame_literal_plus_needs_no_continuation(void)
{
	struct imap_frame f;

	imap_frame_init(&f, 1000);
	UNIT_CHECK(feed(&f, "a APPEND INBOX {3+}\r\nabc\r\n") == IMAP_FRAME_COMPLETE);
	imap_frame_free(&f);
}

static void frame_huge_literal_is_refused(void)
{
	struct imap_frame f;

	imap_frame_init(&f, 1000);
	UNIT_CHECK(feed(&f, "a APPEND INBOX {4294967295}\r\n") == IMAP_FRAME_ERROR);
	UNIT_CHECK(f.error_toobig);
	imap_frame_reset(&f);
	/* A non-synchronizing one cannot be skipped: the stream is lost. */
	UNIT_CHECK(feed(&f, "b APPEND INBOX {4294967295+}\r\n") == IMAP_FRAME_FATAL);
	imap_frame_reset(&f);
	/* Outside APPEND, literals are small. */
	UNIT_CHECK(feed(&f, "c LOGIN {70000}\r\n") == IMAP_FRAME_ERROR);
	imap_frame_free(&f);
}

static void frame_bad_literal_plus_size_is_fatal(void)
{
	struct imap_frame f;

	imap_frame_init(&f, 1000);
	/* RFC 7888 §4: unknown byte count on its way; the stream is lost. */
	UNIT_CHECK(feed(&f, "a NOOP {99999999999999999999+}\r\n") == IMAP_FRAME_FATAL);
	imap_frame_reset(&f);
	UNIT_CHECK(feed(&f, "a NOOP {99999999999999999999}\r\n") == IMAP_FRAME_ERROR);
	imap_frame_free(&f);
}

static void frame_big_append_literal_needs_login_and_one_literal(void)
{
	struct imap_frame f;

	imap_frame_init(&f, 1000000);
	UNIT_CHECK(feed(&f, "a APPEND INBOX {100000}\r\n") == IMAP_FRAME_ERROR);
	UNIT_CHECK(f.error_toobig);
	imap_frame_reset(&f);
	f.big_literals = true;
	UNIT_CHECK(feed(&f, "a APPEND INBOX {100000}\r\n") == IMAP_FRAME_CONTINUE);
	imap_frame_reset(&f);
	/* Literals of one command (MULTIAPPEND) may not add up to more than one
	 * message plus IMAP_MAX_APPEND_EXTRA plus IMAP_MAX_COMMAND. */
	struct buf in = BUF_INIT;
	enum imap_frame_status st = IMAP_FRAME_NEED_MORE;
	size_t literals = 0;
	buf_append_str(&in, "a APPEND INBOX {900000}\r\n");
	while ((st = imap_frame_feed(&f, &in)) == IMAP_FRAME_CONTINUE && literals < 100) {
		literals++;
		for (int i = 0; i < 900000; i++)
			buf_append_char(&in, 'x');
		buf_append_str(&in, " {900000}\r\n");
	}
	UNIT_CHECK(st == IMAP_FRAME_ERROR && f.error_toobig);
	UNIT_CHECK(literals * 900000 <= 1000000 + IMAP_MAX_APPEND_EXTRA + IMAP_MAX_COMMAND);
	UNIT_CHECK(literals > 2); /* several messages do fit */
	buf_free(&in);
	imap_frame_free(&f);
}

static void frame_long_line_is_refused_then_resyncs(void)
{
	struct imap_frame f;
	struct buf in = BUF_INIT;

	imap_frame_init(&f, 1000);
	for (int i = 0; i < 100 * 1024; i++)
		buf_append_char(&in, 'x');
	UNIT_CHECK(imap_frame_feed(&f, &in) == IMAP_FRAME_ERROR);
	imap_frame_reset(&f);
	buf_append_str(&in, "yyy\r\nb NOOP\r\n");
	UNIT_CHECK(imap_frame_feed(&f, &in) == IMAP_FRAME_COMPLETE);
	UNIT_CHECK_STR(f.command.data, "b NOOP\r\n");
	buf_free(&in);
	imap_frame_free(&f);
}

static void lexer_parses_strings(void)
{
	struct arena *a = arena_new();
	struct imap_parser p;
	char *s, *t;
	size_t len;
	const char *cmd = "tag \"q\\\"x\" {3}\r\nab\0 atom NIL (x)";

	imap_parser_init(&p, a, cmd, 34);
	UNIT_CHECK(imap_parse_tag(&p, &t) && strcmp(t, "tag") == 0);
	UNIT_CHECK(imap_parse_sp(&p) && imap_parse_astring(&p, &s, &len));
	UNIT_CHECK_STR(s, "q\"x");
	UNIT_CHECK(imap_parse_sp(&p) && imap_parse_string(&p, &s, &len) && len == 3);
	UNIT_CHECK(memcmp(s, "ab\0", 3) == 0);
	UNIT_CHECK(imap_parse_sp(&p) && imap_parse_astring(&p, &s, &len));
	UNIT_CHECK_STR(s, "atom");
	UNIT_CHECK(imap_parse_sp(&p) && imap_parse_nstring(&p, &s, &len) && s == NULL);
	UNIT_CHECK(imap_parse_sp(&p) && !imap_parse_atom(&p, &s));
	arena_free(a);
}

static void lexer_rejects_bad_quoted_and_truncated_literal(void)
{
	struct arena *a = arena_new();
	struct imap_parser p;
	char *s;
	size_t len;

	imap_parser_init(&p, a, "\"abc", 4);
	UNIT_CHECK(!imap_parse_string(&p, &s, &len));
	imap_parser_init(&p, a, "{10}\r\nabc", 9);
	UNIT_CHECK(!imap_parse_string(&p, &s, &len));
	imap_parser_init(&p, a, "\"a\\x\"", 5);
	UNIT_CHECK(!imap_parse_string(&p, &s, &len));
	arena_free(a);
}

static void write_string_quotes_or_literal(void)
{
	struct buf out = BUF_INIT;

	imap_write_string(&out, "a\"b", 3, false);
	UNIT_CHECK_STR(out.data, "\"a\\\"b\"");
	buf_clear(&out);
	imap_write_string(&out, "a\r\nb", 4, false);
	UNIT_CHECK_STR(out.data, "{4}\r\na\r\nb");
	buf_clear(&out);
	imap_write_astring(&out, "NIL", false);
	UNIT_CHECK_STR(out.data, "\"NIL\"");
	buf_free(&out);
}

static void utf7_round_trips(void)
{
	struct arena *a = arena_new();

	UNIT_CHECK_STR(utf7_encode(a, "Entw\xc3\xbcrfe"), "Entw&APw-rfe");
	UNIT_CHECK_STR(utf7_decode(a, "Entw&APw-rfe"), "Entw\xc3\xbcrfe");
	UNIT_CHECK_STR(utf7_encode(a, "A&B"), "A&-B");
	UNIT_CHECK_STR(utf7_decode(a, "A&-B"), "A&B");
	/* RFC 3501 §5.1.3 example: ~peter/mail/台北/日本語 */
	UNIT_CHECK_STR(utf7_encode(a, "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"),
		       "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
	UNIT_CHECK_STR(utf7_decode(a, "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
		       "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	UNIT_CHECK_STR(utf7_encode(a, "\xf0\x9f\x93\xa7"), "&2D3c5w-");
	UNIT_CHECK_STR(utf7_decode(a, "&2D3c5w-"), "\xf0\x9f\x93\xa7");
	UNIT_CHECK(utf7_decode(a, "&AGE-") == NULL);   /* encoded ASCII */
	UNIT_CHECK(utf7_decode(a, "&APw") == NULL);    /* unterminated */
	UNIT_CHECK(utf7_decode(a, "&2D0-") == NULL);   /* lone surrogate */
	UNIT_CHECK(utf7_decode(a, "&U,BTFw-&ZeVnLIqe-") == NULL); /* RFC 3501 §5.1.3 */
	UNIT_CHECK(utf7_encode(a, "\xff") == NULL);    /* invalid UTF-8 */
	arena_free(a);
}

static void sasl_plain_decodes(void)
{
	struct arena *a = arena_new();
	char *z, *c, *p;
	const char *err;

	/* "\0alice\0secret" */
	UNIT_CHECK(sasl_plain_decode(a, "AGFsaWNlAHNlY3JldA==", 20, &z, &c, &p, &err) == 0);
	UNIT_CHECK_STR(z, "");
	UNIT_CHECK_STR(c, "alice");
	UNIT_CHECK_STR(p, "secret");
	UNIT_CHECK(sasl_plain_decode(a, "AGFsaWNl", 8, &z, &c, &p, &err) < 0);
	UNIT_CHECK(sasl_plain_decode(a, "!!!!", 4, &z, &c, &p, &err) < 0);
	UNIT_CHECK(sasl_plain_decode(a, "abc", 3, &z, &c, &p, &err) < 0);
	arena_free(a);
}

int main(void)
{
	UNIT_RUN(frame_simple_command_is_complete);
	UNIT_RUN(frame_sync_literal_asks_for_continuation);
	UNIT_RUN(frame_literal_plus_needs_no_continuation);
	UNIT_RUN(frame_huge_literal_is_refused);
	UNIT_RUN(frame_bad_literal_plus_size_is_fatal);
	UNIT_RUN(frame_big_append_literal_needs_login_and_one_literal);
	UNIT_RUN(frame_long_line_is_refused_then_resyncs);
	UNIT_RUN(lexer_parses_strings);
	UNIT_RUN(lexer_rejects_bad_quoted_and_truncated_literal);
	UNIT_RUN(write_string_quotes_or_literal);
	UNIT_RUN(utf7_round_trips);
	UNIT_RUN(sasl_plain_decodes);
	return unit_finish();
}
