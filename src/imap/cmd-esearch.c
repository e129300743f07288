/*
 * cmd-esearch: the ESEARCH command of MULTISEARCH (RFC 7377): one search
 * over several of the user's mailboxes, chosen by source options
 * (IN (selected / inboxes / personal / subscribed / subtree / subtree-one /
 * mailboxes ...)). Each mailbox with a match gets one ESEARCH response with
 * the TAG, MAILBOX and UIDVALIDITY correlators and UIDs (§2.1); a mailbox
 * without a match gets none.
 *
 * The search itself is search.c's, run once per mailbox. A mailbox other
 * than the selected one is searched through a short-lived view of its
 * messages (store_message_list), so sequence numbers in the criteria mean
 * that mailbox's own numbers; the selected mailbox is searched through the
 * session's view, as SEARCH does. The selected mailbox stays selected
 * (§2.1: ESEARCH does not change it).
 */
#include "imap/search.h"
#include "imap/session.h"
#include "core/log.h"
#include "core/str.h"

#include <string.h>

/* A named source, decoded (UTF-8, INBOX normalised). */
struct esearch_named {
	char *name;
	enum imap_esearch_filter filter;
};

/* Does a named filter take mailbox name? */
static bool esearch_named_matches(const struct esearch_named *n, const char *name)
{
	size_t len = strlen(n->name);

	if (strcmp(name, n->name) == 0)
		return true;
	if (n->filter == IMAP_ESEARCH_MAILBOXES || strncmp(name, n->name, len) != 0 ||
	    name[len] != '/')
		return false;
	return n->filter == IMAP_ESEARCH_SUBTREE || strchr(name + len + 1, '/') == NULL;
}

static bool esearch_wanted(struct imap_session *s, const struct imap_esearch_sources *src,
			   const struct esearch_named *named, const struct store_mailbox *mb,
			   char **subs, size_t sub_count)
{
	if (src->personal)
		return true;
	if (src->selected && s->view != NULL && s->view->mailbox_id == mb->id)
		return true;
	/* RFC 5465 §6: mailboxes an MDA delivers to; buzon delivers to INBOX */
	if (src->inboxes && strcmp(mb->name, "INBOX") == 0)
		return true;
	for (size_t i = 0; src->subscribed && i < sub_count; i++) {
		if (strcmp(subs[i], mb->name) == 0)
			return true;
	}
	for (size_t i = 0; i < src->name_count; i++) {
		if (esearch_named_matches(&named[i], mb->name))
			return true;
	}
	return false;
}

/* Search a mailbox that is not the selected one through a view of its
 * messages, put in place of the session's for the length of the search. */
static int esearch_other_mailbox(struct imap_session *s, struct imap_search_query *query,
				 const struct store_mailbox *mb)
{
	struct imap_view view = { .mailbox_id = mb->id, .name = mb->name, .readonly = true,
				  .uidvalidity = mb->uidvalidity };
	struct store_message_state *states;
	struct imap_view *selected = s->view;
	const char *error;
	size_t count;
	uint64_t modseq;
	struct arena *arena = arena_new();
	int ret = store_message_list(s->store, mb->id, 1, arena, &states, &count, &modseq, &error);

	if (ret < 0) {
		log_warn("imap: esearch: listing %s: %s", mb->name, error);
		arena_free(arena);
		return ret == STORE_ENOTFOUND ? 0 : -1; /* deleted meanwhile: no match */
	}
	for (size_t i = 0; i < count; i++) {
		struct imap_msg m = { .uid = states[i].uid, .flags = states[i].flags,
				      .modseq = states[i].modseq };
		array_push(&view.msgs, m);
	}
	view.modseq = modseq;
	view.exists_told = (uint32_t)count;
	s->view = &view;
	ret = imap_search_answer_mailbox(s, query, mb->name, mb->uidvalidity);
	s->view = selected;
	array_free(&view.msgs);
	arena_free(arena);
	return ret;
}

/* ESEARCH [SP esearch-source-opts] [SP search-return-opts] SP search-program */
static enum imap_cmd_status cmd_esearch(struct imap_session *s, struct imap_parser *p, bool uid)
{
	struct imap_esearch_sources src;
	struct imap_search_query *query;
	struct store_mailbox *mbs;
	const char *error;
	char **subs = NULL;
	size_t mb_count, sub_count = 0;

