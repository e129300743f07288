/*
 * runner: delivers what is in the queue (queue_runner_start/stop).
 *
 * One scheduler thread polls queue.db every second for due recipients (so
 * `buzon queue flush` from another process, or a queue_submit on a loop,
 * is picked up within about a second without any signalling), groups them
 * by domain and hands each group to one of QUEUE_RUNNER_WORKERS delivery
 * threads. A domain is worked on by one thread at a time; its recipients,
 * across messages, share one SMTP connection.
 *
 * A delivery thread blocks on its socket (with the RFC 5321 §4.5.3.2
 * timeouts) but every wait also watches the runner's stop eventfd, so
 * queue_runner_stop returns at once; an attempt cut short leaves its
 * recipients pending (nothing was recorded), to be retried.
 *
 * Threads: the runner struct is shared; jobs and the busy-domain list are
 * under `lock`; each thread has its own queue (and store) handle.
 */
#include "delivery/queue-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "delivery/dns.h"
#include "delivery/dsn.h"
#include "delivery/smtp-client.h"

/* Delivery threads: enough that one slow domain does not hold up others. */
#define QUEUE_RUNNER_WORKERS 4
/* How often the scheduler looks at queue.db (the flush latency). */
#define QUEUE_POLL_MS 1000
/* Messages sent over one connection before the next group takes over. */
#define QUEUE_JOB_MESSAGES_MAX 50
/* RFC 5321 §4.5.3.1.8: a server must accept at least 100 recipients. */
#define QUEUE_RCPT_MAX 100
/* MX hosts tried per attempt. */
#define QUEUE_HOSTS_MAX 8
/* RFC 5321 §4.5.3.2 timeouts, in milliseconds. */
#define QUEUE_CONNECT_MS (30 * 1000)
#define QUEUE_GREETING_MS (5 * 60 * 1000)
#define QUEUE_COMMAND_MS (5 * 60 * 1000)
#define QUEUE_DATA_INIT_MS (2 * 60 * 1000)
#define QUEUE_DATA_BLOCK_MS (3 * 60 * 1000)
#define QUEUE_DATA_END_MS (10 * 60 * 1000)
/* RFC 2920 §3.1: a pipelined group must fit the peer's TCP window,
 * "usually, but not always, 4K octets"; larger envelopes go in several
 * groups. */
#define QUEUE_PIPELINE_GROUP 4096
/* Our reasons and the peer's replies, for the queue and the DSN. */
#define QUEUE_ERROR_MAX 1024

struct queue_job {
	struct queue_job *next;
	char *domain;
	struct queue_due *due; /* malloc'd, with malloc'd strings */
	size_t count;
};

struct queue_runner {
	const struct config *config;
	struct store_bus *bus;
	int stop_fd;
	struct dns_resolver resolver;
	SSL_CTX *tls;          /* MX hosts: opportunistic, certificates not checked */
	SSL_CTX *relay_tls;    /* relay_host: chain and name checked (unless relay_tls_insecure) */
	char *relay_host, *relay_port, *relay_password;
	pthread_t scheduler;
	pthread_t workers[QUEUE_RUNNER_WORKERS];
	size_t worker_count;
	bool scheduler_started;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
	struct queue_job *jobs, *jobs_tail;
	char **busy;          /* domains queued or in progress */
	size_t busy_count, busy_cap;
	/* Serialises the bounce step, so two threads finishing recipients of
	 * one message do not both report the same failures. */
	pthread_mutex_t settle_lock;
};

/* One worker's handles. */
struct queue_worker {
	struct queue_runner *runner;
	struct queue *queue;
	struct store *store;
};

/* snprintf that may cut the text short (replies are long; a cut note is
 * fine), without the compiler's truncation warning. */
static void __attribute__((format(printf, 3, 4)))
queue_note(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
}

static bool queue_stopping(struct queue_runner *runner)
{
	struct pollfd pfd = { runner->stop_fd, POLLIN, 0 };

	return poll(&pfd, 1, 0) > 0;
}

/* ---- busy domains (lock held) --------------------------------------------------- */

static bool queue_busy_has(struct queue_runner *runner, const char *domain)
{
	for (size_t i = 0; i < runner->busy_count; i++) {
		if (strcmp(runner->busy[i], domain) == 0)
			return true;
	}
	return false;
}

static void queue_busy_remove(struct queue_runner *runner, const char *domain)
{
	for (size_t i = 0; i < runner->busy_count; i++) {
		if (strcmp(runner->busy[i], domain) == 0) {
			free(runner->busy[i]);
			runner->busy[i] = runner->busy[--runner->busy_count];
			return;
		}
	}
}

static void queue_job_free(struct queue_job *job)
{
	for (size_t i = 0; i < job->count; i++) {
		free(job->due[i].address);
		free(job->due[i].domain);
		free(job->due[i].orcpt);
	}
	free(job->due);
	free(job->domain);
	free(job);
}

/* ---- one SMTP session ---------------------------------------------------------- */

/* A session's state as the steps go. */
struct queue_session {
	struct queue_worker *worker;
	struct smtp_conn *conn;
	struct smtp_reply ehlo;
	char host[DNS_NAME_MAX + 1];
	uint64_t size_limit;   /* SIZE from EHLO, 0 = none said */
	bool eightbit;         /* 8BITMIME offered */
	bool dsn;              /* DSN offered (RFC 3461): parameters are passed on */
	bool pipelining;       /* PIPELINING offered (RFC 2920): envelopes in one write */
	char error[QUEUE_ERROR_MAX];
};

