/*
 * mime-imap: the IMAP wire forms of a parsed message, RFC 9051 §7.5.2 and
 * the formal syntax of §9: ENVELOPE, BODY (basic) and BODYSTRUCTURE
 * (extended).
 *
 * Strings go out quoted when they can (§4.3: no CR, LF, NUL or 8-bit byte),
 * otherwise as literals "{n}\r\n...". Media type and subtype, encodings and
 * parameter names are upper-cased as in the RFC's examples; values are kept
 * as sent.
 */
#include "mime/mime-private.h"

#include <string.h>

#include "core/str.h"

/* RFC 9051 §4.3: quoted = DQUOTE *QUOTED-CHAR DQUOTE, where QUOTED-CHAR is
 * any 7-bit TEXT-CHAR (no CR, LF, NUL) with '"' and '\' escaped. */
static bool mime_can_quote(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0 || c == '\r' || c == '\n' || c >= 0x80)
			return false;
	}
	return true;
}

void mime_render_string(struct buf *out, const char *s, size_t len)
{
	if (!mime_can_quote(s, len)) {
		buf_printf(out, "{%zu}\r\n", len);
		buf_append(out, s, len);
		return;
	}
	buf_append_char(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_append_char(out, '\\');
		buf_append_char(out, s[i]);
	}
	buf_append_char(out, '"');
}

/* nstring: NIL for NULL. */
void mime_render_nstring(struct buf *out, const char *s)
{
	if (s == NULL)
		buf_append_str(out, "NIL");
	else
		mime_render_string(out, s, strlen(s));
}

/* A string upper-cased (media types, encodings, parameter names). */
static void mime_render_upper(struct buf *out, const char *s)
{
	struct buf tmp = BUF_INIT;

	buf_append_str(&tmp, s);
	for (size_t i = 0; i < tmp.len; i++) {
		if (tmp.data[i] >= 'a' && tmp.data[i] <= 'z')
			tmp.data[i] = (char)(tmp.data[i] - 32);
	}
	mime_render_string(out, tmp.data, tmp.len);
	buf_free(&tmp);
}

/* The Content-Transfer-Encoding token (RFC 2045 §6.1), without comments;
 * "7BIT" when absent (§6.1 default). */
static void mime_render_encoding(struct arena *arena, struct buf *out, const char *value)
{
	size_t len = value != NULL ? strcspn(value, " \t(;") : 0;

	mime_render_upper(out, len > 0 ? arena_strndup(arena, value, len) : "7bit");
}

/* RFC 9051 §7.5.2: sender and reply-to default to from when absent or
 * empty. */
static void mime_render_address_default(struct arena *arena, struct buf *out, const char *value,
					const char *fallback)
{
	size_t before = out->len;

	mime_render_address_list(arena, out, value);
	if (out->len - before == 3 && memcmp(out->data + before, "NIL", 3) == 0) {
		out->len = before;
		mime_render_address_list(arena, out, fallback);
	}
}

/* RFC 9051 §7.5.2 ENVELOPE: date, subject, from, sender, reply-to, to, cc,
 * bcc, in-reply-to, message-id; raw (not RFC 2047-decoded) values. */
void mime_render_envelope(struct arena *arena, struct buf *out,
			  const struct mime_headers *headers)
{
	char *const *v = headers->value;

	buf_append_char(out, '(');
	mime_render_nstring(out, v[MIME_H_DATE]);
	buf_append_char(out, ' ');
	mime_render_nstring(out, v[MIME_H_SUBJECT]);
	buf_append_char(out, ' ');
	mime_render_address_list(arena, out, v[MIME_H_FROM]);
	buf_append_char(out, ' ');
	mime_render_address_default(arena, out, v[MIME_H_SENDER], v[MIME_H_FROM]);
	buf_append_char(out, ' ');
	mime_render_address_default(arena, out, v[MIME_H_REPLY_TO], v[MIME_H_FROM]);
	buf_append_char(out, ' ');
	mime_render_address_list(arena, out, v[MIME_H_TO]);
	buf_append_char(out, ' ');
	mime_render_address_list(arena, out, v[MIME_H_CC]);
	buf_append_char(out, ' ');
	mime_render_address_list(arena, out, v[MIME_H_BCC]);
	buf_append_char(out, ' ');
	mime_render_nstring(out, v[MIME_H_IN_REPLY_TO]);
	buf_append_char(out, ' ');
	mime_render_nstring(out, v[MIME_H_MESSAGE_ID]);
	buf_append_char(out, ')');
}

/* body-fld-param: ("NAME" "value" ...) or NIL; text parts without a
 * charset get ("CHARSET" "us-ascii"), the RFC 2045 §5.2 default. */
