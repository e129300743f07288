/*
 * sqlite-keywords: keyword (user flag) lists as the store keeps them, one
 * space-separated string per message. STORE +FLAGS / -FLAGS / FLAGS
 * (RFC 9051 §6.4.6) are set arithmetic over these lists; flag names compare
 * case-insensitively (RFC 9051 §2.3.2) and the first spelling seen is kept.
 * Nothing here is SQLite-specific: a second back end can share it.
 */
#include "store/sqlite/sqlite-private.h"

#include <string.h>

#include "core/buf.h"
#include "core/str.h"

/* The next space-separated word of *s (advancing *s), or false at the end. */
static bool sqlite_keywords_next(const char **s, const char **word_r, size_t *len_r)
{
	const char *p = *s;

	if (p == NULL)
		return false;
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return false;
	*word_r = p;
	while (*p != ' ' && *p != '\0')
		p++;
	*len_r = (size_t)(p - *word_r);
	*s = p;
	return true;
}

/* Whether list (space-separated, may be NULL) holds word[0..len). */
static bool sqlite_keywords_has(const char *list, const char *word, size_t len)
{
	const char *w;
	size_t n;

	while (sqlite_keywords_next(&list, &w, &n)) {
		if (n == len && str_find_nocase(w, n, word, len) == w)
			return true;
	}
	return false;
}

static void sqlite_keywords_add(struct buf *out, const char *word, size_t len)
{
	if (sqlite_keywords_has(out->data, word, len))
		return;
	if (out->len > 0)
		buf_append_char(out, ' ');
	buf_append(out, word, len);
}

char *sqlite_keywords_apply(struct arena *arena, const char *current, enum store_flags_op op,
			    const char *arg)
{
	struct buf out = BUF_INIT;
	const char *s, *w;
	size_t n;
	char *result = NULL;

	if (op != STORE_FLAGS_REPLACE) {
		for (s = current; sqlite_keywords_next(&s, &w, &n);) {
			if (op == STORE_FLAGS_ADD || !sqlite_keywords_has(arg, w, n))
				sqlite_keywords_add(&out, w, n);
		}
	}
	if (op != STORE_FLAGS_REMOVE) {
		for (s = arg; sqlite_keywords_next(&s, &w, &n);)
			sqlite_keywords_add(&out, w, n);
	}
	if (out.len > 0)
		result = arena_strndup(arena, out.data, out.len);
	buf_free(&out);
	return result;
}

/* Every word of a is in b. */
static bool sqlite_keywords_subset(const char *a, const char *b)
{
	const char *w;
	size_t n;

	while (sqlite_keywords_next(&a, &w, &n)) {
		if (!sqlite_keywords_has(b, w, n))
			return false;
	}
	return true;
}

bool sqlite_keywords_equal(const char *a, const char *b)
{
	return sqlite_keywords_subset(a, b) && sqlite_keywords_subset(b, a);
}
