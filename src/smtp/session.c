/*
 * session: one SMTP/LMTP connection (see session.h): the greeting, reading
 * input in its current mode, replies, limits, shutdown and lifetime.
 *
 * PIPELINING (RFC 2920) needs nothing special: commands are taken from the
 * input buffer one after the other and each reply is queued at once, so a
 * client that sends MAIL, RCPTs and DATA in one packet gets their replies
 * together. A client that pipelines without reading its replies is held
 * back when the output queue passes SMTP_OUTPUT_HIGH_WATER (rule 5).
 */
#include "smtp/session.h"
#include "core/log.h"
#include "core/mem.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* RFC 5321 §4.5.3.2.7: a server should wait at least 5 minutes for the
 * next command: config smtp_timeout, 5 min by default. RFC 5321
 * §4.5.3.2.5, §4.5.3.2.6: 3 minutes per data block and 10 for the end of
 * data; we allow twice smtp_timeout (10 min) between any two blocks of
 * DATA or BDAT. On expiry the client gets 421 4.4.2 (§3.8) and we close.
 * The conn's own idle timeout stays armed a little later, as a backstop
 * for a client that does not read the 421. */
#define SMTP_TIMEOUT_COMMAND_MS(s) ((uint64_t)(s)->config->smtp_timeout * 1000)
#define SMTP_TIMEOUT_DATA_MS(s) (2 * SMTP_TIMEOUT_COMMAND_MS(s))
#define SMTP_TIMEOUT_BACKSTOP_MS (30 * 1000)
/* A client that earns this many error replies is not sending mail, it is
 * probing (addresses, passwords) or confused: 421 and close (Postfix's
 * smtpd_hard_error_limit is 20 too). */
#define SMTP_MAX_ERRORS 20
/* Stop reading pipelined commands above this many queued reply bytes. */
#define SMTP_OUTPUT_HIGH_WATER (64 * 1024)

static void session_on_input(struct conn *conn, void *context);
static void session_on_drained(struct conn *conn, void *context);
static void session_on_close(struct conn *conn, void *context);
static void session_process(struct smtp_session *s);
static void session_timeout_set(struct smtp_session *s, uint64_t ms);

static const struct conn_handler session_handler = {
	.on_input = session_on_input,
	.on_drained = session_on_drained,
	.on_close = session_on_close,
};

/* Session ids for logs and Received: unique within a process run and,
 * with the start time, across runs. */
static atomic_uint_fast64_t session_counter;

void smtp_session_start(struct smtp_loop *sloop, int fd, bool implicit_tls)
{
	struct smtp_session *s = mem_zalloc(sizeof(*s));
	struct smtp_server *server = sloop->server;

	s->sloop = sloop;
	s->config = server->config;
	s->next = sloop->sessions;
	if (s->next != NULL)
		s->next->prev = s;
	sloop->sessions = s;
	sloop->session_count++;
	s->arena = arena_new();
	s->txn_arena = arena_new();
	s->line_arena = arena_new();
	s->input = SMTP_INPUT_COMMAND;
	snprintf(s->id, sizeof(s->id), "%llx%llx", (unsigned long long)time(NULL),
		 (unsigned long long)atomic_fetch_add(&session_counter, 1));
	s->conn = conn_new(sloop->loop, fd, implicit_tls ? server->tls : NULL, &session_handler, s);
	session_timeout_set(s, SMTP_TIMEOUT_COMMAND_MS(s));
	log_debug("smtp: %s: connection from %s", s->id, conn_peer_address(s->conn));
	/* RFC 5321 §4.2, RFC 2033 §4.1: the greeting names us and the protocol. */
	smtp_reply(s, "220 %s %s buzon ready", s->config->hostname,
		   sloop->kind == SMTP_KIND_LMTP ? "LMTP" : "ESMTP");
}

static void session_free(struct smtp_session *s)
{
	struct smtp_loop *sloop = s->sloop;

	loop_post_cancel(sloop->loop, s);
	auth_request_free(s->auth); /* an exchange waiting for a line */
	if (s->timer != NULL)
		loop_timer_cancel(sloop->loop, s->timer);
	buf_free(&s->message);
	buf_free(&s->delivering);
	array_free(&s->rcpts);
	arena_free(s->line_arena);
	arena_free(s->txn_arena);
	arena_free(s->arena);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		sloop->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	sloop->session_count--;
	free(s);
	if (sloop->stopping && sloop->session_count == 0)
		sloop->on_stopped(sloop->stopped_context);
}

static void session_on_close(struct conn *conn, void *context)
{
	struct smtp_session *s = context;

	s->closed = true;
	s->conn = NULL;
	if (s->pending_work == 0)
		session_free(s);
}

