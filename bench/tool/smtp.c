/*
 * smtp: an SMTP (RFC 5321) and LMTP (RFC 2033) client session, and the
 * deliver scenario built on it.
 *
 * A session says EHLO (LHLO for LMTP) once, then runs transactions one
 * after the other on the same connection: MAIL FROM, one RCPT TO per
 * recipient, DATA, the message, "." — without PIPELINING, as most MTAs
 * talking to a final destination do. The reply to the final "." (one per
 * accepted recipient over LMTP, RFC 2033 §4.2) ends a transaction; its
 * latency runs from MAIL FROM to the last of those replies. Every reply
 * that is not the expected 2xx/354 is an error.
 *
 * Two users: the deliver scenario (N sessions, as many messages as asked
 * or as fit in the duration), and the idle scenario's sender (one session
 * on the IMAP clients' loop that delivers a message to many accounts).
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* Recipients per transaction: under every server's default limit (Postfix
 * smtpd_recipient_limit 1000, RFC 5321 §4.5.3.1.8 asks at least 100). */
#define SMTP_RCPT_PER_TRANSACTION 50
/* A reply line longer than this is not SMTP (RFC 5321 §4.5.3.1.5: 512). */
#define SMTP_REPLY_MAX 4096

enum smtp_state {
	SMTP_GREETING,
	SMTP_EHLO,
	SMTP_READY,   /* between transactions, waiting for work */
	SMTP_MAIL,
	SMTP_RCPT,
	SMTP_DATA,
	SMTP_DOT,
	SMTP_QUIT,
};

struct smtp_work;

/* A session's work comes from its owner. */
struct smtp_owner {
	/* Fill index/first/count of the next transaction; false: none now. */
	bool (*next)(struct smtp_work *owner, unsigned *index, unsigned *first,
		     unsigned *count);
	/* A transaction ended: accepted recipients and errors. */
	void (*done)(struct smtp_work *owner, uint64_t start_ns, uint64_t dot_ns,
		     unsigned accepted, unsigned errors);
	/* The session is gone; clean says whether it ended with QUIT. */
	void (*gone)(struct smtp_work *owner, bool clean);
};

struct smtp_work {
	const struct smtp_owner *owner;
	const struct bench_options *options;
	struct bench_loop *loop;
};

struct smtp_session {
	struct smtp_work *work;
	struct bench_conn *conn;
	enum smtp_state state;
	unsigned index, first, count, sent, accepted, errors, replies_due;
	uint64_t start_ns, dot_ns;
	bool quit_sent;
	struct buf message;
};

static void smtp_connected(struct bench_conn *conn);
static void smtp_input(struct bench_conn *conn);
static void smtp_closed(struct bench_conn *conn, const char *why);

static const struct bench_conn_handler smtp_handler = {
	.connected = smtp_connected,
	.input = smtp_input,
	.closed = smtp_closed,
};

void bench_account_name(const struct bench_options *options, unsigned i, char *out)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(out, BENCH_TEXT_MAX, options->user_format, i);
#pragma GCC diagnostic pop
}

static struct smtp_session *smtp_session_open(struct smtp_work *work)
{
	struct smtp_session *s = mem_zalloc(sizeof(*s));
	const struct sockaddr_in *addr =
		strcmp(work->options->scenario, "idle") == 0 ? &work->options->deliver_addr
							      : &work->options->addr;

	s->work = work;
	s->conn = bench_conn_open(work->loop, addr, false, &smtp_handler, s);
	if (!s->conn) {
		perror("buzon-bench: connect");
		free(s);
		return NULL;
	}
	return s;
}

static void smtp_connected(struct bench_conn *conn)
{
	(void)conn; /* the greeting comes first */
}

/* Begin the next transaction, or QUIT when the owner has no more work. */
static void smtp_start(struct smtp_session *s)
{
	char rcpt[BENCH_TEXT_MAX];

	if (!s->work->owner->next(s->work, &s->index, &s->first, &s->count)) {
		if (s->work->loop->stopping || strcmp(s->work->options->scenario, "idle") != 0) {
			s->state = SMTP_QUIT;
			s->quit_sent = true;
			bench_conn_printf(s->conn, "QUIT\r\n");
		} else {
			s->state = SMTP_READY;
		}
		return;
	}
	s->sent = s->accepted = s->errors = 0;
	buf_clear(&s->message);
	bench_account_name(s->work->options, s->first, rcpt);
	bench_message_generate(&s->message, s->work->options->seed, s->index,
			       s->work->options->message_size, rcpt);
	s->start_ns = bench_now_ns();
	s->state = SMTP_MAIL;
	/* No SIZE parameter: Dovecot's LMTP refuses it (555 5.5.4). */
	bench_conn_printf(s->conn, "MAIL FROM:<bench@%s>\r\n", s->work->options->domain);
}

