/*
 * conn: see conn.h. The Redis networking.c of buzon: everything about moving
 * a client's bytes, nothing about what they mean.
 *
 * One pump, conn_run(), does the work whenever the fd is ready or a "soon"
 * timer fires: write out what is queued, read what arrived (at most
 * CONN_READ_BUDGET per turn, so one fast client cannot starve the loop), hand
 * new input to on_input, then settle: register exactly the loop events still
 * needed, or finish the connection.
 *
 * Reentrancy: on_close is only ever called from conn's own loop callbacks
 * (fd events, timers), never from inside a conn_* function a protocol calls.
 * So protocol code may call conn_close() anywhere, keep using the conn until
 * its callback returns, and see on_close exactly once, after which the conn
 * is freed and every timer it owned is cancelled.
 *
 * Memory: the socket is read through a stack chunk, so an idle connection's
 * input buffer is freed when it empties, and the output buffer when it
 * drains; what is left is this struct and the transport (TLS with
 * SSL_MODE_RELEASE_BUFFERS; DEFLATE keeps its inflater, see compress.c).
 *
 * COMPRESS (RFC 4978) mirrors STARTTLS: conn_start_compress is called with
 * the OK queued; reading stops, the input the protocol has not consumed
 * yet (already compressed, pipelined by the client) is set aside, and once
 * the OK has left the deflate transport is stacked over the current one
 * and inflates those bytes first.
 */
#include "net/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "net/transport.h"

/* Bytes read per system call: one TLS record's worth of plaintext (16 KB,
 * RFC 8446 §5.1), so one SSL_read returns a whole record. */
#define CONN_READ_CHUNK 16384
/* Bytes read per wake-up before other connections get their turn. */
#define CONN_READ_BUDGET (64 * 1024)
/* Bytes handed to one write or SSL_write; AGAIN retries use at least as many
 * (the buffer only grows at its end), as OpenSSL demands. */
#define CONN_WRITE_CHUNK (64 * 1024)
/* Bytes written per wake-up; more waits for the next turn of the loop. */
#define CONN_WRITE_BUDGET (256 * 1024)
/* conn_close waits at most this long for the peer to take queued output. */
#define CONN_CLOSE_FLUSH_MS 5000
/* A buffer that grew past this (a big literal) is shrunk once mostly empty,
 * so a connection does not keep its peak size for the rest of its life. */
#define CONN_BUF_KEEP (64 * 1024)

struct conn {
	struct loop *loop;
	int fd;
	struct transport *transport;
	struct conn_handler handler;
	void *context;
	struct buf in;
	struct buf out;
	unsigned registered;      /* loop events asked for now */
	unsigned read_want;       /* event the last read waited for (0: LOOP_READ) */
	unsigned write_want;      /* event the last write waited for (0: LOOP_WRITE) */
	struct tls_server *starttls;  /* handshake begins once out drains */
	struct buf compress_input;    /* compressed bytes read before the switch */
	struct loop_timer *soon_timer;
	struct loop_timer *idle_timer;
	struct loop_timer *close_timer;
	uint64_t idle_ms;
	uint64_t last_activity;
	bool tls;
	bool compress_pending;    /* COMPRESS: deflate starts once out drains */
	bool compressed;          /* the deflate transport is on top */
	bool loopback;
	bool paused;
	bool input_new;           /* bytes arrived since on_input last ran */
	bool peer_eof;
	bool closing;             /* conn_close: flush, then finish */
	bool dead;                /* error or timeout: finish now */
	bool finished;            /* on_close called; the conn is going away */
	bool in_run;              /* inside conn_run: settle will sync events */
	char peer[INET6_ADDRSTRLEN];
};

static void conn_run(struct conn *conn);
static void conn_schedule_soon(struct conn *conn);
static void conn_on_close_deadline(struct loop *loop, void *context);

/* ---- the plain socket transport ---------------------------------------- */

