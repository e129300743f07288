/*
 * test_net: the networking layer against real sockets: loop timers and
 * posts, conn echo, backpressure and close semantics, implicit TLS and
 * STARTTLS with an OpenSSL client thread, listeners, the worker pool.
 * Every test bounds its loop with a watchdog timer, so a bug fails fast
 * instead of hanging the suite.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/buf.h"
#include "core/config.h"
#include "net/conn.h"
#include "net/listen.h"
#include "net/loop.h"
#include "net/tls.h"
#include "net/worker.h"
#include "unit.h"

/* Longest any single test may run before the watchdog stops it. */
#define TEST_WATCHDOG_MS 2000
/* The big-output test: large enough to need hundreds of partial writes. */
#define TEST_BIG_OUTPUT (8u * 1024 * 1024)

/* ---- helpers ----------------------------------------------------------- */

static void test_on_watchdog(struct loop *loop, void *context)
{
	bool *fired = context;

	*fired = true;
	loop_stop(loop);
}

/* Run the loop until something calls loop_stop; false if the watchdog had to. */
static bool test_run(struct loop *loop)
{
	bool fired = false;
	struct loop_timer *t = loop_timer_add(loop, TEST_WATCHDOG_MS, test_on_watchdog, &fired);

	UNIT_CHECK(loop_run(loop) == 0);
	if (!fired)
		loop_timer_cancel(loop, t);
	return !fired;
}

/* A connected pair: fds[0] non-blocking for the server conn, fds[1]
 * blocking for a client thread. */
static void test_socketpair(int fds[2])
{
	int r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);

	UNIT_CHECK(r == 0);
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
}