static int queue_send(struct queue_session *s, const char *line)
{
	return smtp_conn_write(s->conn, line, strlen(line), QUEUE_COMMAND_MS, s->error,
			       sizeof(s->error));
}

/* Send a command and read its reply; -1 when the connection failed. */
static int queue_command(struct queue_session *s, const char *line, int timeout_ms,
			 struct smtp_reply *reply)
{
	if (queue_send(s, line) < 0 ||
	    smtp_conn_read(s->conn, timeout_ms, reply, s->error, sizeof(s->error)) < 0)
		return -1;
	return 0;
}

static int queue_ehlo(struct queue_session *s)
{
	char line[DNS_NAME_MAX + 16];

	snprintf(line, sizeof(line), "EHLO %s\r\n", s->worker->runner->config->hostname);
	if (queue_command(s, line, QUEUE_COMMAND_MS, &s->ehlo) < 0)
		return -1;
	if (s->ehlo.code / 100 != 2) {
		/* RFC 5321 §3.2: fall back to HELO (no extensions). */
		struct smtp_reply helo;
		snprintf(line, sizeof(line), "HELO %s\r\n", s->worker->runner->config->hostname);
		if (queue_command(s, line, QUEUE_COMMAND_MS, &helo) < 0)
			return -1;
		if (helo.code / 100 != 2) {
			snprintf(s->error, sizeof(s->error), "%s", helo.text);
			return -1;
		}
		memset(&s->ehlo, 0, sizeof(s->ehlo));
		s->ehlo.code = helo.code;
	}
	return 0;
}

/* AUTH PLAIN (RFC 4616) or LOGIN to the relay, over TLS only. */
static int queue_auth(struct queue_session *s)
{
	struct queue_runner *runner = s->worker->runner;
	const char *user = runner->config->relay_user;
	const char *mechs = smtp_reply_has(&s->ehlo, "AUTH");
	struct smtp_reply reply;
	struct buf plain = BUF_INIT, line = BUF_INIT;
	char *b64;
	int ret = -1;

	if (!smtp_conn_tls(s->conn)) {
		snprintf(s->error, sizeof(s->error),
			 "relay offers no STARTTLS; credentials are sent only over TLS");
		return -1;
	}
	if (mechs == NULL) {
		snprintf(s->error, sizeof(s->error), "relay offers no AUTH");
		return -1;
	}
	bool has_plain = str_find_nocase(mechs, strlen(mechs), "PLAIN", 5) != NULL;
	bool has_login = str_find_nocase(mechs, strlen(mechs), "LOGIN", 5) != NULL;
	if (has_plain) {
		buf_append_char(&plain, '\0');
		buf_append_str(&plain, user);
		buf_append_char(&plain, '\0');
		buf_append_str(&plain, runner->relay_password);
		b64 = mem_alloc(4 * (plain.len / 3 + 1) + 1);
		EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)plain.data,
				(int)plain.len);
		buf_printf(&line, "AUTH PLAIN %s\r\n", b64);
		free(b64);
		if (queue_command(s, line.data, QUEUE_COMMAND_MS, &reply) < 0)
			goto out;
	} else if (has_login) {
		const char *steps[2] = { user, runner->relay_password };
		if (queue_command(s, "AUTH LOGIN\r\n", QUEUE_COMMAND_MS, &reply) < 0)
			goto out;
		for (int i = 0; i < 2 && reply.code == 334; i++) {
			size_t n = strlen(steps[i]);
			b64 = mem_alloc(4 * (n / 3 + 1) + 1);
			EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)steps[i],
					(int)n);
			buf_clear(&line);
			buf_printf(&line, "%s\r\n", b64);
			free(b64);
			if (queue_command(s, line.data, QUEUE_COMMAND_MS, &reply) < 0)
				goto out;
		}
	} else {
		snprintf(s->error, sizeof(s->error), "relay offers neither AUTH PLAIN nor LOGIN");
		goto out;
	}
	if (reply.code != 235)
		queue_note(s->error, sizeof(s->error), "relay refused our login: %s", reply.text);
	else
		ret = 0;
out:
	if (plain.data != NULL)
		memset(plain.data, 0, plain.len);
	if (line.data != NULL)
		memset(line.data, 0, line.len);
	buf_free(&plain);
	buf_free(&line);
	return ret;
}

