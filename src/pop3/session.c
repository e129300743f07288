/*
 * session: one POP3 connection (see session.h): reading command lines,
 * dispatching them, the response discipline, and the session's lifetime.
 */
#include "pop3/session.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 1939 §3: an inactivity autologout timer MUST be at least 10 minutes,
 * in every state. */
#define POP3_TIMEOUT_MS (10 * 60 * 1000)
/* Stop producing output above this many queued bytes (rule 5), as IMAP. */
#define POP3_OUTPUT_HIGH_WATER (256 * 1024)
/* A client that gets nothing but -ERR is not a mail client: close after
 * this many in a row (a failed login counts; any +OK resets). */
#define POP3_MAX_ERRORS 10

static void session_on_input(struct conn *conn, void *context);
static void session_on_drained(struct conn *conn, void *context);
static void session_on_close(struct conn *conn, void *context);

static const struct conn_handler session_handler = {
	.on_input = session_on_input,
	.on_drained = session_on_drained,
	.on_close = session_on_close,
};

void pop3_session_start(struct pop3_loop *ploop, int fd, bool implicit_tls)
{
	struct pop3_session *s = mem_zalloc(sizeof(*s));
	struct pop3_server *server = ploop->server;

	s->ploop = ploop;
	s->server = server;
	s->loop = ploop->loop;
	s->store = ploop->store;
	s->next = ploop->sessions;
	if (s->next != NULL)
		s->next->prev = s;
	ploop->sessions = s;
	ploop->session_count++;
	s->arena = arena_new();
	s->cmd_arena = arena_new();
	s->chunk_arena = arena_new();
	s->state = POP3_STATE_AUTHORIZATION;
	s->mode = POP3_INPUT_COMMAND;
	pop3_line_reader_init(&s->reader, POP3_COMMAND_MAX);
	s->conn = conn_new(s->loop, fd, implicit_tls ? server->tls : NULL, &session_handler, s);
	conn_set_idle_timeout(s->conn, POP3_TIMEOUT_MS);
	/* RFC 1939 §4; no APOP, so no timestamp in the greeting. */
	buf_append_str(&s->out, "+OK buzon POP3 ready\r\n");
	pop3_flush(s);
}

static void session_free(struct pop3_session *s)
{
	pop3_maildrop_unlock(s);
	loop_post_cancel(s->loop, s);
	auth_request_free(s->auth); /* an exchange waiting for a line */
	if (s->user != NULL) {
		explicit_bzero(s->user, strlen(s->user));
		free(s->user);
	}
	buf_free(&s->line);
	buf_free(&s->out);
	arena_free(s->chunk_arena);
	arena_free(s->cmd_arena);
	arena_free(s->arena);
	struct pop3_loop *ploop = s->ploop;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		ploop->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	ploop->session_count--;
	free(s);
	if (ploop->stopping && ploop->session_count == 0)
		ploop->on_stopped(ploop->stopped_context);
}

static void session_on_close(struct conn *conn, void *context)
{
	struct pop3_session *s = context;

	s->closed = true;
	s->conn = NULL;
	if (s->pending_work == 0)
		session_free(s);
}

bool pop3_session_work_done(struct pop3_session *s)
{
	s->pending_work--;
	if (!s->closed)
		return false;
	if (s->pending_work == 0)
		session_free(s);
	return true;
}

void pop3_session_end(struct pop3_session *s)
{
	s->state = POP3_STATE_UPDATE;
	if (s->conn != NULL)
		conn_close(s->conn);
}

/* Close now if no command is running; a running one finishes first
 * (pop3_cmd_complete checks ploop->stopping). A RETR paused on a client
 * that stopped reading, or a maildrop being sized, is only a read: close
 * it. Without QUIT nothing is deleted (RFC 1939 §6). */
