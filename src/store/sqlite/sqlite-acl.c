/*
 * sqlite-acl: sharing (store.h, RFC 4314). ACL entries per mailbox; the
 * mailboxes shared with an address (LIST's "Other Users/" and "Shared/");
 * the per-user \Seen of readers who do not own a mailbox; and the system
 * account that owns the public folders. Rights arithmetic is store/acl.h's.
 */
#include "store/sqlite/sqlite-private.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/str.h"
#include "store/acl.h"

/* count items of size bytes into arena, with room for one more so an
 * empty result is still a valid pointer. */
static void *sqlite_acl_copy(struct arena *arena, const void *items, size_t count, size_t size)
{
	void *out = arena_alloc(arena, (count + 1) * size);

	if (count > 0)
		memcpy(out, items, count * size);
	return out;
}

int sqlite_store_acl_list(struct store *base, int64_t mailbox_id, struct arena *arena,
			  struct store_acl_entry **entries_r, size_t *count_r, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	ARRAY(struct store_acl_entry) out = ARRAY_INIT;
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_ACL_LIST);
	int rc = STORE_EFAIL, step;

	*entries_r = NULL;
	*count_r = 0;
	if (stmt == NULL)
		return sqlite_result(store, rc, error_r);
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_acl_entry e = { sqlite_column_strdup(arena, stmt, 0),
					     sqlite_column_strdup(arena, stmt, 1) };
		array_push(&out, e);
	}
	sqlite3_reset(stmt);
	rc = step == SQLITE_DONE ? STORE_OK : sqlite_fail_db(store, "list acl");
	if (rc == STORE_OK) {
		*entries_r = sqlite_acl_copy(arena, out.items, out.count, sizeof(*out.items));
		*count_r = out.count;
	}
	array_free(&out);
	return sqlite_result(store, rc, error_r);
}

int sqlite_store_acl_set(struct store *base, int64_t mailbox_id, const char *identifier,
			 const char *rights, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	bool remove = rights == NULL || rights[0] == '\0';
	sqlite3_stmt *stmt = sqlite_stmt(store, remove ? SQL_ACL_DELETE : SQL_ACL_SET);
	int rc = STORE_EFAIL;

	if (stmt != NULL) {
		sqlite3_bind_int64(stmt, 1, mailbox_id);
		sqlite3_bind_text(stmt, 2, identifier, -1, SQLITE_STATIC);
		if (!remove)
			sqlite3_bind_text(stmt, 3, rights, -1, SQLITE_STATIC);
		rc = sqlite_exec(store, stmt, "set acl");
	}
	return sqlite_result(store, rc, error_r);
}

int sqlite_store_acl_shared_with(struct store *base, int64_t account_id, const char *address,
				 struct arena *arena, struct store_shared_mailbox **list_r,
				 size_t *count_r, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	ARRAY(struct store_shared_mailbox) out = ARRAY_INIT;
	ARRAY(struct store_acl_entry) entries = ARRAY_INIT;
	char *lower = str_lower(mem_strdup(address));
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_ACL_SHARED_WITH);
	int rc = STORE_EFAIL, step = SQLITE_DONE;

	*list_r = NULL;
	*count_r = 0;
	if (stmt == NULL)
		goto out;
	sqlite3_bind_int64(stmt, 1, account_id);
	sqlite3_bind_text(stmt, 2, lower, -1, SQLITE_STATIC);
	/* Rows come grouped by mailbox: gather each one's entries, then
	 * combine them when the next mailbox starts. */
	for (;;) {
		step = sqlite3_step(stmt);
		int64_t id = step == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
		if (out.count > 0 && (step != SQLITE_ROW ||
				      out.items[out.count - 1].mailbox.id != id)) {
			out.items[out.count - 1].rights = acl_rights_of(entries.items, entries.count,
									lower);
			array_clear(&entries);
		}
		if (step != SQLITE_ROW)
			break;
		if (out.count == 0 || out.items[out.count - 1].mailbox.id != id) {
			struct store_shared_mailbox m = {
				.account_id = sqlite3_column_int64(stmt, 6),
				.owner = sqlite_column_strdup(arena, stmt, 7),
				.mailbox = {
					.id = id,
					.name = sqlite_column_strdup(arena, stmt, 1),
					.uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 2),
					.uidnext = (uint32_t)sqlite3_column_int64(stmt, 3),
					.highestmodseq = (uint64_t)sqlite3_column_int64(stmt, 4),
					.special_use = (unsigned)sqlite3_column_int(stmt, 5),
				},
			};
			array_push(&out, m);
		}
		struct store_acl_entry e = { sqlite_column_strdup(arena, stmt, 8),
					     sqlite_column_strdup(arena, stmt, 9) };
		array_push(&entries, e);
	}
	sqlite3_reset(stmt);
	rc = step == SQLITE_DONE ? STORE_OK : sqlite_fail_db(store, "shared mailboxes");
	if (rc == STORE_OK) {
		*list_r = sqlite_acl_copy(arena, out.items, out.count, sizeof(*out.items));
		*count_r = out.count;
	}
out:
	array_free(&entries);
	array_free(&out);
	free(lower);
	return sqlite_result(store, rc, error_r);
}