/* Greeting, EHLO, STARTTLS when offered (RFC 3207), AUTH for the relay. */
static int queue_session_start(struct queue_session *s)
{
	struct queue_runner *runner = s->worker->runner;
	struct smtp_reply reply;
	const char *size;

	if (smtp_conn_read(s->conn, QUEUE_GREETING_MS, &reply, s->error, sizeof(s->error)) < 0)
		return -1;
	if (reply.code != 220) {
		snprintf(s->error, sizeof(s->error), "%s", reply.text);
		return -1;
	}
	if (queue_ehlo(s) < 0)
		return -1;
	if (smtp_reply_has(&s->ehlo, "STARTTLS") != NULL) {
		if (queue_command(s, "STARTTLS\r\n", QUEUE_COMMAND_MS, &reply) < 0)
			return -1;
		if (reply.code == 220) {
			/* The relay is ours to trust: its certificate is checked
			 * (relay_tls_ctx). MX hosts: opportunistic, unchecked. */
			bool relay = runner->relay_host != NULL;
			if (smtp_conn_starttls(s->conn, relay ? runner->relay_tls : runner->tls,
					       relay ? runner->relay_host : s->host,
					       relay && !runner->config->relay_tls_insecure,
					       QUEUE_COMMAND_MS, s->error, sizeof(s->error)) < 0)
				return -1;
			if (queue_ehlo(s) < 0) /* RFC 3207 §4.2: forget what was said */
				return -1;
		}
	}
	/* Verified TLS to the relay means TLS at all: a relay that offers no
	 * STARTTLS (or an attacker who removed it) gets nothing in clear
	 * unless relay_tls_insecure allows it; the mail stays queued. */
	if (runner->relay_host != NULL && !runner->config->relay_tls_insecure &&
	    !smtp_conn_tls(s->conn)) {
		snprintf(s->error, sizeof(s->error), "relay offers no STARTTLS "
			 "(relay_tls_insecure = yes would send in clear)");
		return -1;
	}
	if (runner->relay_password != NULL && queue_auth(s) < 0)
		return -1;
	size = smtp_reply_has(&s->ehlo, "SIZE");
	s->size_limit = size != NULL ? strtoull(size, NULL, 10) : 0;
	s->eightbit = smtp_reply_has(&s->ehlo, "8BITMIME") != NULL;
	s->dsn = smtp_reply_has(&s->ehlo, "DSN") != NULL;
	s->pipelining = smtp_reply_has(&s->ehlo, "PIPELINING") != NULL;
	return 0;
}

static bool queue_has_8bit(const char *data, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		if ((unsigned char)data[i] & 0x80)
			return true;
	}
	return false;
}

/* RFC 3461 §5.2.1 (c), (d): NOTIFY only if it was given, ORCPT identical
 * if it was given, else (a MAY) the address the message came to us for,
 * so that the next hop's DSN names it. */
static void queue_rcpt_params(struct queue_session *s, struct buf *line,
			      const struct queue_due *due)
{
	char notify[64];

	if (!s->dsn)
		return;
	if (due->notify != 0) {
		dsn_notify_format(due->notify, notify, sizeof(notify));
		buf_printf(line, " NOTIFY=%s", notify);
	}
	if (due->orcpt != NULL) {
		buf_printf(line, " ORCPT=%s", due->orcpt);
	} else {
		buf_append_str(line, " ORCPT=rfc822;");
		dsn_xtext_encode(line, due->address, strlen(due->address));
	}
}

/* Send the envelope commands cmds[0..n) (MAIL, the RCPTs, DATA) and read
 * their replies into replies[]; *answered_r is how many were read.
 * With PIPELINING (RFC 2920 §3.1) they go in groups of at most
 * QUEUE_PIPELINE_GROUP bytes, each group in one write, its replies read
 * in order after it (counted, never matched by code or text); a group
 * that small always fits the peer's window, so neither side can block the
 * other. DATA is only ever last. Without PIPELINING one command at a time,
 * stopping where RFC 5321 would: after a refused MAIL, or before DATA when
 * no RCPT was accepted. -1 when the connection failed. */
static int queue_envelope(struct queue_session *s, char **cmds, size_t n,
			  struct smtp_reply *replies, size_t *answered_r)
{
	struct buf group = BUF_INIT;
	size_t sent = 0, accepted = 0;
	int ret = 0;

	*answered_r = 0;
	while (sent < n && ret == 0) {
		size_t first = sent;

		buf_clear(&group);
		do {
			buf_append_str(&group, cmds[sent++]);
		} while (s->pipelining && sent < n &&
			 group.len + strlen(cmds[sent]) <= QUEUE_PIPELINE_GROUP);
		if (smtp_conn_write(s->conn, group.data, group.len, QUEUE_COMMAND_MS, s->error,
				    sizeof(s->error)) < 0) {
			ret = -1;
			break;
		}
		for (size_t i = first; i < sent; i++) {
			int timeout = i + 1 == n ? QUEUE_DATA_INIT_MS : QUEUE_COMMAND_MS;
			if (smtp_conn_read(s->conn, timeout, &replies[i], s->error,
					   sizeof(s->error)) < 0) {
				ret = -1;
				break;
			}
			*answered_r = i + 1;
			if (i > 0 && i + 1 < n && replies[i].code / 100 == 2)
				accepted++;
		}
		if (ret < 0 || s->pipelining)
			continue;
		if (replies[0].code / 100 != 2 || (sent == n - 1 && accepted == 0))
			break; /* RFC 5321 §3.3: no RCPT after a refused MAIL, no DATA
				  without a recipient */
	}
	buf_free(&group);
	return ret;
}

/* Send one message to the recipients in due[0..count) and fill results.
 * -1 when the connection broke (results not filled: the caller records a
 * temporary failure for all). */
static int queue_send_message(struct queue_session *s, struct queue_entry *entry,
			      const char *data, const struct queue_due *due, size_t count,
			      struct queue_result *results, struct arena *arena)
{
	struct smtp_reply reply, *replies = mem_alloc((count + 2) * sizeof(*replies));
	char **cmds = arena_alloc(arena, (count + 2) * sizeof(*cmds));
	struct buf line = BUF_INIT;
	size_t accepted = 0, answered, n = count + 2;
	int ret = -1;

