/*
 * sqlite-private: what the files of the SQLite back end share, and nothing
 * above store/ sees. The back end implements store.h behind the ops table
 * of store-backend.h (sqlite_store_ops, sqlite-open.c): store_X of store.h
 * is sqlite_store_X here, and its handle is a struct sqlite_store. The SQL
 * text lives apart from the logic (sqlite-sql.c, sqlite-open.c for the
 * schema).
 *
 * Files: sqlite-open.c (file, pragmas, schema, statement cache, errors),
 * sqlite-txn.c (transactions, modseq bumps, publishing after commit),
 * sqlite-account.c, sqlite-mailbox.c, sqlite-message.c (append, read),
 * sqlite-change.c (flags, expunge, copy/move), sqlite-search.c,
 * (keyword list arithmetic is store/keyword-list.c), sqlite-feed.c (changes of
 * other processes, from the change log, onto the bus), sqlite-quota.c (RFC
 * 9208 usage and limits), sqlite-acl.c (RFC 4314 entries, per-user \Seen),
 * sqlite-metadata.c (RFC 5464 annotations).
 *
 * Threads: a struct sqlite_store belongs to one thread (store.h); nothing here is
 * shared except the bus, which has its own lock.
 */
#ifndef BUZON_STORE_SQLITE_PRIVATE_H
#define BUZON_STORE_SQLITE_PRIVATE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/array.h"
#include "store/keyword-list.h"
#include "store/store-backend.h"

/* Every statement the back end runs, prepared once per store on first use
 * and kept (SQLITE_PREPARE_PERSISTENT): no SQL is compiled on hot paths. */
enum sqlite_sql {
	SQL_BEGIN_READ,
	SQL_BEGIN_WRITE,
	SQL_COMMIT,
	SQL_ROLLBACK,
	SQL_SAVEPOINT,
	SQL_SAVEPOINT_RELEASE,
	SQL_SAVEPOINT_ROLLBACK,
	SQL_JOB_SAVEPOINT,
	SQL_JOB_RELEASE,
	SQL_JOB_ROLLBACK,

	SQL_ACCOUNT_INSERT,
	SQL_ACCOUNT_FIND,
	SQL_ACCOUNT_LIST,
	SQL_ACCOUNT_SET_PASSWORD,
	SQL_ACCOUNT_SET_SCRAM,
	SQL_APP_PASSWORD_INSERT,
	SQL_APP_PASSWORD_DELETE,
	SQL_APP_PASSWORD_LIST,
	SQL_APP_PASSWORD_TOUCH,
	SQL_ACCOUNT_DELETE,
	SQL_ACCOUNT_NEXT_UIDVALIDITY,

	SQL_MAILBOX_INSERT,
	SQL_MAILBOX_LIST,
	SQL_MAILBOX_FIND,
	SQL_MAILBOX_GET,
	SQL_MAILBOX_DELETE,
	SQL_MAILBOX_RENAME_CONFLICTS,
	SQL_MAILBOX_RENAME,
	SQL_MAILBOX_TOUCH,
	SQL_MAILBOX_RESERVE_UIDS,
	SQL_MAILBOX_STATUS,

	SQL_SUBSCRIPTION_ADD,
	SQL_SUBSCRIPTION_REMOVE,
	SQL_SUBSCRIPTION_LIST,
	SQL_SUBSCRIPTION_RENAME,

	SQL_BLOB_INSERT,
	SQL_BLOB_DATA_INSERT,
	SQL_BLOB_TEXT_INSERT,
	SQL_MESSAGE_INSERT,
	SQL_MESSAGE_LIST,
	SQL_MESSAGE_CHANGED,
	SQL_EXPUNGED_SINCE,
	SQL_MESSAGE_STATE_ONE,
	SQL_MESSAGE_STATE_RANGE,
	SQL_MESSAGE_SET_FLAGS,
	SQL_MESSAGE_DELETED_ALL,
	SQL_MESSAGE_DELETE,
	SQL_EXPUNGED_INSERT,
	SQL_MESSAGE_COPY,
	SQL_MESSAGE_GET,
	SQL_MESSAGE_ITERATE,
	SQL_SEARCH_INDEX,
	SQL_SEARCH_SCAN,
	SQL_ACCOUNT_REOWN_BLOBS,

