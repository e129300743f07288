/*
 * sqlite-account: accounts, their default folders and their subscriptions.
 *
 * Addresses are kept in lower case so that a login as Alice@Example.test
 * finds alice@example.test (the CLI and the protocols may pass either).
 * Every account starts with the folders clients expect, marked with their
 * RFC 6154 special use and subscribed, so that a new phone shows Sent and
 * Trash without setup.
 */
#include "store/sqlite/sqlite-private.h"

#include <stdlib.h>

#include "core/mem.h"
#include "core/str.h"

/* The folders of a new account (RFC 6154 names as most clients expect). */
static const struct {
	const char *name;
	unsigned special_use;
} sqlite_default_mailboxes[] = {
	{ "INBOX", 0 },
	{ "Sent", STORE_USE_SENT },
	{ "Drafts", STORE_USE_DRAFTS },
	{ "Trash", STORE_USE_TRASH },
	{ "Junk", STORE_USE_JUNK },
	{ "Archive", STORE_USE_ARCHIVE },
};
#define SQLITE_DEFAULT_COUNT (sizeof(sqlite_default_mailboxes) / sizeof(sqlite_default_mailboxes[0]))

/* Which default folders an account lacks: INBOX by name; the others by
 * special use, so a renamed Sent is not created again, and not when their
 * name is taken by an ordinary folder. Returns how many, or < 0. */
static int sqlite_defaults_missing(struct sqlite_store *store, int64_t account_id,
				   bool missing[SQLITE_DEFAULT_COUNT])
{
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_MAILBOX_LIST);
	unsigned uses = 0;
	int rc, count = 0;

	if (stmt == NULL)
		return STORE_EFAIL;
	for (size_t i = 0; i < SQLITE_DEFAULT_COUNT; i++)
		missing[i] = true;
	sqlite3_bind_int64(stmt, 1, account_id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(stmt, 1);

		uses |= (unsigned)sqlite3_column_int(stmt, 5);
		for (size_t i = 0; i < SQLITE_DEFAULT_COUNT; i++) {
			if (strcmp(name, sqlite_default_mailboxes[i].name) == 0)
				missing[i] = false;
		}
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return sqlite_fail_db(store, "list mailboxes");
	for (size_t i = 0; i < SQLITE_DEFAULT_COUNT; i++) {
		if ((uses & sqlite_default_mailboxes[i].special_use) != 0)
			missing[i] = false;
		count += missing[i];
	}
	return count;
}

static int sqlite_subscribe(struct sqlite_store *store, int64_t account_id, const char *name,
			    bool subscribed)
{
	sqlite3_stmt *stmt = sqlite_stmt(store, subscribed ? SQL_SUBSCRIPTION_ADD
					 : SQL_SUBSCRIPTION_REMOVE);

	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, account_id);
	sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
	sqlite_note_event(store, STORE_EVENT_SUBSCRIPTIONS, account_id, 0);
	return sqlite_exec(store, stmt, "subscription");
}

/* Inside a write transaction: create and subscribe the missing defaults. */
static int sqlite_create_defaults(struct sqlite_store *store, int64_t account_id)
{
	bool missing[SQLITE_DEFAULT_COUNT];
	int64_t id;
	int rc = sqlite_defaults_missing(store, account_id, missing);

	for (size_t i = 0; rc >= 0 && i < SQLITE_DEFAULT_COUNT; i++) {
		if (!missing[i])
			continue;
		rc = sqlite_mailbox_insert(store, account_id, sqlite_default_mailboxes[i].name,
					   sqlite_default_mailboxes[i].special_use, &id);
		if (rc >= 0)
			rc = sqlite_subscribe(store, account_id, sqlite_default_mailboxes[i].name,
					      true);
	}
	return rc < 0 ? rc : STORE_OK;
}

