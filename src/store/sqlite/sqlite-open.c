/*
 * sqlite-open: the SQLite back end's file, settings and schema, the
 * per-store statement cache, and error reporting.
 *
 * The database is DATA_DIR/buzon.db. Several loop threads (one store each)
 * and the command-line process share it, so it runs in WAL mode (readers
 * never block the writer, nor the writer the readers) with a busy timeout,
 * and every write transaction starts with BEGIN IMMEDIATE.
 *
 * Durability (DESIGN.md rule 1): synchronous=FULL makes SQLite fsync the
 * WAL at every COMMIT, before sqlite3_step() returns. The store returns 0
 * only after COMMIT returned, and the protocol acknowledges only after the
 * store returned, so an acknowledged message survives a kill -9 or a power
 * cut. (NORMAL would only fsync at checkpoints: a crash could lose the last
 * commits, which is not allowed here.) Group commit comes from appending
 * many messages in one transaction: one fsync for all of them.
 *
 * Schema (PRAGMA user_version): the base below is version 2; later versions
 * are the steps in sqlite_migrations[]. Keys start with the account
 * (rule 7: shardable by account); mailbox ids are unique over the whole
 * database, so (mailbox_id, uid) is enough here.
 *
 *   account(id, address UNIQUE lower case, password_hash, created,
 *           last_uidvalidity,        -- last UIDVALIDITY given out
 *           scram)                   -- SCRAM keys or NULL (step 5)
 *   app_password(id, account_id -> account, name, hash, created, last_used,
 *           UNIQUE(account_id, name)) -- step 6
 *   mailbox(id, account_id -> account, name, uidvalidity, uidnext,
 *           highestmodseq, special_use, UNIQUE(account_id, name))
 *   subscription(account_id -> account, name, PK(account_id, name))
 *   blob(id, account_id -> account, refcount, size, header_size,
 *        sent_date, sent_date_tz, envelope, bodystructure, body, parts,
 *        preview, subject, from_text, to_text, cc_text, bcc_text,
 *        from_addr, to_addr, cc_addr, message_id, in_reply_to, refs,
 *        from_display, to_display)   -- RFC 5957 SORT keys (version 9)
 *        -- the parse results of rule 2, shared by every copy
 *   blob_data(blob_id -> blob, data)  -- the message bytes, apart from the
 *        metadata so that scans of blob never walk overflow pages
 *   blob_text FTS5(header, body), trigram tokenizer, rowid = blob.id,
 *        automerge 16 (version 10)
 *   message(mailbox_id -> mailbox, uid, account_id, blob_id, modseq, flags,
 *           keywords, size, internal_date, internal_date_tz, save_date,
 *           PK(mailbox_id, uid)) WITHOUT ROWID, INDEX(mailbox_id, modseq),
 *           INDEX(blob_id)
 *   expunged(mailbox_id -> mailbox, uid, modseq, PK(mailbox_id, uid))
 *           WITHOUT ROWID, INDEX(mailbox_id, modseq)
 *   change_log(id AUTOINCREMENT, origin, kind, account_id, mailbox_id,
 *           modseq)                  -- version 3: the events of each write
 *        transaction, for servers in other processes (sqlite-feed.c);
 *        only the newest rows are kept
 *
 * Version 4 adds to account: quota_storage (KiB), quota_messages (NULL =
 * the configured default, -1 = no limit), used_bytes, used_messages (kept
 * by the triggers message_usage_add / message_usage_remove).
 *
 * Version 7 adds sharing (RFC 4314):
 *   acl(mailbox_id -> mailbox, identifier, rights, PK(mailbox_id,
 *       identifier)) WITHOUT ROWID, INDEX(identifier)
 *   seen(mailbox_id -> mailbox, account_id -> account, uid,
 *        PK(mailbox_id, account_id, uid)) WITHOUT ROWID, INDEX(mailbox_id,
 *        uid) -- \Seen of readers who do not own the mailbox; the trigger
 *        message_seen_gc drops rows with their message
 *
 * Version 8 adds annotations (RFC 5464):
 *   metadata(mailbox_id, account_id, entry, value, PK(mailbox_id,
 *            account_id, entry)) WITHOUT ROWID, INDEX(account_id)
 *            -- mailbox_id 0: server entries; account_id 0: /shared
 *            entries; removed with their mailbox or account by triggers
 *
 * Blob lifetime: triggers count the messages referring to a blob; when the
 * count drops to zero the blob, its bytes and its text index row go. The
 * EMAILID (RFC 8474) is derived from the blob id, so copies share it.
 * Deleting an account cascades to everything it owns.
 */
