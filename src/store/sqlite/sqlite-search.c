/*
 * sqlite-search: full-text search (SEARCH BODY and TEXT, RFC 9051 §6.4.4)
 * over the text kept at save time (rule 2: no re-parse).
 *
 * The blob_text FTS5 table uses the trigram tokenizer, which indexes every
 * three-character sequence, case-folded: a phrase query of three or more
 * characters is then exactly a case-insensitive substring test, answered
 * from the index. Shorter needles have no trigram to look up, so they scan
 * the stored text of the mailbox's messages instead (ASCII case folding).
 */
#include "store/sqlite/sqlite-private.h"

#include <string.h>

#include "core/buf.h"
#include "core/str.h"

/* The trigram tokenizer's unit: needles shorter than this (in characters)
 * cannot use the index. */
#define SQLITE_TRIGRAM_CHARS 3

static size_t sqlite_utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* An FTS5 query for the needle as one phrase ('"' doubled inside), limited
 * to the body column unless headers count too. */
static void sqlite_search_query(struct buf *query, const char *needle, bool include_headers)
{
	if (!include_headers)
		buf_append_str(query, "body : ");
	buf_append_char(query, '"');
	for (const char *p = needle; *p != '\0'; p++) {
		if (*p == '"')
			buf_append_char(query, '"');
		buf_append_char(query, *p);
	}
	buf_append_char(query, '"');
}

/* Whether column col of the current row contains needle. */
static bool sqlite_column_has(sqlite3_stmt *stmt, int col, const char *needle, size_t len)
{
	const char *text = (const char *)sqlite3_column_text(stmt, col);

	return text != NULL &&
	       str_find_nocase(text, (size_t)sqlite3_column_bytes(stmt, col), needle, len) != NULL;
}

/* Run the index query or the scan, collecting matching UIDs. */
static int sqlite_search_run(struct sqlite_store *store, int64_t mailbox_id, const char *needle,
			     bool include_headers, struct buf *uids)
{
	bool indexed = sqlite_utf8_chars(needle) >= SQLITE_TRIGRAM_CHARS;
	sqlite3_stmt *stmt = sqlite_stmt(store, indexed ? SQL_SEARCH_INDEX : SQL_SEARCH_SCAN);
	struct buf query = BUF_INIT;
	size_t len = strlen(needle);
	int step;

	if (stmt == NULL)
		return STORE_EFAIL;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	if (indexed) {
		sqlite_search_query(&query, needle, include_headers);
		sqlite3_bind_text(stmt, 2, query.data, (int)query.len, SQLITE_STATIC);
	}
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		uint32_t uid = (uint32_t)sqlite3_column_int64(stmt, 0);

		if (indexed || sqlite_column_has(stmt, 1, needle, len) ||
		    (include_headers && sqlite_column_has(stmt, 2, needle, len)))
			buf_append(uids, &uid, sizeof(uid));
	}
	sqlite3_reset(stmt);
	buf_free(&query);
	return step == SQLITE_DONE ? STORE_OK : sqlite_fail_db(store, "search");
}

int sqlite_store_search_text(struct store *base, int64_t mailbox_id, const char *needle,
			     bool include_headers, struct arena *arena, uint32_t **uids_r,
			     size_t *count_r, const char **error_r)
{
	struct sqlite_store *store = sqlite_store_of(base);
	struct buf uids = BUF_INIT;
	int rc = sqlite_mailbox_get(store, mailbox_id, NULL, NULL, NULL);

	if (rc == STORE_OK)
		rc = sqlite_search_run(store, mailbox_id, needle, include_headers, &uids);
	*uids_r = sqlite_arena_copy(arena, uids.data, uids.len);
	*count_r = rc == STORE_OK ? uids.len / sizeof(uint32_t) : 0;
	buf_free(&uids);
	return sqlite_result(store, rc, error_r);
}
