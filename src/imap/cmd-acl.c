/*
 * cmd-acl: the ACL commands of RFC 4314 §3: SETACL, DELETEACL, GETACL,
 * LISTRIGHTS, MYRIGHTS, on one's own mailboxes and (with the "a" right)
 * on other users' and the public ones (names resolved by shared.c).
 *
 * Identifiers are account addresses (compared in lower case), "anyone",
 * "authenticated", and any of those after "-" for negative rights. The
 * owner always has every right (RFC 4314 §2 lets rights be tied): SETACL
 * and DELETEACL for the owner's own identifier are refused, GETACL lists
 * the owner first. Rights are stored canonically ("lrswipkxtea" order);
 * the virtual "c" and "d" are accepted and reported (§2.1.1).
 */
#include "imap/session.h"
#include "core/log.h"
#include "core/str.h"
#include "store/acl.h"

#include <string.h>
#include <strings.h>

/* The rights a user may be granted on a mailbox: all but nothing tied. */
#define ACL_LISTRIGHTS_OPTIONAL "l r s w i p k x t e a c d"

/* mailbox SP identifier, resolved, with the identifier checked (§3: BAD
 * for one that cannot be used) and lower-cased. */
static bool acl_parse_target(struct imap_session *s, struct imap_parser *p, char **name_r,
			     char **identifier_r)
{
	size_t len;

	if (!imap_parse_sp(p) || (*name_r = imap_parse_mailbox(s, p)) == NULL ||
	    !imap_parse_sp(p) || !imap_parse_astring(p, identifier_r, &len))
		return false;
	if (strlen(*identifier_r) != len || !acl_identifier_valid(*identifier_r))
		return imap_parser_fail(p, "Invalid identifier");
	str_lower(*identifier_r);
	return true;
}

/* Is identifier (without "-") the owner of ref? */
static bool acl_is_owner(const struct imap_mailbox_ref *ref, const char *identifier)
{
	const char *id = identifier[0] == '-' ? identifier + 1 : identifier;

	return ref->owner != NULL && strcasecmp(id, ref->owner) == 0;
}

/* The identifier's current rights in the ACL (0 when it has no entry). */
static int acl_current(struct imap_session *s, int64_t mailbox_id, const char *identifier,
		       unsigned *bits_r)
{
	struct store_acl_entry *entries;
	size_t count;
	const char *error;

	*bits_r = 0;
	if (store_acl_list(s->store, mailbox_id, s->cmd_arena, &entries, &count, &error) < 0) {
		log_error("imap: %s: acl: %s", s->account_name, error);
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		if (strcmp(entries[i].identifier, identifier) == 0)
			return acl_rights_parse(entries[i].rights, bits_r) < 0 ? -1 : 0;
	}
	return 0;
}

/* Store bits as identifier's entry (none: the entry goes). */
static void acl_store(struct imap_session *s, const struct imap_mailbox_ref *ref,
		      const char *identifier, unsigned bits, const char *verb)
{
	char text[ACL_RIGHTS_TEXT];
	const char *error;

	acl_rights_format(bits, false, text);
	if (store_acl_set(s->store, ref->mailbox.id, identifier, text, &error) < 0) {
		log_error("imap: %s: %s: %s", s->account_name, verb, error);
		imap_cmd_no(s, "[SERVERBUG] ACL not changed");
		return;
	}
	imap_cmd_ok(s, "%s completed", verb);
}

/* SETACL mailbox identifier mod-rights (§3.1). */
static enum imap_cmd_status cmd_setacl(struct imap_session *s, struct imap_parser *p, bool uid)
{
	struct imap_mailbox_ref ref;
	char *name, *identifier, *rights;
	size_t len;
	unsigned bits, current;

