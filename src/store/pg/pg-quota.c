/*
 * pg-quota: per-account quotas (store.h, RFC 9208) on PostgreSQL.
 *
 * pg_quota_read and pg_quota_check_growth are what the writers (append,
 * copy, deliver) run inside their transactions; the usage columns are kept
 * by the message triggers of schema step 1. store_quota_set is a stub
 * until the pg-more branch brings it (pg-private.h says the shape).
 */
#include "store/pg/pg-private.h"

/* A limit column: NULL follows the default, negative is no limit. */
static int64_t pg_quota_limit(const PGresult *res, int col, int64_t fallback)
{
	if (pg_is_null(res, 0, col))
		return fallback;
	return pg_int(res, 0, col) < 0 ? STORE_QUOTA_NONE : pg_int(res, 0, col);
}

int pg_quota_read(struct pg_store *store, int64_t account_id, struct store_quota *quota_r)
{
	struct pg_params p;
	PGresult *res;
	int rc;

	pg_params_init(&p);
	pg_param_int(&p, account_id);
	if ((rc = pg_exec(store, PG_QUOTA_READ, &p, "read quota", &res)) < 0)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return pg_fail(store, STORE_ENOTFOUND, "no account %lld", (long long)account_id);
	}
	quota_r->used_bytes = (uint64_t)pg_int(res, 0, 0);
	quota_r->used_messages = (uint64_t)pg_int(res, 0, 1);
	quota_r->limit_kib = pg_quota_limit(res, 2, store->default_quota_kib);
	quota_r->limit_messages = pg_quota_limit(res, 3, store->default_quota_messages);
	PQclear(res);
	return STORE_OK;
}

int pg_quota_check_growth(struct pg_store *store, int64_t account_id,
			  const struct store_quota *before)
{
	struct store_quota after;
	int rc = pg_quota_read(store, account_id, &after);

	if (rc < 0)
		return rc;
	if ((after.used_bytes > before->used_bytes && after.limit_kib >= 0 &&
	     after.used_bytes > (uint64_t)after.limit_kib * 1024) ||
	    (after.used_messages > before->used_messages && after.limit_messages >= 0 &&
	     after.used_messages > (uint64_t)after.limit_messages))
		return pg_fail(store, STORE_EOVERQUOTA, "over quota");
	return STORE_OK;
}

/* The defaults are per handle, as in SQLite; the writers apply them. */
void pg_store_quota_set_default(struct store *base, int64_t storage_kib, int64_t messages)
{
	struct pg_store *store = pg_store_of(base);

	store->default_quota_kib = storage_kib < 0 ? STORE_QUOTA_NONE : storage_kib;
	store->default_quota_messages = messages < 0 ? STORE_QUOTA_NONE : messages;
}

/* SMTP asks this at RCPT, so it is real from the start. */
int pg_store_quota_get(struct store *base, int64_t account_id, struct store_quota *quota_r,
		       const char **error_r)
{
	struct pg_store *store = pg_store_of(base);

	return pg_result(store, pg_quota_read(store, account_id, quota_r), error_r);
}

/* Stub (pg-more): an account's own limits. */
int pg_store_quota_set(struct store *base, int64_t account_id, int64_t storage_kib,
		       int64_t messages, const char **error_r)
{
	return pg_unsupported(base, "quota", error_r);
}
