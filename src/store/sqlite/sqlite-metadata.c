/*
 * sqlite-metadata: annotations (store.h, RFC 5464). Entries are keyed by
 * (mailbox or 0 for the server, account or 0 for /shared, name); a name and
 * everything below it is one range of the primary key, so GETMETADATA
 * with any DEPTH is one indexed query. SETMETADATA is one transaction
 * (RFC 5464 §4.3: when one entry fails, none changes).
 */
#include "store/sqlite/sqlite-private.h"

#include <string.h>

int sqlite_store_metadata_get(struct store *base, int64_t mailbox_id, int64_t account_id,
			      const char *entry, struct arena *arena,
			      struct store_metadata **list_r, size_t *count_r, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	ARRAY(struct store_metadata) out = ARRAY_INIT;
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_METADATA_GET);
	int rc = STORE_EFAIL, step;

	*list_r = NULL;
	*count_r = 0;
	if (stmt == NULL)
		return sqlite_result(store, rc, error_r);
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, account_id);
	sqlite3_bind_text(stmt, 3, entry, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		const void *value = sqlite3_column_blob(stmt, 1);
		size_t len = (size_t)sqlite3_column_bytes(stmt, 1);
		struct store_metadata m = {
			.mailbox_id = mailbox_id, .account_id = account_id,
			.entry = sqlite_column_strdup(arena, stmt, 0),
			.value = arena_memdup(arena, value != NULL ? value : "", len + 1),
			.value_len = len,
		};
		array_push(&out, m);
	}
	sqlite3_reset(stmt);
	rc = step == SQLITE_DONE ? STORE_OK : sqlite_fail_db(store, "read metadata");
	if (rc == STORE_OK) {
		*list_r = arena_alloc(arena, (out.count + 1) * sizeof(*out.items));
		if (out.count > 0)
			memcpy(*list_r, out.items, out.count * sizeof(*out.items));
		*count_r = out.count;
	}
	array_free(&out);
	return sqlite_result(store, rc, error_r);
}

/* Inside the write transaction: one change. */
static int sqlite_metadata_change(struct sqlite_store *store, const struct store_metadata *m)
{
	sqlite3_stmt *stmt = sqlite_stmt(store, m->value != NULL ? SQL_METADATA_SET
					 : SQL_METADATA_DELETE);

	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, m->mailbox_id);
	sqlite3_bind_int64(stmt, 2, m->account_id);
	sqlite3_bind_text(stmt, 3, m->entry, -1, SQLITE_STATIC);
	if (m->value != NULL)
		sqlite3_bind_blob(stmt, 4, m->value, (int)m->value_len, SQLITE_STATIC);
	return sqlite_exec(store, stmt, "set metadata");
}

/* Inside the write transaction: how many entries (mailbox, account) has. */
static int sqlite_metadata_count(struct sqlite_store *store, int64_t mailbox_id, int64_t account_id,
				 size_t *count_r)
{
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_METADATA_COUNT);
	int step;

	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, account_id);
	step = sqlite3_step(stmt);
	*count_r = step == SQLITE_ROW ? (size_t)sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_reset(stmt);
	return step == SQLITE_ROW ? STORE_OK : sqlite_fail_db(store, "count metadata");
}

int sqlite_store_metadata_set(struct store *base, const struct store_metadata *changes,
			      size_t count, size_t max_entries, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	int rc = sqlite_begin_write(store);

	for (size_t i = 0; rc == STORE_OK && i < count; i++) {
		if (changes[i].value != NULL && changes[i].value_len > INT32_MAX)
			rc = sqlite_fail(store, STORE_EINVALID, "value too large");
		else
			rc = sqlite_metadata_change(store, &changes[i]);
	}
	/* The limit, once every change is in: a command that removes one
	 * entry and adds another is judged on the result. */
	for (size_t i = 0; rc == STORE_OK && i < count; i++) {
		size_t n;
		rc = sqlite_metadata_count(store, changes[i].mailbox_id, changes[i].account_id, &n);
		if (rc == STORE_OK && changes[i].value != NULL && n > max_entries)
			rc = sqlite_fail(store, STORE_EOVERQUOTA, "too many annotations");
	}
	if (rc == STORE_OK || sqlite3_get_autocommit(store->db) == 0)
		rc = sqlite_finish(store, rc);
	return sqlite_result(store, rc, error_r);
}