int sqlite_store_account_create(struct store *base, const char *address, const char *password_hash,
				int64_t *id_r, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	char *lower = str_lower(mem_strdup(address));
	sqlite3_stmt *stmt;
	int rc, step;

	if ((rc = sqlite_begin_write(store)) < 0)
		goto out;
	if ((stmt = sqlite_stmt(store, SQL_ACCOUNT_INSERT)) == NULL) {
		rc = sqlite_finish(store, STORE_EFAIL);
		goto out;
	}
	sqlite3_bind_text(stmt, 1, lower, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, password_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, sqlite_now());
	step = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (step == SQLITE_CONSTRAINT)
		rc = sqlite_fail(store, STORE_EEXISTS, "account %s exists", lower);
	else if (step != SQLITE_DONE)
		rc = sqlite_fail_db(store, "create account");
	else {
		*id_r = sqlite3_last_insert_rowid(store->db);
		rc = sqlite_create_defaults(store, *id_r);
	}
	rc = sqlite_finish(store, rc);
out:
	free(lower);
	return sqlite_result(store, rc, error_r);
}

/* Fill an account from a row of id, address, password_hash, scram. */
static void sqlite_account_read(sqlite3_stmt *stmt, struct arena *arena,
				struct store_account *account)
{
	account->id = sqlite3_column_int64(stmt, 0);
	account->address = sqlite_column_strdup(arena, stmt, 1);
	account->password_hash = sqlite_column_strdup(arena, stmt, 2);
	account->scram = sqlite_column_strdup(arena, stmt, 3);
}

int sqlite_store_account_find(struct store *base, const char *address, struct arena *arena,
			      struct store_account *account_r, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	char *lower = str_lower(mem_strdup(address));
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_ACCOUNT_FIND);
	int rc = STORE_EFAIL, step;

	if (stmt != NULL) {
		sqlite3_bind_text(stmt, 1, lower, -1, SQLITE_STATIC);
		step = sqlite3_step(stmt);
		if (step == SQLITE_ROW) {
			sqlite_account_read(stmt, arena, account_r);
			rc = STORE_OK;
		} else if (step == SQLITE_DONE) {
			rc = sqlite_fail(store, STORE_ENOTFOUND, "no account %s", lower);
		} else {
			rc = sqlite_fail_db(store, "find account");
		}
		sqlite3_reset(stmt);
	}
	free(lower);
	return sqlite_result(store, rc, error_r);
}

int sqlite_store_account_set_password(struct store *base, const char *address,
				      const char *password_hash, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	char *lower = str_lower(mem_strdup(address));
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_ACCOUNT_SET_PASSWORD);
	int rc = STORE_EFAIL;

	if (stmt != NULL) {
		sqlite3_bind_text(stmt, 1, lower, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, password_hash, -1, SQLITE_STATIC);
		rc = sqlite_exec(store, stmt, "set password");
		if (rc == STORE_OK && sqlite3_changes(store->db) == 0)
			rc = sqlite_fail(store, STORE_ENOTFOUND, "no account %s", lower);
	}
	free(lower);
	return sqlite_result(store, rc, error_r);
}

int sqlite_store_account_set_scram(struct store *base, const char *address, const char *scram,
				   const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	char *lower = str_lower(mem_strdup(address));
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_ACCOUNT_SET_SCRAM);
	int rc = STORE_EFAIL;

	if (stmt != NULL) {
		sqlite3_bind_text(stmt, 1, lower, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, scram, -1, SQLITE_STATIC);
		rc = sqlite_exec(store, stmt, "set SCRAM keys");
		if (rc == STORE_OK && sqlite3_changes(store->db) == 0)
			rc = sqlite_fail(store, STORE_ENOTFOUND, "no account %s", lower);
	}
	free(lower);
	return sqlite_result(store, rc, error_r);
}

