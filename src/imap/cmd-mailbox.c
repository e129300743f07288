/*
 * cmd-mailbox: managing mailboxes by name: CREATE (with RFC 6154's
 * CREATE-SPECIAL-USE), DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS
 * (RFC 9051 §6.3.4-8, §6.3.11).
 */
#include "imap/session.h"
#include "core/log.h"
#include "core/str.h"
#include "store/acl.h"

#include <string.h>

/* Answer NO with the RFC 5530 code that matches a store error. */
static enum imap_cmd_status mailbox_store_error(struct imap_session *s, int r, const char *error)
{
	switch (r) {
	case STORE_ENOTFOUND:
		imap_cmd_no(s, "[NONEXISTENT] No such mailbox");
		break;
	case STORE_EEXISTS:
		imap_cmd_no(s, "[ALREADYEXISTS] Mailbox already exists");
		break;
	case STORE_EINVALID:
		imap_cmd_no(s, "[CANNOT] %s", error ? error : "Not possible");
		break;
	default:
		log_error("imap: %s: %s", s->account_name, error ? error : "store error");
		imap_cmd_no(s, "[SERVERBUG] Internal error");
		break;
	}
	return IMAP_CMD_DONE;
}

/* The special uses a client may give a new mailbox (RFC 6154 §3). \All
 * and \Flagged name virtual mailboxes, which buzon does not have: asking
 * for them, or for an attribute nobody defined, is NO [USEATTR]. */
static const struct {
	const char *name;
	unsigned use;
} mailbox_create_uses[] = {
	{ "\\Archive", STORE_USE_ARCHIVE }, { "\\Drafts", STORE_USE_DRAFTS },
	{ "\\Junk", STORE_USE_JUNK },       { "\\Sent", STORE_USE_SENT },
	{ "\\Trash", STORE_USE_TRASH },
};

/* create-param list (RFC 4466 §2.2): " (USE (\Sent ...))" (RFC 6154 §6),
 * or nothing. *refused_r: an attribute we cannot give (NO [USEATTR]); an
 * unknown parameter is a syntax error. */
static bool mailbox_parse_create_params(struct imap_parser *p, unsigned *use_r,
					const char **refused_r)
{
	char *word;

	*use_r = 0;
	*refused_r = NULL;
	if (!imap_peek_char(p, ' '))
		return true;
	if (!imap_parse_sp(p) || !imap_parse_char(p, '('))
		return imap_parser_fail(p, "Expected (create parameters)");
	do {
		if (!imap_parse_atom(p, &word) || !str_eq_nocase(word, "USE"))
			return imap_parser_fail(p, "Unknown CREATE parameter");
		if (!imap_parse_sp(p) || !imap_parse_char(p, '('))
			return imap_parser_fail(p, "Expected USE (attributes)");
		while (!imap_peek_char(p, ')')) {
			if (!imap_parse_char(p, '\\') || !imap_parse_atom(p, &word))
				return imap_parser_fail(p, "Expected a special-use attribute");
			bool known = false;
			for (size_t i = 0; i < sizeof(mailbox_create_uses) / sizeof(mailbox_create_uses[0]);
			     i++) {
				if (str_eq_nocase(word, mailbox_create_uses[i].name + 1)) {
					*use_r |= mailbox_create_uses[i].use;
					known = true;
				}
			}
			if (!known && *refused_r == NULL)
				*refused_r = arena_printf(p->arena, "\\%s", word);
			if (!imap_peek_char(p, ')') && !imap_parse_sp(p))
				return false;
		}
		p->p++;
	} while (imap_peek_char(p, ' ') && p->p++);
	return imap_parse_char(p, ')');
}

static enum imap_cmd_status cmd_create(struct imap_session *s, struct imap_parser *p, bool uid)
{
	const char *error = NULL, *refused;
	char *raw, *name;
	size_t len;
	unsigned use;

