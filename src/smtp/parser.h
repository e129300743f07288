/*
 * parser: the pure, bounded parts of SMTP input (RFC 5321), with no I/O
 * and no knowledge of the store: cutting command lines out of the input,
 * recognising verbs, parsing MAIL/RCPT paths and their ESMTP parameters,
 * and un-stuffing DATA (RFC 5321 §4.5.2) byte-exactly. The session
 * (session.c) and the fuzz target drive it.
 *
 * Every function works on partial input and enforces its limit before it
 * trusts anything (rule 6); malformed input yields an SMTP reply code and
 * text, never a crash.
 */
#ifndef BUZON_SMTP_PARSER_H
#define BUZON_SMTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"

/* RFC 5321 §4.5.3.1.4 allows 512 octets per command line, and §4.5.3.1
 * lets extensions raise it; RFC 4954 §4 raises it to 12288 for AUTH (an
 * initial response), the largest any extension we offer needs. */
#define SMTP_COMMAND_LINE_MAX 12288
/* RFC 5321 §4.5.3.1.3: a path is at most 256 octets including <>. */
#define SMTP_PATH_MAX 256
/* RFC 5321 §4.5.3.1.1 and §4.5.3.1.2. */
#define SMTP_LOCAL_PART_MAX 64
#define SMTP_DOMAIN_MAX 255
/* ESMTP parameters on one MAIL or RCPT; RFC 1870, 6152, 6531, 3461 and
 * 4954 together define six, so a few more is only a client's mistake. */
#define SMTP_PARAMS_MAX 16

/* ---- command lines ----------------------------------------------------- */

enum smtp_line_status {
	SMTP_LINE_NEED_MORE, /* no complete line yet (everything kept) */
	SMTP_LINE_OK,        /* one line in *line_r, *len_r, without its CRLF */
	SMTP_LINE_TOO_LONG,  /* over the limit: the whole line is skipped */
};

/* State of the line cutter between calls: whether an over-long line is
 * being skipped up to its end. */
struct smtp_line_reader {
	bool skipping;
};

/* Take one line (ended by LF, an optional CR before it dropped) from the
 * front of in, at most max bytes with its end. On SMTP_LINE_OK the line is
 * copied NUL-terminated into arena and consumed from in. An over-long line
 * is consumed as it arrives and reported once, when its end is seen. */
enum smtp_line_status smtp_line_take(struct smtp_line_reader *reader, struct buf *in,
				     size_t max, struct arena *arena, char **line_r,
				     size_t *len_r);

/* ---- verbs --------------------------------------------------------------- */

enum smtp_verb {
	SMTP_VERB_UNKNOWN,
	SMTP_VERB_AUTH,
	SMTP_VERB_BDAT,
	SMTP_VERB_BURL,
	SMTP_VERB_DATA,
	SMTP_VERB_EHLO,
	SMTP_VERB_EXPN,
	SMTP_VERB_HELO,
	SMTP_VERB_HELP,
	SMTP_VERB_LHLO,
	SMTP_VERB_MAIL,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_RCPT,
	SMTP_VERB_RSET,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_VRFY,
};

/* The verb of a command line (case-insensitive) and *args_r pointing past
 * it and one space (or at the end). MAIL and RCPT are recognised with
 * their " FROM:" / " TO:" as one verb. */
enum smtp_verb smtp_parse_verb(const char *line, const char **args_r);

/* ---- MAIL FROM / RCPT TO --------------------------------------------------- */

struct smtp_param {
	char *name;  /* upper case */
	char *value; /* NULL when the parameter has no "=value" */
};

struct smtp_path_args {
	char *address;   /* mailbox without <> and source route; "" for <> */
	bool utf8;       /* the address has non-ASCII bytes (RFC 6531) */
	struct smtp_param params[SMTP_PARAMS_MAX];
	size_t param_count;
};

/* Parse "<path> [SP params]" (what follows "MAIL FROM:" or "RCPT TO:";
 * spaces before "<" are tolerated). allow_empty: "<>" (MAIL only).
 * allow_postmaster: a bare "<Postmaster>" (RCPT only, RFC 5321 §4.5.1).
 * Returns 0, or -1 with an SMTP reply "CODE X.Y.Z text" in *error_r. */
int smtp_parse_path_args(struct arena *arena, const char *args, bool allow_empty,
			 bool allow_postmaster, struct smtp_path_args *out_r,
			 const char **error_r);

/* The parameter named name (upper case), or NULL. */
const struct smtp_param *smtp_param_find(const struct smtp_path_args *args, const char *name);

/* The domain part of an address (after the last '@'), or "" when none. */
const char *smtp_address_domain(const char *address);

/* ---- DATA ------------------------------------------------------------------ */

/* The dot-unstuffer of RFC 5321 §4.5.2, as a state machine across calls.
 * Only CRLF "." CRLF ends the data (a bare LF never does, so no message
 * can be smuggled past the end: CVE-2023-51764 and friends). */
struct smtp_data_reader {
	int state;
	uint64_t size;  /* message bytes seen so far (kept or not) */
	bool too_big;   /* size passed max: bytes are counted, not kept */
};

void smtp_data_init(struct smtp_data_reader *reader);
/* Feed in[0..len): unstuffed bytes are appended to out while the message
 * stays within max bytes. Returns the bytes of in consumed; *done_r is set
 * when the terminating line was consumed (then the rest of in is the next
 * command, PIPELINING). */
size_t smtp_data_feed(struct smtp_data_reader *reader, const char *in, size_t len,
		      struct buf *out, uint64_t max, bool *done_r);

/* ---- small helpers ---------------------------------------------------------- */

/* true when s[0..len) is a plausible EHLO/HELO argument: printable ASCII
 * (or UTF-8), no spaces, not empty. */
bool smtp_valid_domain_arg(const char *s);
/* RFC 3461 §4 xtext: true when s is valid xtext. */
bool smtp_valid_xtext(const char *s);

#endif
