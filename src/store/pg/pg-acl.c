/*
 * pg-acl: sharing (RFC 4314 ACL entries, per-user \Seen) and the system
 * account of the public folders, on PostgreSQL. Stubs until the pg-more
 * branch brings them: each fails with "not supported by the postgres store
 * yet" (pg-private.h says the shape).
 */
#include "store/pg/pg-private.h"

/* Stub (pg-more). */
int pg_store_acl_list(struct store *base, int64_t mailbox_id, struct arena *arena,
		      struct store_acl_entry **entries_r, size_t *count_r, const char **error_r)
{
	*entries_r = NULL;
	*count_r = 0;
	return pg_unsupported(base, "ACL", error_r);
}

/* Stub (pg-more). */
int pg_store_acl_set(struct store *base, int64_t mailbox_id, const char *identifier,
		     const char *rights, const char **error_r)
{
	return pg_unsupported(base, "ACL", error_r);
}

/* Stub (pg-more). */
int pg_store_acl_shared_with(struct store *base, int64_t account_id, const char *address,
			     struct arena *arena, struct store_shared_mailbox **list_r,
			     size_t *count_r, const char **error_r)
{
	*list_r = NULL;
	*count_r = 0;
	return pg_unsupported(base, "ACL", error_r);
}

/* Stub (pg-more). */
int pg_store_seen_list(struct store *base, int64_t account_id, int64_t mailbox_id,
		       struct arena *arena, uint32_t **uids_r, size_t *count_r,
		       const char **error_r)
{
	*uids_r = NULL;
	*count_r = 0;
	return pg_unsupported(base, "per-user \\Seen", error_r);
}

/* Stub (pg-more). */
int pg_store_seen_set(struct store *base, int64_t account_id, int64_t mailbox_id,
		      const uint32_t *uids, size_t count, bool seen, struct arena *arena,
		      struct store_message_state **result_r, size_t *result_count_r,
		      const char **error_r)
{
	*result_r = NULL;
	*result_count_r = 0;
	return pg_unsupported(base, "per-user \\Seen", error_r);
}

/* Stub (pg-more). */
int pg_store_account_system(struct store *base, const char *address, bool create,
			    int64_t *id_r, const char **error_r)
{
	return pg_unsupported(base, "shared folders", error_r);
}
