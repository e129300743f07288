/*
 * pg-deliver: local delivery (store.h store_message_deliver), the one way
 * SMTP, LMTP, `buzon deliver` and bounces put mail in INBOXes.
 *
 * The message is parsed once (rule 2) before the transaction starts. Each
 * recipient account gets its own blob of it (written from the one parse,
 * so each account's mail stays in its shard, pg-open.c); everything is one
 * transaction, durable at COMMIT (rule 1). store_message_deliver_batch puts
 * many deliveries in one transaction (group commit: one WAL flush for all),
 * each under a savepoint of its own, as the SQLite back end does.
 */
#include "store/pg/pg-private.h"

#include <stdio.h>

#include "mime/mime.h"

/* Inside the write transaction: a blob and a row per INBOX whose account
 * has room for it (the others get uids_r[i] = 0). */
static int pg_deliver_all(struct pg_store *store, const int64_t *account_ids, size_t count,
			  const struct store_new_message *m, const struct mime_message *parsed,
			  const char *parts, uint32_t *uids_r, struct arena *arena)
{
	size_t stored = 0;
	int rc = STORE_OK;

	for (size_t i = 0; rc == STORE_OK && i < count; i++) {
		struct store_mailbox inbox;
		struct store_quota quota;
		uint64_t modseq;
		uint32_t uidvalidity;
		int64_t blob_id;

		uids_r[i] = 0;
		rc = pg_quota_read(store, account_ids[i], &quota);
		if (rc == STORE_OK && !store_quota_allows(&quota, m->size, 1))
			continue;
		if (rc == STORE_OK)
			rc = pg_store_mailbox_find(&store->base, account_ids[i], "INBOX", arena,
						   &inbox, NULL);
		if (rc == STORE_OK)
			rc = pg_mailbox_touch(store, inbox.id, &modseq);
		if (rc == STORE_OK)
			rc = pg_mailbox_reserve_uids(store, inbox.id, 1, &uids_r[i], &uidvalidity);
		if (rc == STORE_OK)
			rc = pg_blob_store(store, account_ids[i], m, parsed, parts, &blob_id);
		if (rc == STORE_OK)
			rc = pg_insert_message(store, inbox.id, uids_r[i], modseq, blob_id, m, arena);
		stored += rc == STORE_OK;
	}
	if (rc == STORE_OK && stored == 0)
		rc = pg_fail(store, STORE_EOVERQUOTA, "over quota");
	return rc;
}

/* One delivery under a savepoint, undone alone when it fails; the events
 * it noted are forgotten with it. < 0 only when the transaction is lost. */
static int pg_deliver_one(struct pg_store *store, struct store_delivery *d,
			  const struct mime_message *parsed, const char *parts,
			  struct arena *arena)
{
	const struct store_new_message m = {
		.data = d->data, .size = d->size, .internal_date = d->internal_date,
	};
	size_t touched = store->touched.count;
	int rc = pg_exec(store, PG_SAVEPOINT, NULL, "savepoint", NULL);

	if (rc < 0)
		return rc;
	if (d->count == 0)
		rc = pg_fail(store, STORE_EINVALID, "no recipients");
	else
		rc = pg_deliver_all(store, d->account_ids, d->count, &m, parsed, parts, d->uids_r,
				    arena);
	d->rc_r = rc;
	if (rc == STORE_OK)
		return pg_exec(store, PG_SAVEPOINT_RELEASE, NULL, "savepoint", NULL);
	snprintf(d->error_r, sizeof(d->error_r), "%.*s", (int)sizeof(d->error_r) - 1,
		 store->error);
	store->touched.count = touched;
	if (pg_exec(store, PG_SAVEPOINT_ROLLBACK, NULL, "savepoint", NULL) < 0 ||
	    pg_exec(store, PG_SAVEPOINT_RELEASE, NULL, "savepoint", NULL) < 0)
		return STORE_EFAIL;
	return STORE_OK;
}

int pg_store_message_deliver_batch(struct store *base, struct store_delivery *deliveries,
				   size_t count, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	struct arena *arena = arena_new();
	struct mime_message **parsed = arena_alloc(arena, (count + 1) * sizeof(*parsed));
	const char **parts = arena_alloc(arena, (count + 1) * sizeof(*parts));
	int rc;

	/* Rule 2, before the transaction: parsing holds nobody up. */
	for (size_t i = 0; i < count; i++) {
		parsed[i] = mime_parse_message(arena, deliveries[i].data, deliveries[i].size);
		parts[i] = mime_parts_serialize(arena, parsed[i]->parts, parsed[i]->part_count);
	}
	rc = pg_begin_write(store);
	for (size_t i = 0; rc == STORE_OK && i < count; i++)
		rc = pg_deliver_one(store, &deliveries[i], parsed[i], parts[i], arena);
	if (rc == STORE_OK)
		rc = pg_commit(store);
	else
		pg_rollback(store);
	if (rc < 0) {
		for (size_t i = 0; i < count; i++) {
			deliveries[i].rc_r = rc;
			snprintf(deliveries[i].error_r, sizeof(deliveries[i].error_r), "%.*s",
				 (int)sizeof(deliveries[i].error_r) - 1, store->error);
		}
	}
	arena_free(arena);
	return pg_result(store, rc, error_r);
}

int pg_store_message_deliver(struct store *base, const int64_t *account_ids, size_t count,
			     const char *data, size_t size, int64_t internal_date,
			     uint32_t *uids_r, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	struct store_delivery d = {
		.account_ids = account_ids, .count = count, .data = data, .size = size,
		.internal_date = internal_date, .uids_r = uids_r,
	};
	int rc = pg_store_message_deliver_batch(&store->base, &d, 1, error_r);

	if (rc < 0)
		return rc;
	if (d.rc_r < 0) {
		/* The batch committed nothing; say why this one failed. */
		snprintf(store->error, sizeof(store->error), "%s", d.error_r);
		return pg_result(store, d.rc_r, error_r);
	}
	return STORE_OK;
}
