/*
 * sqlite-deliver: local delivery (store.h store_message_deliver), the one
 * way SMTP, LMTP, `buzon deliver` and bounces put mail in INBOXes.
 *
 * The message is parsed once (rule 2) before the write lock is taken, and
 * stored as ONE blob (bytes, parse results, full-text row) that every
 * recipient's INBOX row refers to: a message to a hundred local users costs
 * one copy. Everything is one transaction with one fsync (rule 1); after
 * COMMIT each INBOX is published on the bus (rule 4) by sqlite_commit.
 * store_message_deliver_batch puts many deliveries in one transaction (group
 * commit: one fsync for all), each under a savepoint of its own. The
 * row helpers are sqlite-message.c's, shared through sqlite-private.h.
 */
#include "store/sqlite/sqlite-private.h"

#include "mime/mime.h"

#include <stdio.h>

/* Inside the write transaction: the blob once, then one row per INBOX
 * whose account has room for it (the others get uids_r[i] = 0). */
static int sqlite_deliver_all(struct sqlite_store *store, const int64_t *account_ids, size_t count,
			      const struct store_new_message *m, const struct mime_message *parsed,
			      const char *parts, uint32_t *uids_r, struct arena *arena)
{
	int64_t blob_id = 0;
	int rc = STORE_OK;

	for (size_t i = 0; rc == STORE_OK && i < count; i++) {
		struct store_mailbox inbox;
		struct store_quota quota;
		uint64_t modseq;
		int64_t account_id;
		uint32_t uidvalidity;

		uids_r[i] = 0;
		rc = sqlite_quota_read(store, account_ids[i], &quota);
		if (rc == STORE_OK && !store_quota_allows(&quota, m->size, 1))
			continue;
		if (rc == STORE_OK)
			rc = sqlite_store_mailbox_find(&store->base, account_ids[i], "INBOX",
						       arena, &inbox, NULL);
		if (rc == STORE_OK)
			rc = sqlite_mailbox_touch(store, inbox.id, &modseq, &account_id);
		if (rc == STORE_OK)
			rc = sqlite_mailbox_reserve_uids(store, inbox.id, 1, &uids_r[i], &uidvalidity);
		if (rc == STORE_OK && blob_id == 0) {
			rc = sqlite_insert_blob(store, account_id, m, parsed, parts, &blob_id);
			if (rc == STORE_OK)
				rc = sqlite_insert_content(store, blob_id, m, parsed);
		}
		if (rc == STORE_OK)
			rc = sqlite_insert_message(store, account_id, inbox.id, uids_r[i], modseq,
						   blob_id, m, arena);
	}
	if (rc == STORE_OK && blob_id == 0)
		rc = sqlite_fail(store, STORE_EOVERQUOTA, "over quota");
	return rc;
}

/* Run one SQL_SAVEPOINT* statement. */
static int sqlite_savepoint(struct sqlite_store *store, enum sqlite_sql id)
{
	sqlite3_stmt *stmt = sqlite_stmt(store, id);

	if (stmt == NULL)
		return STORE_EFAIL;
	return sqlite_exec(store, stmt, "savepoint");
}

/* Inside the batch's transaction: one delivery under a savepoint, so that
 * a delivery that fails (an account without INBOX, a UID space used up)
 * is undone alone. The touched list is cut back too: a mailbox bump that
 * was rolled back must not be reused by a later delivery, nor published.
 * Returns < 0 only when the transaction itself is lost. */
static int sqlite_deliver_one(struct sqlite_store *store, struct store_delivery *d,
			      const struct mime_message *parsed, const char *parts,
			      struct arena *arena)
{
	const struct store_new_message m = {
		.data = d->data, .size = d->size, .internal_date = d->internal_date,
	};
	size_t touched = store->touched.count;
	int rc = sqlite_savepoint(store, SQL_SAVEPOINT);

	if (rc < 0)
		return rc;
	if (d->count == 0)
		rc = sqlite_fail(store, STORE_EINVALID, "no recipients");
	else
		rc = sqlite_deliver_all(store, d->account_ids, d->count, &m, parsed, parts,
					d->uids_r, arena);
	d->rc_r = rc;
	if (rc == STORE_OK)
		return sqlite_savepoint(store, SQL_SAVEPOINT_RELEASE);
	snprintf(d->error_r, sizeof(d->error_r), "%.*s", (int)sizeof(d->error_r) - 1,
		 store->error);
	store->touched.count = touched;
	if (sqlite_savepoint(store, SQL_SAVEPOINT_ROLLBACK) < 0 ||
	    sqlite_savepoint(store, SQL_SAVEPOINT_RELEASE) < 0)
		return STORE_EFAIL;
	return STORE_OK;
}

int sqlite_store_message_deliver_batch(struct store *base, struct store_delivery *deliveries,
				       size_t count, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	struct arena *arena = arena_new();
	struct mime_message **parsed = arena_alloc(arena, (count + 1) * sizeof(*parsed));
	const char **parts = arena_alloc(arena, (count + 1) * sizeof(*parts));
	int rc;

	/* Rule 2, before the write lock: parsing holds nobody up. */
	for (size_t i = 0; i < count; i++) {
		parsed[i] = mime_parse_message(arena, deliveries[i].data, deliveries[i].size);
		parts[i] = mime_parts_serialize(arena, parsed[i]->parts, parsed[i]->part_count);
	}
	rc = sqlite_begin_write(store);
	for (size_t i = 0; rc == STORE_OK && i < count; i++)
		rc = sqlite_deliver_one(store, &deliveries[i], parsed[i], parts[i], arena);
	if (rc == STORE_OK)
		rc = sqlite_commit(store);
	else
		sqlite_rollback(store);
	if (rc < 0) {
		for (size_t i = 0; i < count; i++) {
			deliveries[i].rc_r = rc;
			snprintf(deliveries[i].error_r, sizeof(deliveries[i].error_r), "%.*s",
				 (int)sizeof(deliveries[i].error_r) - 1,
				 store->error);
		}
	}
	arena_free(arena);
	return sqlite_result(store, rc, error_r);
}

int sqlite_store_message_deliver(struct store *base, const int64_t *account_ids, size_t count,
				 const char *data, size_t size, int64_t internal_date,
				 uint32_t *uids_r, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	struct store_delivery d = {
		.account_ids = account_ids, .count = count, .data = data, .size = size,
		.internal_date = internal_date, .uids_r = uids_r,
	};
	int rc = sqlite_store_message_deliver_batch(&store->base, &d, 1, error_r);

	if (rc < 0)
		return rc;
	if (d.rc_r < 0) {
		/* The batch committed nothing; say why this one failed. */
		snprintf(store->error, sizeof(store->error), "%s", d.error_r);
		return sqlite_result(store, d.rc_r, error_r);
	}
	return STORE_OK;
}