	if (!acl_parse_target(s, p, &name, &identifier) || !imap_parse_sp(p) ||
	    !imap_parse_astring(p, &rights, &len) || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	char op = rights[0] == '+' || rights[0] == '-' ? rights[0] : 0;
	if (strlen(rights) != len || acl_rights_parse(rights + (op != 0), &bits) < 0) {
		imap_cmd_bad(s, "Unknown right (RFC 4314 rights are lrswipkxtea, c and d)");
		return IMAP_CMD_DONE;
	}
	if (imap_mailbox_resolve(s, name, &ref) < 0) {
		imap_cmd_no(s, "[SERVERBUG] Internal error");
		return IMAP_CMD_DONE;
	}
	if (imap_mailbox_denied(s, &ref, ACL_ADMIN))
		return IMAP_CMD_DONE;
	if (acl_is_owner(&ref, identifier)) {
		imap_cmd_no(s, "[CANNOT] The owner always has every right");
		return IMAP_CMD_DONE;
	}
	if (op != 0 && acl_current(s, ref.mailbox.id, identifier, &current) < 0) {
		imap_cmd_no(s, "[SERVERBUG] Internal error");
		return IMAP_CMD_DONE;
	}
	if (op == '+')
		bits |= current;
	else if (op == '-')
		bits = current & ~bits;
	acl_store(s, &ref, identifier, bits, "SETACL");
	return IMAP_CMD_DONE;
}

/* DELETEACL mailbox identifier (§3.2). */
static enum imap_cmd_status cmd_deleteacl(struct imap_session *s, struct imap_parser *p,
					  bool uid)
{
	struct imap_mailbox_ref ref;
	char *name, *identifier;

	if (!acl_parse_target(s, p, &name, &identifier) || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (imap_mailbox_resolve(s, name, &ref) < 0) {
		imap_cmd_no(s, "[SERVERBUG] Internal error");
		return IMAP_CMD_DONE;
	}
	if (imap_mailbox_denied(s, &ref, ACL_ADMIN))
		return IMAP_CMD_DONE;
	if (acl_is_owner(&ref, identifier)) {
		imap_cmd_no(s, "[CANNOT] The owner always has every right");
		return IMAP_CMD_DONE;
	}
	acl_store(s, &ref, identifier, 0, "DELETEACL");
	return IMAP_CMD_DONE;
}

/* mailbox, resolved, with needed rights; NULL after answering. */
static char *acl_parse_mailbox(struct imap_session *s, struct imap_parser *p,
			       struct imap_mailbox_ref *ref, unsigned needed, bool any)
{
	char *name;

	if (!imap_parse_sp(p) || (name = imap_parse_mailbox(s, p)) == NULL || !imap_parse_eol(p)) {
		imap_cmd_syntax(s, p);
		return NULL;
	}
	if (imap_mailbox_resolve(s, name, ref) < 0) {
		imap_cmd_no(s, "[SERVERBUG] Internal error");
		return NULL;
	}
	/* MYRIGHTS: any one of needed will do (§4). */
	if (any && ref->exists && (ref->rights & needed))
		return name;
	return imap_mailbox_denied(s, ref, needed) ? NULL : name;
}

/* GETACL mailbox (§3.3): the owner, then every entry. */
static enum imap_cmd_status cmd_getacl(struct imap_session *s, struct imap_parser *p, bool uid)
{
	struct imap_mailbox_ref ref;
	struct store_acl_entry *entries;
	size_t count;
	const char *error;
	char text[ACL_RIGHTS_TEXT];
	char *name = acl_parse_mailbox(s, p, &ref, ACL_ADMIN, false);

	if (name == NULL)
		return IMAP_CMD_DONE;
	if (store_acl_list(s->store, ref.mailbox.id, s->cmd_arena, &entries, &count, &error) < 0) {
		log_error("imap: %s: getacl: %s", s->account_name, error);
		imap_cmd_no(s, "[SERVERBUG] Internal error");
		return IMAP_CMD_DONE;
	}
	struct buf *out = &s->scratch;
	buf_append_str(out, "* ACL ");
	imap_write_mailbox(s, out, name);
	if (strcmp(ref.owner, STORE_SHARED_ACCOUNT) != 0) {
		acl_rights_format(ACL_ALL, true, text);
		buf_append_char(out, ' ');
		imap_write_astring(out, ref.owner, s->utf8);
		buf_printf(out, " %s", text);
	}
	for (size_t i = 0; i < count; i++) {
		unsigned bits;
		if (acl_rights_parse(entries[i].rights, &bits) < 0)
			continue;
		acl_rights_format(bits, true, text);
		buf_append_char(out, ' ');
		imap_write_astring(out, entries[i].identifier, s->utf8);
		buf_append_char(out, ' ');
		imap_write_astring(out, text, false);
	}
	buf_append_str(out, "\r\n");
	imap_flush_scratch(s);
	imap_cmd_ok(s, "GETACL completed");
	return IMAP_CMD_DONE;
}

/* LISTRIGHTS mailbox identifier (§3.4): the owner is granted everything;
 * anyone else may be granted each right alone. */
static enum imap_cmd_status cmd_listrights(struct imap_session *s, struct imap_parser *p,
					   bool uid)
{
	struct imap_mailbox_ref ref;
	char *name, *identifier;
	char text[ACL_RIGHTS_TEXT];

	if (!acl_parse_target(s, p, &name, &identifier) || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (imap_mailbox_resolve(s, name, &ref) < 0) {
		imap_cmd_no(s, "[SERVERBUG] Internal error");
		return IMAP_CMD_DONE;
	}
	if (imap_mailbox_denied(s, &ref, ACL_ADMIN))
		return IMAP_CMD_DONE;
	struct buf *out = &s->scratch;
	buf_append_str(out, "* LISTRIGHTS ");
	imap_write_mailbox(s, out, name);
	buf_append_char(out, ' ');
	imap_write_astring(out, identifier, s->utf8);
	if (acl_is_owner(&ref, identifier) && identifier[0] != '-') {
		acl_rights_format(ACL_ALL, false, text);
		buf_printf(out, " %s", text);
	} else {
		buf_append_str(out, " \"\" " ACL_LISTRIGHTS_OPTIONAL);
	}
	buf_append_str(out, "\r\n");
	imap_flush_scratch(s);
	imap_cmd_ok(s, "LISTRIGHTS completed");
	return IMAP_CMD_DONE;
}

/* MYRIGHTS mailbox (§3.5): needs any of l r i k x a. */
static enum imap_cmd_status cmd_myrights(struct imap_session *s, struct imap_parser *p, bool uid)
{
	struct imap_mailbox_ref ref;
	char text[ACL_RIGHTS_TEXT];
	char *name = acl_parse_mailbox(s, p, &ref, ACL_LOOKUP | ACL_READ | ACL_INSERT |
					      ACL_CREATE | ACL_DELETE_MBOX | ACL_ADMIN, true);

	if (name == NULL)
		return IMAP_CMD_DONE;
	acl_rights_format(ref.rights, true, text);
	buf_append_str(&s->scratch, "* MYRIGHTS ");
	imap_write_mailbox(s, &s->scratch, name);
	buf_append_char(&s->scratch, ' ');
	imap_write_astring(&s->scratch, text, false);
	buf_append_str(&s->scratch, "\r\n");
	imap_flush_scratch(s);
	imap_cmd_ok(s, "MYRIGHTS completed");
	return IMAP_CMD_DONE;
}

#define AUTHED (IMAP_STATE_AUTHENTICATED | IMAP_STATE_SELECTED)

const struct imap_command imap_cmd_def_setacl = { "SETACL", AUTHED, 0, cmd_setacl };
const struct imap_command imap_cmd_def_deleteacl = { "DELETEACL", AUTHED, 0, cmd_deleteacl };
const struct imap_command imap_cmd_def_getacl = { "GETACL", AUTHED, 0, cmd_getacl };
const struct imap_command imap_cmd_def_listrights = { "LISTRIGHTS", AUTHED, 0, cmd_listrights };
const struct imap_command imap_cmd_def_myrights = { "MYRIGHTS", AUTHED, 0, cmd_myrights };
