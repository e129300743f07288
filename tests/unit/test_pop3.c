/*
 * test_pop3: the pure parts of POP3: line framing under RFC 2449's limit,
 * command splitting, and the RETR/TOP encoder (CRLF, dot-stuffing, exact
 * octet counts) fed in chunks of every size.
 */
#include "unit.h"

#include "core/buf.h"
#include "pop3/encode.h"
#include "pop3/parser.h"

#include <stdlib.h>
#include <string.h>

/* Encode data whole, then in chunks of 1..7 bytes; every way must agree
 * on the bytes and on the count. Returns the output (static). */
static const char *encode(const char *data, bool top, uint64_t lines, uint64_t *octets_r)
{
	static struct buf out;
	struct buf other = BUF_INIT;
	struct pop3_encoder e;
	size_t len = strlen(data);

	buf_clear(&out);
	pop3_encoder_init(&e, top, lines);
	pop3_encoder_feed(&e, data, len, &out);
	pop3_encoder_finish(&e, &out);
	*octets_r = e.octets;
	for (size_t step = 1; step < 8; step++) {
		struct pop3_encoder c, count;
		buf_clear(&other);
		pop3_encoder_init(&c, top, lines);
		pop3_encoder_init(&count, top, lines);
		for (size_t i = 0; i < len; i += step) {
			size_t n = len - i < step ? len - i : step;
			pop3_encoder_feed(&c, data + i, n, &other);
			pop3_encoder_feed(&count, data + i, n, NULL);
		}
		pop3_encoder_finish(&c, &other);
		pop3_encoder_finish(&count, NULL);
		UNIT_CHECK(other.len == out.len &&
			   (out.len == 0 || memcmp(other.data, out.data, out.len) == 0));
		UNIT_CHECK(c.octets == e.octets && count.octets == e.octets);
	}
	buf_free(&other);
	return out.data ? out.data : "";
}

/* Octets as RFC 1939 §11 counts them: what is sent minus stuffing dots. */
static uint64_t unstuffed_len(const char *wire)
{
	uint64_t n = strlen(wire);
	bool start = true;

	for (const char *p = wire; *p; p++) {
		if (start && *p == '.')
			n--;
		start = *p == '\n';
	}
	return n;
}

static void retr_converts_bare_lf_and_closes_last_line(void)
{
	uint64_t octets;
	const char *out = encode("Subject: x\n\nbody\nlast", false, 0, &octets);

	UNIT_CHECK_STR(out, "Subject: x\r\n\r\nbody\r\nlast\r\n");
	UNIT_CHECK(octets == strlen(out));
}

static void retr_stuffs_dots_without_counting_them(void)
{
	uint64_t octets;
	const char *out = encode("S: x\r\n\r\n.\r\n..\r\n.a\r\nb.\r\n", false, 0, &octets);

	UNIT_CHECK_STR(out, "S: x\r\n\r\n..\r\n...\r\n..a\r\nb.\r\n");
	UNIT_CHECK(octets == unstuffed_len(out));
	UNIT_CHECK(octets == strlen("S: x\r\n\r\n.\r\n..\r\n.a\r\nb.\r\n"));
}

static void retr_keeps_crlf_mail_as_is(void)
{
	const char *in = "A: 1\r\nB: 2\r\n\r\nline\r\n\r\n";
	uint64_t octets;

	UNIT_CHECK_STR(encode(in, false, 0, &octets), in);
	UNIT_CHECK(octets == strlen(in));
}

static void retr_lone_cr_stays_data_and_final_cr_ends_the_line(void)
{
	uint64_t octets;

	UNIT_CHECK_STR(encode("a\rb\r\n", false, 0, &octets), "a\rb\r\n");
	UNIT_CHECK(octets == 5);
	UNIT_CHECK_STR(encode("a\r", false, 0, &octets), "a\r\n");
	UNIT_CHECK(octets == 3);
	UNIT_CHECK_STR(encode("\r.x\n", false, 0, &octets), "\r.x\r\n");
}

static void retr_empty_message_is_empty(void)
{
	uint64_t octets;

	UNIT_CHECK_STR(encode("", false, 0, &octets), "");
	UNIT_CHECK(octets == 0);
}

static void top_sends_header_blank_line_and_n_lines(void)
{
	const char *msg = "A: 1\nB: 2\n\none\n.two\nthree\n";
	uint64_t octets;

	UNIT_CHECK_STR(encode(msg, true, 0, &octets), "A: 1\r\nB: 2\r\n\r\n");
	UNIT_CHECK_STR(encode(msg, true, 2, &octets), "A: 1\r\nB: 2\r\n\r\none\r\n..two\r\n");
	UNIT_CHECK_STR(encode(msg, true, 99, &octets),
		       "A: 1\r\nB: 2\r\n\r\none\r\n..two\r\nthree\r\n");
	/* No body at all: the whole header. */
	UNIT_CHECK_STR(encode("A: 1\nB: 2", true, 0, &octets), "A: 1\r\nB: 2\r\n");
}