static void session_shutdown(struct pop3_session *s)
{
	if (s->conn == NULL)
		return;
	if (s->mode == POP3_INPUT_BUSY && s->resume == NULL && !s->sizing)
		return;
	s->resume = NULL;
	s->sizing = false;
	loop_post_cancel(s->loop, s);
	if (s->mode != POP3_INPUT_BUSY) {
		buf_append_str(&s->out, "-ERR [SYS/TEMP] Server shutting down\r\n");
		pop3_flush(s);
	}
	pop3_session_end(s);
}

void pop3_loop_shutdown(struct pop3_loop *ploop)
{
	ploop->stopping = true;
	if (ploop->session_count == 0) {
		ploop->on_stopped(ploop->stopped_context);
		return;
	}
	for (struct pop3_session *s = ploop->sessions; s != NULL; s = s->next)
		session_shutdown(s);
}

/* ---- writing ------------------------------------------------------------- */

void pop3_flush(struct pop3_session *s)
{
	if (s->conn != NULL && s->out.len > 0)
		conn_write(s->conn, s->out.data, s->out.len);
	if (s->out.cap > 64 * 1024)
		buf_free(&s->out);
	else
		buf_clear(&s->out);
}

bool pop3_output_full(struct pop3_session *s)
{
	return s->conn != NULL && conn_output_pending(s->conn) > POP3_OUTPUT_HIGH_WATER;
}

static void session_status(struct pop3_session *s, const char *status, const char *fmt,
			   va_list ap)
{
	buf_append_str(&s->out, status);
	buf_vprintf(&s->out, fmt, ap);
	buf_append_str(&s->out, "\r\n");
	pop3_flush(s);
}

void pop3_ok(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;

	s->errors = 0;
	va_start(ap, fmt);
	session_status(s, "+OK ", fmt, ap);
	va_end(ap);
}

void pop3_err(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;

	s->errors++;
	va_start(ap, fmt);
	session_status(s, "-ERR ", fmt, ap);
	va_end(ap);
}

bool pop3_plaintext_auth_allowed(struct pop3_session *s)
{
	return s->conn != NULL && (conn_is_tls(s->conn) || conn_is_loopback(s->conn) ||
				   s->server->config->allow_plaintext_auth);
}

/* ---- the command cycle ------------------------------------------------------ */

static void session_process_input(struct pop3_session *s);

void pop3_cmd_complete(struct pop3_session *s)
{
	if (s->start_tls && s->conn != NULL) {
		s->start_tls = false;
		if (conn_start_tls(s->conn, s->server->tls) < 0)
			s->state = POP3_STATE_UPDATE;
	}
	if (s->errors >= POP3_MAX_ERRORS && s->state != POP3_STATE_UPDATE) {
		buf_append_str(&s->out, "-ERR Too many errors, closing\r\n");
		pop3_flush(s);
		s->state = POP3_STATE_UPDATE;
	}
	if (s->state != POP3_STATE_UPDATE && s->ploop->stopping) {
		buf_append_str(&s->out, "-ERR [SYS/TEMP] Server shutting down\r\n");
		pop3_flush(s);
		s->state = POP3_STATE_UPDATE;
	}
	if (s->state == POP3_STATE_UPDATE) {
		pop3_session_end(s);
		return;
	}
	s->command = NULL;
	s->resume = NULL;
	s->after_sizing = NULL;
	arena_reset(s->cmd_arena);
	arena_reset(s->chunk_arena);
	if (s->mode == POP3_INPUT_BUSY)
		s->mode = POP3_INPUT_COMMAND;
	if (s->conn != NULL) {
		conn_set_idle_timeout(s->conn, POP3_TIMEOUT_MS);
		conn_resume_input(s->conn);
	}
}

static void session_dispatch(struct pop3_session *s)
{
	const char *error;

	s->mode = POP3_INPUT_BUSY;
	conn_pause_input(s->conn);
	/* The line stays in s->line while the command runs; cmd points in. */
	char *line = arena_memdup(s->cmd_arena, s->line.data, s->line.len);
	if (pop3_command_parse(line, s->line.len, &s->cmd, &error) < 0) {
		pop3_err(s, "%s", error);
		pop3_cmd_complete(s);
		return;
	}
	const struct pop3_command *cmd = pop3_command_find(s->cmd.keyword);
	if (cmd == NULL) {
		pop3_err(s, "Unknown command");
		pop3_cmd_complete(s);
		return;
	}
	if (!(cmd->states & s->state)) {
		pop3_err(s, s->state == POP3_STATE_AUTHORIZATION ? "Log in first" :
			 "Command not valid in this state");
		pop3_cmd_complete(s);
		return;
	}
	s->command = cmd;
	if (cmd->run(s) == POP3_CMD_DONE)
		pop3_cmd_complete(s);
}

