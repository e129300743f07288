/*
 * pg-txn: transactions and the one change counter (DESIGN.md rule 3), as
 * sqlite-txn.c does them, for many nodes at once.
 *
 * A write transaction bumps the HIGHESTMODSEQ of each mailbox it changes
 * once, at its first change, with UPDATE ... RETURNING: the row lock that
 * takes is held to COMMIT, so two nodes changing one mailbox queue on it and
 * the second sees the first's counters (READ COMMITTED re-reads a row it
 * waited for). UIDs are reserved the same way, so they are unique and
 * ascending in commit order whichever node appends. After COMMIT returned
 * (durable) each event is published on this process's bus; pg_feed_notify,
 * inside the transaction, tells the other nodes.
 */
#include "store/pg/pg-private.h"

#include <stdint.h>

static int pg_run(struct pg_store *store, enum pg_sql id, const char *what)
{
	return pg_exec(store, id, NULL, what, NULL);
}

int pg_begin_write(struct pg_store *store)
{
	int rc;

	array_clear(&store->touched);
	rc = pg_run(store, PG_BEGIN_WRITE, "begin write transaction");
	store->in_transaction = rc == STORE_OK;
	return rc;
}

int pg_begin_read(struct pg_store *store)
{
	int rc = pg_run(store, PG_BEGIN_READ, "begin read transaction");

	store->in_transaction = rc == STORE_OK;
	return rc;
}

int pg_commit(struct pg_store *store)
{
	int rc = STORE_OK;

	if (store->touched.count > 0)
		rc = pg_feed_notify(store);
	if (rc == STORE_OK)
		rc = pg_run(store, PG_COMMIT, "commit");
	if (rc < 0) {
		pg_rollback(store);
		return rc;
	}
	store->in_transaction = false;
	for (size_t i = 0; i < store->touched.count; i++) {
		const struct pg_touched *t = &store->touched.items[i];
		struct store_event event = { t->kind, t->account_id, t->mailbox_id, t->modseq };

		store_bus_publish(store->bus, &event);
	}
	array_clear(&store->touched);
	return STORE_OK;
}

void pg_rollback(struct pg_store *store)
{
	array_clear(&store->touched);
	if (store->in_transaction) {
		PQclear(PQexec(store->conn, "ROLLBACK"));
		store->in_transaction = false;
	}
}

int pg_finish(struct pg_store *store, int rc)
{
	if (rc < 0) {
		pg_rollback(store);
		return rc;
	}
	return pg_commit(store);
}

int pg_mailbox_touch(struct pg_store *store, int64_t mailbox_id, uint64_t *modseq_r)
{
	struct pg_touched t = { .account_id = pg_id_account(mailbox_id),
				.mailbox_id = mailbox_id, .kind = STORE_EVENT_MESSAGES };
	struct pg_params p;
	PGresult *res;
	int rc;

	for (size_t i = 0; i < store->touched.count; i++) {
		if (store->touched.items[i].kind == STORE_EVENT_MESSAGES &&
		    store->touched.items[i].mailbox_id == mailbox_id) {
			*modseq_r = store->touched.items[i].modseq;
			return STORE_OK;
		}
	}
	pg_params_init(&p);
	pg_param_int(&p, t.account_id);
	pg_param_int(&p, mailbox_id);
	if ((rc = pg_exec(store, PG_MAILBOX_TOUCH, &p, "bump modseq", &res)) < 0)
		return rc;
	if (PQntuples(res) == 1)
		t.modseq = (uint64_t)pg_int(res, 0, 0);
	else
		rc = pg_fail(store, STORE_ENOTFOUND, "no mailbox %lld", (long long)mailbox_id);
	PQclear(res);
	if (rc < 0)
		return rc;
	array_push(&store->touched, t);
	*modseq_r = t.modseq;
	return STORE_OK;
}

void pg_note_event(struct pg_store *store, enum store_event_kind kind, int64_t account_id,
		   int64_t mailbox_id)
{
	struct pg_touched t = { account_id, mailbox_id, 0, kind };

	for (size_t i = 0; i < store->touched.count; i++) {
		const struct pg_touched *o = &store->touched.items[i];

		if (o->kind == kind && o->account_id == account_id && o->mailbox_id == mailbox_id)
			return;
	}
	array_push(&store->touched, t);
}

int pg_mailbox_reserve_uids(struct pg_store *store, int64_t mailbox_id, size_t count,
			    uint32_t *first_r, uint32_t *uidvalidity_r)
{
	struct pg_params p;
	PGresult *res;
	int64_t uidnext;
	int rc;

	if (count > UINT32_MAX)
		return pg_fail(store, STORE_EINVALID, "too many messages");
	pg_params_init(&p);
	pg_param_int(&p, pg_id_account(mailbox_id));
	pg_param_int(&p, mailbox_id);
	pg_param_int(&p, (int64_t)count);
	if ((rc = pg_exec(store, PG_MAILBOX_RESERVE_UIDS, &p, "reserve uids", &res)) < 0)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return pg_fail(store, STORE_ENOTFOUND, "no mailbox %lld", (long long)mailbox_id);
	}
	uidnext = pg_int(res, 0, 0);
	if (uidvalidity_r != NULL)
		*uidvalidity_r = (uint32_t)pg_int(res, 0, 1);
	PQclear(res);
	/* UIDs are 32-bit (RFC 9051 §2.3.1.1); the caller rolls back. */
	if (uidnext > (int64_t)UINT32_MAX)
		return pg_fail(store, STORE_EINVALID, "mailbox has run out of UIDs");
	*first_r = (uint32_t)(uidnext - (int64_t)count);
	return STORE_OK;
}

/* Group commit (store.h store_group_begin): this back end does not group
 * yet; each call in the group commits on its own, as store.h allows (the
 * same result with more round trips and fsyncs). The writer thread still
 * takes the writes off the event loops. A grouped version would BEGIN
 * here, SAVEPOINT around each call, and COMMIT then NOTIFY in commit. */
int pg_store_group_begin(struct store *store, const char **error_r)
{
	return STORE_OK;
}

int pg_store_group_commit(struct store *store, const char **error_r)
{
	return STORE_OK;
}

void pg_store_group_rollback(struct store *store)
{
}
