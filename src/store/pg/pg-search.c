/*
 * pg-search: full-text search (SEARCH BODY and TEXT, RFC 9051 §6.4.4) over
 * the text kept at save time (rule 2: no re-parse).
 *
 * IMAP's BODY and TEXT are case-insensitive SUBSTRING tests, not word
 * searches, so PostgreSQL's tsvector (words, stemmed, stop words dropped)
 * would answer a different question ("oba" would not find "foobar", and
 * "the" nothing at all). pg_trgm answers the right one: ILIKE '%needle%'
 * is exact, and its GIN indexes (blob_text_header, blob_text_body) narrow
 * the rows to check for needles of three characters or more; shorter ones
 * are checked against the mailbox's rows, which is still correct.
 */
#include "store/pg/pg-private.h"

#include "core/buf.h"

/* needle as an ILIKE pattern: %, _ and the escape \ stand for themselves. */
static void pg_search_pattern(struct buf *pattern, const char *needle)
{
	buf_append_char(pattern, '%');
	for (const char *p = needle; *p != '\0'; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			buf_append_char(pattern, '\\');
		buf_append_char(pattern, *p);
	}
	buf_append_char(pattern, '%');
	buf_append_char(pattern, '\0');
}

int pg_store_search_text(struct store *base, int64_t mailbox_id, const char *needle,
			 bool include_headers, struct arena *arena, uint32_t **uids_r,
			 size_t *count_r, const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	struct buf pattern = BUF_INIT;
	struct pg_params p;
	PGresult *res;
	int rc = pg_mailbox_get(store, mailbox_id, NULL, NULL, NULL);

	*uids_r = NULL;
	*count_r = 0;
	if (rc < 0)
		return pg_result(store, rc, error_r);
	pg_search_pattern(&pattern, needle);
	pg_params_init(&p);
	pg_param_int(&p, pg_id_account(mailbox_id));
	pg_param_int(&p, mailbox_id);
	pg_param_str(&p, pattern.data);
	rc = pg_exec(store, include_headers ? PG_SEARCH_TEXT : PG_SEARCH_BODY, &p, "search", &res);
	buf_free(&pattern);
	if (rc == STORE_OK) {
		size_t n = (size_t)PQntuples(res);

		*uids_r = arena_alloc(arena, (n + 1) * sizeof(uint32_t));
		for (size_t i = 0; i < n; i++)
			(*uids_r)[i] = (uint32_t)pg_int(res, (int)i, 0);
		*count_r = n;
		PQclear(res);
	}
	return pg_result(store, rc, error_r);
}