	if (!imap_esearch_parse_sources(p, &src) || !imap_search_parse(p, &query) ||
	    !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (!src.given)
		src.selected = true; /* §2.2: no source options means "selected" */
	struct esearch_named *named = arena_alloc(s->cmd_arena,
						  (src.name_count + 1) * sizeof(*named));
	for (size_t i = 0; i < src.name_count; i++) {
		named[i].filter = src.names[i].filter;
		named[i].name = imap_decode_mailbox(s, p, src.names[i].raw, src.names[i].len);
		if (named[i].name == NULL)
			return imap_cmd_syntax(s, p);
	}
	bool only_selected = src.selected && !src.inboxes && !src.personal && !src.subscribed &&
			     src.name_count == 0;
	/* §2.2: "selected" needs the selected state; SAVE only with it alone */
	if (src.selected && s->view == NULL) {
		imap_cmd_bad(s, "No mailbox selected");
		return IMAP_CMD_DONE;
	}
	/* RFC 7377 §2.4: UPDATE applies to the selected mailbox and needs one */
	bool update = query->return_options & IMAP_SEARCH_RETURN_UPDATE;
	if (update && s->view == NULL) {
		imap_cmd_bad(s, "UPDATE needs a selected mailbox");
		return IMAP_CMD_DONE;
	}
	if ((query->return_options & IMAP_SEARCH_RETURN_SAVE) && !only_selected) {
		imap_cmd_bad(s, "SAVE needs the selected mailbox as the only source");
		return IMAP_CMD_DONE;
	}
	if (!query->charset_supported) {
		imap_cmd_no(s, "[BADCHARSET (US-ASCII UTF-8)] Unsupported charset");
		return IMAP_CMD_DONE;
	}
	/* §2.1: no result option means ALL; the answer is always ESEARCH */
	query->esearch = true;
	if (query->return_options == 0)
		query->return_options = IMAP_SEARCH_RETURN_ALL;
	if (query->has_modseq)
		imap_enable_condstore(s); /* RFC 7162 §3.1 */
	int ret = store_mailbox_list(s->store, s->account_id, s->cmd_arena, &mbs, &mb_count, &error);
	if (ret == 0 && src.subscribed)
		ret = store_subscription_list(s->store, s->account_id, s->cmd_arena, &subs,
					      &sub_count, &error);
	if (ret < 0)
		log_error("imap: esearch for %s: %s", s->account_name, error);
	for (size_t i = 0; ret == 0 && i < mb_count; i++) {
		if (!esearch_wanted(s, &src, named, &mbs[i], subs, sub_count))
			continue;
		if (s->view != NULL && s->view->mailbox_id == mbs[i].id)
			ret = imap_search_answer_mailbox(s, query, s->view->name,
							 s->view->uidvalidity);
		else
			ret = esearch_other_mailbox(s, query, &mbs[i]);
	}
	if (ret == 0 && update) {
		/* RFC 5267 §4.3.1: we keep no context for ESEARCH; the other
		 * options were answered */
		struct buf *out = &s->scratch;

		buf_append_str(out, "* NO [NOUPDATE ");
		imap_write_string(out, s->tag, strlen(s->tag), false);
		buf_append_str(out, "] No updates for ESEARCH; use SEARCH RETURN (UPDATE)\r\n");
		imap_flush_scratch(s);
	}
	if (ret < 0)
		imap_cmd_no(s, "[SERVERBUG] ESEARCH failed: internal error");
	else
		imap_cmd_ok(s, "ESEARCH completed");
	return IMAP_CMD_DONE;
}

#define AUTHED (IMAP_STATE_AUTHENTICATED | IMAP_STATE_SELECTED)

/* NO_EXPUNGE as SEARCH: the answer names messages by UID, and no EXPUNGE
 * may shift the selected mailbox's numbers meanwhile (RFC 9051 §7.5.1) */
const struct imap_command imap_cmd_def_esearch = { "ESEARCH", AUTHED, IMAP_CMD_NO_EXPUNGE,
						   cmd_esearch };
