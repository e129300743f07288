/*
 * notify-parse: the NOTIFY command's arguments (RFC 5465 §8 ABNF) into a
 * struct imap_notify_request. Pure (no session, no store) and fuzzed: every
 * list is bounded, every error leaves parser->error set.
 */
#include "imap/notify.h"

#include <string.h>

#include "core/array.h"
#include "core/str.h"
#include "imap/fetch.h"

/* one-or-more-mailbox = mailbox / "(" mailbox *(SP mailbox) ")" */
static bool notify_parse_names(struct imap_parser *p, struct imap_notify_group *g)
{
	ARRAY(char *) names = ARRAY_INIT;
	ARRAY(size_t) lens = ARRAY_INIT;
	bool list = imap_peek_char(p, '('), ok = true;
	char *name;
	size_t len;

	if (list)
		p->p++;
	do {
		if (names.count >= IMAP_NOTIFY_MAX_NAMES || !imap_parse_astring(p, &name, &len)) {
			ok = imap_parser_fail(p, "Invalid mailbox list");
			break;
		}
		array_push(&names, name);
		array_push(&lens, len);
	} while (list && imap_peek_char(p, ' ') && imap_parse_sp(p));
	if (ok && list)
		ok = imap_parse_char(p, ')');
	if (ok) {
		g->names = (char **)arena_memdup(p->arena, names.items, names.count * sizeof(char *));
		g->name_lens = (size_t *)arena_memdup(p->arena, lens.items,
						      lens.count * sizeof(size_t));
		g->name_count = names.count;
	}
	array_free(&names);
	array_free(&lens);
	return ok;
}

/* events = "(" event *(SP event) ")" / "NONE" */
static bool notify_parse_events(struct imap_parser *p, struct imap_notify_request *r,
				struct imap_notify_group *g, bool selected)
{
	char *atom;

	if (!imap_peek_char(p, '(')) {
		if (!imap_parse_atom(p, &atom) || !str_eq_nocase(atom, "NONE"))
			return imap_parser_fail(p, "Expected events or NONE");
		return true;
	}
	p->p++;
	do {
		if (!imap_parse_atom(p, &atom))
			return imap_parser_fail(p, "Expected an event");
		if (str_eq_nocase(atom, "MessageNew")) {
			g->events |= IMAP_NOTIFY_NEW;
			if (imap_peek_char(p, ' ') && p->p + 1 < p->end && p->p[1] == '(') {
				struct imap_fetch_request *request;
				const char *start = ++p->p;

				if (!imap_fetch_parse_items(p, &request))
					return false;
				/* §8: fetch-atts only for the selected mailbox */
				if (!selected) {
					r->bad = "MessageNew attributes only with SELECTED";
				} else {
					r->too_much = !imap_fetch_items_pushable(request);
					r->fetch_atts = start;
					r->fetch_atts_len = (size_t)(p->p - start);
				}
			}
		} else if (str_eq_nocase(atom, "MessageExpunge")) {
			g->events |= IMAP_NOTIFY_EXPUNGE;
		} else if (str_eq_nocase(atom, "FlagChange")) {
			g->events |= IMAP_NOTIFY_FLAGS;
		} else if (str_eq_nocase(atom, "MailboxName")) {
			g->events |= IMAP_NOTIFY_MAILBOX_NAME;
		} else if (str_eq_nocase(atom, "SubscriptionChange")) {
			g->events |= IMAP_NOTIFY_SUBSCRIPTION;
		} else {
			/* AnnotationChange, MailboxMetadataChange,
			 * ServerMetadataChange, event-ext: not offered */
			r->bad_event = true;
		}
	} while (imap_peek_char(p, ' ') && imap_parse_sp(p));
	if (!imap_parse_char(p, ')'))
		return false;
	/* §5: MessageNew and MessageExpunge together; FlagChange needs both */
	if (((g->events & IMAP_NOTIFY_NEW) != 0) != ((g->events & IMAP_NOTIFY_EXPUNGE) != 0))
		r->bad = "MessageNew and MessageExpunge go together (RFC 5465 section 5)";
	else if ((g->events & IMAP_NOTIFY_FLAGS) && !(g->events & IMAP_NOTIFY_NEW))
		r->bad = "FlagChange needs MessageNew and MessageExpunge (RFC 5465 section 5)";
	if (selected && (g->events & ~IMAP_NOTIFY_MESSAGE_EVENTS))
		r->bad = "Only message events for SELECTED (RFC 5465 section 6.1)";
	return true;
}

