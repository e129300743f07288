/*
 * sqlite-txn: transactions, and the one change counter (DESIGN.md rule 3).
 *
 * A write transaction bumps the HIGHESTMODSEQ of each mailbox it changes
 * exactly once, at the first change, and stamps every changed message and
 * expunged row with that value. The touched mailboxes are remembered, and
 * only after COMMIT has returned (the change is durable) is each published
 * on the bus (rule 4): a watcher never hears of a change it cannot yet read.
 *
 * The same events go into the change log inside the transaction, stamped
 * with this process's bus origin, so a server in another process reads them
 * from there (sqlite-feed.c) once they are committed, and never before.
 */
#include "store/sqlite/sqlite-private.h"

#include <stdint.h>

/* Change log rows kept: the newest this many. A feed polls a few times a
 * second, and no burst of commits between two polls comes near this; one
 * that did is noticed (a gap in the ids) and handled as "everything may
 * have changed". */
#define SQLITE_CHANGE_LOG_KEEP 4096

static int sqlite_run(struct sqlite_store *store, enum sqlite_sql id, const char *what)
{
	sqlite3_stmt *stmt = sqlite_stmt(store, id);

	if (stmt == NULL)
		return STORE_EFAIL;
	return sqlite_exec(store, stmt, what);
}

/* Inside a group: a savepoint instead of a transaction (see struct
 * store). The outermost one starts a job: its first change to a mailbox
 * bumps the modseq again. */
static int sqlite_group_enter(struct sqlite_store *store)
{
	int rc;

	if (store->depth == SQLITE_GROUP_DEPTH_MAX)
		return sqlite_fail(store, STORE_EFAIL, "store calls nested too deep in a group");
	if ((rc = sqlite_run(store, SQL_JOB_SAVEPOINT, "savepoint")) < 0)
		return rc;
	if (store->depth == 0)
		store->job_mark = store->touched.count;
	store->marks[store->depth++] = store->touched.count;
	return STORE_OK;
}

int sqlite_begin_write(struct sqlite_store *store)
{
	if (store->group)
		return sqlite_group_enter(store);
	array_clear(&store->touched);
	return sqlite_run(store, SQL_BEGIN_WRITE, "begin write transaction");
}

int sqlite_begin_read(struct sqlite_store *store)
{
	/* the group's write transaction sees everything a read would */
	if (store->group)
		return sqlite_group_enter(store);
	return sqlite_run(store, SQL_BEGIN_READ, "begin read transaction");
}

/* Inside the write transaction, before COMMIT: one change log row per
 * event, then the old rows out. */
static int sqlite_write_change_log(struct sqlite_store *store)
{
	int64_t origin = (int64_t)store_bus_origin(store->bus);
	sqlite3_stmt *stmt;
	int rc;

	for (size_t i = 0; i < store->touched.count; i++) {
		const struct sqlite_touched *t = &store->touched.items[i];

		if ((stmt = sqlite_stmt(store, SQL_CHANGE_LOG_INSERT)) == NULL)
			return STORE_EFAIL;
		sqlite3_bind_int64(stmt, 1, origin);
		sqlite3_bind_int(stmt, 2, (int)t->kind);
		sqlite3_bind_int64(stmt, 3, t->account_id);
		sqlite3_bind_int64(stmt, 4, t->mailbox_id);
		sqlite3_bind_int64(stmt, 5, (int64_t)t->modseq);
		if ((rc = sqlite_exec(store, stmt, "change log")) < 0)
			return rc;
	}
	if ((stmt = sqlite_stmt(store, SQL_CHANGE_LOG_PRUNE)) == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, SQLITE_CHANGE_LOG_KEEP);
	return sqlite_exec(store, stmt, "prune change log");
}

int sqlite_commit(struct sqlite_store *store)
{
	int rc = STORE_OK;

	if (store->group) {
		/* the group's COMMIT writes the log and publishes */
		if (store->depth == 0)
			return sqlite_fail(store, STORE_EFAIL, "commit outside a transaction");
		if ((rc = sqlite_run(store, SQL_JOB_RELEASE, "release savepoint")) < 0) {
			sqlite_rollback(store);
			return rc;
		}
		store->depth--;
		return STORE_OK;
	}

	if (store->touched.count > 0)
		rc = sqlite_write_change_log(store);
	if (rc == STORE_OK)
		rc = sqlite_run(store, SQL_COMMIT, "commit");
	if (rc < 0) {
		sqlite_rollback(store);
		return rc;
	}
	for (size_t i = 0; i < store->touched.count; i++) {
		const struct sqlite_touched *t = &store->touched.items[i];
		struct store_event event = { t->kind, t->account_id, t->mailbox_id, t->modseq };

		store_bus_publish(store->bus, &event);
	}
	array_clear(&store->touched);
	return STORE_OK;
}

/* Step one statement whose failure the caller cannot act on any more. */
static void sqlite_run_quietly(struct sqlite_store *store, enum sqlite_sql id)
{
	sqlite3_stmt *stmt = sqlite_stmt(store, id);

	if (stmt != NULL) {
		sqlite3_step(stmt);
		sqlite3_reset(stmt);
	}
}

