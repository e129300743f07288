/*
 * pg-message: storing messages and reading them back (as sqlite-message.c).
 *
 * APPEND is where rule 2 happens: each message is parsed once by mime/
 * before the transaction starts (no lock is held while parsing); its blob
 * (pg-blob.c) and message row are written in one transaction, with the
 * mailbox's row lock taken by the UID reservation, and COMMIT returns only
 * once durable. Reads: per-message state for the sessions' views, the sync
 * primitive behind untagged updates, IDLE and QRESYNC (one REPEATABLE READ
 * snapshot), the kept parse results for FETCH and SEARCH.
 */
#include "store/pg/pg-private.h"

#include <stdio.h>
#include <string.h>

#include "mime/mime.h"

/* System flags a message can carry (enum store_flag). */
#define PG_FLAGS_MASK 0x1Fu

/* Columns of PG_MESSAGE_GET / PG_MESSAGE_ITERATE (see pg-sql.c). */
enum {
	COL_UID, COL_FLAGS, COL_MODSEQ, COL_KEYWORDS, COL_INTERNAL_DATE, COL_INTERNAL_DATE_TZ,
	COL_SAVE_DATE, COL_SIZE, COL_BLOB_ID, COL_PREVIEW, COL_SUBJECT, COL_FROM, COL_TO,
	COL_CC, COL_BCC, COL_FROM_ADDR, COL_TO_ADDR, COL_CC_ADDR, COL_SENT_DATE,
	COL_MESSAGE_ID, COL_IN_REPLY_TO, COL_REFERENCES, COL_FROM_DISPLAY, COL_TO_DISPLAY,
	COL_HEADER_SIZE, COL_ENVELOPE, COL_BODYSTRUCTURE, COL_BODY, COL_PARTS,
};

/* The message row: one copy of a blob in one mailbox. */
int pg_insert_message(struct pg_store *store, int64_t mailbox_id, uint32_t uid,
		      uint64_t modseq, int64_t blob_id, const struct store_new_message *m,
		      struct arena *arena)
{
	struct pg_params p;
	int64_t now = pg_now();

	pg_params_init(&p);
	pg_param_int(&p, pg_id_account(mailbox_id));
	pg_param_int(&p, mailbox_id);
	pg_param_int(&p, uid);
	pg_param_int(&p, blob_id);
	pg_param_int(&p, (int64_t)modseq);
	pg_param_int(&p, (int64_t)(m->flags & PG_FLAGS_MASK));
	pg_param_str(&p, keyword_list_apply(arena, NULL, STORE_FLAGS_REPLACE, m->keywords));
	pg_param_int(&p, (int64_t)m->size);
	pg_param_int(&p, m->internal_date != 0 ? m->internal_date : now);
	pg_param_int(&p, m->internal_date != 0 ? m->internal_date_tz : 0);
	pg_param_int(&p, now);
	return pg_exec(store, PG_MESSAGE_INSERT, &p, "store message", NULL);
}

/* Inside the write transaction: everything for the new messages. */
static int pg_append_all(struct pg_store *store, int64_t mailbox_id,
			 const struct store_new_message *messages,
			 struct mime_message *const *parsed, size_t count, uint32_t *first_r,
			 uint32_t *uidvalidity_r, struct arena *arena)
{
	int64_t account_id = pg_id_account(mailbox_id), blob_id;
	struct store_quota quota;
	uint64_t modseq, bytes = 0;
	int rc = pg_mailbox_touch(store, mailbox_id, &modseq);

	for (size_t i = 0; i < count; i++)
		bytes += messages[i].size;
	/* RFC 9208 §4.3.1: all or nothing, so the whole batch must fit. */
	if (rc == STORE_OK)
		rc = pg_quota_read(store, account_id, &quota);
	if (rc == STORE_OK && !store_quota_allows(&quota, bytes, count))
		rc = pg_fail(store, STORE_EOVERQUOTA, "over quota");
	if (rc == STORE_OK)
		rc = pg_mailbox_reserve_uids(store, mailbox_id, count, first_r, uidvalidity_r);
	for (size_t i = 0; rc == STORE_OK && i < count; i++) {
		const char *parts = mime_parts_serialize(arena, parsed[i]->parts,
							 parsed[i]->part_count);

		rc = pg_blob_store(store, account_id, &messages[i], parsed[i], parts, &blob_id);
		if (rc == STORE_OK)
			rc = pg_insert_message(store, mailbox_id, *first_r + (uint32_t)i, modseq,
					       blob_id, &messages[i], arena);
	}
	return rc;
}

