/*
 * pg-private: what the files of the PostgreSQL back end share, and nothing
 * above store/ sees. The back end implements store.h behind the ops table
 * of store-backend.h (pg_store_ops, pg-open.c): store_X of store.h is
 * pg_store_X here, on a struct pg_store (one libpq connection, owned by one
 * thread like every struct store).
 *
 * Files: pg-open.c (connection, schema steps, `db migrate`, errors, the
 * ops table), pg-sql.c (every statement's text), pg-txn.c (transactions,
 * MODSEQ and UID counters, publishing after COMMIT), pg-account.c (accounts,
 * default folders, subscriptions), pg-mailbox.c, pg-message.c (append,
 * list, changes, get, iterate), pg-blob.c (the message bytes: the blob
 * interface), pg-change.c (flags, expunge, remove, copy/move), pg-deliver.c
 * (local delivery, group commit), pg-search.c (full text).
 *
 * ---- for the other half of issue 8 (branch pg-more) ----------------------
 * These files are yours and start as stubs that fail with
 * "not supported by the postgres store yet" (pg_unsupported): replace their
 * bodies, keep the names the ops table uses (pg_store_X for store_X):
 *   pg-acl.c          store_acl_list, store_acl_set, store_acl_shared_with,
 *                     store_seen_list, store_seen_set, store_account_system
 *   pg-quota.c        store_quota_set_default, store_quota_get,
 *                     store_quota_set (the account columns quota_storage,
 *                     quota_messages, used_bytes, used_messages exist in
 *                     schema step 1 and the usage is kept by the
 *                     message_added/message_removed triggers; pg_quota_read
 *                     below is what the writers call and is already real)
 *   pg-metadata.c     store_metadata_get, store_metadata_set
 *   pg-app-password.c store_app_password_add/delete/list/touch
 *   pg-feed.c         pg_feed_start (store_feed_start) and pg_feed_notify,
 *                     which pg_commit calls inside every write transaction
 *                     just before COMMIT with store->touched filled in (the
 *                     events to NOTIFY; stamp them with
 *                     store_bus_origin(store->bus) so a node skips its own)
 * Schema: append steps to pg_migrations[] in pg-open.c (next number), every
 * table keyed by account_id first. Run statements with pg_exec (pg-sql.c
 * holds the text by enum pg_sql; pg_exec_text runs one-off SQL).
 * ------------------------------------------------------------------------
 *
 * Ids: a mailbox id and a blob id carry their account in the high 32 bits
 * (pg_id_account): store.h names mailboxes and blobs by id alone, and this
 * lets every query still name the account first, so each is served by one
 * shard when the tables are distributed by account_id (Citus).
 */
#ifndef BUZON_STORE_PG_PRIVATE_H
#define BUZON_STORE_PG_PRIVATE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/array.h"
#include "store/keyword-list.h"
#include "store/store-backend.h"

/* Every statement the back end runs: prepared once per connection on first
 * use (PQprepare), so no SQL is parsed on hot paths. Text in pg-sql.c. */
enum pg_sql {
	PG_BEGIN_WRITE,
	PG_BEGIN_READ,
	PG_COMMIT,
	PG_ROLLBACK,
	PG_SAVEPOINT,
	PG_SAVEPOINT_RELEASE,
	PG_SAVEPOINT_ROLLBACK,

	PG_ACCOUNT_INSERT,
	PG_ACCOUNT_FIND,
	PG_ACCOUNT_LIST,
	PG_ACCOUNT_SET_PASSWORD,
	PG_ACCOUNT_SET_SCRAM,
	PG_ACCOUNT_DELETE_MESSAGES,
	PG_ACCOUNT_DELETE,
	PG_ACCOUNT_NEXT_MAILBOX,
	PG_ACCOUNT_NEXT_BLOBS,
	PG_QUOTA_READ,

	PG_MAILBOX_INSERT,
	PG_MAILBOX_LIST,
	PG_MAILBOX_FIND,
	PG_MAILBOX_GET,
	PG_MAILBOX_DELETE_MESSAGES,
	PG_MAILBOX_DELETE,
	PG_MAILBOX_RENAME_CONFLICTS,
	PG_MAILBOX_RENAME,
	PG_MAILBOX_TOUCH,
	PG_MAILBOX_RESERVE_UIDS,
	PG_MAILBOX_STATUS,

