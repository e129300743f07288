/*
 * notify: the NOTIFY command (RFC 5465) and the notifications it asks for.
 *
 * A session watches a set of mailboxes: the selected one (SELECTED /
 * SELECTED-DELAYED) and the others its event groups name (personal,
 * inboxes, subscribed, subtree, mailboxes). The change bus only says
 * "something changed" (session.c sets notify_other / notify_list /
 * notify_subs); this file then compares what the store says now with a
 * snapshot kept since the last look:
 *
 *  - mailboxes by id: a new id is a created mailbox, a missing one a
 *    deleted one, a new name for a known id a rename (MailboxName: LIST,
 *    LIST (\NonExistent), LIST ... ("OLDNAME" (old)), §5.4);
 *  - a mailbox's HIGHESTMODSEQ moved: its counters are read again and a
 *    STATUS goes out with what the events ask for (§5.1-5.3);
 *  - the subscription list: each name that came or went gets a LIST with
 *    accurate attributes (SubscriptionChange, §5.5).
 *
 * Comparing snapshots instead of carrying the details on the bus keeps the
 * bus small and makes changes from other processes (the store feed) look
 * exactly like our own. A session watching mailboxes of other accounts
 * (shared mailboxes) would add a watch per account and the same diff.
 *
 * When notifications go out (§3.1, §5): during IDLE and between commands,
 * at once; at the end of a command, with its other untagged responses. With
 * SELECTED-DELAYED, EXPUNGE waits for a command that allows it. Without a
 * SELECTED group nothing about the selected mailbox is pushed, but the end
 * of each command still reports EXISTS / EXPUNGE / FETCH as RFC 9051 §7
 * requires (as Dovecot does): the client's message numbers must stay true.
 * Without FlagChange, flag changes of the selected mailbox wait for the end
 * of a command. A client
 * that stops reading gets "* OK [NOTIFICATIONOVERFLOW]" and NOTIFY NONE
 * (§5.8) instead of an ever-growing queue (DESIGN.md rule 5).
 *
 * Not offered: AnnotationChange (no ANNOTATE), MailboxMetadataChange and
 * ServerMetadataChange (no METADATA); asking for them is NO [BADEVENT ...]
 * listing what is (§3.1). Events this session caused are not sent (§5
 * SHOULD omit): MailboxName and SubscriptionChange for its own
 * CREATE/DELETE/RENAME/(UN)SUBSCRIBE, MessageNew (a STATUS) for the
 * non-selected mailboxes its APPEND/COPY/MOVE/REPLACE added to, and
 * (§5.2 SHOULD NOT) MessageNew's FETCH for the messages it added to the
 * selected mailbox itself. Their EXISTS goes out as always (RFC 9051 §7).
 */
#include "imap/fetch.h"
#include "imap/notify.h"
#include "imap/session.h"

#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"

/* What BADEVENT lists: every event NOTIFY offers (RFC 5465 §3.1). */
#define NOTIFY_BADEVENT "[BADEVENT (MessageNew MessageExpunge FlagChange MailboxName " \
			"SubscriptionChange)]"

struct notify_group {
	enum imap_notify_filter filter;
	char **names; /* subtree / mailboxes: decoded, UTF-8 */
	size_t name_count;
	unsigned events;
};

/* What the session last saw of one mailbox. */
struct notify_mailbox {
	int64_t id;
	char *name;
	uint64_t modseq;
	bool have_status;
	struct store_mailbox_status status;
};

struct imap_notify {
	struct arena *arena;       /* the settings */
	bool selected;             /* a SELECTED or SELECTED-DELAYED group */
	bool selected_delayed;
	unsigned selected_events;
	char *fetch_atts;          /* MessageNew's attributes as sent, or NULL */
	struct notify_group *groups;
	size_t group_count;
	/* the snapshot, in an arena of its own, rebuilt at each change */
	struct arena *snap_arena;
	struct notify_mailbox *known;
	size_t known_count;
	char **subs;
	size_t sub_count;
	/* mailboxes this session's own APPEND / COPY / MOVE / REPLACE added
	 * to during the current command (heap; emptied at its end) */
	ARRAY(int64_t) own;
	/* UIDs the current command added to the selected mailbox itself:
	 * no MessageNew FETCH for them (§5.2 SHOULD NOT; heap; emptied at the
	 * command's end, after its view sync told EXISTS) */
	ARRAY(uint32_t) own_uids;
};

