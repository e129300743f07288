/*
 * sqlite-change: the writes that change existing messages: flags and
 * keywords (STORE, RFC 9051 §6.4.6, with RFC 7162's UNCHANGEDSINCE),
 * EXPUNGE / UID EXPUNGE (§6.4.3, §6.4.9), COPY (§6.4.7) and MOVE (RFC 9051
 * §6.4.8, RFC 6851).
 *
 * Each runs in one write transaction. A mailbox's modseq is bumped once per
 * transaction and only if something really changed (sqlite-txn.c). Expunged
 * UIDs are kept in the expunged table with the modseq of their removal, so
 * store_message_changes can report them (QRESYNC VANISHED). COPY shares the
 * blob: only a message row is written per copy.
 */
#include "store/sqlite/sqlite-private.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* System flags a message can carry (enum store_flag). */
#define SQLITE_FLAGS_MASK 0x1Fu
/* When the UIDs asked for cover at most this many UIDs of their range per
 * UID named (a sequence set like 1:* or 1:500), one range scan beats a
 * lookup per UID; sparser sets (5,900000) use lookups. */
#define SQLITE_DENSE_SPREAD 8

typedef ARRAY(struct store_message_state) sqlite_state_array;

static int sqlite_uid_compare(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

uint32_t *sqlite_uids_sorted(const uint32_t *uids, size_t count, size_t *count_r)
{
	uint32_t *sorted = mem_alloc((count ? count : 1) * sizeof(*sorted));
	size_t n = 0;

	if (count > 0)
		memcpy(sorted, uids, count * sizeof(*sorted));
	qsort(sorted, count, sizeof(*sorted), sqlite_uid_compare);
	for (size_t i = 0; i < count; i++) {
		if (n == 0 || sorted[n - 1] != sorted[i])
			sorted[n++] = sorted[i];
	}
	*count_r = n;
	return sorted;
}

/* Append the current row (uid, flags, modseq, keywords) to states;
 * keywords are copied into arena, or left out when arena is NULL. */
static void sqlite_state_push(sqlite_state_array *states, sqlite3_stmt *stmt,
			      struct arena *arena)
{
	struct store_message_state s = {
		.uid = (uint32_t)sqlite3_column_int64(stmt, 0),
		.flags = (unsigned)sqlite3_column_int(stmt, 1),
		.modseq = (uint64_t)sqlite3_column_int64(stmt, 2),
		.keywords = arena != NULL ? sqlite_column_strdup(arena, stmt, 3) : NULL,
	};

	array_push(states, s);
}

/* Dense sets: one scan over [first, last], keeping the UIDs asked for. */
static int sqlite_states_by_range(struct sqlite_store *store, int64_t mailbox_id,
				  const uint32_t *uids, size_t count, struct arena *arena,
				  sqlite_state_array *states)
{
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_MESSAGE_STATE_RANGE);
	size_t i = 0;
	int step;

	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, uids[0]);
	sqlite3_bind_int64(stmt, 3, uids[count - 1]);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		uint32_t uid = (uint32_t)sqlite3_column_int64(stmt, 0);

		while (i < count && uids[i] < uid)
			i++;
		if (i < count && uids[i] == uid)
			sqlite_state_push(states, stmt, arena);
	}
	sqlite3_reset(stmt);
	return step == SQLITE_DONE ? STORE_OK : sqlite_fail_db(store, "read messages");
}

/* Sparse sets: one primary-key lookup per UID. */
static int sqlite_states_by_uid(struct sqlite_store *store, int64_t mailbox_id,
				const uint32_t *uids, size_t count, struct arena *arena,
				sqlite_state_array *states)
{
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_MESSAGE_STATE_ONE);
	int step = SQLITE_DONE;

	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	for (size_t i = 0; i < count; i++) {
		sqlite3_bind_int64(stmt, 2, uids[i]);
		step = sqlite3_step(stmt);
		if (step == SQLITE_ROW)
			sqlite_state_push(states, stmt, arena);
		sqlite3_reset(stmt);
		if (step != SQLITE_ROW && step != SQLITE_DONE)
			return sqlite_fail_db(store, "read message");
	}
	return STORE_OK;
}

/* The messages that exist among sorted, duplicate-free uids, ascending. */
static int sqlite_states_of(struct sqlite_store *store, int64_t mailbox_id, const uint32_t *uids,
			    size_t count, struct arena *arena, sqlite_state_array *states)
{
	if (count == 0)
		return STORE_OK;
	if ((uids[count - 1] - uids[0]) / count <= SQLITE_DENSE_SPREAD)
		return sqlite_states_by_range(store, mailbox_id, uids, count, arena, states);
	return sqlite_states_by_uid(store, mailbox_id, uids, count, arena, states);
}

