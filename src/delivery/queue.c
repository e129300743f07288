/*
 * queue: the outbound queue's storage. One SQLite file, DATA_DIR/queue.db,
 * owned by src/delivery/ and apart from the mail store (buzon.db): the
 * queue is a work list of a single machine, written at every attempt,
 * while the store may move to PostgreSQL; keeping them apart means the
 * queue's churn never contends with IMAP's writers, and a PostgreSQL
 * deployment brings its own queue back end behind this same file's API.
 *
 * WAL with synchronous=FULL: queue_submit's COMMIT is fsync'd before it
 * returns (rule 1). Writers use BEGIN IMMEDIATE and a busy timeout, so the
 * loops, the runner's threads and `buzon queue` share the file.
 *
 *   message(id, sender, created, size, data, envid, ret)
 *   recipient(message_id, address, domain, state, attempts, next_attempt,
 *             last_reply, notify, orcpt, delay_reported)
 *             primary key (message_id, address)
 *
 * Version 2 (PRAGMA user_version) added the RFC 3461 DSN columns (envid,
 * ret, notify, orcpt, delay_reported); a version 1 file gets them with
 * ALTER TABLE when opened.
 */
#include "delivery/queue-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "core/buf.h"
#include "core/mem.h"
#include "delivery/dsn.h"

/* Writers wait this long for each other (a runner commit is quick). */
#define QUEUE_BUSY_TIMEOUT_MS 10000
/* A recorded reply with our note on expiry in front. */
#define QUEUE_REPLY_MAX 1200
/* queue_retry_delay: the multipliers of the base, then the last repeats. */
static const unsigned queue_retry_factors[] = { 1, 3, 6, 12, 24, 48 };

struct queue {
	sqlite3 *db;
	unsigned retry_base;
	unsigned lifetime;
	unsigned dsn_delay;   /* config dsn_delay: when a "delayed" DSN is due */
	char error[512];
};

static const char queue_schema[] =
	"CREATE TABLE IF NOT EXISTS message ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" sender TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" size INTEGER NOT NULL,"
	" data BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS recipient ("
	" message_id INTEGER NOT NULL,"
	" address TEXT NOT NULL,"
	" domain TEXT NOT NULL,"
	" state INTEGER NOT NULL DEFAULT 0,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" next_attempt INTEGER NOT NULL,"
	" last_reply TEXT NOT NULL DEFAULT '',"
	" PRIMARY KEY (message_id, address));"
	"CREATE INDEX IF NOT EXISTS recipient_due ON recipient (state, next_attempt);";

long long queue_retry_delay(unsigned attempts, unsigned base)
{
	size_t n = sizeof(queue_retry_factors) / sizeof(queue_retry_factors[0]);
	size_t i = attempts == 0 ? 0 : attempts - 1;

	if (i >= n)
		i = n - 1;
	return (long long)queue_retry_factors[i] * base;
}

static int queue_fail(struct queue *queue, const char **error_r, const char *what)
{
	snprintf(queue->error, sizeof(queue->error), "queue: %s: %s", what,
		 sqlite3_errmsg(queue->db));
	*error_r = queue->error;
	return -1;
}

