/*
 * sqlite-message: storing messages and reading them back.
 *
 * APPEND is where rule 2 happens: each message is parsed once by mime/
 * (before the write lock is taken, so parsing never holds up other
 * writers), and the parse results, the bytes, the full-text row and the
 * message row are written in one transaction with one fsync for the whole
 * batch (group commit). Everything else here is a read: per-message state
 * for the sessions' views, the sync primitive behind untagged updates, IDLE
 * and QRESYNC (store_message_changes, one snapshot), the kept parse results
 * for FETCH and SEARCH, and ranges of the bytes.
 */
#include "store/sqlite/sqlite-private.h"

#include <stdio.h>
#include <string.h>

#include "mime/mime.h"

/* System flags a message can carry (enum store_flag). */
#define SQLITE_FLAGS_MASK 0x1Fu

/* Columns of SQL_MESSAGE_GET / SQL_MESSAGE_ITERATE (see sqlite-sql.c). */
enum {
	COL_UID, COL_FLAGS, COL_MODSEQ, COL_KEYWORDS, COL_INTERNAL_DATE, COL_INTERNAL_DATE_TZ,
	COL_SAVE_DATE, COL_SIZE, COL_BLOB_ID, COL_PREVIEW, COL_SUBJECT, COL_FROM, COL_TO,
	COL_CC, COL_BCC, COL_FROM_ADDR, COL_TO_ADDR, COL_CC_ADDR, COL_SENT_DATE,
	COL_MESSAGE_ID, COL_IN_REPLY_TO, COL_REFERENCES, COL_FROM_DISPLAY, COL_TO_DISPLAY,
	COL_HEADER_SIZE, COL_ENVELOPE, COL_BODYSTRUCTURE, COL_BODY, COL_PARTS,
};

/* Bind a C string, NULL as SQL NULL. The string outlives the step. */
static void sqlite_bind_str(sqlite3_stmt *stmt, int i, const char *s)
{
	sqlite3_bind_text(stmt, i, s, -1, SQLITE_STATIC);
}

/* The parse results of one message, shared later by all its copies. */
int sqlite_insert_blob(struct sqlite_store *store, int64_t account_id,
		       const struct store_new_message *m, const struct mime_message *p,
		       const char *parts, int64_t *blob_id_r)
{
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_BLOB_INSERT);

	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, account_id);
	sqlite3_bind_int64(stmt, 2, (int64_t)m->size);
	sqlite3_bind_int64(stmt, 3, p->header_size);
	if (p->has_date) {
		sqlite3_bind_int64(stmt, 4, p->date);
		sqlite3_bind_int(stmt, 5, p->date_tz_minutes);
	}
	sqlite_bind_str(stmt, 6, p->envelope ? p->envelope : "NIL");
	sqlite_bind_str(stmt, 7, p->bodystructure ? p->bodystructure : "NIL");
	sqlite_bind_str(stmt, 8, p->body ? p->body : "NIL");
	sqlite_bind_str(stmt, 9, parts ? parts : "");
	sqlite_bind_str(stmt, 10, p->preview);
	sqlite_bind_str(stmt, 11, p->subject);
	sqlite_bind_str(stmt, 12, p->from);
	sqlite_bind_str(stmt, 13, p->to);
	sqlite_bind_str(stmt, 14, p->cc);
	sqlite_bind_str(stmt, 15, p->bcc);
	sqlite_bind_str(stmt, 16, p->from_addr);
	sqlite_bind_str(stmt, 17, p->to_addr);
	sqlite_bind_str(stmt, 18, p->cc_addr);
	sqlite_bind_str(stmt, 19, p->message_id);
	sqlite_bind_str(stmt, 20, p->in_reply_to);
	sqlite_bind_str(stmt, 21, p->references);
	sqlite_bind_str(stmt, 22, p->from_display);
	sqlite_bind_str(stmt, 23, p->to_display);
	if (sqlite_exec(store, stmt, "store message") < 0)
		return STORE_EFAIL;
	*blob_id_r = sqlite3_last_insert_rowid(store->db);
	return STORE_OK;
}