static ssize_t socket_read(struct transport *t, void *data, size_t len, unsigned *want_r)
{
	for (;;) {
		ssize_t n = read(t->fd, data, len);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			*want_r = LOOP_READ;
			return TRANSPORT_AGAIN;
		}
		if (errno != ECONNRESET)
			log_debug("conn: read: %m");
		return TRANSPORT_ERROR;
	}
}

/* send(MSG_NOSIGNAL): a peer that went away must not kill us with SIGPIPE. */
static ssize_t socket_write(struct transport *t, const void *data, size_t len, unsigned *want_r)
{
	for (;;) {
		ssize_t n = send(t->fd, data, len, MSG_NOSIGNAL);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			*want_r = LOOP_WRITE;
			return TRANSPORT_AGAIN;
		}
		if (errno != EPIPE && errno != ECONNRESET)
			log_debug("conn: send: %m");
		return TRANSPORT_ERROR;
	}
}

static bool socket_read_pending(const struct transport *t)
{
	return false;
}

static size_t socket_output_pending(const struct transport *t)
{
	return 0;
}

static void socket_shutdown(struct transport *t)
{
}

static size_t socket_memory(const struct transport *t)
{
	return sizeof(*t);
}

static void socket_free(struct transport *t)
{
	free(t);
}

static const struct transport_ops socket_ops = {
	.name = "socket",
	.read = socket_read,
	.write = socket_write,
	.read_pending = socket_read_pending,
	.output_pending = socket_output_pending,
	.shutdown = socket_shutdown,
	.memory = socket_memory,
	.free = socket_free,
};

struct transport *transport_socket_new(int fd)
{
	struct transport *t = mem_zalloc(sizeof(*t));

	t->ops = &socket_ops;
	t->fd = fd;
	return t;
}

/* ---- peer address -------------------------------------------------------- */

/* Record the peer's numeric address and whether it is loopback (rule 8:
 * plaintext logins are allowed there). A v4-mapped v6 address is shown as
 * plain IPv4, so logs (and fail2ban) see one form per client. */
static void conn_peer_init(struct conn *conn)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	strcpy(conn->peer, "unknown");
	if (getpeername(conn->fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &sin->sin_addr, conn->peer, sizeof(conn->peer));
		conn->loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
		const uint8_t *b = sin6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			inet_ntop(AF_INET, b + 12, conn->peer, sizeof(conn->peer));
			conn->loopback = b[12] == 127;
		} else {
			inet_ntop(AF_INET6, &sin6->sin6_addr, conn->peer, sizeof(conn->peer));
			conn->loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
		}
	} else if (ss.ss_family == AF_UNIX) {
		strcpy(conn->peer, "unix");
		conn->loopback = true;
	}
}

/* ---- lifetime --------------------------------------------------------- */

static void conn_on_fd(struct loop *loop, int fd, unsigned events, void *context)
{
	conn_run(context);
}

struct conn *conn_new(struct loop *loop, int fd, struct tls_server *tls,
		      const struct conn_handler *handler, void *context)
{
	struct conn *conn = mem_zalloc(sizeof(*conn));

	conn->loop = loop;
	conn->fd = fd;
	conn->handler = *handler;
	conn->context = context;
	conn->tls = tls != NULL;
	conn->transport = tls ? transport_tls_new(tls, fd) : NULL;
	conn->last_activity = loop_now_ms(loop);
	conn_peer_init(conn);
	if (conn->transport == NULL && tls != NULL) {
		conn->dead = true;  /* logged by tls.c */
	} else if (loop_fd_add(loop, fd, LOOP_READ, conn_on_fd, conn) < 0) {
		log_error("conn: cannot watch connection from %s: %m", conn->peer);
		conn->dead = true;
	} else {
		conn->registered = LOOP_READ;
	}
	if (conn->transport == NULL)
		conn->transport = transport_socket_new(fd);
	/* Never NULL: a conn that could not start reports on_close soon, the
	 * same way as one whose peer left at once. */
	if (conn->dead)
		conn_schedule_soon(conn);
	return conn;
}