/* ---- matching --------------------------------------------------------------- */

static bool notify_name_in(char *const *names, size_t count, const char *name)
{
	for (size_t i = 0; i < count; i++) {
		if (strcmp(names[i], name) == 0)
			return true;
	}
	return false;
}

/* RFC 5465 §6.5: the mailbox itself and everything below it. */
static bool notify_in_subtree(const char *root, const char *name)
{
	size_t n = strlen(root);

	return strncmp(root, name, n) == 0 && (name[n] == '\0' || name[n] == '/');
}

static bool notify_group_matches(const struct notify_group *g, const char *name,
				 char *const *subs, size_t sub_count)
{
	switch (g->filter) {
	case IMAP_NOTIFY_FILTER_PERSONAL:
		return true; /* §6.2: one personal namespace, all of it */
	case IMAP_NOTIFY_FILTER_INBOXES:
		return strcmp(name, "INBOX") == 0; /* §6.3: we deliver only there */
	case IMAP_NOTIFY_FILTER_SUBSCRIBED:
		return notify_name_in(subs, sub_count, name);
	case IMAP_NOTIFY_FILTER_SUBTREE:
		for (size_t i = 0; i < g->name_count; i++) {
			if (notify_in_subtree(g->names[i], name))
				return true;
		}
		return false;
	case IMAP_NOTIFY_FILTER_MAILBOXES:
		return notify_name_in(g->names, g->name_count, name); /* §6.6: no wildcards */
	}
	return false;
}

/* The events the groups ask for on a (non-selected) mailbox name. */
static unsigned notify_events_for(const struct imap_notify *n, const char *name)
{
	unsigned events = 0;

	for (size_t i = 0; i < n->group_count; i++) {
		if (notify_group_matches(&n->groups[i], name, n->subs, n->sub_count))
			events |= n->groups[i].events;
	}
	return events;
}

static int64_t notify_selected_id(const struct imap_session *s)
{
	return s->view != NULL ? s->view->mailbox_id : 0;
}

/* ---- the snapshot --------------------------------------------------------- */

static const struct notify_mailbox *notify_find_id(const struct imap_notify *n, int64_t id)
{
	for (size_t i = 0; i < n->known_count; i++) {
		if (n->known[i].id == id)
			return &n->known[i];
	}
	return NULL;
}

static const struct notify_mailbox *notify_find_name(const struct notify_mailbox *list,
						     size_t count, const char *name)
{
	for (size_t i = 0; i < count; i++) {
		if (strcmp(list[i].name, name) == 0)
			return &list[i];
	}
	return NULL;
}

/* "* STATUS name (items)" with the items a change calls for. */
static void notify_write_status(struct imap_session *s, const char *name,
				const struct store_mailbox_status *st, unsigned items)
{
	struct buf *out = &s->scratch;
	const char *sep = "";

	buf_append_str(out, "* STATUS ");
	imap_write_mailbox(s, out, name);
	buf_append_str(out, " (");
	if (items & 1u) {
		buf_printf(out, "%sMESSAGES %u", sep, st->messages);
		sep = " ";
	}
	if (items & 2u) {
		buf_printf(out, "%sUIDNEXT %u", sep, st->uidnext);
		sep = " ";
	}
	if (items & 4u) {
		buf_printf(out, "%sUIDVALIDITY %u", sep, st->uidvalidity);
		sep = " ";
	}
	if (items & 8u) {
		buf_printf(out, "%sUNSEEN %u", sep, st->unseen);
		sep = " ";
	}
	if (items & 16u)
		buf_printf(out, "%sHIGHESTMODSEQ %llu", sep, (unsigned long long)st->highestmodseq);
	buf_append_str(out, ")\r\n");
	imap_flush_scratch(s);
}

#define NOTIFY_ST_MESSAGES 1u
#define NOTIFY_ST_UIDNEXT 2u
#define NOTIFY_ST_UIDVALIDITY 4u
#define NOTIFY_ST_UNSEEN 8u
#define NOTIFY_ST_HIGHESTMODSEQ 16u

