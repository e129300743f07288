/*
 * saslprep: see saslprep.h. Our part is the bounds and a strict UTF-8
 * check, so the library only ever sees well-formed input; the mapping,
 * NFKC, prohibition and bidi steps are libidn's.
 */
#include "auth/saslprep.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stringprep.h>

/* RFC 3629 §4: well-formed UTF-8 only (no overlong forms, no surrogates,
 * nothing above U+10FFFF). NUL ends the string, so it cannot occur. */
static bool saslprep_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t n;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

int saslprep_prepare(struct arena *arena, const char *in, bool stored, const char **out_r,
		     const char **error_r)
{
	size_t len = strlen(in);
	char *out = NULL;

	*out_r = NULL;
	if (len > SASLPREP_INPUT_MAX) {
		*error_r = "too long";
		return -1;
	}
	if (!saslprep_utf8_valid((const unsigned char *)in, len)) {
		*error_r = "not valid UTF-8";
		return -1;
	}
	int rc = stringprep_profile(in, &out, "SASLprep",
				    stored ? STRINGPREP_NO_UNASSIGNED : (Stringprep_profile_flags)0);
	if (rc != STRINGPREP_OK) {
		free(out);
		switch (rc) {
		case STRINGPREP_CONTAINS_UNASSIGNED:
			*error_r = "holds an unassigned code point (RFC 4013 §2.5)";
			break;
		case STRINGPREP_CONTAINS_PROHIBITED:
			*error_r = "holds a character SASLprep prohibits (RFC 4013 §2.3)";
			break;
		case STRINGPREP_BIDI_BOTH_L_AND_RAL:
		case STRINGPREP_BIDI_LEADTRAIL_NOT_RAL:
		case STRINGPREP_BIDI_CONTAINS_PROHIBITED:
			*error_r = "mixes text directions (RFC 4013 §2.4, RFC 3454 §6)";
			break;
		default:
			*error_r = "SASLprep failed";
			break;
		}
		return -1;
	}
	*out_r = arena_strdup(arena, out);
	explicit_bzero(out, strlen(out));
	free(out);
	return 0;
}
