/*
 * str: small string helpers that every protocol parser needs.
 */
#ifndef BUZON_CORE_STR_H
#define BUZON_CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ASCII-only case-insensitive comparisons (protocol keywords are ASCII). */
bool str_eq_nocase(const char *a, const char *b);
bool str_eq_nocase_n(const char *a, size_t alen, const char *b);
bool str_has_prefix_nocase(const char *s, const char *prefix);
/* ASCII case-insensitive substring search over a byte range; NULL if absent. */
const char *str_find_nocase(const char *hay, size_t haylen, const char *needle, size_t nlen);

/* Strict decimal parsing: digits only, no sign, no overflow. 0 on success, -1 otherwise. */
int str_parse_u32(const char *s, size_t len, uint32_t *value_r);
int str_parse_u64(const char *s, size_t len, uint64_t *value_r);

/* Trim ASCII spaces and tabs at both ends, in place; returns s. */
char *str_trim(char *s);
/* Lowercase ASCII letters in place; returns s. */
char *str_lower(char *s);

#endif
