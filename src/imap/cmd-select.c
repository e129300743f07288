/*
 * cmd-select: opening and closing the selected mailbox, and EXPUNGE:
 * SELECT, EXAMINE (RFC 9051 §6.3.2-3), CLOSE, UNSELECT (§6.4.1-2),
 * EXPUNGE and UID EXPUNGE (§6.4.3, RFC 4315).
 */
#include "imap/session.h"
#include "core/log.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

/* Drop the view; the session is AUTHENTICATED again. */
void imap_view_close(struct imap_session *s)
{
	struct imap_view *view = s->view;

	if (view == NULL)
		return;
	atomic_store(&s->watched_mailbox, 0);
	for (size_t i = 0; i < view->msgs.count; i++)
		free(view->msgs.items[i].keywords);
	array_free(&view->msgs);
	free(view->name);
	free(view);
	s->view = NULL;
	s->state = IMAP_STATE_AUTHENTICATED;
}

/* Load every message's UID and flags: the sequence-number map. The watch
 * is switched first so that no change between the two is missed. */
static int view_open(struct imap_session *s, const struct store_mailbox *mb, bool readonly)
{
	struct imap_view *view = mem_zalloc(sizeof(*view));
	struct store_message_state *list;
	size_t count;
	uint64_t modseq;
	const char *error;

	atomic_store(&s->watched_mailbox, mb->id);
	atomic_store(&s->notified, false);
	if (store_message_list(s->store, mb->id, 1, s->cmd_arena, &list, &count, &modseq,
			       &error) < 0) {
		log_error("imap: select %s: %s", mb->name, error);
		atomic_store(&s->watched_mailbox, 0);
		free(view);
		return -1;
	}
	view->mailbox_id = mb->id;
	view->name = mem_strdup(mb->name);
	view->readonly = readonly;
	view->uidvalidity = mb->uidvalidity;
	view->uidnext = mb->uidnext;
	view->modseq = modseq;
	array_reserve(&view->msgs, count);
	for (size_t i = 0; i < count; i++) {
		struct imap_msg m = { .uid = list[i].uid, .flags = list[i].flags,
				      .modseq = list[i].modseq };
		if (list[i].keywords != NULL && *list[i].keywords != '\0')
			m.keywords = mem_strdup(list[i].keywords);
		view->msgs.items[view->msgs.count++] = m;
		if (m.uid >= view->uidnext)
			view->uidnext = m.uid + 1;
	}
	view->exists_told = (uint32_t)count;
	s->view = view;
	s->state = IMAP_STATE_SELECTED;
	return 0;
}

/* RFC 9051 §6.3.2 / RFC 3501 §6.3.1: the untagged data of SELECT. */
static void select_send_info(struct imap_session *s)
{
	struct imap_view *view = s->view;
	uint32_t first_unseen = 0;

	imap_untagged(s, "FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)");
	imap_untagged(s, "OK [PERMANENTFLAGS (%s)] Flags permitted",
		      view->readonly ? "" : "\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*");
	imap_untagged(s, "%zu EXISTS", view->msgs.count);
	imap_untagged(s, "0 RECENT");
	for (size_t i = 0; i < view->msgs.count; i++) {
		if (!(view->msgs.items[i].flags & STORE_FLAG_SEEN)) {
			first_unseen = (uint32_t)i + 1;
			break;
		}
	}
	if (first_unseen > 0)
		imap_untagged(s, "OK [UNSEEN %u] First unseen", first_unseen);
	imap_untagged(s, "OK [UIDVALIDITY %u] UIDs valid", view->uidvalidity);
	imap_untagged(s, "OK [UIDNEXT %u] Predicted next UID", view->uidnext);
}

static enum imap_cmd_status select_mailbox(struct imap_session *s, struct imap_parser *p,
					   bool readonly)
{
	struct store_mailbox mb;
	const char *error;
	char *name;

	if (!imap_parse_sp(p) || (name = imap_parse_mailbox(s, p)) == NULL || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	/* RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected. */
	imap_view_close(s);
	int r = store_mailbox_find(s->store, s->account_id, name, s->cmd_arena, &mb, &error);
	if (r == STORE_ENOTFOUND) {
		imap_cmd_no(s, "[NONEXISTENT] No such mailbox");
		return IMAP_CMD_DONE;
	}
	if (r < 0 || view_open(s, &mb, readonly) < 0) {
		imap_cmd_no(s, "[SERVERBUG] Cannot open mailbox");
		return IMAP_CMD_DONE;
	}
	select_send_info(s);
	imap_cmd_ok(s, "[%s] %s completed", readonly ? "READ-ONLY" : "READ-WRITE",
		    readonly ? "EXAMINE" : "SELECT");
	return IMAP_CMD_DONE;
}

static enum imap_cmd_status cmd_select(struct imap_session *s, struct imap_parser *p, bool uid)
{
	return select_mailbox(s, p, false);
}

static enum imap_cmd_status cmd_examine(struct imap_session *s, struct imap_parser *p, bool uid)
{
	return select_mailbox(s, p, true);
}

/* Expunge \Deleted messages: all, or those among uids. The EXPUNGE
 * responses follow from the view sync before the tagged reply. */
static int expunge_deleted(struct imap_session *s, const uint32_t *uids, size_t count)
{
	uint32_t *gone;
	size_t gone_count;
	const char *error;

	if (store_message_expunge(s->store, s->view->mailbox_id, uids, count, s->cmd_arena, &gone,
				  &gone_count, &error) < 0) {
		log_error("imap: expunge in %s: %s", s->view->name, error);
		return -1;
	}
	/* Mark them now rather than wait for the bus: this session must
	 * report its own expunges even if the notification races. */
	for (size_t i = 0; i < gone_count; i++) {
		long idx = imap_view_find_uid(s->view, gone[i]);
		if (idx >= 0 && !s->view->msgs.items[idx].expunged) {
			s->view->msgs.items[idx].expunged = true;
			s->view->has_expunged = true;
		}
	}
	return 0;
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
	if (expunge_deleted(s, uids, count) < 0)
		imap_cmd_no(s, "[SERVERBUG] Expunge failed");
	else
		imap_cmd_ok(s, "%sEXPUNGE completed", uid ? "UID " : "");
	return IMAP_CMD_DONE;
}

/* RFC 9051 §6.4.1: CLOSE expunges silently (no EXPUNGE responses). */
static enum imap_cmd_status cmd_close(struct imap_session *s, struct imap_parser *p, bool uid)
{
	const char *error;
	uint32_t *gone;
	size_t gone_count;

	if (!imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (!s->view->readonly &&
	    store_message_expunge(s->store, s->view->mailbox_id, NULL, 0, s->cmd_arena, &gone,
				  &gone_count, &error) < 0)
		log_error("imap: close %s: %s", s->view->name, error);
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
