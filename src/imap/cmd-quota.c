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
 *
 * A shared mailbox (RFC 4314) is in its owner's root, since what anyone
 * puts there counts against the owner: GETQUOTAROOT names that root by the
 * owner's address ("#shared" for the public folders) to a user who may
 * read or insert into the mailbox, and GETQUOTA on that name answers for
 * such a user only. Others see no root, as before (RFC 9208 §6: another
 * account's quota is not everyone's to read).
 */
#include "imap/session.h"
#include "core/log.h"
#include "core/str.h"
#include "store/acl.h"

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

/* The rights that show a user the quota root of a shared mailbox: those
 * whose use (reading what is there, putting more in) the quota concerns. */
#define QUOTA_SHARED_RIGHTS (ACL_READ | ACL_INSERT)

/* The account whose root is named root (an owner's address) if this user
 * may read or insert into one of its mailboxes; 0 when none, -1 on a store
 * failure (logged). */
static int64_t quota_shared_root(struct imap_session *s, const char *root)
{
	struct store_shared_mailbox *shared;
	size_t count;
	const char *error;

	if (store_acl_shared_with(s->store, s->account_id, s->account_name, s->cmd_arena, &shared,
				  &count, &error) < 0) {
		log_error("imap: %s: shared mailboxes: %s", s->account_name, error);
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		if (str_eq_nocase(shared[i].owner, root) && (shared[i].rights & QUOTA_SHARED_RIGHTS))
			return shared[i].account_id;
	}
	return 0;
}

/* GETQUOTA quota-root-name: the session's own root "", or the root of an
 * account that shares a mailbox with this user (see above). */
static enum imap_cmd_status cmd_getquota(struct imap_session *s, struct imap_parser *p, bool uid)
{
	char *root;
	size_t len;
	int64_t account_id = s->account_id;

	if (!imap_parse_sp(p) || !imap_parse_astring(p, &root, &len) || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (len != 0 && (account_id = quota_shared_root(s, root)) <= 0) {
		if (account_id < 0)
			imap_cmd_no(s, "[SERVERBUG] Internal error");
		else
			imap_cmd_no(s, "[NONEXISTENT] No such quota root");
		return IMAP_CMD_DONE;
	}
	if (quota_write(s, root, account_id) < 0)
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
	const char *root = "";
	int64_t account_id = s->account_id;
	if (imap_name_is_foreign(name)) {
		struct imap_mailbox_ref ref;
		if (imap_mailbox_resolve(s, name, &ref) < 0) {
			imap_cmd_no(s, "[SERVERBUG] Internal error");
			return IMAP_CMD_DONE;
		}
		account_id = ref.owner_id;
		root = ref.owner;
		/* The owner's root for one who may read or insert there; for
		 * anyone else (or a name that is not a mailbox) no root. */
		if (ref.foreign && !(ref.exists && (ref.rights & QUOTA_SHARED_RIGHTS))) {
			buf_append_str(&s->scratch, "* QUOTAROOT ");
			imap_write_mailbox(s, &s->scratch, name);
			buf_append_str(&s->scratch, "\r\n");
			imap_flush_scratch(s);
			imap_cmd_ok(s, "GETQUOTAROOT completed");
			return IMAP_CMD_DONE;
		}
		if (!ref.foreign)
			root = ""; /* one's own mailbox by its other name */
	}
	buf_append_str(&s->scratch, "* QUOTAROOT ");
	imap_write_mailbox(s, &s->scratch, name);
	buf_append_char(&s->scratch, ' ');
	imap_write_string(&s->scratch, root, strlen(root), s->utf8);
	buf_append_str(&s->scratch, "\r\n");
	imap_flush_scratch(s);
	if (quota_write(s, root, account_id) < 0)
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