	if (!imap_parse_sp(p) || !imap_parse_astring(p, &raw, &len) ||
	    !mailbox_parse_create_params(p, &use, &refused) || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	/* RFC 6154 §3: refused before anything is created */
	if (refused != NULL) {
		imap_cmd_no(s, "[USEATTR] %s not supported", refused);
		return IMAP_CMD_DONE;
	}
	/* A trailing separator only says "will have children" (§6.3.4). */
	if (len > 1 && raw[len - 1] == '/')
		raw[--len] = '\0';
	if ((name = imap_decode_mailbox(s, p, raw, len)) == NULL)
		return imap_cmd_syntax(s, p);
	if (strcmp(name, "INBOX") == 0)
		return mailbox_store_error(s, STORE_EEXISTS, NULL);
	if (strcmp(name, "Other Users") == 0 || strcmp(name, "Shared") == 0) {
		imap_cmd_no(s, "[NOPERM] Cannot create mailboxes in that namespace");
		return IMAP_CMD_DONE;
	}
	/* In another account (RFC 4314 §4): the owner's mailbox, made when
	 * this user has "k" on its nearest existing superior; one at the top
	 * of another's account has none, so it is never ours to make. */
	int64_t owner_id = s->account_id;
	struct imap_mailbox_ref ref;
	int r = 0;
	if (imap_name_is_foreign(name)) {
		if ((r = imap_mailbox_resolve(s, name, &ref)) < 0)
			return mailbox_store_error(s, r, "resolving the name");
		if (ref.owner_id == 0) {
			imap_cmd_no(s, "[NOPERM] Cannot create mailboxes there");
			return IMAP_CMD_DONE;
		}
		if (ref.exists && (ref.rights & ACL_LOOKUP))
			return mailbox_store_error(s, STORE_EEXISTS, NULL);
		if (ref.exists) { /* RFC 4314 §6: do not reveal it */
			imap_cmd_no(s, "[NOPERM] Permission denied");
			return IMAP_CMD_DONE;
		}
		owner_id = ref.owner_id;
		name = (char *)ref.name;
	}
	struct imap_create_parent parent;
	if ((r = imap_create_parent_find(s, owner_id, name, &parent)) < 0)
		return mailbox_store_error(s, r, "finding the parent");
	if (owner_id != s->account_id && !(parent.found && (parent.rights & ACL_CREATE))) {
		imap_cmd_no(s, "[NOPERM] Permission denied (needs \"k\" on the parent)");
		return IMAP_CMD_DONE;
	}
	/* the store creates missing superiors in the same transaction (§6.3.4) */
	r = store_mailbox_create(s->store, owner_id, name, use, &error);
	if (r < 0)
		return mailbox_store_error(s, r, error);
	/* RFC 4314 §4: the new mailbox (and new superiors) inherit the ACL of
	 * the nearest existing parent; at the top of one's own account there
	 * is none, so a new top-level mailbox is private. */
	if (imap_create_inherit_acl(s, owner_id, name, &parent) < 0) {
		/* Logged; the mailbox exists with fewer sharers than its
		 * parent, which errs on the private side: CREATE succeeded. */
	}
	struct store_mailbox mb;
	if (store_mailbox_find(s->store, owner_id, name, s->cmd_arena, &mb, &error) == 0) {
		struct buf id = BUF_INIT; /* RFC 8474 §4.1: MUST in the tagged OK */
		imap_write_mailboxid(&id, mb.id, mb.uidvalidity);
		imap_cmd_ok(s, "[MAILBOXID (%s)] CREATE completed", id.data);
		buf_free(&id);
	} else {
		imap_cmd_ok(s, "CREATE completed");
	}
	return IMAP_CMD_DONE;
}

static enum imap_cmd_status cmd_delete(struct imap_session *s, struct imap_parser *p, bool uid)
{
	const char *error = NULL;
	char *name;

	if (!imap_parse_sp(p) || (name = imap_parse_mailbox(s, p)) == NULL || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (strcmp(name, "INBOX") == 0) {
		imap_cmd_no(s, "[CANNOT] INBOX cannot be deleted");
		return IMAP_CMD_DONE;
	}
	struct imap_mailbox_ref ref;
	int r = imap_mailbox_resolve(s, name, &ref);
	if (r == 0 && ref.foreign && imap_mailbox_denied(s, &ref, ACL_DELETE_MBOX))
		return IMAP_CMD_DONE; /* RFC 4314 §4: "x" */
	if (s->view != NULL && strcmp(s->view->name, name) == 0)
		imap_view_close(s);
	if (r == 0)
		r = store_mailbox_delete(s->store, ref.owner_id, ref.name, &error);
	if (r < 0)
		return mailbox_store_error(s, r, error);
	imap_cmd_ok(s, "DELETE completed");
	return IMAP_CMD_DONE;
}

static enum imap_cmd_status cmd_rename(struct imap_session *s, struct imap_parser *p, bool uid)
{
	const char *error = NULL;
	char *from, *to;