int pg_store_message_append(struct store *base, int64_t mailbox_id,
			    const struct store_new_message *messages, size_t count,
			    uint32_t *uids_r, uint32_t *uidvalidity_r, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	struct arena *arena;
	struct mime_message **parsed;
	uint32_t first = 0;
	int rc;

	if (count == 0)
		return pg_result(store, pg_mailbox_get(store, mailbox_id, uidvalidity_r, NULL, NULL),
				 error_r);
	arena = arena_new();
	parsed = arena_alloc(arena, count * sizeof(*parsed));
	for (size_t i = 0; i < count; i++)
		parsed[i] = mime_parse_message(arena, messages[i].data, messages[i].size);
	rc = pg_begin_write(store);
	if (rc == STORE_OK)
		rc = pg_finish(store, pg_append_all(store, mailbox_id, messages, parsed, count,
						    &first, uidvalidity_r, arena));
	for (size_t i = 0; rc == STORE_OK && i < count; i++)
		uids_r[i] = first + (uint32_t)i;
	arena_free(arena);
	return pg_result(store, rc, error_r);
}

/* The append and the expunge in one transaction (RFC 8508 §3.4). */
int pg_store_message_replace(struct store *base, int64_t mailbox_id,
			     const struct store_new_message *message, int64_t old_mailbox_id,
			     uint32_t old_uid, uint32_t *uid_r, uint32_t *uidvalidity_r,
			     const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	struct arena *arena = arena_new();
	struct mime_message *parsed = mime_parse_message(arena, message->data, message->size);
	uint32_t first = 0;
	int rc = pg_begin_write(store);

	if (rc == STORE_OK) {
		rc = pg_expunge_existing(store, old_mailbox_id, old_uid);
		if (rc == STORE_OK)
			rc = pg_append_all(store, mailbox_id, message, &parsed, 1, &first,
					   uidvalidity_r, arena);
		rc = pg_finish(store, rc);
	}
	if (rc == STORE_OK)
		*uid_r = first;
	arena_free(arena);
	return pg_result(store, rc, error_r);
}

/* Rows of (uid, flags, modseq, keywords) into an arena array. */
static void pg_read_states(const PGresult *res, struct arena *arena,
			   struct store_message_state **list_r, size_t *count_r)
{
	int n = PQntuples(res);
	struct store_message_state *list = arena_zalloc(arena, ((size_t)n + 1) * sizeof(*list));

	for (int row = 0; row < n; row++) {
		list[row].uid = (uint32_t)pg_int(res, row, 0);
		list[row].flags = (unsigned)pg_int(res, row, 1);
		list[row].modseq = (uint64_t)pg_int(res, row, 2);
		list[row].keywords = pg_strdup(arena, res, row, 3);
	}
	*list_r = list;
	*count_r = (size_t)n;
}

/* Run a (account, mailbox, number) query of message states. */
static int pg_query_states(struct pg_store *store, enum pg_sql id, int64_t mailbox_id,
			   int64_t number, struct arena *arena,
			   struct store_message_state **list_r, size_t *count_r)
{
	struct pg_params p;
	PGresult *res;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, pg_id_account(mailbox_id));
	pg_param_int(&p, mailbox_id);
	pg_param_int(&p, number);
	if ((rc = pg_exec(store, id, &p, "read messages", &res)) < 0)
		return rc;
	pg_read_states(res, arena, list_r, count_r);
	PQclear(res);
	return STORE_OK;
}

