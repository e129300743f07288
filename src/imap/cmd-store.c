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
	unsigned flags;
	char *keywords;
};

static bool store_parse(struct imap_parser *p, struct store_request *req)
{
	char *item;

	if (!imap_parse_sp(p) || !imap_parse_seqset(p, &req->set) || !imap_parse_sp(p) ||
	    !imap_parse_word(p, "()", &item) || !imap_parse_sp(p))
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

/* Untagged FETCH with the new flags (UID too for UID STORE, §6.4.9). */
static void store_report(struct imap_session *s, const struct store_message_state *st,
			 bool uid, bool silent)
{
	long idx = imap_view_find_uid(s->view, st->uid);

	if (idx < 0)
		return;
	imap_view_set_known(s->view, (size_t)idx, st->flags, st->modseq, st->keywords);
	if (silent)
		return;
	buf_printf(&s->scratch, "* %ld FETCH (", idx + 1);
	if (uid)
		buf_printf(&s->scratch, "UID %u ", st->uid);
	buf_append_str(&s->scratch, "FLAGS ");
	imap_write_flags(&s->scratch, st->flags, st->keywords);
	buf_append_str(&s->scratch, ")\r\n");
	imap_flush_scratch(s);
}

static enum imap_cmd_status cmd_store(struct imap_session *s, struct imap_parser *p, bool uid)
{
	struct store_request req;
	struct store_message_state *result;
	uint32_t *failed;
	size_t count, result_count, failed_count, n = 0;
	const char *error;

	memset(&req, 0, sizeof(req));
	if (!store_parse(p, &req))
		return imap_cmd_syntax(s, p);
	if (s->view->readonly) {
		imap_cmd_no(s, "[READ-ONLY] Mailbox is read-only");
		return IMAP_CMD_DONE;
	}
	uint32_t *idx = imap_view_resolve(s, &req.set, uid, &count);
	uint32_t *uids = arena_alloc(s->cmd_arena, (count ? count : 1) * sizeof(uint32_t));
	for (size_t i = 0; i < count; i++) {
		if (!s->view->msgs.items[idx[i]].expunged)
			uids[n++] = s->view->msgs.items[idx[i]].uid;
	}
	if (n > 0 && store_message_set_flags(s->store, s->view->mailbox_id, uids, n, req.op,
					     req.flags, req.keywords, 0, s->cmd_arena, &result,
					     &result_count, &failed, &failed_count, &error) < 0) {
		log_error("imap: store in %s: %s", s->view->name, error);
		imap_cmd_no(s, "[SERVERBUG] Flags not changed");
		return IMAP_CMD_DONE;
	}
	for (size_t i = 0; n > 0 && i < result_count; i++)
		store_report(s, &result[i], uid, req.silent);
	if (n < count)
		imap_cmd_no(s, "[EXPUNGEISSUED] Some messages were expunged meanwhile");
	else
		imap_cmd_ok(s, "%sSTORE completed", uid ? "UID " : "");
	return IMAP_CMD_DONE;
}

const struct imap_command imap_cmd_def_store = {
	"STORE", IMAP_STATE_SELECTED, IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE, cmd_store
};