static void smtp_send_rcpt(struct smtp_session *s)
{
	char rcpt[BENCH_TEXT_MAX];

	bench_account_name(s->work->options, (s->first + s->sent) % s->work->options->accounts,
			   rcpt);
	s->sent++;
	bench_conn_printf(s->conn, "RCPT TO:<%s>\r\n", rcpt);
}

/* The transaction failed before DATA: count, reset and go on. */
static void smtp_fail(struct smtp_session *s, const char *line)
{
	fprintf(stderr, "buzon-bench: %s: unexpected SMTP reply: %.200s\n",
		s->work->options->label, line);
	s->errors++;
	s->work->owner->done(s->work, s->start_ns, s->dot_ns, s->accepted, s->errors);
	bench_conn_printf(s->conn, "RSET\r\n");
	s->state = SMTP_EHLO; /* RSET's 250 leads to the next transaction */
}

/* One complete reply (the last line of a multi-line one): code and text. */
static void smtp_reply(struct smtp_session *s, int code, const char *line)
{
	bool lmtp = s->work->options->deliver_lmtp;

	switch (s->state) {
	case SMTP_GREETING:
		if (code != 220)
			goto broken;
		s->state = SMTP_EHLO;
		bench_conn_printf(s->conn, "%s client.%s\r\n", lmtp ? "LHLO" : "EHLO",
				  s->work->options->domain);
		return;
	case SMTP_EHLO:
		if (code != 250)
			goto broken;
		smtp_start(s);
		return;
	case SMTP_READY:
		goto broken;
	case SMTP_MAIL:
		if (code != 250) {
			smtp_fail(s, line);
			return;
		}
		s->state = SMTP_RCPT;
		smtp_send_rcpt(s);
		return;
	case SMTP_RCPT:
		if (code == 250 || code == 251) {
			s->accepted++;
		} else {
			fprintf(stderr, "buzon-bench: %s: RCPT refused: %.200s\n",
				s->work->options->label, line);
			s->errors++;
		}
		if (s->sent < s->count) {
			smtp_send_rcpt(s);
			return;
		}
		if (s->accepted == 0) {
			smtp_fail(s, line);
			return;
		}
		s->state = SMTP_DATA;
		bench_conn_printf(s->conn, "DATA\r\n");
		return;
	case SMTP_DATA:
		if (code != 354) {
			smtp_fail(s, line);
			return;
		}
		s->state = SMTP_DOT;
		s->replies_due = lmtp ? s->accepted : 1;
		bench_conn_write(s->conn, s->message.data, s->message.len);
		bench_conn_write(s->conn, ".\r\n", 3);
		s->dot_ns = bench_now_ns();
		return;
	case SMTP_DOT:
		if (code != 250) {
			fprintf(stderr, "buzon-bench: %s: message refused: %.200s\n",
				s->work->options->label, line);
			s->errors++;
			if (!lmtp)
				s->accepted = 0;
			else
				s->accepted--;
		}
		if (--s->replies_due > 0)
			return;
		s->work->owner->done(s->work, s->start_ns, s->dot_ns, s->accepted, s->errors);
		smtp_start(s);
		return;
	case SMTP_QUIT:
		bench_conn_close(s->conn, NULL);
		return;
	}
broken:
	fprintf(stderr, "buzon-bench: %s: unexpected SMTP reply in state %d: %.200s\n",
		s->work->options->label, (int)s->state, line);
	s->errors++;
	s->work->owner->done(s->work, s->start_ns, s->dot_ns, 0, s->errors);
	bench_conn_close(s->conn, NULL);
}