/* The bytes, and the text the trigram index is built from. */
int sqlite_insert_content(struct sqlite_store *store, int64_t blob_id,
			  const struct store_new_message *m, const struct mime_message *p)
{
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_BLOB_DATA_INSERT);

	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, blob_id);
	/* A non-NULL pointer: an empty message is an empty blob, not NULL. */
	sqlite3_bind_blob64(stmt, 2, m->size > 0 ? m->data : "", m->size, SQLITE_STATIC);
	if (sqlite_exec(store, stmt, "store message bytes") < 0)
		return STORE_EFAIL;
	if ((stmt = sqlite_stmt(store, SQL_BLOB_TEXT_INSERT)) == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, blob_id);
	sqlite_bind_str(stmt, 2, p->header_text ? p->header_text : "");
	sqlite3_bind_text64(stmt, 3, p->text ? p->text : "", p->text ? p->text_len : 0,
			    SQLITE_STATIC, SQLITE_UTF8);
	return sqlite_exec(store, stmt, "index message text");
}

/* The message row: one copy of the blob in one mailbox. */
int sqlite_insert_message(struct sqlite_store *store, int64_t account_id, int64_t mailbox_id,
			  uint32_t uid, uint64_t modseq, int64_t blob_id,
			  const struct store_new_message *m, struct arena *arena)
{
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_MESSAGE_INSERT);
	int64_t now = sqlite_now();

	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, uid);
	sqlite3_bind_int64(stmt, 3, account_id);
	sqlite3_bind_int64(stmt, 4, blob_id);
	sqlite3_bind_int64(stmt, 5, (int64_t)modseq);
	sqlite3_bind_int(stmt, 6, (int)(m->flags & SQLITE_FLAGS_MASK));
	sqlite_bind_str(stmt, 7, keyword_list_apply(arena, NULL, STORE_FLAGS_REPLACE,
						    m->keywords));
	sqlite3_bind_int64(stmt, 8, (int64_t)m->size);
	sqlite3_bind_int64(stmt, 9, m->internal_date != 0 ? m->internal_date : now);
	sqlite3_bind_int(stmt, 10, m->internal_date != 0 ? m->internal_date_tz : 0);
	sqlite3_bind_int64(stmt, 11, now);
	return sqlite_exec(store, stmt, "store message");
}

/* Inside the write transaction: everything for the new messages. */
static int sqlite_append_all(struct sqlite_store *store, int64_t mailbox_id,
			     const struct store_new_message *messages,
			     struct mime_message *const *parsed, size_t count, uint32_t *first_r,
			     uint32_t *uidvalidity_r, struct arena *arena)
{
	uint64_t modseq;
	int64_t account_id, blob_id;
	struct store_quota quota;
	uint64_t bytes = 0;
	int rc = sqlite_mailbox_touch(store, mailbox_id, &modseq, &account_id);

	for (size_t i = 0; i < count; i++)
		bytes += messages[i].size;
	/* RFC 9208 §4.3.1: all or nothing, so the whole batch must fit. */
	if (rc == STORE_OK)
		rc = sqlite_quota_read(store, account_id, &quota);
	if (rc == STORE_OK && !store_quota_allows(&quota, bytes, count))
		rc = sqlite_fail(store, STORE_EOVERQUOTA, "over quota");
	if (rc == STORE_OK)
		rc = sqlite_mailbox_reserve_uids(store, mailbox_id, count, first_r, uidvalidity_r);
	for (size_t i = 0; rc == STORE_OK && i < count; i++) {
		const char *parts = mime_parts_serialize(arena, parsed[i]->parts,
							 parsed[i]->part_count);

		rc = sqlite_insert_blob(store, account_id, &messages[i], parsed[i], parts, &blob_id);
		if (rc == STORE_OK)
			rc = sqlite_insert_content(store, blob_id, &messages[i], parsed[i]);
		if (rc == STORE_OK)
			rc = sqlite_insert_message(store, account_id, mailbox_id, *first_r + i,
						   modseq, blob_id, &messages[i], arena);
	}
	return rc;
}

int sqlite_store_message_append(struct store *base, int64_t mailbox_id,
				const struct store_new_message *messages, size_t count,
				uint32_t *uids_r, uint32_t *uidvalidity_r, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	struct arena *arena;
	struct mime_message **parsed;
	uint32_t first = 0;
	int rc;

	if (count == 0)
		return sqlite_result(store, sqlite_mailbox_get(store, mailbox_id, NULL,
							       uidvalidity_r, NULL), error_r);
	arena = arena_new();
	parsed = arena_alloc(arena, count * sizeof(*parsed));
	for (size_t i = 0; i < count; i++)
		parsed[i] = mime_parse_message(arena, messages[i].data, messages[i].size);
	rc = sqlite_begin_write(store);
	if (rc == STORE_OK)
		rc = sqlite_finish(store, sqlite_append_all(store, mailbox_id, messages, parsed,
							    count, &first, uidvalidity_r, arena));
	for (size_t i = 0; rc == STORE_OK && i < count; i++)
		uids_r[i] = first + (uint32_t)i;
	arena_free(arena);
	return sqlite_result(store, rc, error_r);
}