	PG_SUBSCRIPTION_ADD,
	PG_SUBSCRIPTION_REMOVE,
	PG_SUBSCRIPTION_LIST,
	PG_SUBSCRIPTION_RENAME_DROP,
	PG_SUBSCRIPTION_RENAME,

	PG_BLOB_INSERT,
	PG_BLOB_COPY,
	PG_BLOB_DATA_INSERT,
	PG_BLOB_DATA_COPY,
	PG_BLOB_DATA_READ,
	PG_BLOB_TEXT_INSERT,
	PG_BLOB_TEXT_COPY,

	PG_MESSAGE_INSERT,
	PG_MESSAGE_LIST,
	PG_MESSAGE_CHANGED,
	PG_EXPUNGED_SINCE,
	PG_MESSAGE_STATE_RANGE,
	PG_MESSAGE_STATE_SET,
	PG_MESSAGE_SET_FLAGS,
	PG_MESSAGE_DELETED_ALL,
	PG_MESSAGE_DELETE,
	PG_EXPUNGED_INSERT,
	PG_MESSAGE_SOURCE,
	PG_MESSAGE_COPY,
	PG_MESSAGE_GET,
	PG_MESSAGE_ITERATE,
	PG_SEARCH_BODY,
	PG_SEARCH_TEXT,

	PG_SQL_COUNT
};

extern const char *const pg_sql_text[PG_SQL_COUNT];

/* Room for one error message; longer ones are cut (they are for logs). */
#define PG_ERROR_MAX 512
/* The most parameters one statement takes (PG_BLOB_INSERT). */
#define PG_PARAMS_MAX 24

/* An event of the open write transaction (as sqlite_touched): published on
 * the bus after COMMIT, and what pg_feed_notify sends to other nodes. */
struct pg_touched {
	int64_t account_id;
	int64_t mailbox_id;
	uint64_t modseq;
	enum store_event_kind kind;
};

/* A handle: struct store first, so the two convert by a cast. */
struct pg_store {
	struct store base; /* ops = &pg_store_ops */
	PGconn *conn;
	struct store_bus *bus; /* may be NULL */
	bool prepared[PG_SQL_COUNT];
	bool in_transaction;
	ARRAY(struct pg_touched) touched; /* of the open write transaction */
	int64_t default_quota_kib;        /* store_quota_set_default */
	int64_t default_quota_messages;
	char error[PG_ERROR_MAX];         /* what *error_r points to */
};

/* The parameters of one statement, as text (numbers are formatted here;
 * strings are borrowed, or copied when they had to be made valid UTF-8)
 * or binary (bytea). */
struct pg_params {
	int count;
	const char *values[PG_PARAMS_MAX];
	int lengths[PG_PARAMS_MAX];
	int formats[PG_PARAMS_MAX];
	char numbers[PG_PARAMS_MAX][24];
	char *owned[PG_PARAMS_MAX];
};

static inline struct pg_store *pg_store_of(struct store *base)
{
	return (struct pg_store *)base;
}

/* The account a mailbox or blob id belongs to, and an id from its parts. */
static inline int64_t pg_id_account(int64_t id)
{
	return id >> 32;
}

static inline int64_t pg_id_make(int64_t account_id, int64_t n)
{
	return (account_id << 32) | (n & 0xFFFFFFFF);
}

extern const struct store_ops pg_store_ops;

/* ---- pg-open.c ---- */

