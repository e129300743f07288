/*
 * utf7: see utf7.h. Strict both ways: a name that does not round-trip is
 * refused, so two spellings can never name one mailbox.
 */
#include "imap/utf7.h"
#include "core/buf.h"

#include <stdint.h>
#include <string.h>

static const char utf7_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* Next code point from UTF-8, or -1 if malformed. */
static int32_t utf8_next(const unsigned char **pp)
{
	const unsigned char *p = *pp;
	int32_t cp;
	int extra;

	if (p[0] < 0x80) {
		*pp = p + 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0) { cp = p[0] & 0x1f; extra = 1; }
	else if ((p[0] & 0xf0) == 0xe0) { cp = p[0] & 0x0f; extra = 2; }
	else if ((p[0] & 0xf8) == 0xf0) { cp = p[0] & 0x07; extra = 3; }
	else return -1;
	for (int i = 1; i <= extra; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	static const int32_t min[] = { 0, 0x80, 0x800, 0x10000 };
	if (cp < min[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*pp = p + extra + 1;
	return cp;
}

static void utf8_put(struct buf *out, uint32_t cp)
{
	if (cp < 0x80) {
		buf_append_char(out, (char)cp);
	} else if (cp < 0x800) {
		buf_append_char(out, (char)(0xc0 | (cp >> 6)));
		buf_append_char(out, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_append_char(out, (char)(0xe0 | (cp >> 12)));
		buf_append_char(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_append_char(out, (char)(0x80 | (cp & 0x3f)));
	} else {
		buf_append_char(out, (char)(0xf0 | (cp >> 18)));
		buf_append_char(out, (char)(0x80 | ((cp >> 12) & 0x3f)));
		buf_append_char(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_append_char(out, (char)(0x80 | (cp & 0x3f)));
	}
}

static char *utf7_finish(struct arena *arena, struct buf *out, bool ok)
{
	char *s = ok ? arena_memdup(arena, out->data ? out->data : "", out->len) : NULL;

	buf_free(out);
	return s;
}

/* Encode one run of non-ASCII code points as "&...-". */
static const unsigned char *utf7_encode_run(const unsigned char *p, struct buf *out, bool *ok)
{
	uint32_t bits = 0;
	int nbits = 0;

	buf_append_char(out, '&');
	while (*p != '\0' && (*p < 0x20 || *p > 0x7e)) {
		int32_t cp = utf8_next(&p);
		uint16_t units[2];
		int n = 1;
		if (cp < 0) {
			*ok = false;
			return p;
		}
		if (cp >= 0x10000) {
			units[0] = (uint16_t)(0xd800 + ((cp - 0x10000) >> 10));
			units[1] = (uint16_t)(0xdc00 + ((cp - 0x10000) & 0x3ff));
			n = 2;
		} else {
			units[0] = (uint16_t)cp;
		}
		for (int i = 0; i < n; i++) {
			bits = (bits << 16) | units[i];
			nbits += 16;
			while (nbits >= 6) {
				nbits -= 6;
				buf_append_char(out, utf7_alphabet[(bits >> nbits) & 0x3f]);
			}
		}
	}
	if (nbits > 0)
		buf_append_char(out, utf7_alphabet[(bits << (6 - nbits)) & 0x3f]);
	buf_append_char(out, '-');
	return p;
}

char *utf7_encode(struct arena *arena, const char *utf8)
{
	const unsigned char *p = (const unsigned char *)utf8;
	struct buf out = BUF_INIT;
	bool ok = true;

	while (ok && *p != '\0') {
		if (*p == '&') {
			buf_append_str(&out, "&-");
			p++;
		} else if (*p >= 0x20 && *p <= 0x7e) {
			buf_append_char(&out, (char)*p++);
		} else {
			p = utf7_encode_run(p, &out, &ok);
		}
	}
	return utf7_finish(arena, &out, ok);
}

static int utf7_value(char c)
{
	const char *pos = c ? strchr(utf7_alphabet, c) : NULL;

	return pos ? (int)(pos - utf7_alphabet) : -1;
}

/* Decode the base64 run after '&' up to '-'. Returns the char after '-'. */
static const char *utf7_decode_run(const char *p, struct buf *out, bool *ok)
{
	uint32_t bits = 0, high = 0;
	int nbits = 0;
	size_t units = 0;

	for (; *p != '-'; p++) {
		int v = utf7_value(*p);
		if (v < 0) {
			*ok = false;
			return p;
		}
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t unit = (bits >> nbits) & 0xffff;
		units++;
		if (high != 0) {
			if (unit < 0xdc00 || unit > 0xdfff) { *ok = false; return p; }
			utf8_put(out, 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00));
			high = 0;
		} else if (unit >= 0xd800 && unit <= 0xdbff) {
			high = unit;
		} else if ((unit >= 0xdc00 && unit <= 0xdfff) || (unit >= 0x20 && unit <= 0x7e) ||
			   unit == 0) {
			/* lone low surrogate, ASCII that must not be encoded, or
			 * U+0000: a C string would end there, so "a&AAA-b" would
			 * name "a" (the encoder never produces it either) */
			*ok = false;
			return p;
		} else {
			utf8_put(out, unit);
		}
	}
	/* Leftover bits must be zero padding of fewer than 6 bits. */
	if (high != 0 || units == 0 || nbits >= 6 || (bits & ((1u << nbits) - 1)) != 0)
		*ok = false;
	return p + 1;
}

char *utf7_decode(struct arena *arena, const char *utf7)
{
	const char *p = utf7;
	struct buf out = BUF_INIT;
	bool ok = true;

	while (ok && *p != '\0') {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c > 0x7e) {
			ok = false;
		} else if (c != '&') {
			buf_append_char(&out, (char)c);
			p++;
		} else if (p[1] == '-') {
			buf_append_char(&out, '&');
			p += 2;
		} else {
			p = utf7_decode_run(p + 1, &out, &ok);
			/* RFC 3501 §5.1.3: "&U,BTFw-&ZeVnLIqe-" is not permitted:
			 * two adjacent runs must have been one. */
			if (ok && p[0] == '&' && p[1] != '-')
				ok = false;
		}
	}
	return utf7_finish(arena, &out, ok);
}
