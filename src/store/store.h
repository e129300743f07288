/*
 * store: the mail store API. Everything above this header (IMAP, POP3, SMTP,
 * the command line) works the same on every back end (DESIGN.md rule 7); the
 * embedded back end is store/sqlite/, the cluster one will be store/pg/.
 *
 * Back ends: store.c dispatches each function to the back end that
 * store_open chose from the settings (store-backend.h, private to store/).
 *
 * Threads: a struct store is one connection to the back end and belongs to
 * one thread (each event loop opens its own). The change bus is shared by all
 * threads and is thread-safe.
 *
 * Rules kept here (DESIGN.md):
 *  1. a call that stores mail returns 0 only after the message and its
 *     metadata are on stable storage (committed with fsync);
 *  2. messages are parsed once, in store_message_append, with mime/;
 *  3. every change to a mailbox bumps its MODSEQ; UIDs only grow and are
 *     never reused; UIDVALIDITY is stable;
 *  4. every committed change is published on the bus.
 *
 * Errors: functions return 0 on success or a negative STORE_E* code;
 * *error_r (where present) then points to a message valid until the next call
 * on the same store. Mailbox names are UTF-8 with '/' as the hierarchy
 * separator; INBOX is always spelled "INBOX".
 */
#ifndef BUZON_STORE_H
#define BUZON_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

#define STORE_OK 0
#define STORE_EFAIL (-1)     /* back end error (I/O, corruption) */
#define STORE_ENOTFOUND (-2) /* no such account, mailbox or message */
#define STORE_EEXISTS (-3)   /* name already taken */
#define STORE_EINVALID (-4)  /* a request that cannot be done (e.g. delete INBOX) */
#define STORE_EOVERQUOTA (-5) /* it would take an account over its quota (RFC 9208) */

/* System flags (RFC 9051 §2.3.2), as a bit set. */
enum store_flag {
	STORE_FLAG_SEEN = 1 << 0,
	STORE_FLAG_ANSWERED = 1 << 1,
	STORE_FLAG_FLAGGED = 1 << 2,
	STORE_FLAG_DELETED = 1 << 3,
	STORE_FLAG_DRAFT = 1 << 4,
};

/* Special-use attributes (RFC 6154), as a bit set. */
enum store_special_use {
	STORE_USE_ALL = 1 << 0,
	STORE_USE_ARCHIVE = 1 << 1,
	STORE_USE_DRAFTS = 1 << 2,
	STORE_USE_FLAGGED = 1 << 3,
	STORE_USE_JUNK = 1 << 4,
	STORE_USE_SENT = 1 << 5,
	STORE_USE_TRASH = 1 << 6,
};

struct store;
struct store_bus;

/* ---- opening ---------------------------------------------------------- */

/* Which back end keeps the mail (config key `store`). */
enum store_backend {
	STORE_BACKEND_SQLITE,   /* buzon.db in data_dir: embedded, no setup */
	STORE_BACKEND_POSTGRES, /* a PostgreSQL database: several nodes share it */
};

/* Where the store is: what store_open and store_feed_start need. The
 * strings are borrowed (from the config) and must outlive the call. */
struct store_settings {
	enum store_backend backend;
	const char *data_dir;     /* SQLite: the folder of buzon.db */
	const char *postgres_url; /* PostgreSQL: a libpq connection URI */
};

struct config;
/* The settings a config file names (store, postgres_url, data_dir); they
 * point into config. */
void store_settings_from_config(const struct config *config, struct store_settings *settings_r);

/* Open (creating or migrating the schema if needed) the store settings
 * name. bus may be NULL (command line tools that nobody watches). */
int store_open(const struct store_settings *settings, struct store_bus *bus,
	       struct store **store_r, const char **error_r);
/* Bring the schema up to date (what store_open also does) and say from
 * which version to which (`buzon db migrate`); equal when nothing was to
 * do. A schema newer than this program is an error, left untouched. */
int store_migrate(const struct store_settings *settings, int *from_r, int *to_r,
		  const char **error_r);
void store_close(struct store *store);