static bool test_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Read exactly len bytes (false on EOF or error first). */
static bool test_read_all(int fd, void *data, size_t len)
{
	char *p = data;

	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* What a test server's handler records. */
struct test_server {
	struct loop *loop;
	struct conn *conn;
	int inputs;
	int drained;
	int closed;
	bool stop_on_close;
	int close_after_echo;       /* echo, then conn_close inside on_input */
	struct tls_server *starttls;
	int starttls_result;
	bool starttls_done;
	bool pause_first;           /* pause on the first on_input */
	char peer[64];
	bool loopback;
	size_t memory_after_drain;
};

/* Echo every complete line back. */
static void test_echo_lines(struct conn *conn)
{
	struct buf *in = conn_input(conn);
	char *nl;

	while ((nl = memchr(in->data, '\n', in->len)) != NULL) {
		size_t n = (size_t)(nl - in->data) + 1;
		conn_write(conn, in->data, n);
		buf_consume(in, n);
	}
}

static void test_on_input(struct conn *conn, void *context)
{
	struct test_server *s = context;

	s->inputs++;
	if (s->pause_first && s->inputs == 1) {
		conn_pause_input(conn);
		return;
	}
	if (s->starttls != NULL && !s->starttls_done) {
		struct buf *in = conn_input(conn);
		char *nl = memchr(in->data, '\n', in->len);
		if (nl == NULL)
			return;
		buf_consume(in, (size_t)(nl - in->data) + 1);
		conn_write_str(conn, "OK begin TLS\r\n");
		s->starttls_result = conn_start_tls(conn, s->starttls);
		s->starttls_done = true;
		if (s->starttls_result < 0) {
			conn_write_str(conn, "BAD refused\r\n");
			conn_close(conn);
		}
		return;
	}
	test_echo_lines(conn);
	if (s->close_after_echo) {
		conn_close(conn);
		conn_close(conn);  /* twice is harmless */
		/* The conn stays usable until this callback returns. */
		UNIT_CHECK(conn_input(conn) != NULL);
		UNIT_CHECK(conn_output_pending(conn) > 0);
	}
}

static void test_on_drained(struct conn *conn, void *context)
{
	struct test_server *s = context;

	s->drained++;
	s->memory_after_drain = conn_memory(conn);
}

static void test_on_close(struct conn *conn, void *context)
{
	struct test_server *s = context;

	s->closed++;
	snprintf(s->peer, sizeof(s->peer), "%s", conn_peer_address(conn));
	s->loopback = conn_is_loopback(conn);
	s->conn = NULL;
	if (s->stop_on_close)
		loop_stop(s->loop);
}

static const struct conn_handler test_handler = {
	.on_input = test_on_input,
	.on_drained = test_on_drained,
	.on_close = test_on_close,
};

/* ---- loop ----------------------------------------------------------------- */

struct test_order {
	int seen[8];
	int count;
};

struct test_order_timer {
	struct test_order *order;
	int id;
};

static void test_on_order(struct loop *loop, void *context)
{
	struct test_order_timer *t = context;

	t->order->seen[t->order->count++] = t->id;
	if (t->id == 99)
		loop_stop(loop);
}

static void loop_timers_fire_in_deadline_order_and_cancel_works(void)
{
	struct loop *loop = loop_new();
	struct test_order order = { { 0 }, 0 };
	struct test_order_timer t30 = { &order, 30 }, t10 = { &order, 10 }, t20 = { &order, 20 };
	struct test_order_timer t15 = { &order, 15 }, t10b = { &order, 11 }, end = { &order, 99 };

	loop_timer_add(loop, 30, test_on_order, &t30);
	loop_timer_add(loop, 10, test_on_order, &t10);
	struct loop_timer *cancel = loop_timer_add(loop, 15, test_on_order, &t15);
	loop_timer_add(loop, 20, test_on_order, &t20);
	loop_timer_add(loop, 10, test_on_order, &t10b);
	loop_timer_add(loop, 40, test_on_order, &end);
	loop_timer_cancel(loop, cancel);
	uint64_t start = loop_now_ms(loop);
	UNIT_CHECK(test_run(loop));
	UNIT_CHECK(order.count == 5);
	UNIT_CHECK(order.seen[0] == 10 && order.seen[1] == 11 && order.seen[2] == 20);
	UNIT_CHECK(order.seen[3] == 30 && order.seen[4] == 99);
	UNIT_CHECK(loop_now_ms(loop) - start >= 40);
	loop_free(loop);
}

struct test_post {
	struct loop *loop;
	pthread_t loop_thread;
	bool ran_on_loop_thread;
	int runs;
	int cancelled_runs;
};

static void test_on_post(struct loop *loop, void *context)
{
	struct test_post *p = context;

	p->runs++;
	p->ran_on_loop_thread = pthread_equal(pthread_self(), p->loop_thread);
	loop_stop(loop);
}

static void *test_post_thread(void *arg)
{
	struct test_post *p = arg;

	usleep(30 * 1000);  /* the loop is asleep in epoll_wait by now */
	loop_post(p->loop, test_on_post, p);
	return NULL;
}

static void loop_post_from_another_thread_wakes_the_loop(void)
{
	struct test_post p = { .loop = loop_new(), .loop_thread = pthread_self() };
	pthread_t thread;

	pthread_create(&thread, NULL, test_post_thread, &p);
	UNIT_CHECK(test_run(p.loop));
	pthread_join(thread, NULL);
	UNIT_CHECK(p.runs == 1);
	UNIT_CHECK(p.ran_on_loop_thread);
	loop_free(p.loop);
}

static void test_on_cancelled_post(struct loop *loop, void *context)
{
	struct test_post *p = context;

	p->cancelled_runs++;
}

static void test_on_post_cancelling(struct loop *loop, void *context)
{
	/* A post that frees an object cancels the object's later posts, even
	 * ones already taken into the running batch. */
	loop_post_cancel(loop, context);
}

static void loop_post_cancel_drops_queued_posts(void)
{
	struct test_post p = { .loop = loop_new(), .loop_thread = pthread_self() };
	struct test_post other = { .loop = p.loop, .loop_thread = pthread_self() };

	loop_post(p.loop, test_on_cancelled_post, &other);
	loop_post_cancel(p.loop, &other);
	loop_post(p.loop, test_on_post_cancelling, &other);
	loop_post(p.loop, test_on_cancelled_post, &other);
	loop_post(p.loop, test_on_post, &p);
	UNIT_CHECK(test_run(p.loop));
	UNIT_CHECK(other.cancelled_runs == 0);
	UNIT_CHECK(p.runs == 1);
	loop_free(p.loop);
}

/* ---- conn over TCP ------------------------------------------------------ */

struct test_tcp {
	struct test_server server;
	int port;
	char reply[64];
	bool ok;
};

static void test_on_accept(struct loop *loop, int fd, void *context)
{
	struct test_server *s = context;

	s->conn = conn_new(loop, fd, NULL, &test_handler, s);
}

static void *test_tcp_client(void *arg)
{
	struct test_tcp *t = arg;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)t->port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    test_write_all(fd, "hello\nwor", 9) && (usleep(10 * 1000), 1) &&
	    test_write_all(fd, "ld\n", 3) && test_read_all(fd, t->reply, 12))
		t->ok = true;
	close(fd);
	return NULL;
}

