/*
 * array: typed dynamic arrays, the way Dovecot's ARRAY_TYPE works.
 *
 *   ARRAY(uint32_t) uids = ARRAY_INIT;
 *   array_push(&uids, 42);
 *   for (size_t i = 0; i < uids.count; i++) use(uids.items[i]);
 *   array_free(&uids);
 *
 * Memory comes from the heap (mem_realloc); the owner frees it.
 */
#ifndef BUZON_CORE_ARRAY_H
#define BUZON_CORE_ARRAY_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

#define ARRAY(type) struct { type *items; size_t count, cap; }
#define ARRAY_INIT { NULL, 0, 0 }

/* Grow so that n more elements fit. */
#define array_reserve(arr, n) \
	array_grow_raw((void **)&(arr)->items, &(arr)->cap, (arr)->count + (n), sizeof(*(arr)->items))

#define array_push(arr, value) do { \
		array_reserve((arr), 1); \
		(arr)->items[(arr)->count++] = (value); \
	} while (0)

#define array_clear(arr) ((arr)->count = 0)

#define array_free(arr) do { \
		free((arr)->items); \
		(arr)->items = NULL; \
		(arr)->count = (arr)->cap = 0; \
	} while (0)

/* Remove element i, keeping order. */
#define array_delete(arr, i) do { \
		memmove(&(arr)->items[(i)], &(arr)->items[(i) + 1], \
			((arr)->count - (i) - 1) * sizeof(*(arr)->items)); \
		(arr)->count--; \
	} while (0)

static inline void array_grow_raw(void **items, size_t *cap, size_t need, size_t elem)
{
	size_t n;

	if (need <= *cap)
		return;
	n = *cap ? *cap * 2 : 8;
	while (n < need)
		n *= 2;
	if (n > (size_t)-1 / elem)
		mem_panic("array too large");
	*items = mem_realloc(*items, n * elem);
	*cap = n;
}

#endif
