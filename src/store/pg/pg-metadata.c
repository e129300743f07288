/*
 * pg-metadata: annotations (RFC 5464 METADATA) on PostgreSQL. Stubs until
 * the pg-more branch brings them (pg-private.h says the shape).
 */
#include "store/pg/pg-private.h"

/* Stub (pg-more). */
int pg_store_metadata_get(struct store *base, int64_t mailbox_id, int64_t account_id,
			  const char *entry, struct arena *arena, struct store_metadata **list_r,
			  size_t *count_r, const char **error_r)
{
	*list_r = NULL;
	*count_r = 0;
	return pg_unsupported(base, "METADATA", error_r);
}

/* Stub (pg-more). */
int pg_store_metadata_set(struct store *base, const struct store_metadata *changes,
			  size_t count, size_t max_entries, const char **error_r)
{
	return pg_unsupported(base, "METADATA", error_r);
}
