/*
 * session: one IMAP connection's state machine and the API that the command
 * files (cmd-*.c) use. Private to src/imap/.
 *
 * Life of a command: the framer collects it, the dispatcher looks up the
 * command table (command.c) and calls its handler with a parser positioned
 * after the command name. The handler parses its arguments, acts, writes
 * untagged responses, and sets its result with imap_cmd_ok/no/bad. The
 * session then sends the untagged updates that other sessions caused (what
 * RFC 9051 §7 allows at that moment) and the tagged reply. A handler that
 * must wait (password hashing on a worker, a FETCH whose output is backed
 * up) returns IMAP_CMD_ASYNC and later calls imap_cmd_complete().
 *
 * Memory: session->arena lives as long as the connection; session->cmd_arena
 * is reset after each tagged reply. A push (an update sent during IDLE or
 * between commands) runs with cmd_arena pointing at push_arena, which is
 * reset after every push: IDLE's own command arena lives until DONE, and
 * a week-long IDLE must not keep every push's temporaries.
 */
#ifndef BUZON_IMAP_SESSION_H
#define BUZON_IMAP_SESSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/array.h"
#include "core/buf.h"
#include "imap/imap.h"
#include "imap/parser.h"
#include "net/conn.h"
#include "store/store.h"

enum imap_state {
	IMAP_STATE_NOT_AUTHENTICATED = 1 << 0,
	IMAP_STATE_AUTHENTICATED = 1 << 1,
	IMAP_STATE_SELECTED = 1 << 2,
	IMAP_STATE_LOGOUT = 1 << 3,
};

enum imap_input_mode {
	IMAP_INPUT_COMMAND,  /* reading commands */
	IMAP_INPUT_IDLE,     /* in IDLE, waiting for DONE */
	IMAP_INPUT_AUTH,     /* AUTHENTICATE waiting for a continuation line */
	IMAP_INPUT_BUSY,     /* a command is running; input waits */
};

/* One message of the selected mailbox, as the client knows it. */
struct imap_msg {
	uint32_t uid;
	unsigned flags;     /* enum store_flag bits, as last told to the client */
	uint64_t modseq;
	char *keywords;     /* heap, space-separated; NULL when none */
	bool expunged;      /* gone from the store, EXPUNGE not yet sent */
	bool flags_untold;  /* changed by others; held back (NOTIFY without FlagChange) */
};

/* The selected mailbox. msgs[i] is sequence number i + 1. */
struct imap_view {
	int64_t mailbox_id;
	char *name;          /* heap, UTF-8 */
	bool readonly;       /* EXAMINE */
	uint32_t uidvalidity;
	uint32_t uidnext;    /* as last told */
	uint64_t modseq;     /* store changes applied up to this MODSEQ */
	ARRAY(struct imap_msg) msgs;
	uint32_t exists_told; /* the message count the client knows */
	bool has_expunged;   /* some msgs[].expunged are pending */
	size_t flags_untold; /* how many msgs[].flags_untold are set */
	/* Sharing (RFC 4314, shared.c): another account's mailbox, with the
	 * rights taken at SELECT (§5.1.1 allows caching them), this user's
	 * own \Seen (ascending UIDs, heap) and a watch on the owner's
	 * account so changes by others arrive as they do for one's own. */
	bool foreign;
	int64_t owner_id;    /* the mailbox's account (the session's own when not foreign) */
	unsigned rights;     /* store/acl.h bits; ACL_ALL for one's own */
	uint32_t *seen;
	size_t seen_count;
	struct store_watch *owner_watch;
};

struct imap_session;

enum imap_cmd_status { IMAP_CMD_DONE, IMAP_CMD_ASYNC };

/* Command flags. */
#define IMAP_CMD_NO_EXPUNGE 1 /* FETCH/STORE/SEARCH: no EXPUNGE may follow (RFC 9051 §7.5.1) */
#define IMAP_CMD_UID 2        /* may be prefixed by UID */

struct imap_command {
	const char *name;
	unsigned states;  /* enum imap_state bits where the command is allowed */
	unsigned flags;
	/* parser is positioned right after the command name. uid: called as
	 * "UID <name>". */
	enum imap_cmd_status (*run)(struct imap_session *session, struct imap_parser *parser,
				    bool uid);
};

