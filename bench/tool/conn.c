/*
 * conn: buzon-bench's event loop and client connections. One epoll set,
 * level-triggered; a connection is a non-blocking socket, optionally under
 * OpenSSL, with an input and an output buffer. The protocol code (imap.c,
 * smtp.c) sees only whole buffers and three callbacks, so it does not care
 * whether TLS is on.
 *
 * Closing from inside a callback is safe: a closed connection is marked,
 * its callbacks stop, and it is freed at the end of the event that closed
 * it.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <netinet/tcp.h>
#include <openssl/err.h>

#include "core/mem.h"

/* Bytes read per read() call; a FETCH of a 100 KB body takes a few. */
#define CONN_READ_BLOCK 16384
/* Events taken from epoll per wait. */
#define CONN_EVENTS 256
/* The epoll data of fd 0 (stdin), which is not a connection. */
#define CONN_STDIN_TAG ((void *)1)

static void conn_free_dead(struct bench_loop *loop);

/* Monotonic nanoseconds: every latency is a difference of two of these. */
uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The loop starts without TLS; scenarios that need it call
 * bench_loop_enable_tls(). */
int bench_loop_init(struct bench_loop *loop)
{
	memset(loop, 0, sizeof(*loop));
	loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epoll_fd < 0)
		return -1;
	loop->now_ns = bench_now_ns();
	loop->tick_ms = 50;
	return 0;
}

void bench_loop_fini(struct bench_loop *loop)
{
	conn_free_dead(loop);
	if (loop->epoll_fd >= 0)
		close(loop->epoll_fd);
	if (loop->ssl_ctx)
		SSL_CTX_free(loop->ssl_ctx);
	loop->epoll_fd = -1;
	loop->ssl_ctx = NULL;
}

/* A benchmark on loopback against servers with self-signed certificates:
 * no verification, TLS 1.2 or later like the servers demand. Session
 * tickets are off so every connection pays a full handshake, as a fresh
 * client would. */
int bench_loop_enable_tls(struct bench_loop *loop)
{
	if (loop->ssl_ctx)
		return 0;
	loop->ssl_ctx = SSL_CTX_new(TLS_client_method());
	if (!loop->ssl_ctx)
		return -1;
	SSL_CTX_set_min_proto_version(loop->ssl_ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(loop->ssl_ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(loop->ssl_ctx, SSL_SESS_CACHE_OFF);
	return 0;
}

/* Set epoll's interest to what the connection waits for now. */
static void conn_watch(struct bench_conn *conn, bool want_write)
{
	struct epoll_event ev = { .events = EPOLLIN | (want_write ? EPOLLOUT : 0),
				  .data.ptr = conn };

	if (conn->want_write == want_write)
		return;
	conn->want_write = want_write;
	if (epoll_ctl(conn->loop->epoll_fd, EPOLL_CTL_MOD, conn->fd, &ev) < 0)
		bench_conn_close(conn, "epoll_ctl failed");
}

struct bench_conn *bench_conn_open(struct bench_loop *loop, const struct sockaddr_in *addr,
				   bool tls, const struct bench_conn_handler *handler,
				   void *context)
{
	struct bench_conn *conn;
	struct epoll_event ev;
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return NULL;
	/* Requests are small and answered before the next: Nagle would add
	 * 40 ms delayed-ACK stalls to pipelined APPEND literals. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
		close(fd);
		return NULL;
	}
	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0 &&
	    errno != EINPROGRESS) {
		int saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	conn = mem_zalloc(sizeof(*conn));
	conn->loop = loop;
	conn->fd = fd;
	conn->connecting = true;
	conn->want_write = true;
	conn->handler = handler;
	conn->context = context;
	if (tls) {
		conn->ssl = SSL_new(loop->ssl_ctx);
		if (!conn->ssl || SSL_set_fd(conn->ssl, fd) != 1) {
			if (conn->ssl)
				SSL_free(conn->ssl);
			close(fd);
			free(conn);
			errno = ENOMEM;
			return NULL;
		}
		SSL_set_connect_state(conn->ssl);
		conn->handshaking = true;
	}
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = conn;
	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int saved = errno;
		if (conn->ssl)
			SSL_free(conn->ssl);
		close(fd);
		free(conn);
		errno = saved;
		return NULL;
	}
	loop->open_conns++;
	return conn;
}

/* Free the connections closed since the last call: only between epoll
 * batches, when no pending event can name them any more. */
static void conn_free_dead(struct bench_loop *loop)
{
	while (loop->dead) {
		struct bench_conn *conn = loop->dead;

		loop->dead = conn->dead_next;
		buf_free(&conn->in);
		buf_free(&conn->out);
		free(conn);
	}
}

void bench_conn_close(struct bench_conn *conn, const char *why)
{
	if (conn->closing)
		return;
	conn->closing = true;
	epoll_ctl(conn->loop->epoll_fd, EPOLL_CTL_DEL, conn->fd, NULL);
	if (conn->ssl) {
		SSL_free(conn->ssl);
		conn->ssl = NULL;
	}
	close(conn->fd);
	conn->loop->open_conns--;
	conn->dead_next = conn->loop->dead;
	conn->loop->dead = conn;
	if (conn->handler->closed)
		conn->handler->closed(conn, why);
}

/* Send what is queued; returns false when the connection was closed. */
static bool conn_flush(struct bench_conn *conn)
{
	while (conn->out.len > 0 && !conn->closing) {
		ssize_t n;

		if (conn->ssl) {
			int r = SSL_write(conn->ssl, conn->out.data, (int)conn->out.len);
			if (r <= 0) {
				int e = SSL_get_error(conn->ssl, r);
				if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
					conn_watch(conn, true);
					return !conn->closing;
				}
				ERR_clear_error();
				bench_conn_close(conn, "TLS write failed");
				return false;
			}
			n = r;
		} else {
			n = send(conn->fd, conn->out.data, conn->out.len, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR) {
					conn_watch(conn, true);
					return !conn->closing;
				}
				bench_conn_close(conn, strerror(errno));
				return false;
			}
		}
		buf_consume(&conn->out, (size_t)n);
	}
	if (!conn->closing)
		conn_watch(conn, false);
	return !conn->closing;
}

void bench_conn_write(struct bench_conn *conn, const void *data, size_t len)
{
	if (conn->closing)
		return;
	buf_append(&conn->out, data, len);
	if (!conn->connecting && !conn->handshaking)
		conn_flush(conn);
}

void bench_conn_printf(struct bench_conn *conn, const char *fmt, ...)
{
	va_list ap;

	if (conn->closing)
		return;
	va_start(ap, fmt);
	buf_vprintf(&conn->out, fmt, ap);
	va_end(ap);
	if (!conn->connecting && !conn->handshaking)
		conn_flush(conn);
}

/* Read what is there; returns false when the connection was closed. */
static bool conn_fill(struct bench_conn *conn)
{
	bool got = false;

	for (;;) {
		char *p = buf_reserve(&conn->in, CONN_READ_BLOCK);
		ssize_t n;

		if (conn->ssl) {
			int r = SSL_read(conn->ssl, p, CONN_READ_BLOCK);
			if (r <= 0) {
				int e = SSL_get_error(conn->ssl, r);
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					break;
				ERR_clear_error();
				bench_conn_close(conn, e == SSL_ERROR_ZERO_RETURN ?
						 "closed by the server" : "TLS read failed");
				return false;
			}
			n = r;
		} else {
			n = recv(conn->fd, p, CONN_READ_BLOCK, 0);
			if (n == 0) {
				bench_conn_close(conn, "closed by the server");
				return false;
			}
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					break;
				bench_conn_close(conn, strerror(errno));
				return false;
			}
		}
		buf_commit(&conn->in, (size_t)n);
		got = true;
		if ((size_t)n < CONN_READ_BLOCK && !conn->ssl)
			break;
	}
	if (got && conn->handler->input)
		conn->handler->input(conn);
	return !conn->closing;
}

