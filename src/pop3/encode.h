/*
 * encode: a stored message as POP3 sends it (RFC 1939 §3, §11): every line
 * ends in CRLF (stored mail may have bare LF), a line that starts with "."
 * gets one more, and a last line without an end gets one. TOP (§7) stops
 * after the header, the blank line and n body lines.
 *
 * The same code counts the octets for STAT and LIST (out = NULL), so the
 * sizes we announce are exactly what RETR sends, without the stuffing dots
 * (which §11 says are not counted). Incremental: a message is fed in chunks
 * of any size. Pure; no I/O.
 */
#ifndef BUZON_POP3_ENCODE_H
#define BUZON_POP3_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct pop3_encoder {
	uint64_t octets;      /* produced so far, stuffing dots not counted */
	uint64_t max_lines;   /* TOP: body lines to send */
	uint64_t body_lines;  /* body lines sent */
	size_t line_len;      /* bytes of the current line so far */
	bool top;             /* stop after max_lines body lines */
	bool line_start;      /* the next byte starts a line */
	bool pending_cr;      /* a CR whose next byte is not known yet */
	bool in_body;         /* past the header's blank line */
	bool done;            /* TOP's limit reached: nothing more is sent */
};

/* top: TOP with lines body lines; false: the whole message (RETR). */
void pop3_encoder_init(struct pop3_encoder *e, bool top, uint64_t lines);
/* Encode data[0..len) into out (NULL: only count). */
void pop3_encoder_feed(struct pop3_encoder *e, const char *data, size_t len, struct buf *out);
/* End of the message: close the last line if it has no end. The
 * terminating ".\r\n" is the caller's. */
void pop3_encoder_finish(struct pop3_encoder *e, struct buf *out);

#endif