typedef ARRAY(struct imap_notify_group) notify_group_array;

/* event-group = "(" filter-mailboxes SP events ")" */
static bool notify_parse_group(struct imap_parser *p, struct imap_notify_request *r,
			       notify_group_array *groups)
{
	struct imap_notify_group g = { 0 };
	char *filter;
	bool selected = false;

	if (!imap_parse_char(p, '(') || !imap_parse_atom(p, &filter))
		return imap_parser_fail(p, "Expected (filter events)");
	if (str_eq_nocase(filter, "SELECTED") || str_eq_nocase(filter, "SELECTED-DELAYED")) {
		if (r->selected)
			r->bad = "Only one SELECTED or SELECTED-DELAYED (RFC 5465 section 6.1)";
		r->selected = selected = true;
		r->selected_delayed = str_eq_nocase(filter, "SELECTED-DELAYED");
	} else if (str_eq_nocase(filter, "INBOXES")) {
		g.filter = IMAP_NOTIFY_FILTER_INBOXES;
	} else if (str_eq_nocase(filter, "PERSONAL")) {
		g.filter = IMAP_NOTIFY_FILTER_PERSONAL;
	} else if (str_eq_nocase(filter, "SUBSCRIBED")) {
		g.filter = IMAP_NOTIFY_FILTER_SUBSCRIBED;
	} else if (str_eq_nocase(filter, "SUBTREE") || str_eq_nocase(filter, "MAILBOXES")) {
		g.filter = str_eq_nocase(filter, "SUBTREE") ? IMAP_NOTIFY_FILTER_SUBTREE
							    : IMAP_NOTIFY_FILTER_MAILBOXES;
		if (!imap_parse_sp(p) || !notify_parse_names(p, &g))
			return false;
	} else {
		return imap_parser_fail(p, "Unknown mailbox filter");
	}
	if (!imap_parse_sp(p) || !notify_parse_events(p, r, &g, selected) ||
	    !imap_parse_char(p, ')'))
		return false;
	if (selected)
		r->selected_events = g.events;
	else
		array_push(groups, g);
	return true;
}

bool imap_notify_parse(struct imap_parser *p, struct imap_notify_request **request_r)
{
	struct imap_notify_request *r = arena_zalloc(p->arena, sizeof(*r));
	notify_group_array groups = ARRAY_INIT;
	char *word;
	bool ok = true;

	if (!imap_parse_sp(p) || !imap_parse_atom(p, &word))
		return imap_parser_fail(p, "Expected SET or NONE");
	if (str_eq_nocase(word, "NONE")) {
		r->none = true;
		*request_r = r;
		return true;
	}
	if (!str_eq_nocase(word, "SET") || !imap_parse_sp(p))
		return imap_parser_fail(p, "Expected SET or NONE");
	if (!imap_peek_char(p, '(')) {
		if (!imap_parse_atom(p, &word) || !str_eq_nocase(word, "STATUS") || !imap_parse_sp(p))
			return imap_parser_fail(p, "Expected STATUS or an event group");
		r->status = true;
	}
	do {
		if (groups.count >= IMAP_NOTIFY_MAX_GROUPS) {
			ok = imap_parser_fail(p, "Too many event groups");
			break;
		}
		ok = notify_parse_group(p, r, &groups);
	} while (ok && imap_peek_char(p, ' ') && imap_parse_sp(p));
	if (ok) {
		r->groups = (struct imap_notify_group *)arena_memdup(
			p->arena, groups.items, groups.count * sizeof(struct imap_notify_group));
		r->group_count = groups.count;
		*request_r = r;
	}
	array_free(&groups);
	return ok;
}