struct imap_session {
	struct imap_session *prev, *next; /* in iloop->sessions */
	struct imap_loop *iloop;
	struct imap_server *server;
	struct loop *loop;
	struct store *store;
	struct conn *conn;
	struct arena *arena;
	struct arena *cmd_arena;
	struct arena *push_arena; /* see "Memory" above */
	struct imap_frame frame;
	enum imap_state state;
	enum imap_input_mode mode;

	/* authenticated account */
	int64_t account_id;
	char *account_name;
	struct store_watch *watch;
	/* Set by the change bus on any thread; read on the loop's thread. */
	atomic_bool notified;
	atomic_bool post_queued;
	_Atomic int64_t watched_mailbox;

	/* RFC 5465 NOTIFY (notify.c): NULL until a NOTIFY SET. notify_active
	 * mirrors it for the bus callback; the others are set by the bus on
	 * any thread and consumed on the loop's. */
	struct imap_notify *notify;
	atomic_bool notify_active;
	atomic_bool notify_other; /* messages of a non-selected mailbox changed */
	atomic_bool notify_list;  /* a mailbox was created, deleted or renamed */
	atomic_bool notify_subs;  /* the subscriptions changed */

	/* RFC 5267 §4.3: SEARCH / SORT RETURN (UPDATE) results (context.c) */
	struct imap_context *contexts;

	struct imap_view *view; /* NULL unless SELECTED */
	bool utf8;              /* ENABLE UTF8=ACCEPT / IMAP4rev2: UTF-8 names */
	bool rev2;              /* ENABLE IMAP4rev2: RFC 9051 behaviour (ESEARCH, LIST in SELECT) */
	bool condstore;         /* RFC 7162: a CONDSTORE enabling command was seen */
	/* RFC 5182 SEARCHRES: the UIDs of SEARCH RETURN (SAVE), ascending,
	 * heap; "$" in a sequence set names them. Cleared on (re)select. */
	uint32_t *saved_uids;
	size_t saved_count;
	bool qresync;           /* RFC 7162: ENABLE QRESYNC (VANISHED, not EXPUNGE) */

	/* the running command */
	char *tag;
	struct auth_request *auth; /* AUTHENTICATE in progress (auth/auth.h) */
	const struct imap_command *command;
	bool command_uid;
	const char *result_status; /* "OK", "NO", "BAD" */
	const char *result_text;
	/* A command that returned IMAP_CMD_ASYNC and waits for output to
	 * drain is resumed through this (then set to NULL). */
	enum imap_cmd_status (*resume)(struct imap_session *session);
	void *command_state;

	/* IDLE / AUTHENTICATE: who gets the next line. */
	void (*line_handler)(struct imap_session *session, char *line, size_t len);
	bool start_tls;         /* STARTTLS: begin the handshake after the OK */
	bool start_compress;    /* COMPRESS: deflate everything after the OK */
	bool input_blocked;     /* reading paused until the output drains */
	unsigned bad_commands;  /* BAD replies in a row */
	int pending_work;       /* worker jobs in flight; free waits for them */
	bool closed;            /* the connection is gone */
	struct buf scratch;     /* response building; emptied after use */
};

/* ---- results and responses ------------------------------------------------ */