#include "store/sqlite/sqlite-private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/arena.h"
#include "core/mem.h"

#define SQLITE_DB_FILE "buzon.db"
/* How long a writer waits for another writer (a loop thread or the CLI)
 * before giving up: far longer than any one transaction should take (a
 * large MULTIAPPEND), short enough that a wedged process shows up as an
 * error rather than a hang. */
#define SQLITE_BUSY_TIMEOUT_MS 30000
/* Page cache per connection, in KiB (negative = KiB for SQLite): enough
 * for the hot index pages of a large mailbox; one connection per loop. */
#define SQLITE_CACHE_KIB 16384
/* Longest data_dir path we create directories for. */
#define SQLITE_PATH_MAX 4096

static const char *const sqlite_schema =
	"CREATE TABLE account ("
	" id INTEGER PRIMARY KEY,"
	" address TEXT NOT NULL UNIQUE,"
	" password_hash TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" last_uidvalidity INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE mailbox ("
	" id INTEGER PRIMARY KEY,"
	" account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL,"
	" uidvalidity INTEGER NOT NULL,"
	" uidnext INTEGER NOT NULL DEFAULT 1,"
	" highestmodseq INTEGER NOT NULL DEFAULT 1,"
	" special_use INTEGER NOT NULL DEFAULT 0,"
	" UNIQUE (account_id, name));"
	"CREATE TABLE subscription ("
	" account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL,"
	" PRIMARY KEY (account_id, name)) WITHOUT ROWID;"
	"CREATE TABLE blob ("
	" id INTEGER PRIMARY KEY,"
	" account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	" refcount INTEGER NOT NULL DEFAULT 0,"
	" size INTEGER NOT NULL,"
	" header_size INTEGER NOT NULL,"
	" sent_date INTEGER, sent_date_tz INTEGER,"
	" envelope TEXT NOT NULL, bodystructure TEXT NOT NULL, body TEXT NOT NULL,"
	" parts TEXT NOT NULL, preview TEXT,"
	" subject TEXT, from_text TEXT, to_text TEXT, cc_text TEXT, bcc_text TEXT,"
	" from_addr TEXT, to_addr TEXT, cc_addr TEXT,"
	" message_id TEXT, in_reply_to TEXT, refs TEXT);"
	"CREATE INDEX blob_account ON blob (account_id);"
	"CREATE TABLE blob_data ("
	" blob_id INTEGER PRIMARY KEY REFERENCES blob(id) ON DELETE CASCADE,"
	" data BLOB NOT NULL);"
	"CREATE VIRTUAL TABLE blob_text USING fts5 (header, body, tokenize = 'trigram');"
	"CREATE TABLE message ("
	" mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,"
	" uid INTEGER NOT NULL,"
	" account_id INTEGER NOT NULL,"
	" blob_id INTEGER NOT NULL,"
	" modseq INTEGER NOT NULL,"
	" flags INTEGER NOT NULL,"
	" keywords TEXT,"
	" size INTEGER NOT NULL,"
	" internal_date INTEGER NOT NULL,"
	" internal_date_tz INTEGER NOT NULL,"
	" save_date INTEGER NOT NULL,"
	" PRIMARY KEY (mailbox_id, uid)) WITHOUT ROWID;"
	"CREATE INDEX message_modseq ON message (mailbox_id, modseq);"
	"CREATE INDEX message_blob ON message (blob_id);"
	"CREATE TABLE expunged ("
	" mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,"
	" uid INTEGER NOT NULL,"
	" modseq INTEGER NOT NULL,"
	" PRIMARY KEY (mailbox_id, uid)) WITHOUT ROWID;"
	"CREATE INDEX expunged_modseq ON expunged (mailbox_id, modseq);"
	"CREATE TRIGGER message_ref AFTER INSERT ON message BEGIN"
	" UPDATE blob SET refcount = refcount + 1 WHERE id = new.blob_id; END;"
	"CREATE TRIGGER message_unref AFTER DELETE ON message BEGIN"
	" UPDATE blob SET refcount = refcount - 1 WHERE id = old.blob_id; END;"
	"CREATE TRIGGER blob_gc AFTER UPDATE OF refcount ON blob WHEN new.refcount <= 0 BEGIN"
	" DELETE FROM blob WHERE id = new.id; END;"
	"CREATE TRIGGER blob_text_gc AFTER DELETE ON blob BEGIN"
	" DELETE FROM blob_text WHERE rowid = old.id; END;";

int sqlite_fail(struct sqlite_store *store, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(store->error, sizeof(store->error), fmt, ap);
	va_end(ap);
	return code;
}

int sqlite_fail_db(struct sqlite_store *store, const char *what)
{
	return sqlite_fail(store, STORE_EFAIL, "%s: %s", what, sqlite3_errmsg(store->db));
}

int sqlite_result(struct sqlite_store *store, int rc, const char **error_r)
{
	if (rc < 0 && error_r != NULL)
		*error_r = store->error;
	return rc;
}

int64_t sqlite_now(void)
{
	return (int64_t)time(NULL);
}

sqlite3_stmt *sqlite_stmt(struct sqlite_store *store, enum sqlite_sql id)
{
	sqlite3_stmt *stmt = store->stmts[id];

	if (stmt == NULL) {
		if (sqlite3_prepare_v3(store->db, sqlite_sql_text[id], -1,
				       SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK) {
			sqlite_fail_db(store, "prepare");
			return NULL;
		}
		store->stmts[id] = stmt;
		return stmt;
	}
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return stmt;
}

int sqlite_exec(struct sqlite_store *store, sqlite3_stmt *stmt, const char *what)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sqlite_fail_db(store, what);
	return STORE_OK;
}

void *sqlite_arena_copy(struct arena *arena, const void *p, size_t n)
{
	return arena_memdup(arena, p, n);
}

char *sqlite_column_strdup(struct arena *arena, sqlite3_stmt *stmt, int col)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);

	if (s == NULL)
		return NULL;
	return arena_strndup(arena, (const char *)s, (size_t)sqlite3_column_bytes(stmt, col));
}

