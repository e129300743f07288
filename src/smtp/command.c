/*
 * command: the SMTP verbs (RFC 5321 §4.1.1) and their extensions: EHLO /
 * HELO / LHLO, STARTTLS (RFC 3207), AUTH (RFC 4954; auth/auth.c), MAIL
 * and RCPT with SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531), DSN
 * (RFC 3461) parameters, DATA, BDAT (RFC 3030), BURL (RFC 4468, submission:
 * the URL resolved in this process by imap/urlauth.c, with the checks of
 * URLFETCH), RSET, NOOP, VRFY, HELP, QUIT. Enhanced status codes (RFC
 * 2034, RFC 3463) on every reply.
 */
#include "smtp/session.h"
#include "auth/auth.h"
#include "core/log.h"
#include "core/str.h"
#include "delivery/dsn.h"
#include "imap/urlauth.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* RFC 4954 §4 leaves the delay to us: a failed password is answered late
 * so that guessing is slow for the guesser and free for everyone else. */

/* "AUTH" and the mechanisms auth/auth.c offers on this connection. */
static const char *auth_ext(struct smtp_session *s)
{
	const char *names[8];
	size_t n = auth_mech_list(s->sloop->server->auth, s->conn, names, 8);
	char *ext = arena_strdup(s->line_arena, "AUTH");

	for (size_t i = 0; i < n; i++)
		ext = arena_printf(s->line_arena, "%s %s", ext, names[i]);
	return ext;
}

/* ---- greetings -------------------------------------------------------------- */

static void cmd_ehlo(struct smtp_session *s, enum smtp_verb verb, const char *args)
{
	bool lmtp = s->sloop->kind == SMTP_KIND_LMTP;
	const char *ext[13];
	size_t n = 0;
	char size[64];

	/* RFC 2033 §4.1: LMTP knows LHLO only; SMTP does not know LHLO. */
	if (lmtp != (verb == SMTP_VERB_LHLO)) {
		smtp_reply(s, "500 5.5.1 Command unrecognized");
		return;
	}
	if (!smtp_valid_domain_arg(args) || strlen(args) > SMTP_DOMAIN_MAX) {
		smtp_reply(s, "501 5.5.4 Syntax: %s domain",
			   verb == SMTP_VERB_HELO ? "HELO" : verb == SMTP_VERB_LHLO ? "LHLO" : "EHLO");
		return;
	}
	/* RFC 5321 §4.1.4: EHLO anew resets the transaction. */
	smtp_transaction_reset(s);
	s->helo = arena_strdup(s->arena, args);
	s->esmtp = verb != SMTP_VERB_HELO;
	if (!s->esmtp) {
		smtp_reply(s, "250 %s", s->config->hostname);
		return;
	}
	snprintf(size, sizeof(size), "SIZE %llu", (unsigned long long)s->config->max_message_size);
	/* Sorted by name, each with its RFC. */
	if (s->sloop->kind == SMTP_KIND_SUBMISSION && s->account_id == 0 && smtp_auth_allowed(s))
		ext[n++] = auth_ext(s);                 /* RFC 4954 */
	ext[n++] = "8BITMIME";                          /* RFC 6152 */
	/* RFC 4468 §3.1: submission only; "imap" once logged in, as the
	 * URLAUTH URLs it takes are submit+<that user>'s (§3.3). */
	if (s->sloop->kind == SMTP_KIND_SUBMISSION)
		ext[n++] = s->account_id != 0 ? "BURL imap" : "BURL";
	ext[n++] = "CHUNKING";                          /* RFC 3030 */
	ext[n++] = "DSN";                               /* RFC 3461 */
	ext[n++] = "ENHANCEDSTATUSCODES";               /* RFC 2034 */
	ext[n++] = "PIPELINING";                        /* RFC 2920 */
	ext[n++] = size;                                /* RFC 1870 */
	ext[n++] = "SMTPUTF8";                          /* RFC 6531 */
	if (!lmtp && !conn_is_tls(s->conn) && s->sloop->server->tls != NULL)
		ext[n++] = "STARTTLS";                  /* RFC 3207 */
	smtp_write(s, "250-");
	smtp_write(s, s->config->hostname);
	smtp_write(s, "\r\n");
	for (size_t i = 0; i < n; i++) {
		smtp_write(s, i + 1 < n ? "250-" : "250 ");
		smtp_write(s, ext[i]);
		smtp_write(s, "\r\n");
	}
}