/* What a STATUS for a changed mailbox holds (RFC 5465 §5.1-5.3); 0 when
 * nothing the client asked about changed. */
static unsigned notify_status_items(const struct imap_session *s, unsigned events,
				    const struct store_mailbox_status *old,
				    const struct store_mailbox_status *now)
{
	unsigned items = 0;

	if ((events & (IMAP_NOTIFY_NEW | IMAP_NOTIFY_EXPUNGE)) &&
	    (old->messages != now->messages || old->uidnext != now->uidnext)) {
		items |= NOTIFY_ST_MESSAGES | NOTIFY_ST_UIDNEXT;
		if (s->condstore)
			items |= NOTIFY_ST_HIGHESTMODSEQ;
	}
	if ((events & IMAP_NOTIFY_FLAGS) && old->highestmodseq != now->highestmodseq) {
		/* §5.1: with CONDSTORE, HIGHESTMODSEQ and UIDVALIDITY; without
		 * it, UNSEEN when that changed, else nothing */
		if (s->condstore)
			items |= NOTIFY_ST_HIGHESTMODSEQ | NOTIFY_ST_UIDVALIDITY;
		else if (old->unseen != now->unseen)
			items |= NOTIFY_ST_UNSEEN;
	}
	if ((events & IMAP_NOTIFY_MESSAGE_EVENTS) && old->uidvalidity != now->uidvalidity)
		items |= NOTIFY_ST_UIDVALIDITY;
	return items;
}

/* The STATUS sent for NOTIFY SET STATUS (§3.1): what each event needs. */
static unsigned notify_initial_items(unsigned events)
{
	unsigned items = 0;

	if (events & IMAP_NOTIFY_NEW)
		items |= NOTIFY_ST_MESSAGES | NOTIFY_ST_UIDNEXT | NOTIFY_ST_UIDVALIDITY;
	if (events & IMAP_NOTIFY_EXPUNGE)
		items |= NOTIFY_ST_MESSAGES;
	if (events & IMAP_NOTIFY_FLAGS)
		items |= NOTIFY_ST_UIDVALIDITY | NOTIFY_ST_HIGHESTMODSEQ;
	return items;
}

/* Read the subscriptions into the snapshot arena, sorted. */
static int notify_load_subs(struct imap_session *s, struct arena *arena, char ***subs_r,
			    size_t *count_r)
{
	const char *error;

	if (store_subscription_list(s->store, s->account_id, arena, subs_r, count_r, &error) < 0) {
		log_warn("imap: notify %s: subscriptions: %s", s->account_name, error);
		return -1;
	}
	return 0;
}

typedef ARRAY(const char *) notify_name_array;

/* One LIST per name and refresh: a parent created with its child is
 * "affected" twice (§5.4) but told once. */
static void notify_list_once(struct imap_session *s, notify_name_array *listed, const char *name,
			     const char *old_name)
{
	for (size_t i = 0; i < listed->count; i++) {
		if (strcmp(listed->items[i], name) == 0)
			return;
	}
	array_push(listed, name);
	imap_list_notify(s, name, old_name);
}

/* RFC 5465 §5.4: a created or deleted mailbox and its direct parent. */
static void notify_list_with_parent(struct imap_session *s, notify_name_array *listed,
				    const char *name)
{
	const char *slash = strrchr(name, '/');

	notify_list_once(s, listed, name, NULL);
	if (slash != NULL) {
		char *parent = arena_strndup(s->cmd_arena, name, (size_t)(slash - name));

		if (notify_events_for(s->notify, parent) & IMAP_NOTIFY_MAILBOX_NAME)
			notify_list_once(s, listed, parent, NULL);
	}
}

/* Was old_name -> new_name only a consequence of renaming an ancestor,
 * which was reported already (§5.4: no events for children)? */
static bool notify_renamed_with_parent(const struct notify_mailbox *old_list, size_t old_count,
				       const struct store_mailbox *now, size_t now_count,
				       const char *old_name, const char *new_name)
{
	for (size_t i = 0; i < now_count; i++) {
		const struct notify_mailbox *was = NULL;

		for (size_t k = 0; k < old_count && was == NULL; k++) {
			if (old_list[k].id == now[i].id)
				was = &old_list[k];
		}
		if (was == NULL || strcmp(was->name, now[i].name) == 0 ||
		    strcmp(was->name, old_name) == 0)
			continue;
		size_t ol = strlen(was->name), nl = strlen(now[i].name);
		if (strncmp(old_name, was->name, ol) == 0 && old_name[ol] == '/' &&
		    strncmp(new_name, now[i].name, nl) == 0 && new_name[nl] == '/' &&
		    strcmp(old_name + ol, new_name + nl) == 0)
			return true;
	}
	return false;
}

