/*
 * pg-app-password: app passwords on PostgreSQL. Stubs until the pg-more
 * branch brings them (pg-private.h says the shape).
 */
#include "store/pg/pg-private.h"

/* Stub (pg-more). */
int pg_store_app_password_add(struct store *base, int64_t account_id, const char *name,
			      const char *hash, const char **error_r)
{
	return pg_unsupported(base, "app passwords", error_r);
}

/* Stub (pg-more). */
int pg_store_app_password_delete(struct store *base, int64_t account_id, const char *name,
				 const char **error_r)
{
	return pg_unsupported(base, "app passwords", error_r);
}

/* Stub (pg-more). */
int pg_store_app_password_list(struct store *base, int64_t account_id, struct arena *arena,
			       struct store_app_password **list_r, size_t *count_r,
			       const char **error_r)
{
	*list_r = NULL;
	*count_r = 0;
	return pg_unsupported(base, "app passwords", error_r);
}

/* Stub (pg-more). */
int pg_store_app_password_touch(struct store *base, int64_t id, int64_t when,
				const char **error_r)
{
	return pg_unsupported(base, "app passwords", error_r);
}
