/*
 * store-backend: what a back end of store.h provides, private to store/.
 *
 * store.h is the one API everything above store/ calls; store.c forwards
 * each call to the back end the handle was opened on through its ops table
 * (OpenSMTPD's queue_backend, STYLE.md habit 6): never an #ifdef or a
 * back-end test in the callers. A back end:
 *  - defines its handle as a struct whose FIRST member is a struct store
 *    (so a struct store * is its handle, and back again by a cast);
 *  - fills a const struct store_ops with one function per store.h call, each
 *    keeping the contract store.h writes above that call;
 *  - provides NAME_store_open, NAME_feed_start and NAME_store_migrate
 *    below, which store.c calls by the back end named in struct
 *    store_settings.
 * Adding a store.h function means: a member here, the forwarder in store.c,
 * and an implementation in every back end (sqlite/ and pg/).
 */
#ifndef BUZON_STORE_BACKEND_H
#define BUZON_STORE_BACKEND_H

#include "store/store.h"

struct store_ops;

/* The head of every back end's handle. */
struct store {
	const struct store_ops *ops;
};

/* The head of every back end's feed (store_feed_start). */
struct store_feed {
	/* Stop the feed's thread and free it (store_feed_stop). */
	void (*stop)(struct store_feed *feed);
};

struct store_ops {
	/* Free the handle and everything it holds (store_close). */
	void (*close)(struct store *store);
	int (*account_create)(struct store *store, const char *address, const char *password_hash,
			      int64_t *id_r, const char **error_r);
	int (*account_find)(struct store *store, const char *address, struct arena *arena,
			    struct store_account *account_r, const char **error_r);
	int (*account_set_password)(struct store *store, const char *address,
				    const char *password_hash, const char **error_r);
	int (*account_set_scram)(struct store *store, const char *address, const char *scram,
				 const char **error_r);
	int (*app_password_add)(struct store *store, int64_t account_id, const char *name,
				const char *hash, const char **error_r);
	int (*app_password_delete)(struct store *store, int64_t account_id, const char *name,
				   const char **error_r);
	int (*app_password_list)(struct store *store, int64_t account_id, struct arena *arena,
				 struct store_app_password **list_r, size_t *count_r,
				 const char **error_r);
	int (*app_password_touch)(struct store *store, int64_t id, int64_t when,
				  const char **error_r);
	int (*account_delete)(struct store *store, const char *address, const char **error_r);
	int (*account_list)(struct store *store, struct arena *arena, struct store_account **list_r,
			    size_t *count_r, const char **error_r);
	int (*account_ensure_defaults)(struct store *store, int64_t account_id,
				       const char **error_r);
	void (*quota_set_default)(struct store *store, int64_t storage_kib, int64_t messages);
	int (*quota_get)(struct store *store, int64_t account_id, struct store_quota *quota_r,
			 const char **error_r);
	int (*quota_set)(struct store *store, int64_t account_id, int64_t storage_kib,
			 int64_t messages, const char **error_r);
	int (*mailbox_list)(struct store *store, int64_t account_id, struct arena *arena,
			    struct store_mailbox **list_r, size_t *count_r, const char **error_r);
	int (*mailbox_find)(struct store *store, int64_t account_id, const char *name,
			    struct arena *arena, struct store_mailbox *mailbox_r,
			    const char **error_r);
	int (*mailbox_create)(struct store *store, int64_t account_id, const char *name,
			      unsigned special_use, const char **error_r);
	int (*mailbox_delete)(struct store *store, int64_t account_id, const char *name,
			      const char **error_r);
	int (*mailbox_rename)(struct store *store, int64_t account_id, const char *old_name,
			      const char *new_name, const char **error_r);
	int (*mailbox_status)(struct store *store, int64_t mailbox_id,
			      struct store_mailbox_status *status_r, const char **error_r);
	int (*subscription_set)(struct store *store, int64_t account_id, const char *name,
				bool subscribed, const char **error_r);
	int (*subscription_list)(struct store *store, int64_t account_id, struct arena *arena,
				 char ***names_r, size_t *count_r, const char **error_r);
	int (*message_append)(struct store *store, int64_t mailbox_id,
			      const struct store_new_message *messages, size_t count,
			      uint32_t *uids_r, uint32_t *uidvalidity_r, const char **error_r);
	int (*message_replace)(struct store *store, int64_t mailbox_id,
			       const struct store_new_message *message, int64_t old_mailbox_id,
			       uint32_t old_uid, uint32_t *uid_r, uint32_t *uidvalidity_r,
			       const char **error_r);
	int (*message_list)(struct store *store, int64_t mailbox_id, uint32_t min_uid,
			    struct arena *arena, struct store_message_state **list_r,
			    size_t *count_r, uint64_t *highestmodseq_r, const char **error_r);
	int (*message_changes)(struct store *store, int64_t mailbox_id, uint64_t since_modseq,
			       struct arena *arena, struct store_changes *changes_r,
			       const char **error_r);
	int (*message_set_flags)(struct store *store, int64_t mailbox_id, const uint32_t *uids,
				 size_t count, enum store_flags_op op, unsigned flags,
				 const char *keywords, uint64_t unchanged_since,
				 struct arena *arena, struct store_message_state **result_r,
				 size_t *result_count_r, uint32_t **failed_r,
				 size_t *failed_count_r, const char **error_r);
	int (*message_expunge)(struct store *store, int64_t mailbox_id, const uint32_t *uids,
			       size_t count, struct arena *arena, uint32_t **expunged_r,
			       size_t *expunged_count_r, const char **error_r);
	int (*message_remove)(struct store *store, int64_t mailbox_id, const uint32_t *uids,
			      size_t count, struct arena *arena, uint32_t **removed_r,
			      size_t *removed_count_r, const char **error_r);
	int (*message_copy)(struct store *store, int64_t mailbox_id, const uint32_t *uids,
			    size_t count, int64_t dest_mailbox_id, bool move, struct arena *arena,
			    uint32_t **source_uids_r, uint32_t **dest_uids_r, size_t *count_r,
			    uint32_t *dest_uidvalidity_r, const char **error_r);
	int (*message_get)(struct store *store, int64_t mailbox_id, uint32_t uid, unsigned what,
			   struct arena *arena, struct store_message_info *info_r,
			   const char **error_r);
	int (*message_iterate)(struct store *store, int64_t mailbox_id, store_message_fn *fn,
			       void *context, const char **error_r);
	int (*blob_read)(struct store *store, int64_t blob_id, size_t offset, size_t length,
			 struct arena *arena, const char **data_r, size_t *length_r,
			 const char **error_r);
	int (*message_deliver)(struct store *store, const int64_t *account_ids, size_t count,
			       const char *data, size_t size, int64_t internal_date,
			       uint32_t *uids_r, const char **error_r);
	int (*message_deliver_batch)(struct store *store, struct store_delivery *deliveries,
				     size_t count, const char **error_r);
	int (*group_begin)(struct store *store, const char **error_r);
	int (*group_commit)(struct store *store, const char **error_r);
	void (*group_rollback)(struct store *store);
	int (*search_text)(struct store *store, int64_t mailbox_id, const char *needle,
			   bool include_headers, struct arena *arena, uint32_t **uids_r,
			   size_t *count_r, const char **error_r);
	int (*acl_list)(struct store *store, int64_t mailbox_id, struct arena *arena,
			struct store_acl_entry **entries_r, size_t *count_r, const char **error_r);
	int (*acl_set)(struct store *store, int64_t mailbox_id, const char *identifier,
		       const char *rights, const char **error_r);
	int (*acl_shared_with)(struct store *store, int64_t account_id, const char *address,
			       struct arena *arena, struct store_shared_mailbox **list_r,
			       size_t *count_r, const char **error_r);
	int (*seen_list)(struct store *store, int64_t account_id, int64_t mailbox_id,
			 struct arena *arena, uint32_t **uids_r, size_t *count_r,
			 const char **error_r);
	int (*seen_set)(struct store *store, int64_t account_id, int64_t mailbox_id,
			const uint32_t *uids, size_t count, bool seen, struct arena *arena,
			struct store_message_state **result_r, size_t *result_count_r,
			const char **error_r);
	int (*account_system)(struct store *store, const char *address, bool create, int64_t *id_r,
			      const char **error_r);
	int (*metadata_get)(struct store *store, int64_t mailbox_id, int64_t account_id,
			    const char *entry, struct arena *arena, struct store_metadata **list_r,
			    size_t *count_r, const char **error_r);
	int (*metadata_set)(struct store *store, const struct store_metadata *changes, size_t count,
			    size_t max_entries, const char **error_r);
};

/* ---- the back ends ------------------------------------------------------- */

/* store/sqlite/: buzon.db in settings->data_dir. */
int sqlite_store_open(const struct store_settings *settings, struct store_bus *bus,
		      struct store **store_r, const char **error_r);
int sqlite_feed_start(const struct store_settings *settings, struct store_bus *bus,
		      struct store_feed **feed_r, const char **error_r);
int sqlite_store_migrate(const struct store_settings *settings, int *from_r, int *to_r,
			 const char **error_r);

/* store/pg/: the database settings->postgres_url names. */
int pg_store_open(const struct store_settings *settings, struct store_bus *bus,
		  struct store **store_r, const char **error_r);
int pg_feed_start(const struct store_settings *settings, struct store_bus *bus,
		  struct store_feed **feed_r, const char **error_r);
int pg_store_migrate(const struct store_settings *settings, int *from_r, int *to_r,
		     const char **error_r);

#endif
