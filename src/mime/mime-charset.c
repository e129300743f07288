/*
 * mime-charset: turning bytes in some charset into UTF-8 for the search
 * fields, the preview and the full-text words.
 *
 * The common charsets are converted here without iconv (UTF-8, US-ASCII,
 * ISO-8859-1, ISO-8859-15, Windows-1252); anything else goes through
 * iconv(3). Whatever comes out is valid UTF-8: bad sequences become U+FFFD,
 * and an unknown charset falls back to the raw-byte rule (valid UTF-8 kept,
 * anything else read as Windows-1252). NUL bytes are dropped, so the
 * results are safe as C strings.
 */
#include "mime/mime-private.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>

#include "core/str.h"

/* A charset name longer than this is not a charset (IANA names are short). */
#define MIME_MAX_CHARSET_NAME 64
/* iconv output is produced in chunks of this size. */
#define MIME_ICONV_CHUNK 4096

/* Windows-1252 0x80..0x9F (WHATWG encoding standard); 0 where undefined,
 * which then reads as the Latin-1 C1 control. */
static const uint16_t mime_cp1252_high[32] = {
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

/* Append one code point as UTF-8 (U+FFFD for anything not a scalar value). */
void mime_append_codepoint(struct buf *out, uint32_t cp)
{
	char b[4];

	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp < 0x80) {
		if (cp != 0)
			buf_append_char(out, (char)cp);
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3F));
		buf_append(out, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		buf_append(out, b, 3);
	} else {
		b[0] = (char)(0xF0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (char)(0x80 | (cp & 0x3F));
		buf_append(out, b, 4);
	}
}

/* Length of the valid UTF-8 sequence at s (RFC 3629 §4: no overlongs, no
 * surrogates, nothing past U+10FFFF), or 0 when it is not one. */
static size_t mime_utf8_seq_len(const unsigned char *s, size_t len)
{
	size_t n;
	uint32_t min, cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		n = 2; min = 0x80; cp = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		n = 3; min = 0x800; cp = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 4; min = 0x10000; cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

/* Declared UTF-8: copy the valid sequences, U+FFFD for each bad byte. */
static void mime_append_utf8_checked(struct buf *out, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = mime_utf8_seq_len(u + i, len - i);
		if (n == 0) {
			mime_append_codepoint(out, 0xFFFD);
			i++;
		} else {
			if (u[i] != 0)
				buf_append(out, s + i, n);
			i += n;
		}
	}
}

static bool mime_is_utf8(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = mime_utf8_seq_len(u + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/* Windows-1252, a superset of the printable ISO-8859-1. */
static void mime_append_cp1252(struct buf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		uint32_t cp = c;
		if (c >= 0x80 && c < 0xA0 && mime_cp1252_high[c - 0x80] != 0)
			cp = mime_cp1252_high[c - 0x80];
		mime_append_codepoint(out, cp);
	}
}

/* ISO-8859-15 is Latin-1 with eight code points replaced (the euro sign and
 * letters for French and Finnish). */
static void mime_append_latin9(struct buf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint32_t cp = (unsigned char)s[i];
		switch (cp) {
		case 0xA4: cp = 0x20AC; break;
		case 0xA6: cp = 0x0160; break;
		case 0xA8: cp = 0x0161; break;
		case 0xB4: cp = 0x017D; break;
		case 0xB8: cp = 0x017E; break;
		case 0xBC: cp = 0x0152; break;
		case 0xBD: cp = 0x0153; break;
		case 0xBE: cp = 0x0178; break;
		default: break;
		}
		mime_append_codepoint(out, cp);
	}
}

/* Bytes in no declared charset (raw 8-bit headers, US-ASCII that is not):
 * valid UTF-8 is taken as UTF-8, anything else as Windows-1252. */
void mime_append_raw(struct buf *out, const char *s, size_t len)
{
	if (mime_is_utf8(s, len))
		mime_append_utf8_checked(out, s, len);
	else
		mime_append_cp1252(out, s, len);
}

/* Convert through iconv; false when iconv does not know the charset. */
static bool mime_append_iconv(struct buf *out, const char *charset, const char *s, size_t len)
{
	iconv_t cd = iconv_open("UTF-8", charset);

	if (cd == (iconv_t)-1)
		return false;
	char *in = (char *)s;
	size_t in_left = len;
	while (in_left > 0) {
		char *dst = buf_reserve(out, MIME_ICONV_CHUNK);
		char *o = dst;
		size_t o_left = MIME_ICONV_CHUNK;
		size_t r = iconv(cd, &in, &in_left, &o, &o_left);
		buf_commit(out, (size_t)(o - dst));
		if (r == (size_t)-1 && errno != E2BIG) {
			/* EILSEQ or a truncated sequence (EINVAL): one
			 * replacement character, then carry on. */
			mime_append_codepoint(out, 0xFFFD);
			in++;
			in_left--;
		}
	}
	/* Stateful charsets (ISO-2022-JP) may owe a final shift sequence. */
	char *dst = buf_reserve(out, MIME_ICONV_CHUNK);
	char *o = dst;
	size_t o_left = MIME_ICONV_CHUNK;
	if (iconv(cd, NULL, NULL, &o, &o_left) != (size_t)-1)
		buf_commit(out, (size_t)(o - dst));
	iconv_close(cd);
	return true;
}

/* Append s[0..len) in charset as UTF-8. */
void mime_append_utf8(struct buf *out, const char *charset, const char *s, size_t len)
{
	char name[MIME_MAX_CHARSET_NAME + 1];
	size_t n = 0;

	/* RFC 2231 §5: an encoded-word charset may carry "*language". */
	while (charset != NULL && charset[n] != '\0' && charset[n] != '*' &&
	       n < MIME_MAX_CHARSET_NAME) {
		name[n] = charset[n];
		n++;
	}
	name[n] = '\0';
	str_lower(name);
	if (n == 0 || strcmp(name, "us-ascii") == 0 || strcmp(name, "ascii") == 0) {
		mime_append_raw(out, s, len);
	} else if (strcmp(name, "utf-8") == 0 || strcmp(name, "utf8") == 0) {
		mime_append_utf8_checked(out, s, len);
	} else if (strcmp(name, "iso-8859-1") == 0 || strcmp(name, "latin1") == 0 ||
		   strcmp(name, "iso_8859-1") == 0 || strcmp(name, "windows-1252") == 0 ||
		   strcmp(name, "cp1252") == 0) {
		/* Mail labelled ISO-8859-1 routinely holds Windows-1252
		 * punctuation; reading it as 1252 is what browsers do too. */
		mime_append_cp1252(out, s, len);
	} else if (strcmp(name, "iso-8859-15") == 0 || strcmp(name, "latin9") == 0) {
		mime_append_latin9(out, s, len);
	} else {
		size_t before = out->len;
		if (!mime_append_iconv(out, name, s, len)) {
			out->len = before;
			mime_append_raw(out, s, len);
		}
	}
}

/* Move a buffer's contents into the arena as a string and free the buffer. */
char *mime_buf_to_arena(struct arena *arena, struct buf *b)
{
	char *s = arena_memdup(arena, b->data ? b->data : "", b->len);

	buf_free(b);
	return s;
}