static void conn_echoes_over_tcp_and_reports_loopback_peer(void)
{
	struct config_listen addr = { .enabled = true, .host = "127.0.0.1", .port = "0" };
	struct test_tcp t = { .server = { .loop = loop_new(), .stop_on_close = true } };
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	const char *error = NULL;
	pthread_t thread;
	int lfd = -1;

	UNIT_CHECK(listen_open(&addr, &lfd, &error) == 0);
	UNIT_CHECK(getsockname(lfd, (struct sockaddr *)&sin, &len) == 0);
	t.port = ntohs(sin.sin_port);
	UNIT_CHECK(listen_watch(t.server.loop, lfd, test_on_accept, &t.server) == 0);
	pthread_create(&thread, NULL, test_tcp_client, &t);
	UNIT_CHECK(test_run(t.server.loop));
	pthread_join(thread, NULL);
	UNIT_CHECK(t.ok);
	UNIT_CHECK(memcmp(t.reply, "hello\nworld\n", 12) == 0);
	UNIT_CHECK(t.server.closed == 1);
	UNIT_CHECK_STR(t.server.peer, "127.0.0.1");
	UNIT_CHECK(t.server.loopback);
	listen_unwatch(t.server.loop, lfd);
	close(lfd);
	loop_free(t.server.loop);
}

/* Several loops on one listener, as serve runs them. */
#define TEST_SHARED_CLIENTS 40

struct test_shared_loop {
	struct loop *loop;
	int accepted;
	atomic_int *total;
};

static void test_on_shared_accept(struct loop *loop, int fd, void *context)
{
	struct test_shared_loop *l = context;

	l->accepted++;
	close(fd);
	if (atomic_fetch_add(l->total, 1) + 1 == TEST_SHARED_CLIENTS)
		loop_stop(loop);
}

static void test_on_shared_poll(struct loop *loop, void *context)
{
	struct test_shared_loop *l = context;

	if (atomic_load(l->total) == TEST_SHARED_CLIENTS)
		loop_stop(loop);
	else
		loop_timer_add(loop, 5, test_on_shared_poll, l);
}

static void *test_shared_loop_main(void *arg)
{
	struct test_shared_loop *l = arg;

	loop_timer_add(l->loop, 5, test_on_shared_poll, l);
	UNIT_CHECK(test_run(l->loop));
	return NULL;
}