bool smtp_session_work_done(struct smtp_session *s)
{
	s->pending_work--;
	if (!s->closed)
		return false;
	if (s->pending_work == 0)
		session_free(s);
	return true;
}

/* ---- replies ------------------------------------------------------------------ */

void smtp_write(struct smtp_session *s, const char *text)
{
	if (s->conn != NULL && !s->closing)
		conn_write_str(s->conn, text);
}

void smtp_close(struct smtp_session *s)
{
	s->closing = true;
	if (s->conn != NULL)
		conn_close(s->conn);
}

void smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	memcpy(line + n, "\r\n", 3);
	smtp_write(s, line);
	if ((line[0] == '4' || line[0] == '5') && !s->closing &&
	    ++s->errors >= SMTP_MAX_ERRORS) {
		log_info("smtp: %s: too many errors from %s; closing", s->id,
			 s->conn ? conn_peer_address(s->conn) : "?");
		smtp_write(s, "421 4.7.0 Too many errors, closing connection\r\n");
		smtp_close(s);
	}
}

/* ---- state -------------------------------------------------------------------- */

void smtp_transaction_reset(struct smtp_session *s)
{
	s->sender = NULL;
	s->smtputf8 = false;
	s->declared_size = 0;
	s->dsn_ret = DSN_RET_NONE;
	s->envid = NULL;
	array_clear(&s->rcpts);
	buf_free(&s->message);
	smtp_data_init(&s->data);
	s->bdat_used = s->bdat_last = false;
	s->bdat_remaining = 0;
	s->bdat_error = NULL;
	arena_reset(s->txn_arena);
}

bool smtp_auth_allowed(struct smtp_session *s)
{
	/* Rule 8, the same rule as IMAP's LOGINDISABLED. */
	return s->conn != NULL && (conn_is_tls(s->conn) || conn_is_loopback(s->conn) ||
				   s->config->allow_plaintext_auth);
}

void smtp_input_commands(struct smtp_session *s)
{
	bool was_busy = s->input == SMTP_INPUT_BUSY;

	s->input = SMTP_INPUT_COMMAND;
	if (s->conn == NULL || s->closing)
		return;
	session_timeout_set(s, SMTP_TIMEOUT_COMMAND_MS(s));
	if (s->sloop->stopping) {
		smtp_write(s, "421 4.3.2 Service shutting down\r\n");
		smtp_close(s);
		return;
	}
	if (was_busy)
		conn_resume_input(s->conn);
}

/* ---- input --------------------------------------------------------------------- */

/* DATA: feed the un-stuffer until the end line. */
static bool session_read_data(struct smtp_session *s, struct buf *in)
{
	bool done;
	size_t n = smtp_data_feed(&s->data, in->data, in->len, &s->message,
				  s->config->max_message_size, &done);

	buf_consume(in, n);
	if (!done)
		return false;
	smtp_message_done(s);
	return true;
}

/* BDAT: take the chunk's bytes as they are (RFC 3030 §2: no stuffing). */
static bool session_read_chunk(struct smtp_session *s, struct buf *in)
{
	size_t n = in->len < s->bdat_remaining ? in->len : (size_t)s->bdat_remaining;

	if (s->bdat_error == NULL && !s->data.too_big) {
		s->data.size += n;
		if (s->data.size > s->config->max_message_size) {
			s->data.too_big = true;
			buf_free(&s->message);
		} else {
			buf_append(&s->message, in->data, n);
		}
	}
	buf_consume(in, n);
	s->bdat_remaining -= n;
	if (s->bdat_remaining > 0)
		return false;
	/* The chunk is complete: answer for it. */
	if (s->bdat_error != NULL) {
		smtp_reply(s, "%s", s->bdat_error);
		smtp_transaction_reset(s);
		smtp_input_commands(s);
	} else if (s->data.too_big) {
		smtp_reply(s, "552 5.3.4 Message too big for system");
		smtp_transaction_reset(s);
		smtp_input_commands(s);
	} else if (s->bdat_last) {
		smtp_message_done(s);
	} else {
		smtp_reply(s, "250 2.0.0 %llu octets received",
			   (unsigned long long)s->data.size);
		smtp_input_commands(s);
	}
	return true;
}

