/*
 * cmd-copy: COPY and MOVE with their UID forms (RFC 9051 §6.4.7-8,
 * RFC 6851), answering COPYUID (RFC 4315). Copies share the stored bytes;
 * a MOVE is one store transaction, so the message is never in both
 * mailboxes nor in neither.
 */
#include "imap/session.h"
#include "core/log.h"
#include "store/acl.h"

#include <string.h>

/* An ascending UID list as a compact set: "1:3,7,9:10". */
void imap_write_uidset(struct buf *out, const uint32_t *uids, size_t count)
{
	for (size_t i = 0; i < count;) {
		size_t j = i;
		while (j + 1 < count && uids[j + 1] == uids[j] + 1)
			j++;
		buf_printf(out, "%s%u", i > 0 ? "," : "", uids[i]);
		if (j > i)
			buf_printf(out, ":%u", uids[j]);
		i = j + 1;
	}
}

/* The UIDs of the named messages that are still there; *requested_r is how
 * many were named (a difference means some were expunged meanwhile). */
static uint32_t *copy_source_uids(struct imap_session *s, const struct imap_seqset *set,
				  bool uid, size_t *count_r, size_t *requested_r)
{
	uint32_t *idx = imap_view_resolve(s, set, uid, requested_r);
	uint32_t *uids = arena_alloc(s->cmd_arena, (*requested_r ? *requested_r : 1) *
						   sizeof(uint32_t));
	size_t n = 0;

	for (size_t i = 0; i < *requested_r; i++) {
		if (!s->view->msgs.items[idx[i]].expunged)
			uids[n++] = s->view->msgs.items[idx[i]].uid;
	}
	*count_r = n;
	return uids;
}

/* COPYUID (RFC 4315 §3) in the tagged OK of COPY; for MOVE in an untagged
 * OK before the EXPUNGEs, which the view sync sends next (RFC 6851 §4.3). */
static void copy_report(struct imap_session *s, bool uid, bool move, uint32_t uidvalidity,
			const uint32_t *src_uids, const uint32_t *dst_uids, size_t copied)
{
	struct buf code = BUF_INIT;

	buf_printf(&code, "[COPYUID %u ", uidvalidity);
	imap_write_uidset(&code, src_uids, copied);
	buf_append_char(&code, ' ');
	imap_write_uidset(&code, dst_uids, copied);
	buf_append_char(&code, ']');
	if (move) {
		imap_untagged(s, "OK %s Moved", code.data);
		for (size_t i = 0; i < copied; i++) {
			long k = imap_view_find_uid(s->view, src_uids[i]);
			if (k >= 0 && !s->view->msgs.items[k].expunged) {
				s->view->msgs.items[k].expunged = true;
				s->view->has_expunged = true;
			}
		}
		imap_cmd_ok(s, "%sMOVE completed", uid ? "UID " : "");
	} else {
		imap_cmd_ok(s, "%s %sCOPY completed", code.data, uid ? "UID " : "");
	}
	buf_free(&code);
}

/* \Seen is per user (RFC 4314 "s", shared.c): the copier's \Seen of each
 * source (their own set in a foreign view, the flags the view has told for
 * their own mailbox) goes with the copy as the copier's, and the store
 * copied the flag itself only when source and destination have the same
 * owner. So: into the copier's own account from another's, \Seen is set
 * as a flag; into another's account, in the copier's own seen set (with
 * the "s" right, RFC 4314 §4). The messages are already safe: a failure
 * here only loses \Seen, logged. */
