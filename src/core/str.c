/*
 * str: see str.h. Locale-independent on purpose: protocol keywords must not
 * change meaning with LC_CTYPE (the Turkish dotless i).
 */
#include "core/str.h"

#include <string.h>

static inline unsigned char str_fold(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

bool str_eq_nocase_n(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		if (b[i] == '\0' || str_fold((unsigned char)a[i]) != str_fold((unsigned char)b[i]))
			return false;
	}
	return b[i] == '\0';
}

bool str_eq_nocase(const char *a, const char *b)
{
	return str_eq_nocase_n(a, strlen(a), b);
}

bool str_has_prefix_nocase(const char *s, const char *prefix)
{
	for (; *prefix != '\0'; s++, prefix++) {
		if (str_fold((unsigned char)*s) != str_fold((unsigned char)*prefix))
			return false;
	}
	return true;
}

const char *str_find_nocase(const char *hay, size_t haylen, const char *needle, size_t nlen)
{
	if (nlen == 0)
		return hay;
	if (haylen < nlen)
		return NULL;
	unsigned char first = str_fold((unsigned char)needle[0]);
	for (size_t i = 0; i + nlen <= haylen; i++) {
		if (str_fold((unsigned char)hay[i]) != first)
			continue;
		size_t j = 1;
		while (j < nlen && str_fold((unsigned char)hay[i + j]) ==
		       str_fold((unsigned char)needle[j]))
			j++;
		if (j == nlen)
			return hay + i;
	}
	return NULL;
}

int str_parse_u64(const char *s, size_t len, uint64_t *value_r)
{
	uint64_t v = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*value_r = v;
	return 0;
}

int str_parse_u32(const char *s, size_t len, uint32_t *value_r)
{
	uint64_t v;

	if (str_parse_u64(s, len, &v) < 0 || v > UINT32_MAX)
		return -1;
	*value_r = (uint32_t)v;
	return 0;
}

char *str_trim(char *s)
{
	size_t len = strlen(s);
	size_t start = 0;

	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
	while (s[start] == ' ' || s[start] == '\t')
		start++;
	if (start > 0)
		memmove(s, s + start, len - start + 1);
	return s;
}

char *str_lower(char *s)
{
	for (char *p = s; *p != '\0'; p++)
		*p = (char)str_fold((unsigned char)*p);
	return s;
}
