/*
 * sasl: see sasl.h. Strict base64: a client that sends garbage gets an
 * error, not a half-decoded password.
 */
#include "auth/sasl.h"

#include <stdbool.h>
#include <string.h>

#include "core/str.h"

static int sasl_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

int sasl_base64_decode(struct arena *arena, const char *in, size_t len, char **out_r,
		       size_t *out_len_r)
{
	if (len % 4 != 0)
		return -1;
	char *out = arena_alloc(arena, len / 4 * 3 + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];
			if (c == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = sasl_b64_value(c)) < 0)
				return -1;
		}
		unsigned triple = (unsigned)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
		out[n++] = (char)(triple >> 16);
		if (pad < 2)
			out[n++] = (char)(triple >> 8);
		if (pad < 1)
			out[n++] = (char)triple;
	}
	out[n] = '\0';
	*out_r = out;
	*out_len_r = n;
	return 0;
}

int sasl_plain_decode(struct arena *arena, const char *b64, size_t len, char **authzid_r,
		      char **authcid_r, char **password_r, const char **error_r)
{
	char *data;
	size_t n;

	if (sasl_base64_decode(arena, b64, len, &data, &n) < 0) {
		*error_r = "Invalid base64";
		return -1;
	}
	char *nul1 = memchr(data, '\0', n);
	char *nul2 = nul1 ? memchr(nul1 + 1, '\0', n - (size_t)(nul1 + 1 - data)) : NULL;
	if (nul2 == NULL || memchr(nul2 + 1, '\0', n - (size_t)(nul2 + 1 - data)) != NULL) {
		*error_r = "Invalid PLAIN message";
		return -1;
	}
	*authzid_r = data;
	*authcid_r = nul1 + 1;
	*password_r = nul2 + 1;
	if (**authcid_r == '\0' || **password_r == '\0') {
		*error_r = "Empty user name or password";
		return -1;
	}
	return 0;
}

/* RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
 * "+" / "/" ) *"=" */
static bool sasl_b64token_ok(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			   (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.' ||
			   s[i] == '_' || s[i] == '~' || s[i] == '+' || s[i] == '/'))
		i++;
	if (i == 0)
		return false;
	while (i < len && s[i] == '=')
		i++;
	return i == len;
}

/* "Bearer" 1*SP b64token (RFC 6750 §2.1; the scheme is case-insensitive). */
static int sasl_bearer_value(struct arena *arena, const char *v, size_t len, char **token_r)
{
	if (len < 7 || !str_eq_nocase_n(v, 6, "Bearer") || v[6] != ' ')
		return -1;
	size_t i = 6;
	while (i < len && v[i] == ' ')
		i++;
	if (!sasl_b64token_ok(v + i, len - i))
		return -1;
	*token_r = arena_strndup(arena, v + i, len - i);
	return 0;
}

int sasl_oauthbearer_decode(struct arena *arena, const char *msg, size_t len, char **authzid_r,
			    char **token_r, const char **error_r)
{
	size_t pos;

	*authzid_r = NULL;
	*token_r = NULL;
	*error_r = "Invalid OAUTHBEARER message";
	if (memchr(msg, '\0', len) != NULL)
		return -1;
	/* gs2-header: no channel binding in OAUTHBEARER ("p" is refused). */
	if (len < 3 || (msg[0] != 'n' && msg[0] != 'y') || msg[1] != ',')
		return -1;
	pos = 2;
	if (pos + 2 <= len && msg[pos] == 'a' && msg[pos + 1] == '=') {
		const char *start = msg + pos + 2;
		const char *comma = memchr(start, ',', len - pos - 2);
		if (comma == NULL || comma == start)
			return -1;
		/* saslname: "=2C" and "=3D" escapes (RFC 5801 §4). */
		size_t n = (size_t)(comma - start), k = 0;
		char *out = arena_alloc(arena, n + 1);
		for (size_t i = 0; i < n; i++) {
			if (start[i] != '=') {
				out[k++] = start[i];
			} else if (i + 2 < n && start[i + 1] == '2' && start[i + 2] == 'C') {
				out[k++] = ',';
				i += 2;
			} else if (i + 2 < n && start[i + 1] == '3' && start[i + 2] == 'D') {
				out[k++] = '=';
				i += 2;
			} else {
				return -1;
			}
		}
		out[k] = '\0';
		*authzid_r = out;
		pos = (size_t)(comma - msg);
	}
	if (pos >= len || msg[pos] != ',')
		return -1;
	pos++;
	/* kvsep *(kvpair) kvsep, kvpair = key "=" value kvsep */
	if (pos >= len || msg[pos] != '\x01')
		return -1;
	pos++;
	while (pos < len && msg[pos] != '\x01') {
		const char *kv = msg + pos;
		const char *sep = memchr(kv, '\x01', len - pos);
		const char *eq = sep ? memchr(kv, '=', (size_t)(sep - kv)) : NULL;
		if (eq == NULL || eq == kv)
			return -1;
		for (const char *k = kv; k < eq; k++) {
			if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z')))
				return -1;
		}
		if ((size_t)(eq - kv) == 4 && memcmp(kv, "auth", 4) == 0) {
			if (*token_r != NULL ||
			    sasl_bearer_value(arena, eq + 1, (size_t)(sep - eq - 1), token_r) < 0)
				return -1;
		}
		pos = (size_t)(sep - msg) + 1;
	}
	if (pos + 1 != len || *token_r == NULL)
		return -1;
	return 0;
}

int sasl_xoauth2_decode(struct arena *arena, const char *msg, size_t len, char **user_r,
			char **token_r, const char **error_r)
{
	*error_r = "Invalid XOAUTH2 message";
	if (memchr(msg, '\0', len) != NULL || len < 5 || memcmp(msg, "user=", 5) != 0)
		return -1;
	const char *user = msg + 5;
	const char *sep = memchr(user, '\x01', len - 5);
	if (sep == NULL || sep == user)
		return -1;
	const char *auth = sep + 1;
	size_t rest = len - (size_t)(auth - msg);
	if (rest < 5 || memcmp(auth, "auth=", 5) != 0)
		return -1;
	const char *sep2 = memchr(auth, '\x01', rest);
	if (sep2 == NULL || (size_t)(sep2 - msg) + 2 != len || sep2[1] != '\x01')
		return -1;
	if (sasl_bearer_value(arena, auth + 5, (size_t)(sep2 - auth - 5), token_r) < 0)
		return -1;
	*user_r = arena_strndup(arena, user, (size_t)(sep - user));
	return 0;
}
