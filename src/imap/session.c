/*
 * session: one IMAP connection (see session.h): reading commands through the
 * framer, dispatching them, the tagged/untagged reply discipline, the
 * change-bus wakeups that drive IDLE, and the session's lifetime.
 */
#include "imap/session.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "delivery/writer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 9051 §5.4: an autologout timer must be at least 30 minutes once
 * authenticated; before login a shorter one keeps port scanners cheap. */
#define IMAP_TIMEOUT_AUTHENTICATED_MS (30 * 60 * 1000)
#define IMAP_TIMEOUT_LOGIN_MS (60 * 1000)
/* Stop producing output above this many queued bytes (rule 5). */
#define IMAP_OUTPUT_HIGH_WATER (256 * 1024)
/* A client that keeps sending garbage is dropped after this many BADs. */
#define IMAP_MAX_BAD_COMMANDS 20

static void session_on_input(struct conn *conn, void *context);
static void session_on_drained(struct conn *conn, void *context);
static void session_on_close(struct conn *conn, void *context);
static void session_process_input(struct imap_session *s);

static const struct conn_handler session_handler = {
	.on_input = session_on_input,
	.on_drained = session_on_drained,
	.on_close = session_on_close,
};

void imap_session_start(struct imap_loop *iloop, int fd, bool implicit_tls)
{
	struct imap_session *s = mem_zalloc(sizeof(*s));
	struct imap_server *server = iloop->server;

	s->iloop = iloop;
	s->server = server;
	s->loop = iloop->loop;
	s->store = iloop->store;
	s->next = iloop->sessions;
	if (s->next != NULL)
		s->next->prev = s;
	iloop->sessions = s;
	iloop->session_count++;
	s->arena = arena_new();
	s->cmd_arena = arena_new();
	s->push_arena = arena_new();
	s->state = IMAP_STATE_NOT_AUTHENTICATED;
	s->mode = IMAP_INPUT_COMMAND;
	atomic_init(&s->notified, false);
	atomic_init(&s->post_queued, false);
	atomic_init(&s->watched_mailbox, 0);
	atomic_init(&s->notify_active, false);
	atomic_init(&s->notify_other, false);
	atomic_init(&s->notify_list, false);
	atomic_init(&s->notify_subs, false);
	imap_frame_init(&s->frame, server->config->max_message_size);
	s->conn = conn_new(s->loop, fd, implicit_tls ? server->tls : NULL, &session_handler, s);
	conn_set_idle_timeout(s->conn, IMAP_TIMEOUT_LOGIN_MS);

	struct buf *out = &s->scratch;
	buf_append_str(out, "* OK [");
	imap_write_capabilities(s, out);
	buf_append_str(out, "] buzon ready\r\n");
	imap_flush_scratch(s);
}

/* Free the session once the connection is gone and no worker job still
 * holds a pointer to it. */
static void session_free(struct imap_session *s)
{
	if (s->watch != NULL)
		store_bus_unwatch(s->server->bus, s->watch);
	loop_post_cancel(s->loop, s);
	imap_notify_free(s);
	imap_view_close(s);
	auth_request_free(s->auth); /* an exchange waiting for a line */
	imap_frame_free(&s->frame);
	buf_free(&s->scratch);
	arena_free(s->cmd_arena);
	arena_free(s->push_arena);
	arena_free(s->arena);
	struct imap_loop *iloop = s->iloop;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		iloop->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	iloop->session_count--;
	free(s);
	if (iloop->stopping && iloop->session_count == 0)
		iloop->on_stopped(iloop->stopped_context);
}

/* Say goodbye now if no command is running; a running one finishes first
 * (imap_cmd_complete checks iloop->stopping). A command paused because the
 * client stopped reading its output (a big FETCH) would never finish: it
 * is only a read, so close it (conn_close flushes for a bounded time). */
static void session_shutdown(struct imap_session *s)
{
	if (s->conn == NULL)
		return;
	if (s->mode == IMAP_INPUT_BUSY) {
		if (s->resume != NULL) {
			s->resume = NULL;
			s->state = IMAP_STATE_LOGOUT;
			conn_close(s->conn);
		}
		return;
	}
	imap_untagged(s, "BYE Server shutting down");
	s->state = IMAP_STATE_LOGOUT;
	conn_close(s->conn);
}