static void line_reader_cuts_lines_and_enforces_the_limit(void)
{
	struct pop3_line_reader r;
	struct buf in = BUF_INIT, line = BUF_INIT;

	pop3_line_reader_init(&r, POP3_COMMAND_MAX);
	buf_append_str(&in, "STAT\r\nLIST 1\nNO");
	UNIT_CHECK(pop3_line_read(&r, &in, &line) == POP3_LINE_COMPLETE);
	UNIT_CHECK_STR(line.data, "STAT");
	UNIT_CHECK(pop3_line_read(&r, &in, &line) == POP3_LINE_COMPLETE);
	UNIT_CHECK_STR(line.data, "LIST 1");
	UNIT_CHECK(pop3_line_read(&r, &in, &line) == POP3_LINE_NEED_MORE);
	buf_append_str(&in, "OP\r\n");
	UNIT_CHECK(pop3_line_read(&r, &in, &line) == POP3_LINE_COMPLETE);
	UNIT_CHECK_STR(line.data, "NOOP");

	/* 253 octets + CRLF = 255: allowed; one more is not (RFC 2449 §4). */
	buf_clear(&in);
	for (int i = 0; i < 253; i++)
		buf_append_char(&in, 'a');
	buf_append_str(&in, "\r\n");
	UNIT_CHECK(pop3_line_read(&r, &in, &line) == POP3_LINE_COMPLETE && line.len == 253);
	for (int i = 0; i < 254; i++)
		buf_append_char(&in, 'a');
	buf_append_str(&in, "\r\nQUIT\r\n");
	UNIT_CHECK(pop3_line_read(&r, &in, &line) == POP3_LINE_TOO_LONG);
	UNIT_CHECK(pop3_line_read(&r, &in, &line) == POP3_LINE_COMPLETE);
	UNIT_CHECK_STR(line.data, "QUIT");

	/* An endless line is dropped as it comes, then reading resumes. */
	for (int i = 0; i < 1000; i++)
		buf_append_char(&in, 'x');
	UNIT_CHECK(pop3_line_read(&r, &in, &line) == POP3_LINE_TOO_LONG);
	UNIT_CHECK(in.len == 0);
	buf_append_str(&in, "xxxx");
	UNIT_CHECK(pop3_line_read(&r, &in, &line) == POP3_LINE_NEED_MORE);
	buf_append_str(&in, "xx\r\nNOOP\r\n");
	UNIT_CHECK(pop3_line_read(&r, &in, &line) == POP3_LINE_COMPLETE);
	UNIT_CHECK_STR(line.data, "NOOP");
	buf_free(&in);
	buf_free(&line);
}

static void command_parse_splits_keyword_and_arguments(void)
{
	struct pop3_command_line c;
	const char *error;

	UNIT_CHECK(pop3_command_parse("top 1  10", 9, &c, &error) == 0);
	UNIT_CHECK_STR(c.keyword, "TOP");
	UNIT_CHECK(c.arg_count == 2 && c.arg_lens[0] == 1 && c.args[1][0] == '1' &&
		   c.arg_lens[1] == 2);
	UNIT_CHECK(pop3_command_parse("PASS a b c", 10, &c, &error) == 0);
	UNIT_CHECK(c.rest_len == 5 && memcmp(c.rest, "a b c", 5) == 0 && c.too_many_args);
	UNIT_CHECK(pop3_command_parse("STAT", 4, &c, &error) == 0 && c.arg_count == 0);
	UNIT_CHECK(pop3_command_parse("", 0, &c, &error) < 0);
	UNIT_CHECK(pop3_command_parse(" STAT", 5, &c, &error) < 0);
	UNIT_CHECK(pop3_command_parse("STATS", 5, &c, &error) < 0);
	UNIT_CHECK(pop3_command_parse("ST1T", 4, &c, &error) < 0);
	UNIT_CHECK(pop3_command_parse("USER a\0b", 8, &c, &error) < 0);
	UNIT_CHECK(pop3_command_parse("USER a\tb", 8, &c, &error) < 0);
}

static void numbers_are_strict_decimal(void)
{
	uint32_t n;

	UNIT_CHECK(pop3_parse_number("1", 1, &n) == 0 && n == 1);
	UNIT_CHECK(pop3_parse_number("4294967295", 10, &n) == 0 && n == 4294967295u);
	UNIT_CHECK(pop3_parse_number("4294967296", 10, &n) < 0);
	UNIT_CHECK(pop3_parse_number("+1", 2, &n) < 0);
	UNIT_CHECK(pop3_parse_number("-1", 2, &n) < 0);
	UNIT_CHECK(pop3_parse_number("", 0, &n) < 0);
	UNIT_CHECK(pop3_parse_number("1x", 2, &n) < 0);
}

int main(void)
{
	UNIT_RUN(retr_converts_bare_lf_and_closes_last_line);
	UNIT_RUN(retr_stuffs_dots_without_counting_them);
	UNIT_RUN(retr_keeps_crlf_mail_as_is);
	UNIT_RUN(retr_lone_cr_stays_data_and_final_cr_ends_the_line);
	UNIT_RUN(retr_empty_message_is_empty);
	UNIT_RUN(top_sends_header_blank_line_and_n_lines);
	UNIT_RUN(line_reader_cuts_lines_and_enforces_the_limit);
	UNIT_RUN(command_parse_splits_keyword_and_arguments);
	UNIT_RUN(numbers_are_strict_decimal);
	return unit_finish();
}
