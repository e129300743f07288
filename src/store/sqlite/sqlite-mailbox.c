/*
 * sqlite-mailbox: mailboxes of an account (RFC 9051 §6.3: CREATE, DELETE,
 * RENAME, STATUS and the listing behind LIST).
 *
 * UIDVALIDITY comes from the account's counter (time-based, strictly
 * increasing: a deleted and recreated name never sees an old value again).
 * A mailbox keeps its id, UIDVALIDITY and UIDs across a rename, so sessions
 * holding it stay in sync; INBOX is the exception RFC 9051 §6.3.6 makes.
 */
#include "store/sqlite/sqlite-private.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* Fill a mailbox from a row of id, name, uidvalidity, uidnext,
 * highestmodseq, special_use (SQL_MAILBOX_LIST and SQL_MAILBOX_FIND). */
static void sqlite_mailbox_read(sqlite3_stmt *stmt, struct arena *arena,
				struct store_mailbox *mailbox)
{
	mailbox->id = sqlite3_column_int64(stmt, 0);
	mailbox->name = sqlite_column_strdup(arena, stmt, 1);
	mailbox->uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 2);
	mailbox->uidnext = (uint32_t)sqlite3_column_int64(stmt, 3);
	mailbox->highestmodseq = (uint64_t)sqlite3_column_int64(stmt, 4);
	mailbox->special_use = (unsigned)sqlite3_column_int(stmt, 5);
}

/* The next UIDVALIDITY of an account: the current time, or one more than
 * the last one given out if that is not older. */
static int sqlite_next_uidvalidity(struct sqlite_store *store, int64_t account_id,
				   uint32_t *value_r)
{
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_ACCOUNT_NEXT_UIDVALIDITY);
	int rc;

	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, account_id);
	sqlite3_bind_int64(stmt, 2, (int64_t)(uint32_t)sqlite_now());
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*value_r = (uint32_t)sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return sqlite_fail(store, STORE_ENOTFOUND, "no account %lld", (long long)account_id);
	if (rc != SQLITE_ROW)
		return sqlite_fail_db(store, "uidvalidity");
	if (*value_r == 0)
		return sqlite_fail(store, STORE_EFAIL, "account has run out of UIDVALIDITY values");
	return STORE_OK;
}

int sqlite_mailbox_insert(struct sqlite_store *store, int64_t account_id, const char *name,
			  unsigned special_use, int64_t *id_r)
{
	sqlite3_stmt *stmt;
	uint32_t uidvalidity;
	int rc;

	if (name[0] == '\0')
		return sqlite_fail(store, STORE_EINVALID, "empty mailbox name");
	if ((rc = sqlite_next_uidvalidity(store, account_id, &uidvalidity)) < 0)
		return rc;
	if ((stmt = sqlite_stmt(store, SQL_MAILBOX_INSERT)) == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, account_id);
	sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, uidvalidity);
	sqlite3_bind_int(stmt, 4, (int)special_use);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc == SQLITE_CONSTRAINT)
		return sqlite_fail(store, STORE_EEXISTS, "mailbox %s exists", name);
	if (rc != SQLITE_DONE)
		return sqlite_fail_db(store, "create mailbox");
	*id_r = sqlite3_last_insert_rowid(store->db);
	sqlite_note_event(store, STORE_EVENT_MAILBOXES, account_id, *id_r);
	return STORE_OK;
}

int sqlite_mailbox_get(struct sqlite_store *store, int64_t mailbox_id, int64_t *account_id_r,
		       uint32_t *uidvalidity_r, uint32_t *uidnext_r)
{
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_MAILBOX_GET);
	int rc;

	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		if (account_id_r != NULL)
			*account_id_r = sqlite3_column_int64(stmt, 0);
		if (uidvalidity_r != NULL)
			*uidvalidity_r = (uint32_t)sqlite3_column_int64(stmt, 1);
		if (uidnext_r != NULL)
			*uidnext_r = (uint32_t)sqlite3_column_int64(stmt, 2);
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return sqlite_fail(store, STORE_ENOTFOUND, "no mailbox %lld", (long long)mailbox_id);
	return rc == SQLITE_ROW ? STORE_OK : sqlite_fail_db(store, "read mailbox");
}

