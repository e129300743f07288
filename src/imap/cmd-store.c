/*
 * cmd-store: STORE and UID STORE (RFC 9051 §6.4.6): change flags, then tell
 * the client the resulting flags unless it asked for .SILENT.
 */
#include "imap/session.h"
#include "core/log.h"
#include "core/str.h"
#include "store/acl.h"

#include <string.h>

struct store_request {
	struct imap_seqset set;
	enum store_flags_op op;
	bool silent;
	bool conditional;          /* (UNCHANGEDSINCE n) was given */
	uint64_t unchanged_since;  /* RFC 7162 §3.1.3 */
	unsigned flags;
	char *keywords;
};

/* The STORE modifier list of RFC 4466 §2.5: only UNCHANGEDSINCE exists. */
static bool store_parse_modifiers(struct imap_parser *p, struct store_request *req)
{
	char *name;

	if (!imap_peek_char(p, '('))
		return true;
	p->p++;
	if (!imap_parse_atom(p, &name) || !str_eq_nocase(name, "UNCHANGEDSINCE") ||
	    !imap_parse_sp(p) || !imap_parse_number64(p, &req->unchanged_since) ||
	    !imap_parse_char(p, ')') || !imap_parse_sp(p))
		return imap_parser_fail(p, "Expected (UNCHANGEDSINCE mod-sequence)");
	req->conditional = true;
	return true;
}

static bool store_parse(struct imap_parser *p, struct store_request *req)
{
	char *item;

	if (!imap_parse_sp(p) || !imap_parse_seqset(p, &req->set) || !imap_parse_sp(p) ||
	    !store_parse_modifiers(p, req) || !imap_parse_word(p, "()", &item) || !imap_parse_sp(p))
		return false;
	req->op = STORE_FLAGS_REPLACE;
	if (item[0] == '+' || item[0] == '-') {
		req->op = item[0] == '+' ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE;
		item++;
	}
	if (str_eq_nocase(item, "FLAGS.SILENT"))
		req->silent = true;
	else if (!str_eq_nocase(item, "FLAGS"))
		return imap_parser_fail(p, "Expected FLAGS, +FLAGS or -FLAGS");
	if (!imap_parse_flags(p, imap_peek_char(p, '('), &req->flags, &req->keywords))
		return false;
	return imap_parse_eol(p);
}

/* Untagged FETCH with the resulting flags (UID too for UID STORE,
 * §6.4.9), and MODSEQ for CONDSTORE-aware clients; a conditional STORE
 * answers even when .SILENT (RFC 7162 §3.1.3). */
static void store_report(struct imap_session *s, const struct store_message_state *st,
			 bool uid, const struct store_request *req)
{
	long idx = imap_view_find_uid(s->view, st->uid);

	if (idx < 0)
		return;
	imap_view_set_known(s->view, (size_t)idx, st->flags, st->modseq, st->keywords);
	if (req->silent && !req->conditional)
		return;
	buf_printf(&s->scratch, "* %ld FETCH (", idx + 1);
	if (uid || s->condstore)
		buf_printf(&s->scratch, "UID %u ", st->uid);
	buf_append_str(&s->scratch, "FLAGS ");
	imap_write_flags(&s->scratch, st->flags, st->keywords);
	if (s->condstore)
		buf_printf(&s->scratch, " MODSEQ (%llu)", (unsigned long long)st->modseq);
	buf_append_str(&s->scratch, ")\r\n");
	imap_flush_scratch(s);
}

/* The tagged reply: MODIFIED lists what failed UNCHANGEDSINCE, as sequence
 * numbers for STORE and UIDs for UID STORE (RFC 7162 §3.1.3). */
static void store_finish(struct imap_session *s, bool uid, const uint32_t *failed, size_t nfailed,
			 bool expunged)
{
	if (nfailed > 0) {
		uint32_t *set = arena_alloc(s->cmd_arena, nfailed * sizeof(uint32_t));
		size_t n = 0;
		for (size_t i = 0; i < nfailed; i++) {
			long idx = uid ? 0 : imap_view_find_uid(s->view, failed[i]);
			if (idx >= 0)
				set[n++] = uid ? failed[i] : (uint32_t)idx + 1;
		}
		struct buf code = BUF_INIT;
		imap_write_uidset(&code, set, n); /* sequence numbers ascend with UIDs */
		imap_cmd_ok(s, "[MODIFIED %s] Conditional STORE failed for some messages",
			    code.data ? code.data : "");
		buf_free(&code);
	} else if (expunged) {
		imap_cmd_no(s, "[EXPUNGEISSUED] Some messages were expunged meanwhile");
	} else {
		imap_cmd_ok(s, "%sSTORE completed", uid ? "UID " : "");
	}
}

/* Keep in best the latest state of each uid among results (the highest
 * modseq wins: several store calls may have touched one message). */
