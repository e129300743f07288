/*
 * cmd-auth: the AUTHORIZATION state (RFC 1939 §4, §7): CAPA (RFC 2449),
 * STLS (RFC 2595), USER and PASS, AUTH (RFC 5034: the SASL mechanisms of
 * auth/auth.c, with an initial response), and the move to TRANSACTION with
 * the maildrop lock.
 *
 * As for IMAP (imap/cmd-auth.c): the exchange and the throttle are
 * auth/auth.c's, passwords are checked on the worker pool (rule 5), a
 * failed login is answered after the throttle's delay, and an unknown
 * account costs the same time as a wrong password.
 */
#include "pop3/session.h"
#include "auth/auth.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"

#include <stdlib.h>
#include <string.h>

/* RFC 3206 / RFC 2449 response codes and the texts we use them with. */
#define POP3_AUTH_FAILED "[AUTH] Authentication failed"
#define POP3_PLAINTEXT_REFUSED \
	"[AUTH] Plaintext authentication disallowed on non-secure connections; use STLS or POP3S"

/* RFC 2449 §5: the CAPA list, in one place, each with its RFC. */
enum capa_when { CAPA_ALWAYS, CAPA_LOGIN, CAPA_SASL, CAPA_STLS };
static const struct {
	const char *line;
	enum capa_when when;
} pop3_capabilities[] = {
	{ "AUTH-RESP-CODE", CAPA_ALWAYS },  /* RFC 3206 §6 */
	{ "EXPIRE NEVER", CAPA_ALWAYS },    /* RFC 2449 §6.7: we never delete unasked */
	{ "IMPLEMENTATION buzon", CAPA_ALWAYS }, /* RFC 2449 §6.9 */
	{ "PIPELINING", CAPA_ALWAYS },      /* RFC 2449 §6.6 */
	{ "RESP-CODES", CAPA_ALWAYS },      /* RFC 2449 §6.4 */
	{ "SASL", CAPA_SASL },              /* RFC 5034 §5: auth/auth.c's mechanisms */
	{ "STLS", CAPA_STLS },              /* RFC 2595 §4 */
	{ "TOP", CAPA_ALWAYS },             /* RFC 2449 §6.1 */
	{ "UIDL", CAPA_ALWAYS },            /* RFC 2449 §6.3 */
	{ "USER", CAPA_LOGIN },             /* RFC 2449 §6.2 */
};

/* RFC 2449 §5: valid in AUTHORIZATION and TRANSACTION. Login methods are
 * listed only where they may be used (RFC 2595 §4 allows that). */
enum pop3_cmd_status pop3_cmd_capa(struct pop3_session *s)
{
	bool authz = s->state == POP3_STATE_AUTHORIZATION;

	buf_append_str(&s->out, "+OK Capability list follows\r\n");
	for (size_t i = 0; i < sizeof(pop3_capabilities) / sizeof(pop3_capabilities[0]); i++) {
		bool show = false;
		switch (pop3_capabilities[i].when) {
		case CAPA_ALWAYS:
			show = true;
			break;
		case CAPA_LOGIN:
		case CAPA_SASL:
			show = authz && pop3_plaintext_auth_allowed(s);
			break;
		case CAPA_STLS:
			show = authz && s->conn != NULL && !conn_is_tls(s->conn) &&
			       s->server->tls != NULL;
			break;
		}
		if (!show)
			continue;
		buf_append_str(&s->out, pop3_capabilities[i].line);
		if (pop3_capabilities[i].when == CAPA_SASL) {
			const char *names[8];
			size_t n = auth_mech_list(s->server->auth, s->conn, names, 8);
			for (size_t k = 0; k < n; k++)
				buf_printf(&s->out, " %s", names[k]);
		}
		buf_append_str(&s->out, "\r\n");
	}
	buf_append_str(&s->out, ".\r\n");
	s->errors = 0;
	pop3_flush(s);
	return POP3_CMD_DONE;
}