void imap_loop_shutdown(struct imap_loop *iloop)
{
	iloop->stopping = true;
	if (iloop->session_count == 0) {
		iloop->on_stopped(iloop->stopped_context);
		return;
	}
	for (struct imap_session *s = iloop->sessions; s != NULL; s = s->next)
		session_shutdown(s);
}

static void session_on_close(struct conn *conn, void *context)
{
	struct imap_session *s = context;

	s->closed = true;
	s->conn = NULL;
	if (s->pending_work == 0)
		session_free(s);
}

bool imap_session_work_done(struct imap_session *s)
{
	s->pending_work--;
	if (!s->closed)
		return false;
	if (s->pending_work == 0)
		session_free(s);
	return true;
}

/* ---- store writes off the loop ------------------------------------------ */

/* One imap_store_write in flight, in the command arena. */
struct session_write {
	struct delivery_store_job job;
	struct imap_session *session; /* touched on the loop's thread only */
	struct loop *loop;
	imap_store_write_fn *run;
	imap_store_written_fn *finish;
	void *state;
};

/* On the writer's thread, inside its group transaction. */
static int session_write_run(struct store *store, struct delivery_store_job *job,
			     const char **error_r)
{
	struct session_write *w = job->context;

	return w->run(store, w->state, error_r);
}

/* On the loop, after the commit: the reply, unless the client left. */
static void session_write_finish(struct loop *loop, void *context)
{
	struct session_write *w = context;
	struct imap_session *s = w->session;

	if (imap_session_work_done(s))
		return;
	w->finish(s, w->state, w->job.rc, w->job.rc < 0 ? w->job.error : NULL);
	imap_cmd_complete(s);
}

/* On the writer's thread: hand the result back to the session's loop. */
static void session_write_done(struct delivery_store_job *job)
{
	struct session_write *w = job->context;

	loop_post(w->loop, session_write_finish, w);
}

enum imap_cmd_status imap_store_write(struct imap_session *s, imap_store_write_fn *run,
				      imap_store_written_fn *finish, void *state)
{
	if (s->server->writer == NULL) {
		const char *error = NULL;
		int rc = run(s->store, state, &error);

		finish(s, state, rc, rc < 0 ? (error ? error : "store error") : NULL);
		return IMAP_CMD_DONE;
	}
	struct session_write *w = arena_zalloc(s->cmd_arena, sizeof(*w));

	w->job.run = session_write_run;
	w->job.done = session_write_done;
	w->job.context = w;
	w->session = s;
	w->loop = s->loop;
	w->run = run;
	w->finish = finish;
	w->state = state;
	s->pending_work++;
	delivery_writer_submit_store(s->server->writer, &w->job);
	return IMAP_CMD_ASYNC;
}

/* ---- writing ------------------------------------------------------------- */

void imap_write(struct imap_session *s, const void *data, size_t len)
{
	if (s->conn != NULL)
		conn_write(s->conn, data, len);
}

void imap_flush_scratch(struct imap_session *s)
{
	imap_write(s, s->scratch.data, s->scratch.len);
	if (s->scratch.cap > 64 * 1024)
		buf_free(&s->scratch);
	else
		buf_clear(&s->scratch);
}

void imap_untagged(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;

	buf_append_str(&s->scratch, "* ");
	va_start(ap, fmt);
	buf_vprintf(&s->scratch, fmt, ap);
	va_end(ap);
	buf_append_str(&s->scratch, "\r\n");
	imap_flush_scratch(s);
}

bool imap_output_full(struct imap_session *s)
{
	return s->conn != NULL && conn_output_pending(s->conn) > IMAP_OUTPUT_HIGH_WATER;
}

static void session_set_result(struct imap_session *s, const char *status, const char *fmt,
			       va_list ap)
{
	s->result_status = status;
	s->result_text = arena_vprintf(s->cmd_arena, fmt, ap);
}

void imap_cmd_ok(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	session_set_result(s, "OK", fmt, ap);
	va_end(ap);
}

void imap_cmd_no(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	session_set_result(s, "NO", fmt, ap);
	va_end(ap);
}

void imap_cmd_bad(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	session_set_result(s, "BAD", fmt, ap);
	va_end(ap);
}

enum imap_cmd_status imap_cmd_syntax(struct imap_session *s, struct imap_parser *parser)
{
	const char *error = parser->error ? parser->error : "invalid arguments";