int sqlite_store_mailbox_list(struct store *base, int64_t account_id, struct arena *arena,
			      struct store_mailbox **list_r, size_t *count_r, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	ARRAY(struct store_mailbox) list = ARRAY_INIT;
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_MAILBOX_LIST);
	int rc = STORE_EFAIL, step;

	if (stmt != NULL) {
		struct store_mailbox mailbox;

		sqlite3_bind_int64(stmt, 1, account_id);
		while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
			sqlite_mailbox_read(stmt, arena, &mailbox);
			array_push(&list, mailbox);
		}
		sqlite3_reset(stmt);
		rc = step == SQLITE_DONE ? STORE_OK : sqlite_fail_db(store, "list mailboxes");
	}
	*list_r = sqlite_arena_copy(arena, list.items, list.count * sizeof(*list.items));
	*count_r = list.count;
	array_free(&list);
	return sqlite_result(store, rc, error_r);
}

int sqlite_store_mailbox_find(struct store *base, int64_t account_id, const char *name,
			      struct arena *arena, struct store_mailbox *mailbox_r,
			      const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_MAILBOX_FIND);
	int rc = STORE_EFAIL, step;

	if (stmt != NULL) {
		sqlite3_bind_int64(stmt, 1, account_id);
		sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
		step = sqlite3_step(stmt);
		if (step == SQLITE_ROW) {
			sqlite_mailbox_read(stmt, arena, mailbox_r);
			rc = STORE_OK;
		} else if (step == SQLITE_DONE) {
			rc = sqlite_fail(store, STORE_ENOTFOUND, "no mailbox %s", name);
		} else {
			rc = sqlite_fail_db(store, "find mailbox");
		}
		sqlite3_reset(stmt);
	}
	return sqlite_result(store, rc, error_r);
}

/* Inside the write transaction: create every missing superior of name
 * ("a" and "a/b" for "a/b/c", RFC 9051 §6.3.4 and §6.3.6). Done in the
 * caller's transaction so that another session (a NOTIFY or LIST watcher)
 * never sees "a/b/c" before its parents, or the parents without it. */
static int sqlite_mailbox_insert_parents(struct sqlite_store *store, int64_t account_id,
					 const char *name)
{
	char *copy = mem_strdup(name);
	int rc = STORE_OK;

	for (char *slash = strchr(copy, '/'); slash != NULL && rc == STORE_OK;
	     slash = strchr(slash + 1, '/')) {
		int64_t id;

		*slash = '\0';
		if (copy[0] != '\0') {
			rc = sqlite_mailbox_insert(store, account_id, copy, 0, &id);
			if (rc == STORE_EEXISTS)
				rc = STORE_OK;
		}
		*slash = '/';
	}
	free(copy);
	return rc;
}

int sqlite_store_mailbox_create(struct store *base, int64_t account_id, const char *name,
				unsigned special_use, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	int64_t id;
	int rc = sqlite_begin_write(store);

	if (rc == STORE_OK) {
		rc = sqlite_mailbox_insert_parents(store, account_id, name);
		if (rc == STORE_OK)
			rc = sqlite_mailbox_insert(store, account_id, name, special_use, &id);
		rc = sqlite_finish(store, rc);
	}
	return sqlite_result(store, rc, error_r);
}

/* Inside the write transaction: delete one mailbox (its messages and
 * expunged rows cascade, blobs are collected by trigger) and wake whoever
 * has it open, with a modseq past the last one they saw. */
static int sqlite_mailbox_remove(struct sqlite_store *store, const struct store_mailbox *mailbox,
				 int64_t account_id)
{
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_MAILBOX_DELETE);
	struct sqlite_touched t = { account_id, mailbox->id, mailbox->highestmodseq + 1,
				    STORE_EVENT_MESSAGES };
	int rc;

	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, mailbox->id);
	if ((rc = sqlite_exec(store, stmt, "delete mailbox")) == STORE_OK) {
		array_push(&store->touched, t);
		sqlite_note_event(store, STORE_EVENT_MAILBOXES, account_id, mailbox->id);
	}
	return rc;
}