static void mime_render_params(struct buf *out, const struct mime_ctype *ct, bool add_charset)
{
	if (ct->param_count == 0 && !add_charset) {
		buf_append_str(out, "NIL");
		return;
	}
	buf_append_char(out, '(');
	for (size_t i = 0; i < ct->param_count; i++) {
		if (i > 0)
			buf_append_char(out, ' ');
		mime_render_upper(out, ct->params[i].name);
		buf_append_char(out, ' ');
		mime_render_nstring(out, ct->params[i].value);
	}
	if (add_charset)
		buf_append_str(out, ct->param_count > 0 ? " \"CHARSET\" \"us-ascii\"" :
				    "\"CHARSET\" \"us-ascii\"");
	buf_append_char(out, ')');
}

/* body-fld-dsp: ("type" (params)) or NIL (RFC 2183). */
static void mime_render_disposition(struct buf *out, const struct mime_node *node)
{
	if (node->disposition.type == NULL) {
		buf_append_str(out, "NIL");
		return;
	}
	buf_append_char(out, '(');
	mime_render_nstring(out, node->disposition.type);
	buf_append_char(out, ' ');
	mime_render_params(out, &node->disposition, false);
	buf_append_char(out, ')');
}

/* body-fld-lang: Content-Language (RFC 3282) is a comma list of tags: NIL,
 * one string, or a list of strings. */
static void mime_render_language(struct buf *out, const char *value)
{
	const char *tags[MIME_MAX_PARAMS];
	size_t lens[MIME_MAX_PARAMS], n = 0;

	for (const char *p = value; p != NULL && *p != '\0' && n < MIME_MAX_PARAMS;) {
		while (*p == ',' || mime_is_wsp(*p))
			p++;
		size_t len = strcspn(p, ", \t");
		if (len > 0) {
			tags[n] = p;
			lens[n++] = len;
		}
		p += len;
	}
	if (n == 0) {
		buf_append_str(out, "NIL");
		return;
	}
	if (n > 1)
		buf_append_char(out, '(');
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_append_char(out, ' ');
		mime_render_string(out, tags[i], lens[i]);
	}
	if (n > 1)
		buf_append_char(out, ')');
}

/* The extension fields shared by both kinds: dsp, lang, loc. */
static void mime_render_ext_tail(struct buf *out, const struct mime_node *node)
{
	buf_append_char(out, ' ');
	mime_render_disposition(out, node);
	buf_append_char(out, ' ');
	mime_render_language(out, node->headers.value[MIME_H_CONTENT_LANGUAGE]);
	buf_append_char(out, ' ');
	mime_render_nstring(out, node->headers.value[MIME_H_CONTENT_LOCATION]);
}

/* body-type-mpart: the children, the subtype, then the extension data. */
static void mime_render_multipart(struct arena *arena, struct buf *out,
				  const struct mime_node *node, bool extended)
{
	for (const struct mime_node *c = node->children; c != NULL; c = c->next)
		mime_render_body(arena, out, c, extended);
	buf_append_char(out, ' ');
	mime_render_upper(out, node->ctype.subtype);
	if (!extended)
		return;
	buf_append_char(out, ' ');
	mime_render_params(out, &node->ctype, false);
	mime_render_ext_tail(out, node);
}

/* body-type-1part: basic fields, type-specific fields, extension data. */
static void mime_render_single(struct arena *arena, struct buf *out,
			       const struct mime_node *node, bool extended)
{
	const char *const *v = (const char *const *)node->headers.value;
	const char *enc = v[MIME_H_CONTENT_TRANSFER_ENCODING];
	bool text = strcmp(node->ctype.type, "text") == 0;

	mime_render_upper(out, node->ctype.type);
	buf_append_char(out, ' ');
	mime_render_upper(out, node->ctype.subtype);
	buf_append_char(out, ' ');
	mime_render_params(out, &node->ctype, text && !mime_param_get(&node->ctype, "charset"));
	buf_append_char(out, ' ');
	mime_render_nstring(out, v[MIME_H_CONTENT_ID]);
	buf_append_char(out, ' ');
	mime_render_nstring(out, v[MIME_H_CONTENT_DESCRIPTION]);
	buf_append_char(out, ' ');
	mime_render_encoding(arena, out, enc);
	buf_printf(out, " %zu", node->body_end - node->body_offset);
	if (node->kind == MIME_KIND_MESSAGE) {
		buf_append_char(out, ' ');
		mime_render_envelope(arena, out, &node->children->headers);
		buf_append_char(out, ' ');
		mime_render_body(arena, out, node->children, extended);
	}
	if (text || node->kind == MIME_KIND_MESSAGE)
		buf_printf(out, " %zu", node->lines);
	if (!extended)
		return;
	buf_append_char(out, ' ');
	mime_render_nstring(out, v[MIME_H_CONTENT_MD5]);
	mime_render_ext_tail(out, node);
}

/* RFC 9051 §9 body: BODY when !extended, BODYSTRUCTURE when extended. */
void mime_render_body(struct arena *arena, struct buf *out, const struct mime_node *node,
		      bool extended)
{
	buf_append_char(out, '(');
	if (node->kind == MIME_KIND_MULTIPART)
		mime_render_multipart(arena, out, node, extended);
	else
		mime_render_single(arena, out, node, extended);
	buf_append_char(out, ')');
}
