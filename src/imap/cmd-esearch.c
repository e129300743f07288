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

/* Mailboxes named in one command: more than any folder list a client
 * shows; the bound keeps a hostile command from naming thousands. */
#define ESEARCH_MAX_NAMED 256

enum esearch_filter_kind {
	ESEARCH_MAILBOXES,   /* exactly these */
	ESEARCH_SUBTREE,     /* these and everything below */
	ESEARCH_SUBTREE_ONE, /* these and their children (RFC 7377 §2.2) */
};

struct esearch_named {
	char *name; /* UTF-8, INBOX normalised */
	enum esearch_filter_kind kind;
};

struct esearch_sources {
	bool selected, inboxes, personal, subscribed;
	struct esearch_named *named;
	size_t named_count;
};

/* one-or-more-mailbox = mailbox / "(" mailbox *(SP mailbox) ")" (RFC 5465 §8) */
static bool esearch_parse_names(struct imap_session *s, struct imap_parser *p,
				enum esearch_filter_kind kind, struct esearch_sources *src)
{
	bool list = imap_peek_char(p, '(');

	if (list)
		p->p++;
	do {
		if (src->named_count == ESEARCH_MAX_NAMED)
			return imap_parser_fail(p, "[LIMIT] Too many mailboxes");
		char *name = imap_parse_mailbox(s, p);
		if (name == NULL)
			return false;
		src->named[src->named_count].name = name;
		src->named[src->named_count].kind = kind;
		src->named_count++;
	} while (list && imap_peek_char(p, ' ') && p->p++);
	return !list || imap_parse_char(p, ')');
}

/* "IN" SP "(" filter-mailboxes *(SP filter-mailboxes) [SP "(" scope-options ")"] ")"
 * with the word IN already read (RFC 7377 §4). No scope option is defined,
 * so any is unknown: BAD. */
static bool esearch_parse_sources(struct imap_session *s, struct imap_parser *p,
				  struct esearch_sources *src)
{
	char *word;

	src->named = arena_alloc(s->cmd_arena, ESEARCH_MAX_NAMED * sizeof(*src->named));
	if (!imap_parse_sp(p) || !imap_parse_char(p, '('))
		return imap_parser_fail(p, "Expected IN (source options)");
	do {
		if (imap_peek_char(p, '('))
			return imap_parser_fail(p, "Unknown scope option");
		if (!imap_parse_atom(p, &word))
			return imap_parser_fail(p, "Expected a source option");
		if (str_eq_nocase(word, "selected"))
			src->selected = true;
		else if (str_eq_nocase(word, "inboxes"))
			src->inboxes = true;
		else if (str_eq_nocase(word, "personal"))
			src->personal = true;
		else if (str_eq_nocase(word, "subscribed"))
			src->subscribed = true;
		else if (str_eq_nocase(word, "mailboxes") || str_eq_nocase(word, "subtree") ||
			 str_eq_nocase(word, "subtree-one")) {
			enum esearch_filter_kind kind =
				str_eq_nocase(word, "mailboxes") ? ESEARCH_MAILBOXES :
				str_eq_nocase(word, "subtree")	 ? ESEARCH_SUBTREE :
								   ESEARCH_SUBTREE_ONE;
			if (!imap_parse_sp(p) || !esearch_parse_names(s, p, kind, src))
				return false;
		} else {
			/* includes "selected-delayed", forbidden by RFC 7377 §2.2 */
			return imap_parser_fail(p, "Unknown source option");
		}
	} while (imap_peek_char(p, ' ') && p->p++);
	return imap_parse_char(p, ')');
}

/* Does a named filter take mailbox name? */
static bool esearch_named_matches(const struct esearch_named *n, const char *name)
{
	size_t len = strlen(n->name);

	if (strcmp(name, n->name) == 0)
		return true;
	if (n->kind == ESEARCH_MAILBOXES || strncmp(name, n->name, len) != 0 || name[len] != '/')
		return false;
	return n->kind == ESEARCH_SUBTREE || strchr(name + len + 1, '/') == NULL;
}

static bool esearch_wanted(struct imap_session *s, const struct esearch_sources *src,
			   const struct store_mailbox *mb, char **subs, size_t sub_count)
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
	for (size_t i = 0; i < src->named_count; i++) {
		if (esearch_named_matches(&src->named[i], mb->name))
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
	struct esearch_sources src = { 0 };
	struct imap_search_query *query;
	struct store_mailbox *mbs;
	const char *error;
	char **subs = NULL;
	size_t mb_count, sub_count = 0;
	const char *save = p->p;
	char *word;

	/* the optional IN (...) comes first; search_parse reads from the SP */
	if (imap_parse_sp(p) && imap_parse_atom(p, &word) && str_eq_nocase(word, "IN")) {
		if (!esearch_parse_sources(s, p, &src))
			return imap_cmd_syntax(s, p);
	} else {
		p->p = save;
		p->error = NULL;
		src.selected = true; /* §2.2: no source options means "selected" */
	}
	if (!imap_search_parse(p, &query) || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	bool only_selected = src.selected && !src.inboxes && !src.personal && !src.subscribed &&
			     src.named_count == 0;
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
		if (!esearch_wanted(s, &src, &mbs[i], subs, sub_count))
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
