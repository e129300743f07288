/*
 * shared: what sharing (RFC 4314 ACL, RFC 2342 namespaces) adds to the
 * IMAP session: resolving a name that may be another account's, the
 * rights check every command makes, the mailboxes LIST shows under the
 * other namespaces, and the per-user \Seen of a selected foreign mailbox.
 *
 * Names: "Other Users/ADDRESS/NAME" is NAME of the account ADDRESS;
 * "Shared/NAME" is NAME of the public-folder account (store.h
 * STORE_SHARED_ACCOUNT). Anything else is the session's own. The owner has
 * every right; others have what the mailbox's ACL gives their address,
 * "anyone" and "authenticated", less the negative entries.
 *
 * \Seen: RFC 4314's "s" right keeps \Seen per user. A reader who is not the
 * owner has their own set of seen UIDs in the store (store_seen_*); the
 * view keeps a copy, reloaded whenever the bus says the mailbox changed
 * (a change to the set bumps the message's MODSEQ, so it does), and every
 * flag word that reaches the client goes through imap_view_user_flags.
 */
#include "imap/session.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "store/acl.h"

#include <stdlib.h>
#include <string.h>

bool imap_name_is_foreign(const char *name)
{
	return strncmp(name, IMAP_NS_OTHER, strlen(IMAP_NS_OTHER)) == 0 ||
	       strncmp(name, IMAP_NS_SHARED, strlen(IMAP_NS_SHARED)) == 0;
}

/* The owner's address and its own name for a foreign name; false when the
 * name stops at the namespace or the owner ("Other Users/bob"). */
static bool shared_split(struct arena *arena, const char *name, const char **owner_r,
			 const char **rest_r)
{
	if (strncmp(name, IMAP_NS_SHARED, strlen(IMAP_NS_SHARED)) == 0) {
		*owner_r = STORE_SHARED_ACCOUNT;
		*rest_r = name + strlen(IMAP_NS_SHARED);
		return **rest_r != '\0';
	}
	const char *user = name + strlen(IMAP_NS_OTHER);
	const char *slash = strchr(user, '/');
	if (slash == NULL || slash == user || slash[1] == '\0')
		return false;
	*owner_r = str_lower(arena_strndup(arena, user, (size_t)(slash - user)));
	*rest_r = slash + 1;
	/* RFC 9051 §5.1: INBOX in any case, also as a parent. */
	if (str_eq_nocase(*rest_r, "INBOX"))
		*rest_r = "INBOX";
	else if (str_has_prefix_nocase(*rest_r, "INBOX/"))
		*rest_r = arena_printf(arena, "INBOX%s", *rest_r + 5);
	return true;
}

int imap_mailbox_resolve_as(struct store *store, struct arena *arena, int64_t account_id,
			    const char *account_name, const char *name,
			    struct imap_mailbox_ref *ref)
{
	struct store_account account;
	struct store_acl_entry *entries;
	size_t count;
	const char *error, *owner, *rest;
	int r;

	memset(ref, 0, sizeof(*ref));
	ref->owner_id = account_id;
	ref->owner = account_name;
	ref->name = name;
	ref->rights = ACL_ALL;
	if (imap_name_is_foreign(name)) {
		ref->foreign = true;
		ref->owner_id = 0;
		ref->rights = 0;
		if (!shared_split(arena, name, &owner, &rest))
			return 0;
		ref->owner = owner;
		ref->name = rest;
		r = store_account_find(store, owner, arena, &account, &error);
		if (r == STORE_ENOTFOUND)
			return 0;
		if (r < 0)
			goto fail;
		ref->owner_id = account.id;
		if (account.id == account_id) {
			/* One's own mailbox by its other name. */
			ref->foreign = false;
			ref->rights = ACL_ALL;
		}
	}
	r = store_mailbox_find(store, ref->owner_id, ref->name, arena, &ref->mailbox,
			       &error);
	if (r == STORE_ENOTFOUND)
		return 0;
	if (r < 0)
		goto fail;
	ref->exists = true;
	if (ref->foreign) {
		if ((r = store_acl_list(store, ref->mailbox.id, arena, &entries, &count,
					&error)) < 0)
			goto fail;
		ref->rights = acl_rights_of(entries, count, account_name);
	}
	return 0;
fail:
	log_error("imap: %s: resolving %s: %s", account_name, name, error);
	return r;
}

int imap_mailbox_resolve(struct imap_session *s, const char *name, struct imap_mailbox_ref *ref)
{
	return imap_mailbox_resolve_as(s->store, s->cmd_arena, s->account_id, s->account_name,
				       name, ref);
}

bool imap_mailbox_denied(struct imap_session *s, const struct imap_mailbox_ref *ref,
			 unsigned needed)
{
	if (!ref->exists || !(ref->rights & (ACL_LOOKUP | needed))) {
		imap_cmd_no(s, "[NONEXISTENT] No such mailbox");
		return true;
	}
	if ((ref->rights & needed) != needed) {
		char text[ACL_RIGHTS_TEXT];

		acl_rights_format(needed & ~ref->rights, false, text);
		imap_cmd_no(s, "[NOPERM] Permission denied (needs \"%s\")", text);
		return true;
	}
	return false;
}