int pg_store_message_list(struct store *base, int64_t mailbox_id, uint32_t min_uid,
			  struct arena *arena, struct store_message_state **list_r,
			  size_t *count_r, uint64_t *highestmodseq_r, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	int rc;

	*list_r = NULL;
	*count_r = 0;
	if ((rc = pg_begin_read(store)) < 0)
		return pg_result(store, rc, error_r);
	rc = pg_mailbox_get(store, mailbox_id, NULL, NULL, highestmodseq_r);
	if (rc == STORE_OK)
		rc = pg_query_states(store, PG_MESSAGE_LIST, mailbox_id, min_uid, arena, list_r,
				     count_r);
	return pg_result(store, pg_finish(store, rc), error_r);
}

/* Changed rows, expunged UIDs and the counters, in one snapshot. */
int pg_store_message_changes(struct store *base, int64_t mailbox_id, uint64_t since_modseq,
			     struct arena *arena, struct store_changes *changes_r,
			     const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	struct pg_params p;
	PGresult *res;
	int rc;

	memset(changes_r, 0, sizeof(*changes_r));
	if ((rc = pg_begin_read(store)) < 0)
		return pg_result(store, rc, error_r);
	rc = pg_mailbox_get(store, mailbox_id, NULL, &changes_r->uidnext,
			    &changes_r->highestmodseq);
	if (rc == STORE_OK)
		rc = pg_query_states(store, PG_MESSAGE_CHANGED, mailbox_id, (int64_t)since_modseq,
				     arena, &changes_r->changed, &changes_r->changed_count);
	if (rc == STORE_OK) {
		pg_params_init(&p);
		pg_param_int(&p, pg_id_account(mailbox_id));
		pg_param_int(&p, mailbox_id);
		pg_param_int(&p, (int64_t)since_modseq);
		rc = pg_exec(store, PG_EXPUNGED_SINCE, &p, "read expunged", &res);
	}
	if (rc == STORE_OK) {
		size_t n = (size_t)PQntuples(res);

		changes_r->expunged = arena_alloc(arena, (n + 1) * sizeof(uint32_t));
		for (size_t i = 0; i < n; i++)
			changes_r->expunged[i] = (uint32_t)pg_int(res, (int)i, 0);
		changes_r->expunged_count = n;
		PQclear(res);
	}
	return pg_result(store, pg_finish(store, rc), error_r);
}

/* A column as the info struct holds it (copied into arena). */
static char *pg_info_str(const PGresult *res, int row, int col, struct arena *arena)
{
	return pg_strdup(arena, res, row, col);
}