int sqlite_store_account_delete(struct store *base, const char *address, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	struct arena *arena = arena_new();
	struct store_account account;
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = sqlite_begin_write(store)) < 0)
		goto out;
	rc = sqlite_store_account_find(&store->base, address, arena, &account, NULL);
	if (rc == STORE_OK) {
		if ((stmt = sqlite_stmt(store, SQL_ACCOUNT_REOWN_BLOBS)) == NULL)
			rc = STORE_EFAIL;
		else {
			sqlite3_bind_int64(stmt, 1, account.id);
			rc = sqlite_exec(store, stmt, "keep shared messages");
		}
	}
	if (rc == STORE_OK) {
		if ((stmt = sqlite_stmt(store, SQL_ACL_FORGET)) == NULL)
			rc = STORE_EFAIL;
		else {
			sqlite3_bind_text(stmt, 1, account.address, -1, SQLITE_STATIC);
			rc = sqlite_exec(store, stmt, "forget rights");
		}
	}
	if (rc == STORE_OK) {
		if ((stmt = sqlite_stmt(store, SQL_ACCOUNT_DELETE)) == NULL)
			rc = STORE_EFAIL;
		else {
			sqlite3_bind_int64(stmt, 1, account.id);
			rc = sqlite_exec(store, stmt, "delete account");
		}
	}
	rc = sqlite_finish(store, rc);
out:
	arena_free(arena);
	return sqlite_result(store, rc, error_r);
}

int sqlite_store_account_list(struct store *base, struct arena *arena,
			      struct store_account **list_r, size_t *count_r, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	ARRAY(struct store_account) list = ARRAY_INIT;
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_ACCOUNT_LIST);
	int rc = STORE_EFAIL, step;

	if (stmt != NULL) {
		struct store_account account;

		while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
			sqlite_account_read(stmt, arena, &account);
			array_push(&list, account);
		}
		sqlite3_reset(stmt);
		rc = step == SQLITE_DONE ? STORE_OK : sqlite_fail_db(store, "list accounts");
	}
	*list_r = sqlite_arena_copy(arena, list.items, list.count * sizeof(*list.items));
	*count_r = list.count;
	array_free(&list);
	return sqlite_result(store, rc, error_r);
}

int sqlite_store_account_ensure_defaults(struct store *base, int64_t account_id,
					 const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	bool missing[SQLITE_DEFAULT_COUNT];
	int rc = sqlite_defaults_missing(store, account_id, missing);

	/* The common case, at every login: nothing to do, no write lock. */
	if (rc == 0)
		return STORE_OK;
	if (rc > 0 && (rc = sqlite_begin_write(store)) == STORE_OK)
		rc = sqlite_finish(store, sqlite_create_defaults(store, account_id));
	return sqlite_result(store, rc, error_r);
}

int sqlite_store_subscription_set(struct store *base, int64_t account_id, const char *name,
				  bool subscribed, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	/* A transaction of its own (not autocommit), so the event is logged
	 * and published like every other change (rule 4). */
	int rc = sqlite_begin_write(store);

	if (rc == STORE_OK)
		rc = sqlite_finish(store, sqlite_subscribe(store, account_id, name, subscribed));
	return sqlite_result(store, rc, error_r);
}

int sqlite_store_subscription_list(struct store *base, int64_t account_id, struct arena *arena,
				   char ***names_r, size_t *count_r, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	ARRAY(char *) names = ARRAY_INIT;
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_SUBSCRIPTION_LIST);
	int rc = STORE_EFAIL, step;

	if (stmt != NULL) {
		sqlite3_bind_int64(stmt, 1, account_id);
		while ((step = sqlite3_step(stmt)) == SQLITE_ROW)
			array_push(&names, sqlite_column_strdup(arena, stmt, 0));
		sqlite3_reset(stmt);
		rc = step == SQLITE_DONE ? STORE_OK : sqlite_fail_db(store, "list subscriptions");
	}
	*names_r = sqlite_arena_copy(arena, names.items, names.count * sizeof(*names.items));
	*count_r = names.count;
	array_free(&names);
	return sqlite_result(store, rc, error_r);
}