	for (size_t i = 0; i < count; i++)
		results[i] = (struct queue_result){ due[i].address, QUEUE_PENDING, "" };
	if (s->size_limit > 0 && entry->size > s->size_limit) {
		/* RFC 1870 §6: the server told us it will not take it. */
		char *why = arena_printf(arena, "552 5.3.4 message of %zu bytes exceeds %s's "
					 "limit of %llu", entry->size, s->host,
					 (unsigned long long)s->size_limit);
		for (size_t i = 0; i < count; i++)
			results[i] = (struct queue_result){ due[i].address, QUEUE_FAILED, why };
		free(replies);
		return 0;
	}
	buf_printf(&line, "MAIL FROM:<%s>", entry->sender);
	if (smtp_reply_has(&s->ehlo, "SIZE") != NULL)
		buf_printf(&line, " SIZE=%zu", entry->size);
	if (s->eightbit && queue_has_8bit(data, entry->size))
		buf_append_str(&line, " BODY=8BITMIME"); /* RFC 6152 */
	/* RFC 3461 §5.2.1 (a), (b): RET and ENVID as received, only if they
	 * were; §5.2.2 (a): none at all to a server without DSN. */
	if (s->dsn && entry->ret != DSN_RET_NONE)
		buf_append_str(&line, entry->ret == DSN_RET_FULL ? " RET=FULL" : " RET=HDRS");
	if (s->dsn && entry->envid != NULL)
		buf_printf(&line, " ENVID=%s", entry->envid);
	buf_append_str(&line, "\r\n");
	cmds[0] = arena_strdup(arena, line.data);
	for (size_t i = 0; i < count; i++) {
		buf_clear(&line);
		buf_printf(&line, "RCPT TO:<%s>", due[i].address);
		queue_rcpt_params(s, &line, &due[i]);
		buf_append_str(&line, "\r\n");
		cmds[1 + i] = arena_strdup(arena, line.data);
	}
	cmds[n - 1] = "DATA\r\n";
	if (queue_envelope(s, cmds, n, replies, &answered) < 0)
		goto out;
	/* Every status checked (RFC 2920 §3.1): MAIL, each RCPT, DATA. */
	bool data_open = answered == n && replies[n - 1].code == 354;
	if (replies[0].code / 100 != 2) {
		const char *text = arena_strdup(arena, replies[0].text);
		for (size_t i = 0; i < count; i++)
			results[i] = (struct queue_result){ due[i].address,
				replies[0].code / 100 == 5 ? QUEUE_FAILED : QUEUE_PENDING, text };
	}
	for (size_t i = 0; i < count && replies[0].code / 100 == 2 && 1 + i < answered; i++) {
		const struct smtp_reply *r = &replies[1 + i];
		results[i].reply = arena_strdup(arena, r->text);
		if (r->code / 100 == 2) {
			results[i].state = QUEUE_DELIVERED; /* if DATA succeeds */
			accepted++;
		} else {
			results[i].state = r->code / 100 == 5 ? QUEUE_FAILED : QUEUE_PENDING;
		}
	}
	if (replies[0].code / 100 != 2 || accepted == 0) {
		/* RFC 2920 §3.1: a DATA accepted anyway gets a lone dot. */
		if (data_open && (smtp_conn_write(s->conn, ".\r\n", 3, QUEUE_COMMAND_MS, s->error,
						  sizeof(s->error)) < 0 ||
				  smtp_conn_read(s->conn, QUEUE_DATA_END_MS, &reply, s->error,
						 sizeof(s->error)) < 0))
			goto out;
		ret = queue_command(s, "RSET\r\n", QUEUE_COMMAND_MS, &reply);
		goto out;
	}
	if (!data_open) {
		const struct smtp_reply *r = &replies[n - 1];
		const char *text = arena_strdup(arena, r->text);
		for (size_t i = 0; i < count; i++) {
			if (results[i].state == QUEUE_DELIVERED)
				results[i] = (struct queue_result){ due[i].address,
					r->code / 100 == 5 ? QUEUE_FAILED : QUEUE_PENDING, text };
		}
		ret = queue_command(s, "RSET\r\n", QUEUE_COMMAND_MS, &reply);
		goto out;
	}
	buf_clear(&line);
	smtp_dot_stuff(&line, data, entry->size);
	if (smtp_conn_write(s->conn, line.data, line.len, QUEUE_DATA_BLOCK_MS, s->error,
			    sizeof(s->error)) < 0 ||
	    smtp_conn_read(s->conn, QUEUE_DATA_END_MS, &reply, s->error, sizeof(s->error)) < 0)
		goto out;
	const char *text = arena_strdup(arena, reply.text);
	for (size_t i = 0; i < count; i++) {
		if (results[i].state != QUEUE_DELIVERED)
			continue;
		results[i].reply = text;
		if (reply.code / 100 != 2)
			results[i].state = reply.code / 100 == 5 ? QUEUE_FAILED : QUEUE_PENDING;
	}
	ret = 0;
out:
	free(replies);
	buf_free(&line);
	return ret;
}

/* ---- bounces ---------------------------------------------------------------------- */

/* The recipient of entry named address, or NULL. */
static const struct queue_recipient *queue_entry_find(const struct queue_entry *entry,
						      const char *address)
{
	for (size_t i = 0; i < entry->count; i++) {
		if (strcmp(entry->recipients[i].address, address) == 0)
			return &entry->recipients[i];
	}
	return NULL;
}

/* Tell message_id's sender what this attempt settled (RFC 3461 §5.2, one
 * RFC 3464 report for all of it): recipients that failed (unless their
 * NOTIFY excludes FAILURE), that a server without DSN accepted while they
 * asked for SUCCESS ("relayed", §5.2.2 b), and that are still pending
 * after dsn_delay (once, when their NOTIFY allows DELAY, §5.2.5). Then
 * mark failures reported and drop the message when nobody is pending.
 * Never to an empty sender (RFC 3461 §5.2, RFC 5321 §4.5.5). Failures are
 * reported at least once (a crash before queue_settle repeats them);
 * "relayed" and "delayed" at most once. */
