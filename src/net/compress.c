/*
 * compress: the DEFLATE transport (RFC 4978 COMPRESS=DEFLATE, usable as is
 * by any line protocol), stacked by conn between the protocol's buffers and
 * the TLS or socket transport below (RFC 4978 §3: compress first, then
 * encrypt). Raw deflate in both directions (RFC 1951, no zlib header).
 *
 * Output: every write call deflates the bytes it is given and ends them with
 * Z_SYNC_FLUSH, so each batch conn hands over (the responses of one turn of
 * the pump, at most CONN_WRITE_CHUNK) reaches the client whole and
 * byte-aligned. The compressed bytes wait in `out` until the layer below
 * takes them (output_pending, flush). Once `out` is empty after a sync flush
 * the stream sits on a block boundary, so the deflater is ended and a fresh
 * one started for the next batch: the peer's inflater only sees more
 * non-final blocks, and an idle connection keeps no deflate state at all.
 * The price is that a batch cannot refer back to an earlier batch's bytes.
 *
 * Input: the peer may use any window up to 32 KB, so the inflater must keep
 * a 32 KB window for the life of the connection (windowBits -15). Compressed
 * bytes not yet inflated (more than the caller's buffer could take) wait in
 * `in`; both buffers are released when empty.
 *
 * Memory, counted by the allocator below (conn_memory; zlib 1.3, 64-bit):
 * an idle compressed connection holds the inflater, 7 KB of state plus its
 * 32 KB window once the first command was inflated, and this struct:
 * 40,256 bytes on top of the plain connection (test_compress measures it),
 * i.e. about 40 KB more than the same connection uncompressed, TLS or not.
 * While output is in flight the deflater adds about 102 KB (see
 * COMPRESS_DEFLATE_WBITS).
 *
 * Corrupt input is an error: the read returns TRANSPORT_ERROR and conn
 * closes the connection.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "net/loop.h"
#include "net/transport.h"

/* Our deflater: zlib uses (1 << (wbits + 2)) + (1 << (memLevel + 9)) bytes
 * plus about 6 KB of state. Measured on RFC text sync-flushed every 64 KB
 * (output/input): 15/8 (zlib's default, 262 KB) 27.5%, 15/6 27.6%, 14/6
 * 28.7%, 13/6 30.8%, 12/5 32.9%. The window is what matters; 14/6 costs
 * 102 KB, held only while output is in flight (it is released between
 * batches, see above), so an idle connection pays nothing for it. */
#define COMPRESS_DEFLATE_WBITS 14
#define COMPRESS_DEFLATE_MEMLEVEL 6
/* Level 6 is zlib's default; IMAP output is mostly text. */
#define COMPRESS_DEFLATE_LEVEL 6
/* RFC 4978 §4 (and RFC 1951): the peer may use the full 32 KB window. */
#define COMPRESS_INFLATE_WBITS 15
/* Plaintext deflated per write call: one conn write chunk. */
#define COMPRESS_WRITE_MAX (64 * 1024)
/* Compressed bytes this layer holds before it refuses more input (AGAIN):
 * the layer below sets the pace, so memory stays bounded. */
#define COMPRESS_OUT_HIGH (64 * 1024)
/* Bytes handed to the layer below per write (AGAIN retries use at least as
 * many, as the TLS layer requires, since `out` only grows at its end). */
#define COMPRESS_PUSH_CHUNK (64 * 1024)
/* Compressed bytes read from the layer below per call. */
#define COMPRESS_READ_CHUNK 16384

struct compress_transport {
	struct transport base;
	z_stream inflater;
	z_stream deflater;
	bool deflating;        /* deflater initialised (only while writing) */
	bool inflate_more;     /* the last inflate filled the caller's buffer */
	bool input_end;        /* the peer finished its deflate stream */
	struct buf in;         /* compressed input not yet inflated */
	struct buf out;        /* compressed output not yet taken below */
	size_t zlib_memory;    /* bytes zlib holds now (both streams) */
};

/* ---- zlib allocations, counted for conn_memory -------------------------- */

/* Each block carries its size in front, so the free can count it back. */
#define COMPRESS_ALLOC_HEADER 16

static voidpf compress_zalloc(voidpf opaque, uInt items, uInt size)
{
	struct compress_transport *t = opaque;
	size_t n = (size_t)items * size;
	unsigned char *p = mem_alloc(n + COMPRESS_ALLOC_HEADER);

	memcpy(p, &n, sizeof(n));
	t->zlib_memory += n;
	return p + COMPRESS_ALLOC_HEADER;
}

static void compress_zfree(voidpf opaque, voidpf address)
{
	struct compress_transport *t = opaque;
	unsigned char *p = (unsigned char *)address - COMPRESS_ALLOC_HEADER;
	size_t n;

	memcpy(&n, p, sizeof(n));
	t->zlib_memory -= n;
	free(p);
}

