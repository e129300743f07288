/*
 * mime: the RFC 5322 / MIME parser. Pure functions over bytes: no I/O, no
 * knowledge of storage or protocols beyond producing the IMAP forms of
 * ENVELOPE and BODYSTRUCTURE, which are defined by the message alone.
 *
 * It runs once per message, at save time (DESIGN.md rule 2); the store keeps
 * what it returns, and FETCH and SEARCH never parse again. It accepts any
 * bytes: malformed mail (missing or wrong boundaries, bare LF, 8-bit headers,
 * absurd nesting) yields a sensible structure, never an error or a crash.
 * Work is bounded: nesting depth MIME_MAX_DEPTH, at most MIME_MAX_PARTS parts,
 * and the search text is cut at MIME_MAX_TEXT bytes.
 *
 * Standards: RFC 5322 (message format), RFC 2045-2049 (MIME), RFC 2047
 * (encoded words), RFC 2231 (parameter continuations and charsets), RFC 9051
 * §7.5.2 (ENVELOPE, BODY, BODYSTRUCTURE).
 */
#ifndef BUZON_MIME_H
#define BUZON_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"

/* Deeper nesting is treated as an opaque leaf: no real mail nests this deep,
 * and a bound keeps a hostile message from exhausting the stack. */
#define MIME_MAX_DEPTH 32
/* More parts than this are not split further (the rest becomes one leaf). */
#define MIME_MAX_PARTS 2000
/* Decoded text kept for full-text search, per message. */
#define MIME_MAX_TEXT (1024 * 1024)
/* RFC 8970: a preview is at most 200 characters. */
#define MIME_PREVIEW_CHARS 200

/* Where one part sits in the raw message: what FETCH BODY[section] needs.
 * Offsets are byte offsets into the message as stored. */
struct mime_part {
	char *section;          /* "1", "1.2", ...; "" for the message itself */
	uint32_t header_offset; /* start of this part's MIME header */
	uint32_t body_offset;   /* start of the body (after the blank line) */
	uint32_t body_end;      /* end of the body (before the next boundary's CRLF) */
	bool multipart;         /* content type multipart/... */
	bool message;           /* message/rfc822 or message/global: has an inner message */
	uint32_t inner_body_offset; /* message parts: start of the inner message's body */
};

/* Everything kept about a message at save time. Strings are UTF-8 unless said
 * otherwise; all memory is in the arena passed to mime_parse_message. */
struct mime_message {
	/* IMAP wire forms (RFC 9051 §7.5.2), ready to send: a parenthesised list
	 * with strings quoted or as literals where they must be. */
	char *envelope;
	char *bodystructure; /* extended form (FETCH BODYSTRUCTURE) */
	char *body;          /* basic form (FETCH BODY) */

	/* Part table in section order; parts[0] is the message itself (""). */
	struct mime_part *parts;
	size_t part_count;

	/* Header fields for SEARCH and SORT, RFC 2047-decoded to UTF-8.
	 * Address fields are the decoded display text of the whole field
	 * ("Alice <alice@example.test>, bob@example.test"); NULL when absent. */
	char *from, *to, *cc, *bcc, *subject, *message_id, *in_reply_to, *references;
	/* First address of From/To/Cc as "local@domain" (SORT, rule 2), or NULL. */
	char *from_addr, *to_addr, *cc_addr;
	/* RFC 5957 display value of the first From/To address (SORT DISPLAYFROM,
	 * DISPLAYTO): its decoded name, else its address; NULL when none. */
	char *from_display, *to_display;
	/* The Date: header as seconds since the epoch (UTC) and its zone offset in
	 * minutes; has_date is false when absent or unparsable. */
	bool has_date;
	int64_t date;
	int date_tz_minutes;

	uint32_t header_size;  /* bytes of the top-level header incl. blank line */
	char *preview;         /* RFC 8970 preview: up to 200 chars of the first text part */
	char *text;            /* decoded text of text parts, for full-text search */
	size_t text_len;
	char *header_text;     /* all header fields, unfolded and decoded, one per line */
};

/* Parse a whole message. Never fails: any bytes give some structure. */
struct mime_message *mime_parse_message(struct arena *arena, const char *data, size_t len);

/* Find a part by section ("" is the message); NULL when there is none. */
const struct mime_part *mime_find_part(const struct mime_message *msg, const char *section);

/* Part table <-> compact text, so the store can keep it in one column. */
char *mime_parts_serialize(struct arena *arena, const struct mime_part *parts, size_t count);
int mime_parts_deserialize(struct arena *arena, const char *text, struct mime_part **parts_r,
			   size_t *count_r);
/* Find a part by section in a deserialized table; NULL when there is none. */
const struct mime_part *mime_parts_find(const struct mime_part *parts, size_t count,
					const char *section);

/* Copy into out the header fields of header[0..len) whose names are (not, if
 * exclude) in names[0..count), case-insensitively, each with its folded
 * continuation lines, then the blank line: FETCH BODY[HEADER.FIELDS (..)]. */
void mime_header_filter(const char *header, size_t len, const char *const *names, size_t count,
			bool exclude, struct buf *out);
/* The unfolded value of the first header field called name in
 * header[0..len), or NULL (FETCH and SEARCH HEADER). */
char *mime_header_get(struct arena *arena, const char *header, size_t len, const char *name);

/* Parse an RFC 5322 date-time (lenient about obsolete forms). 0 on success. */
int mime_parse_date(const char *s, int64_t *time_r, int *tz_minutes_r);

/* Undo a Content-Transfer-Encoding (RFC 2045 §6): "base64" and
 * "quoted-printable" are decoded, "7bit", "8bit", "binary" (and none, NULL)
 * copied; the name is matched case-insensitively without comments. Appends
 * to out. -1 for an encoding we do not know (IMAP answers [UNKNOWN-CTE]). */
int mime_decode_transfer(const char *encoding, const char *data, size_t len, struct buf *out);

/* Decode RFC 2047 encoded words in an unstructured header value to UTF-8. */
char *mime_decode_header(struct arena *arena, const char *value, size_t len);

#endif