static void conn_timer_cancel(struct conn *conn, struct loop_timer **timer)
{
	if (*timer != NULL)
		loop_timer_cancel(conn->loop, *timer);
	*timer = NULL;
}

/* Call on_close once and free the conn. Only reached from conn's own loop
 * callbacks, so no protocol code is on the stack above us. */
static void conn_finish(struct conn *conn)
{
	if (conn->finished)
		return;
	conn->finished = true;
	conn_timer_cancel(conn, &conn->soon_timer);
	conn_timer_cancel(conn, &conn->idle_timer);
	conn_timer_cancel(conn, &conn->close_timer);
	loop_fd_remove(conn->loop, conn->fd);
	if (conn->handler.on_close != NULL)
		conn->handler.on_close(conn, conn->context);
	/* on_close may have called conn functions; all are inert now, but a
	 * timer they might have armed must not outlive us. */
	conn_timer_cancel(conn, &conn->soon_timer);
	conn_timer_cancel(conn, &conn->idle_timer);
	conn_timer_cancel(conn, &conn->close_timer);
	conn->transport->ops->free(conn->transport);
	close(conn->fd);
	buf_free(&conn->in);
	buf_free(&conn->out);
	buf_free(&conn->compress_input);
	free(conn);
}

static void conn_on_soon(struct loop *loop, void *context)
{
	struct conn *conn = context;

	conn->soon_timer = NULL;
	conn_run(conn);
}

/* Run the pump on the next loop iteration (resume with buffered input,
 * decrypted TLS bytes that epoll cannot see, a close to finish): a zero
 * timer instead of recursion keeps the protocol's stack out of it. */
static void conn_schedule_soon(struct conn *conn)
{
	if (conn->soon_timer == NULL && !conn->finished)
		conn->soon_timer = loop_timer_add(conn->loop, 0, conn_on_soon, conn);
}

/* ---- events ------------------------------------------------------------ */

static bool conn_can_read(const struct conn *conn)
{
	return !conn->paused && !conn->closing && !conn->peer_eof && !conn->dead &&
	       !conn->finished && conn->starttls == NULL && !conn->compress_pending;
}

/* Ask the loop for exactly the events that can make progress: reading when
 * input is wanted, writing only while output is queued (level-triggered
 * epoll would otherwise wake us for every writable moment). TLS may need the
 * opposite event (a write waiting for the handshake to read). Called only
 * when a turn of the pump settles, so a command that pauses input, writes
 * its answer and resumes costs no epoll_ctl at all. */
static void conn_update_events(struct conn *conn)
{
	unsigned events = 0;

	if (conn->finished || conn->dead)
		return;
	if (conn_can_read(conn))
		events |= conn->read_want ? conn->read_want : LOOP_READ;
	if (conn_output_pending(conn) > 0)
		events |= conn->write_want ? conn->write_want : LOOP_WRITE;
	if (events == conn->registered)
		return;
	if (loop_fd_modify(conn->loop, conn->fd, events) < 0) {
		log_error("conn: epoll for %s: %m", conn->peer);
		conn->dead = true;
		conn_schedule_soon(conn);
		return;
	}
	conn->registered = events;
}

/* Give back the memory of a buffer that is empty, or mostly empty after
 * having been large. */
static void conn_buf_trim(struct buf *b)
{
	if (b->len == 0) {
		buf_free(b);
	} else if (b->cap > CONN_BUF_KEEP && b->len < b->cap / 4) {
		struct buf smaller = BUF_INIT;
		buf_append(&smaller, b->data, b->len);
		buf_free(b);
		*b = smaller;
	}
}

/* ---- the pump ------------------------------------------------------------ */

/* The STARTTLS switch, once the plaintext OK has left: from here on every
 * byte read is TLS. */
static void conn_switch_to_tls(struct conn *conn)
{
	struct transport *t = transport_tls_new(conn->starttls, conn->fd);

	conn->starttls = NULL;
	if (t == NULL) {
		conn->dead = true;
		return;
	}
	conn->transport->ops->free(conn->transport);
	conn->transport = t;
	conn->tls = true;
	conn->read_want = conn->write_want = 0;
}