static unsigned sqlite_flags_apply(unsigned current, enum store_flags_op op, unsigned flags)
{
	flags &= SQLITE_FLAGS_MASK;
	switch (op) {
	case STORE_FLAGS_ADD:
		return current | flags;
	case STORE_FLAGS_REMOVE:
		return current & ~flags;
	case STORE_FLAGS_REPLACE:
		break;
	}
	return flags;
}

/* Apply the change to one message; *s becomes its resulting state. */
static int sqlite_flags_update(struct sqlite_store *store, int64_t mailbox_id,
			       struct store_message_state *s, enum store_flags_op op,
			       unsigned flags, const char *keywords, struct arena *arena)
{
	unsigned new_flags = sqlite_flags_apply(s->flags, op, flags);
	char *new_keywords = keyword_list_apply(arena, s->keywords, op, keywords);
	sqlite3_stmt *stmt;
	uint64_t modseq;
	int rc;

	if (new_flags == s->flags && keyword_list_equal(new_keywords, s->keywords))
		return STORE_OK;
	if ((rc = sqlite_mailbox_touch(store, mailbox_id, &modseq, NULL)) < 0)
		return rc;
	if ((stmt = sqlite_stmt(store, SQL_MESSAGE_SET_FLAGS)) == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, s->uid);
	sqlite3_bind_int(stmt, 3, (int)new_flags);
	sqlite3_bind_text(stmt, 4, new_keywords, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, (int64_t)modseq);
	if ((rc = sqlite_exec(store, stmt, "set flags")) < 0)
		return rc;
	s->flags = new_flags;
	s->keywords = new_keywords;
	s->modseq = modseq;
	return STORE_OK;
}

int sqlite_store_message_set_flags(struct store *base, int64_t mailbox_id, const uint32_t *uids,
				   size_t count, enum store_flags_op op, unsigned flags,
				   const char *keywords, uint64_t unchanged_since,
				   struct arena *arena, struct store_message_state **result_r,
				   size_t *result_count_r, uint32_t **failed_r,
				   size_t *failed_count_r, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	sqlite_state_array states = ARRAY_INIT;
	ARRAY(uint32_t) failed = ARRAY_INIT;
	size_t n;
	uint32_t *sorted = sqlite_uids_sorted(uids, count, &n);
	int rc = sqlite_begin_write(store);

	if (rc == STORE_OK) {
		rc = sqlite_mailbox_get(store, mailbox_id, NULL, NULL, NULL);
		if (rc == STORE_OK)
			rc = sqlite_states_of(store, mailbox_id, sorted, n, arena, &states);
		for (size_t i = 0; rc == STORE_OK && i < states.count; i++) {
			/* RFC 7162 §3.1.3: changed since the client looked: leave it. */
			if (unchanged_since > 0 && states.items[i].modseq > unchanged_since)
				array_push(&failed, states.items[i].uid);
			else
				rc = sqlite_flags_update(store, mailbox_id, &states.items[i], op,
							 flags, keywords, arena);
		}
		rc = sqlite_finish(store, rc);
	}
	*result_r = sqlite_arena_copy(arena, states.items, states.count * sizeof(*states.items));
	*result_count_r = rc == STORE_OK ? states.count : 0;
	*failed_r = sqlite_arena_copy(arena, failed.items, failed.count * sizeof(uint32_t));
	*failed_count_r = rc == STORE_OK ? failed.count : 0;
	array_free(&states);
	array_free(&failed);
	free(sorted);
	return sqlite_result(store, rc, error_r);
}

