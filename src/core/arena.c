/*
 * arena: a chain of blocks; allocations bump a pointer in the newest block.
 * Large allocations get a block of their own so that a big literal does not
 * waste the rest of a normal block.
 */
#include "core/arena.h"
#include "core/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* Small first block: an idle session's arena should cost little (rule 5). */
#define ARENA_FIRST_BLOCK 1024
#define ARENA_MAX_BLOCK (64 * 1024)
#define ARENA_ALIGN 16

struct arena_block {
	struct arena_block *next;
	size_t size;
	size_t used;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

struct arena {
	struct arena_block *head;
	size_t next_size;
	size_t total;
};

struct arena *arena_new(void)
{
	struct arena *arena = mem_zalloc(sizeof(*arena));

	arena->next_size = ARENA_FIRST_BLOCK;
	return arena;
}

static void arena_free_blocks(struct arena_block *block, struct arena_block *keep)
{
	while (block != NULL && block != keep) {
		struct arena_block *next = block->next;

		free(block);
		block = next;
	}
}

void arena_free(struct arena *arena)
{
	if (arena == NULL)
		return;
	arena_free_blocks(arena->head, NULL);
	free(arena);
}

/* Keep only the oldest block (the small one every arena needs anyway). */
void arena_reset(struct arena *arena)
{
	struct arena_block *last = arena->head;

	if (last == NULL)
		return;
	while (last->next != NULL)
		last = last->next;
	arena_free_blocks(arena->head, last);
	arena->head = last;
	last->used = 0;
	arena->total = last->size;
	arena->next_size = ARENA_FIRST_BLOCK * 2;
}

static struct arena_block *arena_add_block(struct arena *arena, size_t need)
{
	size_t size = arena->next_size;
	struct arena_block *block;

	if (size < need)
		size = need;
	block = mem_alloc(sizeof(*block) + size);
	block->size = size;
	block->used = 0;
	block->next = arena->head;
	arena->head = block;
	arena->total += size;
	if (arena->next_size < ARENA_MAX_BLOCK)
		arena->next_size *= 2;
	return block;
}

void *arena_alloc(struct arena *arena, size_t size)
{
	struct arena_block *block = arena->head;
	size_t aligned = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);

	if (aligned < size)
		mem_panic("arena allocation of %zu bytes overflows", size);
	if (block == NULL || block->size - block->used < aligned) {
		if (aligned > ARENA_MAX_BLOCK / 2) {
			/* A big object: its own block, placed behind the head so
			 * the head's free space stays usable. */
			block = mem_alloc(sizeof(*block) + aligned);
			block->size = aligned;
			block->used = aligned;
			arena->total += aligned;
			if (arena->head == NULL) {
				block->next = NULL;
				arena->head = block;
			} else {
				block->next = arena->head->next;
				arena->head->next = block;
			}
			return block->data;
		}
		block = arena_add_block(arena, aligned);
	}
	void *p = block->data + block->used;
	block->used += aligned;
	return p;
}

void *arena_zalloc(struct arena *arena, size_t size)
{
	void *p = arena_alloc(arena, size);

	memset(p, 0, size);
	return p;
}

char *arena_memdup(struct arena *arena, const void *p, size_t n)
{
	char *s = arena_alloc(arena, n + 1);

	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

char *arena_strndup(struct arena *arena, const char *s, size_t n)
{
	return arena_memdup(arena, s, n);
}

char *arena_strdup(struct arena *arena, const char *s)
{
	return s == NULL ? NULL : arena_memdup(arena, s, strlen(s));
}

char *arena_vprintf(struct arena *arena, const char *fmt, va_list ap)
{
	va_list copy;
	int n;
	char *s;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		mem_panic("arena_vprintf: bad format '%s'", fmt);
	s = arena_alloc(arena, (size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

char *arena_printf(struct arena *arena, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = arena_vprintf(arena, fmt, ap);
	va_end(ap);
	return s;
}

size_t arena_size(const struct arena *arena)
{
	return arena->total + sizeof(*arena);
}