	if (!imap_parse_sp(p) || (from = imap_parse_mailbox(s, p)) == NULL || !imap_parse_sp(p) ||
	    (to = imap_parse_mailbox(s, p)) == NULL || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (strcmp(to, "INBOX") == 0)
		return mailbox_store_error(s, STORE_EEXISTS, NULL);
	if (imap_name_is_foreign(from) || imap_name_is_foreign(to)) {
		imap_cmd_no(s, "[NOPERM] Cannot rename across namespaces");
		return IMAP_CMD_DONE;
	}
	size_t flen = strlen(from);
	if (strncmp(to, from, flen) == 0 && to[flen] == '/') {
		imap_cmd_no(s, "[CANNOT] Cannot move a mailbox into itself");
		return IMAP_CMD_DONE;
	}
	/* missing superiors of the new name: same transaction (§6.3.6) */
	int r = store_mailbox_rename(s->store, s->account_id, from, to, &error);
	if (r < 0)
		return mailbox_store_error(s, r, error);
	imap_cmd_ok(s, "RENAME completed");
	return IMAP_CMD_DONE;
}

static enum imap_cmd_status subscription_set(struct imap_session *s, struct imap_parser *p,
					     bool on)
{
	const char *error = NULL;
	char *name;

	if (!imap_parse_sp(p) || (name = imap_parse_mailbox(s, p)) == NULL || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	int r = store_subscription_set(s->store, s->account_id, name, on, &error);
	if (r < 0)
		return mailbox_store_error(s, r, error);
	imap_cmd_ok(s, "%s completed", on ? "SUBSCRIBE" : "UNSUBSCRIBE");
	return IMAP_CMD_DONE;
}

static enum imap_cmd_status cmd_subscribe(struct imap_session *s, struct imap_parser *p, bool uid)
{
	return subscription_set(s, p, true);
}

static enum imap_cmd_status cmd_unsubscribe(struct imap_session *s, struct imap_parser *p,
					    bool uid)
{
	return subscription_set(s, p, false);
}

/* STATUS items (RFC 9051 §6.3.11; RECENT from RFC 3501 is always 0). */
static bool status_write_item(struct buf *out, const char *item,
			      const struct store_mailbox_status *st, int64_t mailbox_id)
{
	if (str_eq_nocase(item, "MESSAGES"))
		buf_printf(out, "MESSAGES %u", st->messages);
	else if (str_eq_nocase(item, "UIDNEXT"))
		buf_printf(out, "UIDNEXT %u", st->uidnext);
	else if (str_eq_nocase(item, "UIDVALIDITY"))
		buf_printf(out, "UIDVALIDITY %u", st->uidvalidity);
	else if (str_eq_nocase(item, "UNSEEN"))
		buf_printf(out, "UNSEEN %u", st->unseen);
	else if (str_eq_nocase(item, "DELETED"))
		buf_printf(out, "DELETED %u", st->deleted);
	else if (str_eq_nocase(item, "DELETED-STORAGE")) /* RFC 9208 §4.1.4, in KiB like STORAGE */
		buf_printf(out, "DELETED-STORAGE %llu",
			   (unsigned long long)((st->deleted_size + 1023) / 1024));
	else if (str_eq_nocase(item, "SIZE"))
		buf_printf(out, "SIZE %llu", (unsigned long long)st->size);
	else if (str_eq_nocase(item, "RECENT"))
		buf_append_str(out, "RECENT 0");
	else if (str_eq_nocase(item, "HIGHESTMODSEQ")) /* RFC 7162 §3.1.7 */
		buf_printf(out, "HIGHESTMODSEQ %llu", (unsigned long long)st->highestmodseq);
	else if (str_eq_nocase(item, "MAILBOXID")) { /* RFC 8474 §4.3 */
		buf_append_str(out, "MAILBOXID (");
		imap_write_mailboxid(out, mailbox_id, st->uidvalidity);
		buf_append_char(out, ')');
	}
	else
		return false;
	return true;
}

bool imap_status_item_known(const char *item)
{
	static const char *const items[] = { "MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN",
					     "DELETED", "DELETED-STORAGE", "SIZE", "RECENT",
					     "HIGHESTMODSEQ", "MAILBOXID" };

	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		if (str_eq_nocase(item, items[i]))
			return true;
	}
	return false;
}

int imap_write_status(struct imap_session *s, const char *name, int64_t mailbox_id,
		      char *const *items, size_t count)
{
	struct store_mailbox_status st;
	const char *error;
	struct buf *out = &s->scratch;

	if (store_mailbox_status(s->store, mailbox_id, &st, &error) < 0) {
		log_error("imap: status %s: %s", name, error);
		return -1;
	}
	if (imap_name_is_foreign(name)) {
		/* UNSEEN as this reader has it (RFC 4314 "s", shared.c). */
		uint32_t *seen;
		size_t nseen;
		if (store_seen_list(s->store, s->account_id, mailbox_id, s->cmd_arena, &seen, &nseen,
				    &error) < 0) {
			log_error("imap: status %s: %s", name, error);
			return -1;
		}
		st.unseen = st.messages > nseen ? st.messages - (uint32_t)nseen : 0;
	}
	buf_append_str(out, "* STATUS ");
	imap_write_mailbox(s, out, name);
	buf_append_str(out, " (");
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			buf_append_char(out, ' ');
		(void)status_write_item(out, items[i], &st, mailbox_id);
		if (str_eq_nocase(items[i], "HIGHESTMODSEQ"))
			imap_enable_condstore(s); /* RFC 7162 §3.1: an enabling command */
	}
	buf_append_str(out, ")\r\n");
	imap_flush_scratch(s);
	return 0;
}

/* STATUS mailbox (items): RFC 9051 §9 status-att-list = status-att *(SP
 * status-att); a trailing space or an unknown item is a BAD. */
static enum imap_cmd_status cmd_status(struct imap_session *s, struct imap_parser *p, bool uid)
{
	ARRAY(char *) items = ARRAY_INIT;
	const char *error = NULL;
	char *name, *item;
	bool ok;