/* The TCP connect finished (EPOLLOUT): did it work? */
static bool conn_finish_connect(struct bench_conn *conn)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		bench_conn_close(conn, strerror(err));
		return false;
	}
	conn->connecting = false;
	return true;
}

/* Drive the TLS handshake; true once it is done. */
static bool conn_handshake(struct bench_conn *conn)
{
	int r = SSL_do_handshake(conn->ssl);

	if (r == 1) {
		conn->handshaking = false;
		return true;
	}
	switch (SSL_get_error(conn->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		conn_watch(conn, false);
		return false;
	case SSL_ERROR_WANT_WRITE:
		conn_watch(conn, true);
		return false;
	default:
		ERR_clear_error();
		bench_conn_close(conn, "TLS handshake failed");
		return false;
	}
}

/* One epoll event for a connection. */
static void conn_event(struct bench_conn *conn, uint32_t events)
{
	if (conn->connecting) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (!conn_finish_connect(conn))
			return;
		if (!conn->ssl) {
			conn_watch(conn, conn->out.len > 0);
			conn->handler->connected(conn);
			if (!conn->closing && conn->out.len > 0)
				conn_flush(conn);
			return;
		}
	}
	if (conn->handshaking) {
		if (!conn_handshake(conn))
			return;
		conn_watch(conn, false);
		conn->handler->connected(conn);
		if (!conn->closing && conn->out.len > 0)
			conn_flush(conn);
		/* Bytes may have come in with the last handshake record. */
		if (!conn->closing && SSL_pending(conn->ssl) > 0)
			conn_fill(conn);
		return;
	}
	if ((events & EPOLLOUT) && conn->out.len > 0 && !conn_flush(conn))
		return;
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		if (!conn_fill(conn))
			return;
		/* A TLS write that wanted a read can go now. */
		if (conn->out.len > 0)
			conn_flush(conn);
	}
}

int bench_loop_run(struct bench_loop *loop)
{
	struct epoll_event events[CONN_EVENTS];
	uint64_t next_tick = 0;

	if (loop->stdin_watch) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = CONN_STDIN_TAG };
		if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, 0, &ev) < 0)
			return -1;
	}
	while (!loop->stopping) {
		int timeout = (int)loop->tick_ms;
		int n;

		n = epoll_wait(loop->epoll_fd, events, CONN_EVENTS, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		loop->now_ns = bench_now_ns();
		for (int i = 0; i < n; i++) {
			struct bench_conn *conn = events[i].data.ptr;

			if (events[i].data.ptr == CONN_STDIN_TAG) {
				loop->stdin_ready = true;
				epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, 0, NULL);
				continue;
			}
			/* A closed one stays allocated until the batch is
			 * done, so this test is safe. */
			if (conn->closing)
				continue;
			conn_event(conn, events[i].events);
		}
		if (loop->tick && loop->now_ns >= next_tick) {
			next_tick = loop->now_ns + (uint64_t)loop->tick_ms * 1000000u;
			loop->tick(loop, loop->tick_context);
		}
		conn_free_dead(loop);
	}
	conn_free_dead(loop);
	return 0;
}
