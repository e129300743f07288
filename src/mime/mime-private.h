/*
 * mime-private: what the files of src/mime/ share with each other and with
 * nobody else. mime.h is the module's contract; this header is the glue
 * between its pieces: header-field scanning (mime-header.c), charsets and
 * RFC 2047 (mime-charset.c), parameters (mime-param.c), addresses
 * (mime-address.c), the IMAP renderings (mime-imap.c), the tree builder
 * (mime-parse.c) and the search text (mime-text.c).
 */
#ifndef BUZON_MIME_PRIVATE_H
#define BUZON_MIME_PRIVATE_H

#include "mime/mime.h"

/* RFC 2047 §2 caps an encoded-word at 75 characters; real senders overrun
 * it, so we accept up to this many, which also bounds the work spent on a
 * "=?" that never closes (no quadratic scans of hostile headers). */
#define MIME_MAX_ENCODED_WORD 256
/* RFC 2231 continuations: more sections than this are ignored (real
 * filenames need a handful; the bound keeps sorting trivially cheap). */
#define MIME_MAX_PARAM_SECTIONS 100
/* Parameters kept per header field: enough for any real Content-Type. */
#define MIME_MAX_PARAMS 64

/* One raw header field as it sits in the message: the name, and the value
 * from after the colon to the end of its last continuation line (folded,
 * line ends included). end is where the next field starts. */
struct mime_field {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
	size_t start, end;
	bool has_colon;
};

/* The header fields the parser looks at; the first occurrence of each is
 * kept, unfolded, in struct mime_headers. */
enum mime_header_id {
	MIME_H_CONTENT_TYPE,
	MIME_H_CONTENT_TRANSFER_ENCODING,
	MIME_H_CONTENT_ID,
	MIME_H_CONTENT_DESCRIPTION,
	MIME_H_CONTENT_DISPOSITION,
	MIME_H_CONTENT_LANGUAGE,
	MIME_H_CONTENT_LOCATION,
	MIME_H_CONTENT_MD5,
	MIME_H_DATE,
	MIME_H_SUBJECT,
	MIME_H_FROM,
	MIME_H_SENDER,
	MIME_H_REPLY_TO,
	MIME_H_TO,
	MIME_H_CC,
	MIME_H_BCC,
	MIME_H_IN_REPLY_TO,
	MIME_H_MESSAGE_ID,
	MIME_H_REFERENCES,
	MIME_H_COUNT
};

struct mime_headers {
	char *value[MIME_H_COUNT]; /* unfolded and trimmed; NULL when absent */
};

struct mime_param {
	char *name;  /* as sent, RFC 2231 continuations joined ("filename*") */
	char *value; /* unquoted */
};

/* Content-Type or Content-Disposition, parsed (RFC 2045 §5.1, RFC 2183). */
struct mime_ctype {
	char *type;    /* lower case; for dispositions the disposition type */
	char *subtype; /* lower case; NULL for dispositions */
	struct mime_param *params;
	size_t param_count;
};

enum mime_kind {
	MIME_KIND_LEAF,
	MIME_KIND_MULTIPART,
	MIME_KIND_MESSAGE, /* message/rfc822 or message/global */
};

/* One node of the parsed tree. A multipart has children; a message part has
 * exactly one child, the encapsulated message (whose header is the part's
 * body). Offsets are into the raw message. */
struct mime_node {
	size_t header_offset, body_offset, body_end;
	struct mime_headers headers;
	struct mime_ctype ctype;
	struct mime_ctype disposition; /* type NULL when absent */
	enum mime_kind kind;
	bool fake; /* stands in for a multipart's missing parts */
	size_t lines;
	struct mime_node *children, *next;
};

/* mime-header.c */
bool mime_header_next(const char *data, size_t end, size_t *pos, struct mime_field *field_r);
char *mime_unfold(struct arena *arena, const char *value, size_t len);
void mime_headers_collect(struct arena *arena, const char *data, size_t start, size_t end,
			  struct mime_headers *headers_r);
bool mime_is_wsp(char c);

/* mime-charset.c */
void mime_append_utf8(struct buf *out, const char *charset, const char *s, size_t len);
void mime_append_raw(struct buf *out, const char *s, size_t len);
void mime_append_codepoint(struct buf *out, uint32_t cp);
char *mime_buf_to_arena(struct arena *arena, struct buf *b);

/* mime-decode.c */
void mime_decode_base64(struct buf *out, const char *s, size_t len);
void mime_decode_qp(struct buf *out, const char *s, size_t len, bool encoded_word);

/* mime-param.c */
void mime_parse_ctype(struct arena *arena, const char *value, bool disposition,
		      struct mime_ctype *ctype_r);
const char *mime_param_get(const struct mime_ctype *ctype, const char *name);
char *mime_param_pct_decode(struct arena *arena, const char *s);

/* mime-address.c */
void mime_render_address_list(struct arena *arena, struct buf *out, const char *value);
char *mime_first_address(struct arena *arena, const char *value);
char *mime_first_display(struct arena *arena, const char *value);

/* mime-imap.c */
void mime_render_string(struct buf *out, const char *s, size_t len);
void mime_render_nstring(struct buf *out, const char *s);
void mime_render_envelope(struct arena *arena, struct buf *out,
			  const struct mime_headers *headers);
void mime_render_body(struct arena *arena, struct buf *out, const struct mime_node *node,
		      bool extended);

/* mime-text.c */
void mime_collect_text(struct mime_message *msg, struct arena *arena, const char *data,
		       const struct mime_node *root);

#endif