static void smtp_input(struct bench_conn *conn)
{
	struct smtp_session *s = conn->context;

	while (!conn->closing) {
		char *end = memchr(conn->in.data, '\n', conn->in.len);
		size_t len;

		if (!end) {
			if (conn->in.len > SMTP_REPLY_MAX)
				bench_conn_close(conn, "reply line too long");
			return;
		}
		len = (size_t)(end - conn->in.data);
		*end = '\0';
		if (len > 0 && conn->in.data[len - 1] == '\r')
			conn->in.data[len - 1] = '\0';
		if (len < 3 || conn->in.data[0] < '1' || conn->in.data[0] > '5') {
			s->errors++;
			bench_conn_close(conn, "not an SMTP reply");
			return;
		}
		if (conn->in.data[3] != '-') {
			int code = atoi(conn->in.data);
			smtp_reply(s, code, conn->in.data);
		}
		if (!conn->closing)
			buf_consume(&conn->in, len + 1);
	}
}

static void smtp_closed(struct bench_conn *conn, const char *why)
{
	struct smtp_session *s = conn->context;
	bool clean = s->quit_sent;

	if (!clean) {
		fprintf(stderr, "buzon-bench: %s: SMTP connection lost: %s\n",
			s->work->options->label, why ? why : "closed");
		if (s->state == SMTP_MAIL || s->state == SMTP_RCPT || s->state == SMTP_DATA ||
		    s->state == SMTP_DOT)
			s->work->owner->done(s->work, s->start_ns, s->dot_ns, 0, s->errors + 1);
	}
	buf_free(&s->message);
	s->work->owner->gone(s->work, clean);
	free(s);
}

/* ---- the deliver scenario --------------------------------------------------------- */

struct deliver_run {
	struct smtp_work work;
	struct bench_stat stat;
	unsigned next_index;
	unsigned sessions;
	uint64_t delivered;   /* recipients accepted at the final "." */
	uint64_t errors;
	uint64_t start_ns, end_ns;
	bool timed_out;
};

static bool deliver_next(struct smtp_work *work, unsigned *index, unsigned *first,
			 unsigned *count)
{
	struct deliver_run *run = (struct deliver_run *)work;
	const struct bench_options *o = work->options;

	if (o->messages ? run->next_index >= o->messages : work->loop->now_ns >= run->end_ns)
		return false;
	*index = run->next_index++;
	*first = *index % o->accounts;
	*count = 1;
	return true;
}

static void deliver_done(struct smtp_work *work, uint64_t start_ns, uint64_t dot_ns,
			 unsigned accepted, unsigned errors)
{
	struct deliver_run *run = (struct deliver_run *)work;

	run->errors += errors;
	run->stat.errors += errors;
	if (accepted > 0) {
		run->delivered += accepted;
		bench_stat_add(&run->stat, start_ns, bench_now_ns());
	}
}

static void deliver_gone(struct smtp_work *work, bool clean)
{
	struct deliver_run *run = (struct deliver_run *)work;

	if (--run->sessions == 0)
		work->loop->stopping = true;
}

static const struct smtp_owner deliver_owner = {
	.next = deliver_next,
	.done = deliver_done,
	.gone = deliver_gone,
};

/* A safety net: a run with a message count stops anyway after this many
 * seconds more than its duration (a server that stops answering). */
static void deliver_tick(struct bench_loop *loop, void *context)
{
	struct deliver_run *run = context;

	if (loop->now_ns > run->end_ns + 600ull * 1000000000u) {
		fprintf(stderr, "buzon-bench: deliver: no end after 10 minutes, giving up\n");
		run->timed_out = true;
		loop->stopping = true;
	}
}