static void copy_keep_seen(struct imap_session *s, const struct imap_mailbox_ref *dest,
			   const uint32_t *src_uids, const uint32_t *dst_uids, size_t count)
{
	struct imap_view *view = s->view;
	struct store_message_state *res;
	uint32_t *seen = arena_alloc(s->cmd_arena, (count + 1) * sizeof(uint32_t)), *failed;
	size_t nseen = 0, nres, nfailed;
	const char *error;
	int r = 0;

	if (dest->owner_id == view->owner_id && !view->foreign)
		return; /* within one's own account: the store copied the flag */
	for (size_t i = 0; i < count; i++) {
		long k = imap_view_find_uid(view, src_uids[i]);
		unsigned flags = k >= 0 ? view->msgs.items[k].flags : 0;
		if (imap_view_user_flags(view, src_uids[i], flags) & STORE_FLAG_SEEN)
			seen[nseen++] = dst_uids[i];
	}
	if (nseen == 0)
		return;
	if (!dest->foreign) {
		/* Another's mailbox into one's own: the owner's flag was left. */
		r = store_message_set_flags(s->store, dest->mailbox.id, seen, nseen,
					    STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0, s->cmd_arena,
					    &res, &nres, &failed, &nfailed, &error);
	} else if (dest->rights & ACL_SEEN) {
		r = store_seen_set(s->store, s->account_id, dest->mailbox.id, seen, nseen, true,
				   s->cmd_arena, &res, &nres, &error);
	}
	if (r < 0)
		log_warn("imap: copy: keeping \\Seen of %s: %s", s->account_name, error);
}

/* RFC 4314 §4: into another account's mailbox only the flags the copier
 * may set are stored — \Deleted with "t", the other flags and keywords
 * with "w" (\Seen is copy_keep_seen's). The store copied them all; what
 * the copier may not set is taken back at once (a failure is logged: the
 * messages are safe, some flags stayed). */
static void copy_filter_flags(struct imap_session *s, const struct imap_mailbox_ref *dest,
			      const uint32_t *dst_uids, size_t count)
{
	struct store_message_state *res, *res2;
	uint32_t *failed;
	size_t nres, nres2, nfailed;
	unsigned remove = 0;
	const char *error;
	int r;

	if (!dest->foreign)
		return;
	if (!(dest->rights & ACL_WRITE))
		remove |= STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED | STORE_FLAG_DRAFT;
	if (!(dest->rights & ACL_DELETE_MSG))
		remove |= STORE_FLAG_DELETED;
	if (remove == 0)
		return;
	r = store_message_set_flags(s->store, dest->mailbox.id, dst_uids, count, STORE_FLAGS_REMOVE,
				    remove, NULL, 0, s->cmd_arena, &res, &nres, &failed, &nfailed,
				    &error);
	for (size_t i = 0; r == 0 && !(dest->rights & ACL_WRITE) && i < nres; i++) {
		if (res[i].keywords != NULL && res[i].keywords[0] != '\0')
			r = store_message_set_flags(s->store, dest->mailbox.id, &res[i].uid, 1,
						    STORE_FLAGS_REMOVE, 0, res[i].keywords, 0,
						    s->cmd_arena, &res2, &nres2, &failed, &nfailed,
						    &error);
	}
	if (r < 0)
		log_warn("imap: copy: dropping flags %s may not set: %s", s->account_name, error);
}

/* A COPY or MOVE as the store writer runs it (imap_store_write). */
struct copy_write {
	bool uid, move;
	const char *name;          /* the target, for the log */
	int64_t source_id, target_id;
	const uint32_t *uids;
	size_t n, requested;
	struct arena *arena;
	uint32_t *src_uids, *dst_uids, uidvalidity;
	size_t copied;
	const struct imap_mailbox_ref *ref; /* across accounts only (on the loop) */
};

/* On the store writer's thread: one transaction, so a MOVE is never in
 * both mailboxes nor in neither. */
static int copy_write_run(struct store *store, void *state, const char **error_r)
{
	struct copy_write *w = state;

	return store_message_copy(store, w->source_id, w->uids, w->n, w->target_id, w->move,
				  w->arena, &w->src_uids, &w->dst_uids, &w->copied,
				  &w->uidvalidity, error_r);
}