/* mkdir -p with mode 0700 for what we create: the store holds everyone's
 * mail and password hashes. */
static int sqlite_make_dir(struct sqlite_store *store, const char *dir)
{
	char path[SQLITE_PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path))
		return sqlite_fail(store, STORE_EINVALID, "bad data_dir '%s'", dir);
	memcpy(path, dir, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return sqlite_fail(store, STORE_EFAIL, "mkdir %s: %s", path, strerror(errno));
		path[i] = dir[i];
	}
	return STORE_OK;
}

/* PRAGMA journal_mode answers with the mode in force; SQLite quietly keeps
 * the old one where WAL is impossible (no shared memory), and the locking
 * reasoning above depends on WAL, so that is an error. */
static int sqlite_enable_wal(struct sqlite_store *store)
{
	sqlite3_stmt *stmt;
	bool wal = false;

	if (sqlite3_prepare_v2(store->db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL) != SQLITE_OK)
		return sqlite_fail_db(store, "journal_mode");
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(stmt, 0);

		wal = mode != NULL && strcmp(mode, "wal") == 0;
	}
	sqlite3_finalize(stmt);
	if (!wal)
		return sqlite_fail(store, STORE_EFAIL, "cannot switch the database to WAL mode: %s",
				   sqlite3_errmsg(store->db));
	return STORE_OK;
}

