/*
 * url: see url.h. RFC 5092 §11 is the grammar; %-escapes are decoded per
 * component (RFC 3986 §2.1), and a decoded component may not hold a NUL or
 * a control character: a mailbox name or a section never does.
 */
#include "imap/url.h"
#include "core/str.h"

#include <string.h>

static int url_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %-decode s[0..len) into a NUL-terminated arena copy; NULL on a bad escape
 * or a decoded control character. */
static char *url_decode(struct arena *arena, const char *s, size_t len)
{
	char *out = arena_alloc(arena, len + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= len)
				return NULL;
			int hi = url_hex(s[i + 1]), lo = url_hex(s[i + 2]);
			if (hi < 0 || lo < 0)
				return NULL;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return NULL;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return out;
}

/* A decimal number filling s[0..len) exactly; nz: must not be 0. */
static bool url_number(const char *s, size_t len, bool nz, uint64_t max, uint64_t *n_r)
{
	uint64_t n = 0;

	if (len == 0 || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (n > (max - (uint64_t)(s[i] - '0')) / 10)
			return false;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	if (nz && n == 0)
		return false;
	*n_r = n;
	return true;
}

/* s[0..len) starts with the parameter name (";UID=" ...), any case. */
static bool url_param(const char *s, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len >= n && str_eq_nocase_n(s, n, name);
}

/* The segments after the mailbox: ";UID=n" ["/;SECTION=x"] ["/;PARTIAL=o.l"],
 * s[0..len) starting at ";UID=". */
static bool url_parse_message(struct arena *arena, const char *s, size_t len,
			      struct imap_url *url, const char **error_r)
{
	const char *end = s + len;
	const char *seg_end = memchr(s, '/', len);
	uint64_t n;

	if (seg_end == NULL)
		seg_end = end;
	if (!url_param(s, (size_t)(seg_end - s), ";UID=") ||
	    !url_number(s + 5, (size_t)(seg_end - s - 5), true, UINT32_MAX, &n)) {
		*error_r = "Expected ;UID=n";
		return false;
	}
	url->uid = (uint32_t)n;
	s = seg_end;
	if (s < end && url_param(s + 1, (size_t)(end - s - 1), ";SECTION=")) {
		/* enc-section may hold '/' only %-escaped, so the next '/' ends it */
		const char *start = s + 10;
		seg_end = memchr(start, '/', (size_t)(end - start));
		if (seg_end == NULL)
			seg_end = end;
		char *text = url_decode(arena, start, (size_t)(seg_end - start));
		if (text == NULL || text[0] == '\0' ||
		    !imap_fetch_parse_section_spec(arena, text, strlen(text), &url->section)) {
			*error_r = "Invalid ;SECTION=";
			return false;
		}
		s = seg_end;
	}
	if (s < end && url_param(s + 1, (size_t)(end - s - 1), ";PARTIAL=")) {
		const char *start = s + 10;
		const char *dot = memchr(start, '.', (size_t)(end - start));
		const char *origin_end = dot != NULL ? dot : end;
		if (!url_number(start, (size_t)(origin_end - start), false, UINT64_MAX, &url->origin) ||
		    (dot != NULL &&
		     !url_number(dot + 1, (size_t)(end - dot - 1), true, UINT64_MAX, &url->length))) {
			*error_r = "Invalid ;PARTIAL=";
			return false;
		}
		url->partial = true;
		s = end;
	}
	if (s != end) {
		*error_r = "Unexpected text after the message part";
		return false;
	}
	return true;
}

/* imailbox-ref "/" rest: enc-mailbox [;UIDVALIDITY=n] then the message.
 * The mailbox ends at the "/;UID=" (a name may itself hold '/'). */
static bool url_parse_mailbox_ref(struct arena *arena, const char *s, size_t len,
				  struct imap_url *url, const char **error_r)
{
	const char *end = s + len, *uid = NULL;

	for (const char *p = s; p + 6 <= end; p++) {
		if (*p == '/' && str_eq_nocase_n(p + 1, 5, ";UID=")) {
			uid = p;
			break;
		}
	}
	if (uid == NULL || uid == s) {
		*error_r = "Not a message URL";
		return false;
	}
	const char *name_end = uid;
	for (const char *p = s; p < uid; p++) {
		if (*p == ';') {
			uint64_t n;
			if (!url_param(p, (size_t)(uid - p), ";UIDVALIDITY=") ||
			    !url_number(p + 13, (size_t)(uid - p - 13), true, UINT32_MAX, &n)) {
				*error_r = "Invalid ;UIDVALIDITY=";
				return false;
			}
			url->uidvalidity = (uint32_t)n;
			name_end = p;
			break;
		}
	}
	url->mailbox = url_decode(arena, s, (size_t)(name_end - s));
	if (url->mailbox == NULL || url->mailbox[0] == '\0') {
		*error_r = "Invalid mailbox name";
		return false;
	}
	return url_parse_message(arena, uid + 1, (size_t)(end - uid - 1), url, error_r);
}

/* "imap://" iserver "/" ...: iserver = [enc-user [;AUTH=x] "@"] host [":" port] */
static bool url_parse_absolute(struct arena *arena, const char *s, size_t len,
			       struct imap_url *url, const char **error_r)
{
	const char *end = s + len;
	const char *slash = memchr(s, '/', len);

	if (slash == NULL) {
		*error_r = "Not a message URL";
		return false;
	}
	const char *at = memchr(s, '@', (size_t)(slash - s));
	const char *host = s;
	if (at != NULL) {
		const char *user_end = memchr(s, ';', (size_t)(at - s));
		if (user_end == NULL)
			user_end = at;
		url->user = url_decode(arena, s, (size_t)(user_end - s));
		host = at + 1;
	}
	const char *colon = memchr(host, ':', (size_t)(slash - host));
	url->host = url_decode(arena, host, (size_t)((colon != NULL ? colon : slash) - host));
	if (url->user == NULL || url->user[0] == '\0' || url->host == NULL ||
	    url->host[0] == '\0') {
		*error_r = "An absolute URL needs user@host";
		return false;
	}
	return url_parse_mailbox_ref(arena, slash + 1, (size_t)(end - slash - 1), url, error_r);
}

bool imap_url_parse(struct arena *arena, const char *url, size_t len, struct imap_url *url_r,
		    const char **error_r)
{
	memset(url_r, 0, sizeof(*url_r));
	url_r->section.part = "";
	url_r->section.text = IMAP_SECTION_ALL;
	url_r->length = UINT64_MAX;
	if (len == 0 || len > IMAP_URL_MAX || memchr(url, '\0', len) != NULL) {
		*error_r = "Invalid URL";
		return false;
	}
	if (len > 7 && str_eq_nocase_n(url, 7, "imap://"))
		return url_parse_absolute(arena, url + 7, len - 7, url_r, error_r);
	if (url[0] == '/' && len > 1 && url[1] == '/') {
		/* inetwork-path: "//" iserver ..., the scheme left implicit */
		return url_parse_absolute(arena, url + 2, len - 2, url_r, error_r);
	}
	if (url[0] == '/')
		return url_parse_mailbox_ref(arena, url + 1, len - 1, url_r, error_r);
	if (url[0] == ';')
		return url_parse_message(arena, url, len, url_r, error_r);
	/* RFC 3986 §4.2: a ':' before the first '/' makes it a scheme */
	for (size_t i = 0; i < len && url[i] != '/'; i++) {
		if (url[i] == ':') {
			*error_r = "Unsupported URL scheme";
			return false;
		}
	}
	return url_parse_mailbox_ref(arena, url, len, url_r, error_r);
}
