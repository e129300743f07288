/*
 * mime-decode: the two content transfer encodings that hide text
 * (quoted-printable, RFC 2045 §6.7, and base64, §6.8), and RFC 2047 encoded
 * words, which use the same two codings inside header fields.
 *
 * Decoders are lenient in the way RFC 2045 asks of readers: characters
 * outside the base64 alphabet are skipped, an "=" that starts no valid
 * escape is kept as it is.
 */
#include "mime/mime-private.h"
#include "core/str.h"

#include <string.h>

/* Value of a hex digit, or -1. */
static int mime_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Value of a base64 character (RFC 2045 table 1), or -1. */
static int mime_base64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* RFC 2045 §6.8: "=" ends the data; other characters outside the alphabet
 * are ignored. */
void mime_decode_base64(struct buf *out, const char *s, size_t len)
{
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < len && s[i] != '='; i++) {
		int v = mime_base64_value(s[i]);
		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_append_char(out, (char)((acc >> bits) & 0xFF));
		}
	}
}

/* Length of a soft line break ("=" then optional WSP then a line end,
 * RFC 2045 §6.7 rule 5) at s, or 0. */
static size_t mime_qp_soft_break(const char *s, size_t len)
{
	size_t i = 1;

	while (i < len && mime_is_wsp(s[i]))
		i++;
	if (i < len && s[i] == '\r')
		i++;
	if (i < len && s[i] == '\n')
		return i + 1;
	return i == len ? len : 0;
}

/* RFC 2045 §6.7 for bodies; with encoded_word, RFC 2047 §4.2 "Q" instead
 * ("_" is a space, and there are no line breaks). */
void mime_decode_qp(struct buf *out, const char *s, size_t len, bool encoded_word)
{
	for (size_t i = 0; i < len; i++) {
		if (encoded_word && s[i] == '_') {
			buf_append_char(out, ' ');
			continue;
		}
		if (s[i] != '=') {
			buf_append_char(out, s[i]);
			continue;
		}
		int hi = i + 1 < len ? mime_hex_value(s[i + 1]) : -1;
		int lo = i + 2 < len ? mime_hex_value(s[i + 2]) : -1;
		if (hi >= 0 && lo >= 0) {
			buf_append_char(out, (char)(hi * 16 + lo));
			i += 2;
			continue;
		}
		size_t soft = encoded_word ? 0 : mime_qp_soft_break(s + i, len - i);
		if (soft > 0)
			i += soft - 1;
		else
			buf_append_char(out, '=');
	}
}

/* RFC 2047 §2 "especials" plus space and controls: not allowed in the
 * charset or encoding token of an encoded-word. */
static bool mime_is_ew_token_char(char c)
{
	return (unsigned char)c > ' ' && (unsigned char)c < 0x7F &&
	       strchr("()<>@,;:\"/[]?.=", c) == NULL;
}

struct mime_encoded_word {
	const char *charset;
	size_t charset_len;
	char encoding; /* 'Q' or 'B' */
	const char *text;
	size_t text_len;
	size_t len; /* of the whole "=?...?=" */
};

/* RFC 2047 §2: encoded-word = "=?" charset "?" encoding "?" encoded-text
 * "?=", with no white space inside. False when s does not start one. */
static bool mime_parse_encoded_word(const char *s, size_t len, struct mime_encoded_word *w)
{
	size_t i = 2;

	if (len > MIME_MAX_ENCODED_WORD)
		len = MIME_MAX_ENCODED_WORD;
	if (len < 8 || s[0] != '=' || s[1] != '?')
		return false;
	while (i < len && mime_is_ew_token_char(s[i]))
		i++;
	if (i == 2 || i + 3 >= len || s[i] != '?' || s[i + 2] != '?')
		return false;
	w->charset = s + 2;
	w->charset_len = i - 2;
	w->encoding = (char)(s[i + 1] & ~0x20);
	if (w->encoding != 'Q' && w->encoding != 'B')
		return false;
	i += 3;
	w->text = s + i;
	while (i + 1 < len && !(s[i] == '?' && s[i + 1] == '=')) {
		if (s[i] == ' ' || s[i] == '\t')
			return false;
		i++;
	}
	if (i + 1 >= len)
		return false;
	w->text_len = (size_t)(s + i - w->text);
	w->len = i + 2;
	return true;
}

