/*
 * cmd-store: STORE and UID STORE (RFC 9051 §6.4.6): change flags, then tell
 * the client the resulting flags unless it asked for .SILENT.
 */
#include "imap/session.h"
#include "core/log.h"
#include "core/str.h"

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

static enum imap_cmd_status cmd_store(struct imap_session *s, struct imap_parser *p, bool uid)
{
	struct store_request req;
	struct store_message_state *result = NULL;
	uint32_t *failed = NULL;
	size_t count, result_count = 0, failed_count = 0, n = 0;
	const char *error;

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
	if (n > 0 && store_message_set_flags(s->store, s->view->mailbox_id, uids, n, req.op,
					     req.flags, req.keywords, req.unchanged_since,
					     s->cmd_arena, &result, &result_count, &failed,
					     &failed_count, &error) < 0) {
		log_error("imap: store in %s: %s", s->view->name, error);
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
