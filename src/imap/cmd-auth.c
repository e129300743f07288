/*
 * cmd-auth: STARTTLS, LOGIN and AUTHENTICATE (RFC 9051 §6.2).
 *
 * The SASL exchange itself is auth/auth.c's (one implementation for IMAP,
 * POP3 and submission); this file is IMAP's framing of it: "+ " challenges,
 * SASL-IR (RFC 4959), "*" to cancel, and the tagged answers with their
 * response codes (RFC 5530). Password checks run on the worker pool and a
 * failure is answered after the throttle's delay (auth.h), so guessing is
 * slow for the guesser and free for everyone else on the loop.
 */
#include "imap/session.h"
#include "auth/auth.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"

#include <stdlib.h>
#include <string.h>

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

static enum imap_cmd_status auth_next(struct imap_session *s, enum auth_status status,
				      const char *challenge, const char *error);

/* The answer to an asynchronous step (auth/auth.c), on this loop. */
static void login_done(void *context, enum auth_result result, int64_t account_id,
		       const char *address, const char *challenge)
{
	struct imap_session *s = context;

	if (result != AUTH_CHALLENGE)
		s->auth = NULL;
	if (imap_session_work_done(s))
		return;
	switch (result) {
	case AUTH_CHALLENGE:
		if (auth_next(s, AUTH_CONTINUE, challenge, NULL) == IMAP_CMD_DONE)
			break;
		return;
	case AUTH_OK:
		login_succeed(s, account_id, address);
		break;
	case AUTH_FAILED:
		imap_cmd_no(s, "[AUTHENTICATIONFAILED] Authentication failed.");
		break;
	case AUTH_REFUSED:
		imap_cmd_no(s, "[UNAVAILABLE] Too many failed logins; try again later");
		break;
	case AUTH_DENIED: /* RFC 5530 §3 */
		imap_cmd_no(s, "[AUTHORIZATIONFAILED] Cannot log in as another user");
		break;
	case AUTH_UNAVAILABLE: /* the store, or an OAuth introspection endpoint */
		imap_cmd_no(s, "[UNAVAILABLE] Authentication temporarily unavailable");
		break;
	}
	imap_cmd_complete(s);
}

static struct auth_request *login_request(struct imap_session *s)
{
	return auth_request_new(s->server->auth, s->loop, s->store, s->conn, "imap", login_done,
				s);
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
	s->pending_work++;
	(void)auth_request_password(login_request(s), user, password);
	return IMAP_CMD_ASYNC;
}

static void auth_line(struct imap_session *s, char *line, size_t len);

/* What a step of the exchange asks of us. */
static enum imap_cmd_status auth_next(struct imap_session *s, enum auth_status status,
				      const char *challenge, const char *error)
{
	switch (status) {
	case AUTH_CONTINUE:
		imap_write(s, "+ ", 2);
		imap_write(s, challenge, strlen(challenge));
		imap_write(s, "\r\n", 2);
		imap_session_wait_line(s, IMAP_INPUT_AUTH, auth_line);
		return IMAP_CMD_ASYNC;
	case AUTH_ASYNC:
		s->pending_work++;
		return IMAP_CMD_ASYNC;
	case AUTH_BAD:
		s->auth = NULL;
		imap_cmd_bad(s, "%s", error);
		return IMAP_CMD_DONE;
	case AUTH_CANCELLED:
		s->auth = NULL;
		imap_cmd_bad(s, "Authentication cancelled");
		return IMAP_CMD_DONE;
	}
	return IMAP_CMD_DONE;
}

static void auth_line(struct imap_session *s, char *line, size_t len)
{
	const char *challenge = "", *error = "";
	enum auth_status status = auth_request_continue(s->auth, line, len, &challenge, &error);

	explicit_bzero(line, len);
	if (auth_next(s, status, challenge, error) == IMAP_CMD_DONE)
		imap_cmd_complete(s);
}

/* RFC 9051 §6.2.2, with SASL-IR (RFC 4959). */
static enum imap_cmd_status cmd_authenticate(struct imap_session *s, struct imap_parser *p,
					     bool uid)
{
	char *mech_name, *ir = NULL;
	const char *challenge = "", *error = "";

	if (!imap_parse_sp(p) || !imap_parse_atom(p, &mech_name))
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
	const struct auth_mech *mech = auth_mech_find(s->server->auth, s->conn, mech_name);
	if (mech == NULL) {
		imap_cmd_no(s, "Unsupported authentication mechanism");
		return IMAP_CMD_DONE;
	}
	if (login_refused(s))
		return IMAP_CMD_DONE;
	s->auth = login_request(s);
	enum auth_status status = auth_request_start(s->auth, mech, ir, &challenge, &error);
	return auth_next(s, status, challenge, error);
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