static int queue_exec(struct queue *queue, const char *sql, const char **error_r)
{
	if (sqlite3_exec(queue->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return queue_fail(queue, error_r, sql);
	return 0;
}

static void queue_rollback(struct queue *queue)
{
	(void)sqlite3_exec(queue->db, "ROLLBACK", NULL, NULL, NULL);
}

static sqlite3_stmt *queue_prepare(struct queue *queue, const char *sql, const char **error_r)
{
	sqlite3_stmt *stmt = NULL;

	if (sqlite3_prepare_v2(queue->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		(void)queue_fail(queue, error_r, "prepare");
		return NULL;
	}
	return stmt;
}

/* Bring a file of any earlier version up to QUEUE_VERSION (inside the
 * open's transaction). */
static int queue_migrate(struct queue *queue, const char **error_r)
{
	sqlite3_stmt *stmt = queue_prepare(queue, "PRAGMA user_version", error_r);
	int version = 0;

	if (stmt == NULL)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		version = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	if (version < 2 &&
	    queue_exec(queue, "ALTER TABLE message ADD COLUMN envid TEXT;"
		       "ALTER TABLE message ADD COLUMN ret INTEGER NOT NULL DEFAULT 0;"
		       "ALTER TABLE recipient ADD COLUMN notify INTEGER NOT NULL DEFAULT 0;"
		       "ALTER TABLE recipient ADD COLUMN orcpt TEXT;"
		       "ALTER TABLE recipient ADD COLUMN delay_reported INTEGER NOT NULL "
		       "DEFAULT 0;", error_r) < 0)
		return -1;
	return queue_exec(queue, "PRAGMA user_version = 2", error_r);
}

int queue_open(const struct config *config, struct queue **queue_r, const char **error_r)
{
	static char error[512];
	struct queue *queue = mem_zalloc(sizeof(*queue));
	struct buf path = BUF_INIT;

	queue->retry_base = config->queue_retry_base;
	queue->lifetime = config->queue_lifetime;
	queue->dsn_delay = config->dsn_delay;
	if (mkdir(config->data_dir, 0700) < 0 && errno != EEXIST) {
		snprintf(error, sizeof(error), "queue: mkdir %s: %s", config->data_dir,
			 strerror(errno));
		*error_r = error;
		free(queue);
		return -1;
	}
	buf_printf(&path, "%s/queue.db", config->data_dir);
	if (sqlite3_open_v2(path.data, &queue->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(error, sizeof(error), "queue: open %s: %s", path.data,
			 queue->db ? sqlite3_errmsg(queue->db) : "out of memory");
		*error_r = error;
		buf_free(&path);
		sqlite3_close(queue->db);
		free(queue);
		return -1;
	}
	buf_free(&path);
	sqlite3_busy_timeout(queue->db, QUEUE_BUSY_TIMEOUT_MS);
	if (queue_exec(queue, "PRAGMA journal_mode = WAL", error_r) < 0 ||
	    queue_exec(queue, "PRAGMA synchronous = FULL", error_r) < 0 ||
	    queue_exec(queue, "BEGIN IMMEDIATE", error_r) < 0)
		goto fail;
	if (queue_exec(queue, queue_schema, error_r) < 0 || queue_migrate(queue, error_r) < 0 ||
	    queue_exec(queue, "COMMIT", error_r) < 0) {
		queue_rollback(queue);
		goto fail;
	}
	*queue_r = queue;
	return 0;
fail:
	snprintf(error, sizeof(error), "%s", *error_r);
	*error_r = error;
	sqlite3_close(queue->db);
	free(queue);
	return -1;
}

void queue_close(struct queue *queue)
{
	if (queue == NULL)
		return;
	sqlite3_close(queue->db);
	free(queue);
}

/* The domain of an address, lower case ("" without '@'). */
static char *queue_domain(const char *address)
{
	const char *at = strrchr(address, '@');
	char *domain = mem_strdup(at != NULL ? at + 1 : "");

	for (char *p = domain; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	return domain;
}

int queue_submit_dsn(struct queue *queue, const char *sender, const char *envid, int ret,
		     const struct queue_rcpt *recipients, size_t count, const char *data,
		     size_t size, char **id_r, const char **error_r)
{
	sqlite3_stmt *msg = NULL, *rcpt = NULL;
	long long now = (long long)time(NULL);
	sqlite3_int64 id;

	if (count == 0) {
		*error_r = "queue: no recipients";
		return -1;
	}
	if (queue_exec(queue, "BEGIN IMMEDIATE", error_r) < 0)
		return -1;
	msg = queue_prepare(queue, "INSERT INTO message (sender, created, size, data, envid, "
			    "ret) VALUES (?, ?, ?, ?, ?, ?)", error_r);
	rcpt = queue_prepare(queue, "INSERT OR IGNORE INTO recipient (message_id, address, "
			     "domain, next_attempt, notify, orcpt) VALUES (?, ?, ?, ?, ?, ?)", error_r);
	if (msg == NULL || rcpt == NULL)
		goto fail;
	sqlite3_bind_text(msg, 1, sender, -1, SQLITE_STATIC);
	sqlite3_bind_int64(msg, 2, now);
	sqlite3_bind_int64(msg, 3, (sqlite3_int64)size);
	sqlite3_bind_blob64(msg, 4, size > 0 ? data : "", size, SQLITE_STATIC);
	if (envid != NULL)
		sqlite3_bind_text(msg, 5, envid, -1, SQLITE_STATIC);
	sqlite3_bind_int(msg, 6, ret);
	if (sqlite3_step(msg) != SQLITE_DONE) {
		(void)queue_fail(queue, error_r, "insert message");
		goto fail;
	}
	id = sqlite3_last_insert_rowid(queue->db);
	for (size_t i = 0; i < count; i++) {
		char *domain = queue_domain(recipients[i].address);
		sqlite3_reset(rcpt);
		sqlite3_bind_int64(rcpt, 1, id);
		sqlite3_bind_text(rcpt, 2, recipients[i].address, -1, SQLITE_STATIC);
		sqlite3_bind_text(rcpt, 3, domain, -1, free);
		sqlite3_bind_int64(rcpt, 4, now);
		sqlite3_bind_int(rcpt, 5, (int)recipients[i].notify);
		if (recipients[i].orcpt != NULL)
			sqlite3_bind_text(rcpt, 6, recipients[i].orcpt, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(rcpt, 6);
		if (sqlite3_step(rcpt) != SQLITE_DONE) {
			(void)queue_fail(queue, error_r, "insert recipient");
			goto fail;
		}
	}
	sqlite3_finalize(msg);
	sqlite3_finalize(rcpt);
	if (queue_exec(queue, "COMMIT", error_r) < 0) {
		queue_rollback(queue);
		return -1;
	}
	struct buf b = BUF_INIT;
	buf_printf(&b, "%lld", (long long)id);
	*id_r = buf_steal(&b);
	return 0;
fail:
	sqlite3_finalize(msg);
	sqlite3_finalize(rcpt);
	queue_rollback(queue);
	return -1;
}

int queue_submit(struct queue *queue, const char *sender, const char *const *recipients,
		 size_t count, const char *data, size_t size, char **id_r, const char **error_r)
{
	struct queue_rcpt *rcpts = mem_zalloc((count + 1) * sizeof(*rcpts));
	int rc;

	for (size_t i = 0; i < count; i++)
		rcpts[i].address = recipients[i];
	rc = queue_submit_dsn(queue, sender, NULL, 0, rcpts, count, data, size, id_r, error_r);
	free(rcpts);
	return rc;
}

/* A text column as an arena string, NULL for SQL NULL. */
static char *queue_column_text_or_null(struct arena *arena, sqlite3_stmt *stmt, int col)
{
	const unsigned char *text = sqlite3_column_text(stmt, col);

	return text != NULL ? arena_strdup(arena, (const char *)text) : NULL;
}

static char *queue_column_text(struct arena *arena, sqlite3_stmt *stmt, int col)
{
	const unsigned char *text = sqlite3_column_text(stmt, col);

	return arena_strdup(arena, text != NULL ? (const char *)text : "");
}

/* Recipients of one message (all of them, or those in state `only`). */
static int queue_load_recipients(struct queue *queue, struct arena *arena,
				 struct queue_entry *entry, int64_t id, int only,
				 const char **error_r)
{
	sqlite3_stmt *stmt = queue_prepare(queue,
		"SELECT address, state, attempts, next_attempt, last_reply, notify, orcpt, "
		"delay_reported FROM recipient "
		"WHERE message_id = ? AND (? < 0 OR state = ?) ORDER BY rowid", error_r);
	size_t cap = 0;
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int(stmt, 2, only);
	sqlite3_bind_int(stmt, 3, only);
	entry->recipients = NULL;
	entry->count = 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (entry->count == cap) {
			struct queue_recipient *old = entry->recipients;
			cap = cap ? cap * 2 : 8;
			entry->recipients = arena_alloc(arena, cap * sizeof(*old));
			if (old != NULL)
				memcpy(entry->recipients, old, entry->count * sizeof(*old));
		}
		struct queue_recipient *r = &entry->recipients[entry->count++];
		r->address = queue_column_text(arena, stmt, 0);
		r->state = (enum queue_state)sqlite3_column_int(stmt, 1);
		r->attempts = (unsigned)sqlite3_column_int(stmt, 2);
		r->next_attempt = sqlite3_column_int64(stmt, 3);
		r->last_reply = queue_column_text(arena, stmt, 4);
		r->notify = (unsigned)sqlite3_column_int(stmt, 5);
		r->orcpt = queue_column_text_or_null(arena, stmt, 6);
		r->delay_reported = sqlite3_column_int(stmt, 7) != 0;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return queue_fail(queue, error_r, "read recipients");
	return 0;
}

int queue_list(struct queue *queue, struct arena *arena, struct queue_entry **entries_r,
	       size_t *count_r, const char **error_r)
{
	sqlite3_stmt *stmt;
	struct queue_entry *entries = NULL;
	size_t count = 0, cap = 0;
	int rc;

	if (queue_exec(queue, "BEGIN", error_r) < 0)
		return -1;
	stmt = queue_prepare(queue, "SELECT id, sender, created, size FROM message ORDER BY id",
			     error_r);
	if (stmt == NULL) {
		queue_rollback(queue);
		return -1;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (count == cap) {
			struct queue_entry *old = entries;
			cap = cap ? cap * 2 : 16;
			entries = arena_alloc(arena, cap * sizeof(*old));
			if (old != NULL)
				memcpy(entries, old, count * sizeof(*old));
		}
		struct queue_entry *e = &entries[count++];
		e->id = arena_printf(arena, "%lld", (long long)sqlite3_column_int64(stmt, 0));
		e->sender = queue_column_text(arena, stmt, 1);
		e->created = sqlite3_column_int64(stmt, 2);
		e->size = (size_t)sqlite3_column_int64(stmt, 3);
		e->envid = NULL;
		e->ret = 0;
		if (queue_load_recipients(queue, arena, e, sqlite3_column_int64(stmt, 0), -1,
					  error_r) < 0) {
			sqlite3_finalize(stmt);
			queue_rollback(queue);
			return -1;
		}
	}
	sqlite3_finalize(stmt);
	queue_rollback(queue);
	if (rc != SQLITE_DONE)
		return queue_fail(queue, error_r, "list");
	*entries_r = entries;
	*count_r = count;
	return 0;
}

int queue_flush(struct queue *queue, size_t *count_r, const char **error_r)
{
	if (queue_exec(queue, "UPDATE recipient SET next_attempt = 0 WHERE state = 0",
		       error_r) < 0)
		return -1;
	*count_r = (size_t)sqlite3_changes(queue->db);
	return 0;
}

/* The entry id as written by queue_submit (digits), or -1. */
static long long queue_parse_id(const char *id)
{
	char *end;
	long long n;

	if (id[0] < '0' || id[0] > '9')
		return -1;
	errno = 0;
	n = strtoll(id, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : n;
}

int queue_delete(struct queue *queue, const char *id, const char **error_r)
{
	long long n = queue_parse_id(id);
	int changed;

	if (n < 0) {
		*error_r = "no such queue entry";
		return -2;
	}
	if (queue_exec(queue, "BEGIN IMMEDIATE", error_r) < 0)
		return -1;
	sqlite3_stmt *m = queue_prepare(queue, "DELETE FROM message WHERE id = ?", error_r);
	sqlite3_stmt *r = queue_prepare(queue, "DELETE FROM recipient WHERE message_id = ?",
					error_r);
	if (m == NULL || r == NULL)
		goto fail;
	sqlite3_bind_int64(m, 1, n);
	sqlite3_bind_int64(r, 1, n);
	if (sqlite3_step(m) != SQLITE_DONE)
		goto fail_sql;
	changed = sqlite3_changes(queue->db);
	if (sqlite3_step(r) != SQLITE_DONE)
		goto fail_sql;
	sqlite3_finalize(m);
	sqlite3_finalize(r);
	if (queue_exec(queue, "COMMIT", error_r) < 0) {
		queue_rollback(queue);
		return -1;
	}
	if (changed == 0) {
		*error_r = "no such queue entry";
		return -2;
	}
	return 0;
fail_sql:
	(void)queue_fail(queue, error_r, "delete");
fail:
	sqlite3_finalize(m);
	sqlite3_finalize(r);
	queue_rollback(queue);
	return -1;
}

/* ---- for the runner ---------------------------------------------------------- */

int queue_due_list(struct queue *queue, long long now, struct arena *arena,
		   struct queue_due **due_r, size_t *count_r, const char **error_r)
{
	sqlite3_stmt *stmt = queue_prepare(queue,
		"SELECT message_id, address, domain, notify, orcpt FROM recipient "
		"WHERE state = 0 AND next_attempt <= ? ORDER BY domain, message_id LIMIT ?",
		error_r);
	struct queue_due *due;
	size_t count = 0;
	int rc;

	if (stmt == NULL)
		return -1;
	due = arena_alloc(arena, QUEUE_SCAN_MAX * sizeof(*due));
	sqlite3_bind_int64(stmt, 1, now);
	sqlite3_bind_int(stmt, 2, QUEUE_SCAN_MAX);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && count < QUEUE_SCAN_MAX) {
		due[count].message_id = sqlite3_column_int64(stmt, 0);
		due[count].address = queue_column_text(arena, stmt, 1);
		due[count].domain = queue_column_text(arena, stmt, 2);
		due[count].notify = (unsigned)sqlite3_column_int(stmt, 3);
		due[count].orcpt = queue_column_text_or_null(arena, stmt, 4);
		count++;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return queue_fail(queue, error_r, "due");
	*due_r = due;
	*count_r = count;
	return 0;
}

int queue_next_due(struct queue *queue, long long *when_r, const char **error_r)
{
	sqlite3_stmt *stmt = queue_prepare(queue,
		"SELECT min(next_attempt) FROM recipient WHERE state = 0", error_r);

	if (stmt == NULL)
		return -1;
	*when_r = 0;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		*when_r = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return 0;
}

int queue_message_get(struct queue *queue, int64_t message_id, struct arena *arena,
		      struct queue_entry *entry_r, const char **data_r, const char **error_r)
{
	sqlite3_stmt *stmt = queue_prepare(queue,
		"SELECT sender, created, size, data, envid, ret FROM message WHERE id = ?",
		error_r);
	int rc;

	if (stmt == NULL)
		return -1;
	memset(entry_r, 0, sizeof(*entry_r));
	sqlite3_bind_int64(stmt, 1, message_id);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(stmt);
		if (rc == SQLITE_DONE) {
			*error_r = "no such queue entry";
			return -2;
		}
		return queue_fail(queue, error_r, "read message");
	}
	entry_r->id = arena_printf(arena, "%lld", (long long)message_id);
	entry_r->sender = queue_column_text(arena, stmt, 0);
	entry_r->created = sqlite3_column_int64(stmt, 1);
	entry_r->size = (size_t)sqlite3_column_bytes(stmt, 3);
	entry_r->envid = queue_column_text_or_null(arena, stmt, 4);
	entry_r->ret = sqlite3_column_int(stmt, 5);
	*data_r = arena_memdup(arena, sqlite3_column_blob(stmt, 3), entry_r->size);
	sqlite3_finalize(stmt);
	return 0;
}

int queue_record(struct queue *queue, int64_t message_id, const struct queue_result *results,
		 size_t count, long long now, const char **error_r)
{
	sqlite3_stmt *created = NULL, *attempts = NULL, *update = NULL;
	long long born = now;

	if (queue_exec(queue, "BEGIN IMMEDIATE", error_r) < 0)
		return -1;
	created = queue_prepare(queue, "SELECT created FROM message WHERE id = ?", error_r);
	attempts = queue_prepare(queue, "SELECT attempts, notify, delay_reported FROM recipient "
				 "WHERE message_id = ? AND address = ? AND state = 0", error_r);
	update = queue_prepare(queue, "UPDATE recipient SET state = ?, attempts = ?, "
			       "next_attempt = ?, last_reply = ? WHERE message_id = ? AND address = ?",
			       error_r);
	if (created == NULL || attempts == NULL || update == NULL)
		goto fail;
	sqlite3_bind_int64(created, 1, message_id);
	if (sqlite3_step(created) == SQLITE_ROW)
		born = sqlite3_column_int64(created, 0);
	for (size_t i = 0; i < count; i++) {
		const struct queue_result *r = &results[i];
		enum queue_state state = r->state;
		const char *reply = r->reply;
		char expired[QUEUE_REPLY_MAX];
		unsigned tries;
		sqlite3_reset(attempts);
		sqlite3_bind_int64(attempts, 1, message_id);
		sqlite3_bind_text(attempts, 2, r->address, -1, SQLITE_STATIC);
		if (sqlite3_step(attempts) != SQLITE_ROW)
			continue; /* deleted or settled meanwhile */
		tries = (unsigned)sqlite3_column_int(attempts, 0) + 1;
		unsigned notify = (unsigned)sqlite3_column_int(attempts, 1);
		bool delay_reported = sqlite3_column_int(attempts, 2) != 0;
		if (state == QUEUE_PENDING && now - born >= (long long)queue->lifetime) {
			/* RFC 5321 §4.5.4.1: give up after the queue's lifetime. */
			state = QUEUE_FAILED;
			snprintf(expired, sizeof(expired), "4.4.7 gave up after %lld hours; last: %s",
				 (now - born) / 3600, reply);
			reply = expired;
		}
		sqlite3_reset(update);
		sqlite3_bind_int(update, 1, (int)state);
		sqlite3_bind_int(update, 2, (int)tries);
		long long next = now + queue_retry_delay(tries, queue->retry_base);
		long long warn = born + (long long)queue->dsn_delay;
		/* RFC 3461 §5.2.5: the "delayed" DSN goes out after an attempt;
		 * make one happen when dsn_delay is reached, not at whatever
		 * backoff step comes after it. */
		if (!delay_reported && dsn_notify_wants(notify, DSN_NOTIFY_DELAY) && warn > now &&
		    warn < next)
			next = warn;
		sqlite3_bind_int64(update, 3, state == QUEUE_PENDING ? next : now);
		sqlite3_bind_text(update, 4, reply, -1, SQLITE_STATIC);
		sqlite3_bind_int64(update, 5, message_id);
		sqlite3_bind_text(update, 6, r->address, -1, SQLITE_STATIC);
		if (sqlite3_step(update) != SQLITE_DONE) {
			(void)queue_fail(queue, error_r, "record");
			goto fail;
		}
	}
	sqlite3_finalize(created);
	sqlite3_finalize(attempts);
	sqlite3_finalize(update);
	if (queue_exec(queue, "COMMIT", error_r) < 0) {
		queue_rollback(queue);
		return -1;
	}
	return 0;
fail:
	sqlite3_finalize(created);
	sqlite3_finalize(attempts);
	sqlite3_finalize(update);
	queue_rollback(queue);
	return -1;
}

int queue_failed_list(struct queue *queue, int64_t message_id, struct arena *arena,
		      struct queue_entry *entry_r, const char **error_r)
{
	const char *data;
	int r = queue_message_get(queue, message_id, arena, entry_r, &data, error_r);

	if (r < 0)
		return r;
	return queue_load_recipients(queue, arena, entry_r, message_id, QUEUE_FAILED, error_r);
}

int queue_settle(struct queue *queue, int64_t message_id, const char **error_r)
{
	char *sql = sqlite3_mprintf(
		"BEGIN IMMEDIATE;"
		"UPDATE recipient SET state = 3 WHERE message_id = %lld AND state = 2;"
		"DELETE FROM message WHERE id = %lld AND NOT EXISTS (SELECT 1 FROM recipient "
		" WHERE message_id = %lld AND state = 0);"
		"DELETE FROM recipient WHERE message_id = %lld AND NOT EXISTS (SELECT 1 FROM "
		" message WHERE id = %lld);"
		"COMMIT;", (long long)message_id, (long long)message_id, (long long)message_id,
		(long long)message_id, (long long)message_id);
	int e = sqlite3_exec(queue->db, sql, NULL, NULL, NULL);

	sqlite3_free(sql);
	if (e != SQLITE_OK) {
		queue_rollback(queue);
		return queue_fail(queue, error_r, "settle");
	}
	return 0;
}

int queue_recipients_list(struct queue *queue, int64_t message_id, struct arena *arena,
			  struct queue_entry *entry_r, const char **error_r)
{
	const char *data;
	int r = queue_message_get(queue, message_id, arena, entry_r, &data, error_r);

	if (r < 0)
		return r;
	return queue_load_recipients(queue, arena, entry_r, message_id, -1, error_r);
}

int queue_mark_delay_reported(struct queue *queue, int64_t message_id,
			      const char *const *addresses, size_t count, const char **error_r)
{
	sqlite3_stmt *stmt;

	if (queue_exec(queue, "BEGIN IMMEDIATE", error_r) < 0)
		return -1;
	stmt = queue_prepare(queue, "UPDATE recipient SET delay_reported = 1 "
			     "WHERE message_id = ? AND address = ?", error_r);
	if (stmt == NULL) {
		queue_rollback(queue);
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		sqlite3_reset(stmt);
		sqlite3_bind_int64(stmt, 1, message_id);
		sqlite3_bind_text(stmt, 2, addresses[i], -1, SQLITE_STATIC);
		if (sqlite3_step(stmt) != SQLITE_DONE) {
			sqlite3_finalize(stmt);
			(void)queue_fail(queue, error_r, "mark delay reported");
			queue_rollback(queue);
			return -1;
		}
	}
	sqlite3_finalize(stmt);
	if (queue_exec(queue, "COMMIT", error_r) < 0) {
		queue_rollback(queue);
		return -1;
	}
	return 0;
}
