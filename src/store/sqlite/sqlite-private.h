/*
 * sqlite-private: what the files of the SQLite back end share, and nothing
 * above store/ sees. The back end implements store.h directly; the SQL text
 * lives apart from the logic (sqlite-sql.c, sqlite-open.c for the schema) so
 * that a PostgreSQL back end can reuse the logic's shape with its own SQL and
 * a vtable can be slid under store.h when it arrives.
 *
 * Files: sqlite-open.c (file, pragmas, schema, statement cache, errors),
 * sqlite-txn.c (transactions, modseq bumps, publishing after commit),
 * sqlite-account.c, sqlite-mailbox.c, sqlite-message.c (append, read),
 * sqlite-change.c (flags, expunge, copy/move), sqlite-search.c,
 * sqlite-keywords.c (keyword list arithmetic), sqlite-feed.c (changes of
 * other processes, from the change log, onto the bus), sqlite-quota.c (RFC
 * 9208 usage and limits), sqlite-acl.c (RFC 4314 entries, per-user \Seen),
 * sqlite-metadata.c (RFC 5464 annotations).
 *
 * Threads: a struct store belongs to one thread (store.h); nothing here is
 * shared except the bus, which has its own lock.
 */
#ifndef BUZON_STORE_SQLITE_PRIVATE_H
#define BUZON_STORE_SQLITE_PRIVATE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/array.h"
#include "store/store.h"

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

struct store {
	sqlite3 *db;
	struct store_bus *bus; /* may be NULL */
	sqlite3_stmt *stmts[SQL_COUNT];
	ARRAY(struct sqlite_touched) touched; /* of the open write transaction */
	int64_t default_quota_kib;             /* store_quota_set_default */
	int64_t default_quota_messages;
	char error[SQLITE_ERROR_MAX];          /* what *error_r points to */
};

/* ---- sqlite-open.c ---- */

/* The cached statement id, reset and with no bindings; NULL (with the
 * error set) if it does not compile. Callers sqlite3_reset() it when done,
 * so no statement keeps a read snapshot open. */