void sqlite_rollback(struct sqlite_store *store)
{
	if (store->group) {
		/* undo this savepoint alone; the group goes on */
		if (store->depth == 0)
			return;
		store->touched.count = store->marks[--store->depth];
		sqlite_run_quietly(store, SQL_JOB_ROLLBACK);
		sqlite_run_quietly(store, SQL_JOB_RELEASE);
		return;
	}
	array_clear(&store->touched);
	if (!sqlite3_get_autocommit(store->db)) {
		sqlite3_stmt *stmt = sqlite_stmt(store, SQL_ROLLBACK);

		if (stmt != NULL) {
			sqlite3_step(stmt);
			sqlite3_reset(stmt);
		}
	}
}

int sqlite_mailbox_touch(struct sqlite_store *store, int64_t mailbox_id, uint64_t *modseq_r,
			 int64_t *account_id_r)
{
	struct sqlite_touched t = { .mailbox_id = mailbox_id, .kind = STORE_EVENT_MESSAGES };
	sqlite3_stmt *stmt;
	int rc;

	for (size_t i = store->group ? store->job_mark : 0; i < store->touched.count; i++) {
		if (store->touched.items[i].kind == STORE_EVENT_MESSAGES &&
		    store->touched.items[i].mailbox_id == mailbox_id) {
			*modseq_r = store->touched.items[i].modseq;
			if (account_id_r != NULL)
				*account_id_r = store->touched.items[i].account_id;
			return STORE_OK;
		}
	}
	if ((stmt = sqlite_stmt(store, SQL_MAILBOX_TOUCH)) == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		t.account_id = sqlite3_column_int64(stmt, 0);
		t.modseq = (uint64_t)sqlite3_column_int64(stmt, 1);
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return sqlite_fail(store, STORE_ENOTFOUND, "no mailbox %lld", (long long)mailbox_id);
	if (rc != SQLITE_ROW)
		return sqlite_fail_db(store, "bump modseq");
	array_push(&store->touched, t);
	*modseq_r = t.modseq;
	if (account_id_r != NULL)
		*account_id_r = t.account_id;
	return STORE_OK;
}

void sqlite_note_event(struct sqlite_store *store, enum store_event_kind kind, int64_t account_id,
		       int64_t mailbox_id)
{
	struct sqlite_touched t = { account_id, mailbox_id, 0, kind };

	for (size_t i = 0; i < store->touched.count; i++) {
		const struct sqlite_touched *o = &store->touched.items[i];

		if (o->kind == kind && o->account_id == account_id && o->mailbox_id == mailbox_id)
			return;
	}
	array_push(&store->touched, t);
}

int sqlite_mailbox_reserve_uids(struct sqlite_store *store, int64_t mailbox_id, size_t count,
				uint32_t *first_r, uint32_t *uidvalidity_r)
{
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_MAILBOX_RESERVE_UIDS);
	int64_t uidnext = 0;
	uint32_t uidvalidity = 0;
	int rc;

	if (stmt == NULL)
		return STORE_EFAIL;
	if (count > UINT32_MAX)
		return sqlite_fail(store, STORE_EINVALID, "too many messages");
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, (int64_t)count);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		uidnext = sqlite3_column_int64(stmt, 0);
		uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 1);
	}
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return sqlite_fail(store, STORE_ENOTFOUND, "no mailbox %lld", (long long)mailbox_id);
	if (rc != SQLITE_ROW)
		return sqlite_fail_db(store, "reserve uids");
	/* UIDs are 32-bit (RFC 9051 §2.3.1.1) and UIDNEXT must stay one too;
	 * the caller rolls back, so nothing was taken. */
	if (uidnext > (int64_t)UINT32_MAX)
		return sqlite_fail(store, STORE_EINVALID, "mailbox has run out of UIDs");
	*first_r = (uint32_t)(uidnext - (int64_t)count);
	if (uidvalidity_r != NULL)
		*uidvalidity_r = uidvalidity;
	return STORE_OK;
}

int sqlite_finish(struct sqlite_store *store, int rc)
{
	if (rc < 0) {
		sqlite_rollback(store);
		return rc;
	}
	return sqlite_commit(store);
}

int sqlite_store_group_begin(struct store *base, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	int rc;

	if (store->group)
		return sqlite_result(store, sqlite_fail(store, STORE_EINVALID, "group already open"),
				     error_r);
	if ((rc = sqlite_begin_write(store)) < 0)
		return sqlite_result(store, rc, error_r);
	store->group = true;
	store->depth = 0;
	store->job_mark = 0;
	return STORE_OK;
}

int sqlite_store_group_commit(struct store *base, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);

	if (!store->group)
		return sqlite_result(store, sqlite_fail(store, STORE_EINVALID, "no group open"),
				     error_r);
	store->group = false;
	if (store->depth > 0) {
		/* a job left a savepoint open: our bug; keep nothing of it */
		store->depth = 0;
		sqlite_rollback(store);
		return sqlite_result(store, sqlite_fail(store, STORE_EFAIL, "unbalanced savepoints"),
				     error_r);
	}
	return sqlite_result(store, sqlite_commit(store), error_r);
}

void sqlite_store_group_rollback(struct store *base)
{
	struct sqlite_store *store = sqlite_store_of(base);

	if (!store->group)
		return;
	store->group = false;
	store->depth = 0;
	sqlite_rollback(store);
}
