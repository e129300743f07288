/*
 * cmd-auth: the AUTHORIZATION state (RFC 1939 §4, §7): CAPA (RFC 2449),
 * STLS (RFC 2595), USER and PASS, AUTH (RFC 5034, SASL PLAIN with an
 * initial response), and the move to TRANSACTION with the maildrop lock.
 *
 * As for IMAP (imap/cmd-auth.c): passwords are checked on the worker pool
 * (rule 5), a failed login is answered only after POP3_LOGIN_FAIL_DELAY_MS,
 * and an unknown account costs the same time as a wrong password.
 */
#include "pop3/session.h"
#include "auth/login.h"
#include "auth/sasl.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"

#include <stdlib.h>
#include <string.h>

#define POP3_LOGIN_FAIL_DELAY_MS 1000

/* RFC 3206 / RFC 2449 response codes and the texts we use them with. */
#define POP3_AUTH_FAILED "[AUTH] Authentication failed"
#define POP3_PLAINTEXT_REFUSED \
	"[AUTH] Plaintext authentication disallowed on non-secure connections; use STLS or POP3S"

/* RFC 2449 §5: the CAPA list, in one place, each with its RFC. */
enum capa_when { CAPA_ALWAYS, CAPA_LOGIN, CAPA_STLS };
static const struct {
	const char *line;
	enum capa_when when;
} pop3_capabilities[] = {
	{ "AUTH-RESP-CODE", CAPA_ALWAYS },  /* RFC 3206 §6 */
	{ "EXPIRE NEVER", CAPA_ALWAYS },    /* RFC 2449 §6.7: we never delete unasked */
	{ "IMPLEMENTATION buzon", CAPA_ALWAYS }, /* RFC 2449 §6.9 */
	{ "PIPELINING", CAPA_ALWAYS },      /* RFC 2449 §6.6 */
	{ "RESP-CODES", CAPA_ALWAYS },      /* RFC 2449 §6.4 */
	{ "SASL PLAIN", CAPA_LOGIN },       /* RFC 5034 §5 */
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
			show = authz && pop3_plaintext_auth_allowed(s);
			break;
		case CAPA_STLS:
			show = authz && s->conn != NULL && !conn_is_tls(s->conn) &&
			       s->server->tls != NULL;
			break;
		}
		if (show) {
			buf_append_str(&s->out, pop3_capabilities[i].line);
			buf_append_str(&s->out, "\r\n");
		}
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

/* ---- password check (auth/login.c) ------------------------------------------- */

static void login_fail_done(struct loop *loop, void *context)
{
	struct pop3_session *s = context;

	if (pop3_session_work_done(s))
		return;
	pop3_err(s, POP3_AUTH_FAILED);
	pop3_cmd_complete(s);
}

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

static void login_done(void *context, enum login_result result, int64_t account_id,
		       const char *address)
{
	struct pop3_session *s = context;

	if (pop3_session_work_done(s))
		return;
	switch (result) {
	case LOGIN_OK:
		login_succeed(s, account_id, address);
		pop3_cmd_complete(s);
		break;
	case LOGIN_UNAVAILABLE:
		pop3_err(s, "[SYS/TEMP] Mail store unavailable");
		pop3_cmd_complete(s);
		break;
	case LOGIN_FAILED:
		/* The fail2ban-readable line, as IMAP's. */
		log_warn("pop3: authentication failed for %s from %s", s->login_user,
			 conn_peer_address(s->conn));
		s->pending_work++;
		loop_timer_add(s->loop, POP3_LOGIN_FAIL_DELAY_MS, login_fail_done, s);
		break;
	}
}

/* Look the account up and verify off the loop (auth/login.c). */
static enum pop3_cmd_status pop3_login_start(struct pop3_session *s, const char *user,
					     const char *password)
{
	s->login_user = arena_strdup(s->cmd_arena, user);
	s->pending_work++;
	login_start(s->server->workers, s->loop, s->store, user, password, login_done, s);
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

static enum pop3_cmd_status auth_plain_response(struct pop3_session *s, const char *b64,
						size_t len)
{
	char *authz, *authc, *password;
	const char *error;

	/* RFC 5034 §4: "*" cancels. */
	if (len == 1 && b64[0] == '*') {
		pop3_err(s, "Authentication cancelled");
		return POP3_CMD_DONE;
	}
	if (sasl_plain_decode(s->cmd_arena, b64, len, &authz, &authc, &password, &error) < 0) {
		pop3_err(s, "%s", error);
		return POP3_CMD_DONE;
	}
	if (*authz != '\0' && !str_eq_nocase(authz, authc)) {
		pop3_err(s, "[AUTH] Cannot log in as another user");
		return POP3_CMD_DONE;
	}
	enum pop3_cmd_status r = pop3_login_start(s, authc, password);
	explicit_bzero(password, strlen(password));
	return r;
}

static void auth_plain_line(struct pop3_session *s, char *line, size_t len)
{
	enum pop3_cmd_status r = auth_plain_response(s, line, len);

	explicit_bzero(line, len);
	if (r == POP3_CMD_DONE)
		pop3_cmd_complete(s);
}

enum pop3_cmd_status pop3_cmd_auth(struct pop3_session *s)
{
	/* Without a mechanism: the list, as many clients still ask (the
	 * pre-RFC 5034 form; RFC 5034 itself lists them in CAPA). */
	if (s->cmd.arg_count == 0) {
		buf_append_str(&s->out, "+OK Mechanisms follow\r\nPLAIN\r\n.\r\n");
		s->errors = 0;
		pop3_flush(s);
		return POP3_CMD_DONE;
	}
	if (s->cmd.too_many_args) {
		pop3_err(s, "Usage: AUTH mechanism [initial-response]");
		return POP3_CMD_DONE;
	}
	if (!str_eq_nocase_n(s->cmd.args[0], s->cmd.arg_lens[0], "PLAIN")) {
		pop3_err(s, "Unsupported authentication mechanism");
		return POP3_CMD_DONE;
	}
	if (!pop3_plaintext_auth_allowed(s)) {
		pop3_err(s, POP3_PLAINTEXT_REFUSED);
		return POP3_CMD_DONE;
	}
	if (s->cmd.arg_count == 2) {
		const char *ir = s->cmd.args[1];
		size_t len = s->cmd.arg_lens[1];
		/* RFC 5034 §4: "=" is an empty initial response. */
		if (len == 1 && ir[0] == '=')
			len = 0;
		return auth_plain_response(s, ir, len);
	}
	/* RFC 5034 §4: the empty challenge is "+ ". */
	buf_append_str(&s->out, "+ \r\n");
	pop3_flush(s);
	pop3_session_wait_line(s, auth_plain_line);
	return POP3_CMD_ASYNC;
}