static void listen_shared_by_two_loops_accepts_each_client_once(void)
{
	struct config_listen addr = { .enabled = true, .host = "127.0.0.1", .port = "0" };
	atomic_int total = 0;
	struct test_shared_loop loops[2] = {
		{ .loop = loop_new(), .total = &total }, { .loop = loop_new(), .total = &total },
	};
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	const char *error = NULL;
	pthread_t threads[2];
	int lfd = -1;

	UNIT_CHECK(listen_open(&addr, &lfd, &error) == 0);
	UNIT_CHECK(getsockname(lfd, (struct sockaddr *)&sin, &len) == 0);
	for (int i = 0; i < 2; i++) {
		UNIT_CHECK(listen_watch(loops[i].loop, lfd, test_on_shared_accept, &loops[i]) == 0);
		pthread_create(&threads[i], NULL, test_shared_loop_main, &loops[i]);
	}
	for (int i = 0; i < TEST_SHARED_CLIENTS; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		UNIT_CHECK(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
		close(fd);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	UNIT_CHECK(loops[0].accepted + loops[1].accepted == TEST_SHARED_CLIENTS);
	for (int i = 0; i < 2; i++) {
		listen_unwatch(loops[i].loop, lfd);
		loop_free(loops[i].loop);
	}
	close(lfd);
}

/* EMFILE: the process is out of descriptors while a client waits. */
struct test_emfile {
	int accepted;
	int spare;          /* closed after a moment, freeing one slot */
	uint64_t accepted_at;
};

static void test_on_emfile_accept(struct loop *loop, int fd, void *context)
{
	struct test_emfile *e = context;

	e->accepted++;
	e->accepted_at = loop_now_ms(loop);
	close(fd);
	loop_stop(loop);
}

static void test_on_free_slot(struct loop *loop, void *context)
{
	struct test_emfile *e = context;

	close(e->spare);
	e->spare = -1;
}

static void listen_survives_emfile_and_accepts_later(void)
{
	struct config_listen addr = { .enabled = true, .host = "127.0.0.1", .port = "0" };
	struct test_emfile e = { .spare = -1 };
	struct loop *loop = loop_new();
	struct rlimit old, low;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	const char *error = NULL;
	int lfd = -1, client, fds[512], nfds = 0;

	UNIT_CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
	UNIT_CHECK(listen_open(&addr, &lfd, &error) == 0);
	UNIT_CHECK(getsockname(lfd, (struct sockaddr *)&sin, &len) == 0);
	UNIT_CHECK(listen_watch(loop, lfd, test_on_emfile_accept, &e) == 0);
	client = socket(AF_INET, SOCK_STREAM, 0);
	low = old;
	low.rlim_cur = old.rlim_max < 256 ? old.rlim_max : 256;
	UNIT_CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
	while (nfds < 512 && (fds[nfds] = dup(0)) >= 0)
		nfds++;
	UNIT_CHECK(errno == EMFILE && nfds > 0);
	e.spare = fds[--nfds];
	UNIT_CHECK(connect(client, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	uint64_t start = loop_now_ms(loop);
	loop_timer_add(loop, 30, test_on_free_slot, &e);
	UNIT_CHECK(test_run(loop));
	UNIT_CHECK(e.accepted == 1);
	/* Not before the back-off ended: the loop did not spin on accept. */
	UNIT_CHECK(e.accepted_at - start >= 100);
	while (nfds > 0)
		close(fds[--nfds]);
	UNIT_CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
	close(client);
	listen_unwatch(loop, lfd);
	close(lfd);
	loop_free(loop);
}

static void listen_opens_ipv6_and_unix_addresses(void)
{
	struct config_listen v6 = { .enabled = true, .host = "[::1]", .port = "0" };
	struct config_listen bad = { .enabled = true, .host = "256.1.1.1", .port = "1" };
	char dir[] = "/tmp/buzon-net-XXXXXX";
	char path[128];
	const char *error = NULL;
	struct stat st;
	int fd = -1;

	if (listen_open(&v6, &fd, &error) == 0)
		close(fd);
	else
		printf("  (no IPv6 loopback here: %s)\n", error);
	UNIT_CHECK(listen_open(&bad, &fd, &error) < 0 && strstr(error, "256.1.1.1") != NULL);
	UNIT_CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/lmtp.sock", dir);
	struct config_listen unix_addr = { .enabled = true, .unix_path = path };
	for (int i = 0; i < 2; i++) {  /* the second time replaces a stale socket */
		UNIT_CHECK(listen_open(&unix_addr, &fd, &error) == 0);
		UNIT_CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode));
		close(fd);
	}
	unlink(path);
	rmdir(dir);
}

/* ---- backpressure and close ----------------------------------------------- */

struct test_reader {
	int fd;
	size_t got;
	bool pattern_ok;
};

static void *test_slow_reader(void *arg)
{
	struct test_reader *r = arg;
	char chunk[4096];
	ssize_t n;

	r->pattern_ok = true;
	usleep(50 * 1000);  /* let the server fill the socket first */
	while ((n = read(r->fd, chunk, sizeof(chunk))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (chunk[i] != (char)('a' + (r->got + (size_t)i) % 26))
				r->pattern_ok = false;
		r->got += (size_t)n;
		if (r->got == TEST_BIG_OUTPUT)
			break;
	}
	close(r->fd);
	return NULL;
}

static void conn_writes_big_output_to_slow_reader_then_drains(void)
{
	struct test_server s = { .loop = loop_new(), .stop_on_close = true };
	struct test_reader r;
	int fds[2];
	pthread_t thread;
	char *big = malloc(TEST_BIG_OUTPUT);

	for (size_t i = 0; i < TEST_BIG_OUTPUT; i++)
		big[i] = (char)('a' + i % 26);
	test_socketpair(fds);
	r = (struct test_reader){ .fd = fds[1] };
	s.conn = conn_new(s.loop, fds[0], NULL, &test_handler, &s);
	conn_write(s.conn, big, TEST_BIG_OUTPUT);
	free(big);
	UNIT_CHECK(conn_output_pending(s.conn) == TEST_BIG_OUTPUT);
	pthread_create(&thread, NULL, test_slow_reader, &r);
	UNIT_CHECK(test_run(s.loop));
	pthread_join(thread, NULL);
	UNIT_CHECK(r.got == TEST_BIG_OUTPUT);
	UNIT_CHECK(r.pattern_ok);
	UNIT_CHECK(s.drained == 1);
	/* Drained: the output buffer was given back. */
	UNIT_CHECK(s.memory_after_drain < 1024);
	UNIT_CHECK(s.closed == 1);
	loop_free(s.loop);
}

static void conn_peer_close_calls_on_close_once(void)
{
	struct test_server s = { .loop = loop_new(), .stop_on_close = true };
	int fds[2];

	test_socketpair(fds);
	s.conn = conn_new(s.loop, fds[0], NULL, &test_handler, &s);
	UNIT_CHECK(conn_is_loopback(s.conn));  /* unix sockets count as local */
	UNIT_CHECK(test_write_all(fds[1], "partial line", 12));
	close(fds[1]);
	UNIT_CHECK(test_run(s.loop));
	UNIT_CHECK(s.closed == 1);
	UNIT_CHECK(s.inputs == 1);  /* the last bytes were still delivered */
	UNIT_CHECK_STR(s.peer, "unix");
	loop_free(s.loop);
}

static void conn_close_inside_on_input_flushes_then_closes(void)
{
	struct test_server s = { .loop = loop_new(), .stop_on_close = true, .close_after_echo = 1 };
	char reply[16] = { 0 };
	int fds[2];

	test_socketpair(fds);
	s.conn = conn_new(s.loop, fds[0], NULL, &test_handler, &s);
	UNIT_CHECK(test_write_all(fds[1], "bye\nignored\n", 12));
	UNIT_CHECK(test_run(s.loop));
	UNIT_CHECK(s.closed == 1);
	UNIT_CHECK(s.inputs == 1);
	/* Both lines were echoed in the same on_input, then EOF. */
	UNIT_CHECK(test_read_all(fds[1], reply, 12) && memcmp(reply, "bye\nignored\n", 12) == 0);
	UNIT_CHECK(read(fds[1], reply, 1) == 0);
	close(fds[1]);
	loop_free(s.loop);
}

static void test_on_resume(struct loop *loop, void *context)
{
	struct test_server *s = context;

	UNIT_CHECK(s->inputs == 1);
	conn_resume_input(s->conn);
}

static void test_on_stop(struct loop *loop, void *context)
{
	loop_stop(loop);
}

static void conn_resume_delivers_buffered_input_without_new_bytes(void)
{
	struct test_server s = { .loop = loop_new(), .pause_first = true };
	char reply[8] = { 0 };
	int fds[2];

	test_socketpair(fds);
	s.conn = conn_new(s.loop, fds[0], NULL, &test_handler, &s);
	UNIT_CHECK(test_write_all(fds[1], "one\n", 4));
	loop_timer_add(s.loop, 50, test_on_resume, &s);
	loop_timer_add(s.loop, 150, test_on_stop, NULL);
	UNIT_CHECK(test_run(s.loop));
	UNIT_CHECK(s.inputs == 2);
	UNIT_CHECK(test_read_all(fds[1], reply, 4) && memcmp(reply, "one\n", 4) == 0);
	close(fds[1]);
	s.stop_on_close = true;
	UNIT_CHECK(test_run(s.loop));
	UNIT_CHECK(s.closed == 1);
	loop_free(s.loop);
}

static void conn_idle_timeout_closes_silent_connection(void)
{
	struct test_server s = { .loop = loop_new(), .stop_on_close = true };
	int fds[2];

	test_socketpair(fds);
	s.conn = conn_new(s.loop, fds[0], NULL, &test_handler, &s);
	conn_set_idle_timeout(s.conn, 60);
	uint64_t start = loop_now_ms(s.loop);
	UNIT_CHECK(test_run(s.loop));
	UNIT_CHECK(s.closed == 1);
	UNIT_CHECK(loop_now_ms(s.loop) - start >= 60);
	close(fds[1]);
	loop_free(s.loop);
}

/* ---- TLS ------------------------------------------------------------------- */

struct test_tls {
	char dir[64];
	char cert[128];
	char key[128];
	struct tls_server *tls;
};

static bool test_tls_setup(struct test_tls *t)
{
	const char *error = NULL;

	snprintf(t->dir, sizeof(t->dir), "/tmp/buzon-tls-XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		return false;
	snprintf(t->cert, sizeof(t->cert), "%s/tls/cert.pem", t->dir);
	snprintf(t->key, sizeof(t->key), "%s/tls/key.pem", t->dir);
	if (tls_cert_ensure(t->cert, t->key, "mail.example.test", &error) < 0) {
		printf("  tls_cert_ensure: %s\n", error);
		return false;
	}
	t->tls = tls_server_new(t->cert, t->key, &error);
	if (t->tls == NULL)
		printf("  tls_server_new: %s\n", error);
	return t->tls != NULL;
}

static void test_tls_cleanup(struct test_tls *t)
{
	char path[160];

	tls_server_free(t->tls);
	unlink(t->cert);
	unlink(t->key);
	snprintf(path, sizeof(path), "%s/tls", t->dir);
	rmdir(path);
	rmdir(t->dir);
}

struct test_tls_client {
	int fd;
	const char *ca_file;
	bool starttls;     /* read "OK ..." in plaintext first */
	bool greeting;     /* read "* OK hi" over TLS first */
	size_t big;        /* also send this many bytes and read them back */
	bool ok;
	bool verified;
};

/* Send c->big bytes in one SSL_write and read the echo back. */
static bool test_tls_client_big(struct test_tls_client *c, SSL *ssl)
{
	char *data = malloc(c->big), *back = malloc(c->big);
	size_t got = 0;
	bool ok;

	for (size_t i = 0; i < c->big; i++)
		data[i] = (char)(i % 251 == 250 ? '\n' : 'a' + i % 26);
	data[c->big - 1] = '\n';
	ok = SSL_write(ssl, data, (int)c->big) == (int)c->big;
	while (ok && got < c->big) {
		int n = SSL_read(ssl, back + got, (int)(c->big - got));
		ok = n > 0;
		got += ok ? (size_t)n : 0;
	}
	ok = ok && memcmp(data, back, c->big) == 0;
	free(data);
	free(back);
	return ok;
}

/* The client's handshake verifies the generated certificate by its SAN. */
static SSL *test_tls_client_connect(struct test_tls_client *c, SSL_CTX *ctx)
{
	SSL *ssl = SSL_new(ctx);

	SSL_set_fd(ssl, c->fd);
	SSL_set1_host(ssl, "mail.example.test");
	if (SSL_connect(ssl) != 1) {
		ERR_print_errors_fp(stdout);
		SSL_free(ssl);
		return NULL;
	}
	c->verified = SSL_get_verify_result(ssl) == X509_V_OK;
	return ssl;
}

static void *test_tls_client_main(void *arg)
{
	struct test_tls_client *c = arg;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char line[32] = { 0 };
	SSL *ssl;

	SSL_CTX_load_verify_locations(ctx, c->ca_file, NULL);
	X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (c->starttls) {
		if (!test_write_all(c->fd, "STARTTLS\r\n", 10) || !test_read_all(c->fd, line, 14) ||
		    memcmp(line, "OK begin TLS\r\n", 14) != 0)
			goto out;
	}
	ssl = test_tls_client_connect(c, ctx);
	if (ssl == NULL)
		goto out;
	if (c->greeting && (SSL_read(ssl, line, 9) != 9 || memcmp(line, "* OK hi\r\n", 9) != 0))
		goto shutdown;
	c->ok = SSL_write(ssl, "secret\n", 7) == 7 && SSL_read(ssl, line, 7) == 7 &&
		memcmp(line, "secret\n", 7) == 0;
	if (c->ok && c->big > 0)
		c->ok = test_tls_client_big(c, ssl);
shutdown:
	SSL_shutdown(ssl);
	SSL_free(ssl);
out:
	SSL_CTX_free(ctx);
	close(c->fd);
	return NULL;
}

static void tls_implicit_greets_after_handshake_and_echoes_1mb(void)
{
	struct test_tls t;
	struct test_server s = { .loop = loop_new(), .stop_on_close = true };
	struct test_tls_client c;
	struct stat st;
	pthread_t thread;
	int fds[2];

	UNIT_CHECK(test_tls_setup(&t));
	if (t.tls == NULL)
		return;
	UNIT_CHECK(stat(t.key, &st) == 0 && (st.st_mode & 0777) == 0600);
	test_socketpair(fds);
	c = (struct test_tls_client){
		.fd = fds[1], .ca_file = t.cert, .greeting = true, .big = 1024 * 1024,
	};
	s.conn = conn_new(s.loop, fds[0], t.tls, &test_handler, &s);
	UNIT_CHECK(conn_is_tls(s.conn));
	/* Written before the handshake: it must wait for it, then go out. */
	conn_write_str(s.conn, "* OK hi\r\n");
	pthread_create(&thread, NULL, test_tls_client_main, &c);
	UNIT_CHECK(test_run(s.loop));
	pthread_join(thread, NULL);
	UNIT_CHECK(c.ok);
	UNIT_CHECK(c.verified);
	UNIT_CHECK(s.closed == 1);
	loop_free(s.loop);
	test_tls_cleanup(&t);
}

static void starttls_upgrades_after_the_ok_is_sent(void)
{
	struct test_tls t;
	struct test_server s = { .loop = loop_new(), .stop_on_close = true };
	struct test_tls_client c;
	pthread_t thread;
	int fds[2];

	UNIT_CHECK(test_tls_setup(&t));
	if (t.tls == NULL)
		return;
	s.starttls = t.tls;
	test_socketpair(fds);
	c = (struct test_tls_client){ .fd = fds[1], .ca_file = t.cert, .starttls = true };
	s.conn = conn_new(s.loop, fds[0], NULL, &test_handler, &s);
	UNIT_CHECK(!conn_is_tls(s.conn));
	pthread_create(&thread, NULL, test_tls_client_main, &c);
	UNIT_CHECK(test_run(s.loop));
	pthread_join(thread, NULL);
	UNIT_CHECK(s.starttls_result == 0);
	UNIT_CHECK(c.ok);
	UNIT_CHECK(s.closed == 1);
	loop_free(s.loop);
	test_tls_cleanup(&t);
}

static void starttls_with_pipelined_plaintext_is_refused(void)
{
	struct test_tls t;
	struct test_server s = { .loop = loop_new(), .stop_on_close = true };
	char reply[32] = { 0 };
	int fds[2];

	UNIT_CHECK(test_tls_setup(&t));
	if (t.tls == NULL)
		return;
	s.starttls = t.tls;
	test_socketpair(fds);
	s.conn = conn_new(s.loop, fds[0], NULL, &test_handler, &s);
	/* The injection of CVE-2011-0411: a command after STARTTLS, sent in
	 * the clear before the handshake. */
	UNIT_CHECK(test_write_all(fds[1], "STARTTLS\r\nLOGIN evil\r\n", 22));
	UNIT_CHECK(test_run(s.loop));
	UNIT_CHECK(s.starttls_result == -1);
	UNIT_CHECK(test_read_all(fds[1], reply, 27));
	UNIT_CHECK(memcmp(reply, "OK begin TLS\r\nBAD refused\r\n", 27) == 0);
	UNIT_CHECK(s.closed == 1);
	close(fds[1]);
	loop_free(s.loop);
	test_tls_cleanup(&t);
}

/* ---- worker pool ------------------------------------------------------------ */

struct test_job {
	pthread_t loop_thread;
	pthread_t work_thread;
	bool done_on_loop_thread;
	atomic_int worked;
	int done;
};

static void test_job_work(void *context)
{
	struct test_job *job = context;

	job->work_thread = pthread_self();
	usleep(10 * 1000);
	atomic_fetch_add(&job->worked, 1);
}

static void test_job_done(struct loop *loop, void *context)
{
	struct test_job *job = context;

	job->done++;
	job->done_on_loop_thread = pthread_equal(pthread_self(), job->loop_thread);
	loop_stop(loop);
}

static void worker_runs_work_off_loop_and_done_on_loop(void)
{
	struct loop *loop = loop_new();
	struct worker_pool *pool = worker_pool_new(2);
	struct test_job job = { .loop_thread = pthread_self() };

	worker_pool_submit(pool, loop, test_job_work, test_job_done, &job);
	UNIT_CHECK(test_run(loop));
	UNIT_CHECK(atomic_load(&job.worked) == 1);
	UNIT_CHECK(job.done == 1);
	UNIT_CHECK(job.done_on_loop_thread);
	UNIT_CHECK(!pthread_equal(job.work_thread, job.loop_thread));
	worker_pool_free(pool);
	loop_free(loop);
}

int main(void)
{
	UNIT_RUN(loop_timers_fire_in_deadline_order_and_cancel_works);
	UNIT_RUN(loop_post_from_another_thread_wakes_the_loop);
	UNIT_RUN(loop_post_cancel_drops_queued_posts);
	UNIT_RUN(conn_echoes_over_tcp_and_reports_loopback_peer);
	UNIT_RUN(listen_shared_by_two_loops_accepts_each_client_once);
	UNIT_RUN(listen_survives_emfile_and_accepts_later);
	UNIT_RUN(listen_opens_ipv6_and_unix_addresses);
	UNIT_RUN(conn_writes_big_output_to_slow_reader_then_drains);
	UNIT_RUN(conn_peer_close_calls_on_close_once);
	UNIT_RUN(conn_close_inside_on_input_flushes_then_closes);
	UNIT_RUN(conn_resume_delivers_buffered_input_without_new_bytes);
	UNIT_RUN(conn_idle_timeout_closes_silent_connection);
	UNIT_RUN(tls_implicit_greets_after_handshake_and_echoes_1mb);
	UNIT_RUN(starttls_upgrades_after_the_ok_is_sent);
	UNIT_RUN(starttls_with_pipelined_plaintext_is_refused);
	UNIT_RUN(worker_runs_work_off_loop_and_done_on_loop);
	return unit_finish();
}