int sqlite_expunge_uids(struct sqlite_store *store, int64_t mailbox_id, const uint32_t *uids,
			size_t count)
{
	sqlite3_stmt *del, *rec;
	uint64_t modseq;
	int rc;

	if (count == 0)
		return STORE_OK;
	if ((rc = sqlite_mailbox_touch(store, mailbox_id, &modseq, NULL)) < 0)
		return rc;
	if ((del = sqlite_stmt(store, SQL_MESSAGE_DELETE)) == NULL ||
	    (rec = sqlite_stmt(store, SQL_EXPUNGED_INSERT)) == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(del, 1, mailbox_id);
	sqlite3_bind_int64(rec, 1, mailbox_id);
	sqlite3_bind_int64(rec, 3, (int64_t)modseq);
	for (size_t i = 0; rc == STORE_OK && i < count; i++) {
		sqlite3_bind_int64(del, 2, uids[i]);
		sqlite3_bind_int64(rec, 2, uids[i]);
		rc = sqlite_exec(store, del, "expunge");
		if (rc == STORE_OK)
			rc = sqlite_exec(store, rec, "record expunge");
	}
	return rc;
}

int sqlite_expunge_existing(struct sqlite_store *store, int64_t mailbox_id, uint32_t uid)
{
	sqlite_state_array states = ARRAY_INIT;
	int rc = sqlite_states_of(store, mailbox_id, &uid, 1, NULL, &states);

	if (rc == STORE_OK && states.count == 0)
		rc = sqlite_fail(store, STORE_ENOTFOUND, "no message %u to replace", uid);
	if (rc == STORE_OK)
		rc = sqlite_expunge_uids(store, mailbox_id, &uid, 1);
	array_free(&states);
	return rc;
}

/* The \Deleted messages of the mailbox: all, or among sorted uids. */
static int sqlite_deleted_uids(struct sqlite_store *store, int64_t mailbox_id, const uint32_t *uids,
			       size_t count, bool all, uint32_t **list_r, size_t *count_r)
{
	sqlite_state_array states = ARRAY_INIT;
	ARRAY(uint32_t) deleted = ARRAY_INIT;
	sqlite3_stmt *stmt;
	int rc = STORE_OK, step;

	if (all && (stmt = sqlite_stmt(store, SQL_MESSAGE_DELETED_ALL)) == NULL)
		rc = STORE_EFAIL;
	else if (all) {
		sqlite3_bind_int64(stmt, 1, mailbox_id);
		while ((step = sqlite3_step(stmt)) == SQLITE_ROW)
			array_push(&deleted, (uint32_t)sqlite3_column_int64(stmt, 0));
		sqlite3_reset(stmt);
		if (step != SQLITE_DONE)
			rc = sqlite_fail_db(store, "find deleted messages");
	} else {
		rc = sqlite_states_of(store, mailbox_id, uids, count, NULL, &states);
		for (size_t i = 0; i < states.count; i++) {
			if (states.items[i].flags & STORE_FLAG_DELETED)
				array_push(&deleted, states.items[i].uid);
		}
	}
	array_free(&states);
	*list_r = deleted.items;
	*count_r = deleted.count;
	return rc;
}

int sqlite_store_message_expunge(struct store *base, int64_t mailbox_id, const uint32_t *uids,
				 size_t count, struct arena *arena, uint32_t **expunged_r,
				 size_t *expunged_count_r, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	uint32_t *deleted = NULL, *sorted = NULL;
	size_t n = 0, deleted_count = 0;
	int rc;

	if (uids != NULL)
		sorted = sqlite_uids_sorted(uids, count, &n);
	rc = sqlite_begin_write(store);
	if (rc == STORE_OK) {
		rc = sqlite_mailbox_get(store, mailbox_id, NULL, NULL, NULL);
		if (rc == STORE_OK)
			rc = sqlite_deleted_uids(store, mailbox_id, sorted, n, uids == NULL,
						 &deleted, &deleted_count);
		if (rc == STORE_OK)
			rc = sqlite_expunge_uids(store, mailbox_id, deleted, deleted_count);
		rc = sqlite_finish(store, rc);
	}
	*expunged_r = sqlite_arena_copy(arena, deleted, deleted_count * sizeof(uint32_t));
	*expunged_count_r = rc == STORE_OK ? deleted_count : 0;
	free(deleted);
	free(sorted);
	return sqlite_result(store, rc, error_r);
}

int sqlite_store_message_remove(struct store *base, int64_t mailbox_id, const uint32_t *uids,
				size_t count, struct arena *arena, uint32_t **removed_r,
				size_t *removed_count_r, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	sqlite_state_array states = ARRAY_INIT;
	size_t n;
	uint32_t *sorted = sqlite_uids_sorted(uids, count, &n);
	uint32_t *present = mem_alloc((n ? n : 1) * sizeof(uint32_t));
	int rc = sqlite_begin_write(store);

	if (rc == STORE_OK) {
		rc = sqlite_mailbox_get(store, mailbox_id, NULL, NULL, NULL);
		if (rc == STORE_OK)
			rc = sqlite_states_of(store, mailbox_id, sorted, n, arena, &states);
		for (size_t i = 0; i < states.count; i++)
			present[i] = states.items[i].uid;
		if (rc == STORE_OK)
			rc = sqlite_expunge_uids(store, mailbox_id, present, states.count);
		rc = sqlite_finish(store, rc);
	}
	*removed_r = sqlite_arena_copy(arena, present, states.count * sizeof(uint32_t));
	*removed_count_r = rc == STORE_OK ? states.count : 0;
	array_free(&states);
	free(present);
	free(sorted);
	return sqlite_result(store, rc, error_r);
}

int sqlite_copy_uids(struct sqlite_store *store, int64_t mailbox_id, const uint32_t *uids,
		     size_t count, int64_t dest_mailbox_id, uint32_t *dest_uids_r,
		     uint32_t *dest_uidvalidity_r)
{
	sqlite3_stmt *stmt;
	uint64_t modseq;
	uint32_t first;
	int rc;

	if (count == 0)
		return sqlite_mailbox_get(store, dest_mailbox_id, NULL, dest_uidvalidity_r, NULL);
	if ((rc = sqlite_mailbox_touch(store, dest_mailbox_id, &modseq, NULL)) < 0 ||
	    (rc = sqlite_mailbox_reserve_uids(store, dest_mailbox_id, count, &first,
					      dest_uidvalidity_r)) < 0)
		return rc;
	if ((stmt = sqlite_stmt(store, SQL_MESSAGE_COPY)) == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 3, dest_mailbox_id);
	sqlite3_bind_int64(stmt, 5, (int64_t)modseq);
	sqlite3_bind_int64(stmt, 6, sqlite_now());
	for (size_t i = 0; rc == STORE_OK && i < count; i++) {
		dest_uids_r[i] = first + (uint32_t)i;
		sqlite3_bind_int64(stmt, 2, uids[i]);
		sqlite3_bind_int64(stmt, 4, dest_uids_r[i]);
		rc = sqlite_exec(store, stmt, "copy message");
	}
	return rc;
}

/* Inside the write transaction: both mailboxes exist. They may belong to
 * different accounts (a shared mailbox, RFC 4314): the copy is then the
 * destination account's message (and counts in its quota) while the blob
 * is shared, as with a delivery to several accounts; account deletion
 * re-owns shared blobs (SQL_ACCOUNT_REOWN_BLOBS). */
static int sqlite_copy_check(struct sqlite_store *store, int64_t mailbox_id,
			     int64_t dest_mailbox_id, int64_t *dest_account_r)
{
	int rc = sqlite_mailbox_get(store, mailbox_id, NULL, NULL, NULL);

	if (rc == STORE_OK)
		rc = sqlite_mailbox_get(store, dest_mailbox_id, dest_account_r, NULL, NULL);
	return rc;
}

int sqlite_store_message_copy(struct store *base, int64_t mailbox_id, const uint32_t *uids,
			      size_t count, int64_t dest_mailbox_id, bool move, struct arena *arena,
			      uint32_t **source_uids_r, uint32_t **dest_uids_r, size_t *count_r,
			      uint32_t *dest_uidvalidity_r, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	sqlite_state_array states = ARRAY_INIT;
	size_t n;
	uint32_t *sorted = sqlite_uids_sorted(uids, count, &n);
	uint32_t *source = NULL, *dest = NULL;
	struct store_quota before;
	int64_t dest_account = 0;
	int rc = sqlite_begin_write(store);

	if (rc == STORE_OK) {
		rc = sqlite_copy_check(store, mailbox_id, dest_mailbox_id, &dest_account);
		if (rc == STORE_OK)
			rc = sqlite_quota_read(store, dest_account, &before);
		if (rc == STORE_OK)
			rc = sqlite_states_of(store, mailbox_id, sorted, n, NULL, &states);
		source = arena_alloc(arena, (states.count + 1) * sizeof(*source));
		dest = arena_alloc(arena, (states.count + 1) * sizeof(*dest));
		for (size_t i = 0; i < states.count; i++)
			source[i] = states.items[i].uid;
		if (rc == STORE_OK)
			rc = sqlite_copy_uids(store, mailbox_id, source, states.count,
					      dest_mailbox_id, dest, dest_uidvalidity_r);
		if (rc == STORE_OK && move)
			rc = sqlite_expunge_uids(store, mailbox_id, source, states.count);
		/* RFC 9208 §4.3.1; judged on the result, so a MOVE inside one
		 * account (usage unchanged) is never refused. */
		if (rc == STORE_OK)
			rc = sqlite_quota_check_growth(store, dest_account, &before);
		rc = sqlite_finish(store, rc);
	}
	*source_uids_r = source;
	*dest_uids_r = dest;
	*count_r = rc == STORE_OK ? states.count : 0;
	array_free(&states);
	free(sorted);
	return sqlite_result(store, rc, error_r);
}