/* ---- the change bus (rule 4) ------------------------------------------- */

/* What a committed transaction changed, as the bus carries it. Events say
 * only what changed, never how: a watcher reads the store for the rest, so
 * the same events can come from another process (store_feed) or node. */
enum store_event_kind {
	/* messages of mailbox_id were added, changed or expunged; modseq is
	 * the mailbox's new HIGHESTMODSEQ */
	STORE_EVENT_MESSAGES = 1,
	/* a mailbox of the account was created, deleted or renamed (with
	 * its children); mailbox_id is that mailbox */
	STORE_EVENT_MAILBOXES = 2,
	/* the account's subscriptions changed; mailbox_id is 0 */
	STORE_EVENT_SUBSCRIPTIONS = 3,
};

struct store_event {
	enum store_event_kind kind;
	int64_t account_id;
	int64_t mailbox_id;
	uint64_t modseq; /* STORE_EVENT_MESSAGES only */
};

/* Called after a commit with one event. Runs on the committing thread (or
 * the feed's), with the bus lock held: it must only note the event and
 * wake its own loop. */
typedef void store_watch_fn(void *context, const struct store_event *event);
struct store_watch;

struct store_bus *store_bus_new(void);
void store_bus_free(struct store_bus *bus);
/* Watch every mailbox of an account. A session that watches several
 * accounts (shared mailboxes) holds one watch per account. */
struct store_watch *store_bus_watch(struct store_bus *bus, int64_t account_id,
				    store_watch_fn *fn, void *context);
/* After this returns, fn is not running and will never be called again. */
void store_bus_unwatch(struct store_bus *bus, struct store_watch *watch);
/* Tell every watcher of event->account_id (back ends call this after
 * commit). */
void store_bus_publish(struct store_bus *bus, const struct store_event *event);
/* A number that tells this process's bus from any other's (random, never
 * 0): back ends stamp what they commit with it, so the feed republishes
 * only the changes of others. 0 for a NULL bus (the command line). */
uint64_t store_bus_origin(const struct store_bus *bus);

/* ---- changes made by other processes ------------------------------------ */

/* The feed brings changes committed by other processes (`buzon deliver`,
 * `buzon user`, another server on the same store) onto this process's bus,
 * within about a second. The SQLite back end polls PRAGMA data_version and
 * reads the change log its writers fill in the same transaction; a
 * PostgreSQL back end would LISTEN for what its writers NOTIFY. It runs a
 * thread of its own; stop it before freeing the bus. */
struct store_feed;
int store_feed_start(const struct store_settings *settings, struct store_bus *bus,
		     struct store_feed **feed_r, const char **error_r);
void store_feed_stop(struct store_feed *feed);

/* ---- accounts ---------------------------------------------------------- */

struct store_account {
	int64_t id;
	char *address;       /* lower case */
	char *password_hash; /* crypt(3) string */
	char *scram;         /* SCRAM-SHA-256 keys (auth/scram.h), or NULL */
};

/* Create an account with its default folders (INBOX, Sent, Drafts, Trash,
 * Junk, Archive with their special-use). EEXISTS if the address is taken. */
int store_account_create(struct store *store, const char *address, const char *password_hash,
			 int64_t *id_r, const char **error_r);
int store_account_find(struct store *store, const char *address, struct arena *arena,
		       struct store_account *account_r, const char **error_r);
/* A new password hash also forgets the SCRAM keys of the old password;
 * store_account_set_scram then stores those of the new one. */
int store_account_set_password(struct store *store, const char *address,
			       const char *password_hash, const char **error_r);
int store_account_set_scram(struct store *store, const char *address, const char *scram,
			    const char **error_r);

/* App passwords: several per account, each named (unique per account) and
 * revocable; hash is what auth/login.c compares. Times are Unix seconds,
 * last_used 0 when never used. */
struct store_app_password {
	int64_t id;
	char *name;
	char *hash;
	int64_t created;
	int64_t last_used;
};
/* EEXISTS when the account already has one called name. */
int store_app_password_add(struct store *store, int64_t account_id, const char *name,
			   const char *hash, const char **error_r);
