/*
 * sasl: see sasl.h. Strict base64: a client that sends garbage gets an
 * error, not a half-decoded password.
 */
#include "auth/sasl.h"

#include <string.h>

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