/* Fill info from a row of PG_MESSAGE_GET / PG_MESSAGE_ITERATE. */
static void pg_info_read(const PGresult *res, int row, unsigned what, struct arena *arena,
			 struct store_message_info *info)
{
	memset(info, 0, sizeof(*info));
	info->uid = (uint32_t)pg_int(res, row, COL_UID);
	info->flags = (unsigned)pg_int(res, row, COL_FLAGS);
	info->modseq = (uint64_t)pg_int(res, row, COL_MODSEQ);
	info->keywords = pg_info_str(res, row, COL_KEYWORDS, arena);
	info->internal_date = pg_int(res, row, COL_INTERNAL_DATE);
	info->internal_date_tz = (int)pg_int(res, row, COL_INTERNAL_DATE_TZ);
	info->save_date = pg_int(res, row, COL_SAVE_DATE);
	info->size = (uint64_t)pg_int(res, row, COL_SIZE);
	info->blob_id = pg_int(res, row, COL_BLOB_ID);
	if (what & STORE_INFO_STRUCTURE) {
		info->header_size = (uint32_t)pg_int(res, row, COL_HEADER_SIZE);
		info->envelope = pg_info_str(res, row, COL_ENVELOPE, arena);
		info->bodystructure = pg_info_str(res, row, COL_BODYSTRUCTURE, arena);
		info->body = pg_info_str(res, row, COL_BODY, arena);
		info->parts = pg_info_str(res, row, COL_PARTS, arena);
	}
	if (!(what & STORE_INFO_SEARCH))
		return;
	/* RFC 8474: copies in one account share the blob, hence the EMAILID. */
	info->email_id = arena_printf(arena, "M%llx", (unsigned long long)info->blob_id);
	info->preview = pg_info_str(res, row, COL_PREVIEW, arena);
	info->subject = pg_info_str(res, row, COL_SUBJECT, arena);
	info->from = pg_info_str(res, row, COL_FROM, arena);
	info->to = pg_info_str(res, row, COL_TO, arena);
	info->cc = pg_info_str(res, row, COL_CC, arena);
	info->bcc = pg_info_str(res, row, COL_BCC, arena);
	info->from_addr = pg_info_str(res, row, COL_FROM_ADDR, arena);
	info->to_addr = pg_info_str(res, row, COL_TO_ADDR, arena);
	info->cc_addr = pg_info_str(res, row, COL_CC_ADDR, arena);
	info->has_sent_date = !pg_is_null(res, row, COL_SENT_DATE);
	info->sent_date = info->has_sent_date ? pg_int(res, row, COL_SENT_DATE) : 0;
	info->message_id = pg_info_str(res, row, COL_MESSAGE_ID, arena);
	info->in_reply_to = pg_info_str(res, row, COL_IN_REPLY_TO, arena);
	info->references = pg_info_str(res, row, COL_REFERENCES, arena);
	info->from_display = pg_info_str(res, row, COL_FROM_DISPLAY, arena);
	info->to_display = pg_info_str(res, row, COL_TO_DISPLAY, arena);
}

int pg_store_message_get(struct store *base, int64_t mailbox_id, uint32_t uid, unsigned what,
			 struct arena *arena, struct store_message_info *info_r,
			 const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	struct pg_params p;
	PGresult *res;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, pg_id_account(mailbox_id));
	pg_param_int(&p, mailbox_id);
	pg_param_int(&p, uid);
	if ((rc = pg_exec(store, PG_MESSAGE_GET, &p, "read message", &res)) < 0)
		return pg_result(store, rc, error_r);
	if (PQntuples(res) == 1)
		pg_info_read(res, 0, what, arena, info_r);
	else
		rc = pg_fail(store, STORE_ENOTFOUND, "no message %u", uid);
	PQclear(res);
	return pg_result(store, rc, error_r);
}

/* The mailbox's rows are read in one statement (one snapshot), then
 * handed to fn one by one; each row's strings live in an arena reset
 * between rows, so the walk holds one row's copies at a time. fn may read
 * from this store. */
int pg_store_message_iterate(struct store *base, int64_t mailbox_id, store_message_fn *fn,
			     void *context, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	struct store_message_info info;
	struct pg_params p;
	struct arena *arena;
	PGresult *res;
	int rc = pg_mailbox_get(store, mailbox_id, NULL, NULL, NULL);

	if (rc < 0)
		return pg_result(store, rc, error_r);
	pg_params_init(&p);
	pg_param_int(&p, pg_id_account(mailbox_id));
	pg_param_int(&p, mailbox_id);
	if ((rc = pg_exec(store, PG_MESSAGE_ITERATE, &p, "iterate messages", &res)) < 0)
		return pg_result(store, rc, error_r);
	arena = arena_new();
	for (int row = 0; row < PQntuples(res); row++) {
		pg_info_read(res, row, STORE_INFO_SEARCH, arena, &info);
		if (fn(context, &info) != 0)
			break;
		arena_reset(arena);
	}
	arena_free(arena);
	PQclear(res);
	return STORE_OK;
}
