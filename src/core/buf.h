/*
 * buf: a growable byte buffer, used for building strings and as the input and
 * output queues of connections.
 *
 * The contents are always NUL-terminated (one spare byte past len), so text
 * can be handed to C string functions; binary data may contain NULs. Bytes are
 * consumed from the front with buf_consume(), which is cheap: the start moves,
 * and the buffer compacts itself only when that pays.
 */
#ifndef BUZON_CORE_BUF_H
#define BUZON_CORE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;   /* first unconsumed byte */
	size_t len;   /* bytes from data */
	char *base;   /* the allocation */
	size_t cap;   /* bytes allocated at base */
};

#define BUF_INIT { NULL, 0, NULL, 0 }

/* Make room for at least n more bytes; returns where they go (data + len). */
char *buf_reserve(struct buf *b, size_t n);
/* Mark n bytes written at buf_reserve()'s pointer as part of the buffer. */
void buf_commit(struct buf *b, size_t n);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_append_str(struct buf *b, const char *s);
void buf_append_char(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Drop n bytes from the front. */
void buf_consume(struct buf *b, size_t n);
/* Empty the buffer, keeping its memory. */
void buf_clear(struct buf *b);
/* Release the memory (an idle connection keeps none). The buffer stays usable. */
void buf_free(struct buf *b);
/* Take ownership of the contents as a malloc'd NUL-terminated string. */
char *buf_steal(struct buf *b);

#endif