static void session_read_commands(struct pop3_session *s)
{
	struct buf *in = conn_input(s->conn);

	while (s->conn != NULL && s->mode == POP3_INPUT_COMMAND && !s->closed) {
		/* Rule 5: a client that pipelines but does not read the answers
		 * waits until its output drains. */
		if (pop3_output_full(s)) {
			s->input_blocked = true;
			conn_pause_input(s->conn);
			return;
		}
		switch (pop3_line_read(&s->reader, in, &s->line)) {
		case POP3_LINE_NEED_MORE:
			return;
		case POP3_LINE_TOO_LONG:
			/* RFC 2449 §4: 255 octets at most. */
			s->mode = POP3_INPUT_BUSY;
			pop3_err(s, "Command line too long");
			pop3_cmd_complete(s);
			break;
		case POP3_LINE_COMPLETE:
			session_dispatch(s);
			break;
		}
	}
}

/* AUTH's response line goes to s->line_handler. */
static void session_read_sasl(struct pop3_session *s)
{
	struct buf *in = conn_input(s->conn);
	enum pop3_line_result r = pop3_line_read(&s->reader, in, &s->line);

	if (r == POP3_LINE_NEED_MORE)
		return;
	s->mode = POP3_INPUT_BUSY;
	conn_pause_input(s->conn);
	/* Back to the command limit; the rest of an over-long response that
	 * has not arrived yet is still skipped. */
	bool skipping = s->reader.skipping;
	pop3_line_reader_init(&s->reader, POP3_COMMAND_MAX);
	s->reader.skipping = skipping;
	if (r == POP3_LINE_TOO_LONG) {
		auth_request_free(s->auth); /* the exchange ends here */
		s->auth = NULL;
		pop3_err(s, "Authentication response too long");
		pop3_cmd_complete(s);
		return;
	}
	void (*handler)(struct pop3_session *, char *, size_t) = s->line_handler;
	s->line_handler = NULL;
	char *line = arena_memdup(s->cmd_arena, s->line.data, s->line.len);
	handler(s, line, s->line.len);
}

void pop3_session_wait_line(struct pop3_session *s,
			    void (*handler)(struct pop3_session *s, char *line, size_t len))
{
	s->mode = POP3_INPUT_SASL;
	s->line_handler = handler;
	pop3_line_reader_init(&s->reader, POP3_SASL_LINE_MAX);
	if (s->conn != NULL)
		conn_resume_input(s->conn);
}

static void session_process_input(struct pop3_session *s)
{
	switch (s->mode) {
	case POP3_INPUT_COMMAND:
		session_read_commands(s);
		break;
	case POP3_INPUT_SASL:
		session_read_sasl(s);
		break;
	case POP3_INPUT_BUSY:
		break;
	}
}

static void session_on_input(struct conn *conn, void *context)
{
	session_process_input(context);
}

/* Output drained: a paused RETR continues, or commands held back by a full
 * output queue are read again. */
static void session_on_drained(struct conn *conn, void *context)
{
	struct pop3_session *s = context;

	if (s->input_blocked && s->mode == POP3_INPUT_COMMAND) {
		s->input_blocked = false;
		conn_resume_input(s->conn);
		return;
	}
	if (s->resume != NULL && s->mode == POP3_INPUT_BUSY) {
		enum pop3_cmd_status (*resume)(struct pop3_session *) = s->resume;
		s->resume = NULL;
		if (resume(s) == POP3_CMD_DONE)
			pop3_cmd_complete(s);
	}
}