	SQL_CHANGE_LOG_INSERT,
	SQL_CHANGE_LOG_PRUNE,
	SQL_CHANGE_LOG_LAST,
	SQL_CHANGE_LOG_SINCE,
	SQL_MAILBOX_ALL,

	SQL_QUOTA_GET,
	SQL_QUOTA_SET,

	SQL_ACL_LIST,
	SQL_ACL_SET,
	SQL_ACL_DELETE,
	SQL_ACL_SHARED_WITH,
	SQL_ACL_FORGET,
	SQL_SEEN_LIST,
	SQL_SEEN_ADD,
	SQL_SEEN_REMOVE,
	SQL_MESSAGE_SET_MODSEQ,

	SQL_METADATA_GET,
	SQL_METADATA_SET,
	SQL_METADATA_DELETE,
	SQL_METADATA_COUNT,

	SQL_COUNT
};

extern const char *const sqlite_sql_text[SQL_COUNT];

/* Room for one error message; longer ones are cut (they are for logs). */
#define SQLITE_ERROR_MAX 512

/* Savepoints one job of a group may nest (a store call inside a store
 * call); the calls nest two deep today. */
#define SQLITE_GROUP_DEPTH_MAX 8

/* An event of the current write transaction: a mailbox whose messages
 * changed (kind STORE_EVENT_MESSAGES, with its new modseq), or a mailbox
 * created, deleted or renamed, or the subscriptions of an account. Written
 * to the change log before COMMIT, published on the bus after it. */
struct sqlite_touched {
	int64_t account_id;
	int64_t mailbox_id;
	uint64_t modseq;
	enum store_event_kind kind;
};

/* A handle: struct store first, so the two convert by a cast. */
struct sqlite_store {
	struct store base;     /* ops = &sqlite_store_ops */
	sqlite3 *db;
	struct store_bus *bus; /* may be NULL */
	sqlite3_stmt *stmts[SQL_COUNT];
	ARRAY(struct sqlite_touched) touched; /* of the open write transaction */
	int64_t default_quota_kib;             /* store_quota_set_default */
	int64_t default_quota_messages;
	char error[SQLITE_ERROR_MAX];          /* what *error_r points to */
	/* Group commit (store_group_begin): one open write transaction in
	 * which every begin is a savepoint, every commit its release and
	 * every rollback undoes only it. marks[d] is touched.count when the
	 * savepoint at depth d opened (cut back to it on rollback); a job's
	 * first change to a mailbox bumps its modseq anew (job_mark: only
	 * touched entries from job_mark on are reused), so two STOREs never
	 * share a mod-sequence (RFC 7162 §3.1). */
	bool group;
	unsigned depth;
	size_t job_mark;
	size_t marks[SQLITE_GROUP_DEPTH_MAX];
};

/* The SQLite handle behind a store.h handle that sqlite_store_open made. */
static inline struct sqlite_store *sqlite_store_of(struct store *base)
{
	return (struct sqlite_store *)base;
}

/* The back end's implementation of every store.h call (store-backend.h),
 * in the files named above. */
extern const struct store_ops sqlite_store_ops;
int sqlite_store_account_create(struct store *store, const char *address, const char *password_hash,
				int64_t *id_r, const char **error_r);
int sqlite_store_account_find(struct store *store, const char *address, struct arena *arena,
			      struct store_account *account_r, const char **error_r);
int sqlite_store_account_set_password(struct store *store, const char *address,
				      const char *password_hash, const char **error_r);
int sqlite_store_account_set_scram(struct store *store, const char *address, const char *scram,
				   const char **error_r);
int sqlite_store_app_password_add(struct store *store, int64_t account_id, const char *name,
				  const char *hash, const char **error_r);
int sqlite_store_app_password_delete(struct store *store, int64_t account_id, const char *name,
				     const char **error_r);
int sqlite_store_app_password_list(struct store *store, int64_t account_id, struct arena *arena,
				   struct store_app_password **list_r, size_t *count_r,
				   const char **error_r);
int sqlite_store_app_password_touch(struct store *store, int64_t id, int64_t when,
				    const char **error_r);