int imap_create_parent_find(struct imap_session *s, int64_t owner_id, const char *name,
			    struct imap_create_parent *parent_r)
{
	struct store_mailbox mb;
	const char *error = NULL;
	char *prefix = arena_strdup(s->cmd_arena, name);
	char *slash;
	int r;

	memset(parent_r, 0, sizeof(*parent_r));
	while ((slash = strrchr(prefix, '/')) != NULL) {
		*slash = '\0';
		r = store_mailbox_find(s->store, owner_id, prefix, s->cmd_arena, &mb, &error);
		if (r == STORE_ENOTFOUND)
			continue;
		if (r == 0)
			r = store_acl_list(s->store, mb.id, s->cmd_arena, &parent_r->entries,
					   &parent_r->count, &error);
		if (r < 0) {
			log_error("imap: %s: the parent of %s: %s", s->account_name, name, error);
			return r;
		}
		parent_r->found = true;
		parent_r->name = prefix;
		parent_r->rights = owner_id == s->account_id ?
					   ACL_ALL :
					   acl_rights_of(parent_r->entries, parent_r->count,
							 s->account_name);
		return 0;
	}
	return 0;
}

int imap_create_inherit_acl(struct imap_session *s, int64_t owner_id, const char *name,
			    const struct imap_create_parent *parent)
{
	struct store_mailbox mb;
	const char *error = NULL;
	size_t skip = parent->found ? strlen(parent->name) : 0;

	if (!parent->found || parent->count == 0)
		return 0;
	/* name, and each superior longer than the parent: "a/b/c" under "a"
	 * is "a/b" and "a/b/c", both new. */
	for (size_t end = skip + 1; end <= strlen(name); end++) {
		if (name[end] != '/' && name[end] != '\0')
			continue;
		const char *sub = arena_strndup(s->cmd_arena, name, end);
		int r = store_mailbox_find(s->store, owner_id, sub, s->cmd_arena, &mb, &error);
		for (size_t i = 0; r == 0 && i < parent->count; i++)
			r = store_acl_set(s->store, mb.id, parent->entries[i].identifier,
					  parent->entries[i].rights, &error);
		if (r < 0) {
			log_error("imap: %s: the ACL of %s from %s: %s", s->account_name, sub,
				  parent->name, error);
			return -1;
		}
	}
	return 0;
}

int imap_view_load_seen(struct imap_session *s)
{
	struct imap_view *view = s->view;
	uint32_t *uids;
	size_t count;
	const char *error;

	if (view == NULL || !view->foreign)
		return 0;
	if (store_seen_list(s->store, s->account_id, view->mailbox_id, s->cmd_arena, &uids, &count,
			    &error) < 0) {
		log_warn("imap: %s: seen of %s: %s", s->account_name, view->name, error);
		return -1;
	}
	free(view->seen);
	view->seen = mem_alloc((count + 1) * sizeof(uint32_t));
	memcpy(view->seen, uids, count * sizeof(uint32_t));
	view->seen_count = count;
	return 0;
}

static int shared_uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

unsigned imap_view_user_flags(const struct imap_view *view, uint32_t uid, unsigned flags)
{
	if (view == NULL || !view->foreign)
		return flags;
	flags &= ~(unsigned)STORE_FLAG_SEEN;
	if (view->seen_count > 0 &&
	    bsearch(&uid, view->seen, view->seen_count, sizeof(uint32_t), shared_uid_cmp) != NULL)
		flags |= STORE_FLAG_SEEN;
	return flags;
}

int imap_shared_list(struct imap_session *s, struct store_mailbox **list_r, size_t *count_r)
{
	struct store_shared_mailbox *shared;
	size_t count, n = 0;
	const char *error;

	if (store_acl_shared_with(s->store, s->account_id, s->account_name, s->cmd_arena, &shared,
				  &count, &error) < 0) {
		log_error("imap: %s: shared mailboxes: %s", s->account_name, error);
		return -1;
	}
	struct store_mailbox *out = arena_alloc(s->cmd_arena, (count + 1) * sizeof(*out));
	for (size_t i = 0; i < count; i++) {
		if (!(shared[i].rights & ACL_LOOKUP)) /* RFC 4314 §4: LIST needs "l" */
			continue;
		out[n] = shared[i].mailbox;
		if (strcmp(shared[i].owner, STORE_SHARED_ACCOUNT) == 0)
			out[n].name = arena_printf(s->cmd_arena, IMAP_NS_SHARED "%s",
						   shared[i].mailbox.name);
		else
			out[n].name = arena_printf(s->cmd_arena, IMAP_NS_OTHER "%s/%s",
						   shared[i].owner, shared[i].mailbox.name);
		n++;
	}
	*list_r = out;
	*count_r = n;
	return 0;
}
