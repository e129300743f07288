/*
 * parser: IMAP command framing and the argument lexer (RFC 9051 §9).
 *
 * Two steps, both pure (no I/O), so both are fuzzed:
 *
 * 1. Framing (imap_frame_*): bytes from the connection are cut into whole
 *    commands. A command is one line, or several lines joined by literals
 *    ("{12}\r\n" + 12 bytes, "{12+}" LITERAL+, "~{12}" BINARY). The framer
 *    says when a synchronizing literal needs a "+" continuation, and enforces
 *    the limits: line length, literal size, command size. It never trusts a
 *    length before checking it against a limit.
 *
 * 2. Lexing (imap_parser): a cursor over one complete command. Command
 *    handlers take their arguments with it (atoms, astrings, literals,
 *    numbers, lists); grammar that is special to one command (FETCH's
 *    BODY[section]<partial>) is parsed by that command with the same cursor.
 */
#ifndef BUZON_IMAP_PARSER_H
#define BUZON_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"

/* RFC 9051 §4 asks servers to accept at least 8,000 octets per line; clients
 * send long UID sets in one line, so allow 64 KB. */
#define IMAP_MAX_LINE (64 * 1024)
/* Literals outside APPEND carry search strings and mailbox names. */
#define IMAP_MAX_SMALL_LITERAL (64 * 1024)
/* A whole non-APPEND command (lines and literals together). */
#define IMAP_MAX_COMMAND (1024 * 1024)
/* A MULTIAPPEND may hold this much beyond one maximal message: a batch of
 * a phone's outbox, not an unbounded buffer. */
#define IMAP_MAX_APPEND_EXTRA (8 * 1024 * 1024)

enum imap_frame_status {
	IMAP_FRAME_NEED_MORE,    /* consume input, wait for more */
	IMAP_FRAME_CONTINUE,     /* send "+ " for a synchronizing literal, then wait */
	IMAP_FRAME_COMPLETE,     /* a whole command is in the frame's buffer */
	IMAP_FRAME_ERROR,        /* the command is refused: reply BAD/NO with *error */
	IMAP_FRAME_FATAL,        /* the stream cannot be resynchronised: BYE and close */
};

struct imap_frame {
	struct buf command;       /* the command collected so far */
	uint64_t literal_left;    /* bytes of literal still to come */
	uint64_t max_literal;     /* limit for the big literals of APPEND */
	size_t line_start;        /* offset in command where the current line starts */
	bool skipping;            /* discarding the rest of an over-long line */
	bool big_literals;        /* APPEND may carry max_literal bytes (set
				   * by the session once the client logged in) */
	const char *error;        /* set with IMAP_FRAME_ERROR / FATAL */
	bool error_toobig;        /* the error is a size limit ([TOOBIG]) */
};

/* max_literal: the largest APPEND literal accepted (the message size limit). */
void imap_frame_init(struct imap_frame *frame, uint64_t max_literal);
void imap_frame_free(struct imap_frame *frame);
/* Take bytes from in (consuming them) until a command is complete or more
 * input is needed. After COMPLETE or ERROR, call imap_frame_reset before the
 * next command. */
enum imap_frame_status imap_frame_feed(struct imap_frame *frame, struct buf *in);
void imap_frame_reset(struct imap_frame *frame);
/* Read one plain line (AUTHENTICATE continuation, IDLE's DONE) from in,
 * without literal handling. Returns 1 and the line (without CRLF) in
 * frame->command when complete, 0 when more is needed, -1 when too long. */
int imap_frame_line(struct imap_frame *frame, struct buf *in);

/* ---- lexing ------------------------------------------------------------- */

struct imap_parser {
	const char *p;
	const char *end;
	struct arena *arena;
	const char *error; /* first error, for the BAD text */
};

void imap_parser_init(struct imap_parser *parser, struct arena *arena, const char *data,
		      size_t len);
/* Each returns true and advances on success; false (with parser->error set,
 * position unchanged) otherwise. Strings are NUL-terminated copies in the
 * arena; *len_r gets the length (literals may hold NULs). */
bool imap_parse_sp(struct imap_parser *parser);
bool imap_parse_eol(struct imap_parser *parser);
bool imap_parse_char(struct imap_parser *parser, char c);
bool imap_peek_char(const struct imap_parser *parser, char c);
/* tag: ASTRING-CHAR except '+' */
bool imap_parse_tag(struct imap_parser *parser, char **tag_r);
/* atom: ATOM-CHAR+ (no specials) */
bool imap_parse_atom(struct imap_parser *parser, char **atom_r);
/* Chars up to a space, ')' or end, allowing '[' ']' '<' '>' '.' — for the
 * FETCH attribute names and sequence sets. */
bool imap_parse_word(struct imap_parser *parser, const char *stop, char **word_r);
bool imap_parse_string(struct imap_parser *parser, char **str_r, size_t *len_r);
bool imap_parse_astring(struct imap_parser *parser, char **str_r, size_t *len_r);
/* nstring: string or NIL (*str_r = NULL) */
bool imap_parse_nstring(struct imap_parser *parser, char **str_r, size_t *len_r);
bool imap_parse_number(struct imap_parser *parser, uint32_t *n_r);
bool imap_parse_number64(struct imap_parser *parser, uint64_t *n_r);
/* A literal "{N}\r\n" / "{N+}\r\n" / "~{N}\r\n": points into the command
 * (no copy: APPEND data can be large). *binary_r: it was a literal8. */
bool imap_parse_literal_ref(struct imap_parser *parser, const char **data_r, size_t *len_r,
			    bool *binary_r);
bool imap_at_end(const struct imap_parser *parser);
/* Set error (if none) and return false: for command-level checks. */
bool imap_parser_fail(struct imap_parser *parser, const char *error);

/* Is s[0..len) well-formed UTF-8 (RFC 3629)? */
bool imap_utf8_valid(const char *s, size_t len);

/* ---- output helpers ------------------------------------------------------- */

/* Append s as an IMAP string: quoted when possible, else a literal. utf8:
 * the client accepts UTF-8 in quoted strings (RFC 6855 / IMAP4rev2). */
void imap_write_string(struct buf *out, const char *s, size_t len, bool utf8);
/* Like imap_write_string, but NIL for NULL. */
void imap_write_nstring(struct buf *out, const char *s, size_t len, bool utf8);
/* Atom if it is one (and not NIL), else a string: for mailbox names. */
void imap_write_astring(struct buf *out, const char *s, bool utf8);

#endif