int sqlite_store_account_delete(struct store *store, const char *address, const char **error_r);
int sqlite_store_account_list(struct store *store, struct arena *arena,
			      struct store_account **list_r, size_t *count_r, const char **error_r);
int sqlite_store_account_ensure_defaults(struct store *store, int64_t account_id,
					 const char **error_r);
void sqlite_store_quota_set_default(struct store *store, int64_t storage_kib, int64_t messages);
int sqlite_store_quota_get(struct store *store, int64_t account_id, struct store_quota *quota_r,
			   const char **error_r);
int sqlite_store_quota_set(struct store *store, int64_t account_id, int64_t storage_kib,
			   int64_t messages, const char **error_r);
int sqlite_store_mailbox_list(struct store *store, int64_t account_id, struct arena *arena,
			      struct store_mailbox **list_r, size_t *count_r, const char **error_r);
int sqlite_store_mailbox_find(struct store *store, int64_t account_id, const char *name,
			      struct arena *arena, struct store_mailbox *mailbox_r,
			      const char **error_r);
int sqlite_store_mailbox_create(struct store *store, int64_t account_id, const char *name,
				unsigned special_use, const char **error_r);
int sqlite_store_mailbox_delete(struct store *store, int64_t account_id, const char *name,
				const char **error_r);
int sqlite_store_mailbox_rename(struct store *store, int64_t account_id, const char *old_name,
				const char *new_name, const char **error_r);
int sqlite_store_mailbox_status(struct store *store, int64_t mailbox_id,
				struct store_mailbox_status *status_r, const char **error_r);
int sqlite_store_subscription_set(struct store *store, int64_t account_id, const char *name,
				  bool subscribed, const char **error_r);
int sqlite_store_subscription_list(struct store *store, int64_t account_id, struct arena *arena,
				   char ***names_r, size_t *count_r, const char **error_r);
int sqlite_store_message_append(struct store *store, int64_t mailbox_id,
				const struct store_new_message *messages, size_t count,
				uint32_t *uids_r, uint32_t *uidvalidity_r, const char **error_r);
int sqlite_store_message_replace(struct store *store, int64_t mailbox_id,
				 const struct store_new_message *message, int64_t old_mailbox_id,
				 uint32_t old_uid, uint32_t *uid_r, uint32_t *uidvalidity_r,
				 const char **error_r);
int sqlite_store_message_list(struct store *store, int64_t mailbox_id, uint32_t min_uid,
			      struct arena *arena, struct store_message_state **list_r,
			      size_t *count_r, uint64_t *highestmodseq_r, const char **error_r);
int sqlite_store_message_changes(struct store *store, int64_t mailbox_id, uint64_t since_modseq,
				 struct arena *arena, struct store_changes *changes_r,
				 const char **error_r);
int sqlite_store_message_set_flags(struct store *store, int64_t mailbox_id, const uint32_t *uids,
				   size_t count, enum store_flags_op op, unsigned flags,
				   const char *keywords, uint64_t unchanged_since,
				   struct arena *arena, struct store_message_state **result_r,
				   size_t *result_count_r, uint32_t **failed_r,
				   size_t *failed_count_r, const char **error_r);
int sqlite_store_message_expunge(struct store *store, int64_t mailbox_id, const uint32_t *uids,
				 size_t count, struct arena *arena, uint32_t **expunged_r,
				 size_t *expunged_count_r, const char **error_r);
int sqlite_store_message_remove(struct store *store, int64_t mailbox_id, const uint32_t *uids,
				size_t count, struct arena *arena, uint32_t **removed_r,
				size_t *removed_count_r, const char **error_r);
int sqlite_store_message_copy(struct store *store, int64_t mailbox_id, const uint32_t *uids,
			      size_t count, int64_t dest_mailbox_id, bool move, struct arena *arena,
			      uint32_t **source_uids_r, uint32_t **dest_uids_r, size_t *count_r,
			      uint32_t *dest_uidvalidity_r, const char **error_r);
int sqlite_store_message_get(struct store *store, int64_t mailbox_id, uint32_t uid, unsigned what,
			     struct arena *arena, struct store_message_info *info_r,
			     const char **error_r);
int sqlite_store_message_iterate(struct store *store, int64_t mailbox_id, store_message_fn *fn,
				 void *context, const char **error_r);