void imap_cmd_ok(struct imap_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void imap_cmd_no(struct imap_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void imap_cmd_bad(struct imap_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* BAD with the parser's error (or a default). Returns IMAP_CMD_DONE. */
enum imap_cmd_status imap_cmd_syntax(struct imap_session *s, struct imap_parser *parser);
/* Finish an IMAP_CMD_ASYNC command: updates, tagged reply, next command. */
void imap_cmd_complete(struct imap_session *s);
/* A command's store write, off the loop (rule 5: no session waits for
 * another's fsync or for the write lock): run is called on the store
 * writer's thread inside a transaction shared with other sessions' writes
 * (group commit, delivery/writer.h) and must touch only state (in the
 * command arena, which the loop leaves alone while the command waits) and
 * the store it is given; finish(s, state, rc, error) is then called on the
 * loop after the COMMIT (rule 1) and sets the reply. Returns what the
 * handler returns. Without a writer both run at once on the loop. */
typedef int imap_store_write_fn(struct store *store, void *state, const char **error_r);
typedef void imap_store_written_fn(struct imap_session *s, void *state, int rc,
				   const char *error);
enum imap_cmd_status imap_store_write(struct imap_session *s, imap_store_write_fn *run,
				      imap_store_written_fn *finish, void *state);
/* "* " + text + CRLF */
void imap_untagged(struct imap_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Write raw bytes to the client. */
void imap_write(struct imap_session *s, const void *data, size_t len);
/* Write and empty s->scratch. */
void imap_flush_scratch(struct imap_session *s);
/* True when the output queue is so full that a producer should pause and
 * continue from s->resume (rule 5: a huge FETCH must not hog memory). */
bool imap_output_full(struct imap_session *s);

/* Append "(\Seen \Flagged kw)" for flags and keywords. */
void imap_write_flags(struct buf *out, unsigned flags, const char *keywords);
/* Parse a flag list "(\Seen $Junk)" (or a single flag when list is false)
 * into system flags and a space-separated keyword string (arena).
 * Unknown system flags (\Foo) are errors, \Recent is ignored. */
bool imap_parse_flags(struct imap_parser *parser, bool list, unsigned *flags_r,
		      char **keywords_r);
/* A mailbox name argument, decoded to UTF-8 (modified UTF-7 unless UTF-8 is
 * enabled) with INBOX normalised; NULL with a BAD/NO already set. */
char *imap_parse_mailbox(struct imap_session *s, struct imap_parser *parser);
/* The same for a name already parsed as an astring. */
char *imap_decode_mailbox(struct imap_session *s, struct imap_parser *parser, char *raw,
			  size_t len);
/* RFC 9051 date-time "dd-Mon-yyyy hh:mm:ss +zzzz" -> UTC seconds and zone
 * minutes (cmd-append.c). */
bool imap_parse_date_time(const char *s, int64_t *time_r, int *tz_r);
/* One "* LIST (attrs) "/" name" line with accurate attributes (cmd-list.c):
 * IMAP4rev2's SELECT sends it (RFC 9051 §6.3.2). */
void imap_list_one(struct imap_session *s, const char *name);
/* The same with \Subscribed when subscribed, and OLDNAME (RFC 5465 §5.4)
 * when old_name is not NULL: NOTIFY's MailboxName and SubscriptionChange. */
void imap_list_notify(struct imap_session *s, const char *name, const char *old_name);
/* STATUS (cmd-mailbox.c, also for LIST RETURN (STATUS)): is item a status
 * attribute we know; write "* STATUS name (items)" for mailbox_id. */
bool imap_status_item_known(const char *item);
int imap_write_status(struct imap_session *s, const char *name, int64_t mailbox_id,
		      char *const *items, size_t count);
/* The RFC 8474 MAILBOXID object id of a mailbox (args.c). */
void imap_write_mailboxid(struct buf *out, int64_t mailbox_id, uint32_t uidvalidity);
/* Append a mailbox name as the client expects it (mUTF-7 or UTF-8). */
void imap_write_mailbox(struct imap_session *s, struct buf *out, const char *name);

/* Read the next input line raw (IDLE's DONE, an AUTHENTICATE response)
 * and pass it to handler; mode is IMAP_INPUT_IDLE or IMAP_INPUT_AUTH. */
void imap_session_wait_line(struct imap_session *s, enum imap_input_mode mode,
			    void (*handler)(struct imap_session *s, char *line, size_t len));
/* A worker job or timer that held the session finished. Returns true when
 * the connection is gone (the session may have been freed): the caller
 * must not touch it then. */
bool imap_session_work_done(struct imap_session *s);
/* RFC 7162 §3.1: a CONDSTORE enabling command. The first one with a
 * mailbox selected reports its HIGHESTMODSEQ (cmd-select.c). */
void imap_enable_condstore(struct imap_session *s);
/* Append an ascending UID list as a compact set "1:3,7" (cmd-copy.c). */
void imap_write_uidset(struct buf *out, const uint32_t *uids, size_t count);
/* Subscribe to the change bus for the logged-in account (at login). */
void imap_session_watch(struct imap_session *s);
/* Another watch with the session's callback, on account_id (the owner of a
 * selected shared mailbox); the caller unwatches it. */
struct store_watch *imap_session_watch_account(struct imap_session *s, int64_t account_id);

/* ---- sharing: namespaces and rights (shared.c) ---------------------------- */

/* RFC 2342 namespaces: personal "", other users' mailboxes under
 * "Other Users/ADDRESS/", public folders under "Shared/". */
#define IMAP_NS_OTHER "Other Users/"
#define IMAP_NS_SHARED "Shared/"

/* A mailbox name resolved across the namespaces. */
struct imap_mailbox_ref {
	bool foreign;          /* not the session's own account */
	bool exists;           /* mailbox is valid */
	int64_t owner_id;      /* 0 when the owner is unknown */
	const char *owner;     /* the owner's address (cmd arena) */
	const char *name;      /* the owner's own name for it */
	unsigned rights;       /* store/acl.h bits for the session's user */
	struct store_mailbox mailbox;
};
/* Resolve name; 0 (see ref->exists) or a STORE_E* code for a store
 * failure. Rights of one's own mailboxes are ACL_ALL. */
int imap_mailbox_resolve(struct imap_session *s, const char *name, struct imap_mailbox_ref *ref);
/* The same for any account (URLAUTH resolves a URL in the namespace of
 * the user who made it, whoever fetches it); strings in arena. */
int imap_mailbox_resolve_as(struct store *store, struct arena *arena, int64_t account_id,
			    const char *account_name, const char *name,
			    struct imap_mailbox_ref *ref);
/* Answer NO when ref does not exist or lacks any of needed: NONEXISTENT
 * when the user may not even see it (no "l", RFC 4314 §6: do not reveal
 * it), else NOPERM. Returns true when it answered. */
bool imap_mailbox_denied(struct imap_session *s, const struct imap_mailbox_ref *ref,
			 unsigned needed);
/* The other accounts' mailboxes this user may see (RFC 4314 "l"), named
 * as the client sees them ("Other Users/ADDRESS/NAME", "Shared/NAME"). */
int imap_shared_list(struct imap_session *s, struct store_mailbox **list_r, size_t *count_r);
/* Is name in another account's namespace (by its prefix)? */
bool imap_name_is_foreign(const char *name);
/* The nearest existing superior of a mailbox about to be created (RFC 4314
 * §4: CREATE needs "k" there, and the new mailbox inherits its ACL). */
struct imap_create_parent {
	bool found;                      /* some superior exists */
	const char *name;                /* its name in the owner's account */
	struct store_acl_entry *entries; /* its ACL (cmd arena) */
	size_t count;
	unsigned rights;                 /* the session user's rights on it */
};
/* Find the nearest existing superior of name in owner_id's account. 0 or
 * a STORE_E* code (logged). */
int imap_create_parent_find(struct imap_session *s, int64_t owner_id, const char *name,
			    struct imap_create_parent *parent_r);
/* After name was created in owner_id's account (with its missing
 * superiors), give it and those superiors the parent's ACL. 0, or -1
 * (logged: the mailbox exists, with fewer sharers than meant). */
int imap_create_inherit_acl(struct imap_session *s, int64_t owner_id, const char *name,
			    const struct imap_create_parent *parent);
/* Reload the view's per-user \Seen set (foreign views only). */
int imap_view_load_seen(struct imap_session *s);
/* flags with \Seen as this user has it (foreign views: from the seen
 * set; own: unchanged). */
unsigned imap_view_user_flags(const struct imap_view *view, uint32_t uid, unsigned flags);

/* ---- the selected mailbox ----------------------------------------------- */

/* Sequence set: ranges with lo <= hi; '*' is UINT32_MAX. */
struct imap_range { uint32_t lo, hi; };
struct imap_seqset {
	struct imap_range *ranges;
	size_t count;
	bool saved; /* "$" (SEARCHRES) */
};
bool imap_parse_seqset(struct imap_parser *parser, struct imap_seqset *set_r);
/* Indexes (0-based) into view->msgs named by set, ascending, no duplicates.
 * uid: set holds UIDs. Expunged-pending messages are included: callers skip
 * them where needed. *count_r may be 0. Memory in the command arena. */
uint32_t *imap_view_resolve(struct imap_session *s, const struct imap_seqset *set, bool uid,
			    size_t *count_r);
/* Deselect: free the view, back to AUTHENTICATED (cmd-select.c). */
void imap_view_close(struct imap_session *s);
/* Replace the saved search result (RFC 5182) with uids (ascending). */
void imap_saved_set(struct imap_session *s, const uint32_t *uids, size_t count);
/* Index of uid in the view or -1. */
long imap_view_find_uid(const struct imap_view *view, uint32_t uid);
/* Record that the client has now seen these flags for msgs[index] (after a
 * FETCH FLAGS or STORE), so the next sync does not repeat them. */
void imap_view_set_known(struct imap_view *view, size_t index, unsigned flags, uint64_t modseq,
			 const char *keywords);
/* "* n FETCH (UID u FLAGS (..) [MODSEQ (m)])" for msgs[index]. */
void imap_view_send_flags(struct imap_session *s, size_t index);
/* Bring the view up to date with the store and tell the client: EXPUNGE
 * (only if allow_expunge), EXISTS, FETCH FLAGS for changes by others. */
int imap_view_sync(struct imap_session *s, bool allow_expunge);
/* The same, with flag changes of others held back unless send_flags (a
 * NOTIFY without FlagChange for the selected mailbox, RFC 5465 §5.1); held
 * ones go out at the next sync that sends flags. */
int imap_view_sync_ex(struct imap_session *s, bool allow_expunge, bool send_flags);

/* ---- NOTIFY (RFC 5465, notify.c) --------------------------------------------- */

/* Between commands (in_idle false) or during IDLE: tell the client now what
 * its NOTIFY asked for (selected mailbox, other mailboxes, names,
 * subscriptions). Only called with s->notify set. */
void imap_notify_push(struct imap_session *s, bool in_idle);
/* Before a tagged reply: the other mailboxes' events (the selected one's
 * went out with the view sync). Only called with s->notify set. */
void imap_notify_command_end(struct imap_session *s);
/* From the view sync, after EXISTS: the MessageNew fetch attributes of the
 * new messages view->msgs[first, first+count). */
void imap_notify_new_messages(struct imap_session *s, size_t first, size_t count);
/* This command added messages uids[0..count) to mailbox_id (APPEND, COPY,
 * MOVE, REPLACE): no MessageNew STATUS for it at the command's end (RFC
 * 5465 §5), and no MessageNew FETCH when it is the selected one (§5.2). */
void imap_notify_own_messages(struct imap_session *s, int64_t mailbox_id, const uint32_t *uids,
			      size_t count);
/* NOTIFY NONE, logout, UNAUTHENTICATE. */
void imap_notify_free(struct imap_session *s);

/* ---- updating contexts (RFC 5267 §4, context.c) ------------------------------- */

/* Is tag the correlator of a live updating context (a reuse is BAD)? */
bool imap_context_tag_in_use(const struct imap_session *s, const char *tag);
/* After SEARCH / SORT RETURN (UPDATE): keep the arguments (parsed again at
 * each update) and the result (view indexes in the requested order) under
 * s->tag; or "* NO [NOUPDATE ...]" when there are too many. */
void imap_context_add(struct imap_session *s, bool uid, bool sort, const char *arguments,
		      size_t len, const uint32_t *indexes, size_t count);
/* From the view sync: REMOVEFROM before EXPUNGE, ADDTO after EXISTS (then
 * the RFC 5465 §7 FETCH of messages new since view index first_new). */
void imap_context_before_expunge(struct imap_session *s);
void imap_context_after_exists(struct imap_session *s, size_t first_new);
/* Deselect, logout: no more updates. */
void imap_context_free_all(struct imap_session *s);

/* ---- commands (one file each, cmd-*.c) ------------------------------------- */

/* The table, sorted by name (command.c). */
const struct imap_command *imap_command_find(const char *name);
/* CAPABILITY for the session's current state (capability.c). */
void imap_write_capabilities(struct imap_session *s, struct buf *out);
/* May passwords be sent on this connection (rule 8)? */
bool imap_plaintext_auth_allowed(struct imap_session *s);

/* Implemented in fetch.c / search.c (with their pure parsers, fuzzed). */
enum imap_cmd_status imap_cmd_fetch(struct imap_session *s, struct imap_parser *p, bool uid);
enum imap_cmd_status imap_cmd_search(struct imap_session *s, struct imap_parser *p, bool uid);

#endif