/* ENOTFOUND when there is none called name. */
int store_app_password_delete(struct store *store, int64_t account_id, const char *name,
			      const char **error_r);
/* All of an account's, sorted by name. */
int store_app_password_list(struct store *store, int64_t account_id, struct arena *arena,
			    struct store_app_password **list_r, size_t *count_r,
			    const char **error_r);
int store_app_password_touch(struct store *store, int64_t id, int64_t when,
			     const char **error_r);
/* Delete the account and all its mail. */
int store_account_delete(struct store *store, const char *address, const char **error_r);
int store_account_list(struct store *store, struct arena *arena, struct store_account **list_r,
		       size_t *count_r, const char **error_r);
/* Create any missing default folder (idempotent; run at login). */
int store_account_ensure_defaults(struct store *store, int64_t account_id, const char **error_r);

/* ---- quotas (RFC 9208) ------------------------------------------------- */

/* Each account is one quota root with two resources: STORAGE (the sum of
 * its messages' sizes, limited in KiB) and MESSAGE (their count). Usage is
 * exact: it changes in the same transaction as the messages. An operation
 * that would raise a resource above its limit fails with STORE_EOVERQUOTA
 * and changes nothing; one that frees space or keeps usage equal (a MOVE
 * inside the account) always works. */
#define STORE_QUOTA_NONE (-1)    /* no limit */
#define STORE_QUOTA_DEFAULT (-2) /* the configured default (store_quota_set_default) */

struct store_quota {
	uint64_t used_bytes;
	uint64_t used_messages;
	int64_t limit_kib;      /* STORE_QUOTA_NONE or KiB (1024 octets) */
	int64_t limit_messages; /* STORE_QUOTA_NONE or a count */
};

/* The limits of every account that has none of its own (the
 * quota_storage / quota_messages config keys): KiB and a count, each
 * STORE_QUOTA_NONE or >= 0. Per store handle; set once after store_open. */
void store_quota_set_default(struct store *store, int64_t storage_kib, int64_t messages);
/* Usage and the limits in force (the account's own, else the default). */
int store_quota_get(struct store *store, int64_t account_id, struct store_quota *quota_r,
		    const char **error_r);
/* Would adding add_bytes in add_messages messages stay within quota's
 * limits? (What the writers check; SMTP asks it at RCPT.) */
bool store_quota_allows(const struct store_quota *quota, uint64_t add_bytes,
			uint64_t add_messages);
/* Set an account's own limits: each >= 0, STORE_QUOTA_NONE or
 * STORE_QUOTA_DEFAULT. Usage above a new limit is kept (nothing is
 * deleted); only growth is refused. */
int store_quota_set(struct store *store, int64_t account_id, int64_t storage_kib,
		    int64_t messages, const char **error_r);

/* ---- mailboxes --------------------------------------------------------- */

struct store_mailbox {
	int64_t id;
	char *name;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	unsigned special_use; /* enum store_special_use bits */
};

struct store_mailbox_status {
	uint32_t messages;
	uint32_t unseen;
	uint32_t deleted;
	uint32_t uidnext;
	uint32_t uidvalidity;
	uint64_t highestmodseq;
	uint64_t size; /* sum of message sizes (STATUS SIZE) */
	uint64_t deleted_size; /* ... of those with \Deleted (RFC 9208 DELETED-STORAGE) */
};

/* All mailboxes of an account, sorted by name. */
int store_mailbox_list(struct store *store, int64_t account_id, struct arena *arena,
		       struct store_mailbox **list_r, size_t *count_r, const char **error_r);
int store_mailbox_find(struct store *store, int64_t account_id, const char *name,
		       struct arena *arena, struct store_mailbox *mailbox_r, const char **error_r);
/* A new mailbox with a fresh UIDVALIDITY, and its missing superiors ("a"
 * and "a/b" for "a/b/c") in the same transaction. EEXISTS if present. */
int store_mailbox_create(struct store *store, int64_t account_id, const char *name,
			 unsigned special_use, const char **error_r);