int sqlite_store_message_replace(struct store *base, int64_t mailbox_id,
				 const struct store_new_message *message, int64_t old_mailbox_id,
				 uint32_t old_uid, uint32_t *uid_r, uint32_t *uidvalidity_r,
				 const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	struct arena *arena = arena_new();
	/* parsed before the write lock is taken, as in store_message_append */
	struct mime_message *parsed = mime_parse_message(arena, message->data, message->size);
	uint32_t first = 0;
	int rc = sqlite_begin_write(store);

	if (rc == STORE_OK) {
		rc = sqlite_expunge_existing(store, old_mailbox_id, old_uid);
		if (rc == STORE_OK)
			rc = sqlite_append_all(store, mailbox_id, message, &parsed, 1, &first,
					       uidvalidity_r, arena);
		rc = sqlite_finish(store, rc);
	}
	if (rc == STORE_OK)
		*uid_r = first;
	arena_free(arena);
	return sqlite_result(store, rc, error_r);
}

/* Rows of (uid, flags, modseq, keywords) into an arena array. */
static int sqlite_read_states(struct sqlite_store *store, sqlite3_stmt *stmt, struct arena *arena,
			      struct store_message_state **list_r, size_t *count_r)
{
	ARRAY(struct store_message_state) list = ARRAY_INIT;
	int step;

	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_message_state s = {
			.uid = (uint32_t)sqlite3_column_int64(stmt, 0),
			.flags = (unsigned)sqlite3_column_int(stmt, 1),
			.modseq = (uint64_t)sqlite3_column_int64(stmt, 2),
			.keywords = sqlite_column_strdup(arena, stmt, 3),
		};

		array_push(&list, s);
	}
	sqlite3_reset(stmt);
	*list_r = sqlite_arena_copy(arena, list.items,
							      list.count * sizeof(*list.items));
	*count_r = list.count;
	array_free(&list);
	return step == SQLITE_DONE ? STORE_OK : sqlite_fail_db(store, "read messages");
}

/* HIGHESTMODSEQ and UIDNEXT of a mailbox, inside a read transaction. */
static int sqlite_mailbox_counters(struct sqlite_store *store, int64_t mailbox_id,
				   uint64_t *highestmodseq_r, uint32_t *uidnext_r)
{
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_MAILBOX_GET);
	int step;

	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	if ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		*uidnext_r = (uint32_t)sqlite3_column_int64(stmt, 2);
		*highestmodseq_r = (uint64_t)sqlite3_column_int64(stmt, 3);
	}
	sqlite3_reset(stmt);
	if (step == SQLITE_DONE)
		return sqlite_fail(store, STORE_ENOTFOUND, "no mailbox %lld", (long long)mailbox_id);
	return step == SQLITE_ROW ? STORE_OK : sqlite_fail_db(store, "read mailbox");
}

int sqlite_store_message_list(struct store *base, int64_t mailbox_id, uint32_t min_uid,
			      struct arena *arena, struct store_message_state **list_r,
			      size_t *count_r, uint64_t *highestmodseq_r, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	sqlite3_stmt *stmt;
	uint32_t uidnext;
	int rc;

	*list_r = NULL;
	*count_r = 0;
	if ((rc = sqlite_begin_read(store)) < 0)
		return sqlite_result(store, rc, error_r);
	rc = sqlite_mailbox_counters(store, mailbox_id, highestmodseq_r, &uidnext);
	if (rc == STORE_OK && (stmt = sqlite_stmt(store, SQL_MESSAGE_LIST)) == NULL)
		rc = STORE_EFAIL;
	if (rc == STORE_OK) {
		sqlite3_bind_int64(stmt, 1, mailbox_id);
		sqlite3_bind_int64(stmt, 2, min_uid);
		rc = sqlite_read_states(store, stmt, arena, list_r, count_r);
	}
	return sqlite_result(store, sqlite_finish(store, rc), error_r);
}

/* UIDs expunged after since_modseq, ascending. */
static int sqlite_read_expunged(struct sqlite_store *store, int64_t mailbox_id,
				uint64_t since_modseq, struct arena *arena,
				struct store_changes *changes)
{
	ARRAY(uint32_t) uids = ARRAY_INIT;
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_EXPUNGED_SINCE);
	int step;

	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, (int64_t)since_modseq);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW)
		array_push(&uids, (uint32_t)sqlite3_column_int64(stmt, 0));
	sqlite3_reset(stmt);
	changes->expunged = sqlite_arena_copy(arena, uids.items,
						     uids.count * sizeof(*uids.items));
	changes->expunged_count = uids.count;
	array_free(&uids);
	return step == SQLITE_DONE ? STORE_OK : sqlite_fail_db(store, "read expunged");
}

