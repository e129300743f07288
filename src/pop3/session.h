/*
 * session: one POP3 connection's state machine and the API the command
 * files (cmd-auth.c, cmd-mail.c) and the maildrop (maildrop.c) use. Private
 * to src/pop3/.
 *
 * Life of a command: the line reader cuts a line (255 octets at most, RFC
 * 2449 §4), the dispatcher finds the keyword in the command table and
 * checks the state, and the handler writes its whole response (status line
 * and, for multi-line answers, the lines and the final "."). A handler that
 * must wait (a password check on a worker, RETR output backed up, sizing a
 * large maildrop) returns POP3_CMD_ASYNC and later calls pop3_cmd_complete.
 * Input is paused while a command runs, so pipelined commands (RFC 2449
 * PIPELINING) are answered in order.
 *
 * Memory: session->arena lives as long as the connection (the maildrop
 * snapshot); session->cmd_arena is reset after each command.
 */
#ifndef BUZON_POP3_SESSION_H
#define BUZON_POP3_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "net/conn.h"
#include "pop3/encode.h"
#include "pop3/parser.h"
#include "pop3/pop3.h"
#include "store/store.h"

/* RFC 1939 §3. UPDATE is entered by QUIT and ends the session. */
enum pop3_state {
	POP3_STATE_AUTHORIZATION = 1 << 0,
	POP3_STATE_TRANSACTION = 1 << 1,
	POP3_STATE_UPDATE = 1 << 2,
};

enum pop3_input_mode {
	POP3_INPUT_COMMAND, /* reading commands */
	POP3_INPUT_SASL,    /* AUTH waits for the client's response line */
	POP3_INPUT_BUSY,    /* a command is running; input waits */
};

enum pop3_cmd_status { POP3_CMD_DONE, POP3_CMD_ASYNC };

/* One message of the maildrop as snapshotted at login. msgs[i] is message
 * number i + 1 for the whole session (RFC 1939 §4). */
struct pop3_msg {
	uint32_t uid;
	bool deleted;       /* DELE in this session (undone by RSET) */
	bool gone;          /* expunged by someone else meanwhile */
	bool looked_up;     /* blob_id and raw_size are known */
	bool sized;         /* size is known */
	int64_t blob_id;
	uint64_t raw_size;  /* as stored */
	uint64_t size;      /* as RETR sends it (CRLF, unstuffed) */
};

/* A RETR or TOP being streamed. */
struct pop3_retr {
	size_t index;
	int64_t blob_id;
	uint64_t raw_size;
	uint64_t offset;
	struct pop3_encoder encoder;
};

struct pop3_session;

struct pop3_command {
	const char *name;
	unsigned states; /* enum pop3_state bits where it is allowed */
	enum pop3_cmd_status (*run)(struct pop3_session *s);
};

struct pop3_session {
	struct pop3_session *prev, *next; /* in ploop->sessions */
	struct pop3_loop *ploop;
	struct pop3_server *server;
	struct loop *loop;
	struct store *store;
	struct conn *conn;
	struct arena *arena;
	struct arena *cmd_arena;
	struct arena *chunk_arena;  /* one blob chunk at a time */
	struct pop3_line_reader reader;
	struct buf line;            /* the current input line */
	struct buf out;             /* response building */
	enum pop3_state state;
	enum pop3_input_mode mode;

	char *user;                 /* USER's argument (heap), until PASS */
	struct auth_request *auth;  /* AUTH in progress (auth/auth.h) */
	int64_t account_id;
	char *account_name;
	bool holds_lock;            /* our account is in server->in_use */

	/* the maildrop (TRANSACTION state) */
	int64_t mailbox_id;
	uint32_t uidvalidity;
	struct pop3_msg *msgs;
	size_t msg_count;
	size_t sized_upto;          /* msgs[0..sized_upto) are sized or gone */

	/* the running command */
	const struct pop3_command *command;
	struct pop3_command_line cmd;
	/* Continue a command paused for output to drain. */
	enum pop3_cmd_status (*resume)(struct pop3_session *s);
	/* Run again once the maildrop is sized (STAT, LIST). */
	enum pop3_cmd_status (*after_sizing)(struct pop3_session *s);
	bool sizing;                /* a sizing slice is posted */
	struct pop3_retr retr;
	size_t list_next;           /* LIST / UIDL listing: next index */
	bool list_uidl;             /* the listing is UIDL's */
	void (*line_handler)(struct pop3_session *s, char *line, size_t len);

	bool start_tls;             /* STLS: handshake after the +OK */
	bool input_blocked;         /* reading paused until the output drains */
	unsigned errors;            /* -ERR answers in a row */
	int pending_work;           /* worker jobs and timers in flight */
	bool closed;                /* the connection is gone */
};