/* Remove the mailbox and its messages (children are untouched). EINVALID for INBOX. */
int store_mailbox_delete(struct store *store, int64_t account_id, const char *name,
			 const char **error_r);
/* Rename a mailbox and every mailbox below it ("a" -> "b" also renames
 * "a/x" to "b/x"). Renaming INBOX moves its messages to a new mailbox and
 * leaves INBOX empty (RFC 9051 §6.3.6). Missing superiors of the new name
 * are created in the same transaction. EEXISTS if the target exists. */
int store_mailbox_rename(struct store *store, int64_t account_id, const char *old_name,
			 const char *new_name, const char **error_r);
int store_mailbox_status(struct store *store, int64_t mailbox_id,
			 struct store_mailbox_status *status_r, const char **error_r);

/* Subscriptions are names, which may not exist (RFC 9051 §6.3.7). */
int store_subscription_set(struct store *store, int64_t account_id, const char *name,
			   bool subscribed, const char **error_r);
int store_subscription_list(struct store *store, int64_t account_id, struct arena *arena,
			    char ***names_r, size_t *count_r, const char **error_r);

/* ---- messages ---------------------------------------------------------- */

/* One message to append. keywords: space-separated, may be NULL. */
struct store_new_message {
	const char *data;
	size_t size;
	unsigned flags;
	const char *keywords;
	int64_t internal_date;   /* seconds since the epoch; 0 = now */
	int internal_date_tz;    /* zone offset in minutes, for INTERNALDATE */
};

/* Append count messages in one transaction (MULTIAPPEND, group commit).
 * Parses each once (rule 2). On success uids_r[i] is message i's UID and
 * *uidvalidity_r the mailbox's UIDVALIDITY (APPENDUID). Durable on return.
 * EOVERQUOTA (nothing stored) when they do not fit the owner's quota. */
int store_message_append(struct store *store, int64_t mailbox_id,
			 const struct store_new_message *messages, size_t count, uint32_t *uids_r,
			 uint32_t *uidvalidity_r, const char **error_r);

/* REPLACE (RFC 8508 §3.4): append message to mailbox_id and expunge
 * old_uid from old_mailbox_id (the selected mailbox) in ONE transaction,
 * so no one ever sees both or neither. ENOTFOUND (nothing changed) when
 * old_uid is no longer there. *uid_r and *uidvalidity_r: APPENDUID. */
int store_message_replace(struct store *store, int64_t mailbox_id,
			  const struct store_new_message *message, int64_t old_mailbox_id,
			  uint32_t old_uid, uint32_t *uid_r, uint32_t *uidvalidity_r,
			  const char **error_r);

/* The state of one message as a session keeps it. keywords are
 * space-separated (NULL or "" when none). */
struct store_message_state {
	uint32_t uid;
	unsigned flags;
	uint64_t modseq;
	char *keywords;
};

/* Every message with uid >= min_uid, ascending; *highestmodseq_r is the
 * mailbox's MODSEQ at the same instant. */
int store_message_list(struct store *store, int64_t mailbox_id, uint32_t min_uid,
		       struct arena *arena, struct store_message_state **list_r,
		       size_t *count_r, uint64_t *highestmodseq_r, const char **error_r);

/* What changed since since_modseq, read in one snapshot: messages added or
 * changed (modseq > since, ascending uid) and UIDs expunged (ascending), with
 * the mailbox's HIGHESTMODSEQ. The sync primitive behind untagged updates,
 * IDLE and QRESYNC. */
struct store_changes {
	struct store_message_state *changed;
	size_t changed_count;
	uint32_t *expunged;
	size_t expunged_count;
	uint64_t highestmodseq;
	uint32_t uidnext;
};
int store_message_changes(struct store *store, int64_t mailbox_id, uint64_t since_modseq,
			  struct arena *arena, struct store_changes *changes_r,
			  const char **error_r);

enum store_flags_op { STORE_FLAGS_ADD, STORE_FLAGS_REMOVE, STORE_FLAGS_REPLACE };

