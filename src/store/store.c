/*
 * store: the dispatch of store.h. store_open picks the back end from the
 * settings; every other call goes to the ops table of the handle it is given
 * (store-backend.h). Nothing here knows SQL: the back ends are store/sqlite/
 * and store/pg/.
 */
#include "store/store-backend.h"

#include <string.h>

#include "core/config.h"

void store_settings_from_config(const struct config *config, struct store_settings *settings_r)
{
	settings_r->backend = config->store != NULL && strcmp(config->store, "postgres") == 0
				      ? STORE_BACKEND_POSTGRES : STORE_BACKEND_SQLITE;
	settings_r->data_dir = config->data_dir;
	settings_r->postgres_url = config->postgres_url;
}

/* The back end is chosen here and nowhere else; a handle keeps its ops. */
int store_open(const struct store_settings *settings, struct store_bus *bus,
	       struct store **store_r, const char **error_r)
{
	*store_r = NULL;
	switch (settings->backend) {
	case STORE_BACKEND_SQLITE:
		return sqlite_store_open(settings, bus, store_r, error_r);
	case STORE_BACKEND_POSTGRES:
		return pg_store_open(settings, bus, store_r, error_r);
	}
	if (error_r != NULL)
		*error_r = "unknown store back end";
	return STORE_EINVALID;
}

/* `buzon db migrate`: the same schema work store_open does, reported. */
int store_migrate(const struct store_settings *settings, int *from_r, int *to_r,
		  const char **error_r)
{
	switch (settings->backend) {
	case STORE_BACKEND_SQLITE:
		return sqlite_store_migrate(settings, from_r, to_r, error_r);
	case STORE_BACKEND_POSTGRES:
		return pg_store_migrate(settings, from_r, to_r, error_r);
	}
	if (error_r != NULL)
		*error_r = "unknown store back end";
	return STORE_EINVALID;
}

void store_close(struct store *store)
{
	if (store != NULL)
		store->ops->close(store);
}

/* The feed reads the same store as store_open would, so it picks the same
 * back end. */
int store_feed_start(const struct store_settings *settings, struct store_bus *bus,
		     struct store_feed **feed_r, const char **error_r)
{
	*feed_r = NULL;
	switch (settings->backend) {
	case STORE_BACKEND_SQLITE:
		return sqlite_feed_start(settings, bus, feed_r, error_r);
	case STORE_BACKEND_POSTGRES:
		return pg_feed_start(settings, bus, feed_r, error_r);
	}
	if (error_r != NULL)
		*error_r = "unknown store back end";
	return STORE_EINVALID;
}

void store_feed_stop(struct store_feed *feed)
{
	if (feed != NULL)
		feed->stop(feed);
}

/* Pure arithmetic on a quota already read: the same for every back end. */
bool store_quota_allows(const struct store_quota *quota, uint64_t add_bytes,
			uint64_t add_messages)
{
	/* limit_kib counts KiB: limit_kib * 1024 bytes exactly, so a message
	 * fits or not by its size. */
	if (add_bytes > 0 && quota->limit_kib >= 0 &&
	    quota->used_bytes + add_bytes > (uint64_t)quota->limit_kib * 1024)
		return false;
	if (add_messages > 0 && quota->limit_messages >= 0 &&
	    quota->used_messages + add_messages > (uint64_t)quota->limit_messages)
		return false;
	return true;
}

/* ---- forwarded to the back end ------------------------------------------------ */

int store_account_create(struct store *store, const char *address, const char *password_hash,
			 int64_t *id_r, const char **error_r)
{
	return store->ops->account_create(store, address, password_hash, id_r, error_r);
}

int store_account_find(struct store *store, const char *address, struct arena *arena,
		       struct store_account *account_r, const char **error_r)
{
	return store->ops->account_find(store, address, arena, account_r, error_r);
}

int store_account_set_password(struct store *store, const char *address, const char *password_hash,
			       const char **error_r)
{
	return store->ops->account_set_password(store, address, password_hash, error_r);
}

int store_account_set_scram(struct store *store, const char *address, const char *scram,
			    const char **error_r)
{
	return store->ops->account_set_scram(store, address, scram, error_r);
}

int store_app_password_add(struct store *store, int64_t account_id, const char *name,
			   const char *hash, const char **error_r)
{
	return store->ops->app_password_add(store, account_id, name, hash, error_r);
}

int store_app_password_delete(struct store *store, int64_t account_id, const char *name,
			      const char **error_r)
{
	return store->ops->app_password_delete(store, account_id, name, error_r);
}

int store_app_password_list(struct store *store, int64_t account_id, struct arena *arena,
			    struct store_app_password **list_r, size_t *count_r,
			    const char **error_r)
{
	return store->ops->app_password_list(store, account_id, arena, list_r, count_r, error_r);
}

int store_app_password_touch(struct store *store, int64_t id, int64_t when, const char **error_r)
{
	return store->ops->app_password_touch(store, id, when, error_r);
}

int store_account_delete(struct store *store, const char *address, const char **error_r)
{
	return store->ops->account_delete(store, address, error_r);
}