/* The COMPRESS switch, once the uncompressed OK has left: the deflate
 * layer goes on top and first inflates the bytes set aside, which epoll
 * will never report, hence the pump soon. */
static void conn_switch_to_compress(struct conn *conn)
{
	struct transport *t = transport_deflate_new(conn->transport, &conn->compress_input);

	conn->compress_pending = false;
	if (t == NULL) {
		conn->dead = true;
		return;
	}
	conn->transport = t;
	conn->compressed = true;
	conn_schedule_soon(conn);
}

static void conn_output_drained(struct conn *conn)
{
	buf_free(&conn->out);
	if (conn->starttls != NULL && !conn->closing)
		conn_switch_to_tls(conn);
	if (conn->compress_pending && !conn->closing)
		conn_switch_to_compress(conn);
	if (!conn->closing && !conn->dead && conn->handler.on_drained != NULL)
		conn->handler.on_drained(conn, conn->context);
}

static void conn_flush_transport(struct conn *conn)
{
	unsigned want = LOOP_WRITE;
	ssize_t n = conn->transport->ops->flush != NULL ?
		    conn->transport->ops->flush(conn->transport, &want) : 0;

	if (n == TRANSPORT_AGAIN)
		conn->write_want = want;
	else if (n < 0)
		conn->dead = true;
	else
		conn->write_want = 0;
}

static void conn_pump_output(struct conn *conn)
{
	size_t total = 0;

	while (conn->out.len > 0 && total < CONN_WRITE_BUDGET && !conn->dead) {
		size_t len = conn->out.len < CONN_WRITE_CHUNK ? conn->out.len : CONN_WRITE_CHUNK;
		unsigned want = LOOP_WRITE;
		ssize_t n = conn->transport->ops->write(conn->transport, conn->out.data, len, &want);
		if (n > 0) {
			buf_consume(&conn->out, (size_t)n);
			total += (size_t)n;
			conn->write_want = 0;
		} else if (n == TRANSPORT_AGAIN) {
			conn->write_want = want;
			break;
		} else {
			conn->dead = true;
		}
	}
	/* A layer that holds output of its own (deflate) gets it out once
	 * our queue is empty. */
	if (conn->out.len == 0 && !conn->dead &&
	    conn->transport->ops->output_pending(conn->transport) > 0) {
		conn_flush_transport(conn);
		total++;  /* progress or not, see whether it drained */
	}
	if (total == 0)
		return;
	conn->last_activity = loop_now_ms(conn->loop);
	if (conn_output_pending(conn) == 0 && !conn->dead)
		conn_output_drained(conn);
	else
		conn_buf_trim(&conn->out);
}

static void conn_pump_input(struct conn *conn)
{
	char chunk[CONN_READ_CHUNK];
	size_t total = 0;

	while (conn_can_read(conn) && total < CONN_READ_BUDGET) {
		unsigned want = LOOP_READ;
		ssize_t n = conn->transport->ops->read(conn->transport, chunk, sizeof(chunk), &want);
		if (n > 0) {
			buf_append(&conn->in, chunk, (size_t)n);
			total += (size_t)n;
			conn->read_want = 0;
			conn->input_new = true;
		} else if (n == TRANSPORT_AGAIN) {
			conn->read_want = want;
			break;
		} else if (n == 0) {
			conn->peer_eof = true;
		} else {
			conn->dead = true;
		}
	}
	if (total == 0)
		return;
	conn->last_activity = loop_now_ms(conn->loop);
	if (total >= CONN_READ_BUDGET && conn->transport->ops->read_pending(conn->transport))
		conn_schedule_soon(conn);
}