int sqlite_store_message_changes(struct store *base, int64_t mailbox_id, uint64_t since_modseq,
				 struct arena *arena, struct store_changes *changes_r,
				 const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	sqlite3_stmt *stmt;
	int rc;

	memset(changes_r, 0, sizeof(*changes_r));
	if ((rc = sqlite_begin_read(store)) < 0)
		return sqlite_result(store, rc, error_r);
	rc = sqlite_mailbox_counters(store, mailbox_id, &changes_r->highestmodseq,
				     &changes_r->uidnext);
	if (rc == STORE_OK && (stmt = sqlite_stmt(store, SQL_MESSAGE_CHANGED)) == NULL)
		rc = STORE_EFAIL;
	if (rc == STORE_OK) {
		sqlite3_bind_int64(stmt, 1, mailbox_id);
		sqlite3_bind_int64(stmt, 2, (int64_t)since_modseq);
		rc = sqlite_read_states(store, stmt, arena, &changes_r->changed,
					&changes_r->changed_count);
	}
	if (rc == STORE_OK)
		rc = sqlite_read_expunged(store, mailbox_id, since_modseq, arena, changes_r);
	return sqlite_result(store, sqlite_finish(store, rc), error_r);
}

/* A column's text as the info struct holds it: borrowed from SQLite while
 * iterating, copied into the arena for store_message_get. */
static char *sqlite_info_str(sqlite3_stmt *stmt, int col, struct arena *arena)
{
	if (arena != NULL)
		return sqlite_column_strdup(arena, stmt, col);
	return (char *)sqlite3_column_text(stmt, col);
}

/* Fill info from a row of SQL_MESSAGE_GET / SQL_MESSAGE_ITERATE. email_id
 * is written to the caller's buffer. */
static void sqlite_info_read(sqlite3_stmt *stmt, unsigned what, struct arena *arena,
			     char *email_id, size_t email_id_size, struct store_message_info *info)
{
	memset(info, 0, sizeof(*info));
	info->uid = (uint32_t)sqlite3_column_int64(stmt, COL_UID);
	info->flags = (unsigned)sqlite3_column_int(stmt, COL_FLAGS);
	info->modseq = (uint64_t)sqlite3_column_int64(stmt, COL_MODSEQ);
	info->keywords = sqlite_info_str(stmt, COL_KEYWORDS, arena);
	info->internal_date = sqlite3_column_int64(stmt, COL_INTERNAL_DATE);
	info->internal_date_tz = sqlite3_column_int(stmt, COL_INTERNAL_DATE_TZ);
	info->save_date = sqlite3_column_int64(stmt, COL_SAVE_DATE);
	info->size = (uint64_t)sqlite3_column_int64(stmt, COL_SIZE);
	info->blob_id = sqlite3_column_int64(stmt, COL_BLOB_ID);
	if (what & STORE_INFO_STRUCTURE) {
		info->header_size = (uint32_t)sqlite3_column_int64(stmt, COL_HEADER_SIZE);
		info->envelope = sqlite_info_str(stmt, COL_ENVELOPE, arena);
		info->bodystructure = sqlite_info_str(stmt, COL_BODYSTRUCTURE, arena);
		info->body = sqlite_info_str(stmt, COL_BODY, arena);
		info->parts = sqlite_info_str(stmt, COL_PARTS, arena);
	}
	if (!(what & STORE_INFO_SEARCH))
		return;
	/* RFC 8474: copies share the blob, hence the EMAILID. */
	snprintf(email_id, email_id_size, "M%llx", (unsigned long long)info->blob_id);
	info->email_id = arena != NULL ? arena_strdup(arena, email_id) : email_id;
	info->preview = sqlite_info_str(stmt, COL_PREVIEW, arena);
	info->subject = sqlite_info_str(stmt, COL_SUBJECT, arena);
	info->from = sqlite_info_str(stmt, COL_FROM, arena);
	info->to = sqlite_info_str(stmt, COL_TO, arena);
	info->cc = sqlite_info_str(stmt, COL_CC, arena);
	info->bcc = sqlite_info_str(stmt, COL_BCC, arena);
	info->from_addr = sqlite_info_str(stmt, COL_FROM_ADDR, arena);
	info->to_addr = sqlite_info_str(stmt, COL_TO_ADDR, arena);
	info->cc_addr = sqlite_info_str(stmt, COL_CC_ADDR, arena);
	info->has_sent_date = sqlite3_column_type(stmt, COL_SENT_DATE) != SQLITE_NULL;
	info->sent_date = sqlite3_column_int64(stmt, COL_SENT_DATE);
	info->message_id = sqlite_info_str(stmt, COL_MESSAGE_ID, arena);
	info->in_reply_to = sqlite_info_str(stmt, COL_IN_REPLY_TO, arena);
	info->references = sqlite_info_str(stmt, COL_REFERENCES, arena);
	info->from_display = sqlite_info_str(stmt, COL_FROM_DISPLAY, arena);
	info->to_display = sqlite_info_str(stmt, COL_TO_DISPLAY, arena);
}

