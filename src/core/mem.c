/*
 * mem: the one place where allocation failure is handled (by aborting).
 */
#include "core/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void mem_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("buzon: panic: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

void *mem_alloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		mem_panic("out of memory allocating %zu bytes", size);
	return p;
}

void *mem_zalloc(size_t size)
{
	void *p = calloc(1, size ? size : 1);

	if (p == NULL)
		mem_panic("out of memory allocating %zu bytes", size);
	return p;
}

void *mem_realloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		mem_panic("out of memory reallocating %zu bytes", size);
	return p;
}

char *mem_strndup(const char *s, size_t n)
{
	char *p = mem_alloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *mem_strdup(const char *s)
{
	return mem_strndup(s, strlen(s));
}