static void queue_report(struct queue_worker *w, int64_t message_id,
			 const struct queue_result *results, size_t result_count, bool peer_dsn)
{
	struct queue_runner *runner = w->runner;
	struct arena *arena = arena_new();
	struct queue_entry entry;
	const char *data, *error;
	long long now = (long long)time(NULL);

	pthread_mutex_lock(&runner->settle_lock);
	if (queue_recipients_list(w->queue, message_id, arena, &entry, &error) < 0)
		goto out;
	struct dsn_recipient *rcpts = arena_alloc(arena, (entry.count + 1) * sizeof(*rcpts));
	const char **delayed = arena_alloc(arena, (entry.count + 1) * sizeof(*delayed));
	size_t n = 0, ndelayed = 0;
	for (size_t i = 0; i < entry.count; i++) {
		const struct queue_recipient *r = &entry.recipients[i];
		if (r->state == QUEUE_FAILED) {
			if (dsn_notify_wants(r->notify, DSN_NOTIFY_FAILURE))
				rcpts[n++] = (struct dsn_recipient){ r->address, r->orcpt,
					DSN_ACTION_FAILED, r->last_reply };
		} else if (r->state == QUEUE_PENDING && !r->delay_reported &&
			   now - entry.created >= (long long)runner->config->dsn_delay &&
			   dsn_notify_wants(r->notify, DSN_NOTIFY_DELAY)) {
			rcpts[n++] = (struct dsn_recipient){ r->address, r->orcpt,
				DSN_ACTION_DELAYED, r->last_reply };
			delayed[ndelayed++] = r->address;
		}
	}
	for (size_t i = 0; i < result_count && !peer_dsn; i++) {
		const struct queue_recipient *r = queue_entry_find(&entry, results[i].address);
		if (results[i].state == QUEUE_DELIVERED && r != NULL &&
		    (r->notify & DSN_NOTIFY_SUCCESS))
			rcpts[n++] = (struct dsn_recipient){ r->address, r->orcpt,
				DSN_ACTION_RELAYED, results[i].reply };
	}
	if (n > 0 && entry.sender[0] != '\0') {
		struct queue_entry full;
		struct buf dsn = BUF_INIT;
		if (queue_message_get(w->queue, message_id, arena, &full, &data, &error) < 0)
			goto out;
		struct dsn_report report = {
			.hostname = runner->config->hostname, .sender = entry.sender,
			.envid = entry.envid, .ret = (enum dsn_ret)entry.ret, .rcpts = rcpts,
			.count = n, .original = data, .original_size = full.size,
			.arrival = entry.created, .now = now,
			.retry_until = entry.created + (long long)runner->config->queue_lifetime,
		};
		dsn_build_report(&dsn, &report);
		if (queue_dsn_send(runner->config, w->store, w->queue, entry.sender, dsn.data,
				   dsn.len, entry.id, &error) < 0) {
			log_error("queue: %s: DSN to %s: %s", entry.id, entry.sender, error);
			buf_free(&dsn);
			goto out; /* failures stay FAILED: reported on the next pass */
		}
		buf_free(&dsn);
	} else if (n > 0) {
		log_info("queue: %s: sender is <>: a bounce is not bounced again, no DSN",
			 entry.id);
	}
	if (ndelayed > 0 &&
	    queue_mark_delay_reported(w->queue, message_id, delayed, ndelayed, &error) < 0)
		log_error("queue: %s", error);
	if (queue_settle(w->queue, message_id, &error) < 0)
		log_error("queue: %s", error);
out:
	pthread_mutex_unlock(&runner->settle_lock);
	arena_free(arena);
}

/* ---- one job: a domain's due recipients ----------------------------------------- */

/* Record results for message_id (logging each) and bounce what failed. */
static void queue_finish(struct queue_worker *w, int64_t message_id,
			 const struct queue_result *results, size_t count, bool peer_dsn)
{
	const char *error;
	static const char *const names[] = { "deferred", "delivered", "failed" };

	for (size_t i = 0; i < count; i++)
		log_info("queue: %lld: %s %s: %s", (long long)message_id, results[i].address,
			 names[results[i].state <= QUEUE_FAILED ? results[i].state : 2],
			 results[i].reply);
	if (queue_record(w->queue, message_id, results, count, (long long)time(NULL),
			 &error) < 0) {
		log_error("%s", error);
		return;
	}
	queue_report(w, message_id, results, count, peer_dsn);
}

/* Every recipient of the job gets the same outcome. */
static void queue_finish_all(struct queue_worker *w, struct queue_job *job,
			     enum queue_state state, const char *reply)
{
	struct queue_result *results = mem_alloc(job->count * sizeof(*results));

	for (size_t i = 0; i < job->count;) {
		size_t n = 0;
		while (i + n < job->count && job->due[i + n].message_id == job->due[i].message_id) {
			results[n] = (struct queue_result){ job->due[i + n].address, state, reply };
			n++;
		}
		queue_finish(w, job->due[i].message_id, results, n, false);
		i += n;
	}
	free(results);
}