/* Room for "M" and a 64-bit id in hex. */
#define SQLITE_EMAIL_ID_MAX 24

int sqlite_store_message_get(struct store *base, int64_t mailbox_id, uint32_t uid, unsigned what,
			     struct arena *arena, struct store_message_info *info_r,
			     const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	sqlite3_stmt *stmt = sqlite_stmt(store, SQL_MESSAGE_GET);
	char email_id[SQLITE_EMAIL_ID_MAX];
	int rc = STORE_EFAIL, step;

	if (stmt != NULL) {
		sqlite3_bind_int64(stmt, 1, mailbox_id);
		sqlite3_bind_int64(stmt, 2, uid);
		step = sqlite3_step(stmt);
		if (step == SQLITE_ROW) {
			sqlite_info_read(stmt, what, arena, email_id, sizeof(email_id), info_r);
			rc = STORE_OK;
		} else if (step == SQLITE_DONE) {
			rc = sqlite_fail(store, STORE_ENOTFOUND, "no message %u", uid);
		} else {
			rc = sqlite_fail_db(store, "read message");
		}
		sqlite3_reset(stmt);
	}
	return sqlite_result(store, rc, error_r);
}

/* fn runs while the statement is open (one snapshot for the whole walk):
 * it may read from this store but must not write to it or iterate again. */
int sqlite_store_message_iterate(struct store *base, int64_t mailbox_id, store_message_fn *fn,
				 void *context, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	struct store_message_info info;
	char email_id[SQLITE_EMAIL_ID_MAX];
	sqlite3_stmt *stmt;
	int rc = sqlite_mailbox_get(store, mailbox_id, NULL, NULL, NULL), step;

	if (rc < 0)
		return sqlite_result(store, rc, error_r);
	if ((stmt = sqlite_stmt(store, SQL_MESSAGE_ITERATE)) == NULL)
		return sqlite_result(store, STORE_EFAIL, error_r);
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		sqlite_info_read(stmt, STORE_INFO_SEARCH, NULL, email_id, sizeof(email_id), &info);
		if (fn(context, &info) != 0) {
			step = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(stmt);
	rc = step == SQLITE_DONE ? STORE_OK : sqlite_fail_db(store, "iterate messages");
	return sqlite_result(store, rc, error_r);
}

/* Incremental blob I/O: only the requested range is read from disk, so a
 * FETCH of one small part of a large message stays cheap. */
int sqlite_store_blob_read(struct store *base, int64_t blob_id, size_t offset, size_t length,
			   struct arena *arena, const char **data_r, size_t *length_r,
			   const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	sqlite3_blob *blob;
	size_t total, n = 0;
	char *data;
	int rc = STORE_OK;

	if (sqlite3_blob_open(store->db, "main", "blob_data", "data", blob_id, 0, &blob) != SQLITE_OK) {
		rc = sqlite_fail(store, STORE_ENOTFOUND, "no blob %lld: %s", (long long)blob_id,
				 sqlite3_errmsg(store->db));
		sqlite3_blob_close(blob);
		return sqlite_result(store, rc, error_r);
	}
	total = (size_t)sqlite3_blob_bytes(blob);
	if (offset < total)
		n = length < total - offset ? length : total - offset;
	data = arena_alloc(arena, n + 1);
	if (n > 0 && sqlite3_blob_read(blob, data, (int)n, (int)offset) != SQLITE_OK)
		rc = sqlite_fail_db(store, "read blob");
	data[n] = '\0';
	sqlite3_blob_close(blob);
	*data_r = data;
	*length_r = rc == STORE_OK ? n : 0;
	return sqlite_result(store, rc, error_r);
}
