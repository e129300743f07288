/*
 * sqlite-quota: per-account quotas (store.h, RFC 9208). The usage columns
 * of account are kept by triggers on message (sqlite-open.c, schema 3), so
 * every path that adds or removes a message row counts, in its own
 * transaction; this file reads them, applies the configured default, and
 * gives the writers (append, copy, deliver) the checks they run before
 * COMMIT.
 */
#include "store/sqlite/sqlite-private.h"

void sqlite_store_quota_set_default(struct store *base, int64_t storage_kib, int64_t messages)
{
	struct sqlite_store *store = sqlite_store_of(base);
	store->default_quota_kib = storage_kib < 0 ? STORE_QUOTA_NONE : storage_kib;
	store->default_quota_messages = messages < 0 ? STORE_QUOTA_NONE : messages;
}

/* A limit column: NULL follows the default, negative is no limit. */
static int64_t sqlite_quota_limit(sqlite3_stmt *stmt, int col, int64_t fallback)
{
	if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
		return fallback;
	int64_t v = sqlite3_column_int64(stmt, col);
	return v < 0 ? STORE_QUOTA_NONE : v;
}

int sqlite_quota_read(struct sqlite_store *store, int64_t account_id, struct store_quota *quota_r)
{
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_QUOTA_GET);
	int rc, step;

	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, account_id);
	step = sqlite3_step(stmt);
	if (step == SQLITE_ROW) {
		int64_t bytes = sqlite3_column_int64(stmt, 0);
		int64_t messages = sqlite3_column_int64(stmt, 1);

		quota_r->used_bytes = bytes > 0 ? (uint64_t)bytes : 0;
		quota_r->used_messages = messages > 0 ? (uint64_t)messages : 0;
		quota_r->limit_kib = sqlite_quota_limit(stmt, 2, store->default_quota_kib);
		quota_r->limit_messages = sqlite_quota_limit(stmt, 3,
							     store->default_quota_messages);
		rc = STORE_OK;
	} else if (step == SQLITE_DONE) {
		rc = sqlite_fail(store, STORE_ENOTFOUND, "no account %lld", (long long)account_id);
	} else {
		rc = sqlite_fail_db(store, "read quota");
	}
	sqlite3_reset(stmt);
	return rc;
}

/* STORAGE is limited in KiB and counted in bytes: the limit is
 * limit_kib * 1024 bytes exactly, so a message fits or not by its size. */
static bool sqlite_quota_bytes_over(const struct store_quota *quota, uint64_t bytes)
{
	return quota->limit_kib >= 0 && bytes > (uint64_t)quota->limit_kib * 1024;
}

static bool sqlite_quota_messages_over(const struct store_quota *quota, uint64_t messages)
{
	return quota->limit_messages >= 0 && messages > (uint64_t)quota->limit_messages;
}

int sqlite_quota_check_growth(struct sqlite_store *store, int64_t account_id,
			      const struct store_quota *before)
{
	struct store_quota after;
	int rc = sqlite_quota_read(store, account_id, &after);

	if (rc < 0)
		return rc;
	if ((after.used_bytes > before->used_bytes &&
	     sqlite_quota_bytes_over(&after, after.used_bytes)) ||
	    (after.used_messages > before->used_messages &&
	     sqlite_quota_messages_over(&after, after.used_messages)))
		return sqlite_fail(store, STORE_EOVERQUOTA, "over quota");
	return STORE_OK;
}

int sqlite_store_quota_get(struct store *base, int64_t account_id, struct store_quota *quota_r,
			   const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	return sqlite_result(store, sqlite_quota_read(store, account_id, quota_r), error_r);
}

/* A limit as the column keeps it: NULL for the default. */
static void sqlite_quota_bind(sqlite3_stmt *stmt, int col, int64_t limit)
{
	if (limit == STORE_QUOTA_DEFAULT)
		sqlite3_bind_null(stmt, col);
	else
		sqlite3_bind_int64(stmt, col, limit < 0 ? -1 : limit);
}

int sqlite_store_quota_set(struct store *base, int64_t account_id, int64_t storage_kib,
			   int64_t messages, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_QUOTA_SET);
	int rc = STORE_EFAIL;

	if (stmt != NULL) {
		sqlite3_bind_int64(stmt, 1, account_id);
		sqlite_quota_bind(stmt, 2, storage_kib);
		sqlite_quota_bind(stmt, 3, messages);
		rc = sqlite_exec(store, stmt, "set quota");
		if (rc == STORE_OK && sqlite3_changes(store->db) == 0)
			rc = sqlite_fail(store, STORE_ENOTFOUND, "no account %lld",
					 (long long)account_id);
	}
	return sqlite_result(store, rc, error_r);
}
