/*
 * cmd-quota: GETQUOTA, GETQUOTAROOT and SETQUOTA (RFC 9208).
 *
 * Every account is one quota root, named "" for its owner (RFC 9208 §4.2.2
 * uses the same example), holding STORAGE (KiB, the sum of its messages'
 * sizes rounded up) and MESSAGE (their count). A resource without a limit
 * is left out of the QUOTA list (§4.2.1: "Resources not named in the list
 * are not limited"). The limits are the administrator's (`buzon user
 * quota`, the quota_storage / quota_messages keys): QUOTASET is not
 * advertised and SETQUOTA is refused after its syntax is checked. The
 * checks themselves are in the store, in the transaction of every write.
 */
#include "imap/session.h"
#include "core/log.h"
#include "core/str.h"

#include <string.h>

/* "* QUOTA root (STORAGE u l MESSAGE u l)" for account_id. */
static int quota_write(struct imap_session *s, const char *root, int64_t account_id)
{
	struct store_quota q;
	const char *error;
	struct buf *out = &s->scratch;
	bool first = true;

	if (store_quota_get(s->store, account_id, &q, &error) < 0) {
		log_error("imap: quota of %s: %s", s->account_name, error);
		return -1;
	}
	buf_append_str(out, "* QUOTA ");
	imap_write_string(out, root, strlen(root), s->utf8);
	buf_append_str(out, " (");
	if (q.limit_kib >= 0) {
		buf_printf(out, "STORAGE %llu %lld", (unsigned long long)((q.used_bytes + 1023) / 1024),
			   (long long)q.limit_kib);
		first = false;
	}
	if (q.limit_messages >= 0)
		buf_printf(out, "%sMESSAGE %llu %lld", first ? "" : " ",
			   (unsigned long long)q.used_messages, (long long)q.limit_messages);
	buf_append_str(out, ")\r\n");
	imap_flush_scratch(s);
	return 0;
}

/* GETQUOTA quota-root-name: only the session's own root "" exists for it. */
static enum imap_cmd_status cmd_getquota(struct imap_session *s, struct imap_parser *p, bool uid)
{
	char *root;
	size_t len;

	if (!imap_parse_sp(p) || !imap_parse_astring(p, &root, &len) || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (len != 0) {
		imap_cmd_no(s, "[NONEXISTENT] No such quota root");
		return IMAP_CMD_DONE;
	}
	if (quota_write(s, "", s->account_id) < 0)
		imap_cmd_no(s, "[SERVERBUG] Internal error");
	else
		imap_cmd_ok(s, "GETQUOTA completed");
	return IMAP_CMD_DONE;
}

/* GETQUOTAROOT mailbox: the name need not exist (§4.1.2); every personal
 * name is under the account's root. */
static enum imap_cmd_status cmd_getquotaroot(struct imap_session *s, struct imap_parser *p,
					     bool uid)
{
	char *name;

	if (!imap_parse_sp(p) || (name = imap_parse_mailbox(s, p)) == NULL || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	buf_append_str(&s->scratch, "* QUOTAROOT ");
	imap_write_mailbox(s, &s->scratch, name);
	if (imap_name_is_foreign(name)) {
		/* Another account's quota is not this user's to read (RFC 9208
		 * §6): such a mailbox is listed with no root. */
		buf_append_str(&s->scratch, "\r\n");
		imap_flush_scratch(s);
		imap_cmd_ok(s, "GETQUOTAROOT completed");
		return IMAP_CMD_DONE;
	}
	buf_append_str(&s->scratch, " \"\"\r\n");
	imap_flush_scratch(s);
	if (quota_write(s, "", s->account_id) < 0)
		imap_cmd_no(s, "[SERVERBUG] Internal error");
	else
		imap_cmd_ok(s, "GETQUOTAROOT completed");
	return IMAP_CMD_DONE;
}

/* SETQUOTA quota-root-name setquota-list. Without QUOTASET a client should
 * not send it; one that does gets a well-formed refusal (§4.1.3 lets
 * SETQUOTA fail), a malformed one a BAD. */
static enum imap_cmd_status cmd_setquota(struct imap_session *s, struct imap_parser *p, bool uid)
{
	char *root, *resource;
	size_t len;
	uint64_t limit;

	if (!imap_parse_sp(p) || !imap_parse_astring(p, &root, &len) || !imap_parse_sp(p) ||
	    !imap_parse_char(p, '('))
		return imap_cmd_syntax(s, p);
	if (!imap_peek_char(p, ')')) {
		do {
			if (!imap_parse_atom(p, &resource) || !imap_parse_sp(p) ||
			    !imap_parse_number64(p, &limit))
				return imap_cmd_syntax(s, p);
		} while (imap_peek_char(p, ' ') && p->p++);
	}
	if (!imap_parse_char(p, ')') || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	imap_cmd_no(s, "[NOPERM] Quotas are set by the administrator");
	return IMAP_CMD_DONE;
}

#define AUTHED (IMAP_STATE_AUTHENTICATED | IMAP_STATE_SELECTED)

const struct imap_command imap_cmd_def_getquota = { "GETQUOTA", AUTHED, 0, cmd_getquota };
const struct imap_command imap_cmd_def_getquotaroot = { "GETQUOTAROOT", AUTHED, 0,
							 cmd_getquotaroot };
const struct imap_command imap_cmd_def_setquota = { "SETQUOTA", AUTHED, 0, cmd_setquota };