int sqlite_store_blob_read(struct store *store, int64_t blob_id, size_t offset, size_t length,
			   struct arena *arena, const char **data_r, size_t *length_r,
			   const char **error_r);
int sqlite_store_message_deliver(struct store *store, const int64_t *account_ids, size_t count,
				 const char *data, size_t size, int64_t internal_date,
				 uint32_t *uids_r, const char **error_r);
int sqlite_store_group_begin(struct store *store, const char **error_r);
int sqlite_store_group_commit(struct store *store, const char **error_r);
void sqlite_store_group_rollback(struct store *store);
int sqlite_store_message_deliver_batch(struct store *store, struct store_delivery *deliveries,
				       size_t count, const char **error_r);
int sqlite_store_search_text(struct store *store, int64_t mailbox_id, const char *needle,
			     bool include_headers, struct arena *arena, uint32_t **uids_r,
			     size_t *count_r, const char **error_r);
int sqlite_store_acl_list(struct store *store, int64_t mailbox_id, struct arena *arena,
			  struct store_acl_entry **entries_r, size_t *count_r,
			  const char **error_r);
int sqlite_store_acl_set(struct store *store, int64_t mailbox_id, const char *identifier,
			 const char *rights, const char **error_r);
int sqlite_store_acl_shared_with(struct store *store, int64_t account_id, const char *address,
				 struct arena *arena, struct store_shared_mailbox **list_r,
				 size_t *count_r, const char **error_r);
int sqlite_store_seen_list(struct store *store, int64_t account_id, int64_t mailbox_id,
			   struct arena *arena, uint32_t **uids_r, size_t *count_r,
			   const char **error_r);
int sqlite_store_seen_set(struct store *store, int64_t account_id, int64_t mailbox_id,
			  const uint32_t *uids, size_t count, bool seen, struct arena *arena,
			  struct store_message_state **result_r, size_t *result_count_r,
			  const char **error_r);
int sqlite_store_account_system(struct store *store, const char *address, bool create,
				int64_t *id_r, const char **error_r);
int sqlite_store_metadata_get(struct store *store, int64_t mailbox_id, int64_t account_id,
			      const char *entry, struct arena *arena,
			      struct store_metadata **list_r, size_t *count_r,
			      const char **error_r);
int sqlite_store_metadata_set(struct store *store, const struct store_metadata *changes,
			      size_t count, size_t max_entries, const char **error_r);

/* ---- sqlite-open.c ---- */

/* The cached statement id, reset and with no bindings; NULL (with the
 * error set) if it does not compile. Callers sqlite3_reset() it when done,
 * so no statement keeps a read snapshot open. */