/* The hosts to try for the job: the relay, or the domain's MX. */
static int queue_route(struct queue_worker *w, struct queue_job *job, struct dns_host *hosts,
		       size_t *count_r, unsigned *port_r, char *error, size_t errlen)
{
	struct queue_runner *runner = w->runner;

	*count_r = 0;
	if (runner->relay_host != NULL) {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
		int e = getaddrinfo(runner->relay_host, NULL, &hints, &res);
		*port_r = (unsigned)atoi(runner->relay_port);
		if (e != 0) {
			snprintf(error, errlen, "relay_host %s: %s", runner->relay_host,
				 gai_strerror(e));
			return DNS_TEMPFAIL;
		}
		memset(&hosts[0], 0, sizeof(hosts[0]));
		snprintf(hosts[0].name, sizeof(hosts[0].name), "%s", runner->relay_host);
		for (ai = res; ai != NULL && hosts[0].addr_count < DNS_HOST_ADDRS_MAX;
		     ai = ai->ai_next)
			memcpy(&hosts[0].addrs[hosts[0].addr_count++], ai->ai_addr, ai->ai_addrlen);
		freeaddrinfo(res);
		*count_r = 1;
		return 0;
	}
	*port_r = runner->config->mx_port;
	if (job->domain[0] == '\0' || job->domain[0] == '[') {
		/* Address literals (RFC 5321 §4.1.3) are not routed today. */
		snprintf(error, errlen, "550 5.1.2 cannot route to domain '%s'", job->domain);
		return DNS_PERMFAIL;
	}
	return dns_resolve_mail(&runner->resolver, job->domain, hosts, QUEUE_HOSTS_MAX, count_r,
				error, errlen);
}