/* Compare the store's mailboxes with the snapshot; report names (unless
 * silent) and counters; then make the store's view the snapshot. */
static int notify_refresh_mailboxes(struct imap_session *s, struct arena *arena,
				    bool report_names)
{
	struct imap_notify *n = s->notify;
	struct store_mailbox *now;
	size_t count;
	const char *error;
	int64_t selected = notify_selected_id(s);

	if (store_mailbox_list(s->store, s->account_id, arena, &now, &count, &error) < 0) {
		log_warn("imap: notify %s: mailboxes: %s", s->account_name, error);
		return -1;
	}
	struct notify_mailbox *next = arena_zalloc(arena, (count + 1) * sizeof(*next));
	notify_name_array listed = ARRAY_INIT;

	for (size_t i = 0; i < count; i++) {
		const struct notify_mailbox *was = notify_find_id(n, now[i].id);
		unsigned events = notify_events_for(n, now[i].name);
		struct notify_mailbox *m = &next[i];

		m->id = now[i].id;
		m->name = now[i].name;
		m->modseq = now[i].highestmodseq;
		if (was != NULL && was->have_status) {
			m->have_status = true;
			m->status = was->status;
		}
		if (report_names && was == NULL && (events & IMAP_NOTIFY_MAILBOX_NAME))
			notify_list_with_parent(s, &listed, now[i].name);
		if (report_names && was != NULL && strcmp(was->name, now[i].name) != 0) {
			unsigned old_events = notify_events_for(n, was->name);

			if (((events | old_events) & IMAP_NOTIFY_MAILBOX_NAME) &&
			    !notify_renamed_with_parent(n->known, n->known_count, now, count,
							was->name, now[i].name))
				notify_list_once(s, &listed, now[i].name, was->name);
		}
		if (!(events & IMAP_NOTIFY_MESSAGE_EVENTS))
			continue;
		/* counters: read again only where the modseq moved */
		if (m->have_status && was != NULL && was->modseq == m->modseq)
			continue;
		struct store_mailbox_status st;
		if (store_mailbox_status(s->store, m->id, &st, &error) < 0) {
			log_warn("imap: notify %s: status of %s: %s", s->account_name, m->name, error);
			continue;
		}
		if (m->have_status && m->id != selected) {
			unsigned items = notify_status_items(s, events, &m->status, &st);
			if (items != 0)
				notify_write_status(s, m->name, &st, items);
		}
		m->status = st;
		m->have_status = true;
	}
	if (report_names) {
		for (size_t i = 0; i < n->known_count; i++) {
			const struct notify_mailbox *was = &n->known[i];
			bool gone = true;

			for (size_t k = 0; k < count && gone; k++)
				gone = now[k].id != was->id;
			if (gone && (notify_events_for(n, was->name) & IMAP_NOTIFY_MAILBOX_NAME) &&
			    notify_find_name(next, count, was->name) == NULL)
				notify_list_with_parent(s, &listed, was->name);
		}
	}
	array_free(&listed);
	n->known = next;
	n->known_count = count;
	return 0;
}

/* Compare the subscriptions with the snapshot (report unless silent). */
static int notify_refresh_subs(struct imap_session *s, struct arena *arena, bool report)
{
	struct imap_notify *n = s->notify;
	char **subs;
	size_t count;

	if (notify_load_subs(s, arena, &subs, &count) < 0)
		return -1;
	if (report) {
		/* §6.4: a name matches "subscribed" before or after the change */
		for (int pass = 0; pass < 2; pass++) {
			char **a = pass == 0 ? subs : n->subs, **b = pass == 0 ? n->subs : subs;
			size_t ac = pass == 0 ? count : n->sub_count;
			size_t bc = pass == 0 ? n->sub_count : count;

			for (size_t i = 0; i < ac; i++) {
				if (notify_name_in(b, bc, a[i]))
					continue;
				unsigned events = notify_events_for(n, a[i]);
				if (pass == 0) {
					/* newly subscribed: "subscribed" matches it now */
					for (size_t g = 0; g < n->group_count; g++) {
						if (n->groups[g].filter == IMAP_NOTIFY_FILTER_SUBSCRIBED)
							events |= n->groups[g].events;
					}
				}
				if (events & IMAP_NOTIFY_SUBSCRIPTION)
					imap_list_notify(s, a[i], NULL);
			}
		}
	}
	n->subs = subs;
	n->sub_count = count;
	return 0;
}

