/*
 * parser: the pure parts of POP3 input: cutting lines out of the input
 * buffer under RFC 2449's length limit, splitting a command into its keyword
 * and arguments, and message numbers. No I/O, no session state; fuzzed by
 * tests/fuzz/fuzz_pop3.c.
 */
#ifndef BUZON_POP3_PARSER_H
#define BUZON_POP3_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* RFC 2449 §4: a command is at most 255 octets including the CRLF. */
#define POP3_COMMAND_MAX 255
/* A SASL response line after "+ " (RFC 5034 §4 sets no limit; this is what
 * RFC 4954 asks of SMTP servers, ample for PLAIN). */
#define POP3_SASL_LINE_MAX 12288
/* RFC 1939 §3: keywords are three or four characters. */
#define POP3_KEYWORD_MAX 4
/* No command of ours takes more than two arguments; AUTH takes two. */
#define POP3_ARGS_MAX 2

enum pop3_line_result {
	POP3_LINE_NEED_MORE, /* no complete line yet */
	POP3_LINE_COMPLETE,  /* *line holds one line without its CRLF */
	POP3_LINE_TOO_LONG,  /* a line over the limit; it is (being) discarded */
};

/* Cuts lines out of a connection's input, at most limit octets each
 * (line end included). After POP3_LINE_TOO_LONG the rest of that line is
 * skipped silently, even when it arrives later. */
struct pop3_line_reader {
	size_t limit;
	bool skipping;
};

void pop3_line_reader_init(struct pop3_line_reader *reader, size_t limit);
/* Consume one line (or the part of an over-long one) from in. line is
 * emptied and then filled with the line without CR LF. */
enum pop3_line_result pop3_line_read(struct pop3_line_reader *reader, struct buf *in,
				     struct buf *line);

/* A command line split up. Pointers go into the line passed to
 * pop3_command_parse (which must stay alive). */
struct pop3_command_line {
	char keyword[POP3_KEYWORD_MAX + 1]; /* upper case */
	const char *rest;   /* everything after the keyword and one space ("" if none) */
	size_t rest_len;
	const char *args[POP3_ARGS_MAX];
	size_t arg_lens[POP3_ARGS_MAX];
	size_t arg_count;   /* space-separated arguments in rest */
	bool too_many_args; /* more than POP3_ARGS_MAX */
};

/* Split line[0..len) into keyword and arguments. -1 with *error_r when it is
 * not a command at all (empty, NUL or control bytes, a keyword that is not
 * 1-4 letters). */
int pop3_command_parse(const char *line, size_t len, struct pop3_command_line *cmd_r,
		       const char **error_r);

/* A message number (RFC 1939 §3: decimal, starting at 1) or a TOP line
 * count: digits only. 0 on success, -1 otherwise. */
int pop3_parse_number(const char *s, size_t len, uint32_t *value_r);

#endif