/* ---- input ------------------------------------------------------------------ */

/* Inflate src into data; *used_r tells how much of src was taken. Returns
 * bytes produced (maybe 0), or TRANSPORT_ERROR on corrupt input. */
static ssize_t compress_inflate(struct compress_transport *t, const char *src, size_t src_len,
				size_t *used_r, void *data, size_t len)
{
	size_t room = len > UINT_MAX ? UINT_MAX : len;
	size_t avail = src_len > UINT_MAX ? UINT_MAX : src_len;
	int r;

	t->inflater.next_in = (Bytef *)(uintptr_t)src;
	t->inflater.avail_in = (uInt)avail;
	t->inflater.next_out = data;
	t->inflater.avail_out = (uInt)room;
	r = inflate(&t->inflater, Z_SYNC_FLUSH);
	*used_r = avail - t->inflater.avail_in;
	t->inflate_more = t->inflater.avail_out == 0;
	switch (r) {
	case Z_OK:
	case Z_BUF_ERROR:  /* no progress possible: needs more input */
		break;
	case Z_STREAM_END:
		/* The peer ended its stream. RFC 4978 has no way to restart
		 * one, so whatever follows is ignored and reads end. */
		t->input_end = true;
		t->inflate_more = false;
		*used_r = src_len;
		break;
	default:
		log_debug("compress: corrupt input: %s",
			  t->inflater.msg ? t->inflater.msg : "inflate failed");
		return TRANSPORT_ERROR;
	}
	return (ssize_t)(room - t->inflater.avail_out);
}

/* Inflate from `in` first, then from the layer below through a stack chunk;
 * only what the caller's buffer could not take stays in `in`. */
static ssize_t compress_read(struct transport *base, void *data, size_t len, unsigned *want_r)
{
	struct compress_transport *t = (struct compress_transport *)base;
	char chunk[COMPRESS_READ_CHUNK];
	size_t used;
	ssize_t n;

	if (len == 0)
		return 0;
	if (t->in.len > 0 || t->inflate_more) {
		n = compress_inflate(t, t->in.data, t->in.len, &used, data, len);
		buf_consume(&t->in, used);
		if (t->in.len == 0)
			buf_free(&t->in);
		if (n != 0)
			return n;
		if (t->in.len > 0)
			return TRANSPORT_ERROR;  /* no progress with room and input: zlib bug */
	}
	for (;;) {
		if (t->input_end)
			return 0;
		ssize_t got = base->inner->ops->read(base->inner, chunk, sizeof(chunk), want_r);
		if (got <= 0)
			return got;
		n = compress_inflate(t, chunk, (size_t)got, &used, data, len);
		if (n >= 0 && used < (size_t)got)
			buf_append(&t->in, chunk + used, (size_t)got - used);
		if (n != 0)
			return n;
	}
}

static bool compress_read_pending(const struct transport *base)
{
	const struct compress_transport *t = (const struct compress_transport *)base;

	return (!t->input_end && (t->in.len > 0 || t->inflate_more)) ||
	       base->inner->ops->read_pending(base->inner);
}

/* ---- output ------------------------------------------------------------------ */

