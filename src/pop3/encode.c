/*
 * encode: CRLF line ends and dot-stuffing for RETR and TOP (see encode.h).
 */
#include "pop3/encode.h"

void pop3_encoder_init(struct pop3_encoder *e, bool top, uint64_t lines)
{
	*e = (struct pop3_encoder){ .top = top, .max_lines = lines, .line_start = true };
}

static void encoder_end_line(struct pop3_encoder *e, struct buf *out)
{
	if (out != NULL)
		buf_append(out, "\r\n", 2);
	e->octets += 2;
	if (!e->in_body) {
		/* The first empty line ends the header (RFC 5322 §2.1). */
		if (e->line_len == 0)
			e->in_body = true;
	} else {
		e->body_lines++;
	}
	e->line_start = true;
	e->line_len = 0;
	if (e->top && e->in_body && e->body_lines >= e->max_lines)
		e->done = true;
}

/* Bytes that are neither CR nor LF, from data[0..len); at a line start a
 * "." is doubled (RFC 1939 §3). */
static void encoder_content(struct pop3_encoder *e, const char *data, size_t len,
			    struct buf *out)
{
	if (out != NULL) {
		if (e->line_start && data[0] == '.')
			buf_append_char(out, '.');
		buf_append(out, data, len);
	}
	e->octets += len;
	e->line_len += len;
	e->line_start = false;
}

void pop3_encoder_feed(struct pop3_encoder *e, const char *data, size_t len, struct buf *out)
{
	size_t i = 0;

	while (i < len && !e->done) {
		if (e->pending_cr) {
			e->pending_cr = false;
			if (data[i] == '\n') {
				i++;
				encoder_end_line(e, out);
			} else {
				/* A CR alone is part of the line, as it was stored. */
				encoder_content(e, "\r", 1, out);
			}
			continue;
		}
		if (data[i] == '\r') {
			e->pending_cr = true;
			i++;
			continue;
		}
		if (data[i] == '\n') {
			i++;
			encoder_end_line(e, out);
			continue;
		}
		size_t j = i + 1;
		while (j < len && data[j] != '\r' && data[j] != '\n')
			j++;
		encoder_content(e, data + i, j - i, out);
		i = j;
	}
}

void pop3_encoder_finish(struct pop3_encoder *e, struct buf *out)
{
	if (e->done)
		return;
	/* A CR at the very end is taken as that line's end. */
	if (e->pending_cr || !e->line_start) {
		e->pending_cr = false;
		encoder_end_line(e, out);
	}
}