static void queue_set_port(struct sockaddr_storage *ss, unsigned port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

/* Connect to the first host that takes a session. NULL conn when none. */
static void queue_connect(struct queue_session *s, struct dns_host *hosts, size_t count,
			  unsigned port)
{
	struct queue_runner *runner = s->worker->runner;

	for (size_t h = 0; h < count && !queue_stopping(runner); h++) {
		for (size_t a = 0; a < hosts[h].addr_count; a++) {
			struct sockaddr_storage *ss = &hosts[h].addrs[a];
			char addr[INET6_ADDRSTRLEN] = "?", why[QUEUE_ERROR_MAX];
			queue_set_port(ss, port);
			inet_ntop(ss->ss_family, ss->ss_family == AF_INET ?
				  (void *)&((struct sockaddr_in *)ss)->sin_addr :
				  (void *)&((struct sockaddr_in6 *)ss)->sin6_addr, addr, sizeof(addr));
			snprintf(s->host, sizeof(s->host), "%s", hosts[h].name);
			s->conn = smtp_conn_open((struct sockaddr *)ss, ss->ss_family == AF_INET ?
						 sizeof(struct sockaddr_in) :
						 sizeof(struct sockaddr_in6), runner->stop_fd,
						 QUEUE_CONNECT_MS, why, sizeof(why));
			if (s->conn != NULL && queue_session_start(s) == 0)
				return;
			if (s->conn != NULL)
				snprintf(why, sizeof(why), "%s", s->error);
			queue_note(s->error, sizeof(s->error), "%s[%s]:%u: %s", hosts[h].name, addr,
				 port, why);
			log_info("queue: %s", s->error);
			smtp_conn_close(s->conn);
			s->conn = NULL;
		}
	}
}

static void queue_run_job(struct queue_worker *w, struct queue_job *job)
{
	struct queue_runner *runner = w->runner;
	struct dns_host *hosts = mem_zalloc(QUEUE_HOSTS_MAX * sizeof(*hosts));
	struct queue_session s = { .worker = w };
	size_t host_count;
	unsigned port;
	int r;

	r = queue_route(w, job, hosts, &host_count, &port, s.error, sizeof(s.error));
	if (queue_stopping(runner))
		goto out;
	if (r < 0) {
		queue_finish_all(w, job, r == DNS_PERMFAIL ? QUEUE_FAILED : QUEUE_PENDING, s.error);
		goto out;
	}
	queue_connect(&s, hosts, host_count, port);
	if (s.conn == NULL) {
		if (!queue_stopping(runner))
			queue_finish_all(w, job, QUEUE_PENDING, s.error);
		goto out;
	}
	for (size_t i = 0; i < job->count;) {
		struct arena *arena = arena_new();
		struct queue_entry entry;
		struct queue_result results[QUEUE_RCPT_MAX];
		const char *data, *error;
		size_t n = 0;
		while (i + n < job->count && n < QUEUE_RCPT_MAX &&
		       job->due[i + n].message_id == job->due[i].message_id)
			n++;
		r = queue_message_get(w->queue, job->due[i].message_id, arena, &entry, &data, &error);
		if (r == 0) {
			if (queue_send_message(&s, &entry, data, &job->due[i], n, results, arena) < 0) {
				/* The connection broke: this message is deferred; the
				 * rest stay due and get a new connection next scan. */
				if (!queue_stopping(runner)) {
					for (size_t k = 0; k < n; k++)
						results[k] = (struct queue_result){
							job->due[i + k].address, QUEUE_PENDING,
							arena_printf(arena, "%s: %s", s.host, s.error) };
					queue_finish(w, job->due[i].message_id, results, n,
						     false);
				}
				arena_free(arena);
				smtp_conn_close(s.conn);
				s.conn = NULL;
				break;
			}
			queue_finish(w, job->due[i].message_id, results, n, s.dsn);
		} else if (r != -2) {
			log_error("%s", error);
		}
		arena_free(arena);
		i += n;
	}
	if (s.conn != NULL && !queue_stopping(runner)) {
		struct smtp_reply reply;
		(void)queue_command(&s, "QUIT\r\n", QUEUE_COMMAND_MS, &reply);
	}
out:
	if (s.conn != NULL && s.error[0] != '\0' && !queue_stopping(runner))
		log_info("queue: %s: %s", job->domain, s.error);
	smtp_conn_close(s.conn);
	free(hosts);
}

/* ---- threads -------------------------------------------------------------------- */

static void *queue_worker_main(void *context)
{
	struct queue_worker *w = context;
	struct queue_runner *runner = w->runner;

	for (;;) {
		pthread_mutex_lock(&runner->lock);
		while (!runner->stopping && runner->jobs == NULL)
			pthread_cond_wait(&runner->cond, &runner->lock);
		if (runner->stopping) {
			pthread_mutex_unlock(&runner->lock);
			break;
		}
		struct queue_job *job = runner->jobs;
		runner->jobs = job->next;
		if (runner->jobs == NULL)
			runner->jobs_tail = NULL;
		pthread_mutex_unlock(&runner->lock);

		queue_run_job(w, job);

		pthread_mutex_lock(&runner->lock);
		queue_busy_remove(runner, job->domain);
		pthread_mutex_unlock(&runner->lock);
		queue_job_free(job);
	}
	queue_close(w->queue);
	store_close(w->store);
	free(w);
	return NULL;
}

/* One scan: hand every due domain that nobody works on to the workers. */
static void queue_schedule(struct queue_runner *runner, struct queue *queue)
{
	struct arena *arena = arena_new();
	struct queue_due *due;
	size_t count;
	const char *error;

	if (queue_due_list(queue, (long long)time(NULL), arena, &due, &count, &error) < 0) {
		log_error("%s", error);
		arena_free(arena);
		return;
	}
	pthread_mutex_lock(&runner->lock);
	for (size_t i = 0; i < count;) {
		size_t n = 0, messages = 0;
		while (i + n < count && strcmp(due[i + n].domain, due[i].domain) == 0) {
			if (n == 0 || due[i + n].message_id != due[i + n - 1].message_id)
				messages++;
			if (messages > QUEUE_JOB_MESSAGES_MAX)
				break;
			n++;
		}
		size_t skip = n;
		while (i + skip < count && strcmp(due[i + skip].domain, due[i].domain) == 0)
			skip++;
		if (!queue_busy_has(runner, due[i].domain)) {
			struct queue_job *job = mem_zalloc(sizeof(*job));
			job->domain = mem_strdup(due[i].domain);
			job->due = mem_alloc(n * sizeof(*job->due));
			job->count = n;
			for (size_t k = 0; k < n; k++) {
				job->due[k] = due[i + k];
				job->due[k].address = mem_strdup(due[i + k].address);
				job->due[k].domain = mem_strdup(due[i + k].domain);
				job->due[k].orcpt = due[i + k].orcpt != NULL ?
					mem_strdup(due[i + k].orcpt) : NULL;
			}
			if (runner->busy_count == runner->busy_cap) {
				runner->busy_cap = runner->busy_cap ? runner->busy_cap * 2 : 16;
				runner->busy = mem_realloc(runner->busy,
							   runner->busy_cap * sizeof(char *));
			}
			runner->busy[runner->busy_count++] = mem_strdup(due[i].domain);
			if (runner->jobs_tail != NULL)
				runner->jobs_tail->next = job;
			else
				runner->jobs = job;
			runner->jobs_tail = job;
			pthread_cond_signal(&runner->cond);
		}
		i += skip;
	}
	pthread_mutex_unlock(&runner->lock);
	arena_free(arena);
}

static void *queue_scheduler_main(void *context)
{
	struct queue_runner *runner = context;
	struct queue *queue;
	const char *error;

	if (queue_open(runner->config, &queue, &error) < 0) {
		log_error("%s; outbound mail stays queued", error);
		return NULL;
	}
	for (;;) {
		struct pollfd pfd = { runner->stop_fd, POLLIN, 0 };
		queue_schedule(runner, queue);
		if (poll(&pfd, 1, QUEUE_POLL_MS) > 0)
			break;
	}
	queue_close(queue);
	return NULL;
}

/* The relay password: the first line of relay_password_file. */
static char *queue_read_password(const char *path, const char **error_r)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL) {
		*error_r = strerror(errno);
		return NULL;
	}
	n = getline(&line, &cap, f);
	fclose(f);
	if (n < 0) {
		free(line);
		*error_r = "empty file";
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

/* "host:port" / "[v6]:port" (config.c checked the form). */
static void queue_split_relay(struct queue_runner *runner, const char *value)
{
	const char *colon = strrchr(value, ':');

	if (value[0] == '[')
		runner->relay_host = mem_strndup(value + 1, (size_t)(colon - value - 2));
	else
		runner->relay_host = mem_strndup(value, (size_t)(colon - value));
	runner->relay_port = mem_strdup(colon + 1);
}

static void queue_runner_free(struct queue_runner *runner)
{
	while (runner->jobs != NULL) {
		struct queue_job *job = runner->jobs;
		runner->jobs = job->next;
		queue_job_free(job);
	}
	for (size_t i = 0; i < runner->busy_count; i++)
		free(runner->busy[i]);
	free(runner->busy);
	if (runner->relay_password != NULL)
		memset(runner->relay_password, 0, strlen(runner->relay_password));
	free(runner->relay_password);
	free(runner->relay_host);
	free(runner->relay_port);
	SSL_CTX_free(runner->tls);
	SSL_CTX_free(runner->relay_tls);
	if (runner->stop_fd >= 0)
		close(runner->stop_fd);
	pthread_mutex_destroy(&runner->lock);
	pthread_mutex_destroy(&runner->settle_lock);
	pthread_cond_destroy(&runner->cond);
	free(runner);
}

struct queue_runner *queue_runner_start(const struct config *config, struct store_bus *bus,
					const char **error_r)
{
	static char error[512];
	struct queue_runner *runner = mem_zalloc(sizeof(*runner));
	const char *why = "";

	runner->config = config;
	runner->bus = bus;
	pthread_mutex_init(&runner->lock, NULL);
	pthread_mutex_init(&runner->settle_lock, NULL);
	pthread_cond_init(&runner->cond, NULL);
	runner->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (runner->stop_fd < 0) {
		*error_r = "queue: eventfd failed";
		goto fail;
	}
	if (dns_resolver_init(&runner->resolver, config->dns_resolver, runner->stop_fd,
			      error_r) < 0)
		goto fail;
	if (config->relay_host != NULL)
		queue_split_relay(runner, config->relay_host);
	if (config->relay_password_file != NULL) {
		runner->relay_password = queue_read_password(config->relay_password_file, &why);
		if (runner->relay_password == NULL) {
			snprintf(error, sizeof(error), "queue: relay_password_file %s: %s",
				 config->relay_password_file, why);
			*error_r = error;
			goto fail;
		}
	}
	/* Opportunistic TLS (RFC 3207) towards MX hosts: certificates are not
	 * checked, as is common practice (RFC 7435); an attacker in the path
	 * can still strip STARTTLS. TLS 1.2+ only (rule 8). */
	runner->tls = SSL_CTX_new(TLS_client_method());
	if (runner->tls == NULL) {
		*error_r = "queue: cannot create the TLS client context";
		goto fail;
	}
	SSL_CTX_set_min_proto_version(runner->tls, TLS1_2_VERSION);
	SSL_CTX_set_verify(runner->tls, SSL_VERIFY_NONE, NULL);
	/* relay_host is a server we chose and send our mail (and password)
	 * to: its chain must lead to the system's CAs or relay_tls_ca_file and
	 * it must be named relay_host, unless relay_tls_insecure says not. A
	 * refused certificate is a temporary failure: the mail stays queued. */
	if (config->relay_host != NULL) {
		runner->relay_tls = SSL_CTX_new(TLS_client_method());
		if (runner->relay_tls == NULL) {
			*error_r = "queue: cannot create the TLS client context";
			goto fail;
		}
		SSL_CTX_set_min_proto_version(runner->relay_tls, TLS1_2_VERSION);
		SSL_CTX_set_verify(runner->relay_tls, config->relay_tls_insecure ?
				   SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
		if (config->relay_tls_ca_file != NULL ?
		    SSL_CTX_load_verify_locations(runner->relay_tls, config->relay_tls_ca_file,
						  NULL) != 1 :
		    SSL_CTX_set_default_verify_paths(runner->relay_tls) != 1) {
			snprintf(error, sizeof(error), "queue: cannot load the CA certificates %s",
				 config->relay_tls_ca_file != NULL ? config->relay_tls_ca_file :
				 "of the system");
			*error_r = error;
			goto fail;
		}
	}

	struct store_settings settings;

	store_settings_from_config(config, &settings);
	for (size_t i = 0; i < QUEUE_RUNNER_WORKERS; i++) {
		struct queue_worker *w = mem_zalloc(sizeof(*w));
		w->runner = runner;
		bool opened = queue_open(config, &w->queue, error_r) == 0 &&
			      store_open(&settings, bus, &w->store, error_r) == 0;
		if (opened)
			store_quota_set_default(w->store, config_quota_storage_kib(config),
						config_quota_messages(config));
		if (!opened ||
		    pthread_create(&runner->workers[i], NULL, queue_worker_main, w) != 0) {
			snprintf(error, sizeof(error), "%s", *error_r ? *error_r : "pthread_create");
			*error_r = error;
			queue_close(w->queue);
			if (w->store != NULL)
				store_close(w->store);
			free(w);
			queue_runner_stop(runner);
			return NULL;
		}
		runner->worker_count++;
	}
	if (pthread_create(&runner->scheduler, NULL, queue_scheduler_main, runner) != 0) {
		*error_r = "queue: cannot start the scheduler thread";
		queue_runner_stop(runner);
		return NULL;
	}
	runner->scheduler_started = true;
	log_info("queue: runner started (%s)", config->relay_host != NULL ?
		 "via relay_host" : "direct to MX");
	return runner;
fail:
	queue_runner_free(runner);
	return NULL;
}

void queue_runner_stop(struct queue_runner *runner)
{
	uint64_t one = 1;

	if (runner == NULL)
		return;
	if (write(runner->stop_fd, &one, sizeof(one)) != sizeof(one))
		log_warn("queue: cannot signal the runner to stop");
	pthread_mutex_lock(&runner->lock);
	runner->stopping = true;
	pthread_cond_broadcast(&runner->cond);
	pthread_mutex_unlock(&runner->lock);
	if (runner->scheduler_started)
		pthread_join(runner->scheduler, NULL);
	for (size_t i = 0; i < runner->worker_count; i++)
		pthread_join(runner->workers[i], NULL);
	queue_runner_free(runner);
}
