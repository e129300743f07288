/*
 * bench: the pieces of bin/buzon-bench, the load generator of bench/compare
 * (issue 7). It is a client, not part of the server: it speaks IMAP, SMTP
 * and LMTP to any server (buzon, Dovecot, Postfix) over plain TCP or TLS,
 * and drives thousands of connections from one process on one epoll loop
 * with non-blocking sockets. Nothing here is linked into bin/buzon; it uses
 * core/buf and core/mem from the server's library, which know nothing of
 * the server.
 *
 * Modules (one .c each, all declared here):
 *   conn.c     the loop, connections (TCP connect, optional TLS, buffered
 *              non-blocking read/write)
 *   stats.c    latency samples per operation, percentiles, result lines
 *   message.c  the generated messages (deterministic for a seed and index)
 *   imap.c     the IMAP scenarios: imap-mix, idle, connections, mailbox
 *   smtp.c     the SMTP/LMTP client and the deliver scenario
 *   main.c     options and the scenario chosen
 *
 * Correctness comes before speed: every reply that is not the one expected
 * (a BAD, a NO where OK is due, a 4xx/5xx, a connection closed early, a
 * reply we cannot parse) is counted as a protocol error, and a run with
 * errors says so on stderr and exits 1.
 */
#ifndef BUZON_BENCH_H
#define BUZON_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>
#include <openssl/ssl.h>

#include "core/buf.h"

/* ---- options (main.c) ------------------------------------------------------ */

/* Longest user name pattern or password we take on the command line. */
#define BENCH_TEXT_MAX 256

struct bench_options {
	const char *scenario;    /* imap-mix, idle, connections, deliver, mailbox */
	const char *label;       /* the target's name in the result lines */
	struct sockaddr_in addr; /* the IMAP port, or the SMTP/LMTP port for deliver */
	struct sockaddr_in deliver_addr; /* idle: where new mail goes in (LMTP/SMTP) */
	bool deliver_lmtp;       /* deliver and idle: LMTP (LHLO) rather than SMTP */
	bool tls;                /* implicit TLS on addr */
	const char *user_format; /* printf pattern with one %u: the account index */
	const char *password;
	unsigned accounts;       /* accounts used: client i logs in as i % accounts */
	unsigned clients;        /* concurrent connections (or sessions) */
	double duration;         /* seconds of load (imap-mix, deliver), hold (connections) */
	bool hold_stdin;         /* connections: hold until stdin has a line or EOF */
	unsigned messages;       /* deliver: messages in all (0 = by duration) */
	unsigned message_size;   /* bytes of a generated message */
	unsigned rounds;         /* idle: messages delivered, one round each */
	unsigned ramp;           /* connections being set up at once, at most */
	unsigned seed;
	const char *weights;     /* imap-mix: "select=5,fetch-headers=25,..." */
	const char *domain;      /* deliver: the sender's domain / HELO name */
};

/* ---- the loop and connections (conn.c) -------------------------------------------- */

struct bench_conn;

/* What a protocol does with a connection; each callback may close it. */
struct bench_conn_handler {
	/* TCP (and TLS) is up. */
	void (*connected)(struct bench_conn *conn);
	/* New bytes are in conn->in. */
	void (*input)(struct bench_conn *conn);
	/* The connection is gone (by us, by the peer, or an error: why says
	 * which; NULL when we closed it on purpose). conn is freed after. */
	void (*closed)(struct bench_conn *conn, const char *why);
};

struct bench_loop {
	int epoll_fd;
	uint64_t now_ns;            /* CLOCK_MONOTONIC, refreshed every iteration */
	bool stopping;
	SSL_CTX *ssl_ctx;           /* NULL until bench_loop_enable_tls() */
	unsigned open_conns;
	/* Called at least every tick_ms milliseconds (scenario timing). */
	void (*tick)(struct bench_loop *loop, void *context);
	void *tick_context;
	unsigned tick_ms;
	int stdin_watch;            /* 1: watch fd 0; stdin_ready becomes true */
	bool stdin_ready;
	struct bench_conn *dead;    /* closed, freed at the end of the iteration */
};

