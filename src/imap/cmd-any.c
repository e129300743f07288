/*
 * cmd-any: the small commands valid in any state or that only talk about
 * the session: CAPABILITY, NOOP, LOGOUT (RFC 9051 §6.1), CHECK, ENABLE
 * (RFC 5161), NAMESPACE (RFC 2342), IDLE (RFC 2177).
 */
#include "imap/session.h"
#include "core/log.h"
#include "core/str.h"

#include <string.h>

static enum imap_cmd_status cmd_capability(struct imap_session *s, struct imap_parser *p,
					   bool uid)
{
	if (!imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	buf_append_str(&s->scratch, "* ");
	imap_write_capabilities(s, &s->scratch);
	buf_append_str(&s->scratch, "\r\n");
	imap_flush_scratch(s);
	imap_cmd_ok(s, "CAPABILITY completed");
	return IMAP_CMD_DONE;
}

/* NOOP and CHECK do nothing themselves: the updates that the session sends
 * before every tagged reply are the point (RFC 9051 §6.1.2). */
static enum imap_cmd_status cmd_noop(struct imap_session *s, struct imap_parser *p, bool uid)
{
	if (!imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	imap_cmd_ok(s, "%s completed", s->command->name);
	return IMAP_CMD_DONE;
}

static enum imap_cmd_status cmd_logout(struct imap_session *s, struct imap_parser *p, bool uid)
{
	if (!imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	imap_untagged(s, "BYE Logging out");
	s->state = IMAP_STATE_LOGOUT;
	imap_cmd_ok(s, "LOGOUT completed");
	return IMAP_CMD_DONE;
}

/* RFC 5161. What ENABLE can switch on: CONDSTORE and QRESYNC (RFC 7162
 * §3.2.3; QRESYNC implies CONDSTORE), UTF8=ACCEPT (RFC 6855), IMAP4rev2
 * (RFC 9051 §6.3.1). Unknown names are ignored; ENABLED
 * lists what this command newly enabled. */
static enum imap_cmd_status cmd_enable(struct imap_session *s, struct imap_parser *p, bool uid)
{
	bool condstore = false, qresync = false, utf8 = false, rev2 = false;
	char *atom;

	do {
		if (!imap_parse_sp(p) || !imap_parse_atom(p, &atom))
			return imap_cmd_syntax(s, p);
		if (str_eq_nocase(atom, "CONDSTORE"))
			condstore = true;
		else if (str_eq_nocase(atom, "QRESYNC"))
			qresync = condstore = true;
		else if (str_eq_nocase(atom, "UTF8=ACCEPT")) /* RFC 6855 §3 */
			utf8 = true;
		else if (str_eq_nocase(atom, "IMAP4rev2")) /* RFC 9051 §6.3.1 */
			rev2 = true;
	} while (!imap_at_end(p));
	struct buf *out = &s->scratch;
	buf_append_str(out, "* ENABLED");
	if (condstore && !s->condstore)
		buf_append_str(out, " CONDSTORE");
	if (qresync && !s->qresync)
		buf_append_str(out, " QRESYNC");
	if (rev2 && !s->rev2)
		buf_append_str(out, " IMAP4rev2");
	if (utf8 && !s->utf8)
		buf_append_str(out, " UTF8=ACCEPT");
	buf_append_str(out, "\r\n");
	imap_flush_scratch(s);
	if (qresync)
		s->qresync = true;
	/* UTF-8 mailbox names and quoted strings from now on; IMAP4rev2
	 * names are UTF-8 too (RFC 9051 §5.1). */
	if (utf8 || rev2)
		s->utf8 = true;
	if (rev2)
		s->rev2 = true;
	if (condstore)
		imap_enable_condstore(s);
	imap_cmd_ok(s, "ENABLE completed");
	return IMAP_CMD_DONE;
}

/* RFC 2342: one personal namespace with no prefix and "/" as separator;
 * shared namespaces come with ACL support. */
static enum imap_cmd_status cmd_namespace(struct imap_session *s, struct imap_parser *p,
					  bool uid)
{
	if (!imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	/* Personal, other users' (shared with this user, RFC 4314) and
	 * public folders; shared.c resolves the names. */
	imap_untagged(s, "NAMESPACE ((\"\" \"/\")) ((\"" IMAP_NS_OTHER "\" \"/\")) "
		      "((\"" IMAP_NS_SHARED "\" \"/\"))");
	imap_cmd_ok(s, "NAMESPACE completed");
	return IMAP_CMD_DONE;
}

static void idle_line(struct imap_session *s, char *line, size_t len)
{
	if (str_eq_nocase_n(line, len, "DONE"))
		imap_cmd_ok(s, "IDLE terminated");
	else
		imap_cmd_bad(s, "Expected DONE");
	imap_cmd_complete(s);
}

/* RFC 2177: updates are sent as they happen (session.c's notify hook)
 * until the client says DONE. */
static enum imap_cmd_status cmd_idle(struct imap_session *s, struct imap_parser *p, bool uid)
{
	if (!imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (s->view != NULL)
		(void)imap_view_sync(s, true);
	imap_write(s, "+ idling\r\n", 10);
	imap_session_wait_line(s, IMAP_INPUT_IDLE, idle_line);
	return IMAP_CMD_ASYNC;
}

/* RFC 2971: at most 30 pairs, names of 30 octets, values of 1024. */
#define IMAP_ID_MAX_PAIRS 30

/* ID: the client says who it is (logged, for support), we say who we are. */
static enum imap_cmd_status cmd_id(struct imap_session *s, struct imap_parser *p, bool uid)
{
	char *name, *value;
	size_t nlen, vlen, pairs = 0;

	if (!imap_parse_sp(p))
		return imap_cmd_syntax(s, p);
	if (!imap_parse_nstring(p, &name, &nlen) || name != NULL) {
		/* not NIL: a parenthesised list of name/value pairs */
		if (!imap_parse_char(p, '('))
			return imap_cmd_syntax(s, p);
		while (!imap_peek_char(p, ')')) {
			if ((pairs > 0 && !imap_parse_sp(p)) || !imap_parse_string(p, &name, &nlen) ||
			    !imap_parse_sp(p) || !imap_parse_nstring(p, &value, &vlen) ||
			    ++pairs > IMAP_ID_MAX_PAIRS || nlen > 30 || vlen > 1024)
				return imap_parser_fail(p, "Invalid ID list"), imap_cmd_syntax(s, p);
			if (value != NULL && strlen(value) == vlen && strlen(name) == nlen)
				log_debug("imap: client id %s=%s", name, value);
		}
		p->p++;
	}
	if (!imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	imap_untagged(s, "ID (\"name\" \"buzon\" \"vendor\" \"buzon\")");
	imap_cmd_ok(s, "ID completed");
	return IMAP_CMD_DONE;
}

/* RFC 8437: back to NOT AUTHENTICATED on the same connection, forgetting
 * the account, the selected mailbox and everything ENABLEd. */
static enum imap_cmd_status cmd_unauthenticate(struct imap_session *s, struct imap_parser *p,
					       bool uid)
{
	if (!imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	imap_view_close(s);
	imap_notify_free(s);
	if (s->watch != NULL) {
		store_bus_unwatch(s->server->bus, s->watch);
		s->watch = NULL;
	}
	atomic_store(&s->notified, false);
	s->account_id = 0;
	s->account_name = NULL;
	s->condstore = s->qresync = s->utf8 = s->rev2 = false;
	s->state = IMAP_STATE_NOT_AUTHENTICATED;
	imap_cmd_ok(s, "UNAUTHENTICATE completed");
	return IMAP_CMD_DONE;
}

#define ANY (IMAP_STATE_NOT_AUTHENTICATED | IMAP_STATE_AUTHENTICATED | IMAP_STATE_SELECTED)
#define AUTHED (IMAP_STATE_AUTHENTICATED | IMAP_STATE_SELECTED)

const struct imap_command imap_cmd_def_capability = { "CAPABILITY", ANY, 0, cmd_capability };
const struct imap_command imap_cmd_def_noop = { "NOOP", ANY, 0, cmd_noop };
const struct imap_command imap_cmd_def_logout = { "LOGOUT", ANY, 0, cmd_logout };
const struct imap_command imap_cmd_def_check = { "CHECK", IMAP_STATE_SELECTED, 0, cmd_noop };
const struct imap_command imap_cmd_def_enable = { "ENABLE", AUTHED, 0, cmd_enable };
const struct imap_command imap_cmd_def_namespace = { "NAMESPACE", AUTHED, 0, cmd_namespace };
const struct imap_command imap_cmd_def_idle = { "IDLE", AUTHED, 0, cmd_idle };
const struct imap_command imap_cmd_def_id = { "ID", ANY, 0, cmd_id };
const struct imap_command imap_cmd_def_unauthenticate = { "UNAUTHENTICATE", AUTHED, 0,
							   cmd_unauthenticate };