static void store_merge(struct store_message_state *best, size_t *best_count,
			const struct store_message_state *results, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		size_t k = 0;
		while (k < *best_count && best[k].uid != results[i].uid)
			k++;
		if (k == *best_count)
			best[(*best_count)++] = results[i];
		else if (results[i].modseq >= best[k].modseq)
			best[k] = results[i];
	}
}

/* STORE on another account's mailbox (RFC 4314 §4): \Seen is this user's
 * own (needs "s"), \Deleted needs "t", other flags and keywords "w"; what
 * the user may not change is left alone, and the rest still happens (a NO
 * to STORE is badly handled by clients). REPLACE keeps the owner's \Seen:
 * it removes the other flags first, then adds the given ones. */
static int store_foreign(struct imap_session *s, const struct store_request *req,
			 const uint32_t *uids, size_t n, struct store_message_state **result_r,
			 size_t *result_count_r, uint32_t **failed_r, size_t *failed_count_r)
{
	struct imap_view *view = s->view;
	unsigned rights = view->rights, allowed = 0;
	struct store_message_state *best = arena_alloc(s->cmd_arena, (n + 1) * sizeof(*best));
	struct store_message_state *res;
	size_t best_count = 0, res_count;
	const char *error = NULL, *keywords = rights & ACL_WRITE ? req->keywords : NULL;
	uint64_t since = req->unchanged_since;
	int rc = 0;

	if (rights & ACL_WRITE)
		allowed |= STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED | STORE_FLAG_DRAFT;
	if (rights & ACL_DELETE_MSG)
		allowed |= STORE_FLAG_DELETED;
	unsigned flags = req->flags & allowed;
	*failed_count_r = 0;
	if (req->conditional) {
		/* RFC 7162 §3.1.3 across the several calls below: a call that
		 * changes nothing finds the messages modified since, and they
		 * are left out of everything that follows. */
		uint32_t *kept = arena_alloc(s->cmd_arena, (n + 1) * sizeof(*kept));
		size_t nkept = 0;
		rc = store_message_set_flags(s->store, view->mailbox_id, uids, n, STORE_FLAGS_ADD, 0,
					     NULL, since, s->cmd_arena, &res, &res_count, failed_r,
					     failed_count_r, &error);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			bool failed = false;
			for (size_t k = 0; k < *failed_count_r && !failed; k++)
				failed = (*failed_r)[k] == uids[i];
			if (!failed)
				kept[nkept++] = uids[i];
		}
		uids = kept;
		n = nkept;
		since = 0;
	}
	if (rc == 0 && n > 0 && req->op == STORE_FLAGS_REPLACE && (allowed != 0 || keywords != NULL)) {
		/* every keyword these messages have, to drop the unlisted */
		struct buf all = BUF_INIT;
		for (size_t i = 0; (rights & ACL_WRITE) && i < n; i++) {
			long k = imap_view_find_uid(view, uids[i]);
			if (k >= 0 && view->msgs.items[k].keywords != NULL)
				buf_printf(&all, "%s%s", all.len ? " " : "",
					   view->msgs.items[k].keywords);
		}
		size_t nfailed = 0;
		uint32_t *failed = NULL;
		rc = store_message_set_flags(s->store, view->mailbox_id, uids, n,
					     STORE_FLAGS_REMOVE, allowed & ~flags,
					     all.len ? all.data : NULL, 0, s->cmd_arena, &res,
					     &res_count, &failed, &nfailed, &error);
		buf_free(&all);
		if (rc == 0)
			store_merge(best, &best_count, res, res_count);
	}
	if (rc == 0 && n > 0 && (flags != 0 || (keywords != NULL && *keywords != '\0'))) {
		enum store_flags_op op = req->op == STORE_FLAGS_REPLACE ? STORE_FLAGS_ADD : req->op;
		size_t nfailed = 0;
		uint32_t *failed = NULL;
		rc = store_message_set_flags(s->store, view->mailbox_id, uids, n, op, flags,
					     keywords, 0, s->cmd_arena, &res, &res_count,
					     &failed, &nfailed, &error);
		if (rc == 0)
			store_merge(best, &best_count, res, res_count);
	}
	if (rc == 0 && n > 0 && (rights & ACL_SEEN) &&
	    (req->op == STORE_FLAGS_REPLACE || (req->flags & STORE_FLAG_SEEN))) {
		bool seen = req->op == STORE_FLAGS_REPLACE ? (req->flags & STORE_FLAG_SEEN) != 0
							   : req->op == STORE_FLAGS_ADD;
		rc = store_seen_set(s->store, s->account_id, view->mailbox_id, uids, n, seen,
				    s->cmd_arena, &res, &res_count, &error);
		if (rc == 0)
			store_merge(best, &best_count, res, res_count);
	}
	if (rc == 0)
		rc = imap_view_load_seen(s);
	if (rc < 0) {
		log_error("imap: store in %s: %s", view->name, error ? error : "seen");
		return -1;
	}
	/* Messages no call named still get their FETCH (what they are now). */
	for (size_t i = 0; i < n; i++) {
		long k = imap_view_find_uid(view, uids[i]);
		struct store_message_state st = { .uid = uids[i] };
		if (k < 0)
			continue;
		st.flags = view->msgs.items[k].flags;
		st.modseq = view->msgs.items[k].modseq;
		st.keywords = view->msgs.items[k].keywords;
		store_merge(best, &best_count, &st, 1);
	}
	for (size_t i = 0; i < best_count; i++)
		best[i].flags = imap_view_user_flags(view, best[i].uid, best[i].flags);
	*result_r = best;
	*result_count_r = best_count;
	return 0;
}

