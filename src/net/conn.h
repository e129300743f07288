/*
 * conn: one client connection on a loop: a non-blocking socket, optionally
 * wrapped in TLS, with an input and an output buffer. Protocol code reads
 * from conn_input() and writes with conn_write(); it never touches the
 * socket, so TLS and COMPRESS are invisible to it.
 *
 * Backpressure: conn_output_pending() tells how much is queued; protocol
 * code that produces a lot (a big FETCH) stops above a high-water mark and
 * continues from on_drained. Idle connections hold no buffer memory: empty
 * buffers are released.
 */
#ifndef BUZON_NET_CONN_H
#define BUZON_NET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "net/loop.h"
#include "net/tls.h"

struct conn;

struct conn_handler {
	/* New bytes are in conn_input(). Called again only when more arrive
	 * (or after conn_resume_input when bytes are buffered). */
	void (*on_input)(struct conn *conn, void *context);
	/* The output queue has been written out completely. May be NULL. */
	void (*on_drained)(struct conn *conn, void *context);
	/* The connection is gone (peer closed, error, timeout or conn_close
	 * finished). The conn is freed right after this returns. */
	void (*on_close)(struct conn *conn, void *context);
};

/* Take over an accepted socket. tls non-NULL = implicit TLS (port 993). */
struct conn *conn_new(struct loop *loop, int fd, struct tls_server *tls,
		      const struct conn_handler *handler, void *context);

struct buf *conn_input(struct conn *conn);
void conn_write(struct conn *conn, const void *data, size_t len);
void conn_write_str(struct conn *conn, const char *s);
void conn_printf(struct conn *conn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t conn_output_pending(const struct conn *conn);

/* Stop / restart calling on_input (a command is running, or output is
 * backed up). Resuming calls on_input soon if input is buffered. */
void conn_pause_input(struct conn *conn);
void conn_resume_input(struct conn *conn);

/* STARTTLS: start the TLS handshake after the queued output (the OK) is
 * sent. Fails (-1) if the client sent bytes after the command: those were
 * not encrypted and must not be trusted (RFC 3207 §4, CVE-2011-0411). */
int conn_start_tls(struct conn *conn, struct tls_server *tls);
bool conn_is_tls(const struct conn *conn);
/* Channel binding data of the connection's TLS session for type
 * "tls-exporter" (RFC 9266) or "tls-server-end-point" (RFC 5929), for SASL
 * -PLUS mechanisms: up to max bytes into out. -1 when the connection has no
 * finished TLS session or the type is not available on it. */
int conn_tls_channel_binding(const struct conn *conn, const char *type, unsigned char *out,
			     size_t max, size_t *len_r);

/* COMPRESS=DEFLATE (RFC 4978 §3), like STARTTLS: call it with the OK
 * queued; everything written after that OK is deflated, and input is
 * inflated from the first byte after the command, including bytes the
 * protocol has read but not consumed (conn_input is emptied: they are
 * handed back inflated). Fails (-1) if compression is already on (or TLS
 * is starting); the protocol then answers NO [COMPRESSIONACTIVE]. */
int conn_start_compress(struct conn *conn);
bool conn_is_compressed(const struct conn *conn);

/* The peer's numeric address ("127.0.0.1", "::1") and whether it is a
 * loopback address (where plaintext logins are allowed, rule 8). */
const char *conn_peer_address(const struct conn *conn);
bool conn_is_loopback(const struct conn *conn);
struct loop *conn_loop(const struct conn *conn);

/* Close after the output queue is flushed (bounded wait); on_close follows. */
void conn_close(struct conn *conn);
/* Close after ms without input (0 = never). RFC 9051 §5.4: at least 30 min
 * for an authenticated client. */
void conn_set_idle_timeout(struct conn *conn, uint64_t ms);
/* Bytes this connection holds now (buffers, TLS state) for accounting. */
size_t conn_memory(const struct conn *conn);

#endif
