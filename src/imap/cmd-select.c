/*
 * cmd-select: opening and closing the selected mailbox, and EXPUNGE:
 * SELECT, EXAMINE (RFC 9051 §6.3.2-3), CLOSE, UNSELECT (§6.4.1-2),
 * EXPUNGE and UID EXPUNGE (§6.4.3, RFC 4315).
 */
#include "imap/session.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"
#include "store/acl.h"

#include <stdlib.h>
#include <string.h>

/* Drop the view; the session is AUTHENTICATED again. */
void imap_view_close(struct imap_session *s)
{
	struct imap_view *view = s->view;

	if (view == NULL)
		return;
	atomic_store(&s->watched_mailbox, 0);
	store_bus_unwatch(s->server->bus, view->owner_watch);
	free(view->seen);
	imap_saved_set(s, NULL, 0); /* RFC 5182 §2.1: "$" belongs to the mailbox */
	imap_context_free_all(s);   /* RFC 5267 §4.3: updates end with the selection */
	for (size_t i = 0; i < view->msgs.count; i++)
		free(view->msgs.items[i].keywords);
	array_free(&view->msgs);
	free(view->name);
	free(view);
	s->view = NULL;
	s->state = IMAP_STATE_AUTHENTICATED;
}

/* Load every message's UID and flags: the sequence-number map. The watch
 * is switched first so that no change between the two is missed; a
 * foreign mailbox's owner is watched too (its changes are published under
 * the owner's account), and this user's own \Seen loaded. */
static int view_open(struct imap_session *s, const char *name,
		     const struct imap_mailbox_ref *ref, bool readonly)
{
	const struct store_mailbox *mb = &ref->mailbox;
	struct imap_view *view = mem_zalloc(sizeof(*view));
	struct store_message_state *list;
	size_t count;
	uint64_t modseq;
	const char *error = "cannot read this user's \\Seen";

	atomic_store(&s->watched_mailbox, mb->id);
	atomic_store(&s->notified, false);
	if (ref->foreign)
		view->owner_watch = imap_session_watch_account(s, ref->owner_id);
	view->mailbox_id = mb->id;
	view->foreign = ref->foreign;
	view->owner_id = ref->owner_id;
	view->rights = ref->rights;
	view->name = mem_strdup(name);
	s->view = view;
	if (store_message_list(s->store, mb->id, 1, s->cmd_arena, &list, &count, &modseq,
			       &error) < 0 || imap_view_load_seen(s) < 0) {
		log_error("imap: select %s: %s", name, error);
		s->view = NULL;
		atomic_store(&s->watched_mailbox, 0);
		store_bus_unwatch(s->server->bus, view->owner_watch);
		free(view->seen);
		free(view->name);
		free(view);
		return -1;
	}
	/* RFC 4314 §4: without any right to change the mailbox, it is read-only. */
	view->readonly = readonly || !(ref->rights & (ACL_SEEN | ACL_WRITE | ACL_DELETE_MSG |
							ACL_EXPUNGE));
	view->uidvalidity = mb->uidvalidity;
	view->uidnext = mb->uidnext;
	view->modseq = modseq;
	array_reserve(&view->msgs, count);
	for (size_t i = 0; i < count; i++) {
		struct imap_msg m = { .uid = list[i].uid,
				      .flags = imap_view_user_flags(view, list[i].uid,
								    list[i].flags),
				      .modseq = list[i].modseq };
		if (list[i].keywords != NULL && *list[i].keywords != '\0')
			m.keywords = mem_strdup(list[i].keywords);
		view->msgs.items[view->msgs.count++] = m;
		if (m.uid >= view->uidnext)
			view->uidnext = m.uid + 1;
	}
	view->exists_told = (uint32_t)count;
	s->state = IMAP_STATE_SELECTED;
	return 0;
}