int sqlite_store_mailbox_delete(struct store *base, int64_t account_id, const char *name,
				const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	struct arena *arena;
	struct store_mailbox mailbox;
	int rc;

	/* RFC 9051 §6.3.4: deleting INBOX is an error. */
	if (strcmp(name, "INBOX") == 0)
		return sqlite_result(store, sqlite_fail(store, STORE_EINVALID,
							"INBOX cannot be deleted"), error_r);
	if ((rc = sqlite_begin_write(store)) < 0)
		return sqlite_result(store, rc, error_r);
	arena = arena_new();
	rc = sqlite_store_mailbox_find(&store->base, account_id, name, arena, &mailbox, NULL);
	if (rc == STORE_OK)
		rc = sqlite_mailbox_remove(store, &mailbox, account_id);
	rc = sqlite_finish(store, rc);
	arena_free(arena);
	return sqlite_result(store, rc, error_r);
}

/* Every UID of a mailbox, ascending (heap; caller frees). */
static int sqlite_mailbox_uids(struct sqlite_store *store, int64_t mailbox_id, uint32_t **uids_r,
			       size_t *count_r)
{
	ARRAY(uint32_t) uids = ARRAY_INIT;
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_MESSAGE_LIST);
	int step;

	*uids_r = NULL;
	*count_r = 0;
	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, 1);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW)
		array_push(&uids, (uint32_t)sqlite3_column_int64(stmt, 0));
	sqlite3_reset(stmt);
	*uids_r = uids.items;
	*count_r = uids.count;
	return step == SQLITE_DONE ? STORE_OK : sqlite_fail_db(store, "list messages");
}

/* RFC 9051 §6.3.6: renaming INBOX moves all its messages to a new mailbox
 * (fresh UIDVALIDITY, fresh UIDs) and leaves INBOX empty with its
 * UIDVALIDITY and UIDNEXT going on; INBOX's children stay where they are. */
static int sqlite_rename_inbox(struct sqlite_store *store, int64_t account_id,
			       const struct store_mailbox *inbox, const char *new_name)
{
	uint32_t *uids, *dest_uids = NULL, uidvalidity;
	size_t count;
	int64_t new_id;
	int rc = sqlite_mailbox_insert(store, account_id, new_name, 0, &new_id);

	if (rc < 0)
		return rc;
	rc = sqlite_mailbox_uids(store, inbox->id, &uids, &count);
	if (rc == STORE_OK && count > 0) {
		dest_uids = mem_alloc(count * sizeof(*dest_uids));
		rc = sqlite_copy_uids(store, inbox->id, uids, count, new_id, dest_uids,
				      &uidvalidity);
		if (rc == STORE_OK)
			rc = sqlite_expunge_uids(store, inbox->id, uids, count);
	}
	free(dest_uids);
	free(uids);
	return rc;
}

/* Number of UTF-8 characters in s: SQL substr() counts characters. */
static int sqlite_utf8_length(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* A mailbox and everything below it: every new name must be free. */
static int sqlite_rename_tree(struct sqlite_store *store, int64_t account_id, const char *old_name,
			      const char *new_name)
{
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_MAILBOX_RENAME_CONFLICTS);
	int conflicts = -1, step;

	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, account_id);
	sqlite3_bind_text(stmt, 2, old_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, new_name, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 4, sqlite_utf8_length(old_name) + 1);
	if ((step = sqlite3_step(stmt)) == SQLITE_ROW)
		conflicts = sqlite3_column_int(stmt, 0);
	sqlite3_reset(stmt);
	if (step != SQLITE_ROW)
		return sqlite_fail_db(store, "rename mailbox");
	if (conflicts > 0)
		return sqlite_fail(store, STORE_EEXISTS, "mailbox %s exists", new_name);
	/* Subscriptions follow (as in Dovecot and Cyrus), so a renamed folder
	 * stays visible in clients that show only subscribed ones. */
	for (int i = 0; i < 2; i++) {
		int rc;

		if ((stmt = sqlite_stmt(store, i == 0 ? SQL_MAILBOX_RENAME
					: SQL_SUBSCRIPTION_RENAME)) == NULL)
			return STORE_EFAIL;
		sqlite3_bind_int64(stmt, 1, account_id);
		sqlite3_bind_text(stmt, 2, old_name, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 3, new_name, -1, SQLITE_STATIC);
		sqlite3_bind_int(stmt, 4, sqlite_utf8_length(old_name) + 1);
		if ((rc = sqlite_exec(store, stmt, "rename mailbox")) < 0)
			return rc;
	}
	return STORE_OK;
}

