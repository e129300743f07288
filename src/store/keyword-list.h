/*
 * keyword-list: keyword (user flag) lists as every back end keeps them, one
 * space-separated string per message, and the set arithmetic STORE needs
 * (RFC 9051 §6.4.6). Private to store/.
 */
#ifndef BUZON_STORE_KEYWORD_LIST_H
#define BUZON_STORE_KEYWORD_LIST_H

#include <stdbool.h>

#include "core/arena.h"
#include "store/store.h"

/* Apply op with the space-separated keywords arg to the list current
 * (either may be NULL); NULL when the result is empty. Keywords compare
 * case-insensitively (RFC 9051 §2.3.2); the first spelling is kept. */
char *keyword_list_apply(struct arena *arena, const char *current, enum store_flags_op op,
			 const char *arg);
/* Same keyword set, ignoring order and case. */
bool keyword_list_equal(const char *a, const char *b);

#endif
