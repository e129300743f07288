/*
 * sqlite-app-password: the app passwords of an account (store.h), in the
 * app_password table of schema step 4. Keyed by (account_id, name), so the
 * rows go with the account (ON DELETE CASCADE) and shard with it (rule 7).
 */
#include "store/sqlite/sqlite-private.h"

#include <stdlib.h>

#include "core/array.h"
#include "core/mem.h"
#include "core/str.h"

int sqlite_store_app_password_add(struct store *base, int64_t account_id, const char *name,
				  const char *hash, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_APP_PASSWORD_INSERT);
	int rc = STORE_EFAIL;

	if (stmt != NULL) {
		sqlite3_bind_int64(stmt, 1, account_id);
		sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 3, hash, -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 4, sqlite_now());
		int step = sqlite3_step(stmt);
		sqlite3_reset(stmt);
		if (step == SQLITE_CONSTRAINT)
			rc = sqlite_fail(store, STORE_EEXISTS, "app password %s exists", name);
		else if (step != SQLITE_DONE)
			rc = sqlite_fail_db(store, "add app password");
		else
			rc = STORE_OK;
	}
	return sqlite_result(store, rc, error_r);
}

int sqlite_store_app_password_delete(struct store *base, int64_t account_id, const char *name,
				     const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_APP_PASSWORD_DELETE);
	int rc = STORE_EFAIL;

	if (stmt != NULL) {
		sqlite3_bind_int64(stmt, 1, account_id);
		sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
		rc = sqlite_exec(store, stmt, "delete app password");
		if (rc == STORE_OK && sqlite3_changes(store->db) == 0)
			rc = sqlite_fail(store, STORE_ENOTFOUND, "no app password %s", name);
	}
	return sqlite_result(store, rc, error_r);
}

int sqlite_store_app_password_list(struct store *base, int64_t account_id, struct arena *arena,
				   struct store_app_password **list_r, size_t *count_r,
				   const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	ARRAY(struct store_app_password) list = ARRAY_INIT;
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_APP_PASSWORD_LIST);
	int rc = STORE_EFAIL, step;

	if (stmt != NULL) {
		sqlite3_bind_int64(stmt, 1, account_id);
		while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
			struct store_app_password app = {
				.id = sqlite3_column_int64(stmt, 0),
				.name = sqlite_column_strdup(arena, stmt, 1),
				.hash = sqlite_column_strdup(arena, stmt, 2),
				.created = sqlite3_column_int64(stmt, 3),
				.last_used = sqlite3_column_int64(stmt, 4),
			};
			array_push(&list, app);
		}
		sqlite3_reset(stmt);
		rc = step == SQLITE_DONE ? STORE_OK : sqlite_fail_db(store, "list app passwords");
	}
	*list_r = sqlite_arena_copy(arena, list.items, list.count * sizeof(*list.items));
	*count_r = list.count;
	array_free(&list);
	return sqlite_result(store, rc, error_r);
}

int sqlite_store_app_password_touch(struct store *base, int64_t id, int64_t when,
				    const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_APP_PASSWORD_TOUCH);
	int rc = STORE_EFAIL;

	if (stmt != NULL) {
		sqlite3_bind_int64(stmt, 1, id);
		sqlite3_bind_int64(stmt, 2, when);
		rc = sqlite_exec(store, stmt, "note app password use");
	}
	return sqlite_result(store, rc, error_r);
}
