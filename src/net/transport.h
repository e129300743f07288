/*
 * transport: the byte pipe under a conn, internal to src/net/.
 *
 * A conn reads and writes through a small vtable, never the socket itself,
 * so layers stack without protocol code noticing: today a plain socket or
 * TLS over the socket, and COMPRESS=DEFLATE (RFC 4978, compress.c) as a
 * transport whose `inner` is the TLS (or socket) transport. A layer that
 * buffers output of its own (deflate) reports it through output_pending so
 * conn keeps asking for LOOP_WRITE, and calls flush, until it is gone.
 *
 * Return values of read and write: > 0 bytes moved; 0 (read only) orderly end
 * of stream; TRANSPORT_AGAIN with *want_r set to the loop event (LOOP_READ or
 * LOOP_WRITE) that will let the call progress; TRANSPORT_ERROR otherwise.
 */
#ifndef BUZON_NET_TRANSPORT_H
#define BUZON_NET_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "net/tls.h"

struct buf;

#define TRANSPORT_AGAIN ((ssize_t)-1)
#define TRANSPORT_ERROR ((ssize_t)-2)

struct transport;

struct transport_ops {
	const char *name;
	ssize_t (*read)(struct transport *t, void *data, size_t len, unsigned *want_r);
	/* A write that returned AGAIN must be retried with the same bytes
	 * (at least as many), as OpenSSL requires. */
	ssize_t (*write)(struct transport *t, const void *data, size_t len, unsigned *want_r);
	/* Bytes readable without waiting for the socket (decrypted TLS
	 * records already in memory): epoll will not report them. */
	bool (*read_pending)(const struct transport *t);
	/* Bytes this layer (and those below) hold back from the socket. */
	size_t (*output_pending)(const struct transport *t);
	/* Push held output down: 0 when none is left, else AGAIN (*want_r
	 * set) or ERROR. NULL for layers that never hold output. */
	ssize_t (*flush)(struct transport *t, unsigned *want_r);
	/* Best effort goodbye (TLS close_notify); never blocks. */
	void (*shutdown)(struct transport *t);
	/* Bytes of memory held, for conn_memory. */
	size_t (*memory)(const struct transport *t);
	/* Free this layer and every layer under it; the fd stays open. */
	void (*free)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;
	struct transport *inner;  /* the layer below, NULL at the socket */
	int fd;
};

/* A plain non-blocking socket (conn.c). */
struct transport *transport_socket_new(int fd);
/* TLS server side over fd, handshake done lazily by the first read or write
 * (tls.c). Replaces the socket transport on STARTTLS. */
struct transport *transport_tls_new(struct tls_server *tls, int fd);
/* Whether the TLS transport finished its handshake (tls.c). */
bool transport_tls_established(const struct transport *t);
/* Channel binding data of an established TLS transport (see
 * conn_tls_channel_binding). */
int transport_tls_channel_binding(const struct transport *t, const char *type,
				  unsigned char *out, size_t max, size_t *len_r);
/* RFC 4978 DEFLATE over inner (compress.c): writes are deflated and sync
 * flushed, reads inflated. input (may be NULL) holds compressed bytes that
 * were already read from inner; they are taken over, input is left empty.
 * NULL if zlib cannot start. Freeing it frees inner. */
struct transport *transport_deflate_new(struct transport *inner, struct buf *input);

#endif