/* Change flags and keywords of the given UIDs (missing ones are skipped).
 * Messages whose flags really change get a new MODSEQ. unchanged_since > 0
 * applies RFC 7162's UNCHANGEDSINCE: messages with a greater modseq are left
 * alone and listed in *failed_r. *result_r gets the resulting state of every
 * existing message named, ascending uid. */
int store_message_set_flags(struct store *store, int64_t mailbox_id, const uint32_t *uids,
			    size_t count, enum store_flags_op op, unsigned flags,
			    const char *keywords, uint64_t unchanged_since, struct arena *arena,
			    struct store_message_state **result_r, size_t *result_count_r,
			    uint32_t **failed_r, size_t *failed_count_r, const char **error_r);

/* Expunge messages that have \Deleted: among uids (UID EXPUNGE), or all
 * when uids is NULL. *expunged_r lists what went, ascending. */
int store_message_expunge(struct store *store, int64_t mailbox_id, const uint32_t *uids,
			  size_t count, struct arena *arena, uint32_t **expunged_r,
			  size_t *expunged_count_r, const char **error_r);

/* Expunge exactly the given UIDs, whatever their flags (missing ones are
 * skipped), in one transaction: POP3's UPDATE state (RFC 1939 §6) deletes
 * what the client marked, and no \Deleted step is needed. *removed_r lists
 * what went, ascending. */
int store_message_remove(struct store *store, int64_t mailbox_id, const uint32_t *uids,
			 size_t count, struct arena *arena, uint32_t **removed_r,
			 size_t *removed_count_r, const char **error_r);

/* Copy (or move) the given UIDs to dest_mailbox_id, sharing the message
 * bytes. Missing UIDs are skipped. For COPYUID: *source_uids_r and
 * *dest_uids_r (count *count_r, ascending source uid) and
 * *dest_uidvalidity_r. A move expunges the sources in the same transaction.
 * Into another account's mailbox (sharing) the copy is that account's
 * message, and \Seen is not copied: it was the source owner's, and each
 * user has their own (RFC 4314 "s"; the caller records the copier's with
 * store_seen_set or store_message_set_flags). EOVERQUOTA (nothing done)
 * when the result would grow the destination account's usage above its
 * quota. */
int store_message_copy(struct store *store, int64_t mailbox_id, const uint32_t *uids,
		       size_t count, int64_t dest_mailbox_id, bool move, struct arena *arena,
		       uint32_t **source_uids_r, uint32_t **dest_uids_r, size_t *count_r,
		       uint32_t *dest_uidvalidity_r, const char **error_r);

/* What was kept at save time for one message (rule 2). */
struct store_message_info {
	uint32_t uid;
	unsigned flags;
	uint64_t modseq;
	char *keywords;
	int64_t internal_date;
	int internal_date_tz;
	int64_t save_date;
	uint64_t size;
	int64_t blob_id;        /* for store_blob_read */
	char *email_id;         /* RFC 8474 OBJECTID */
	char *envelope;         /* IMAP wire form */
	char *bodystructure;    /* IMAP wire form, extended */
	char *body;             /* IMAP wire form, basic */
	char *parts;            /* mime_parts_serialize() text */
	char *preview;
	uint32_t header_size;
	/* SEARCH / SORT fields (decoded UTF-8; NULL when absent) */
	char *from, *to, *cc, *bcc, *subject;
	char *from_addr, *to_addr, *cc_addr;
	/* RFC 5957 display values (mime.h); NULL also for messages stored
	 * before schema version 3 kept them */
	char *from_display, *to_display;
	bool has_sent_date;
	int64_t sent_date;
	/* THREAD REFERENCES (RFC 5256): the raw decoded header values */
	char *message_id, *in_reply_to, *references;
};

/* Which parts of store_message_info to fill in (cheap state is always). */
#define STORE_INFO_STATE 0      /* uid, flags, modseq, keywords, dates, size, blob */
#define STORE_INFO_STRUCTURE 1  /* envelope, bodystructure, body, parts, header_size */
#define STORE_INFO_SEARCH 2     /* search fields, preview, email_id */