/* Record an error message in store->error; returns code. */
int pg_fail(struct pg_store *store, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Every public function ends with this (sqlite_result's twin). */
int pg_result(struct pg_store *store, int rc, const char **error_r);
int64_t pg_now(void);
/* Parameters, in order ($1, $2, ...). */
void pg_params_init(struct pg_params *p);
void pg_param_int(struct pg_params *p, int64_t value);
void pg_param_str(struct pg_params *p, const char *s); /* NULL: SQL NULL */
void pg_param_bytes(struct pg_params *p, const void *data, size_t size);
/* Run statement id with p (may be NULL): STORE_OK, STORE_EEXISTS for a
 * unique violation, else STORE_EFAIL with the error set ("what: ...").
 * With res_r the result (rows) is handed over (PQclear it), else cleared.
 * binary asks for binary result columns (bytea). p's copies are freed. */
int pg_exec(struct pg_store *store, enum pg_sql id, struct pg_params *p, const char *what,
	    PGresult **res_r);
int pg_exec_binary(struct pg_store *store, enum pg_sql id, struct pg_params *p,
		   const char *what, PGresult **res_r);
/* One-off SQL with no parameters (schema steps, SET). */
int pg_exec_text(struct pg_store *store, const char *sql, const char *what);
/* Column values of a result row. */
int64_t pg_int(const PGresult *res, int row, int col);
bool pg_is_null(const PGresult *res, int row, int col);
/* A column as an arena string, NULL for SQL NULL. */
char *pg_strdup(struct arena *arena, const PGresult *res, int row, int col);
/* n bytes of p copied into arena (an array handed back to the caller). */
void *pg_arena_copy(struct arena *arena, const void *p, size_t n);

/* ---- pg-txn.c ---- */

int pg_begin_write(struct pg_store *store);
/* REPEATABLE READ, READ ONLY: every read of the transaction sees one
 * snapshot (store_message_changes, STATUS). */
int pg_begin_read(struct pg_store *store);
/* pg_feed_notify, COMMIT (durable: synchronous_commit is on), then publish
 * every event of the transaction on the bus. Rolls back on failure. */
int pg_commit(struct pg_store *store);
void pg_rollback(struct pg_store *store);
/* COMMIT when rc >= 0, else ROLLBACK; returns the outcome. */
int pg_finish(struct pg_store *store, int rc);
/* First change to a mailbox in this write transaction bumps its
 * HIGHESTMODSEQ (row lock on the mailbox until COMMIT); later ones reuse
 * the value (rule 3). */
int pg_mailbox_touch(struct pg_store *store, int64_t mailbox_id, uint64_t *modseq_r);
void pg_note_event(struct pg_store *store, enum store_event_kind kind, int64_t account_id,
		   int64_t mailbox_id);
/* Take count UIDs from UIDNEXT under the mailbox's row lock: two nodes
 * appending at once get disjoint, ascending ranges. */
int pg_mailbox_reserve_uids(struct pg_store *store, int64_t mailbox_id, size_t count,
			    uint32_t *first_r, uint32_t *uidvalidity_r);

/* ---- pg-mailbox.c ---- */

int pg_mailbox_insert(struct pg_store *store, int64_t account_id, const char *name,
		      unsigned special_use, int64_t *id_r);
/* uidvalidity and uidnext of a mailbox by id; ENOTFOUND when gone. */
int pg_mailbox_get(struct pg_store *store, int64_t mailbox_id, uint32_t *uidvalidity_r,
		   uint32_t *uidnext_r, uint64_t *highestmodseq_r);

/* ---- pg-blob.c: the message bytes and what was parsed from them ---- */

struct mime_message;
/* Inside a write transaction: a new blob of account_id with the parse
 * results p, the bytes of m and the full-text row; *blob_id_r its id. */
int pg_blob_store(struct pg_store *store, int64_t account_id, const struct store_new_message *m,
		  const struct mime_message *p, const char *parts, int64_t *blob_id_r);
/* Inside a write transaction: the same blob again under another account
 * (a copy into a mailbox shared by another account): each account's rows
 * stay in its own shard. */
int pg_blob_copy(struct pg_store *store, int64_t blob_id, int64_t account_id,
		 int64_t *blob_id_r);

/* ---- pg-message.c ---- */

int pg_insert_message(struct pg_store *store, int64_t mailbox_id, uint32_t uid,
		      uint64_t modseq, int64_t blob_id, const struct store_new_message *m,
		      struct arena *arena);

/* ---- pg-change.c ---- */

typedef ARRAY(struct store_message_state) pg_state_array;
/* The messages that exist among sorted, duplicate-free uids, ascending. */
int pg_states_of(struct pg_store *store, int64_t mailbox_id, const uint32_t *uids,
		 size_t count, struct arena *arena, pg_state_array *states);
int pg_expunge_uids(struct pg_store *store, int64_t mailbox_id, const uint32_t *uids,
		    size_t count);
int pg_expunge_existing(struct pg_store *store, int64_t mailbox_id, uint32_t uid);
int pg_copy_uids(struct pg_store *store, int64_t mailbox_id, const uint32_t *uids,
		 size_t count, int64_t dest_mailbox_id, uint32_t *dest_uids_r,
		 uint32_t *dest_uidvalidity_r);
uint32_t *pg_uids_sorted(const uint32_t *uids, size_t count, size_t *count_r);

/* ---- pg-quota.c ---- */

/* An account's usage and limits in force, in the caller's transaction. */
int pg_quota_read(struct pg_store *store, int64_t account_id, struct store_quota *quota_r);
/* EOVERQUOTA when a resource grew since *before and is now over a limit. */
int pg_quota_check_growth(struct pg_store *store, int64_t account_id,
			  const struct store_quota *before);

/* ---- pg-feed.c ---- */

/* Inside the write transaction, just before COMMIT: tell other nodes what
 * store->touched holds (LISTEN/NOTIFY). */
int pg_feed_notify(struct pg_store *store);

/* ---- the stubs of what is not built yet ---- */

/* STORE_EINVALID with "<what>: not supported by the postgres store yet". */
int pg_unsupported(struct store *base, const char *what, const char **error_r);

/* ---- every store.h call, as this back end does it ---- */
int pg_store_account_create(struct store *store, const char *address, const char *password_hash,
			    int64_t *id_r, const char **error_r);
int pg_store_account_find(struct store *store, const char *address, struct arena *arena,
			  struct store_account *account_r, const char **error_r);
int pg_store_account_set_password(struct store *store, const char *address,
				  const char *password_hash, const char **error_r);
int pg_store_account_set_scram(struct store *store, const char *address, const char *scram,
			       const char **error_r);
int pg_store_app_password_add(struct store *store, int64_t account_id, const char *name,
			      const char *hash, const char **error_r);
int pg_store_app_password_delete(struct store *store, int64_t account_id, const char *name,
				 const char **error_r);
int pg_store_app_password_list(struct store *store, int64_t account_id, struct arena *arena,
			       struct store_app_password **list_r, size_t *count_r,
			       const char **error_r);
int pg_store_app_password_touch(struct store *store, int64_t id, int64_t when,
				const char **error_r);
int pg_store_account_delete(struct store *store, const char *address, const char **error_r);
int pg_store_account_list(struct store *store, struct arena *arena, struct store_account **list_r,
			  size_t *count_r, const char **error_r);
int pg_store_account_ensure_defaults(struct store *store, int64_t account_id, const char **error_r);
void pg_store_quota_set_default(struct store *store, int64_t storage_kib, int64_t messages);
int pg_store_quota_get(struct store *store, int64_t account_id, struct store_quota *quota_r,
		       const char **error_r);
int pg_store_quota_set(struct store *store, int64_t account_id, int64_t storage_kib,
		       int64_t messages, const char **error_r);
int pg_store_mailbox_list(struct store *store, int64_t account_id, struct arena *arena,
			  struct store_mailbox **list_r, size_t *count_r, const char **error_r);
int pg_store_mailbox_find(struct store *store, int64_t account_id, const char *name,
			  struct arena *arena, struct store_mailbox *mailbox_r,
			  const char **error_r);
int pg_store_mailbox_create(struct store *store, int64_t account_id, const char *name,
			    unsigned special_use, const char **error_r);
int pg_store_mailbox_delete(struct store *store, int64_t account_id, const char *name,
			    const char **error_r);
int pg_store_mailbox_rename(struct store *store, int64_t account_id, const char *old_name,
			    const char *new_name, const char **error_r);
int pg_store_mailbox_status(struct store *store, int64_t mailbox_id,
			    struct store_mailbox_status *status_r, const char **error_r);
int pg_store_subscription_set(struct store *store, int64_t account_id, const char *name,
			      bool subscribed, const char **error_r);
int pg_store_subscription_list(struct store *store, int64_t account_id, struct arena *arena,
			       char ***names_r, size_t *count_r, const char **error_r);
int pg_store_message_append(struct store *store, int64_t mailbox_id,
			    const struct store_new_message *messages, size_t count,
			    uint32_t *uids_r, uint32_t *uidvalidity_r, const char **error_r);
int pg_store_message_replace(struct store *store, int64_t mailbox_id,
			     const struct store_new_message *message, int64_t old_mailbox_id,
			     uint32_t old_uid, uint32_t *uid_r, uint32_t *uidvalidity_r,
			     const char **error_r);
int pg_store_message_list(struct store *store, int64_t mailbox_id, uint32_t min_uid,
			  struct arena *arena, struct store_message_state **list_r, size_t *count_r,
			  uint64_t *highestmodseq_r, const char **error_r);
int pg_store_message_changes(struct store *store, int64_t mailbox_id, uint64_t since_modseq,
			     struct arena *arena, struct store_changes *changes_r,
			     const char **error_r);
int pg_store_message_set_flags(struct store *store, int64_t mailbox_id, const uint32_t *uids,
			       size_t count, enum store_flags_op op, unsigned flags,
			       const char *keywords, uint64_t unchanged_since, struct arena *arena,
			       struct store_message_state **result_r, size_t *result_count_r,
			       uint32_t **failed_r, size_t *failed_count_r, const char **error_r);
int pg_store_message_expunge(struct store *store, int64_t mailbox_id, const uint32_t *uids,
			     size_t count, struct arena *arena, uint32_t **expunged_r,
			     size_t *expunged_count_r, const char **error_r);
int pg_store_message_remove(struct store *store, int64_t mailbox_id, const uint32_t *uids,
			    size_t count, struct arena *arena, uint32_t **removed_r,
			    size_t *removed_count_r, const char **error_r);
int pg_store_message_copy(struct store *store, int64_t mailbox_id, const uint32_t *uids,
			  size_t count, int64_t dest_mailbox_id, bool move, struct arena *arena,
			  uint32_t **source_uids_r, uint32_t **dest_uids_r, size_t *count_r,
			  uint32_t *dest_uidvalidity_r, const char **error_r);
int pg_store_message_get(struct store *store, int64_t mailbox_id, uint32_t uid, unsigned what,
			 struct arena *arena, struct store_message_info *info_r,
			 const char **error_r);
int pg_store_message_iterate(struct store *store, int64_t mailbox_id, store_message_fn *fn,
			     void *context, const char **error_r);
int pg_store_blob_read(struct store *store, int64_t blob_id, size_t offset, size_t length,
		       struct arena *arena, const char **data_r, size_t *length_r,
		       const char **error_r);
int pg_store_message_deliver(struct store *store, const int64_t *account_ids, size_t count,
			     const char *data, size_t size, int64_t internal_date, uint32_t *uids_r,
			     const char **error_r);
int pg_store_group_begin(struct store *store, const char **error_r);
int pg_store_group_commit(struct store *store, const char **error_r);
void pg_store_group_rollback(struct store *store);
int pg_store_message_deliver_batch(struct store *store, struct store_delivery *deliveries,
				   size_t count, const char **error_r);
int pg_store_search_text(struct store *store, int64_t mailbox_id, const char *needle,
			 bool include_headers, struct arena *arena, uint32_t **uids_r,
			 size_t *count_r, const char **error_r);
int pg_store_acl_list(struct store *store, int64_t mailbox_id, struct arena *arena,
		      struct store_acl_entry **entries_r, size_t *count_r, const char **error_r);
int pg_store_acl_set(struct store *store, int64_t mailbox_id, const char *identifier,
		     const char *rights, const char **error_r);
int pg_store_acl_shared_with(struct store *store, int64_t account_id, const char *address,
			     struct arena *arena, struct store_shared_mailbox **list_r,
			     size_t *count_r, const char **error_r);
int pg_store_seen_list(struct store *store, int64_t account_id, int64_t mailbox_id,
		       struct arena *arena, uint32_t **uids_r, size_t *count_r,
		       const char **error_r);
int pg_store_seen_set(struct store *store, int64_t account_id, int64_t mailbox_id,
		      const uint32_t *uids, size_t count, bool seen, struct arena *arena,
		      struct store_message_state **result_r, size_t *result_count_r,
		      const char **error_r);
int pg_store_account_system(struct store *store, const char *address, bool create, int64_t *id_r,
			    const char **error_r);
int pg_store_metadata_get(struct store *store, int64_t mailbox_id, int64_t account_id,
			  const char *entry, struct arena *arena, struct store_metadata **list_r,
			  size_t *count_r, const char **error_r);
int pg_store_metadata_set(struct store *store, const struct store_metadata *changes, size_t count,
			  size_t max_entries, const char **error_r);

#endif