	/* an error that carries its RFC 5530 code ("[LIMIT] ...") keeps it first */
	if (error[0] == '[')
		imap_cmd_bad(s, "%s", error);
	else
		imap_cmd_bad(s, "Syntax error: %s", error);
	return IMAP_CMD_DONE;
}

/* ---- the command cycle ------------------------------------------------------ */

/* A client that sends nothing but garbage is not a mail client: close it
 * after IMAP_MAX_BAD_COMMANDS BADs in a row (any other answer resets). */
static void session_count_bad(struct imap_session *s)
{
	if (s->result_status == NULL || strcmp(s->result_status, "BAD") == 0)
		s->bad_commands++;
	else
		s->bad_commands = 0;
	if (s->bad_commands >= IMAP_MAX_BAD_COMMANDS && s->state != IMAP_STATE_LOGOUT) {
		imap_untagged(s, "BYE [CLIENTBUG] Too many invalid commands");
		s->state = IMAP_STATE_LOGOUT;
	}
}

/* The tagged reply, after the untagged updates RFC 9051 §7 allows now. */
void imap_cmd_complete(struct imap_session *s)
{
	if (s->view != NULL && s->state == IMAP_STATE_SELECTED && s->result_status != NULL &&
	    strcmp(s->result_status, "BAD") != 0) {
		bool no_expunge = s->command != NULL && (s->command->flags & IMAP_CMD_NO_EXPUNGE);
		if (imap_view_sync(s, !no_expunge) < 0)
			log_warn("imap: %s: mailbox sync failed", s->account_name);
	}
	if (s->notify != NULL && s->result_status != NULL && strcmp(s->result_status, "BAD") != 0)
		imap_notify_command_end(s);
	session_count_bad(s);
	buf_printf(&s->scratch, "%s %s %s\r\n", s->tag ? s->tag : "*",
		   s->result_status ? s->result_status : "BAD",
		   s->result_text ? s->result_text : "Internal error");
	imap_flush_scratch(s);
	if (s->start_tls && s->conn != NULL) {
		s->start_tls = false;
		if (conn_start_tls(s->conn, s->server->tls) < 0)
			s->state = IMAP_STATE_LOGOUT;
	}
	if (s->start_compress && s->conn != NULL) {
		s->start_compress = false;
		if (conn_start_compress(s->conn) < 0)
			s->state = IMAP_STATE_LOGOUT;
	}
	if (s->state != IMAP_STATE_LOGOUT && s->iloop->stopping) {
		imap_untagged(s, "BYE Server shutting down");
		s->state = IMAP_STATE_LOGOUT;
	}
	if (s->state == IMAP_STATE_LOGOUT) {
		if (s->conn != NULL)
			conn_close(s->conn);
		return;
	}
	s->tag = NULL;
	s->command = NULL;
	s->result_status = s->result_text = NULL;
	s->resume = NULL;
	s->command_state = NULL;
	arena_reset(s->cmd_arena);
	imap_frame_reset(&s->frame);
	if (s->mode == IMAP_INPUT_BUSY)
		s->mode = IMAP_INPUT_COMMAND;
	if (s->conn != NULL) {
		conn_set_idle_timeout(s->conn, s->state == IMAP_STATE_NOT_AUTHENTICATED ?
					      IMAP_TIMEOUT_LOGIN_MS : IMAP_TIMEOUT_AUTHENTICATED_MS);
		conn_resume_input(s->conn);
	}
}

/* Reply to a command that never reached a handler (bad tag, unknown name). */
static void session_reply_early(struct imap_session *s, const char *tag, const char *status,
				const char *text)
{
	s->tag = arena_strdup(s->cmd_arena, tag);
	s->result_status = status;
	s->result_text = text;
	s->command = NULL;
	imap_cmd_complete(s);
}

static void session_run(struct imap_session *s, const struct imap_command *cmd,
			struct imap_parser *parser, bool uid)
{
	s->command = cmd;
	s->command_uid = uid;
	s->mode = IMAP_INPUT_BUSY;
	conn_pause_input(s->conn);
	if (cmd->run(s, parser, uid) == IMAP_CMD_DONE)
		imap_cmd_complete(s);
}