long bench_smtp_deliver(const struct bench_options *options)
{
	struct bench_loop loop;
	struct deliver_run run;
	double seconds;

	if (bench_loop_init(&loop) < 0) {
		perror("buzon-bench: epoll");
		return -1;
	}
	memset(&run, 0, sizeof(run));
	run.work.owner = &deliver_owner;
	run.work.options = options;
	run.work.loop = &loop;
	run.stat.name = "deliver";
	run.start_ns = bench_now_ns();
	run.end_ns = run.start_ns + (uint64_t)(options->duration * 1e9);
	loop.tick = deliver_tick;
	loop.tick_context = &run;
	loop.tick_ms = 200;
	for (unsigned i = 0; i < options->clients; i++) {
		if (smtp_session_open(&run.work))
			run.sessions++;
		else
			run.errors++;
	}
	if (run.sessions > 0 && bench_loop_run(&loop) < 0) {
		perror("buzon-bench: epoll_wait");
		run.errors++;
	}
	seconds = (double)(bench_now_ns() - run.start_ns) / 1e9;
	bench_report(options, "deliver.seconds", seconds, "s");
	bench_report(options, "deliver.messages", (double)run.delivered, "count");
	bench_report(options, "deliver.msgs_per_s", (double)run.delivered / seconds, "msg/s");
	if (run.stat.count > 0) {
		bench_report(options, "deliver.p50_ms", bench_stat_percentile(&run.stat, 50) / 1000.0,
			     "ms");
		bench_report(options, "deliver.p99_ms", bench_stat_percentile(&run.stat, 99) / 1000.0,
			     "ms");
	}
	if (options->messages && run.delivered != options->messages) {
		fprintf(stderr, "buzon-bench: deliver: %llu of %u messages accepted\n",
			(unsigned long long)run.delivered, options->messages);
		if (run.errors == 0)
			run.errors++;
	}
	bench_report(options, "deliver.errors", (double)run.errors, "count");
	bench_stat_free(&run.stat);
	bench_loop_fini(&loop);
	return (long)run.errors;
}

/* ---- the idle scenario's sender ------------------------------------------------------ */

struct bench_smtp_sender {
	struct smtp_work work;
	struct smtp_session *session;
	bool pending;          /* a message waits to be sent */
	unsigned index, count, sent_to, accepted, errors;
	uint64_t dot_ns;       /* the first transaction's "." */
	void (*done)(void *context, unsigned errors, uint64_t dot_ns);
	void *context;
};

static bool sender_next(struct smtp_work *work, unsigned *index, unsigned *first,
			unsigned *count)
{
	struct bench_smtp_sender *sender = (struct bench_smtp_sender *)work;
	unsigned left;

	if (!sender->pending || sender->sent_to >= sender->count)
		return false;
	left = sender->count - sender->sent_to;
	*index = sender->index;
	*first = sender->sent_to;
	*count = left < SMTP_RCPT_PER_TRANSACTION ? left : SMTP_RCPT_PER_TRANSACTION;
	sender->sent_to += *count;
	return true;
}

static void sender_done(struct smtp_work *work, uint64_t start_ns, uint64_t dot_ns,
			unsigned accepted, unsigned errors)
{
	struct bench_smtp_sender *sender = (struct bench_smtp_sender *)work;

	if (sender->dot_ns == 0)
		sender->dot_ns = dot_ns;
	sender->accepted += accepted;
	sender->errors += errors;
	if (sender->sent_to >= sender->count || errors > 0) {
		sender->pending = false;
		sender->done(sender->context, sender->errors, sender->dot_ns);
	}
}

static void sender_gone(struct smtp_work *work, bool clean)
{
	struct bench_smtp_sender *sender = (struct bench_smtp_sender *)work;

	sender->session = NULL;
	if (sender->pending) {
		sender->pending = false;
		sender->done(sender->context, sender->errors + 1, sender->dot_ns);
	}
}

static const struct smtp_owner sender_owner = {
	.next = sender_next,
	.done = sender_done,
	.gone = sender_gone,
};

struct bench_smtp_sender *bench_smtp_sender_new(struct bench_loop *loop,
						const struct bench_options *options)
{
	struct bench_smtp_sender *sender = mem_zalloc(sizeof(*sender));

	sender->work.owner = &sender_owner;
	sender->work.options = options;
	sender->work.loop = loop;
	sender->session = smtp_session_open(&sender->work);
	if (!sender->session) {
		free(sender);
		return NULL;
	}
	return sender;
}

int bench_smtp_sender_send(struct bench_smtp_sender *sender, unsigned index, unsigned count,
			   void (*done)(void *context, unsigned errors, uint64_t dot_ns),
			   void *context)
{
	if (!sender->session || sender->pending)
		return -1;
	sender->pending = true;
	sender->index = index;
	sender->count = count;
	sender->sent_to = sender->accepted = sender->errors = 0;
	sender->dot_ns = 0;
	sender->done = done;
	sender->context = context;
	/* Still greeting: the EHLO reply starts the transaction. */
	if (sender->session->state == SMTP_READY)
		smtp_start(sender->session);
	return 0;
}

void bench_smtp_sender_free(struct bench_smtp_sender *sender)
{
	if (sender->session) {
		sender->session->quit_sent = true;
		bench_conn_close(sender->session->conn, NULL);
	}
	free(sender);
}