/* RFC 5465 §5: "SHOULD omit notifying the client if the event is caused
 * by this client". The mailboxes the command added messages to take their
 * counters into the snapshot silently, so the diff that follows finds no
 * change there; other mailboxes are reported as usual. (Another session's
 * change to the same mailbox in the same instant is folded in with ours.) */
static void notify_absorb_own(struct imap_session *s)
{
	struct imap_notify *n = s->notify;

	for (size_t i = 0; i < n->own.count; i++) {
		struct store_mailbox_status st;
		const char *error;

		for (size_t k = 0; k < n->known_count; k++) {
			struct notify_mailbox *m = &n->known[k];

			if (m->id != n->own.items[i] || !m->have_status)
				continue;
			if (store_mailbox_status(s->store, m->id, &st, &error) < 0) {
				log_warn("imap: notify %s: status of %s: %s", s->account_name,
					 m->name, error);
				break;
			}
			m->status = st;
			m->modseq = st.highestmodseq;
			break;
		}
	}
	array_clear(&n->own);
}

/* Rebuild the snapshot in a fresh arena, reporting what changed since the
 * last one (unless silent), and drop the old arena. */
static void notify_refresh(struct imap_session *s, bool mailboxes, bool subs, bool report)
{
	struct imap_notify *n = s->notify;
	struct arena *old = n->snap_arena;
	struct arena *arena = arena_new();
	char **keep_subs = n->subs;
	size_t keep_sub_count = n->sub_count;

	/* subscriptions first: "subscribed" groups then match the new list */
	if (subs) {
		if (notify_refresh_subs(s, arena, report) < 0) {
			n->subs = keep_subs;
			n->sub_count = keep_sub_count;
			subs = false;
		}
	}
	if (!subs && n->subs != NULL) {
		/* keep the old list: copy it into the new arena */
		char **copy = arena_alloc(arena, (n->sub_count + 1) * sizeof(char *));
		for (size_t i = 0; i < n->sub_count; i++)
			copy[i] = arena_strdup(arena, n->subs[i]);
		n->subs = copy;
	}
	if (!mailboxes || notify_refresh_mailboxes(s, arena, report) < 0) {
		struct notify_mailbox *copy =
			arena_alloc(arena, (n->known_count + 1) * sizeof(*copy));
		for (size_t i = 0; i < n->known_count; i++) {
			copy[i] = n->known[i];
			copy[i].name = arena_strdup(arena, n->known[i].name);
		}
		n->known = copy;
	}
	n->snap_arena = arena;
	arena_free(old);
}

/* ---- delivery --------------------------------------------------------------- */

/* §5.8: the client does not read what we send; stop, say so, and behave
 * as after NOTIFY NONE. */
static bool notify_check_overflow(struct imap_session *s)
{
	if (s->notify == NULL || !imap_output_full(s))
		return false;
	imap_notify_free(s);
	imap_untagged(s, "OK [NOTIFICATIONOVERFLOW] Too many notifications; NOTIFY is now NONE");
	return true;
}

/* The non-selected part: names, subscriptions, counters. */
static void notify_others(struct imap_session *s)
{
	bool other = atomic_exchange(&s->notify_other, false);
	bool list = atomic_exchange(&s->notify_list, false);
	bool subs = atomic_exchange(&s->notify_subs, false);

	if (s->notify == NULL || (!other && !list && !subs))
		return;
	notify_refresh(s, other || list || subs, subs, true);
}

