/*
 * session: one SMTP/LMTP connection's state machine, private to src/smtp/.
 *
 * session.c reads input in one of four modes (command lines, DATA,
 * a BDAT chunk, an AUTH continuation line), writes replies and owns the
 * session's lifetime; command.c carries out the verbs; transaction.c checks
 * recipients and delivers a finished message.
 *
 * Memory: session->arena lives as long as the connection; txn_arena holds
 * one mail transaction (sender, recipients) and is reset by RSET, EHLO and
 * the end of a message; line_arena holds one command line.
 */
#ifndef BUZON_SMTP_SESSION_H
#define BUZON_SMTP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/array.h"
#include "core/buf.h"
#include "delivery/dsn.h"
#include "delivery/writer.h"
#include "net/conn.h"
#include "smtp/parser.h"
#include "smtp/smtp.h"

/* RFC 5321 §4.5.3.1.8: at least 100 recipients must be accepted; more is
 * a mailing list's job, and each costs a lookup. */
#define SMTP_MAX_RECIPIENTS 100

enum smtp_input {
	SMTP_INPUT_COMMAND, /* command lines */
	SMTP_INPUT_DATA,    /* after 354: dot-stuffed data up to CRLF.CRLF */
	SMTP_INPUT_BDAT,    /* a BDAT chunk of bdat_remaining bytes */
	SMTP_INPUT_AUTH,    /* an AUTH continuation line */
	SMTP_INPUT_BUSY,    /* waiting for a worker or a timer; input paused */
};

struct smtp_session {
	struct smtp_session *prev, *next; /* in sloop->sessions */
	struct smtp_loop *sloop;
	const struct config *config;
	struct conn *conn;
	struct arena *arena;
	struct arena *txn_arena;
	struct arena *line_arena;
	enum smtp_input input;
	struct smtp_line_reader lines;
	char id[32];              /* for logs and Received */

	/* EHLO/HELO/LHLO */
	char *helo;               /* NULL until greeted (session arena) */
	bool esmtp;               /* EHLO or LHLO: extensions may be used */

	/* AUTH (submission) */
	int64_t account_id;       /* 0 until authenticated */
	char *account;            /* the authenticated address */
	struct auth_request *auth; /* AUTH in progress (auth/auth.h) */

	/* the mail transaction */
	char *sender;             /* NULL until MAIL; "" for <> */
	bool smtputf8;
	uint64_t declared_size;   /* MAIL ... SIZE= (RFC 1870); 0 when not given */
	enum dsn_ret dsn_ret;     /* RFC 3461 RET */
	char *envid;              /* RFC 3461 ENVID as received (txn_arena), or NULL */
	ARRAY(struct delivery_rcpt) rcpts; /* address as given (after <Postmaster>
					      expansion); account_id 0: remote */
	struct buf message;
	struct smtp_data_reader data;
	bool bdat_used;           /* this transaction started BDAT */
	bool bdat_last;
	/* the finished message while the delivery writer stores it (input
	 * is paused: the transaction above stays as it is until the reply) */
	struct delivery_job job;
	struct buf delivering;    /* trace fields + message */
	uint64_t bdat_remaining;  /* bytes of the current chunk still to read */
	const char *bdat_error;   /* reply after a chunk that is being discarded */

	/* RFC 5321 §4.5.3.2: the client's time to send the next command
	 * (config smtp_timeout) or the next piece of data (twice that). */
	struct loop_timer *timer; /* armed while the connection is open */
	uint64_t timeout_ms;      /* the limit that applies now */
	uint64_t last_input;      /* loop_now_ms of the last bytes read */

	unsigned errors;          /* error replies so far */
	int pending_work;         /* worker jobs and timers in flight */
	bool closed;              /* the connection is gone */
	bool closing;             /* a final reply is out; read no more */
	bool input_blocked;       /* reading paused until the output drains */
};

/* ---- session.c ---- */

/* One reply line ("250 2.0.0 OK"); CRLF is added. A 4xx/5xx reply counts
 * against SMTP_MAX_ERRORS. */
void smtp_reply(struct smtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Raw reply text (lines with CRLF), not counted. */
void smtp_write(struct smtp_session *s, const char *text);
/* Final reply already written: close after the output drains. */
void smtp_close(struct smtp_session *s);
/* Forget the mail transaction (RSET, EHLO, after a message). */
void smtp_transaction_reset(struct smtp_session *s);
/* Back to reading commands (after DATA/BDAT/AUTH or an async step). */
void smtp_input_commands(struct smtp_session *s);
/* true when password logins may happen on this connection (rule 8). */
bool smtp_auth_allowed(struct smtp_session *s);
/* A worker job or timer of the session has finished. Returns true when
 * the session is gone (the caller must not touch it). */
bool smtp_session_work_done(struct smtp_session *s);
/* DATA or BDAT started: the longer data timeout applies. */
void smtp_session_data_timeout(struct smtp_session *s);

/* ---- command.c ---- */

/* Carry out one command line. */
void smtp_command(struct smtp_session *s, char *line, size_t len);
/* An AUTH continuation line arrived. */
void smtp_auth_line(struct smtp_session *s, char *line, size_t len);

/* ---- transaction.c ---- */

/* RCPT: check the recipient and add it, or reply why not. */
void smtp_rcpt_add(struct smtp_session *s, const char *address, unsigned notify,
		   const char *orcpt);
/* The message is complete (DATA's end or BDAT LAST): deliver it and reply
 * (one reply, or one per recipient for LMTP), then reset the transaction. */
void smtp_message_done(struct smtp_session *s);

#endif