/* RFC 9051 §6.3.2 / RFC 3501 §6.3.1: the untagged data of SELECT. */
static void select_send_info(struct imap_session *s)
{
	struct imap_view *view = s->view;
	uint32_t first_unseen = 0;

	unsigned rights = view->readonly ? 0 : view->rights;
	unsigned perm = 0;

	imap_untagged(s, "FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)");
	/* RFC 4314 §5.1.1: PERMANENTFLAGS says what this user may change. */
	if (rights & ACL_WRITE)
		perm |= STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED | STORE_FLAG_DRAFT;
	if (rights & ACL_DELETE_MSG)
		perm |= STORE_FLAG_DELETED;
	if (rights & ACL_SEEN)
		perm |= STORE_FLAG_SEEN;
	buf_append_str(&s->scratch, "* OK [PERMANENTFLAGS ");
	/* with "w", new keywords may be made too: "\\*" (RFC 9051 §7.1) */
	imap_write_flags(&s->scratch, perm, rights & ACL_WRITE ? "\\*" : NULL);
	buf_append_str(&s->scratch, "] Flags permitted\r\n");
	imap_flush_scratch(s);
	imap_untagged(s, "%zu EXISTS", view->msgs.count);
	if (s->rev2) {
		/* RFC 9051 §6.3.2: a LIST with the name; no RECENT, no UNSEEN */
		imap_list_one(s, view->name);
	} else {
		imap_untagged(s, "0 RECENT");
		for (size_t i = 0; i < view->msgs.count; i++) {
			if (!(view->msgs.items[i].flags & STORE_FLAG_SEEN)) {
				first_unseen = (uint32_t)i + 1;
				break;
			}
		}
		if (first_unseen > 0)
			imap_untagged(s, "OK [UNSEEN %u] First unseen", first_unseen);
	}
	imap_untagged(s, "OK [UIDVALIDITY %u] UIDs valid", view->uidvalidity);
	imap_untagged(s, "OK [UIDNEXT %u] Predicted next UID", view->uidnext);
	buf_append_str(&s->scratch, "* OK [MAILBOXID (");
	imap_write_mailboxid(&s->scratch, view->mailbox_id, view->uidvalidity);
	buf_append_str(&s->scratch, ")] Mailbox id\r\n"); /* RFC 8474 §4.2 */
	imap_flush_scratch(s);
	imap_untagged(s, "OK [URLMECH INTERNAL] URLAUTH mechanisms"); /* RFC 4467 §8 */
	if (s->condstore) /* RFC 7162 §3.1.2.1 */
		imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest",
			      (unsigned long long)view->modseq);
}

/* SELECT/EXAMINE parameters (RFC 4466 §2.4): (CONDSTORE) and
 * (QRESYNC (uidvalidity modseq [known-uids [seq-match-data]])). */
struct select_params {
	bool condstore;
	bool qresync;
	uint32_t uidvalidity;
	uint64_t modseq;
	struct imap_seqset known_uids; /* count 0 = not given */
};

/* RFC 7162 §3.2.5: QRESYNC (uidvalidity modseq [known-uids [(seqs uids)]]).
 * The sequence match data only narrows what we report; since every
 * expunge is remembered, it is checked for syntax and otherwise unused. */
static bool select_parse_qresync(struct imap_parser *p, struct select_params *sp)
{
	struct imap_seqset ignored;

	if (!imap_parse_sp(p) || !imap_parse_char(p, '(') || !imap_parse_number(p, &sp->uidvalidity) ||
	    !imap_parse_sp(p) || !imap_parse_number64(p, &sp->modseq) || sp->uidvalidity == 0 ||
	    sp->modseq == 0)
		return imap_parser_fail(p, "Invalid QRESYNC parameters");
	if (imap_peek_char(p, ' ')) {
		p->p++;
		if (!imap_parse_seqset(p, &sp->known_uids) || sp->known_uids.saved)
			return imap_parser_fail(p, "Invalid known UIDs");
		if (imap_peek_char(p, ' ')) {
			p->p++;
			if (!imap_parse_char(p, '(') || !imap_parse_seqset(p, &ignored) ||
			    !imap_parse_sp(p) || !imap_parse_seqset(p, &ignored) ||
			    !imap_parse_char(p, ')'))
				return imap_parser_fail(p, "Invalid sequence match data");
		}
	}
	sp->qresync = true;
	return imap_parse_char(p, ')');
}

static bool select_parse_params(struct imap_parser *p, struct select_params *sp)
{
	char *name;

	memset(sp, 0, sizeof(*sp));
	if (!imap_peek_char(p, ' '))
		return true;
	p->p++;
	if (!imap_parse_char(p, '('))
		return false;
	do {
		if (!imap_parse_atom(p, &name))
			return false;
		if (str_eq_nocase(name, "CONDSTORE"))
			sp->condstore = true;
		else if (!str_eq_nocase(name, "QRESYNC") || !select_parse_qresync(p, sp))
			return imap_parser_fail(p, "Unknown SELECT parameter");
	} while (imap_peek_char(p, ' ') && p->p++);
	return imap_parse_char(p, ')');
}

/* Is uid in set ("*" = the largest UID ever given out)? */
static bool select_uid_in(const struct imap_seqset *set, uint32_t uid, uint32_t star)
{
	for (size_t i = 0; i < set->count; i++) {
		uint32_t lo = set->ranges[i].lo == UINT32_MAX ? star : set->ranges[i].lo;
		uint32_t hi = set->ranges[i].hi == UINT32_MAX ? star : set->ranges[i].hi;
		if ((uid >= lo && uid <= hi) || (uid >= hi && uid <= lo))
			return true;
	}
	return false;
}