int store_account_list(struct store *store, struct arena *arena, struct store_account **list_r,
		       size_t *count_r, const char **error_r)
{
	return store->ops->account_list(store, arena, list_r, count_r, error_r);
}

int store_account_ensure_defaults(struct store *store, int64_t account_id, const char **error_r)
{
	return store->ops->account_ensure_defaults(store, account_id, error_r);
}

void store_quota_set_default(struct store *store, int64_t storage_kib, int64_t messages)
{
	store->ops->quota_set_default(store, storage_kib, messages);
}

int store_quota_get(struct store *store, int64_t account_id, struct store_quota *quota_r,
		    const char **error_r)
{
	return store->ops->quota_get(store, account_id, quota_r, error_r);
}

int store_quota_set(struct store *store, int64_t account_id, int64_t storage_kib, int64_t messages,
		    const char **error_r)
{
	return store->ops->quota_set(store, account_id, storage_kib, messages, error_r);
}

int store_mailbox_list(struct store *store, int64_t account_id, struct arena *arena,
		       struct store_mailbox **list_r, size_t *count_r, const char **error_r)
{
	return store->ops->mailbox_list(store, account_id, arena, list_r, count_r, error_r);
}

int store_mailbox_find(struct store *store, int64_t account_id, const char *name,
		       struct arena *arena, struct store_mailbox *mailbox_r, const char **error_r)
{
	return store->ops->mailbox_find(store, account_id, name, arena, mailbox_r, error_r);
}

int store_mailbox_create(struct store *store, int64_t account_id, const char *name,
			 unsigned special_use, const char **error_r)
{
	return store->ops->mailbox_create(store, account_id, name, special_use, error_r);
}

int store_mailbox_delete(struct store *store, int64_t account_id, const char *name,
			 const char **error_r)
{
	return store->ops->mailbox_delete(store, account_id, name, error_r);
}

int store_mailbox_rename(struct store *store, int64_t account_id, const char *old_name,
			 const char *new_name, const char **error_r)
{
	return store->ops->mailbox_rename(store, account_id, old_name, new_name, error_r);
}

int store_mailbox_status(struct store *store, int64_t mailbox_id,
			 struct store_mailbox_status *status_r, const char **error_r)
{
	return store->ops->mailbox_status(store, mailbox_id, status_r, error_r);
}

int store_subscription_set(struct store *store, int64_t account_id, const char *name,
			   bool subscribed, const char **error_r)
{
	return store->ops->subscription_set(store, account_id, name, subscribed, error_r);
}

int store_subscription_list(struct store *store, int64_t account_id, struct arena *arena,
			    char ***names_r, size_t *count_r, const char **error_r)
{
	return store->ops->subscription_list(store, account_id, arena, names_r, count_r, error_r);
}

int store_message_append(struct store *store, int64_t mailbox_id,
			 const struct store_new_message *messages, size_t count, uint32_t *uids_r,
			 uint32_t *uidvalidity_r, const char **error_r)
{
	return store->ops->message_append(store, mailbox_id, messages, count, uids_r, uidvalidity_r,
					  error_r);
}

int store_message_replace(struct store *store, int64_t mailbox_id,
			  const struct store_new_message *message, int64_t old_mailbox_id,
			  uint32_t old_uid, uint32_t *uid_r, uint32_t *uidvalidity_r,
			  const char **error_r)
{
	return store->ops->message_replace(store, mailbox_id, message, old_mailbox_id, old_uid,
					   uid_r, uidvalidity_r, error_r);
}

int store_message_list(struct store *store, int64_t mailbox_id, uint32_t min_uid,
		       struct arena *arena, struct store_message_state **list_r, size_t *count_r,
		       uint64_t *highestmodseq_r, const char **error_r)
{
	return store->ops->message_list(store, mailbox_id, min_uid, arena, list_r, count_r,
					highestmodseq_r, error_r);
}

int store_message_changes(struct store *store, int64_t mailbox_id, uint64_t since_modseq,
			  struct arena *arena, struct store_changes *changes_r,
			  const char **error_r)
{
	return store->ops->message_changes(store, mailbox_id, since_modseq, arena, changes_r,
					   error_r);
}

int store_message_set_flags(struct store *store, int64_t mailbox_id, const uint32_t *uids,
			    size_t count, enum store_flags_op op, unsigned flags,
			    const char *keywords, uint64_t unchanged_since, struct arena *arena,
			    struct store_message_state **result_r, size_t *result_count_r,
			    uint32_t **failed_r, size_t *failed_count_r, const char **error_r)
{
	return store->ops->message_set_flags(store, mailbox_id, uids, count, op, flags, keywords,
					     unchanged_since, arena, result_r, result_count_r,
					     failed_r, failed_count_r, error_r);
}

int store_message_expunge(struct store *store, int64_t mailbox_id, const uint32_t *uids,
			  size_t count, struct arena *arena, uint32_t **expunged_r,
			  size_t *expunged_count_r, const char **error_r)
{
	return store->ops->message_expunge(store, mailbox_id, uids, count, arena, expunged_r,
					   expunged_count_r, error_r);
}

