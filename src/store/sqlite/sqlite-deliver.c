/*
 * sqlite-deliver: local delivery (store.h store_message_deliver), the one
 * way SMTP, LMTP, `buzon deliver` and bounces put mail in INBOXes.
 *
 * The message is parsed once (rule 2) before the write lock is taken, and
 * stored as ONE blob (bytes, parse results, full-text row) that every
 * recipient's INBOX row refers to: a message to a hundred local users costs
 * one copy. Everything is one transaction with one fsync (rule 1); after
 * COMMIT each INBOX is published on the bus (rule 4) by sqlite_commit. The
 * row helpers are sqlite-message.c's, shared through sqlite-private.h.
 */
#include "store/sqlite/sqlite-private.h"

#include "mime/mime.h"

/* Inside the write transaction: the blob once, then one row per INBOX. */
static int sqlite_deliver_all(struct store *store, const int64_t *account_ids, size_t count,
			      const struct store_new_message *m, const struct mime_message *parsed,
			      const char *parts, uint32_t *uids_r, struct arena *arena)
{
	int64_t blob_id = 0;
	int rc = STORE_OK;

	for (size_t i = 0; rc == STORE_OK && i < count; i++) {
		struct store_mailbox inbox;
		uint64_t modseq;
		int64_t account_id;
		uint32_t uidvalidity;

		rc = store_mailbox_find(store, account_ids[i], "INBOX", arena, &inbox, NULL);
		if (rc == STORE_OK)
			rc = sqlite_mailbox_touch(store, inbox.id, &modseq, &account_id);
		if (rc == STORE_OK)
			rc = sqlite_mailbox_reserve_uids(store, inbox.id, 1, &uids_r[i], &uidvalidity);
		if (rc == STORE_OK && i == 0) {
			rc = sqlite_insert_blob(store, account_id, m, parsed, parts, &blob_id);
			if (rc == STORE_OK)
				rc = sqlite_insert_content(store, blob_id, m, parsed);
		}
		if (rc == STORE_OK)
			rc = sqlite_insert_message(store, account_id, inbox.id, uids_r[i], modseq,
						   blob_id, m, arena);
	}
	return rc;
}

int store_message_deliver(struct store *store, const int64_t *account_ids, size_t count,
			  const char *data, size_t size, int64_t internal_date, uint32_t *uids_r,
			  const char **error_r)
{
	const struct store_new_message m = {
		.data = data, .size = size, .internal_date = internal_date,
	};
	struct arena *arena;
	int rc;

	if (count == 0)
		return sqlite_result(store, sqlite_fail(store, STORE_EINVALID, "no recipients"),
				     error_r);
	arena = arena_new();
	struct mime_message *parsed = mime_parse_message(arena, data, size);
	const char *parts = mime_parts_serialize(arena, parsed->parts, parsed->part_count);
	rc = sqlite_begin_write(store);
	if (rc == STORE_OK)
		rc = sqlite_finish(store, sqlite_deliver_all(store, account_ids, count, &m, parsed,
							     parts, uids_r, arena));
	arena_free(arena);
	return sqlite_result(store, rc, error_r);
}