/* Decoded bytes of adjacent encoded words in one charset, converted
 * together: a multi-byte character may be split across two words. */
struct mime_ew_pending {
	struct buf bytes;
	char charset[MIME_MAX_ENCODED_WORD];
};

static void mime_ew_flush(struct buf *out, struct mime_ew_pending *p)
{
	if (p->bytes.len > 0)
		mime_append_utf8(out, p->charset, p->bytes.data, p->bytes.len);
	buf_clear(&p->bytes);
}

static bool mime_is_all_wsp(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!mime_is_wsp(s[i]))
			return false;
	}
	return true;
}

/* Add one encoded word to the pending bytes, flushing first when the
 * charset changes. */
static void mime_ew_add(struct buf *out, struct mime_ew_pending *p,
			const struct mime_encoded_word *w)
{
	if (p->bytes.len > 0 && (strlen(p->charset) != w->charset_len ||
				 strncmp(p->charset, w->charset, w->charset_len) != 0))
		mime_ew_flush(out, p);
	memcpy(p->charset, w->charset, w->charset_len);
	p->charset[w->charset_len] = '\0';
	if (w->encoding == 'B')
		mime_decode_base64(&p->bytes, w->text, w->text_len);
	else
		mime_decode_qp(&p->bytes, w->text, w->text_len, true);
}

/* RFC 2047 §6.2: decode the encoded words; white space between two encoded
 * words is dropped; other text is raw (UTF-8 if valid, else Windows-1252). */
char *mime_decode_header(struct arena *arena, const char *value, size_t len)
{
	const char *s = mime_unfold(arena, value, len);
	struct buf out = BUF_INIT;
	struct mime_ew_pending pending = { BUF_INIT, "" };
	struct mime_encoded_word w;
	size_t n = strlen(s), gap = 0;
	bool after_word = false;

	for (size_t i = 0; i < n;) {
		if (s[i] != '=' || !mime_parse_encoded_word(s + i, n - i, &w)) {
			i++;
			continue;
		}
		if (!after_word || !mime_is_all_wsp(s + gap, i - gap)) {
			mime_ew_flush(&out, &pending);
			mime_append_raw(&out, s + gap, i - gap);
		}
		mime_ew_add(&out, &pending, &w);
		i += w.len;
		gap = i;
		after_word = true;
	}
	mime_ew_flush(&out, &pending);
	mime_append_raw(&out, s + gap, n - gap);
	buf_free(&pending.bytes);
	return mime_buf_to_arena(arena, &out);
}

int mime_decode_transfer(const char *encoding, const char *data, size_t len, struct buf *out)
{
	char name[32];
	size_t n = 0;

	/* the token alone: "base64 (comment)" and surrounding blanks happen */
	if (encoding != NULL) {
		while (*encoding == ' ' || *encoding == '\t')
			encoding++;
		while (encoding[n] != '\0' && encoding[n] != ' ' && encoding[n] != '\t' &&
		       encoding[n] != '(' && encoding[n] != ';' && n < sizeof(name) - 1) {
			name[n] = encoding[n];
			n++;
		}
	}
	name[n] = '\0';
	if (n == 0 || str_eq_nocase(name, "7bit") || str_eq_nocase(name, "8bit") ||
	    str_eq_nocase(name, "binary")) {
		buf_append(out, data, len);
		return 0;
	}
	if (str_eq_nocase(name, "base64")) {
		mime_decode_base64(out, data, len);
		return 0;
	}
	if (str_eq_nocase(name, "quoted-printable")) {
		mime_decode_qp(out, data, len, false);
		return 0;
	}
	return -1;
}
