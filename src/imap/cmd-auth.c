/*
 * cmd-auth: STARTTLS, LOGIN and AUTHENTICATE (RFC 9051 §6.2).
 *
 * Password checks run on the worker pool through auth/login.c (yescrypt
 * costs tens of milliseconds; rule 5 says the loop must not wait for it). A failed login
 * is answered only after IMAP_LOGIN_FAIL_DELAY_MS so that guessing is slow
 * for the guesser and free for everyone else on the loop.
 */
#include "imap/session.h"
#include "auth/login.h"
#include "auth/sasl.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"

#include <stdlib.h>
#include <string.h>

#define IMAP_LOGIN_FAIL_DELAY_MS 1000

static void login_fail_done(struct loop *loop, void *context)
{
	struct imap_session *s = context;

	if (imap_session_work_done(s))
		return;
	imap_cmd_no(s, "[AUTHENTICATIONFAILED] Authentication failed.");
	imap_cmd_complete(s);
}

static void login_succeed(struct imap_session *s, int64_t account_id, const char *address)
{
	const char *error;

	if (store_account_ensure_defaults(s->store, account_id, &error) < 0) {
		log_error("imap: default folders for %s: %s", address, error);
		imap_cmd_no(s, "[UNAVAILABLE] Mail store unavailable");
		return;
	}
	s->account_id = account_id;
	s->account_name = arena_strdup(s->arena, address);
	s->state = IMAP_STATE_AUTHENTICATED;
	imap_session_watch(s);
	log_info("imap: login %s from %s", address, conn_peer_address(s->conn));
	buf_append_str(&s->scratch, "[");
	imap_write_capabilities(s, &s->scratch);
	buf_append_str(&s->scratch, "] Logged in");
	imap_cmd_ok(s, "%s", s->scratch.data);
	buf_clear(&s->scratch);
}

/* The answer of auth/login.c, on this loop. */
static void login_done(void *context, enum login_result result, int64_t account_id,
		       const char *address)
{
	struct imap_session *s = context;

	if (imap_session_work_done(s))
		return;
	switch (result) {
	case LOGIN_OK:
		login_succeed(s, account_id, address);
		imap_cmd_complete(s);
		break;
	case LOGIN_UNAVAILABLE:
		imap_cmd_no(s, "[UNAVAILABLE] Mail store unavailable");
		imap_cmd_complete(s);
		break;
	case LOGIN_FAILED:
		/* The fail2ban-readable line (issue 6 will add throttling). */
		log_warn("imap: authentication failed for %s from %s", s->login_user,
			 conn_peer_address(s->conn));
		s->pending_work++;
		loop_timer_add(s->loop, IMAP_LOGIN_FAIL_DELAY_MS, login_fail_done, s);
		break;
	}
}

/* Look the account up and verify the password off the loop (auth/login.c). */
static enum imap_cmd_status imap_login_start(struct imap_session *s, const char *user,
					     const char *password)
{
	s->login_user = arena_strdup(s->cmd_arena, user);
	s->pending_work++;
	login_start(s->server->workers, s->loop, s->store, user, password, login_done, s);
	return IMAP_CMD_ASYNC;
}

static bool login_refused(struct imap_session *s)
{
	if (imap_plaintext_auth_allowed(s))
		return false;
	imap_cmd_no(s, "[PRIVACYREQUIRED] Use STARTTLS or port 993 before logging in");
	return true;
}

/* RFC 9051 §6.2.3 */
static enum imap_cmd_status cmd_login(struct imap_session *s, struct imap_parser *p, bool uid)
{
	char *user, *password;
	size_t ulen, plen;

	if (!imap_parse_sp(p) || !imap_parse_astring(p, &user, &ulen) || !imap_parse_sp(p) ||
	    !imap_parse_astring(p, &password, &plen) || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (login_refused(s))
		return IMAP_CMD_DONE;
	if (strlen(user) != ulen || strlen(password) != plen) {
		imap_cmd_no(s, "[AUTHENTICATIONFAILED] Authentication failed.");
		return IMAP_CMD_DONE;
	}
	return imap_login_start(s, user, password);
}

static enum imap_cmd_status auth_plain_response(struct imap_session *s, const char *b64,
						size_t len)
{
	char *authz, *authc, *password;
	const char *error;

	if (len == 1 && b64[0] == '*') {
		imap_cmd_bad(s, "Authentication cancelled");
		return IMAP_CMD_DONE;
	}
	if (sasl_plain_decode(s->cmd_arena, b64, len, &authz, &authc, &password, &error) < 0) {
		imap_cmd_bad(s, "%s", error);
		return IMAP_CMD_DONE;
	}
	if (*authz != '\0' && !str_eq_nocase(authz, authc)) {
		imap_cmd_no(s, "[AUTHORIZATIONFAILED] Cannot log in as another user");
		return IMAP_CMD_DONE;
	}
	return imap_login_start(s, authc, password);
}

static void auth_plain_line(struct imap_session *s, char *line, size_t len)
{
	if (auth_plain_response(s, line, len) == IMAP_CMD_DONE)
		imap_cmd_complete(s);
}

/* RFC 9051 §6.2.2, with SASL-IR (RFC 4959). Only PLAIN for now. */
static enum imap_cmd_status cmd_authenticate(struct imap_session *s, struct imap_parser *p,
					     bool uid)
{
	char *mech, *ir = NULL;

	if (!imap_parse_sp(p) || !imap_parse_atom(p, &mech))
		return imap_cmd_syntax(s, p);
	if (imap_peek_char(p, ' ')) {
		p->p++;
		if (imap_peek_char(p, '=')) {
			p->p++;
			ir = "";
		} else if (!imap_parse_atom(p, &ir)) {
			return imap_cmd_syntax(s, p);
		}
	}
	if (!imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (!str_eq_nocase(mech, "PLAIN")) {
		imap_cmd_no(s, "Unsupported authentication mechanism");
		return IMAP_CMD_DONE;
	}
	if (login_refused(s))
		return IMAP_CMD_DONE;
	if (ir != NULL)
		return auth_plain_response(s, ir, strlen(ir));
	imap_write(s, "+ \r\n", 4);
	imap_session_wait_line(s, IMAP_INPUT_AUTH, auth_plain_line);
	return IMAP_CMD_ASYNC;
}

/* RFC 9051 §6.2.1 */
static enum imap_cmd_status cmd_starttls(struct imap_session *s, struct imap_parser *p, bool uid)
{
	if (!imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (conn_is_tls(s->conn) || s->server->tls == NULL) {
		imap_cmd_bad(s, "TLS is already active or not available");
		return IMAP_CMD_DONE;
	}
	if (conn_input(s->conn)->len > 0) {
		/* Bytes after STARTTLS were sent in clear: never carry them
		 * into the TLS session (RFC 3207 §4 style injection). */
		imap_cmd_bad(s, "Unexpected input after STARTTLS");
		s->state = IMAP_STATE_LOGOUT;
		return IMAP_CMD_DONE;
	}
	s->start_tls = true;
	imap_cmd_ok(s, "Begin TLS negotiation now");
	return IMAP_CMD_DONE;
}

const struct imap_command imap_cmd_def_authenticate = {
	"AUTHENTICATE", IMAP_STATE_NOT_AUTHENTICATED, 0, cmd_authenticate
};
const struct imap_command imap_cmd_def_login = {
	"LOGIN", IMAP_STATE_NOT_AUTHENTICATED, 0, cmd_login
};
const struct imap_command imap_cmd_def_starttls = {
	"STARTTLS", IMAP_STATE_NOT_AUTHENTICATED, 0, cmd_starttls
};