static bool session_read_line(struct smtp_session *s, struct buf *in)
{
	char *line;
	size_t len;

	arena_reset(s->line_arena);
	switch (smtp_line_take(&s->lines, in, SMTP_COMMAND_LINE_MAX, s->line_arena, &line, &len)) {
	case SMTP_LINE_NEED_MORE:
		return false;
	case SMTP_LINE_TOO_LONG:
		/* RFC 5321 §4.5.3.1.4: 500 for a line too long. */
		if (s->input == SMTP_INPUT_AUTH) {
			auth_request_free(s->auth); /* the exchange ends here */
			s->auth = NULL;
			smtp_reply(s, "501 5.5.2 Line too long");
			smtp_input_commands(s);
		} else {
			smtp_reply(s, "500 5.5.2 Line too long");
		}
		return true;
	case SMTP_LINE_OK:
		break;
	}
	if (s->input == SMTP_INPUT_AUTH)
		smtp_auth_line(s, line, len);
	else
		smtp_command(s, line, len);
	return true;
}

static void session_process(struct smtp_session *s)
{
	while (s->conn != NULL && !s->closing && s->input != SMTP_INPUT_BUSY) {
		struct buf *in = conn_input(s->conn);
		bool progress = false;

		if (conn_output_pending(s->conn) > SMTP_OUTPUT_HIGH_WATER) {
			s->input_blocked = true;
			conn_pause_input(s->conn);
			return;
		}
		switch (s->input) {
		case SMTP_INPUT_COMMAND:
		case SMTP_INPUT_AUTH:
			progress = session_read_line(s, in);
			break;
		case SMTP_INPUT_DATA:
			progress = session_read_data(s, in);
			break;
		case SMTP_INPUT_BDAT:
			progress = session_read_chunk(s, in);
			break;
		case SMTP_INPUT_BUSY:
			break;
		}
		if (!progress)
			return;
	}
	if (s->conn != NULL && s->input == SMTP_INPUT_BUSY)
		conn_pause_input(s->conn);
}

/* ---- timeouts ------------------------------------------------------------------ */

static void session_on_timer(struct loop *loop, void *context)
{
	struct smtp_session *s = context;
	uint64_t now = loop_now_ms(loop);
	uint64_t idle = now - s->last_input;

	s->timer = NULL;
	if (s->conn == NULL || s->closing)
		return;
	/* A command of ours is running (a delivery, a password check): the
	 * client is waiting for us, not the reverse. */
	if (s->input == SMTP_INPUT_BUSY) {
		s->last_input = now;
		idle = 0;
	}
	if (idle < s->timeout_ms) {
		s->timer = loop_timer_add(loop, s->timeout_ms - idle, session_on_timer, s);
		return;
	}
	log_info("smtp: %s: %s silent for %llu s, closing", s->id, conn_peer_address(s->conn),
		 (unsigned long long)(idle / 1000));
	char line[320];
	snprintf(line, sizeof(line), "421 4.4.2 %s Timeout exceeded, closing connection\r\n",
		 s->config->hostname);
	smtp_write(s, line);
	smtp_close(s);
}

/* Like conn_set_idle_timeout: activity only moves last_input, and the
 * timer, when it fires, re-arms for what is left. */
static void session_timeout_set(struct smtp_session *s, uint64_t ms)
{
	struct loop *loop = s->sloop->loop;

	if (s->conn == NULL)
		return;
	s->last_input = loop_now_ms(loop);
	conn_set_idle_timeout(s->conn, ms + SMTP_TIMEOUT_BACKSTOP_MS);
	if (s->timer != NULL && ms >= s->timeout_ms) {
		s->timeout_ms = ms;
		return;
	}
	if (s->timer != NULL)
		loop_timer_cancel(loop, s->timer);
	s->timeout_ms = ms;
	s->timer = loop_timer_add(loop, ms, session_on_timer, s);
}

void smtp_session_data_timeout(struct smtp_session *s)
{
	session_timeout_set(s, SMTP_TIMEOUT_DATA_MS(s));
}

static void session_on_input(struct conn *conn, void *context)
{
	struct smtp_session *s = context;

	s->last_input = loop_now_ms(s->sloop->loop);
	session_process(s);
}

static void session_on_drained(struct conn *conn, void *context)
{
	struct smtp_session *s = context;

	if (s->input_blocked) {
		s->input_blocked = false;
		conn_resume_input(s->conn);
	}
}

/* ---- shutdown ------------------------------------------------------------------- */

void smtp_loop_shutdown(struct smtp_loop *sloop)
{
	sloop->stopping = true;
	if (sloop->session_count == 0) {
		sloop->on_stopped(sloop->stopped_context);
		return;
	}
	for (struct smtp_session *s = sloop->sessions; s != NULL; s = s->next) {
		/* A busy session (a password check) ends in smtp_input_commands.
		 * A message not yet acknowledged is simply not taken: the
		 * client keeps it and retries (rule 1 holds). */
		if (s->conn == NULL || s->closing || s->input == SMTP_INPUT_BUSY)
			continue;
		smtp_write(s, "421 4.3.2 Service shutting down\r\n");
		smtp_close(s);
	}
}