void imap_notify_push(struct imap_session *s, bool in_idle)
{
	struct imap_notify *n = s->notify;

	if (n == NULL || notify_check_overflow(s))
		return;
	if (s->view != NULL && n->selected && (n->selected_events & IMAP_NOTIFY_NEW)) {
		/* §6.1.2: SELECTED-DELAYED holds EXPUNGE back until a command
		 * that allows it; IDLE is one */
		bool allow_expunge = in_idle || !n->selected_delayed;

		if (imap_view_sync_ex(s, allow_expunge, (n->selected_events & IMAP_NOTIFY_FLAGS) != 0) < 0)
			log_warn("imap: %s: mailbox sync failed", s->account_name);
	}
	if (s->notify != NULL && s->state != IMAP_STATE_LOGOUT)
		notify_others(s);
	(void)notify_check_overflow(s);
}

void imap_notify_command_end(struct imap_session *s)
{
	const char *name = s->command != NULL ? s->command->name : "";

	if (s->notify == NULL || s->state == IMAP_STATE_LOGOUT)
		return;
	/* §5: no MailboxName / SubscriptionChange for what this client did
	 * itself: take the new names into the snapshot silently. (A change
	 * by someone else in the same instant is folded in with it.) */
	if (strcmp(name, "CREATE") == 0 || strcmp(name, "DELETE") == 0 ||
	    strcmp(name, "RENAME") == 0 || strcmp(name, "SUBSCRIBE") == 0 ||
	    strcmp(name, "UNSUBSCRIBE") == 0) {
		bool list = atomic_exchange(&s->notify_list, false);
		bool subs = atomic_exchange(&s->notify_subs, false);

		if (list || subs)
			notify_refresh(s, list, subs, false);
	}
	if (s->notify->own.count > 0)
		notify_absorb_own(s);
	/* the view sync before this call has seen the command's own messages */
	array_clear(&s->notify->own_uids);
	notify_others(s);
	(void)notify_check_overflow(s);
}

