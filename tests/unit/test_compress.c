/*
 * test_compress: the DEFLATE transport (src/net/compress.c) under a real
 * conn, over a socketpair, against a zlib peer in a client thread that
 * speaks like an RFC 4978 client: a clear "COMPRESS" line, the clear
 * "OK\r\n", then raw deflate (wbits -15, Z_SYNC_FLUSH) both ways.
 * Every test bounds its loop with a watchdog timer.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zlib.h>

#include "core/buf.h"
#include "net/conn.h"
#include "net/loop.h"
#include "unit.h"

/* Generous: the 8 MB test deflates under ASan. */
#define TEST_WATCHDOG_MS 20000
#define TEST_BIG_OUTPUT (8u * 1024 * 1024)
#define TEST_SMALL_LINES 1000

/* ---- the server side: a conn that echoes lines --------------------------- */

struct test_server {
	struct loop *loop;
	struct conn *conn;
	int closed;
	int drained;
	int start_result;
	bool compress_seen;
	size_t memory_after_drain;
	char *big;              /* written on "BIG" */
};

static void test_on_input(struct conn *conn, void *context)
{
	struct test_server *s = context;
	struct buf *in = conn_input(conn);
	char *nl;

	while (in->len > 0 && (nl = memchr(in->data, '\n', in->len)) != NULL) {
		size_t n = (size_t)(nl - in->data) + 1;
		if (n == 10 && memcmp(in->data, "COMPRESS\r\n", 10) == 0 && !s->compress_seen) {
			buf_consume(in, n);
			conn_write_str(conn, "OK\r\n");
			s->compress_seen = true;
			s->start_result = conn_start_compress(conn);
			/* Whatever followed is compressed: handed back later. */
			UNIT_CHECK(conn_input(conn)->len == 0);
			UNIT_CHECK(conn_is_compressed(conn));
			UNIT_CHECK(conn_start_compress(conn) < 0);
			continue;
		}
		if (n == 5 && memcmp(in->data, "BIG\r\n", 5) == 0) {
			buf_consume(in, n);
			conn_write(conn, s->big, TEST_BIG_OUTPUT);
			continue;
		}
		if (n == 6 && memcmp(in->data, "QUIT\r\n", 6) == 0) {
			buf_consume(in, n);
			conn_write_str(conn, "BYE\r\n");
			conn_close(conn);
			return;
		}
		conn_write(conn, in->data, n);
		buf_consume(in, n);
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
	s->conn = NULL;
	loop_stop(s->loop);
}

static const struct conn_handler test_handler = {
	.on_input = test_on_input,
	.on_drained = test_on_drained,
	.on_close = test_on_close,
};

static void test_on_watchdog(struct loop *loop, void *context)
{
	bool *fired = context;

	*fired = true;
	loop_stop(loop);
}

static bool test_run(struct loop *loop)
{
	bool fired = false;
	struct loop_timer *t = loop_timer_add(loop, TEST_WATCHDOG_MS, test_on_watchdog, &fired);

	UNIT_CHECK(loop_run(loop) == 0);
	if (!fired)
		loop_timer_cancel(loop, t);
	return !fired;
}

static void test_server_start(struct test_server *s, int fds[2])
{
	UNIT_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
	s->loop = loop_new();
	s->conn = conn_new(s->loop, fds[0], NULL, &test_handler, s);
}

/* Half text that compresses, half noise that does not. */
static char *test_big_pattern(void)
{
	char *big = malloc(TEST_BIG_OUTPUT);
	uint32_t x = 12345;

	for (size_t i = 0; i < TEST_BIG_OUTPUT; i++) {
		x = x * 1103515245u + 12345u;
		big[i] = (i / 65536) % 2 ? (char)(x >> 16) : (char)('a' + i % 26);
	}
	return big;
}

/* ---- the client side: a zlib peer --------------------------------------------- */

struct test_client {
	int fd;
	z_stream deflater;
	z_stream inflater;
	struct buf got;          /* inflated bytes received */
	bool slow;               /* sleep between reads */
	bool corrupt;            /* send garbage after the switch */
	bool big;
	bool ok;                 /* everything as expected */
	bool eof;
	const char *big_pattern;
	size_t raw_received;
};

static bool client_write_all(int fd, const void *data, size_t len)
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

/* Deflate text with a sync flush, prefixed by clear bytes, in one write. */
static bool client_send(struct test_client *c, const char *clear, const char *text)
{
	struct buf out = BUF_INIT;
	bool ok;

	if (clear != NULL)
		buf_append_str(&out, clear);
	c->deflater.next_in = (Bytef *)(uintptr_t)text;
	c->deflater.avail_in = (uInt)strlen(text);
	do {
		char *room = buf_reserve(&out, 4096);
		c->deflater.next_out = (Bytef *)room;
		c->deflater.avail_out = 4096;
		if (deflate(&c->deflater, Z_SYNC_FLUSH) == Z_STREAM_ERROR)
			return false;
		buf_commit(&out, 4096 - c->deflater.avail_out);
	} while (c->deflater.avail_out == 0);
	ok = client_write_all(c->fd, out.data, out.len);
	buf_free(&out);
	return ok;
}

/* Read and inflate until got holds at least want bytes (false on EOF). */
static bool client_receive(struct test_client *c, size_t want)
{
	char raw[4096], plain[16384];

	while (c->got.len < want) {
		ssize_t n = read(c->fd, raw, sizeof(raw));
		if (n <= 0) {
			c->eof = true;
			return false;
		}
		c->raw_received += (size_t)n;
		if (c->slow && c->raw_received % (64 * 1024) < sizeof(raw))
			usleep(2000);
		c->inflater.next_in = (Bytef *)raw;
		c->inflater.avail_in = (uInt)n;
		do {
			c->inflater.next_out = (Bytef *)plain;
			c->inflater.avail_out = sizeof(plain);
			int r = inflate(&c->inflater, Z_SYNC_FLUSH);
			if (r != Z_OK && r != Z_BUF_ERROR)
				return false;
			buf_append(&c->got, plain, sizeof(plain) - c->inflater.avail_out);
		} while (c->inflater.avail_in > 0 || c->inflater.avail_out == 0);
	}
	return true;
}

/* The clear OK, read byte by byte so no compressed byte is taken raw. */
static bool client_read_ok(struct test_client *c)
{
	char line[4];

	for (size_t i = 0; i < sizeof(line); i++)
		if (read(c->fd, &line[i], 1) != 1)
			return false;
	return memcmp(line, "OK\r\n", 4) == 0;
}

static bool client_expect(struct test_client *c, const char *text)
{
	size_t len = strlen(text);
	bool ok = client_receive(c, len) && c->got.len >= len && memcmp(c->got.data, text, len) == 0;

	buf_consume(&c->got, len);
	return ok;
}

static void *client_main(void *arg)
{
	struct test_client *c = arg;
	char line[64];

	c->ok = false;
	/* COMPRESS and the first compressed command in one packet. */
	if (!client_send(c, "COMPRESS\r\n", "first pipelined\r\n") || !client_read_ok(c) ||
	    !client_expect(c, "first pipelined\r\n"))
		goto out;
	if (c->corrupt) {
		/* A deflate block of reserved type 3 is never valid. */
		static const char garbage[] = "\x07\xff\xff\xff\xff\xff\xff\xff";
		if (!client_write_all(c->fd, garbage, sizeof(garbage) - 1))
			goto out;
		char byte;
		c->ok = read(c->fd, &byte, 1) <= 0;  /* the server hangs up */
		goto out;
	}
	if (c->big) {
		if (!client_send(c, NULL, "BIG\r\n") || !client_receive(c, TEST_BIG_OUTPUT) ||
		    c->got.len != TEST_BIG_OUTPUT ||
		    memcmp(c->got.data, c->big_pattern, TEST_BIG_OUTPUT) != 0)
			goto out;
		buf_consume(&c->got, TEST_BIG_OUTPUT);
	} else {
		/* Many small writes, each its own sync-flushed packet. */
		for (int i = 0; i < TEST_SMALL_LINES; i++) {
			snprintf(line, sizeof(line), "line %d\r\n", i);
			if (!client_send(c, NULL, line))
				goto out;
		}
		for (int i = 0; i < TEST_SMALL_LINES; i++) {
			snprintf(line, sizeof(line), "line %d\r\n", i);
			if (!client_expect(c, line))
				goto out;
		}
		/* Many lines in one packet, answered together. */
		if (!client_send(c, NULL, "a\r\nb\r\nc\r\n") || !client_expect(c, "a\r\nb\r\nc\r\n"))
			goto out;
	}
	if (!client_send(c, NULL, "QUIT\r\n") || !client_expect(c, "BYE\r\n"))
		goto out;
	c->ok = !client_receive(c, 1) && c->eof;  /* then the server closes */
out:
	close(c->fd);
	return NULL;
}

static void client_init(struct test_client *c, int fd)
{
	c->fd = fd;
	UNIT_CHECK(deflateInit2(&c->deflater, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
	UNIT_CHECK(inflateInit2(&c->inflater, -15) == Z_OK);
}

static void client_cleanup(struct test_client *c)
{
	deflateEnd(&c->deflater);
	inflateEnd(&c->inflater);
	buf_free(&c->got);
}

/* ---- tests ----------------------------------------------------------------- */

static void compress_many_small_writes_round_trip_after_pipelined_switch(void)
{
	struct test_server s = { 0 };
	struct test_client c = { 0 };
	pthread_t thread;
	int fds[2];

	test_server_start(&s, fds);
	client_init(&c, fds[1]);
	pthread_create(&thread, NULL, client_main, &c);
	UNIT_CHECK(test_run(s.loop));
	pthread_join(thread, NULL);
	UNIT_CHECK(c.ok);
	UNIT_CHECK(s.compress_seen && s.start_result == 0);
	UNIT_CHECK(s.closed == 1);
	client_cleanup(&c);
	loop_free(s.loop);
}

static void compress_big_write_to_slow_reader_is_byte_exact_then_drains(void)
{
	struct test_server s = { .big = test_big_pattern() };
	struct test_client c = { .big = true, .slow = true, .big_pattern = s.big };
	pthread_t thread;
	int fds[2];

	test_server_start(&s, fds);
	client_init(&c, fds[1]);
	pthread_create(&thread, NULL, client_main, &c);
	UNIT_CHECK(test_run(s.loop));
	pthread_join(thread, NULL);
	UNIT_CHECK(c.ok);
	/* Half the pattern is noise: deflate cannot shrink that half. */
	UNIT_CHECK(c.raw_received > TEST_BIG_OUTPUT / 2);
	UNIT_CHECK(c.raw_received < TEST_BIG_OUTPUT * 3 / 4);
	UNIT_CHECK(s.drained >= 2);
	UNIT_CHECK(s.closed == 1);
	client_cleanup(&c);
	free(s.big);
	loop_free(s.loop);
}

static void compress_corrupt_input_closes_the_connection(void)
{
	struct test_server s = { 0 };
	struct test_client c = { .corrupt = true };
	pthread_t thread;
	int fds[2];

	test_server_start(&s, fds);
	client_init(&c, fds[1]);
	pthread_create(&thread, NULL, client_main, &c);
	UNIT_CHECK(test_run(s.loop));
	pthread_join(thread, NULL);
	UNIT_CHECK(c.ok);
	UNIT_CHECK(s.closed == 1);
	client_cleanup(&c);
	loop_free(s.loop);
}

/* What an idle compressed connection costs (DESIGN.md rule 5): after a
 * command was inflated and its answer drained, only the inflater (state and
 * its 32 KB window, which RFC 4978 peers may fill) stays; the deflater is
 * released between batches. */
static void *idle_client_main(void *arg)
{
	struct test_client *c = arg;

	c->ok = client_send(c, "COMPRESS\r\n", "hello\r\n") && client_read_ok(c) &&
		client_expect(c, "hello\r\n");
	return NULL;
}

static void compress_idle_connection_keeps_only_the_inflater(void)
{
	struct test_server s = { 0 };
	struct test_client c = { 0 };
	pthread_t thread;
	int fds[2];
	size_t plain;

	test_server_start(&s, fds);
	plain = conn_memory(s.conn);
	client_init(&c, fds[1]);
	pthread_create(&thread, NULL, idle_client_main, &c);
	/* Stop once the echo drained (a timer polls; the client stays). */
	for (int i = 0; i < 200 && s.drained < 2; i++) {
		struct loop_timer *t = loop_timer_add(s.loop, 10, test_on_watchdog, &(bool){ false });
		UNIT_CHECK(loop_run(s.loop) == 0);
		(void)t;
	}
	pthread_join(thread, NULL);
	UNIT_CHECK(c.ok);
	UNIT_CHECK(s.drained == 2);  /* the clear OK, then the echo */
	size_t idle = conn_memory(s.conn);
	printf("# idle conn memory: plain %zu bytes, compressed %zu bytes (+%zu)\n", plain, idle,
	       idle - plain);
	UNIT_CHECK(idle - plain < 48 * 1024);
	UNIT_CHECK(idle - plain > 32 * 1024);  /* the inflate window is counted */
	close(fds[1]);
	UNIT_CHECK(test_run(s.loop));
	UNIT_CHECK(s.closed == 1);
	client_cleanup(&c);
	loop_free(s.loop);
}

int main(void)
{
	UNIT_RUN(compress_many_small_writes_round_trip_after_pipelined_switch);
	UNIT_RUN(compress_big_write_to_slow_reader_is_byte_exact_then_drains);
	UNIT_RUN(compress_corrupt_input_closes_the_connection);
	UNIT_RUN(compress_idle_connection_keeps_only_the_inflater);
	return unit_finish();
}