/* Settings that live with the connection, not the file. */
static int sqlite_configure(struct sqlite_store *store)
{
	char sql[256];

	sqlite3_busy_timeout(store->db, SQLITE_BUSY_TIMEOUT_MS);
	if (sqlite_enable_wal(store) < 0)
		return STORE_EFAIL;
	snprintf(sql, sizeof(sql),
		 "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
		 "PRAGMA cache_size = -%d; PRAGMA temp_store = MEMORY;", SQLITE_CACHE_KIB);
	if (sqlite3_exec(store->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sqlite_fail_db(store, "configure database");
	return STORE_OK;
}

/* One step of the schema's history: the SQL that takes a file from
 * version `to - 1` to version `to`. A new file gets the base schema
 * (version 2) and then every step, so the steps are the only place a
 * schema change is written: append one, never edit one that has shipped. */
struct sqlite_migration {
	int to;
	const char *sql;
};

static const struct sqlite_migration sqlite_migrations[] = {
	/* 1 -> 2: account deletion must find the other owners of a shared
	 * blob without scanning every message. (The base schema already has
	 * it, so this step only runs on version 1 files.) */
	{ 2, "CREATE INDEX message_blob ON message (blob_id);" },
	/* 2 -> 3: the change log, so that a server hears of what other
	 * processes commit (sqlite-feed.c). AUTOINCREMENT: an id is never
	 * handed out twice, even after pruning, so a reader's cursor holds. */
	{ 3, "CREATE TABLE change_log ("
	     " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	     " origin INTEGER NOT NULL,"
	     " kind INTEGER NOT NULL,"
	     " account_id INTEGER NOT NULL,"
	     " mailbox_id INTEGER NOT NULL,"
	     " modseq INTEGER NOT NULL);" },
	/* 3 -> 4: quotas (RFC 9208). The limits (NULL = the configured
	 * default, -1 = none) and the usage of each account; triggers keep the
	 * usage exact in the very transaction that adds or removes a message
	 * row, whichever path does it (append, copy, move, expunge, delivery,
	 * mailbox or account deletion). */
	{ 4, "ALTER TABLE account ADD COLUMN quota_storage INTEGER;"
	     "ALTER TABLE account ADD COLUMN quota_messages INTEGER;"
	     "ALTER TABLE account ADD COLUMN used_bytes INTEGER NOT NULL DEFAULT 0;"
	     "ALTER TABLE account ADD COLUMN used_messages INTEGER NOT NULL DEFAULT 0;"
	     "UPDATE account SET"
	     " used_bytes = (SELECT coalesce(sum(size), 0) FROM message WHERE account_id = account.id),"
	     " used_messages = (SELECT count(*) FROM message WHERE account_id = account.id);"
	     "CREATE TRIGGER message_usage_add AFTER INSERT ON message BEGIN"
	     " UPDATE account SET used_bytes = used_bytes + new.size,"
	     " used_messages = used_messages + 1 WHERE id = new.account_id; END;"
	     "CREATE TRIGGER message_usage_remove AFTER DELETE ON message BEGIN"
	     " UPDATE account SET used_bytes = used_bytes - old.size,"
	     " used_messages = used_messages - 1 WHERE id = old.account_id; END;" },
	/* 4 -> 5: SCRAM-SHA-256 keys (auth/scram.h), set with the password;
	 * NULL for accounts whose password was imported as a crypt hash. */
	{ 5, "ALTER TABLE account ADD COLUMN scram TEXT;" },
	/* 5 -> 6: app passwords (auth/login.c), several per account, each
	 * named and revocable; hash is SHA-256 of a generated secret. */
	{ 6, "CREATE TABLE app_password ("
	     " id INTEGER PRIMARY KEY,"
	     " account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	     " name TEXT NOT NULL, hash TEXT NOT NULL, created INTEGER NOT NULL,"
	     " last_used INTEGER NOT NULL DEFAULT 0,"
	     " UNIQUE (account_id, name));" },
	/* 6 -> 7: sharing (RFC 4314). ACL entries per mailbox, found by
	 * identifier for "what is shared with me"; the \Seen of users who
	 * read a mailbox they do not own, dropped with the message. */
	{ 7, "CREATE TABLE acl ("
	     " mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,"
	     " identifier TEXT NOT NULL,"
	     " rights TEXT NOT NULL,"
	     " PRIMARY KEY (mailbox_id, identifier)) WITHOUT ROWID;"
	     "CREATE INDEX acl_identifier ON acl (identifier);"
	     "CREATE TABLE seen ("
	     " mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,"
	     " account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	     " uid INTEGER NOT NULL,"
	     " PRIMARY KEY (mailbox_id, account_id, uid)) WITHOUT ROWID;"
	     "CREATE INDEX seen_uid ON seen (mailbox_id, uid);"
	     "CREATE TRIGGER message_seen_gc AFTER DELETE ON message BEGIN"
	     " DELETE FROM seen WHERE mailbox_id = old.mailbox_id AND uid = old.uid; END;" },
	/* 7 -> 8: annotations (RFC 5464). mailbox_id 0 is the server,
	 * account_id 0 a /shared entry; neither is a row to refer to, so
	 * triggers do what ON DELETE CASCADE would. */
	{ 8, "CREATE TABLE metadata ("
	     " mailbox_id INTEGER NOT NULL,"
	     " account_id INTEGER NOT NULL,"
	     " entry TEXT NOT NULL,"
	     " value BLOB NOT NULL,"
	     " PRIMARY KEY (mailbox_id, account_id, entry)) WITHOUT ROWID;"
	     "CREATE INDEX metadata_account ON metadata (account_id);"
	     "CREATE TRIGGER mailbox_metadata_gc AFTER DELETE ON mailbox BEGIN"
	     " DELETE FROM metadata WHERE mailbox_id = old.id; END;"
	     "CREATE TRIGGER account_metadata_gc AFTER DELETE ON account BEGIN"
	     " DELETE FROM metadata WHERE account_id = old.id; END;" },
	/* 8 -> 9: the RFC 5957 display values SORT DISPLAYFROM / DISPLAYTO
	 * use, kept at save time (rule 2). Older messages have NULL there
	 * and are sorted from the stored From/To text instead. */
	{ 9, "ALTER TABLE blob ADD COLUMN from_display TEXT;"
	     "ALTER TABLE blob ADD COLUMN to_display TEXT;" },
	/* 9 -> 10: FTS5 merges its index segments 16 at a time instead of 4
	 * (a setting kept in the table): the trigram index of a 100 KB
	 * message was rewritten by merges until a delivery wrote about 1.2 MB
	 * of index pages, 0.7 MB so (issue 7: 100 KB LMTP at 0.2x Dovecot).
	 * A search reads a few more segments; SEARCH BODY stays in
	 * milliseconds. */
	{ 10, "INSERT INTO blob_text (blob_text, rank) VALUES ('automerge', 16);" },
};

#define SQLITE_BASE_VERSION 2
#define SQLITE_SCHEMA_VERSION                                                              \
	(sqlite_migrations[sizeof(sqlite_migrations) / sizeof(sqlite_migrations[0]) - 1].to)

/* Run every step above `version`; returns the version reached, or -2 when
 * a step failed (the caller rolls back). */
static int sqlite_migrate_steps(struct sqlite_store *store, int version)
{
	size_t count = sizeof(sqlite_migrations) / sizeof(sqlite_migrations[0]);
	char sql[64];

	for (size_t i = 0; i < count; i++) {
		if (sqlite_migrations[i].to <= version)
			continue;
		if (sqlite_migrations[i].to != version + 1 ||
		    sqlite3_exec(store->db, sqlite_migrations[i].sql, NULL, NULL, NULL) != SQLITE_OK)
			return -2;
		version = sqlite_migrations[i].to;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
	if (sqlite3_exec(store->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return -2;
	return version;
}

/* Create the schema in a new file, or bring an older file up to date.
 * Done under the write lock so two processes starting at once agree. A
 * file newer than this program is refused, never touched. */
static int sqlite_migrate(struct sqlite_store *store)
{
	sqlite3_stmt *stmt;
	int version = -1;

	if (sqlite3_exec(store->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return sqlite_fail_db(store, "lock database");
	if (sqlite3_prepare_v2(store->db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK) {
		if (sqlite3_step(stmt) == SQLITE_ROW)
			version = sqlite3_column_int(stmt, 0);
		sqlite3_finalize(stmt);
	}
	if (version == 0) {
		/* A new file: the base schema, then every step (which also
		 * records the version). */
		version = sqlite3_exec(store->db, sqlite_schema, NULL, NULL, NULL) == SQLITE_OK
				  ? sqlite_migrate_steps(store, SQLITE_BASE_VERSION) : -2;
	} else if (version >= 1 && version < SQLITE_SCHEMA_VERSION) {
		version = sqlite_migrate_steps(store, version);
	}
	if (version != SQLITE_SCHEMA_VERSION) {
		int rc = version == -2 ? sqlite_fail_db(store, "create schema")
			 : sqlite_fail(store, STORE_EFAIL, "database schema version %d, "
				       "this program knows %d", version, SQLITE_SCHEMA_VERSION);

		sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	if (sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return sqlite_fail_db(store, "commit schema");
	return STORE_OK;
}

static void sqlite_store_close(struct store *base);

/* The error of a failed open outlives the store it was recorded in. */
static int sqlite_open_failed(struct sqlite_store *store, int rc, const char **error_r)
{
	static _Thread_local char error[SQLITE_ERROR_MAX];

	memcpy(error, store->error, sizeof(error));
	sqlite_store_close(&store->base);
	if (error_r != NULL)
		*error_r = error;
	return rc;
}

/* store_open for settings->backend == STORE_BACKEND_SQLITE: buzon.db in
 * data_dir, made (and its schema brought up to date) here. */
int sqlite_store_open(const struct store_settings *settings, struct store_bus *bus,
		      struct store **store_r, const char **error_r)
{
	struct sqlite_store *store = mem_zalloc(sizeof(*store));
	const char *data_dir = settings->data_dir;
	char path[SQLITE_PATH_MAX];
	int rc;

	store->base.ops = &sqlite_store_ops;
	store->bus = bus;
	store->default_quota_kib = STORE_QUOTA_NONE;
	store->default_quota_messages = STORE_QUOTA_NONE;
	*store_r = NULL;
	if (data_dir == NULL)
		return sqlite_open_failed(store, sqlite_fail(store, STORE_EINVALID,
							     "no data_dir"), error_r);
	if ((rc = sqlite_make_dir(store, data_dir)) < 0)
		return sqlite_open_failed(store, rc, error_r);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", data_dir, SQLITE_DB_FILE) >= sizeof(path))
		return sqlite_open_failed(store, sqlite_fail(store, STORE_EINVALID,
							     "data_dir too long"), error_r);
	/* NOMUTEX: a store belongs to one thread (store.h). */
	if (sqlite3_open_v2(path, &store->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		rc = store->db != NULL ? sqlite_fail_db(store, path)
		     : sqlite_fail(store, STORE_EFAIL, "%s: cannot open", path);
		return sqlite_open_failed(store, rc, error_r);
	}
	if ((rc = sqlite_configure(store)) < 0 || (rc = sqlite_migrate(store)) < 0)
		return sqlite_open_failed(store, rc, error_r);
	*store_r = &store->base;
	return STORE_OK;
}

/* `buzon db migrate`: the version the file had (0: none yet), then the
 * open that migrates, then the version it has. */
int sqlite_store_migrate(const struct store_settings *settings, int *from_r, int *to_r,
			 const char **error_r)
{
	char path[SQLITE_PATH_MAX];
	struct store *store;
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt;
	int rc;

	*from_r = 0;
	if (settings->data_dir != NULL &&
	    (size_t)snprintf(path, sizeof(path), "%s/%s", settings->data_dir, SQLITE_DB_FILE) <
		    sizeof(path) &&
	    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK) {
		if (sqlite3_step(stmt) == SQLITE_ROW)
			*from_r = sqlite3_column_int(stmt, 0);
		sqlite3_finalize(stmt);
	}
	sqlite3_close(db);
	if ((rc = sqlite_store_open(settings, NULL, &store, error_r)) < 0)
		return rc;
	sqlite_store_close(store);
	*to_r = SQLITE_SCHEMA_VERSION;
	return STORE_OK;
}

/* store_close: every cached statement, then the connection. */
static void sqlite_store_close(struct store *base)
{
	struct sqlite_store *store = sqlite_store_of(base);

	for (size_t i = 0; i < SQL_COUNT; i++)
		sqlite3_finalize(store->stmts[i]);
	sqlite3_close(store->db);
	array_free(&store->touched);
	free(store);
}

/* store.h, as this back end does it (store-backend.h). */
const struct store_ops sqlite_store_ops = {
	.close = sqlite_store_close,
	.account_create = sqlite_store_account_create,
	.account_find = sqlite_store_account_find,
	.account_set_password = sqlite_store_account_set_password,
	.account_set_scram = sqlite_store_account_set_scram,
	.app_password_add = sqlite_store_app_password_add,
	.app_password_delete = sqlite_store_app_password_delete,
	.app_password_list = sqlite_store_app_password_list,
	.app_password_touch = sqlite_store_app_password_touch,
	.account_delete = sqlite_store_account_delete,
	.account_list = sqlite_store_account_list,
	.account_ensure_defaults = sqlite_store_account_ensure_defaults,
	.quota_set_default = sqlite_store_quota_set_default,
	.quota_get = sqlite_store_quota_get,
	.quota_set = sqlite_store_quota_set,
	.mailbox_list = sqlite_store_mailbox_list,
	.mailbox_find = sqlite_store_mailbox_find,
	.mailbox_create = sqlite_store_mailbox_create,
	.mailbox_delete = sqlite_store_mailbox_delete,
	.mailbox_rename = sqlite_store_mailbox_rename,
	.mailbox_status = sqlite_store_mailbox_status,
	.subscription_set = sqlite_store_subscription_set,
	.subscription_list = sqlite_store_subscription_list,
	.message_append = sqlite_store_message_append,
	.message_replace = sqlite_store_message_replace,
	.message_list = sqlite_store_message_list,
	.message_changes = sqlite_store_message_changes,
	.message_set_flags = sqlite_store_message_set_flags,
	.message_expunge = sqlite_store_message_expunge,
	.message_remove = sqlite_store_message_remove,
	.message_copy = sqlite_store_message_copy,
	.message_get = sqlite_store_message_get,
	.message_iterate = sqlite_store_message_iterate,
	.blob_read = sqlite_store_blob_read,
	.message_deliver = sqlite_store_message_deliver,
	.message_deliver_batch = sqlite_store_message_deliver_batch,
	.group_begin = sqlite_store_group_begin,
	.group_commit = sqlite_store_group_commit,
	.group_rollback = sqlite_store_group_rollback,
	.search_text = sqlite_store_search_text,
	.acl_list = sqlite_store_acl_list,
	.acl_set = sqlite_store_acl_set,
	.acl_shared_with = sqlite_store_acl_shared_with,
	.seen_list = sqlite_store_seen_list,
	.seen_set = sqlite_store_seen_set,
	.account_system = sqlite_store_account_system,
	.metadata_get = sqlite_store_metadata_get,
	.metadata_set = sqlite_store_metadata_set,
};
