/*
 * pg-blob: a message as stored once: its bytes, what was parsed from them
 * at save time (rule 2) and its full-text row. The rest of the back end
 * reaches the bytes only through pg_blob_store, pg_blob_copy and
 * store_blob_read here, so they can move to an object store later (the
 * blob row would then hold its key, and the cascade that drops blob_data
 * would become a delete there) without touching the rest.
 *
 * Today the bytes are a bytea in blob_data, stored uncompressed out of line
 * (STORAGE EXTERNAL) so that a FETCH of a part reads only its chunks.
 */
#include "store/pg/pg-private.h"

#include <string.h>

#include "mime/mime.h"

/* A new blob number of the account (its counter, under its row lock). */
static int pg_blob_next_id(struct pg_store *store, int64_t account_id, int64_t *blob_id_r)
{
	struct pg_params p;
	PGresult *res;
	int64_t number;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, account_id);
	pg_param_int(&p, 1);
	if ((rc = pg_exec(store, PG_ACCOUNT_NEXT_BLOBS, &p, "new blob", &res)) < 0)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return pg_fail(store, STORE_ENOTFOUND, "no account %lld", (long long)account_id);
	}
	number = pg_int(res, 0, 0);
	PQclear(res);
	if (number > (int64_t)UINT32_MAX)
		return pg_fail(store, STORE_EFAIL, "account has run out of blob numbers");
	*blob_id_r = pg_id_make(account_id, number);
	return STORE_OK;
}

int pg_blob_store(struct pg_store *store, int64_t account_id, const struct store_new_message *m,
		  const struct mime_message *p, const char *parts, int64_t *blob_id_r)
{
	struct pg_params q;
	int64_t blob_id;
	int rc = pg_blob_next_id(store, account_id, &blob_id);

	if (rc < 0)
		return rc;
	pg_params_init(&q);
	pg_param_int(&q, account_id);
	pg_param_int(&q, blob_id);
	pg_param_int(&q, (int64_t)m->size);
	pg_param_int(&q, p->header_size);
	if (p->has_date) {
		pg_param_int(&q, p->date);
		pg_param_int(&q, p->date_tz_minutes);
	} else {
		pg_param_str(&q, NULL);
		pg_param_str(&q, NULL);
	}
	pg_param_str(&q, p->envelope ? p->envelope : "NIL");
	pg_param_str(&q, p->bodystructure ? p->bodystructure : "NIL");
	pg_param_str(&q, p->body ? p->body : "NIL");
	pg_param_str(&q, parts ? parts : "");
	pg_param_str(&q, p->preview);
	pg_param_str(&q, p->subject);
	pg_param_str(&q, p->from);
	pg_param_str(&q, p->to);
	pg_param_str(&q, p->cc);
	pg_param_str(&q, p->bcc);
	pg_param_str(&q, p->from_addr);
	pg_param_str(&q, p->to_addr);
	pg_param_str(&q, p->cc_addr);
	pg_param_str(&q, p->message_id);
	pg_param_str(&q, p->in_reply_to);
	pg_param_str(&q, p->references);
	pg_param_str(&q, p->from_display);
	pg_param_str(&q, p->to_display);
	if ((rc = pg_exec(store, PG_BLOB_INSERT, &q, "store message", NULL)) < 0)
		return rc;
	pg_params_init(&q);
	pg_param_int(&q, account_id);
	pg_param_int(&q, blob_id);
	pg_param_bytes(&q, m->data, m->size);
	if ((rc = pg_exec(store, PG_BLOB_DATA_INSERT, &q, "store message bytes", NULL)) < 0)
		return rc;
	pg_params_init(&q);
	pg_param_int(&q, account_id);
	pg_param_int(&q, blob_id);
	pg_param_str(&q, p->header_text ? p->header_text : "");
	/* text is text_len bytes and NUL-terminated (mime.h) */
	pg_param_str(&q, p->text ? p->text : "");
	if ((rc = pg_exec(store, PG_BLOB_TEXT_INSERT, &q, "index message text", NULL)) < 0)
		return rc;
	*blob_id_r = blob_id;
	return STORE_OK;
}

int pg_blob_copy(struct pg_store *store, int64_t blob_id, int64_t account_id,
		 int64_t *blob_id_r)
{
	static const enum pg_sql steps[] = { PG_BLOB_COPY, PG_BLOB_DATA_COPY, PG_BLOB_TEXT_COPY };
	struct pg_params p;
	int64_t new_id;
	int rc = pg_blob_next_id(store, account_id, &new_id);

	for (size_t i = 0; rc == STORE_OK && i < sizeof(steps) / sizeof(steps[0]); i++) {
		pg_params_init(&p);
		pg_param_int(&p, pg_id_account(blob_id));
		pg_param_int(&p, blob_id);
		pg_param_int(&p, account_id);
		pg_param_int(&p, new_id);
		rc = pg_exec(store, steps[i], &p, "copy message", NULL);
	}
	if (rc == STORE_OK)
		*blob_id_r = new_id;
	return rc;
}

/* Only the requested range travels: substring on the server. */
int pg_store_blob_read(struct store *base, int64_t blob_id, size_t offset, size_t length,
		       struct arena *arena, const char **data_r, size_t *length_r,
		       const char **error_r)
{
	struct pg_store *store = pg_store_of(base);
	struct pg_params p;
	PGresult *res;
	char *data;
	size_t n = 0;
	int rc;

	*data_r = "";
	*length_r = 0;
	/* bytea values stop at 1 GB, so anything past INT32_MAX is past the
	 * end. */
	if (offset > INT32_MAX - 1)
		offset = INT32_MAX - 1;
	if (length > (size_t)INT32_MAX - offset)
		length = (size_t)INT32_MAX - offset;
	pg_params_init(&p);
	pg_param_int(&p, pg_id_account(blob_id));
	pg_param_int(&p, blob_id);
	pg_param_int(&p, (int64_t)offset + 1);
	pg_param_int(&p, (int64_t)length);
	if ((rc = pg_exec_binary(store, PG_BLOB_DATA_READ, &p, "read blob", &res)) < 0)
		return pg_result(store, rc, error_r);
	if (PQntuples(res) != 1) {
		PQclear(res);
		return pg_result(store, pg_fail(store, STORE_ENOTFOUND, "no blob %lld",
						(long long)blob_id), error_r);
	}
	n = (size_t)PQgetlength(res, 0, 0);
	data = arena_alloc(arena, n + 1);
	if (n > 0)
		memcpy(data, PQgetvalue(res, 0, 0), n);
	data[n] = '\0';
	PQclear(res);
	*data_r = data;
	*length_r = n;
	return STORE_OK;
}