/* Back on the loop, after the commit (or without a store call). */
static void copy_written(struct imap_session *s, void *state, int r, const char *error)
{
	struct copy_write *w = state;
	bool move = w->move;

	if (r == STORE_EOVERQUOTA) {
		imap_cmd_no(s, "[OVERQUOTA] Quota exceeded, nothing %s", move ? "moved" : "copied");
	} else if (r < 0) {
		log_error("imap: %s to %s: %s", move ? "move" : "copy", w->name, error);
		imap_cmd_no(s, "[SERVERBUG] Messages not copied");
	} else if (w->copied == 0 && w->n < w->requested) {
		imap_cmd_no(s, "[EXPUNGEISSUED] Messages were expunged meanwhile");
	} else if (w->copied == 0) {
		imap_cmd_ok(s, "No messages to %s", move ? "move" : "copy");
	} else {
		if (w->ref != NULL) {
			copy_filter_flags(s, w->ref, w->dst_uids, w->copied);
			copy_keep_seen(s, w->ref, w->src_uids, w->dst_uids, w->copied);
		}
		imap_notify_own_messages(s, w->target_id, w->dst_uids, w->copied);
		copy_report(s, w->uid, move, w->uidvalidity, w->src_uids, w->dst_uids, w->copied);
	}
}

static enum imap_cmd_status copy_or_move(struct imap_session *s, struct imap_parser *p, bool uid,
					 bool move)
{
	struct imap_seqset set;
	size_t requested, n;
	char *name;

	if (!imap_parse_sp(p) || !imap_parse_seqset(p, &set) || !imap_parse_sp(p) ||
	    (name = imap_parse_mailbox(s, p)) == NULL || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (move && s->view->readonly) {
		imap_cmd_no(s, "[READ-ONLY] Mailbox is read-only");
		return IMAP_CMD_DONE;
	}
	/* RFC 6851 §3.3 with RFC 4314: a move deletes and expunges here. */
	if (move && (s->view->rights & (ACL_DELETE_MSG | ACL_EXPUNGE)) !=
			    (ACL_DELETE_MSG | ACL_EXPUNGE)) {
		imap_cmd_no(s, "[NOPERM] Permission denied (needs \"te\" here)");
		return IMAP_CMD_DONE;
	}
	struct imap_mailbox_ref ref;
	int r = imap_mailbox_resolve(s, name, &ref);
	if (r == 0 && !ref.exists && !ref.foreign) {
		imap_cmd_no(s, "[TRYCREATE] No such mailbox");
		return IMAP_CMD_DONE;
	}
	if (r == 0 && imap_mailbox_denied(s, &ref, ACL_INSERT))
		return IMAP_CMD_DONE;
	uint32_t *uids = copy_source_uids(s, &set, uid, &n, &requested);
	struct copy_write *w = arena_zalloc(s->cmd_arena, sizeof(*w));

	*w = (struct copy_write){ .uid = uid, .move = move, .name = name,
				  .source_id = s->view->mailbox_id, .target_id = ref.mailbox.id,
				  .uids = uids, .n = n, .requested = requested,
				  .arena = s->cmd_arena };
	if (r < 0 || n == 0) {
		copy_written(s, w, r, "store error");
		return IMAP_CMD_DONE;
	}
	if (ref.foreign || s->view->foreign || ref.owner_id != s->view->owner_id) {
		/* Across accounts (shared folders, rare): after the copy, flags
		 * are filtered and \Seen kept from the view, several store
		 * calls on the loop. */
		const char *error = "store error";
		struct imap_mailbox_ref *kept = arena_alloc(s->cmd_arena, sizeof(*kept));

		*kept = ref;
		w->ref = kept;
		r = copy_write_run(s->store, w, &error);
		copy_written(s, w, r, error);
		return IMAP_CMD_DONE;
	}
	/* Within one's own account: the copy is the store call alone, off
	 * the loop and group-committed. */
	return imap_store_write(s, copy_write_run, copy_written, w);
}

static enum imap_cmd_status cmd_copy(struct imap_session *s, struct imap_parser *p, bool uid)
{
	return copy_or_move(s, p, uid, false);
}

static enum imap_cmd_status cmd_move(struct imap_session *s, struct imap_parser *p, bool uid)
{
	return copy_or_move(s, p, uid, true);
}

const struct imap_command imap_cmd_def_copy = { "COPY", IMAP_STATE_SELECTED, IMAP_CMD_UID,
						 cmd_copy };
const struct imap_command imap_cmd_def_move = { "MOVE", IMAP_STATE_SELECTED, IMAP_CMD_UID,
						 cmd_move };