static int compress_deflater_start(struct compress_transport *t)
{
	t->deflater.zalloc = compress_zalloc;
	t->deflater.zfree = compress_zfree;
	t->deflater.opaque = t;
	if (deflateInit2(&t->deflater, COMPRESS_DEFLATE_LEVEL, Z_DEFLATED,
			 -COMPRESS_DEFLATE_WBITS, COMPRESS_DEFLATE_MEMLEVEL,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		log_error("compress: cannot start the deflater");
		return -1;
	}
	t->deflating = true;
	return 0;
}

/* After a sync flush was taken below completely the stream is on a byte
 * and block boundary: drop the deflater until the next write. */
static void compress_deflater_end(struct compress_transport *t)
{
	if (!t->deflating)
		return;
	(void)deflateEnd(&t->deflater);
	t->deflating = false;
}

/* Hand `out` to the layer below. 0 when it took everything (the deflater
 * and the buffer are released), else AGAIN (want_r set) or ERROR. */
static ssize_t compress_push(struct compress_transport *t, unsigned *want_r)
{
	struct transport *inner = t->base.inner;

	while (t->out.len > 0) {
		size_t len = t->out.len < COMPRESS_PUSH_CHUNK ? t->out.len : COMPRESS_PUSH_CHUNK;
		ssize_t n = inner->ops->write(inner, t->out.data, len, want_r);
		if (n <= 0)
			return n == 0 ? TRANSPORT_ERROR : n;
		buf_consume(&t->out, (size_t)n);
	}
	buf_free(&t->out);
	compress_deflater_end(t);
	return 0;
}

/* Deflate len bytes into `out`, ending with a sync flush. */
static int compress_deflate(struct compress_transport *t, const void *data, size_t len)
{
	int r;

	if (!t->deflating && compress_deflater_start(t) < 0)
		return -1;
	t->deflater.next_in = (Bytef *)(uintptr_t)data;
	t->deflater.avail_in = (uInt)len;
	do {
		/* deflateBound is for Z_FINISH; a sync flush adds at most an
		 * empty stored block and the bits before it. */
		size_t room = deflateBound(&t->deflater, t->deflater.avail_in) + 16;
		t->deflater.next_out = (Bytef *)buf_reserve(&t->out, room);
		t->deflater.avail_out = (uInt)room;
		r = deflate(&t->deflater, Z_SYNC_FLUSH);
		buf_commit(&t->out, room - t->deflater.avail_out);
		if (r != Z_OK && r != Z_BUF_ERROR) {
			log_error("compress: deflate failed (%d)", r);
			return -1;
		}
	} while (t->deflater.avail_in > 0 || t->deflater.avail_out == 0);
	return 0;
}

static ssize_t compress_write(struct transport *base, const void *data, size_t len,
			      unsigned *want_r)
{
	struct compress_transport *t = (struct compress_transport *)base;
	size_t n = len < COMPRESS_WRITE_MAX ? len : COMPRESS_WRITE_MAX;
	ssize_t r;

	if (t->out.len >= COMPRESS_OUT_HIGH) {
		r = compress_push(t, want_r);
		if (r == TRANSPORT_ERROR)
			return r;
		if (t->out.len >= COMPRESS_OUT_HIGH)
			return TRANSPORT_AGAIN;
	}
	if (n == 0)
		return 0;
	if (compress_deflate(t, data, n) < 0)
		return TRANSPORT_ERROR;
	/* The bytes are ours now; AGAIN below only means they wait in out
	 * (output_pending), ERROR that the connection is gone anyway. */
	if (compress_push(t, want_r) == TRANSPORT_ERROR)
		return TRANSPORT_ERROR;
	return (ssize_t)n;
}

static ssize_t compress_flush(struct transport *base, unsigned *want_r)
{
	struct compress_transport *t = (struct compress_transport *)base;
	struct transport *inner = base->inner;
	ssize_t r = compress_push(t, want_r);

	if (r < 0)
		return r;
	if (inner->ops->flush != NULL)
		return inner->ops->flush(inner, want_r);
	return 0;
}

static size_t compress_output_pending(const struct transport *base)
{
	const struct compress_transport *t = (const struct compress_transport *)base;

	return t->out.len + base->inner->ops->output_pending(base->inner);
}

/* ---- the rest of the vtable ------------------------------------------------ */

/* The deflate stream is never finished (RFC 4978 has no end marker); the
 * layer below says goodbye for both. */
static void compress_shutdown(struct transport *base)
{
	base->inner->ops->shutdown(base->inner);
}

static size_t compress_memory(const struct transport *base)
{
	const struct compress_transport *t = (const struct compress_transport *)base;

	return sizeof(*t) + t->zlib_memory + t->in.cap + t->out.cap +
	       base->inner->ops->memory(base->inner);
}

static void compress_free(struct transport *base)
{
	struct compress_transport *t = (struct compress_transport *)base;

	compress_deflater_end(t);
	(void)inflateEnd(&t->inflater);
	buf_free(&t->in);
	buf_free(&t->out);
	base->inner->ops->free(base->inner);
	free(t);
}

static const struct transport_ops compress_ops = {
	.name = "deflate",
	.read = compress_read,
	.write = compress_write,
	.read_pending = compress_read_pending,
	.output_pending = compress_output_pending,
	.flush = compress_flush,
	.shutdown = compress_shutdown,
	.memory = compress_memory,
	.free = compress_free,
};

struct transport *transport_deflate_new(struct transport *inner, struct buf *input)
{
	struct compress_transport *t = mem_zalloc(sizeof(*t));

	t->base.ops = &compress_ops;
	t->base.inner = inner;
	t->base.fd = inner->fd;
	t->inflater.zalloc = compress_zalloc;
	t->inflater.zfree = compress_zfree;
	t->inflater.opaque = t;
	if (inflateInit2(&t->inflater, -COMPRESS_INFLATE_WBITS) != Z_OK) {
		log_error("compress: cannot start the inflater");
		free(t);
		return NULL;
	}
	if (input != NULL) {
		t->in = *input;
		*input = (struct buf)BUF_INIT;
	}
	return &t->base;
}
