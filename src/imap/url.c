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

/* days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), so no libc time zone state is involved. */
static int64_t url_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* n decimal digits at s -> *v */
static bool url_digits(const char *s, size_t n, unsigned *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return true;
}

bool imap_url_parse_datetime(const char *s, size_t len, int64_t *time_r)
{
	/* date-fullyear "-" date-month "-" date-mday "T" time-hour ":"
	 * time-minute ":" time-second: 19 characters */
	unsigned year, month, day, hour, minute, second, oh = 0, om = 0;
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	size_t i = 19;

	if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':' || !url_digits(s, 4, &year) ||
	    !url_digits(s + 5, 2, &month) || !url_digits(s + 8, 2, &day) ||
	    !url_digits(s + 11, 2, &hour) || !url_digits(s + 14, 2, &minute) ||
	    !url_digits(s + 17, 2, &second))
		return false;
	if (month < 1 || month > 12 || day < 1 || day > mdays[month - 1] || hour > 23 ||
	    minute > 59 || second > 60)
		return false;
	if (month == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
		return false;
	if (s[i] == '.') { /* time-secfrac = "." 1*DIGIT */
		size_t start = ++i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start)
			return false;
	}
	int sign = 0;
	if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':' &&
		   url_digits(s + i + 1, 2, &oh) && url_digits(s + i + 4, 2, &om) && oh < 24 &&
		   om < 60) {
		sign = s[i] == '+' ? 1 : -1;
		i += 6;
	} else {
		return false;
	}
	if (i != len)
		return false;
	*time_r = url_days_from_civil(year, month, day) * 86400 + (int64_t)hour * 3600 +
		  (int64_t)minute * 60 + (int64_t)second - sign * ((int64_t)oh * 3600 + om * 60);
	return true;
}

/* enc-user = 1*achar (RFC 5092 §11): no ';', '/', '@', ':' or space. */
static bool url_enc_user_valid(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || strchr(";/@:?#[]\"<>\\^`{|}", c) != NULL)
			return false;
	}
	return true;
}

/* iurlauth = [";EXPIRE=" date-time] ";URLAUTH=" access [":" mech ":" token]
 * (RFC 5092 §11), from ";URLAUTH=" at url[at] to the end; *base_len_r is
 * where the message URL before them ends. */
static bool url_parse_urlauth(struct arena *arena, const char *url, size_t len, size_t at,
			      struct imap_url *url_r, size_t *base_len_r, const char **error_r)
{
	const char *s = url + at + 9, *end = url + len;
	const char *colon = memchr(s, ':', (size_t)(end - s));
	const char *access_end = colon != NULL ? colon : end;
	size_t n = (size_t)(access_end - s);

	*error_r = "Invalid ;URLAUTH=";
	if (n > 7 && str_eq_nocase_n(s, 7, "submit+") && url_enc_user_valid(s + 7, n - 7)) {
		url_r->access = IMAP_URL_ACCESS_SUBMIT;
		url_r->access_user = url_decode(arena, s + 7, n - 7);
	} else if (n > 5 && str_eq_nocase_n(s, 5, "user+") && url_enc_user_valid(s + 5, n - 5)) {
		url_r->access = IMAP_URL_ACCESS_USER;
		url_r->access_user = url_decode(arena, s + 5, n - 5);
	} else if (n == 8 && str_eq_nocase_n(s, 8, "authuser")) {
		url_r->access = IMAP_URL_ACCESS_AUTHUSER;
	} else if (n == 9 && str_eq_nocase_n(s, 9, "anonymous")) {
		url_r->access = IMAP_URL_ACCESS_ANONYMOUS;
	} else {
		return false;
	}
	if ((url_r->access == IMAP_URL_ACCESS_SUBMIT || url_r->access == IMAP_URL_ACCESS_USER) &&
	    (url_r->access_user == NULL || url_r->access_user[0] == '\0'))
		return false;
	url_r->rump_len = (size_t)(access_end - url);
	if (colon != NULL) {
		/* mechanism = 1*(ALPHA / DIGIT / "-" / "."), enc-urlauth = 32*HEXDIG */
		const char *mech = colon + 1;
		const char *mech_end = memchr(mech, ':', (size_t)(end - mech));
		if (mech_end == NULL || mech_end == mech)
			return false;
		for (const char *p = mech; p < mech_end; p++) {
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
				return false;
		}
		const char *token = mech_end + 1;
		if (end - token < 32)
			return false;
		for (const char *p = token; p < end; p++) {
			if (url_hex(*p) < 0)
				return false;
		}
		url_r->mechanism = arena_strndup(arena, mech, (size_t)(mech_end - mech));
		url_r->token = arena_strndup(arena, token, (size_t)(end - token));
	}
	/* ";EXPIRE=" date-time just before: ';' separates parameters only
	 * (achar and bchar exclude it), so the last ';' before starts it. */
	size_t base = at;
	for (size_t i = at; i > 0; i--) {
		if (url[i - 1] == ';') {
			if (at - (i - 1) > 8 && str_eq_nocase_n(url + i - 1, 8, ";EXPIRE=")) {
				if (!imap_url_parse_datetime(url + i + 7, at - i - 7, &url_r->expire)) {
					*error_r = "Invalid ;EXPIRE=";
					return false;
				}
				url_r->has_expire = true;
				base = i - 1;
			}
			break;
		}
		if (url[i - 1] == '/')
			break;
	}
	*base_len_r = base;
	return true;
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
	if (len > 7 && str_eq_nocase_n(url, 7, "imap://")) {
		/* RFC 4467 §3: the URLAUTH is at the end, and ';' occurs
		 * unescaped only before a parameter name. */
		for (size_t i = 7; i + 9 <= len; i++) {
			if (url[i] == ';' && str_eq_nocase_n(url + i, 9, ";URLAUTH=")) {
				if (!url_parse_urlauth(arena, url, len, i, url_r, &len, error_r))
					return false;
				break;
			}
		}
		return url_parse_absolute(arena, url + 7, len - 7, url_r, error_r);
	}
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