/* Inside a read or write transaction: the seen UIDs, ascending. */
static int sqlite_seen_read(struct sqlite_store *store, int64_t account_id, int64_t mailbox_id,
			    struct arena *arena, uint32_t **uids_r, size_t *count_r)
{
	ARRAY(uint32_t) out = ARRAY_INIT;
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_SEEN_LIST);
	int step;

	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, account_id);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW)
		array_push(&out, (uint32_t)sqlite3_column_int64(stmt, 0));
	sqlite3_reset(stmt);
	*uids_r = sqlite_acl_copy(arena, out.items, out.count, sizeof(uint32_t));
	*count_r = out.count;
	array_free(&out);
	return step == SQLITE_DONE ? STORE_OK : sqlite_fail_db(store, "list seen");
}

int sqlite_store_seen_list(struct store *base, int64_t account_id, int64_t mailbox_id,
			   struct arena *arena, uint32_t **uids_r, size_t *count_r,
			   const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	return sqlite_result(store, sqlite_seen_read(store, account_id, mailbox_id, arena, uids_r,
						     count_r), error_r);
}

/* One message's (uid, flags, modseq, keywords); 1 when it does not exist. */
static int sqlite_seen_state(struct sqlite_store *store, int64_t mailbox_id, uint32_t uid,
			     struct arena *arena, struct store_message_state *state_r)
{
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_MESSAGE_STATE_ONE);
	int step;

	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, uid);
	step = sqlite3_step(stmt);
	if (step == SQLITE_ROW) {
		state_r->uid = (uint32_t)sqlite3_column_int64(stmt, 0);
		state_r->flags = (unsigned)sqlite3_column_int(stmt, 1);
		state_r->modseq = (uint64_t)sqlite3_column_int64(stmt, 2);
		state_r->keywords = sqlite_column_strdup(arena, stmt, 3);
	}
	sqlite3_reset(stmt);
	if (step == SQLITE_DONE)
		return 1;
	return step == SQLITE_ROW ? STORE_OK : sqlite_fail_db(store, "read message");
}

/* Inside the write transaction: one UID's seen row, and a new modseq for
 * the message when the row really changed. */
static int sqlite_seen_one(struct sqlite_store *store, int64_t account_id, int64_t mailbox_id,
			   uint32_t uid, bool seen, struct store_message_state *state)
{
	sqlite3_stmt *stmt = sqlite_stmt(store, seen ? SQL_SEEN_ADD : SQL_SEEN_REMOVE);
	uint64_t modseq;
	int rc;

	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, account_id);
	sqlite3_bind_int64(stmt, 3, uid);
	if ((rc = sqlite_exec(store, stmt, "set seen")) < 0 || sqlite3_changes(store->db) == 0)
		return rc;
	if ((rc = sqlite_mailbox_touch(store, mailbox_id, &modseq, NULL)) < 0 ||
	    (stmt = sqlite_stmt(store, SQL_MESSAGE_SET_MODSEQ)) == NULL)
		return rc < 0 ? rc : STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, uid);
	sqlite3_bind_int64(stmt, 3, (int64_t)modseq);
	state->modseq = modseq;
	return sqlite_exec(store, stmt, "bump modseq");
}

int sqlite_store_seen_set(struct store *base, int64_t account_id, int64_t mailbox_id,
			  const uint32_t *uids, size_t count, bool seen, struct arena *arena,
			  struct store_message_state **result_r, size_t *result_count_r,
			  const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	size_t n;
	uint32_t *sorted = sqlite_uids_sorted(uids, count, &n);
	struct store_message_state *out = arena_alloc(arena, (n + 1) * sizeof(*out));
	size_t done = 0;
	int rc = sqlite_begin_write(store);

	for (size_t i = 0; rc == STORE_OK && i < n; i++) {
		int r = sqlite_seen_state(store, mailbox_id, sorted[i], arena, &out[done]);
		if (r < 0)
			rc = r;
		else if (r == 0 && (rc = sqlite_seen_one(store, account_id, mailbox_id, sorted[i],
							 seen, &out[done])) == STORE_OK)
			done++;
	}
	if (rc == STORE_OK || sqlite3_get_autocommit(store->db) == 0)
		rc = sqlite_finish(store, rc);
	free(sorted);
	*result_r = out;
	*result_count_r = rc == STORE_OK ? done : 0;
	return sqlite_result(store, rc, error_r);
}

int sqlite_store_account_system(struct store *base, const char *address, bool create, int64_t *id_r,
				const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	struct arena *arena = arena_new();
	struct store_account account;
	sqlite3_stmt *stmt;
	int rc = sqlite_store_account_find(&store->base, address, arena, &account, NULL);

	if (rc == STORE_OK) {
		*id_r = account.id;
	} else if (rc == STORE_ENOTFOUND && create) {
		/* "!" is no crypt(3) result: nobody can log in as it. */
		rc = STORE_EFAIL;
		if ((stmt = sqlite_stmt(store, SQL_ACCOUNT_INSERT)) != NULL) {
			sqlite3_bind_text(stmt, 1, address, -1, SQLITE_STATIC);
			sqlite3_bind_text(stmt, 2, "!", -1, SQLITE_STATIC);
			sqlite3_bind_int64(stmt, 3, sqlite_now());
			rc = sqlite_exec(store, stmt, "create system account");
			*id_r = sqlite3_last_insert_rowid(store->db);
		}
	}
	arena_free(arena);
	return sqlite_result(store, rc, error_r);
}