/* Renaming a mailbox below itself ("a" to "a/b") would make it its own
 * ancestor. */
static bool sqlite_name_is_below(const char *name, const char *ancestor)
{
	size_t n = strlen(ancestor);

	return strncmp(name, ancestor, n) == 0 && name[n] == '/';
}

int sqlite_store_mailbox_rename(struct store *base, int64_t account_id, const char *old_name,
				const char *new_name, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	struct arena *arena;
	struct store_mailbox mailbox;
	int rc;

	/* INBOX is the exception: its children stay, so INBOX/old is fine. */
	if (new_name[0] == '\0' ||
	    (strcmp(old_name, "INBOX") != 0 && sqlite_name_is_below(new_name, old_name)))
		return sqlite_result(store, sqlite_fail(store, STORE_EINVALID,
							"cannot rename %s to %s", old_name,
							new_name), error_r);
	if ((rc = sqlite_begin_write(store)) < 0)
		return sqlite_result(store, rc, error_r);
	arena = arena_new();
	rc = sqlite_store_mailbox_find(&store->base, account_id, old_name, arena, &mailbox, NULL);
	if (rc == STORE_OK)
		rc = sqlite_mailbox_insert_parents(store, account_id, new_name);
	if (rc == STORE_OK && strcmp(old_name, "INBOX") == 0)
		rc = sqlite_rename_inbox(store, account_id, &mailbox, new_name);
	else if (rc == STORE_OK)
		rc = sqlite_rename_tree(store, account_id, old_name, new_name);
	if (rc == STORE_OK) {
		/* subscriptions follow a renamed tree (sqlite_rename_tree) */
		sqlite_note_event(store, STORE_EVENT_MAILBOXES, account_id, mailbox.id);
		sqlite_note_event(store, STORE_EVENT_SUBSCRIPTIONS, account_id, 0);
	}
	rc = sqlite_finish(store, rc);
	arena_free(arena);
	return sqlite_result(store, rc, error_r);
}

/* The counters of a mailbox (STATUS) in one snapshot. */
static int sqlite_mailbox_count(struct sqlite_store *store, int64_t mailbox_id,
				struct store_mailbox_status *status)
{
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_MAILBOX_STATUS);
	int step;

	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		status->messages = (uint32_t)sqlite3_column_int64(stmt, 0);
		status->unseen = (uint32_t)sqlite3_column_int64(stmt, 1);
		status->deleted = (uint32_t)sqlite3_column_int64(stmt, 2);
		status->size = (uint64_t)sqlite3_column_int64(stmt, 3);
		status->deleted_size = (uint64_t)sqlite3_column_int64(stmt, 4);
	}
	sqlite3_reset(stmt);
	return step == SQLITE_ROW ? STORE_OK : sqlite_fail_db(store, "mailbox status");
}

int sqlite_store_mailbox_status(struct store *base, int64_t mailbox_id,
				struct store_mailbox_status *status_r, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	sqlite3_stmt *stmt;
	int rc, step;

	memset(status_r, 0, sizeof(*status_r));
	if ((rc = sqlite_begin_read(store)) < 0)
		return sqlite_result(store, rc, error_r);
	if ((stmt = sqlite_stmt(store, SQL_MAILBOX_GET)) == NULL)
		return sqlite_result(store, sqlite_finish(store, STORE_EFAIL), error_r);
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		status_r->uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 1);
		status_r->uidnext = (uint32_t)sqlite3_column_int64(stmt, 2);
		status_r->highestmodseq = (uint64_t)sqlite3_column_int64(stmt, 3);
	}
	sqlite3_reset(stmt);
	if (step == SQLITE_DONE)
		rc = sqlite_fail(store, STORE_ENOTFOUND, "no mailbox %lld", (long long)mailbox_id);
	else if (step != SQLITE_ROW)
		rc = sqlite_fail_db(store, "mailbox status");
	else
		rc = sqlite_mailbox_count(store, mailbox_id, status_r);
	return sqlite_result(store, sqlite_finish(store, rc), error_r);
}
