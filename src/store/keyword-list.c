/*
 * keyword-list: keyword (user flag) lists as the store keeps them, one
 * space-separated string per message. STORE +FLAGS / -FLAGS / FLAGS
 * (RFC 9051 §6.4.6) are set arithmetic over these lists; flag names compare
 * case-insensitively (RFC 9051 §2.3.2) and the first spelling seen is kept.
 * Nothing here is back-end specific: sqlite/ and pg/ both use it.
 */
#include "store/keyword-list.h"

#include <string.h>

#include "core/buf.h"
#include "core/str.h"

/* The next space-separated word of *s (advancing *s), or false at the end. */
static bool keyword_list_next(const char **s, const char **word_r, size_t *len_r)
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
static bool keyword_list_has(const char *list, const char *word, size_t len)
{
	const char *w;
	size_t n;

	while (keyword_list_next(&list, &w, &n)) {
		if (n == len && str_find_nocase(w, n, word, len) == w)
			return true;
	}
	return false;
}

static void keyword_list_add(struct buf *out, const char *word, size_t len)
{
	if (keyword_list_has(out->data, word, len))
		return;
	if (out->len > 0)
		buf_append_char(out, ' ');
	buf_append(out, word, len);
}

/* Set arithmetic in one pass over each list; the result keeps current's
 * order, then arg's new words. */
char *keyword_list_apply(struct arena *arena, const char *current, enum store_flags_op op,
			 const char *arg)
{
	struct buf out = BUF_INIT;
	const char *s, *w;
	size_t n;
	char *result = NULL;

	if (op != STORE_FLAGS_REPLACE) {
		for (s = current; keyword_list_next(&s, &w, &n);) {
			if (op == STORE_FLAGS_ADD || !keyword_list_has(arg, w, n))
				keyword_list_add(&out, w, n);
		}
	}
	if (op != STORE_FLAGS_REMOVE) {
		for (s = arg; keyword_list_next(&s, &w, &n);)
			keyword_list_add(&out, w, n);
	}
	if (out.len > 0)
		result = arena_strndup(arena, out.data, out.len);
	buf_free(&out);
	return result;
}

/* Every word of a is in b. */
static bool keyword_list_subset(const char *a, const char *b)
{
	const char *w;
	size_t n;

	while (keyword_list_next(&a, &w, &n)) {
		if (!keyword_list_has(b, w, n))
			return false;
	}
	return true;
}

/* Both ways a subset: the same set, whatever the order and case. */
bool keyword_list_equal(const char *a, const char *b)
{
	return keyword_list_subset(a, b) && keyword_list_subset(b, a);
}