/* RFC 7162 §3.2.5.1: what changed since the client's modseq, as if it had
 * sent UID FETCH known-uids (FLAGS) (CHANGEDSINCE modseq VANISHED). */
static int select_qresync(struct imap_session *s, const struct select_params *sp)
{
	struct imap_view *view = s->view;
	struct store_changes ch;
	const char *error;
	uint32_t star = view->uidnext > 0 ? view->uidnext - 1 : 0;
	struct imap_seqset all = { (struct imap_range[]){ { 1, UINT32_MAX } }, 1, false };
	const struct imap_seqset *known = sp->known_uids.count > 0 ? &sp->known_uids : &all;

	if (sp->uidvalidity != view->uidvalidity)
		return 0; /* §3.2.5: ignore the rest; the client sees the new value */
	if (store_message_changes(s->store, view->mailbox_id, sp->modseq, s->cmd_arena, &ch,
				  &error) < 0) {
		log_error("imap: qresync %s: %s", view->name, error);
		return -1;
	}
	uint32_t *gone = arena_alloc(s->cmd_arena, (ch.expunged_count + 1) * sizeof(uint32_t));
	size_t ngone = 0;
	for (size_t i = 0; i < ch.expunged_count; i++) {
		if (select_uid_in(known, ch.expunged[i], star))
			gone[ngone++] = ch.expunged[i];
	}
	if (ngone > 0) {
		buf_append_str(&s->scratch, "* VANISHED (EARLIER) ");
		imap_write_uidset(&s->scratch, gone, ngone);
		buf_append_str(&s->scratch, "\r\n");
		imap_flush_scratch(s);
	}
	for (size_t i = 0; i < ch.changed_count; i++) {
		long idx = imap_view_find_uid(view, ch.changed[i].uid);
		if (idx >= 0 && select_uid_in(known, ch.changed[i].uid, star))
			imap_view_send_flags(s, (size_t)idx);
	}
	return 0;
}

static enum imap_cmd_status select_mailbox(struct imap_session *s, struct imap_parser *p,
					   bool readonly)
{
	struct select_params sp;
	char *name;

	if (!imap_parse_sp(p) || (name = imap_parse_mailbox(s, p)) == NULL ||
	    !select_parse_params(p, &sp) || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (sp.qresync && !s->qresync) {
		imap_cmd_bad(s, "QRESYNC needs ENABLE QRESYNC first"); /* RFC 7162 §3.2.5 */
		return IMAP_CMD_DONE;
	}
	/* RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected; RFC 7162
	 * §3.2.11: [CLOSED] separates the old mailbox's responses. */
	if (s->view != NULL) {
		imap_view_close(s);
		imap_untagged(s, "OK [CLOSED] Previous mailbox closed");
	}
	if (sp.condstore)
		s->condstore = true;
	struct imap_mailbox_ref ref;
	int r = imap_mailbox_resolve(s, name, &ref);
	if (r == 0 && imap_mailbox_denied(s, &ref, ACL_READ))
		return IMAP_CMD_DONE;
	if (r < 0 || view_open(s, name, &ref, readonly) < 0) {
		imap_cmd_no(s, "[SERVERBUG] Cannot open mailbox");
		return IMAP_CMD_DONE;
	}
	select_send_info(s);
	if (sp.qresync && select_qresync(s, &sp) < 0) {
		imap_cmd_no(s, "[SERVERBUG] Cannot resynchronise");
		return IMAP_CMD_DONE;
	}
	imap_cmd_ok(s, "[%s] %s completed", s->view->readonly ? "READ-ONLY" : "READ-WRITE",
		    readonly ? "EXAMINE" : "SELECT");
	return IMAP_CMD_DONE;
}

/* The first CONDSTORE enabling command with a mailbox selected reports
 * the mailbox's HIGHESTMODSEQ (RFC 7162 §3.1). */
void imap_enable_condstore(struct imap_session *s)
{
	if (s->condstore)
		return;
	s->condstore = true;
	if (s->view != NULL)
		imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest",
			      (unsigned long long)s->view->modseq);
}

static enum imap_cmd_status cmd_select(struct imap_session *s, struct imap_parser *p, bool uid)
{
	return select_mailbox(s, p, false);
}

static enum imap_cmd_status cmd_examine(struct imap_session *s, struct imap_parser *p, bool uid)
{
	return select_mailbox(s, p, true);
}

/* An EXPUNGE (all \Deleted messages, or those among uids) as the store
 * writer runs it (imap_store_write). */
struct expunge_write {
	int64_t mailbox_id;
	const uint32_t *uids;
	size_t count;
	bool uid;
	struct arena *arena;
	uint32_t *gone;
	size_t gone_count;
};

/* On the store writer's thread. */
static int expunge_write_run(struct store *store, void *state, const char **error_r)
{
	struct expunge_write *w = state;

	return store_message_expunge(store, w->mailbox_id, w->uids, w->count, w->arena,
				     &w->gone, &w->gone_count, error_r);
}