sqlite3_stmt *sqlite_stmt(struct store *store, enum sqlite_sql id);
/* Record an error message in store->error; returns code. */
int sqlite_fail(struct store *store, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* STORE_EFAIL with "what: <SQLite's message>". */
int sqlite_fail_db(struct store *store, const char *what);
/* Step a statement that returns no rows, then reset it. */
int sqlite_exec(struct store *store, sqlite3_stmt *stmt, const char *what);
/* n bytes of p copied into arena (an array handed back to the caller). */
void *sqlite_arena_copy(struct arena *arena, const void *p, size_t n);
/* A column as an arena string, NULL for SQL NULL. */
char *sqlite_column_strdup(struct arena *arena, sqlite3_stmt *stmt, int col);
/* The current time in seconds; one place so tests could pin it. */
int64_t sqlite_now(void);
/* Every public function ends with this: points *error_r (if wanted) at the
 * store's message when rc < 0, and returns rc. */
int sqlite_result(struct store *store, int rc, const char **error_r);

/* ---- sqlite-txn.c ---- */

/* BEGIN IMMEDIATE: take the write lock now (waiting up to the busy
 * timeout), so the transaction cannot fail later on a lock upgrade. */
int sqlite_begin_write(struct store *store);
/* BEGIN: a read snapshot that starts at the first read. */
int sqlite_begin_read(struct store *store);
/* COMMIT, then publish every mailbox the transaction touched (rule 4). */
int sqlite_commit(struct store *store);
/* ROLLBACK; forgets touched mailboxes. Safe to call after any failure. */
void sqlite_rollback(struct store *store);
/* End a write transaction: COMMIT when rc >= 0, else ROLLBACK; returns the
 * outcome. */
int sqlite_finish(struct store *store, int rc);
/* First change to a mailbox in this write transaction bumps its
 * HIGHESTMODSEQ by one; later ones reuse the value (rule 3). */
int sqlite_mailbox_touch(struct store *store, int64_t mailbox_id, uint64_t *modseq_r,
			 int64_t *account_id_r);
/* Note a mailbox-list or subscription event of this write transaction
 * (once per kind and mailbox). */
void sqlite_note_event(struct store *store, enum store_event_kind kind, int64_t account_id,
		       int64_t mailbox_id);
/* Take count UIDs from a mailbox's UIDNEXT: *first_r .. *first_r+count-1. */
int sqlite_mailbox_reserve_uids(struct store *store, int64_t mailbox_id, size_t count,
				uint32_t *first_r, uint32_t *uidvalidity_r);

/* ---- sqlite-mailbox.c ---- */

/* Insert a mailbox with a fresh UIDVALIDITY (inside a write transaction). */
int sqlite_mailbox_insert(struct store *store, int64_t account_id, const char *name,
			  unsigned special_use, int64_t *id_r);
/* account_id, uidvalidity and uidnext of a mailbox by id. */
int sqlite_mailbox_get(struct store *store, int64_t mailbox_id, int64_t *account_id_r,
		       uint32_t *uidvalidity_r, uint32_t *uidnext_r);

/* ---- sqlite-message.c (shared with sqlite-deliver.c) ---- */

struct mime_message;
/* Inside a write transaction: the parse results p of message m (parts is
 * mime_parts_serialize() text), owned by account_id; *blob_id_r is the new
 * blob. Then its bytes and full-text row, then one message row of it. */
int sqlite_insert_blob(struct store *store, int64_t account_id,
		       const struct store_new_message *m, const struct mime_message *p,
		       const char *parts, int64_t *blob_id_r);
int sqlite_insert_content(struct store *store, int64_t blob_id,
			  const struct store_new_message *m, const struct mime_message *p);
int sqlite_insert_message(struct store *store, int64_t account_id, int64_t mailbox_id,
			  uint32_t uid, uint64_t modseq, int64_t blob_id,
			  const struct store_new_message *m, struct arena *arena);

/* ---- sqlite-change.c ---- */

/* Expunge the given existing UIDs (ascending) of a mailbox inside the open
 * write transaction: delete them and remember them in expunged. */
int sqlite_expunge_uids(struct store *store, int64_t mailbox_id, const uint32_t *uids,
			size_t count);
/* Expunge one UID inside the open write transaction; ENOTFOUND if it is
 * not there (REPLACE). */
int sqlite_expunge_existing(struct store *store, int64_t mailbox_id, uint32_t uid);
/* Copy existing UIDs (ascending) to another mailbox inside the open write
 * transaction; dest_uids_r[i] receives the new UID of uids[i]. */
int sqlite_copy_uids(struct store *store, int64_t mailbox_id, const uint32_t *uids,
		     size_t count, int64_t dest_mailbox_id, uint32_t *dest_uids_r,
		     uint32_t *dest_uidvalidity_r);
/* Sorted, duplicate-free copy of uids (heap; caller frees). */
uint32_t *sqlite_uids_sorted(const uint32_t *uids, size_t count, size_t *count_r);

/* ---- sqlite-quota.c ---- */

/* An account's usage and limits in force (the default applied), read in
 * the caller's transaction. */
int sqlite_quota_read(struct store *store, int64_t account_id, struct store_quota *quota_r);
/* Inside a write transaction that changed account_id's messages: fail with
 * EOVERQUOTA if a resource grew since *before and is now above its limit
 * (the caller rolls back). */
int sqlite_quota_check_growth(struct store *store, int64_t account_id,
			      const struct store_quota *before);

/* ---- sqlite-keywords.c ---- */

/* Apply op with the space-separated keywords arg to the list current
 * (either may be NULL); NULL when the result is empty. Keywords compare
 * case-insensitively (RFC 9051 §2.3.2); the first spelling is kept. */
char *sqlite_keywords_apply(struct arena *arena, const char *current, enum store_flags_op op,
			    const char *arg);
/* Same keyword set, ignoring order and case. */
bool sqlite_keywords_equal(const char *a, const char *b);

#endif