	if (!imap_parse_sp(p) || (name = imap_parse_mailbox(s, p)) == NULL || !imap_parse_sp(p) ||
	    !imap_parse_char(p, '('))
		return imap_cmd_syntax(s, p);
	do {
		ok = imap_parse_atom(p, &item) &&
		     (imap_status_item_known(item) || imap_parser_fail(p, "Unknown STATUS item"));
		if (ok)
			array_push(&items, item);
	} while (ok && imap_peek_char(p, ' ') && p->p++);
	if (!ok || !imap_parse_char(p, ')') || !imap_parse_eol(p)) {
		array_free(&items);
		return imap_cmd_syntax(s, p);
	}
	struct imap_mailbox_ref ref;
	int r = imap_mailbox_resolve(s, name, &ref);
	if (r == 0 && imap_mailbox_denied(s, &ref, ACL_READ)) { /* RFC 4314 §4 */
		array_free(&items);
		return IMAP_CMD_DONE;
	}
	if (r == 0 && imap_write_status(s, name, ref.mailbox.id, items.items, items.count) < 0)
		r = STORE_EFAIL;
	array_free(&items);
	if (r < 0)
		return mailbox_store_error(s, r, error);
	imap_cmd_ok(s, "STATUS completed");
	return IMAP_CMD_DONE;
}

#define AUTHED (IMAP_STATE_AUTHENTICATED | IMAP_STATE_SELECTED)

const struct imap_command imap_cmd_def_create = { "CREATE", AUTHED, 0, cmd_create };
const struct imap_command imap_cmd_def_delete = { "DELETE", AUTHED, 0, cmd_delete };
const struct imap_command imap_cmd_def_rename = { "RENAME", AUTHED, 0, cmd_rename };
const struct imap_command imap_cmd_def_subscribe = { "SUBSCRIBE", AUTHED, 0, cmd_subscribe };
const struct imap_command imap_cmd_def_unsubscribe = { "UNSUBSCRIBE", AUTHED, 0,
						       cmd_unsubscribe };
const struct imap_command imap_cmd_def_status = { "STATUS", AUTHED, 0, cmd_status };
