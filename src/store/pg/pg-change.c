/*
 * pg-change: the writes that change existing messages (as sqlite-change.c):
 * flags and keywords (STORE, RFC 9051 §6.4.6, with RFC 7162's
 * UNCHANGEDSINCE), EXPUNGE / UID EXPUNGE, POP3's removal, COPY and MOVE.
 *
 * Each runs in one write transaction. The rows it decides on are read
 * FOR UPDATE, so another node cannot change them between the read and the
 * write; a mailbox's MODSEQ is bumped once per transaction and only when
 * something really changes (pg-txn.c). Expunged UIDs are kept with the
 * MODSEQ of their removal (QRESYNC VANISHED).
 */
#include "store/pg/pg-private.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"

/* System flags a message can carry (enum store_flag). */
#define PG_FLAGS_MASK 0x1Fu
/* As SQLITE_DENSE_SPREAD: dense sets are one range scan, sparse ones one
 * lookup by array. */
#define PG_DENSE_SPREAD 8

static int pg_uid_compare(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorted, duplicate-free copy of uids (heap; caller frees). */
uint32_t *pg_uids_sorted(const uint32_t *uids, size_t count, size_t *count_r)
{
	uint32_t *sorted = mem_alloc((count ? count : 1) * sizeof(*sorted));
	size_t n = 0;

	if (count > 0)
		memcpy(sorted, uids, count * sizeof(*sorted));
	qsort(sorted, count, sizeof(*sorted), pg_uid_compare);
	for (size_t i = 0; i < count; i++) {
		if (n == 0 || sorted[n - 1] != sorted[i])
			sorted[n++] = sorted[i];
	}
	*count_r = n;
	return sorted;
}

/* The rows of res among uids (sorted), appended to states. */
static void pg_states_keep(const PGresult *res, const uint32_t *uids, size_t count,
			   struct arena *arena, pg_state_array *states)
{
	size_t i = 0;

	for (int row = 0; row < PQntuples(res); row++) {
		struct store_message_state s = {
			.uid = (uint32_t)pg_int(res, row, 0),
			.flags = (unsigned)pg_int(res, row, 1),
			.modseq = (uint64_t)pg_int(res, row, 2),
			.keywords = arena != NULL ? pg_strdup(arena, res, row, 3) : NULL,
		};

		while (i < count && uids[i] < s.uid)
			i++;
		if (i < count && uids[i] == s.uid)
			array_push(states, s);
	}
}

int pg_states_of(struct pg_store *store, int64_t mailbox_id, const uint32_t *uids,
		 size_t count, struct arena *arena, pg_state_array *states)
{
	struct pg_params p;
	struct buf list = BUF_INIT;
	PGresult *res;
	int rc;

	if (count == 0)
		return STORE_OK;
	pg_params_init(&p);
	pg_param_int(&p, pg_id_account(mailbox_id));
	pg_param_int(&p, mailbox_id);
	if ((uids[count - 1] - uids[0]) / count <= PG_DENSE_SPREAD) {
		pg_param_int(&p, uids[0]);
		pg_param_int(&p, uids[count - 1]);
		rc = pg_exec(store, PG_MESSAGE_STATE_RANGE, &p, "read messages", &res);
	} else {
		buf_append_char(&list, '{');
		for (size_t i = 0; i < count; i++)
			buf_printf(&list, i == 0 ? "%u" : ",%u", uids[i]);
		buf_append_char(&list, '}');
		buf_append_char(&list, '\0');
		pg_param_str(&p, list.data);
		rc = pg_exec(store, PG_MESSAGE_STATE_SET, &p, "read messages", &res);
		buf_free(&list);
	}
	if (rc < 0)
		return rc;
	pg_states_keep(res, uids, count, arena, states);
	PQclear(res);
	return STORE_OK;
}

static unsigned pg_flags_apply(unsigned current, enum store_flags_op op, unsigned flags)
{
	flags &= PG_FLAGS_MASK;
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
static int pg_flags_update(struct pg_store *store, int64_t mailbox_id,
			   struct store_message_state *s, enum store_flags_op op, unsigned flags,
			   const char *keywords, struct arena *arena)
{
	unsigned new_flags = pg_flags_apply(s->flags, op, flags);
	char *new_keywords = keyword_list_apply(arena, s->keywords, op, keywords);
	struct pg_params p;
	uint64_t modseq;
	int rc;

	if (new_flags == s->flags && keyword_list_equal(new_keywords, s->keywords))
		return STORE_OK;
	if ((rc = pg_mailbox_touch(store, mailbox_id, &modseq)) < 0)
		return rc;
	pg_params_init(&p);
	pg_param_int(&p, pg_id_account(mailbox_id));
	pg_param_int(&p, mailbox_id);
	pg_param_int(&p, s->uid);
	pg_param_int(&p, (int64_t)new_flags);
	pg_param_str(&p, new_keywords);
	pg_param_int(&p, (int64_t)modseq);
	if ((rc = pg_exec(store, PG_MESSAGE_SET_FLAGS, &p, "set flags", NULL)) < 0)
		return rc;
	s->flags = new_flags;
	s->keywords = new_keywords;
	s->modseq = modseq;
	return STORE_OK;
}

int pg_store_message_set_flags(struct store *base, int64_t mailbox_id, const uint32_t *uids,
			       size_t count, enum store_flags_op op, unsigned flags,
			       const char *keywords, uint64_t unchanged_since, struct arena *arena,
			       struct store_message_state **result_r, size_t *result_count_r,
			       uint32_t **failed_r, size_t *failed_count_r, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	pg_state_array states = ARRAY_INIT;
	ARRAY(uint32_t) failed = ARRAY_INIT;
	size_t n;
	uint32_t *sorted = pg_uids_sorted(uids, count, &n);
	int rc = pg_begin_write(store);

	if (rc == STORE_OK) {
		rc = pg_mailbox_get(store, mailbox_id, NULL, NULL, NULL);
		if (rc == STORE_OK)
			rc = pg_states_of(store, mailbox_id, sorted, n, arena, &states);
		for (size_t i = 0; rc == STORE_OK && i < states.count; i++) {
			/* RFC 7162 §3.1.3: changed since the client looked. */
			if (unchanged_since > 0 && states.items[i].modseq > unchanged_since)
				array_push(&failed, states.items[i].uid);
			else
				rc = pg_flags_update(store, mailbox_id, &states.items[i], op, flags,
						     keywords, arena);
		}
		rc = pg_finish(store, rc);
	}
	*result_r = pg_arena_copy(arena, states.items, states.count * sizeof(*states.items));
	*result_count_r = rc == STORE_OK ? states.count : 0;
	*failed_r = pg_arena_copy(arena, failed.items, failed.count * sizeof(uint32_t));
	*failed_count_r = rc == STORE_OK ? failed.count : 0;
	array_free(&states);
	array_free(&failed);
	free(sorted);
	return pg_result(store, rc, error_r);
}

int pg_expunge_uids(struct pg_store *store, int64_t mailbox_id, const uint32_t *uids,
		    size_t count)
{
	struct pg_params p;
	uint64_t modseq;
	int rc;

	if (count == 0)
		return STORE_OK;
	if ((rc = pg_mailbox_touch(store, mailbox_id, &modseq)) < 0)
		return rc;
	for (size_t i = 0; rc == STORE_OK && i < count; i++) {
		pg_params_init(&p);
		pg_param_int(&p, pg_id_account(mailbox_id));
		pg_param_int(&p, mailbox_id);
		pg_param_int(&p, uids[i]);
		rc = pg_exec(store, PG_MESSAGE_DELETE, &p, "expunge", NULL);
		if (rc == STORE_OK) {
			pg_param_int(&p, (int64_t)modseq);
			rc = pg_exec(store, PG_EXPUNGED_INSERT, &p, "record expunge", NULL);
		}
	}
	return rc;
}

int pg_expunge_existing(struct pg_store *store, int64_t mailbox_id, uint32_t uid)
{
	pg_state_array states = ARRAY_INIT;
	int rc = pg_states_of(store, mailbox_id, &uid, 1, NULL, &states);

	if (rc == STORE_OK && states.count == 0)
		rc = pg_fail(store, STORE_ENOTFOUND, "no message %u to replace", uid);
	if (rc == STORE_OK)
		rc = pg_expunge_uids(store, mailbox_id, &uid, 1);
	array_free(&states);
	return rc;
}

/* The \Deleted messages of the mailbox: all, or among sorted uids. */
static int pg_deleted_uids(struct pg_store *store, int64_t mailbox_id, const uint32_t *uids,
			   size_t count, bool all, uint32_t **list_r, size_t *count_r)
{
	pg_state_array states = ARRAY_INIT;
	ARRAY(uint32_t) deleted = ARRAY_INIT;
	struct pg_params p;
	PGresult *res;
	int rc;

	if (all) {
		pg_params_init(&p);
		pg_param_int(&p, pg_id_account(mailbox_id));
		pg_param_int(&p, mailbox_id);
		rc = pg_exec(store, PG_MESSAGE_DELETED_ALL, &p, "find deleted messages", &res);
		if (rc == STORE_OK) {
			for (int row = 0; row < PQntuples(res); row++)
				array_push(&deleted, (uint32_t)pg_int(res, row, 0));
			PQclear(res);
		}
	} else {
		rc = pg_states_of(store, mailbox_id, uids, count, NULL, &states);
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

int pg_store_message_expunge(struct store *base, int64_t mailbox_id, const uint32_t *uids,
			     size_t count, struct arena *arena, uint32_t **expunged_r,
			     size_t *expunged_count_r, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	uint32_t *deleted = NULL, *sorted = NULL;
	size_t n = 0, deleted_count = 0;
	int rc;

	if (uids != NULL)
		sorted = pg_uids_sorted(uids, count, &n);
	rc = pg_begin_write(store);
	if (rc == STORE_OK) {
		rc = pg_mailbox_get(store, mailbox_id, NULL, NULL, NULL);
		if (rc == STORE_OK)
			rc = pg_deleted_uids(store, mailbox_id, sorted, n, uids == NULL, &deleted,
					     &deleted_count);
		if (rc == STORE_OK)
			rc = pg_expunge_uids(store, mailbox_id, deleted, deleted_count);
		rc = pg_finish(store, rc);
	}
	*expunged_r = pg_arena_copy(arena, deleted, deleted_count * sizeof(uint32_t));
	*expunged_count_r = rc == STORE_OK ? deleted_count : 0;
	free(deleted);
	free(sorted);
	return pg_result(store, rc, error_r);
}

int pg_store_message_remove(struct store *base, int64_t mailbox_id, const uint32_t *uids,
			    size_t count, struct arena *arena, uint32_t **removed_r,
			    size_t *removed_count_r, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	pg_state_array states = ARRAY_INIT;
	size_t n;
	uint32_t *sorted = pg_uids_sorted(uids, count, &n);
	uint32_t *present = mem_alloc((n ? n : 1) * sizeof(uint32_t));
	int rc = pg_begin_write(store);

	if (rc == STORE_OK) {
		rc = pg_mailbox_get(store, mailbox_id, NULL, NULL, NULL);
		if (rc == STORE_OK)
			rc = pg_states_of(store, mailbox_id, sorted, n, arena, &states);
		for (size_t i = 0; i < states.count; i++)
			present[i] = states.items[i].uid;
		if (rc == STORE_OK)
			rc = pg_expunge_uids(store, mailbox_id, present, states.count);
		rc = pg_finish(store, rc);
	}
	*removed_r = pg_arena_copy(arena, present, states.count * sizeof(uint32_t));
	*removed_count_r = rc == STORE_OK ? states.count : 0;
	array_free(&states);
	free(present);
	free(sorted);
	return pg_result(store, rc, error_r);
}

/* The blob of one source message as the destination account holds it:
 * the same one inside an account, a copy of it under another. */
static int pg_copy_blob(struct pg_store *store, int64_t mailbox_id, uint32_t uid,
			int64_t dest_account, int64_t *blob_id_r)
{
	struct pg_params p;
	PGresult *res;
	int64_t blob_id;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, pg_id_account(mailbox_id));
	pg_param_int(&p, mailbox_id);
	pg_param_int(&p, uid);
	if ((rc = pg_exec(store, PG_MESSAGE_SOURCE, &p, "copy message", &res)) < 0)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return pg_fail(store, STORE_ENOTFOUND, "no message %u", uid);
	}
	blob_id = pg_int(res, 0, 0);
	PQclear(res);
	if (pg_id_account(blob_id) == dest_account) {
		*blob_id_r = blob_id;
		return STORE_OK;
	}
	return pg_blob_copy(store, blob_id, dest_account, blob_id_r);
}

int pg_copy_uids(struct pg_store *store, int64_t mailbox_id, const uint32_t *uids,
		 size_t count, int64_t dest_mailbox_id, uint32_t *dest_uids_r,
		 uint32_t *dest_uidvalidity_r)
{
	int64_t dest_account = pg_id_account(dest_mailbox_id), blob_id;
	int64_t now = pg_now();
	struct pg_params p;
	uint64_t modseq;
	uint32_t first;
	int rc;

	if (count == 0)
		return pg_mailbox_get(store, dest_mailbox_id, dest_uidvalidity_r, NULL, NULL);
	if ((rc = pg_mailbox_touch(store, dest_mailbox_id, &modseq)) < 0 ||
	    (rc = pg_mailbox_reserve_uids(store, dest_mailbox_id, count, &first,
					  dest_uidvalidity_r)) < 0)
		return rc;
	for (size_t i = 0; rc == STORE_OK && i < count; i++) {
		dest_uids_r[i] = first + (uint32_t)i;
		rc = pg_copy_blob(store, mailbox_id, uids[i], dest_account, &blob_id);
		if (rc < 0)
			break;
		pg_params_init(&p);
		pg_param_int(&p, pg_id_account(mailbox_id));
		pg_param_int(&p, mailbox_id);
		pg_param_int(&p, uids[i]);
		pg_param_int(&p, dest_account);
		pg_param_int(&p, dest_mailbox_id);
		pg_param_int(&p, dest_uids_r[i]);
		pg_param_int(&p, (int64_t)modseq);
		pg_param_int(&p, now);
		pg_param_int(&p, blob_id);
		rc = pg_exec(store, PG_MESSAGE_COPY, &p, "copy message", NULL);
	}
	return rc;
}

int pg_store_message_copy(struct store *base, int64_t mailbox_id, const uint32_t *uids,
			  size_t count, int64_t dest_mailbox_id, bool move, struct arena *arena,
			  uint32_t **source_uids_r, uint32_t **dest_uids_r, size_t *count_r,
			  uint32_t *dest_uidvalidity_r, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	pg_state_array states = ARRAY_INIT;
	size_t n;
	uint32_t *sorted = pg_uids_sorted(uids, count, &n);
	uint32_t *source = NULL, *dest = NULL;
	struct store_quota before;
	int64_t dest_account = pg_id_account(dest_mailbox_id);
	int rc = pg_begin_write(store);

	if (rc == STORE_OK) {
		rc = pg_mailbox_get(store, mailbox_id, NULL, NULL, NULL);
		if (rc == STORE_OK)
			rc = pg_mailbox_get(store, dest_mailbox_id, NULL, NULL, NULL);
		if (rc == STORE_OK)
			rc = pg_quota_read(store, dest_account, &before);
		if (rc == STORE_OK)
			rc = pg_states_of(store, mailbox_id, sorted, n, NULL, &states);
		source = arena_alloc(arena, (states.count + 1) * sizeof(*source));
		dest = arena_alloc(arena, (states.count + 1) * sizeof(*dest));
		for (size_t i = 0; i < states.count; i++)
			source[i] = states.items[i].uid;
		if (rc == STORE_OK)
			rc = pg_copy_uids(store, mailbox_id, source, states.count, dest_mailbox_id,
					  dest, dest_uidvalidity_r);
		if (rc == STORE_OK && move)
			rc = pg_expunge_uids(store, mailbox_id, source, states.count);
		/* RFC 9208 §4.3.1, judged on the result: a MOVE inside one
		 * account is never refused. */
		if (rc == STORE_OK)
			rc = pg_quota_check_growth(store, dest_account, &before);
		rc = pg_finish(store, rc);
	}
	*source_uids_r = source;
	*dest_uids_r = dest;
	*count_r = rc == STORE_OK ? states.count : 0;
	array_free(&states);
	free(sorted);
	return pg_result(store, rc, error_r);
}