/* Tag, command name, optional UID prefix, then the handler. */
static void session_dispatch(struct imap_session *s)
{
	struct imap_parser parser;
	char *tag, *name;
	bool uid = false;

	imap_parser_init(&parser, s->cmd_arena, s->frame.command.data, s->frame.command.len);
	if (imap_at_end(&parser)) {
		imap_frame_reset(&s->frame); /* RFC 9051 is silent; empty lines are ignored */
		return;
	}
	if (!imap_parse_tag(&parser, &tag) || !imap_parse_sp(&parser) ||
	    !imap_parse_atom(&parser, &name)) {
		session_reply_early(s, "*", "BAD", "Syntax error: expected tag and command");
		return;
	}
	s->tag = tag;
	if (str_eq_nocase(name, "UID")) {
		if (!imap_parse_sp(&parser) || !imap_parse_atom(&parser, &name)) {
			session_reply_early(s, tag, "BAD", "Syntax error: UID needs a command");
			return;
		}
		uid = true;
	}
	const struct imap_command *cmd = imap_command_find(name);
	if (cmd == NULL || (uid && !(cmd->flags & IMAP_CMD_UID))) {
		session_reply_early(s, tag, "BAD", "Unknown command");
		return;
	}
	if (!(cmd->states & s->state)) {
		session_reply_early(s, tag, "BAD",
				    s->state == IMAP_STATE_NOT_AUTHENTICATED ?
				    "Log in first" : "Command not valid in this state");
		return;
	}
	session_run(s, cmd, &parser, uid);
}

/* The framer refused the command: answer for its tag if we can see one. */
static void session_frame_error(struct imap_session *s)
{
	struct imap_parser parser;
	char *tag = NULL;
	const char *text = arena_printf(s->cmd_arena, "%s%s", s->frame.error_toobig ? "[TOOBIG] " : "",
					s->frame.error ? s->frame.error : "Invalid command");

	imap_parser_init(&parser, s->cmd_arena, s->frame.command.data, s->frame.command.len);
	if (s->frame.command.len == 0 || !imap_parse_tag(&parser, &tag) || !imap_parse_sp(&parser))
		tag = "*";
	session_reply_early(s, tag, s->frame.error_toobig && strcmp(tag, "*") ? "NO" : "BAD", text);
}

static void session_read_commands(struct imap_session *s)
{
	struct buf *in = conn_input(s->conn);

	while (s->conn != NULL && s->mode == IMAP_INPUT_COMMAND && !s->closed) {
		/* Rule 5: a client that pipelines commands but does not read
		 * the answers waits (TCP holds it back) until its output drains. */
		if (imap_output_full(s)) {
			s->input_blocked = true;
			conn_pause_input(s->conn);
			return;
		}
		s->frame.big_literals = s->state != IMAP_STATE_NOT_AUTHENTICATED;
		switch (imap_frame_feed(&s->frame, in)) {
		case IMAP_FRAME_NEED_MORE:
			return;
		case IMAP_FRAME_CONTINUE:
			imap_write(s, "+ OK\r\n", 6);
			break;
		case IMAP_FRAME_COMPLETE:
			session_dispatch(s);
			break;
		case IMAP_FRAME_ERROR:
			session_frame_error(s);
			break;
		case IMAP_FRAME_FATAL:
			/* RFC 7888 §5: a refused oversized LITERAL+ says TOOBIG */
			imap_untagged(s, "BYE %s%s", s->frame.error_toobig ? "[TOOBIG] " : "",
				      s->frame.error);
			s->state = IMAP_STATE_LOGOUT;
			conn_close(s->conn);
			return;
		}
	}
}

/* IDLE and AUTHENTICATE read plain lines, handed to s->line_handler. */
static void session_read_line(struct imap_session *s)
{
	struct buf *in = conn_input(s->conn);
	int r = imap_frame_line(&s->frame, in);

	if (r == 0)
		return;
	s->mode = IMAP_INPUT_BUSY;
	conn_pause_input(s->conn);
	if (r < 0) {
		auth_request_free(s->auth); /* an AUTHENTICATE exchange ends here */
		s->auth = NULL;
		imap_cmd_bad(s, "Line too long");
		imap_cmd_complete(s);
		return;
	}
	void (*handler)(struct imap_session *, char *, size_t) = s->line_handler;
	s->line_handler = NULL;
	handler(s, s->frame.command.data, s->frame.command.len);
}