int store_message_get(struct store *store, int64_t mailbox_id, uint32_t uid, unsigned what,
		      struct arena *arena, struct store_message_info *info_r,
		      const char **error_r);

/* Iterate over every message of a mailbox with all of STORE_INFO_STATE and
 * STORE_INFO_SEARCH filled in, ascending uid (SEARCH, SORT). Stops early
 * when fn returns non-zero. info is valid only during the call. */
typedef int store_message_fn(void *context, const struct store_message_info *info);
int store_message_iterate(struct store *store, int64_t mailbox_id, store_message_fn *fn,
			  void *context, const char **error_r);

/* Read bytes [offset, offset+length) of a message blob (clamped to its
 * size); length SIZE_MAX means to the end. The bytes are put in arena. */
int store_blob_read(struct store *store, int64_t blob_id, size_t offset, size_t length,
		    struct arena *arena, const char **data_r, size_t *length_r,
		    const char **error_r);

/* Local delivery (SMTP, LMTP, `buzon deliver`, bounces): store one message
 * in the INBOX of each of count accounts, parsed once, in one transaction,
 * durable on return (rule 1). SQLite keeps ONE stored copy shared by all of
 * them; PostgreSQL one per account, so each account's rows stay in its
 * shard (docs/ARCHITECTURE.md).
 * uids_r[i] is the UID in account_ids[i]'s INBOX. ENOTFOUND if an account
 * has no INBOX. internal_date 0 = now. Publishes on the bus per INBOX.
 * Quota: an account the message does not fit gets nothing and uids_r[i] = 0
 * (the others still get it); EOVERQUOTA when no account could take it. */
int store_message_deliver(struct store *store, const int64_t *account_ids, size_t count,
			  const char *data, size_t size, int64_t internal_date, uint32_t *uids_r,
			  const char **error_r);

/* One delivery of a batch (store_message_deliver_batch). */
struct store_delivery {
	const int64_t *account_ids;  /* the recipients' accounts */
	size_t count;
	const char *data;
	size_t size;
	int64_t internal_date;       /* 0 = now */
	uint32_t *uids_r;            /* count UIDs, as store_message_deliver */
	int rc_r;                    /* STORE_OK, or why this one was not stored */
	char error_r[200];           /* with rc_r < 0: why, for the log */
};

/* Group commit (rule 1: many deliveries, one fsync): store_message_deliver
 * for each of count deliveries, all in ONE transaction. A delivery that
 * fails (rc_r < 0) is rolled back alone; the others still commit. Returns
 * STORE_OK when the commit succeeded (then each rc_r says what happened to
 * its delivery), or < 0 when nothing was stored (every rc_r is set to it).
 * Durable on return. */
int store_message_deliver_batch(struct store *store, struct store_delivery *deliveries,
				size_t count, const char **error_r);

/* Group commit of any calls (rule 1: one fsync for many writers; the
 * store writer, delivery/writer.c, runs the IMAP sessions' writes so).
 * Between store_group_begin and store_group_commit every call on this
 * handle runs inside ONE write transaction: each call is undone alone when
 * it fails (the others stay), sees what the earlier ones changed, and
 * bumps the modseq of the mailboxes it changes anew (each call its own
 * mod-sequence, RFC 7162 §3.1). Nothing is durable, published on the bus
 * or visible to other handles before store_group_commit returns 0; when it
 * fails, every call of the group is undone. store_group_rollback drops the
 * whole group. A back end may implement the group as one call per
 * transaction (the result is the same, with more fsyncs; then
 * store_group_rollback cannot take back the calls already made: the
 * writer never relies on it). */
int store_group_begin(struct store *store, const char **error_r);
int store_group_commit(struct store *store, const char **error_r);
void store_group_rollback(struct store *store);

/* Full-text search (rule 2: from the index built at save time, no
 * re-parse). UIDs of messages in the mailbox whose body text (or, with
 * include_headers, headers and body: SEARCH TEXT) contains needle,
 * case-insensitively. Ascending. */