static int notify_uid_compare(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Binary search: a COPY of many messages into the selected mailbox must
 * not cost their square. own_uids is sorted first by the caller. */
static bool notify_uid_is_own(const struct imap_notify *n, uint32_t uid)
{
	return n->own_uids.count > 0 &&
	       bsearch(&uid, n->own_uids.items, n->own_uids.count, sizeof(uint32_t),
		       notify_uid_compare) != NULL;
}

void imap_notify_new_messages(struct imap_session *s, size_t first, size_t count)
{
	struct imap_notify *n = s->notify;
	struct imap_parser parser;
	struct imap_fetch_request *request;

	if (n == NULL || n->fetch_atts == NULL || !n->selected || s->view == NULL)
		return;
	imap_parser_init(&parser, s->cmd_arena, n->fetch_atts, strlen(n->fetch_atts));
	if (!imap_fetch_parse_items(&parser, &request))
		return; /* parsed once already at NOTIFY SET: cannot happen */
	/* §5.2: one FETCH per run of messages others added; none for what
	 * this client's own APPEND / COPY / MOVE put here */
	size_t end = first + count;
	if (n->own_uids.count > 1)
		qsort(n->own_uids.items, n->own_uids.count, sizeof(uint32_t), notify_uid_compare);
	for (size_t i = first; i < end;) {
		while (i < end && notify_uid_is_own(n, s->view->msgs.items[i].uid))
			i++;
		size_t run = i;
		while (i < end && !notify_uid_is_own(n, s->view->msgs.items[i].uid))
			i++;
		if (i == run)
			continue;
		/* 1: the client stopped reading; the caller's overflow check follows */
		int r = imap_fetch_unsolicited(s, request, run, i - run);
		if (r < 0)
			log_warn("imap: notify %s: fetching new messages failed", s->account_name);
		if (r != 0)
			return;
	}
}

void imap_notify_own_messages(struct imap_session *s, int64_t mailbox_id, const uint32_t *uids,
			      size_t count)
{
	if (s->notify == NULL)
		return;
	array_push(&s->notify->own, mailbox_id);
	if (s->view == NULL || s->view->mailbox_id != mailbox_id)
		return;
	for (size_t i = 0; i < count; i++)
		array_push(&s->notify->own_uids, uids[i]);
}

void imap_notify_free(struct imap_session *s)
{
	struct imap_notify *n = s->notify;

	atomic_store(&s->notify_active, false);
	s->notify = NULL;
	if (n == NULL)
		return;
	array_free(&n->own);
	array_free(&n->own_uids);
	arena_free(n->snap_arena);
	arena_free(n->arena);
	free(n);
}

/* ---- the command ------------------------------------------------------------- */

/* The parsed request into the session's settings: names decoded like any
 * mailbox argument (mUTF-7 unless UTF8=ACCEPT), fetch attributes kept as
 * text. NULL with a BAD already set for a name that does not decode. */
static struct imap_notify *notify_build(struct imap_session *s, struct imap_parser *p,
					const struct imap_notify_request *r)
{
	struct imap_notify *n = mem_zalloc(sizeof(*n));

	n->arena = arena_new();
	n->snap_arena = arena_new();
	n->selected = r->selected;
	n->selected_delayed = r->selected_delayed;
	n->selected_events = r->selected_events;
	if (r->fetch_atts != NULL)
		n->fetch_atts = arena_strndup(n->arena, r->fetch_atts, r->fetch_atts_len);
	n->groups = arena_zalloc(n->arena, (r->group_count + 1) * sizeof(*n->groups));
	n->group_count = r->group_count;
	for (size_t i = 0; i < r->group_count; i++) {
		const struct imap_notify_group *from = &r->groups[i];
		struct notify_group *g = &n->groups[i];

		g->filter = from->filter;
		g->events = from->events;
		g->names = arena_zalloc(n->arena, (from->name_count + 1) * sizeof(char *));
		g->name_count = from->name_count;
		for (size_t k = 0; k < from->name_count; k++) {
			char *name = imap_decode_mailbox(s, p, from->names[k], from->name_lens[k]);

			if (name == NULL) {
				arena_free(n->snap_arena);
				arena_free(n->arena);
				free(n);
				return NULL;
			}
			g->names[k] = arena_strdup(n->arena, name);
		}
	}
	return n;
}

/* NOTIFY SET STATUS (§3.1): a STATUS for each watched mailbox other than
 * the selected one. */
static void notify_initial_status(struct imap_session *s)
{
	struct imap_notify *n = s->notify;
	int64_t selected = notify_selected_id(s);

	for (size_t i = 0; i < n->known_count; i++) {
		const struct notify_mailbox *m = &n->known[i];
		unsigned items = notify_initial_items(notify_events_for(n, m->name));

		if (items != 0 && m->have_status && m->id != selected)
			notify_write_status(s, m->name, &m->status, items);
	}
}

static enum imap_cmd_status cmd_notify(struct imap_session *s, struct imap_parser *p, bool uid)
{
	struct imap_notify_request *r;
	struct imap_notify *n;

	if (!imap_notify_parse(p, &r) || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (r->bad_event) {
		imap_cmd_no(s, NOTIFY_BADEVENT " Event not supported");
		return IMAP_CMD_DONE;
	}
	if (r->bad != NULL) {
		imap_cmd_bad(s, "%s", r->bad);
		return IMAP_CMD_DONE;
	}
	if (r->too_much) {
		imap_cmd_no(s, "[NOTIFICATIONOVERFLOW] MessageNew pushes message text only with "
			    "<0.%d> or less", IMAP_FETCH_PUSH_TEXT_MAX);
		return IMAP_CMD_DONE;
	}
	if (r->none) {
		imap_notify_free(s);
		imap_cmd_ok(s, "NOTIFY completed");
		return IMAP_CMD_DONE;
	}
	if ((n = notify_build(s, p, r)) == NULL)
		return imap_cmd_syntax(s, p);
	/* §3.1: SET replaces what was in force */
	imap_notify_free(s);
	s->notify = n;
	atomic_store(&s->notify_other, false);
	atomic_store(&s->notify_list, false);
	atomic_store(&s->notify_subs, false);
	atomic_store(&s->notify_active, true);
	notify_refresh(s, true, true, false);
	if (r->status)
		notify_initial_status(s);
	/* the implicit NOOP of §3.1 is the view sync before the tagged OK */
	imap_cmd_ok(s, "NOTIFY completed");
	return IMAP_CMD_DONE;
}

#define AUTHED (IMAP_STATE_AUTHENTICATED | IMAP_STATE_SELECTED)

const struct imap_command imap_cmd_def_notify = { "NOTIFY", AUTHED, 0, cmd_notify };
