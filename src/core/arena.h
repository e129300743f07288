/*
 * arena: allocate by lifetime.
 *
 * A session owns an arena for what lives as long as the connection, and a
 * command arena that is reset after each tagged reply. Nothing allocated from
 * an arena is freed one by one: the arena is reset or freed whole, so protocol
 * code never pairs mallocs with frees. Not thread-safe: an arena belongs to
 * the thread of its owner.
 */
#ifndef BUZON_CORE_ARENA_H
#define BUZON_CORE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena;

/* A new, empty arena. */
struct arena *arena_new(void);
/* Free the arena and everything allocated from it. NULL is allowed. */
void arena_free(struct arena *arena);
/* Drop everything allocated so far but keep the first block for reuse. */
void arena_reset(struct arena *arena);

/* size bytes, aligned for any type, uninitialised / zeroed. */
void *arena_alloc(struct arena *arena, size_t size);
void *arena_zalloc(struct arena *arena, size_t size);
/* NUL-terminated copies. */
char *arena_strdup(struct arena *arena, const char *s);
char *arena_strndup(struct arena *arena, const char *s, size_t n);
char *arena_memdup(struct arena *arena, const void *p, size_t n);
char *arena_printf(struct arena *arena, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *arena, const char *fmt, va_list ap);
/* Bytes currently held by the arena's blocks (for memory accounting). */
size_t arena_size(const struct arena *arena);

#endif
