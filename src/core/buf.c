/*
 * buf: see buf.h. Growth doubles; consumption moves the start pointer and
 * compacts when more than half the allocation is dead space in front.
 */
#include "core/buf.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MIN_CAP 256

char *buf_reserve(struct buf *b, size_t n)
{
	size_t front = b->base ? (size_t)(b->data - b->base) : 0;
	size_t need = b->len + n + 1;

	if (need < n)
		mem_panic("buf_reserve: size overflow");
	if (front + need <= b->cap)
		return b->data + b->len;
	if (need <= b->cap && front > 0) {
		memmove(b->base, b->data, b->len);
		b->data = b->base;
		b->data[b->len] = '\0';
		return b->data + b->len;
	}
	size_t cap = b->cap ? b->cap : BUF_MIN_CAP;
	while (cap < need)
		cap *= 2;
	if (front > 0) {
		memmove(b->base, b->data, b->len);
		b->data = b->base;
	}
	b->base = mem_realloc(b->base, cap);
	b->data = b->base;
	b->cap = cap;
	return b->data + b->len;
}

void buf_commit(struct buf *b, size_t n)
{
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_append(struct buf *b, const void *p, size_t n)
{
	char *dst = buf_reserve(b, n);

	if (n > 0)
		memcpy(dst, p, n);
	buf_commit(b, n);
}

void buf_append_str(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void buf_append_char(struct buf *b, char c)
{
	buf_append(b, &c, 1);
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list copy;
	int n;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		mem_panic("buf_printf: bad format '%s'", fmt);
	char *dst = buf_reserve(b, (size_t)n);
	vsnprintf(dst, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_clear(b);
		return;
	}
	b->data += n;
	b->len -= n;
}

void buf_clear(struct buf *b)
{
	b->data = b->base;
	b->len = 0;
	if (b->base != NULL)
		b->base[0] = '\0';
}

void buf_free(struct buf *b)
{
	free(b->base);
	b->base = b->data = NULL;
	b->len = b->cap = 0;
}

char *buf_steal(struct buf *b)
{
	char *s;

	if (b->base == NULL)
		return mem_strdup("");
	if (b->data != b->base)
		memmove(b->base, b->data, b->len + 1);
	s = b->base;
	b->base = b->data = NULL;
	b->len = b->cap = 0;
	return s;
}