int store_message_remove(struct store *store, int64_t mailbox_id, const uint32_t *uids,
			 size_t count, struct arena *arena, uint32_t **removed_r,
			 size_t *removed_count_r, const char **error_r)
{
	return store->ops->message_remove(store, mailbox_id, uids, count, arena, removed_r,
					  removed_count_r, error_r);
}

int store_message_copy(struct store *store, int64_t mailbox_id, const uint32_t *uids, size_t count,
		       int64_t dest_mailbox_id, bool move, struct arena *arena,
		       uint32_t **source_uids_r, uint32_t **dest_uids_r, size_t *count_r,
		       uint32_t *dest_uidvalidity_r, const char **error_r)
{
	return store->ops->message_copy(store, mailbox_id, uids, count, dest_mailbox_id, move,
					arena, source_uids_r, dest_uids_r, count_r,
					dest_uidvalidity_r, error_r);
}

int store_message_get(struct store *store, int64_t mailbox_id, uint32_t uid, unsigned what,
		      struct arena *arena, struct store_message_info *info_r, const char **error_r)
{
	return store->ops->message_get(store, mailbox_id, uid, what, arena, info_r, error_r);
}

int store_message_iterate(struct store *store, int64_t mailbox_id, store_message_fn *fn,
			  void *context, const char **error_r)
{
	return store->ops->message_iterate(store, mailbox_id, fn, context, error_r);
}

int store_blob_read(struct store *store, int64_t blob_id, size_t offset, size_t length,
		    struct arena *arena, const char **data_r, size_t *length_r,
		    const char **error_r)
{
	return store->ops->blob_read(store, blob_id, offset, length, arena, data_r, length_r,
				     error_r);
}

int store_message_deliver(struct store *store, const int64_t *account_ids, size_t count,
			  const char *data, size_t size, int64_t internal_date, uint32_t *uids_r,
			  const char **error_r)
{
	return store->ops->message_deliver(store, account_ids, count, data, size, internal_date,
					   uids_r, error_r);
}

int store_message_deliver_batch(struct store *store, struct store_delivery *deliveries,
				size_t count, const char **error_r)
{
	return store->ops->message_deliver_batch(store, deliveries, count, error_r);
}

int store_group_begin(struct store *store, const char **error_r)
{
	return store->ops->group_begin(store, error_r);
}

int store_group_commit(struct store *store, const char **error_r)
{
	return store->ops->group_commit(store, error_r);
}

void store_group_rollback(struct store *store)
{
	store->ops->group_rollback(store);
}

int store_search_text(struct store *store, int64_t mailbox_id, const char *needle,
		      bool include_headers, struct arena *arena, uint32_t **uids_r, size_t *count_r,
		      const char **error_r)
{
	return store->ops->search_text(store, mailbox_id, needle, include_headers, arena, uids_r,
				       count_r, error_r);
}

int store_acl_list(struct store *store, int64_t mailbox_id, struct arena *arena,
		   struct store_acl_entry **entries_r, size_t *count_r, const char **error_r)
{
	return store->ops->acl_list(store, mailbox_id, arena, entries_r, count_r, error_r);
}

int store_acl_set(struct store *store, int64_t mailbox_id, const char *identifier,
		  const char *rights, const char **error_r)
{
	return store->ops->acl_set(store, mailbox_id, identifier, rights, error_r);
}

int store_acl_shared_with(struct store *store, int64_t account_id, const char *address,
			  struct arena *arena, struct store_shared_mailbox **list_r,
			  size_t *count_r, const char **error_r)
{
	return store->ops->acl_shared_with(store, account_id, address, arena, list_r, count_r,
					   error_r);
}

int store_seen_list(struct store *store, int64_t account_id, int64_t mailbox_id,
		    struct arena *arena, uint32_t **uids_r, size_t *count_r, const char **error_r)
{
	return store->ops->seen_list(store, account_id, mailbox_id, arena, uids_r, count_r,
				     error_r);
}

int store_seen_set(struct store *store, int64_t account_id, int64_t mailbox_id,
		   const uint32_t *uids, size_t count, bool seen, struct arena *arena,
		   struct store_message_state **result_r, size_t *result_count_r,
		   const char **error_r)
{
	return store->ops->seen_set(store, account_id, mailbox_id, uids, count, seen, arena,
				    result_r, result_count_r, error_r);
}

int store_account_system(struct store *store, const char *address, bool create, int64_t *id_r,
			 const char **error_r)
{
	return store->ops->account_system(store, address, create, id_r, error_r);
}

int store_metadata_get(struct store *store, int64_t mailbox_id, int64_t account_id,
		       const char *entry, struct arena *arena, struct store_metadata **list_r,
		       size_t *count_r, const char **error_r)
{
	return store->ops->metadata_get(store, mailbox_id, account_id, entry, arena, list_r,
					count_r, error_r);
}

int store_metadata_set(struct store *store, const struct store_metadata *changes, size_t count,
		       size_t max_entries, const char **error_r)
{
	return store->ops->metadata_set(store, changes, count, max_entries, error_r);
}