/* RFC 3207 §4 */
static void cmd_starttls(struct smtp_session *s, const char *args)
{
	if (s->sloop->kind == SMTP_KIND_LMTP) {
		smtp_reply(s, "502 5.5.1 Command not implemented");
		return;
	}
	if (*args != '\0') {
		smtp_reply(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if (conn_is_tls(s->conn)) {
		smtp_reply(s, "503 5.5.1 TLS already active");
		return;
	}
	if (s->sloop->server->tls == NULL) {
		smtp_reply(s, "454 4.7.0 TLS not available");
		return;
	}
	smtp_write(s, "220 2.0.0 Ready to start TLS\r\n");
	/* Bytes pipelined after STARTTLS came in clear: they must not be
	 * taken as if they were inside TLS (RFC 3207 §6, CVE-2011-0411). */
	if (conn_start_tls(s->conn, s->sloop->server->tls) < 0) {
		log_info("smtp: %s: input after STARTTLS; closing", s->id);
		smtp_close(s);
		return;
	}
	/* RFC 3207 §4.2: forget everything learnt before TLS. */
	smtp_transaction_reset(s);
	s->helo = NULL;
	s->esmtp = false;
	s->account_id = 0;
	s->account = NULL;
}

/* ---- AUTH (RFC 4954) ------------------------------------------------------------ */

static void auth_next(struct smtp_session *s, enum auth_status status, const char *challenge,
		      const char *error);

/* The answer to an asynchronous step (auth/auth.c), on this loop. */
static void auth_done(void *context, enum auth_result result, int64_t account_id,
		      const char *address, const char *challenge)
{
	struct smtp_session *s = context;

	if (result != AUTH_CHALLENGE)
		s->auth = NULL;
	if (smtp_session_work_done(s))
		return;
	switch (result) {
	case AUTH_CHALLENGE:
		auth_next(s, AUTH_CONTINUE, challenge, NULL);
		return;
	case AUTH_OK:
		s->account_id = account_id;
		s->account = arena_strdup(s->arena, address);
		log_info("smtp: %s: login %s from %s", s->id, address, conn_peer_address(s->conn));
		smtp_reply(s, "235 2.7.0 Authentication successful");
		break;
	case AUTH_FAILED:
		smtp_reply(s, "535 5.7.8 Authentication credentials invalid");
		break;
	case AUTH_REFUSED:
		smtp_reply(s, "454 4.7.0 Too many failed logins; try again later");
		break;
	case AUTH_DENIED:
		smtp_reply(s, "535 5.7.8 Cannot authorize as another user");
		break;
	case AUTH_UNAVAILABLE:
		smtp_reply(s, "454 4.7.0 Temporary authentication failure");
		break;
	}
	smtp_input_commands(s);
}

/* What a step of the exchange asks of us: RFC 4954 §4, challenges are 334
 * lines, the last one carrying the server's additional data. */
static void auth_next(struct smtp_session *s, enum auth_status status, const char *challenge,
		      const char *error)
{
	switch (status) {
	case AUTH_CONTINUE: {
		/* Busy when the challenge came from an asynchronous step. */
		bool was_busy = s->input == SMTP_INPUT_BUSY;
		s->input = SMTP_INPUT_AUTH;
		smtp_write(s, "334 ");
		smtp_write(s, challenge);
		smtp_write(s, "\r\n");
		if (was_busy && s->conn != NULL)
			conn_resume_input(s->conn);
		return;
	}
	case AUTH_ASYNC:
		s->input = SMTP_INPUT_BUSY;
		conn_pause_input(s->conn);
		s->pending_work++;
		return;
	case AUTH_BAD:
		s->auth = NULL;
		smtp_reply(s, "501 5.5.2 %s", error);
		break;
	case AUTH_CANCELLED:
		s->auth = NULL;
		/* RFC 4954 §4: "*" cancels with a 501. */
		smtp_reply(s, "501 5.7.0 Authentication cancelled");
		break;
	}
	smtp_input_commands(s);
}

void smtp_auth_line(struct smtp_session *s, char *line, size_t len)
{
	const char *challenge = "", *error = "";
	enum auth_status status = auth_request_continue(s->auth, line, len, &challenge, &error);

	explicit_bzero(line, len);
	auth_next(s, status, challenge, error);
}

static void cmd_auth(struct smtp_session *s, const char *args)
{
	char mech[32];
	size_t n = strcspn(args, " ");
	const char *ir = args[n] == ' ' ? args + n + 1 : NULL;

	if (s->sloop->kind != SMTP_KIND_SUBMISSION) {
		smtp_reply(s, "502 5.5.1 Command not implemented");
		return;
	}
	if (s->helo == NULL || !s->esmtp) {
		smtp_reply(s, "503 5.5.1 Send EHLO first");
		return;
	}
	if (s->account_id != 0) {
		smtp_reply(s, "503 5.5.1 Already authenticated");
		return;
	}
	if (s->sender != NULL) {
		smtp_reply(s, "503 5.5.1 AUTH not allowed during a mail transaction");
		return;
	}
	if (!smtp_auth_allowed(s)) {
		smtp_reply(s, "538 5.7.11 Encryption required for requested authentication "
			      "mechanism");
		return;
	}
	if (n == 0 || n >= sizeof(mech)) {
		smtp_reply(s, "501 5.5.4 Syntax: AUTH mechanism [initial-response]");
		return;
	}
	memcpy(mech, args, n);
	mech[n] = '\0';
	const struct auth_mech *m = auth_mech_find(s->sloop->server->auth, s->conn, mech);
	if (m == NULL) {
		smtp_reply(s, "504 5.5.4 Unrecognized authentication type");
		return;
	}
	if (ir != NULL && strcmp(ir, "=") == 0)
		ir = ""; /* RFC 4954 §4: an empty initial response */
	s->auth = auth_request_new(s->sloop->server->auth, s->sloop->loop, s->sloop->store,
				   s->conn, "smtp", auth_done, s);
	const char *challenge = "", *error = "";
	enum auth_status status = auth_request_start(s->auth, m, ir, &challenge, &error);
	auth_next(s, status, challenge, error);
}

/* ---- the transaction ----------------------------------------------------------------- */

/* RFC 1870, 6152, 6531, 3461, 4954 §5: the MAIL parameters we take. */
static bool mail_params(struct smtp_session *s, const struct smtp_path_args *a)
{
	for (size_t i = 0; i < a->param_count; i++) {
		const struct smtp_param *p = &a->params[i];
		uint64_t size;

		if (!s->esmtp) {
			smtp_reply(s, "555 5.5.4 Parameters need EHLO");
			return false;
		}
		if (strcmp(p->name, "SIZE") == 0) {
			if (p->value == NULL || str_parse_u64(p->value, strlen(p->value), &size) < 0) {
				smtp_reply(s, "501 5.5.4 Bad SIZE parameter");
				return false;
			}
			if (size > s->config->max_message_size) {
				smtp_reply(s, "552 5.3.4 Message size exceeds fixed maximum message size");
				return false;
			}
			s->declared_size = size;
		} else if (strcmp(p->name, "BODY") == 0) {
			if (p->value == NULL || (!str_eq_nocase(p->value, "7BIT") &&
						 !str_eq_nocase(p->value, "8BITMIME"))) {
				smtp_reply(s, "501 5.5.4 BODY must be 7BIT or 8BITMIME");
				return false;
			}
		} else if (strcmp(p->name, "SMTPUTF8") == 0) {
			if (p->value != NULL) {
				smtp_reply(s, "501 5.5.4 SMTPUTF8 takes no value");
				return false;
			}
			s->smtputf8 = true;
		} else if (strcmp(p->name, "RET") == 0) {
			/* RFC 3461 §4.3, §4.5: once, FULL or HDRS. */
			if (p->value == NULL || s->dsn_ret != DSN_RET_NONE ||
			    (!str_eq_nocase(p->value, "FULL") && !str_eq_nocase(p->value, "HDRS"))) {
				smtp_reply(s, "501 5.5.4 RET must be FULL or HDRS, once");
				return false;
			}
			s->dsn_ret = str_eq_nocase(p->value, "FULL") ? DSN_RET_FULL : DSN_RET_HDRS;
		} else if (strcmp(p->name, "ENVID") == 0) {
			/* RFC 3461 §4.4, §4.5: xtext of printable ASCII, once. */
			if (p->value == NULL || s->envid != NULL || !dsn_envid_valid(p->value)) {
				smtp_reply(s, "501 5.5.4 Bad ENVID parameter");
				return false;
			}
			s->envid = p->value;
		} else if (strcmp(p->name, "AUTH") == 0) {
			if (p->value == NULL || !smtp_valid_xtext(p->value)) {
				smtp_reply(s, "501 5.5.4 Bad %s parameter", p->name);
				return false;
			}
		} else {
			smtp_reply(s, "555 5.5.4 Unsupported parameter %s", p->name);
			return false;
		}
	}
	return true;
}

static void cmd_mail(struct smtp_session *s, const char *args)
{
	struct smtp_path_args a;
	const char *error;

	if (s->helo == NULL) {
		smtp_reply(s, "503 5.5.1 Send %s first",
			   s->sloop->kind == SMTP_KIND_LMTP ? "LHLO" : "EHLO/HELO");
		return;
	}
	if (s->sender != NULL) {
		smtp_reply(s, "503 5.5.1 Sender already specified");
		return;
	}
	if (s->sloop->kind == SMTP_KIND_SUBMISSION && s->account_id == 0) {
		smtp_reply(s, "530 5.7.0 Authentication required");
		return;
	}
	if (args == NULL) {
		smtp_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	if (smtp_parse_path_args(s->txn_arena, args, true, false, &a, &error) < 0) {
		smtp_reply(s, "%s", error);
		return;
	}
	s->smtputf8 = false;
	s->dsn_ret = DSN_RET_NONE;
	s->envid = NULL;
	if (!mail_params(s, &a)) {
		s->dsn_ret = DSN_RET_NONE;
		s->envid = NULL;
		return;
	}
	/* RFC 6531 §3.4: a UTF-8 address needs SMTPUTF8. */
	if (a.utf8 && !s->smtputf8) {
		smtp_reply(s, "553 5.6.7 Non-ASCII address needs SMTPUTF8");
		return;
	}
	/* RFC 6409 §6.1: the submitter may only send as itself. */
	if (s->sloop->kind == SMTP_KIND_SUBMISSION && !str_eq_nocase(a.address, s->account)) {
		log_info("smtp: %s: %s may not send as <%s>", s->id, s->account, a.address);
		smtp_reply(s, "550 5.7.1 Sender address not owned by %s", s->account);
		return;
	}
	s->sender = a.address;
	smtp_reply(s, "250 2.1.0 Sender OK");
}

static void cmd_rcpt(struct smtp_session *s, const char *args)
{
	struct smtp_path_args a;
	const char *error;

	if (s->sender == NULL) {
		smtp_reply(s, "503 5.5.1 Need MAIL first");
		return;
	}
	if (s->bdat_used) {
		smtp_reply(s, "503 5.5.1 RCPT after BDAT");
		return;
	}
	if (args == NULL) {
		smtp_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	if (s->rcpts.count >= SMTP_MAX_RECIPIENTS) {
		/* RFC 5321 §4.5.3.1.10: 452, the client sends the rest later. */
		smtp_reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	if (smtp_parse_path_args(s->txn_arena, args, false, true, &a, &error) < 0) {
		smtp_reply(s, "%s", error);
		return;
	}
	unsigned notify = 0;
	const char *orcpt = NULL;
	for (size_t i = 0; i < a.param_count; i++) {
		const struct smtp_param *p = &a.params[i];
		/* RFC 3461 §4.1, §4.2, §4.5 and §5.1 (b): each once, 501 when
		 * bad; kept with the recipient and acted on (transaction.c,
		 * delivery/). */
		if (s->esmtp && strcmp(p->name, "NOTIFY") == 0) {
			if (p->value == NULL || notify != 0 ||
			    dsn_notify_parse(p->value, &notify) < 0) {
				smtp_reply(s, "501 5.5.4 Bad NOTIFY parameter");
				return;
			}
			continue;
		}
		if (s->esmtp && strcmp(p->name, "ORCPT") == 0) {
			if (p->value == NULL || orcpt != NULL || !dsn_orcpt_valid(p->value)) {
				smtp_reply(s, "501 5.5.4 Bad ORCPT parameter");
				return;
			}
			orcpt = p->value;
			continue;
		}
		smtp_reply(s, "555 5.5.4 Unsupported parameter %s", p->name);
		return;
	}
	if (a.utf8 && !s->smtputf8) {
		smtp_reply(s, "553 5.6.7 Non-ASCII address needs SMTPUTF8");
		return;
	}
	smtp_rcpt_add(s, a.address, notify, orcpt);
}

static bool transaction_ready(struct smtp_session *s)
{
	if (s->sender == NULL) {
		smtp_reply(s, "503 5.5.1 Need MAIL first");
		return false;
	}
	if (s->rcpts.count == 0) {
		smtp_reply(s, "554 5.5.1 No valid recipients");
		return false;
	}
	return true;
}

/* RFC 5321 §4.1.1.4 */
static void cmd_data(struct smtp_session *s, const char *args)
{
	if (*args != '\0') {
		smtp_reply(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (s->bdat_used) {
		smtp_reply(s, "503 5.5.1 DATA after BDAT");
		return;
	}
	if (!transaction_ready(s))
		return;
	buf_free(&s->message);
	smtp_data_init(&s->data);
	s->input = SMTP_INPUT_DATA;
	smtp_session_data_timeout(s);
	smtp_write(s, "354 End data with <CR><LF>.<CR><LF>\r\n");
}

/* RFC 3030 §2: BDAT size [LAST]. The chunk follows at once whatever we
 * answer, so it is read (and maybe discarded) before any reply. */
static void cmd_bdat(struct smtp_session *s, const char *args)
{
	size_t n = strcspn(args, " ");
	uint64_t size;
	bool last = false;

	if (n == 0 || n > 20 || str_parse_u64(args, n, &size) < 0 ||
	    (args[n] != '\0' && !(last = str_eq_nocase(args + n + 1, "LAST")))) {
		/* Without a size we cannot find the next command. */
		smtp_reply(s, "501 5.5.4 Syntax: BDAT size [LAST]");
		smtp_write(s, "421 4.5.0 Lost synchronization, closing\r\n");
		smtp_close(s);
		return;
	}
	if (s->sender == NULL)
		s->bdat_error = "503 5.5.1 Need MAIL first";
	else if (s->rcpts.count == 0)
		s->bdat_error = "554 5.5.1 No valid recipients";
	if (!s->bdat_used && s->bdat_error == NULL) {
		s->bdat_used = true;
		buf_free(&s->message);
		smtp_data_init(&s->data);
	}
	s->bdat_last = last;
	s->bdat_remaining = size;
	s->input = SMTP_INPUT_BDAT;
	smtp_session_data_timeout(s);
}

/* RFC 4468 §3: BURL url [LAST], in place of DATA and mixed with BDAT. The
 * URL is resolved here, at once, by the store of this loop: the same
 * checks as URLFETCH (imap/urlauth.c) for a submission server acting for
 * the authenticated user (access submit+USER, authuser, anonymous). Any
 * failure fails the whole transaction (§3.2). */
static void cmd_burl(struct smtp_session *s, const char *args)
{
	size_t n = strcspn(args, " ");
	bool last = false;

	if (s->sloop->kind != SMTP_KIND_SUBMISSION) {
		/* §3.1: never on MX (or LMTP) */
		smtp_reply(s, "502 5.5.1 Command not implemented");
		return;
	}
	if (n == 0 || (args[n] != '\0' && !(last = str_eq_nocase(args + n + 1, "LAST")))) {
		smtp_reply(s, "501 5.5.4 Syntax: BURL absolute-URI [LAST]");
		return;
	}
	if (s->sender == NULL) {
		smtp_reply(s, "503 5.5.1 Need MAIL first");
		return;
	}
	if (s->rcpts.count == 0) {
		/* §6: no resolution without a valid recipient */
		smtp_reply(s, "554 5.5.0 No recipients have been specified");
		return;
	}
	if (!str_has_prefix_nocase(args, "imap://")) {
		smtp_reply(s, "554 5.7.8 URL resolution requires trust relationship");
		smtp_transaction_reset(s);
		return;
	}
	if (!s->bdat_used) {
		/* from here on the message is built from chunks: no DATA */
		s->bdat_used = true;
		buf_free(&s->message);
		smtp_data_init(&s->data);
	}
	const struct imap_urlauth_requester who = {
		.account_id = s->account_id, .address = s->account, .submit = true,
	};
	const char *url = arena_strndup(s->line_arena, args, n);
	size_t before = s->message.len;
	uint64_t limit = s->config->max_message_size;
	enum imap_urlauth_result r =
		imap_urlauth_fetch(s->sloop->store, s->line_arena, s->config->hostname, &who, url,
				   n, (int64_t)time(NULL), limit, NULL, &s->message);
	switch (r) {
	case IMAP_URLAUTH_OK:
		break;
	case IMAP_URLAUTH_BADURL:
		/* not one of our URLAUTH URLs: another server's or a plain one */
		smtp_reply(s, "554 5.7.8 URL resolution requires trust relationship");
		break;
	case IMAP_URLAUTH_DENIED:
		smtp_reply(s, "554 5.7.0 IMAP URL authorization failed");
		break;
	case IMAP_URLAUTH_MISSING:
		smtp_reply(s, "554 5.6.6 IMAP URL resolution failed");
		break;
	case IMAP_URLAUTH_TOOBIG:
		smtp_reply(s, "554 5.3.4 Message too big for system");
		break;
	case IMAP_URLAUTH_FAILED:
		smtp_reply(s, "451 4.4.1 IMAP server unavailable");
		break;
	}
	if (r != IMAP_URLAUTH_OK) {
		log_info("smtp: %s: BURL by %s refused (%d)", s->id, s->account, (int)r);
		smtp_transaction_reset(s);
		return;
	}
	s->data.size = s->message.len;
	log_info("smtp: %s: BURL by %s: %zu octets", s->id, s->account, s->message.len - before);
	if (last) {
		smtp_message_done(s);
		return;
	}
	smtp_reply(s, "250 2.5.0 Waiting for additional BURL or BDAT commands");
}

/* ---- dispatch ------------------------------------------------------------------------ */

void smtp_command(struct smtp_session *s, char *line, size_t len)
{
	const char *args;

	if (strlen(line) != len) {
		smtp_reply(s, "500 5.5.2 NUL in command");
		return;
	}
	enum smtp_verb verb = smtp_parse_verb(line, &args);
	switch (verb) {
	case SMTP_VERB_EHLO:
	case SMTP_VERB_HELO:
	case SMTP_VERB_LHLO:
		cmd_ehlo(s, verb, args);
		break;
	case SMTP_VERB_STARTTLS:
		cmd_starttls(s, args);
		break;
	case SMTP_VERB_AUTH:
		cmd_auth(s, args);
		break;
	case SMTP_VERB_MAIL:
		cmd_mail(s, args);
		break;
	case SMTP_VERB_RCPT:
		cmd_rcpt(s, args);
		break;
	case SMTP_VERB_DATA:
		cmd_data(s, args);
		break;
	case SMTP_VERB_BDAT:
		cmd_bdat(s, args);
		break;
	case SMTP_VERB_BURL:
		cmd_burl(s, args);
		break;
	case SMTP_VERB_RSET:
		smtp_transaction_reset(s);
		smtp_reply(s, "250 2.0.0 OK");
		break;
	case SMTP_VERB_NOOP:
		smtp_reply(s, "250 2.0.0 OK");
		break;
	case SMTP_VERB_VRFY:
		/* RFC 5321 §3.5.3: 252 tells nothing about who exists. */
		smtp_reply(s, "252 2.5.0 Cannot VRFY user, but will accept message");
		break;
	case SMTP_VERB_EXPN:
		smtp_reply(s, "502 5.5.1 EXPN not available");
		break;
	case SMTP_VERB_HELP:
		smtp_reply(s, "214 2.0.0 See RFC 5321");
		break;
	case SMTP_VERB_QUIT:
		smtp_write(s, "221 2.0.0 Bye\r\n");
		smtp_close(s);
		break;
	case SMTP_VERB_UNKNOWN:
		smtp_reply(s, "500 5.5.2 Command unrecognized");
		break;
	}
}