/* A STORE of the session's own mailbox, as the store writer runs it
 * (imap_store_write): inputs, then the results for store_written. */
struct store_write {
	struct store_request req;
	bool uid;
	size_t count;              /* messages named (some may be expunged) */
	int64_t mailbox_id;
	const uint32_t *uids;
	size_t n;
	struct arena *arena;       /* the command arena */
	struct store_message_state *result;
	size_t result_count;
	uint32_t *failed;
	size_t failed_count;
};

/* On the store writer's thread: the one store call. */
static int store_write_run(struct store *store, void *state, const char **error_r)
{
	struct store_write *w = state;

	return store_message_set_flags(store, w->mailbox_id, w->uids, w->n, w->req.op,
				       w->req.flags, w->req.keywords, w->req.unchanged_since,
				       w->arena, &w->result, &w->result_count, &w->failed,
				       &w->failed_count, error_r);
}

/* Back on the loop, after the commit: FETCH responses and the reply. */
static void store_written(struct imap_session *s, void *state, int rc, const char *error)
{
	struct store_write *w = state;

	if (rc < 0) {
		log_error("imap: store in %s: %s", s->view->name, error);
		imap_cmd_no(s, "[SERVERBUG] Flags not changed");
		return;
	}
	for (size_t i = 0; i < w->result_count; i++)
		store_report(s, &w->result[i], w->uid, &w->req);
	store_finish(s, w->uid, w->failed, w->failed_count, w->n < w->count);
}

static enum imap_cmd_status cmd_store(struct imap_session *s, struct imap_parser *p, bool uid)
{
	struct store_request req;
	struct store_message_state *result = NULL;
	uint32_t *failed = NULL;
	size_t count, result_count = 0, failed_count = 0, n = 0;

	memset(&req, 0, sizeof(req));
	if (!store_parse(p, &req))
		return imap_cmd_syntax(s, p);
	if (s->view->readonly) {
		imap_cmd_no(s, "[READ-ONLY] Mailbox is read-only");
		return IMAP_CMD_DONE;
	}
	if (req.conditional)
		imap_enable_condstore(s);
	uint32_t *idx = imap_view_resolve(s, &req.set, uid, &count);
	uint32_t *uids = arena_alloc(s->cmd_arena, (count ? count : 1) * sizeof(uint32_t));
	for (size_t i = 0; i < count; i++) {
		if (!s->view->msgs.items[idx[i]].expunged)
			uids[n++] = s->view->msgs.items[idx[i]].uid;
	}
	if (req.conditional && req.unchanged_since == 0) {
		/* §3.1.3: UNCHANGEDSINCE 0 always fails; nothing is changed. */
		store_finish(s, uid, uids, n, false);
		return IMAP_CMD_DONE;
	}
	if (n > 0 && !s->view->foreign) {
		struct store_write *w = arena_zalloc(s->cmd_arena, sizeof(*w));

		*w = (struct store_write){ .req = req, .uid = uid, .count = count,
					   .mailbox_id = s->view->mailbox_id, .uids = uids,
					   .n = n, .arena = s->cmd_arena };
		return imap_store_write(s, store_write_run, store_written, w);
	}
	/* Another account's mailbox: several calls that read the view
	 * between them (rare: shared folders), on the loop. */
	if (n > 0 && store_foreign(s, &req, uids, n, &result, &result_count, &failed,
				   &failed_count) < 0) {
		imap_cmd_no(s, "[SERVERBUG] Flags not changed");
		return IMAP_CMD_DONE;
	}
	for (size_t i = 0; i < result_count; i++)
		store_report(s, &result[i], uid, &req);
	store_finish(s, uid, failed, failed_count, n < count);
	return IMAP_CMD_DONE;
}

const struct imap_command imap_cmd_def_store = {
	"STORE", IMAP_STATE_SELECTED, IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE, cmd_store
};