sqlite3_stmt *sqlite_stmt(struct sqlite_store *store, enum sqlite_sql id);
/* Record an error message in store->error; returns code. */
int sqlite_fail(struct sqlite_store *store, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* STORE_EFAIL with "what: <SQLite's message>". */
int sqlite_fail_db(struct sqlite_store *store, const char *what);
/* Step a statement that returns no rows, then reset it. */
int sqlite_exec(struct sqlite_store *store, sqlite3_stmt *stmt, const char *what);
/* n bytes of p copied into arena (an array handed back to the caller). */
void *sqlite_arena_copy(struct arena *arena, const void *p, size_t n);
/* A column as an arena string, NULL for SQL NULL. */
char *sqlite_column_strdup(struct arena *arena, sqlite3_stmt *stmt, int col);
/* The current time in seconds; one place so tests could pin it. */
int64_t sqlite_now(void);
/* Every public function ends with this: points *error_r (if wanted) at the
 * store's message when rc < 0, and returns rc. */
int sqlite_result(struct sqlite_store *store, int rc, const char **error_r);

/* ---- sqlite-txn.c ---- */

/* BEGIN IMMEDIATE: take the write lock now (waiting up to the busy
 * timeout), so the transaction cannot fail later on a lock upgrade. */
int sqlite_begin_write(struct sqlite_store *store);
/* BEGIN: a read snapshot that starts at the first read. */
int sqlite_begin_read(struct sqlite_store *store);
/* COMMIT, then publish every mailbox the transaction touched (rule 4). */
int sqlite_commit(struct sqlite_store *store);
/* ROLLBACK; forgets touched mailboxes. Safe to call after any failure. */
void sqlite_rollback(struct sqlite_store *store);
/* End a write transaction: COMMIT when rc >= 0, else ROLLBACK; returns the
 * outcome. */
int sqlite_finish(struct sqlite_store *store, int rc);
/* First change to a mailbox in this write transaction bumps its
 * HIGHESTMODSEQ by one; later ones reuse the value (rule 3). */
int sqlite_mailbox_touch(struct sqlite_store *store, int64_t mailbox_id, uint64_t *modseq_r,
			 int64_t *account_id_r);
/* Note a mailbox-list or subscription event of this write transaction
 * (once per kind and mailbox). */
void sqlite_note_event(struct sqlite_store *store, enum store_event_kind kind, int64_t account_id,
		       int64_t mailbox_id);
/* Take count UIDs from a mailbox's UIDNEXT: *first_r .. *first_r+count-1. */
int sqlite_mailbox_reserve_uids(struct sqlite_store *store, int64_t mailbox_id, size_t count,
				uint32_t *first_r, uint32_t *uidvalidity_r);

/* ---- sqlite-mailbox.c ---- */

/* Insert a mailbox with a fresh UIDVALIDITY (inside a write transaction). */
int sqlite_mailbox_insert(struct sqlite_store *store, int64_t account_id, const char *name,
			  unsigned special_use, int64_t *id_r);
/* account_id, uidvalidity and uidnext of a mailbox by id. */
int sqlite_mailbox_get(struct sqlite_store *store, int64_t mailbox_id, int64_t *account_id_r,
		       uint32_t *uidvalidity_r, uint32_t *uidnext_r);

/* ---- sqlite-message.c (shared with sqlite-deliver.c) ---- */

struct mime_message;
/* Inside a write transaction: the parse results p of message m (parts is
 * mime_parts_serialize() text), owned by account_id; *blob_id_r is the new
 * blob. Then its bytes and full-text row, then one message row of it. */
int sqlite_insert_blob(struct sqlite_store *store, int64_t account_id,
		       const struct store_new_message *m, const struct mime_message *p,
		       const char *parts, int64_t *blob_id_r);
int sqlite_insert_content(struct sqlite_store *store, int64_t blob_id,
			  const struct store_new_message *m, const struct mime_message *p);
int sqlite_insert_message(struct sqlite_store *store, int64_t account_id, int64_t mailbox_id,
			  uint32_t uid, uint64_t modseq, int64_t blob_id,
			  const struct store_new_message *m, struct arena *arena);

/* ---- sqlite-change.c ---- */

/* Expunge the given existing UIDs (ascending) of a mailbox inside the open
 * write transaction: delete them and remember them in expunged. */
int sqlite_expunge_uids(struct sqlite_store *store, int64_t mailbox_id, const uint32_t *uids,
			size_t count);
/* Expunge one UID inside the open write transaction; ENOTFOUND if it is
 * not there (REPLACE). */
int sqlite_expunge_existing(struct sqlite_store *store, int64_t mailbox_id, uint32_t uid);
/* Copy existing UIDs (ascending) to another mailbox inside the open write
 * transaction; dest_uids_r[i] receives the new UID of uids[i]. */
int sqlite_copy_uids(struct sqlite_store *store, int64_t mailbox_id, const uint32_t *uids,
		     size_t count, int64_t dest_mailbox_id, uint32_t *dest_uids_r,
		     uint32_t *dest_uidvalidity_r);
/* Sorted, duplicate-free copy of uids (heap; caller frees). */
uint32_t *sqlite_uids_sorted(const uint32_t *uids, size_t count, size_t *count_r);

/* ---- sqlite-quota.c ---- */

/* An account's usage and limits in force (the default applied), read in
 * the caller's transaction. */
int sqlite_quota_read(struct sqlite_store *store, int64_t account_id, struct store_quota *quota_r);
/* Inside a write transaction that changed account_id's messages: fail with
 * EOVERQUOTA if a resource grew since *before and is now above its limit
 * (the caller rolls back). */
int sqlite_quota_check_growth(struct sqlite_store *store, int64_t account_id,
			      const struct store_quota *before);

#endif