void imap_session_wait_line(struct imap_session *s, enum imap_input_mode mode,
			    void (*handler)(struct imap_session *s, char *line, size_t len))
{
	s->mode = mode;
	s->line_handler = handler;
	buf_clear(&s->frame.command);
	if (s->conn != NULL)
		conn_resume_input(s->conn);
}

static void session_process_input(struct imap_session *s)
{
	switch (s->mode) {
	case IMAP_INPUT_COMMAND:
		session_read_commands(s);
		break;
	case IMAP_INPUT_IDLE:
	case IMAP_INPUT_AUTH:
		session_read_line(s);
		break;
	case IMAP_INPUT_BUSY:
		break;
	}
}

static void session_on_input(struct conn *conn, void *context)
{
	session_process_input(context);
}

/* Output drained: a paused producer (big FETCH) continues, or commands
 * held back by a full output queue are read again. */
static void session_on_drained(struct conn *conn, void *context)
{
	struct imap_session *s = context;

	if (s->input_blocked && s->mode == IMAP_INPUT_COMMAND) {
		s->input_blocked = false;
		conn_resume_input(s->conn);
		return;
	}
	if (s->resume != NULL && s->mode == IMAP_INPUT_BUSY) {
		enum imap_cmd_status (*resume)(struct imap_session *) = s->resume;
		s->resume = NULL;
		if (resume(s) == IMAP_CMD_DONE)
			imap_cmd_complete(s);
	}
}

/* ---- change notifications (rule 4) ---------------------------------------- */

/* On the loop's thread: an IDLE client hears at once (RFC 2177); after
 * NOTIFY (RFC 5465 §3.1) a client between commands does too; others hear
 * at their next command. */
static void session_on_notify(struct loop *loop, void *context)
{
	struct imap_session *s = context;

	atomic_store(&s->post_queued, false);
	if (s->conn == NULL || s->closed || s->state == IMAP_STATE_LOGOUT)
		return;
	/* The push's temporaries go to push_arena, dropped right after: in
	 * IDLE, cmd_arena holds the IDLE command until DONE (session.h). */
	struct arena *cmd_arena = s->cmd_arena;

	s->cmd_arena = s->push_arena;
	if (s->notify != NULL &&
	    (s->mode == IMAP_INPUT_IDLE || (s->mode == IMAP_INPUT_COMMAND && !s->input_blocked))) {
		imap_notify_push(s, s->mode == IMAP_INPUT_IDLE);
	} else if (s->mode == IMAP_INPUT_IDLE && s->view != NULL) {
		if (imap_view_sync(s, true) < 0)
			log_warn("imap: %s: mailbox sync failed", s->account_name);
	}
	s->cmd_arena = cmd_arena;
	arena_reset(s->push_arena);
}

/* Any thread, with the bus lock held: note the event and wake our loop.
 * Without NOTIFY only the selected mailbox matters (RFC 9051 §7); with it,
 * every mailbox of the account may (notify.c filters). */
static void session_on_bus_event(void *context, const struct store_event *event)
{
	struct imap_session *s = context;
	bool wake = false;

	if (event->kind != STORE_EVENT_SUBSCRIPTIONS &&
	    event->mailbox_id == atomic_load(&s->watched_mailbox)) {
		atomic_store(&s->notified, true);
		wake = true;
	}
	if (atomic_load(&s->notify_active)) {
		switch (event->kind) {
		case STORE_EVENT_MESSAGES:
			atomic_store(&s->notify_other, true);
			break;
		case STORE_EVENT_MAILBOXES:
			atomic_store(&s->notify_list, true);
			break;
		case STORE_EVENT_SUBSCRIPTIONS:
			atomic_store(&s->notify_subs, true);
			break;
		}
		wake = true;
	}
	if (wake && !atomic_exchange(&s->post_queued, true))
		loop_post(s->loop, session_on_notify, s);
}

struct store_watch *imap_session_watch_account(struct imap_session *s, int64_t account_id)
{
	return store_bus_watch(s->server->bus, account_id, session_on_bus_event, s);
}

void imap_session_watch(struct imap_session *s)
{
	if (s->watch == NULL)
		s->watch = store_bus_watch(s->server->bus, s->account_id, session_on_bus_event, s);
}