struct bench_conn {
	struct bench_loop *loop;
	int fd;
	SSL *ssl;
	bool connecting;            /* TCP connect in progress */
	bool handshaking;           /* TLS handshake in progress */
	bool want_write;            /* epoll has EPOLLOUT on */
	bool closing;
	struct buf in;
	struct buf out;
	const struct bench_conn_handler *handler;
	void *context;              /* the protocol session */
	struct bench_conn *dead_next;
};

int bench_loop_init(struct bench_loop *loop);
void bench_loop_fini(struct bench_loop *loop);
/* A client SSL_CTX that does not verify (a benchmark on loopback with
 * self-signed certificates); -1 if OpenSSL fails. */
int bench_loop_enable_tls(struct bench_loop *loop);
/* Run until loop->stopping; -1 if epoll fails. */
int bench_loop_run(struct bench_loop *loop);
uint64_t bench_now_ns(void);

/* Start a non-blocking connection to addr (TLS when tls); NULL with errno
 * on an immediate failure. handler->connected follows, or handler->closed. */
struct bench_conn *bench_conn_open(struct bench_loop *loop, const struct sockaddr_in *addr,
				   bool tls, const struct bench_conn_handler *handler,
				   void *context);
/* Queue bytes and try to send them now. */
void bench_conn_write(struct bench_conn *conn, const void *data, size_t len);
void bench_conn_printf(struct bench_conn *conn, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Close now; handler->closed(conn, why) is called, then conn is freed. */
void bench_conn_close(struct bench_conn *conn, const char *why);

/* ---- statistics (stats.c) ------------------------------------------------------ */

/* One operation's record: every latency in microseconds, and its counts. */
struct bench_stat {
	const char *name;
	uint32_t *us;
	size_t count, cap;
	uint64_t errors;        /* replies that were not the expected one */
};

void bench_stat_add(struct bench_stat *stat, uint64_t start_ns, uint64_t end_ns);
/* The p-th percentile (0..100) in microseconds; sorts the samples. */
double bench_stat_percentile(struct bench_stat *stat, double p);
void bench_stat_free(struct bench_stat *stat);
/* Print "result scenario=S target=L figure=F value=V unit=U". */
void bench_report(const struct bench_options *options, const char *figure, double value,
		  const char *unit);
/* Report count, ops/s, p50 and p99 (ms) of stat over seconds, as
 * figures PREFIX.ops, PREFIX.ops_per_s, PREFIX.p50_ms, PREFIX.p99_ms. */
void bench_report_stat(const struct bench_options *options, const char *prefix,
		       struct bench_stat *stat, double seconds);

/* ---- generated messages (message.c) ------------------------------------------------ */

/* Message number index of a run, about size bytes, CRLF line ends, no line
 * starting with "." (so it goes through DATA unstuffed): From a user among
 * 50, a Subject of three words and a body of words from a small vocabulary,
 * so that header and body SEARCHes have hits. */
void bench_message_generate(struct buf *out, unsigned seed, unsigned index, unsigned size,
			    const char *to);
/* A word of the body vocabulary (rank 0 is the most frequent). */
const char *bench_message_word(unsigned rank);

/* ---- scenarios ---------------------------------------------------------------- */

/* Each returns the number of protocol errors (0: a clean run), or -1 when
 * the run could not take place at all. */
long bench_imap_mix(const struct bench_options *options);
long bench_imap_idle(const struct bench_options *options);
long bench_imap_connections(const struct bench_options *options);
long bench_imap_mailbox(const struct bench_options *options);
long bench_smtp_deliver(const struct bench_options *options);

/* The account name of account index i, into out (BENCH_TEXT_MAX bytes). */
void bench_account_name(const struct bench_options *options, unsigned i, char *out);

/* idle: a delivery session run beside the IMAP clients on the same loop.
 * bench_smtp_sender_send() sends one message to the accounts [0, count),
 * in as many transactions as needed; done(context, errors) is called when
 * every recipient got its reply. */
struct bench_smtp_sender;
struct bench_smtp_sender *bench_smtp_sender_new(struct bench_loop *loop,
						const struct bench_options *options);
int bench_smtp_sender_send(struct bench_smtp_sender *sender, unsigned index, unsigned count,
			   void (*done)(void *context, unsigned errors, uint64_t dot_ns),
			   void *context);
void bench_smtp_sender_free(struct bench_smtp_sender *sender);

#endif