static void conn_deliver_input(struct conn *conn)
{
	if (conn->input_new && conn->in.len > 0 && !conn->paused && !conn->closing &&
	    !conn->dead) {
		conn->input_new = false;
		conn->handler.on_input(conn, conn->context);
	}
	if (!conn->finished)
		conn_buf_trim(&conn->in);
}

/* Begin the bounded flush that ends in on_close. */
static void conn_begin_close(struct conn *conn)
{
	conn->closing = true;
	conn_timer_cancel(conn, &conn->close_timer);
	conn->close_timer = loop_timer_add(conn->loop, CONN_CLOSE_FLUSH_MS,
					   conn_on_close_deadline, conn);
	conn_schedule_soon(conn);
}

/* After a turn of the pump: finish the connection, or wait for the events
 * that can move it forward. */
static void conn_settle(struct conn *conn)
{
	if (conn->peer_eof && !conn->closing && !conn->dead)
		conn_begin_close(conn);
	if (conn->closing && !conn->dead && conn_output_pending(conn) == 0) {
		conn->transport->ops->shutdown(conn->transport);
		conn_finish(conn);
		return;
	}
	if (conn->dead) {
		conn_finish(conn);
		return;
	}
	conn_update_events(conn);
}

static void conn_run(struct conn *conn)
{
	if (conn->finished)
		return;
	conn->in_run = true;
	conn_pump_output(conn);
	if (!conn->dead)
		conn_pump_input(conn);
	if (!conn->dead)
		conn_deliver_input(conn);
	/* Answers written by on_input go out now, not one epoll round later.
	 * A write that was waiting for input (TLS: SSL_write wanted the
	 * handshake's next record) is retried too: the read above may have
	 * finished the handshake, and no further event would wake it. */
	if (!conn->dead && conn_output_pending(conn) > 0 &&
	    (conn->write_want == 0 || conn->write_want == LOOP_READ))
		conn_pump_output(conn);
	conn->in_run = false;
	conn_settle(conn);
}

/* The close deadline shares conn_on_soon's pump, but must end things. */
static void conn_on_close_deadline(struct loop *loop, void *context)
{
	struct conn *conn = context;

	conn->close_timer = NULL;
	log_debug("conn: %s did not take its last output in time", conn->peer);
	conn->dead = true;
	conn_run(conn);
}

/* ---- the protocol-facing API -------------------------------------------- */

/* Output queued from outside the pump (an IDLE push from a post, a worker's
 * done callback): write it on the next iteration straight from a zero timer,
 * which is cheaper than registering LOOP_WRITE and waiting for epoll. Inside
 * the pump, conn_run writes it before it settles. */
static void conn_output_queued(struct conn *conn)
{
	if (!conn->in_run)
		conn_schedule_soon(conn);
}

struct buf *conn_input(struct conn *conn)
{
	return &conn->in;
}

void conn_write(struct conn *conn, const void *data, size_t len)
{
	if (conn->finished || len == 0)
		return;
	buf_append(&conn->out, data, len);
	conn_output_queued(conn);
}

void conn_write_str(struct conn *conn, const char *s)
{
	conn_write(conn, s, strlen(s));
}

void conn_printf(struct conn *conn, const char *fmt, ...)
{
	va_list ap;

	if (conn->finished)
		return;
	va_start(ap, fmt);
	buf_vprintf(&conn->out, fmt, ap);
	va_end(ap);
	conn_output_queued(conn);
}

size_t conn_output_pending(const struct conn *conn)
{
	return conn->out.len + conn->transport->ops->output_pending(conn->transport);
}

/* Lazy: LOOP_READ stays registered until input actually arrives while
 * paused; then the pump reads nothing and settle drops the interest. */
void conn_pause_input(struct conn *conn)
{
	conn->paused = true;
}

/* The pump is needed only for buffered input (plain or decrypted) or when
 * settle has dropped LOOP_READ meanwhile; otherwise epoll reports new bytes. */
void conn_resume_input(struct conn *conn)
{
	if (!conn->paused)
		return;
	conn->paused = false;
	if (conn->in.len > 0)
		conn->input_new = true;
	if (conn->in.len > 0 || !(conn->registered & LOOP_READ) ||
	    conn->transport->ops->read_pending(conn->transport))
		conn_schedule_soon(conn);
}