/* ---- responses ------------------------------------------------------------ */

/* "+OK text" / "-ERR text" lines. -ERR counts towards the error limit. */
void pop3_ok(struct pop3_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pop3_err(struct pop3_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Queue s->out for the client and empty it. */
void pop3_flush(struct pop3_session *s);
/* True when so much output is queued that a producer should pause and
 * continue from s->resume (rule 5). */
bool pop3_output_full(struct pop3_session *s);
/* Finish a command that returned POP3_CMD_ASYNC: read the next one. */
void pop3_cmd_complete(struct pop3_session *s);
/* Read the next line raw (an AUTH response) and pass it to handler. */
void pop3_session_wait_line(struct pop3_session *s,
			    void (*handler)(struct pop3_session *s, char *line, size_t len));
/* A worker job or timer that held the session finished. True when the
 * connection is gone (the session may have been freed). */
bool pop3_session_work_done(struct pop3_session *s);
/* Close the connection after the queued output (QUIT, fatal errors). */
void pop3_session_end(struct pop3_session *s);
/* May passwords be sent on this connection (rule 8, as for IMAP)? */
bool pop3_plaintext_auth_allowed(struct pop3_session *s);

/* ---- the maildrop (maildrop.c) --------------------------------------------- */

/* Take the account's maildrop lock; false if another session holds it. */
bool pop3_maildrop_lock(struct pop3_session *s, int64_t account_id);
void pop3_maildrop_unlock(struct pop3_session *s);
/* Snapshot the INBOX (uids only: sizes come lazily). 0 or a STORE_E* code. */
int pop3_maildrop_open(struct pop3_session *s, const char **error_r);
/* The message with number n (1-based) that is neither deleted nor gone,
 * else NULL with -ERR already written. */
struct pop3_msg *pop3_maildrop_get(struct pop3_session *s, uint32_t n);
/* Look up blob and stored size (and notice an expunge). 0, STORE_ENOTFOUND
 * (msg is then marked gone) or another STORE_E* code. */
int pop3_maildrop_lookup(struct pop3_session *s, struct pop3_msg *msg);
/* Take msg->size from the server's cache if it is there. */
bool pop3_maildrop_size_cached(struct pop3_session *s, struct pop3_msg *msg);
/* Make msg->size known (reading the message unless cached). */
int pop3_maildrop_size(struct pop3_session *s, struct pop3_msg *msg);
/* Remember the size of a message that RETR just counted while sending. */
void pop3_maildrop_size_learned(struct pop3_session *s, struct pop3_msg *msg, uint64_t size);
/* Size every message, yielding to the loop between slices; then run
 * s->after_sizing. Returns its result or POP3_CMD_ASYNC. */
enum pop3_cmd_status pop3_maildrop_size_all(struct pop3_session *s,
					    enum pop3_cmd_status (*then)(struct pop3_session *s));
/* The UPDATE state (RFC 1939 §6): remove the messages marked deleted. */
int pop3_maildrop_update(struct pop3_session *s, const char **error_r);

/* ---- commands -------------------------------------------------------------- */

/* The table (command.c). */
const struct pop3_command *pop3_command_find(const char *name);

/* AUTHORIZATION (cmd-auth.c); CAPA is valid in TRANSACTION too. */
enum pop3_cmd_status pop3_cmd_auth(struct pop3_session *s);
enum pop3_cmd_status pop3_cmd_capa(struct pop3_session *s);
enum pop3_cmd_status pop3_cmd_pass(struct pop3_session *s);
enum pop3_cmd_status pop3_cmd_stls(struct pop3_session *s);
enum pop3_cmd_status pop3_cmd_user(struct pop3_session *s);
/* TRANSACTION (cmd-mail.c); QUIT is valid in AUTHORIZATION too. */
enum pop3_cmd_status pop3_cmd_dele(struct pop3_session *s);
enum pop3_cmd_status pop3_cmd_list(struct pop3_session *s);
enum pop3_cmd_status pop3_cmd_noop(struct pop3_session *s);
enum pop3_cmd_status pop3_cmd_quit(struct pop3_session *s);
enum pop3_cmd_status pop3_cmd_retr(struct pop3_session *s);
enum pop3_cmd_status pop3_cmd_rset(struct pop3_session *s);
enum pop3_cmd_status pop3_cmd_stat(struct pop3_session *s);
enum pop3_cmd_status pop3_cmd_top(struct pop3_session *s);
enum pop3_cmd_status pop3_cmd_uidl(struct pop3_session *s);

#endif