/* Back on the loop, after the commit. The EXPUNGE responses follow from
 * the view sync before the tagged reply. */
static void expunge_written(struct imap_session *s, void *state, int rc, const char *error)
{
	struct expunge_write *w = state;

	if (rc < 0) {
		log_error("imap: expunge in %s: %s", s->view->name, error);
		imap_cmd_no(s, "[SERVERBUG] Expunge failed");
		return;
	}
	/* Mark them now rather than wait for the bus: this session must
	 * report its own expunges even if the notification races. */
	for (size_t i = 0; i < w->gone_count; i++) {
		long idx = imap_view_find_uid(s->view, w->gone[i]);
		if (idx >= 0 && !s->view->msgs.items[idx].expunged) {
			s->view->msgs.items[idx].expunged = true;
			s->view->has_expunged = true;
		}
	}
	imap_cmd_ok(s, "%sEXPUNGE completed", w->uid ? "UID " : "");
}

static enum imap_cmd_status cmd_expunge(struct imap_session *s, struct imap_parser *p, bool uid)
{
	struct imap_seqset set;
	uint32_t *uids = NULL;
	size_t count = 0;

	if (uid && (!imap_parse_sp(p) || !imap_parse_seqset(p, &set)))
		return imap_cmd_syntax(s, p);
	if (!imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (s->view->readonly) {
		imap_cmd_no(s, "[READ-ONLY] Mailbox is read-only");
		return IMAP_CMD_DONE;
	}
	if (!(s->view->rights & ACL_EXPUNGE)) { /* RFC 4314 §4 */
		imap_cmd_no(s, "[NOPERM] Permission denied (needs \"e\")");
		return IMAP_CMD_DONE;
	}
	if (uid) {
		uint32_t *idx = imap_view_resolve(s, &set, true, &count);
		uids = arena_alloc(s->cmd_arena, (count ? count : 1) * sizeof(uint32_t));
		for (size_t i = 0; i < count; i++)
			uids[i] = s->view->msgs.items[idx[i]].uid;
		if (count == 0) {
			imap_cmd_ok(s, "UID EXPUNGE completed");
			return IMAP_CMD_DONE;
		}
	}
	struct expunge_write *w = arena_zalloc(s->cmd_arena, sizeof(*w));

	*w = (struct expunge_write){ .mailbox_id = s->view->mailbox_id, .uids = uids,
				     .count = count, .uid = uid, .arena = s->cmd_arena };
	return imap_store_write(s, expunge_write_run, expunge_written, w);
}

/* Back on the loop after CLOSE's expunge: deselect, whatever happened. */
static void close_written(struct imap_session *s, void *state, int rc, const char *error)
{
	if (rc < 0)
		log_error("imap: close %s: %s", s->view->name, error);
	imap_view_close(s);
	imap_cmd_ok(s, "CLOSE completed");
}

/* RFC 9051 §6.4.1: CLOSE expunges silently (no EXPUNGE responses). */
static enum imap_cmd_status cmd_close(struct imap_session *s, struct imap_parser *p, bool uid)
{
	if (!imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	/* RFC 4314 §4: without "e", CLOSE only closes. */
	if (!s->view->readonly && (s->view->rights & ACL_EXPUNGE)) {
		struct expunge_write *w = arena_zalloc(s->cmd_arena, sizeof(*w));

		*w = (struct expunge_write){ .mailbox_id = s->view->mailbox_id,
					     .arena = s->cmd_arena };
		return imap_store_write(s, expunge_write_run, close_written, w);
	}
	imap_view_close(s);
	imap_cmd_ok(s, "CLOSE completed");
	return IMAP_CMD_DONE;
}

static enum imap_cmd_status cmd_unselect(struct imap_session *s, struct imap_parser *p, bool uid)
{
	if (!imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	imap_view_close(s);
	imap_cmd_ok(s, "UNSELECT completed");
	return IMAP_CMD_DONE;
}

#define AUTHED (IMAP_STATE_AUTHENTICATED | IMAP_STATE_SELECTED)

const struct imap_command imap_cmd_def_select = { "SELECT", AUTHED, 0, cmd_select };
const struct imap_command imap_cmd_def_examine = { "EXAMINE", AUTHED, 0, cmd_examine };
const struct imap_command imap_cmd_def_expunge = { "EXPUNGE", IMAP_STATE_SELECTED, IMAP_CMD_UID,
						   cmd_expunge };
const struct imap_command imap_cmd_def_close = { "CLOSE", IMAP_STATE_SELECTED, 0, cmd_close };
const struct imap_command imap_cmd_def_unselect = { "UNSELECT", IMAP_STATE_SELECTED, 0,
						    cmd_unselect };