int store_search_text(struct store *store, int64_t mailbox_id, const char *needle,
		      bool include_headers, struct arena *arena, uint32_t **uids_r,
		      size_t *count_r, const char **error_r);

/* ---- sharing: ACL (RFC 4314) and per-user \Seen -------------------------- */

/* The account that owns the public folders (IMAP's "Shared/" namespace):
 * no password, no default folders; `buzon shared` manages it. */
#define STORE_SHARED_ACCOUNT "#shared"

/* One ACL entry. rights is canonical text (store/acl.h), never empty. */
struct store_acl_entry {
	char *identifier; /* address, "anyone", "authenticated", or "-" + one */
	char *rights;
};

/* A mailbox's ACL, sorted by identifier. The owner's rights are implicit
 * (always all) and not listed. */
int store_acl_list(struct store *store, int64_t mailbox_id, struct arena *arena,
		   struct store_acl_entry **entries_r, size_t *count_r, const char **error_r);
/* Set identifier's entry to rights; NULL or "" removes it. */
int store_acl_set(struct store *store, int64_t mailbox_id, const char *identifier,
		  const char *rights, const char **error_r);

/* A mailbox of another account that an ACL entry shares with someone. */
struct store_shared_mailbox {
	int64_t account_id;
	char *owner;                 /* the owning account's address */
	struct store_mailbox mailbox;
	unsigned rights;             /* store/acl.h bits for the asking address */
};
/* Every mailbox not of account_id with an entry for address, "anyone" or
 * "authenticated" (negative ones included: rights may be 0), with the
 * rights they give address; sorted by owner, then name. */
int store_acl_shared_with(struct store *store, int64_t account_id, const char *address,
			  struct arena *arena, struct store_shared_mailbox **list_r,
			  size_t *count_r, const char **error_r);

/* \Seen of an account in a mailbox it does not own (RFC 4314 "s": each
 * user keeps their own). The UIDs it has seen, ascending. */
int store_seen_list(struct store *store, int64_t account_id, int64_t mailbox_id,
		    struct arena *arena, uint32_t **uids_r, size_t *count_r,
		    const char **error_r);
/* Set (seen) or clear account_id's \Seen on uids (missing ones are
 * skipped) in one transaction. A message whose state changes gets a new
 * MODSEQ, so CONDSTORE clients and the bus see it (rule 3). *result_r: the
 * stored state (the owner's flags) of every existing message named, with
 * its modseq, ascending uid. */
int store_seen_set(struct store *store, int64_t account_id, int64_t mailbox_id,
		   const uint32_t *uids, size_t count, bool seen, struct arena *arena,
		   struct store_message_state **result_r, size_t *result_count_r,
		   const char **error_r);
/* An account with no password and no folders, found by address, or made
 * when create is true (ENOTFOUND otherwise): the owner of the public
 * folders. */
int store_account_system(struct store *store, const char *address, bool create, int64_t *id_r,
			 const char **error_r);

/* ---- annotations (RFC 5464 METADATA) -------------------------------------- */

/* One entry. mailbox_id 0 is the server; account_id 0 is a /shared entry,
 * else the account whose /private entry it is. Entry names are lower case
 * ("/private/comment"); the value is bytes (may hold NUL). */
struct store_metadata {
	int64_t mailbox_id;
	int64_t account_id;
	const char *entry;
	const char *value;   /* NULL in a change: remove the entry */
	size_t value_len;
};

/* The entries of (mailbox_id, account_id) named entry or below it
 * ("/a" gives "/a", "/a/b", "/a/b/c"), sorted by name; values in arena. */
int store_metadata_get(struct store *store, int64_t mailbox_id, int64_t account_id,
		       const char *entry, struct arena *arena, struct store_metadata **list_r,
		       size_t *count_r, const char **error_r);
/* Apply count changes in one transaction: all or none. EOVERQUOTA (nothing
 * changed) when a (mailbox, account) would hold more than max_entries. */
int store_metadata_set(struct store *store, const struct store_metadata *changes, size_t count,
		       size_t max_entries, const char **error_r);

#endif