/* RFC 2595 §4 */
enum pop3_cmd_status pop3_cmd_stls(struct pop3_session *s)
{
	if (s->cmd.arg_count != 0) {
		pop3_err(s, "STLS takes no arguments");
		return POP3_CMD_DONE;
	}
	if (conn_is_tls(s->conn) || s->server->tls == NULL) {
		pop3_err(s, "TLS is already active or not available");
		return POP3_CMD_DONE;
	}
	if (conn_input(s->conn)->len > 0) {
		/* Bytes after STLS were sent in clear: never carry them into
		 * the TLS session (the STARTTLS injection of CVE-2011-0411). */
		pop3_err(s, "Unexpected input after STLS");
		s->state = POP3_STATE_UPDATE;
		return POP3_CMD_DONE;
	}
	/* Anything said before TLS is forgotten (RFC 2595 §4). */
	if (s->user != NULL) {
		free(s->user);
		s->user = NULL;
	}
	s->start_tls = true;
	pop3_ok(s, "Begin TLS negotiation now");
	return POP3_CMD_DONE;
}

/* ---- the end of a login (auth/auth.c) ------------------------------------------- */

/* The password was right: lock the maildrop and snapshot it. */
static void login_succeed(struct pop3_session *s, int64_t account_id, const char *address)
{
	const char *error;

	s->account_id = account_id;
	if (!pop3_maildrop_lock(s, account_id)) {
		log_info("pop3: %s from %s: maildrop in use", address, conn_peer_address(s->conn));
		s->account_id = 0;
		pop3_err(s, "[IN-USE] Maildrop is locked by another POP3 session");
		return;
	}
	if (store_account_ensure_defaults(s->store, account_id, &error) < 0 ||
	    pop3_maildrop_open(s, &error) < 0) {
		log_error("pop3: opening the INBOX of %s: %s", address, error);
		pop3_maildrop_unlock(s);
		s->account_id = 0;
		pop3_err(s, "[SYS/TEMP] Mail store unavailable");
		return;
	}
	s->account_name = arena_strdup(s->arena, address);
	s->state = POP3_STATE_TRANSACTION;
	log_info("pop3: login %s from %s", address, conn_peer_address(s->conn));
	pop3_ok(s, "Logged in, %zu message%s", s->msg_count, s->msg_count == 1 ? "" : "s");
}

static enum pop3_cmd_status auth_next(struct pop3_session *s, enum auth_status status,
				      const char *challenge, const char *error);

/* The answer to an asynchronous step (auth/auth.c), on this loop. */
static void login_done(void *context, enum auth_result result, int64_t account_id,
		       const char *address, const char *challenge)
{
	struct pop3_session *s = context;

	if (result != AUTH_CHALLENGE)
		s->auth = NULL;
	if (pop3_session_work_done(s))
		return;
	switch (result) {
	case AUTH_CHALLENGE:
		if (auth_next(s, AUTH_CONTINUE, challenge, NULL) == POP3_CMD_DONE)
			break;
		return;
	case AUTH_OK:
		login_succeed(s, account_id, address);
		break;
	case AUTH_FAILED:
		pop3_err(s, POP3_AUTH_FAILED);
		break;
	case AUTH_DENIED:
		pop3_err(s, "[AUTH] Cannot log in as another user");
		break;
	case AUTH_REFUSED:
		/* RFC 3206 §4: [SYS/TEMP], a temporary condition. */
		pop3_err(s, "[SYS/TEMP] Too many failed logins; try again later");
		break;
	case AUTH_UNAVAILABLE:
		pop3_err(s, "[SYS/TEMP] Authentication temporarily unavailable");
		break;
	}
	pop3_cmd_complete(s);
}

static struct auth_request *login_request(struct pop3_session *s)
{
	return auth_request_new(s->server->auth, s->loop, s->store, s->conn, "pop3", login_done,
				s);
}

/* Check a user name and password off the loop (auth/auth.c). */
static enum pop3_cmd_status pop3_login_start(struct pop3_session *s, const char *user,
					     const char *password)
{
	s->pending_work++;
	(void)auth_request_password(login_request(s), user, password);
	return POP3_CMD_ASYNC;
}

/* ---- USER / PASS (RFC 1939 §7) ------------------------------------------------- */

enum pop3_cmd_status pop3_cmd_user(struct pop3_session *s)
{
	if (s->user != NULL) {
		free(s->user);
		s->user = NULL;
	}
	if (s->cmd.arg_count != 1) {
		pop3_err(s, "Usage: USER name");
		return POP3_CMD_DONE;
	}
	if (!pop3_plaintext_auth_allowed(s)) {
		pop3_err(s, POP3_PLAINTEXT_REFUSED);
		return POP3_CMD_DONE;
	}
	s->user = mem_strndup(s->cmd.args[0], s->cmd.arg_lens[0]);
	pop3_ok(s, "Send your password");
	return POP3_CMD_DONE;
}

enum pop3_cmd_status pop3_cmd_pass(struct pop3_session *s)
{
	char *user = s->user;

