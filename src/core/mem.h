/*
 * mem: allocation that never returns NULL.
 *
 * Running out of memory is not something a mail session can recover from in
 * a useful way, so, as Postfix's mymalloc does, every allocation that fails
 * aborts here, in one place, instead of returning NULL to a hundred callers.
 */
#ifndef BUZON_CORE_MEM_H
#define BUZON_CORE_MEM_H

#include <stddef.h>

/* malloc/calloc/realloc/strdup that abort on failure. */
void *mem_alloc(size_t size);
void *mem_zalloc(size_t size);
void *mem_realloc(void *ptr, size_t size);
char *mem_strdup(const char *s);
char *mem_strndup(const char *s, size_t n);

/* Abort with a message: for our own bugs (a broken invariant), never for input. */
_Noreturn void mem_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