int conn_start_tls(struct conn *conn, struct tls_server *tls)
{
	if (conn->finished || conn->closing || conn->tls || conn->starttls != NULL ||
	    conn->compressed || conn->compress_pending)
		return -1;
	if (conn->in.len > 0)
		return -1;  /* RFC 3207 §4: bytes sent before the handshake are not trusted */
	conn->starttls = tls;
	if (conn_output_pending(conn) == 0)
		conn_switch_to_tls(conn);
	if (!conn->in_run)
		conn_schedule_soon(conn);
	return 0;
}

int conn_start_compress(struct conn *conn)
{
	if (conn->finished || conn->closing || conn->starttls != NULL || conn->compressed ||
	    conn->compress_pending)
		return -1;
	/* What the protocol has not consumed yet came after the command, so
	 * it is compressed already (a client that pipelines). */
	buf_free(&conn->compress_input);
	conn->compress_input = conn->in;
	conn->in = (struct buf)BUF_INIT;
	conn->input_new = false;
	conn->compress_pending = true;
	if (conn_output_pending(conn) == 0)
		conn_switch_to_compress(conn);
	if (!conn->in_run)
		conn_schedule_soon(conn);
	return 0;
}

bool conn_is_compressed(const struct conn *conn)
{
	return conn->compressed || conn->compress_pending;
}

bool conn_is_tls(const struct conn *conn)
{
	return conn->tls || conn->starttls != NULL;
}

int conn_tls_channel_binding(const struct conn *conn, const char *type, unsigned char *out,
			     size_t max, size_t *len_r)
{
	/* COMPRESS may sit on top of the TLS layer: look down for it. */
	for (const struct transport *t = conn->transport; t != NULL; t = t->inner) {
		if (transport_tls_established(t))
			return transport_tls_channel_binding(t, type, out, max, len_r);
	}
	return -1;
}

const char *conn_peer_address(const struct conn *conn)
{
	return conn->peer;
}

bool conn_is_loopback(const struct conn *conn)
{
	return conn->loopback;
}

struct loop *conn_loop(const struct conn *conn)
{
	return conn->loop;
}

void conn_close(struct conn *conn)
{
	if (conn->closing || conn->finished)
		return;
	conn_begin_close(conn);
}

static void conn_on_idle(struct loop *loop, void *context)
{
	struct conn *conn = context;
	uint64_t idle = loop_now_ms(loop) - conn->last_activity;

	conn->idle_timer = NULL;
	if (idle < conn->idle_ms) {
		conn->idle_timer = loop_timer_add(loop, conn->idle_ms - idle, conn_on_idle, conn);
		return;
	}
	log_info("conn: %s idle for %llu s, closing", conn->peer,
		 (unsigned long long)(idle / 1000));
	conn->dead = true;
	conn_run(conn);
}

/* Activity only moves last_activity; the timer looks at it when it fires
 * and re-arms for the rest, so busy connections never touch the heap. The
 * session sets the timeout after every command: when the armed timer fires
 * no later than needed, it is kept (it re-arms itself on firing). */
void conn_set_idle_timeout(struct conn *conn, uint64_t ms)
{
	if (conn->finished)
		return;
	conn->last_activity = loop_now_ms(conn->loop);
	if (conn->idle_timer != NULL && ms >= conn->idle_ms) {
		conn->idle_ms = ms;
		return;
	}
	conn_timer_cancel(conn, &conn->idle_timer);
	conn->idle_ms = ms;
	if (ms > 0)
		conn->idle_timer = loop_timer_add(conn->loop, ms, conn_on_idle, conn);
}

size_t conn_memory(const struct conn *conn)
{
	return sizeof(*conn) + conn->in.cap + conn->out.cap + conn->compress_input.cap +
	       conn->transport->ops->memory(conn->transport);
}