	/* RFC 1939 §7: a failed PASS (or any PASS) starts over with USER. */
	s->user = NULL;
	if (user == NULL) {
		pop3_err(s, "Send USER first");
		return POP3_CMD_DONE;
	}
	char *name = arena_strdup(s->cmd_arena, user);
	free(user);
	/* The password is the rest of the line: RFC 1939 §7 lets it contain
	 * spaces. */
	if (s->cmd.rest_len == 0) {
		pop3_err(s, "Usage: PASS password");
		return POP3_CMD_DONE;
	}
	if (!pop3_plaintext_auth_allowed(s)) {
		pop3_err(s, POP3_PLAINTEXT_REFUSED);
		return POP3_CMD_DONE;
	}
	char *password = arena_strndup(s->cmd_arena, s->cmd.rest, s->cmd.rest_len);
	enum pop3_cmd_status r = pop3_login_start(s, name, password);
	explicit_bzero(password, strlen(password));
	return r;
}

/* ---- AUTH (RFC 5034) ------------------------------------------------------------- */

static void auth_line(struct pop3_session *s, char *line, size_t len);

/* What a step of the exchange asks of us. RFC 5034 §4: challenges are
 * "+ " lines, the last one carrying the server's additional data. */
static enum pop3_cmd_status auth_next(struct pop3_session *s, enum auth_status status,
				      const char *challenge, const char *error)
{
	switch (status) {
	case AUTH_CONTINUE:
		buf_printf(&s->out, "+ %s\r\n", challenge);
		pop3_flush(s);
		pop3_session_wait_line(s, auth_line);
		return POP3_CMD_ASYNC;
	case AUTH_ASYNC:
		s->pending_work++;
		return POP3_CMD_ASYNC;
	case AUTH_BAD:
		s->auth = NULL;
		pop3_err(s, "%s", error);
		return POP3_CMD_DONE;
	case AUTH_CANCELLED:
		s->auth = NULL;
		pop3_err(s, "Authentication cancelled");
		return POP3_CMD_DONE;
	}
	return POP3_CMD_DONE;
}

static void auth_line(struct pop3_session *s, char *line, size_t len)
{
	const char *challenge = "", *error = "";
	enum auth_status status = auth_request_continue(s->auth, line, len, &challenge, &error);

	explicit_bzero(line, len);
	if (auth_next(s, status, challenge, error) == POP3_CMD_DONE)
		pop3_cmd_complete(s);
}

enum pop3_cmd_status pop3_cmd_auth(struct pop3_session *s)
{
	const char *challenge = "", *error = "";
	const char *names[8];

	/* Without a mechanism: the list, as many clients still ask (the
	 * pre-RFC 5034 form; RFC 5034 itself lists them in CAPA). */
	if (s->cmd.arg_count == 0) {
		size_t n = auth_mech_list(s->server->auth, s->conn, names, 8);
		buf_append_str(&s->out, "+OK Mechanisms follow\r\n");
		for (size_t i = 0; i < n; i++)
			buf_printf(&s->out, "%s\r\n", names[i]);
		buf_append_str(&s->out, ".\r\n");
		s->errors = 0;
		pop3_flush(s);
		return POP3_CMD_DONE;
	}
	if (s->cmd.too_many_args) {
		pop3_err(s, "Usage: AUTH mechanism [initial-response]");
		return POP3_CMD_DONE;
	}
	char *name = arena_strndup(s->cmd_arena, s->cmd.args[0], s->cmd.arg_lens[0]);
	const struct auth_mech *mech = auth_mech_find(s->server->auth, s->conn, name);
	if (mech == NULL) {
		pop3_err(s, "Unsupported authentication mechanism");
		return POP3_CMD_DONE;
	}
	if (!pop3_plaintext_auth_allowed(s)) {
		pop3_err(s, POP3_PLAINTEXT_REFUSED);
		return POP3_CMD_DONE;
	}
	char *ir = NULL;
	if (s->cmd.arg_count == 2) {
		/* RFC 5034 §4: "=" is an empty initial response. */
		ir = arena_strndup(s->cmd_arena, s->cmd.args[1], s->cmd.arg_lens[1]);
		if (strcmp(ir, "=") == 0)
			ir[0] = '\0';
	}
	s->auth = login_request(s);
	enum auth_status status = auth_request_start(s->auth, mech, ir, &challenge, &error);
	return auth_next(s, status, challenge, error);
}
