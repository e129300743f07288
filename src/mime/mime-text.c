/*
 * mime-text: the words of a message for full-text search and its RFC 8970
 * preview, computed once at save time (DESIGN.md rule 2).
 *
 * Every text/plain and text/html part, nested messages included, is
 * decoded (quoted-printable, base64), converted to UTF-8 and, for HTML,
 * stripped of tags crudely (tags and script/style contents go, a few
 * entities are decoded). The total is cut at MIME_MAX_TEXT bytes on a
 * character boundary; the preview is the first such part with white space
 * collapsed, at most MIME_PREVIEW_CHARS characters.
 */
#include "mime/mime-private.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "core/str.h"

/* Longest HTML entity name we decode ("&nbsp;"); longer runs are text. */
#define MIME_MAX_ENTITY 10

struct mime_text_state {
	struct arena *arena;
	const char *data;
	struct buf text;
	char *preview;
};

/* HTML entity at s (after '&'), appended as UTF-8; returns the bytes used
 * or 0 when it is not one we know. */
static size_t mime_html_entity(const char *s, size_t len, struct buf *out)
{
	static const struct { const char *name; uint32_t cp; } names[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' },
		{ "apos;", '\'' }, { "nbsp;", ' ' },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i].name);
		if (len >= n && strncasecmp(s, names[i].name, n) == 0) {
			mime_append_codepoint(out, names[i].cp);
			return n;
		}
	}
	if (len < 3 || s[0] != '#')
		return 0;
	bool hex = s[1] == 'x' || s[1] == 'X';
	size_t i = hex ? 2 : 1;
	uint32_t cp = 0;
	for (; i < len && i < MIME_MAX_ENTITY && isxdigit((unsigned char)s[i]); i++) {
		if (!hex && !isdigit((unsigned char)s[i]))
			break;
		int d = isdigit((unsigned char)s[i]) ? s[i] - '0' : (s[i] | 0x20) - 'a' + 10;
		cp = cp * (hex ? 16 : 10) + (uint32_t)d;
	}
	if (i >= len || s[i] != ';' || i == (hex ? 2u : 1u))
		return 0;
	mime_append_codepoint(out, cp);
	return i + 1;
}

/* Skip a tag starting at s[0] == '<'; script and style lose their content
 * too. Returns the bytes to skip. */
static size_t mime_html_skip_tag(const char *s, size_t len)
{
	const char *gt = memchr(s, '>', len);
	size_t n = gt ? (size_t)(gt - s) + 1 : len;
	const char *closer = NULL;

	if (len > 7 && strncasecmp(s, "<script", 7) == 0)
		closer = "</script";
	else if (len > 6 && strncasecmp(s, "<style", 6) == 0)
		closer = "</style";
	if (closer == NULL)
		return n;
	const char *end = str_find_nocase(s + n, len - n, closer, strlen(closer));
	if (end == NULL)
		return len;
	gt = memchr(end, '>', len - (size_t)(end - s));
	return gt ? (size_t)(gt - s) + 1 : len;
}

/* Crude HTML to text: tags become a space, entities are decoded. */
static void mime_html_strip(const char *s, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len;) {
		if (s[i] == '<') {
			i += mime_html_skip_tag(s + i, len - i);
			buf_append_char(out, ' ');
		} else if (s[i] == '&') {
			size_t n = mime_html_entity(s + i + 1, len - i - 1, out);
			if (n == 0)
				buf_append_char(out, '&');
			i += n + 1;
		} else {
			buf_append_char(out, s[i++]);
		}
	}
}

/* Undo the Content-Transfer-Encoding (RFC 2045 §6) of body[0..len). */
static void mime_text_decode(const struct mime_node *n, const char *body, size_t len,
			     struct buf *out)
{
	const char *enc = n->headers.value[MIME_H_CONTENT_TRANSFER_ENCODING];

	if (enc != NULL && str_has_prefix_nocase(enc, "quoted-printable"))
		mime_decode_qp(out, body, len, false);
	else if (enc != NULL && str_has_prefix_nocase(enc, "base64"))
		mime_decode_base64(out, body, len);
	else
		buf_append(out, body, len);
}

/* Cut text to at most max bytes without splitting a UTF-8 character. */
static size_t mime_utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

/* RFC 8970 §3: the preview, white space collapsed, at most 200 characters. */
static char *mime_make_preview(struct arena *arena, const char *s, size_t len)
{
	struct buf out = BUF_INIT;
	size_t chars = 0;
	bool space = false;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isspace(c)) {
			space = out.len > 0;
			continue;
		}
		bool lead = (c & 0xC0) != 0x80;
		if (lead && space && chars + 1 < MIME_PREVIEW_CHARS) {
			buf_append_char(&out, ' ');
			chars++;
		}
		space = false;
		if (lead && chars++ == MIME_PREVIEW_CHARS)
			break;
		buf_append_char(&out, (char)c);
	}
	return mime_buf_to_arena(arena, &out);
}

/* One text leaf: decode, convert, strip, append, maybe take the preview. */
static void mime_text_leaf(struct mime_text_state *st, const struct mime_node *n)
{
	size_t room = MIME_MAX_TEXT - st->text.len;
	size_t len = n->body_end - n->body_offset;
	struct buf raw = BUF_INIT, utf8 = BUF_INIT, plain = BUF_INIT;

	/* Decoding never shrinks by more than 4x (quoted-printable "=XX"
	 * and 4/3 base64 are within that), so this much input is enough. */
	if (len / 4 > room)
		len = room * 4 + 4;
	mime_text_decode(n, st->data + n->body_offset, len, &raw);
	mime_append_utf8(&utf8, mime_param_get(&n->ctype, "charset"),
			 raw.data ? raw.data : "", raw.len);
	if (strcmp(n->ctype.subtype, "html") == 0)
		mime_html_strip(utf8.data ? utf8.data : "", utf8.len, &plain);
	else
		buf_append(&plain, utf8.data ? utf8.data : "", utf8.len);
	if (st->preview == NULL)
		st->preview = mime_make_preview(st->arena, plain.data ? plain.data : "", plain.len);
	if (st->text.len > 0 && room > 0) {
		buf_append_char(&st->text, '\n');
		room--;
	}
	buf_append(&st->text, plain.data ? plain.data : "",
		   mime_utf8_cut(plain.data ? plain.data : "", plain.len, room));
	buf_free(&raw);
	buf_free(&utf8);
	buf_free(&plain);
}

static void mime_text_walk(struct mime_text_state *st, const struct mime_node *n)
{
	for (; n != NULL; n = n->next) {
		if (st->text.len >= MIME_MAX_TEXT && st->preview != NULL)
			return;
		if (n->kind != MIME_KIND_LEAF)
			mime_text_walk(st, n->children);
		else if (!n->fake && strcmp(n->ctype.type, "text") == 0 &&
			 (strcmp(n->ctype.subtype, "plain") == 0 ||
			  strcmp(n->ctype.subtype, "html") == 0))
			mime_text_leaf(st, n);
	}
}

void mime_collect_text(struct mime_message *msg, struct arena *arena, const char *data,
		       const struct mime_node *root)
{
	struct mime_text_state st = { arena, data, BUF_INIT, NULL };

	mime_text_walk(&st, root);
	msg->text_len = st.text.len;
	msg->text = mime_buf_to_arena(arena, &st.text);
	msg->preview = st.preview != NULL ? st.preview : arena_strdup(arena, "");
}
