/*
 * view: the selected mailbox as the client knows it, and keeping it in step
 * with the store (DESIGN.md rules 3 and 4).
 *
 * The view is an array indexed by sequence number. Other sessions' changes
 * arrive as a bus notification; imap_view_sync() then reads what changed
 * since the view's MODSEQ (one query) and tells the client: EXPUNGE only
 * where RFC 9051 §7.5.1 allows it (never during FETCH, STORE or SEARCH: a
 * message expunged meanwhile stays in the view, marked, until the next
 * command that may send EXPUNGE), then EXISTS, then FETCH FLAGS.
 */
#include "imap/session.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"

#include <stdlib.h>
#include <string.h>

typedef ARRAY(uint32_t) view_u32_array;

long imap_view_find_uid(const struct imap_view *view, uint32_t uid)
{
	size_t lo = 0, hi = view->msgs.count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t m = view->msgs.items[mid].uid;
		if (m == uid)
			return (long)mid;
		if (m < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* First index whose uid is >= uid. */
static size_t view_lower_bound(const struct imap_view *view, uint32_t uid)
{
	size_t lo = 0, hi = view->msgs.count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (view->msgs.items[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool view_keywords_equal(const char *a, const char *b)
{
	if (a == NULL || *a == '\0')
		return b == NULL || *b == '\0';
	return b != NULL && strcmp(a, b) == 0;
}

void imap_view_set_known(struct imap_view *view, size_t index, unsigned flags, uint64_t modseq,
			 const char *keywords)
{
	struct imap_msg *m = &view->msgs.items[index];

	m->flags = flags;
	if (modseq > m->modseq)
		m->modseq = modseq;
	if (!view_keywords_equal(m->keywords, keywords)) {
		free(m->keywords);
		m->keywords = keywords != NULL && *keywords != '\0' ? mem_strdup(keywords) : NULL;
	}
}

/* A half-open interval of view indexes. */
struct view_span {
	size_t lo, hi;
};

static int view_cmp_span(const void *a, const void *b)
{
	const struct view_span *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* One range, '*' already resolved, as the indexes it names. */
static struct view_span view_range_span(const struct imap_view *view, uint32_t lo, uint32_t hi,
					bool uid)
{
	struct view_span span;

	if (lo > hi) {
		uint32_t t = lo;
		lo = hi;
		hi = t;
	}
	if (!uid) {
		size_t count = view->msgs.count;
		span.lo = lo == 0 ? 0 : (size_t)lo - 1;
		span.hi = hi < count ? hi : count;
	} else {
		span.lo = view_lower_bound(view, lo);
		span.hi = hi == UINT32_MAX ? view->msgs.count : view_lower_bound(view, hi + 1);
	}
	if (span.hi < span.lo)
		span.hi = span.lo;
	return span;
}

void imap_saved_set(struct imap_session *s, const uint32_t *uids, size_t count)
{
	free(s->saved_uids);
	s->saved_uids = NULL;
	s->saved_count = 0;
	if (count == 0)
		return;
	s->saved_uids = mem_alloc(count * sizeof(uint32_t));
	memcpy(s->saved_uids, uids, count * sizeof(uint32_t));
	s->saved_count = count;
}

/* "$" (RFC 5182 §2.1): the saved messages still in the view, ascending. */
static uint32_t *view_resolve_saved(struct imap_session *s, size_t *count_r)
{
	uint32_t *result = arena_alloc(s->cmd_arena, (s->saved_count + 1) * sizeof(uint32_t));
	size_t n = 0;

	for (size_t i = 0; i < s->saved_count; i++) {
		long idx = imap_view_find_uid(s->view, s->saved_uids[i]);
		if (idx >= 0)
			result[n++] = (uint32_t)idx;
	}
	*count_r = n;
	return n > 0 ? result : NULL;
}

/* Ranges become index intervals, sorted and merged, then each index is
 * written once: O(r log r + n) however the client overlaps its ranges
 * ("1:*,1:*,..." must not cost ranges x messages). */
uint32_t *imap_view_resolve(struct imap_session *s, const struct imap_seqset *set, bool uid,
			    size_t *count_r)
{
	struct imap_view *view = s->view;
	uint32_t star;
	size_t n = 0, total = 0;

	*count_r = 0;
	if (view != NULL && set->saved)
		return view_resolve_saved(s, count_r);
	if (view == NULL || view->msgs.count == 0 || set->count == 0)
		return NULL;
	/* RFC 9051 §9: "*" is the largest number in use. */
	star = uid ? view->msgs.items[view->msgs.count - 1].uid : (uint32_t)view->msgs.count;
	struct view_span *spans = arena_alloc(s->cmd_arena, set->count * sizeof(*spans));
	for (size_t i = 0; i < set->count; i++) {
		uint32_t lo = set->ranges[i].lo == UINT32_MAX ? star : set->ranges[i].lo;
		uint32_t hi = set->ranges[i].hi == UINT32_MAX ? star : set->ranges[i].hi;
		spans[i] = view_range_span(view, lo, hi, uid);
	}
	qsort(spans, set->count, sizeof(*spans), view_cmp_span);
	for (size_t i = 0; i < set->count; i++) {
		if (spans[i].lo >= spans[i].hi)
			continue;
		if (n > 0 && spans[i].lo <= spans[n - 1].hi) {
			if (spans[i].hi > spans[n - 1].hi)
				spans[n - 1].hi = spans[i].hi;
		} else {
			spans[n++] = spans[i];
		}
	}
	for (size_t i = 0; i < n; i++)
		total += spans[i].hi - spans[i].lo;
	if (total == 0)
		return NULL;
	uint32_t *result = arena_alloc(s->cmd_arena, total * sizeof(uint32_t));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = spans[i].lo; j < spans[i].hi; j++)
			result[k++] = (uint32_t)j;
	}
	*count_r = total;
	return result;
}

/* RFC 9051 §9: seq-number = nz-number / "*"; sets are comma-separated
 * numbers and ranges. "$" is the saved search result (RFC 5182). */
bool imap_parse_seqset(struct imap_parser *parser, struct imap_seqset *set_r)
{
	ARRAY(struct imap_range) ranges = ARRAY_INIT;
	bool ok = true;

	memset(set_r, 0, sizeof(*set_r));
	if (imap_peek_char(parser, '$')) {
		parser->p++;
		set_r->saved = true;
		return true;
	}
	do {
		struct imap_range r;
		uint32_t *ends[2] = { &r.lo, &r.hi };
		for (int k = 0; k < 2 && ok; k++) {
			if (imap_peek_char(parser, '*')) {
				parser->p++;
				*ends[k] = UINT32_MAX;
			} else if (!imap_parse_number(parser, ends[k]) || *ends[k] == 0) {
				ok = imap_parser_fail(parser, "Invalid sequence set");
			}
			if (k == 0 && !imap_peek_char(parser, ':')) {
				r.hi = r.lo;
				break;
			}
			if (k == 0)
				parser->p++;
		}
		if (ok)
			array_push(&ranges, r);
	} while (ok && imap_peek_char(parser, ',') && parser->p++);
	if (!ok) {
		array_free(&ranges);
		return false;
	}
	set_r->ranges = arena_alloc(parser->arena, ranges.count * sizeof(struct imap_range));
	memcpy(set_r->ranges, ranges.items, ranges.count * sizeof(struct imap_range));
	set_r->count = ranges.count;
	array_free(&ranges);
	return true;
}

/* ---- sync ------------------------------------------------------------------ */

/* Apply one store change to the view; note UIDs whose flags the client must
 * hear about. */
static void view_apply_changed(struct imap_view *view, const struct store_message_state *c,
			       view_u32_array *flag_uids)
{
	long idx = imap_view_find_uid(view, c->uid);

	if (idx < 0) {
		uint32_t last = view->msgs.count ? view->msgs.items[view->msgs.count - 1].uid : 0;
		if (c->uid <= last)
			return; /* expunged before we saw it; UIDs never come back */
		struct imap_msg m = { .uid = c->uid, .flags = c->flags, .modseq = c->modseq };
		if (c->keywords != NULL && *c->keywords != '\0')
			m.keywords = mem_strdup(c->keywords);
		array_push(&view->msgs, m);
		return;
	}
	struct imap_msg *m = &view->msgs.items[idx];
	if (m->expunged)
		return;
	if (m->flags != c->flags || !view_keywords_equal(m->keywords, c->keywords)) {
		imap_view_set_known(view, (size_t)idx, c->flags, c->modseq, c->keywords);
		array_push(flag_uids, c->uid);
	} else if (c->modseq > m->modseq) {
		m->modseq = c->modseq;
	}
}

static int view_fetch_changes(struct imap_session *s, view_u32_array *flag_uids)
{
	struct imap_view *view = s->view;
	struct store_changes ch;
	const char *error;

	int r = store_message_changes(s->store, view->mailbox_id, view->modseq, s->cmd_arena, &ch,
				      &error);
	if (r == STORE_ENOTFOUND) {
		/* Another session deleted the selected mailbox. RFC 9051 has
		 * no response for that; like Dovecot, say BYE and close. */
		imap_untagged(s, "BYE Selected mailbox was deleted");
		s->state = IMAP_STATE_LOGOUT;
		if (s->conn != NULL && s->mode != IMAP_INPUT_BUSY)
			conn_close(s->conn);
		return 0;
	}
	if (r < 0) {
		log_warn("imap: changes of %s: %s", view->name, error);
		return -1;
	}
	for (size_t i = 0; i < ch.expunged_count; i++) {
		long idx = imap_view_find_uid(view, ch.expunged[i]);
		if (idx >= 0 && !view->msgs.items[idx].expunged) {
			view->msgs.items[idx].expunged = true;
			view->has_expunged = true;
		}
	}
	/* A foreign mailbox: flags as this user has them (shared.c). */
	if (view->foreign && ch.changed_count > 0 && imap_view_load_seen(s) < 0)
		return -1;
	for (size_t i = 0; i < ch.changed_count; i++) {
		ch.changed[i].flags = imap_view_user_flags(view, ch.changed[i].uid,
							   ch.changed[i].flags);
		view_apply_changed(view, &ch.changed[i], flag_uids);
	}
	if (ch.highestmodseq > view->modseq)
		view->modseq = ch.highestmodseq;
	if (ch.uidnext > view->uidnext)
		view->uidnext = ch.uidnext;
	return 0;
}

/* EXPUNGE responses, ascending: each shifts the later numbers down by one,
 * which is what the client does too (RFC 9051 §7.5.1). After ENABLE
 * QRESYNC, one VANISHED with the UIDs instead (RFC 7162 §3.2.10.2). */
static void view_send_expunges(struct imap_session *s)
{
	struct imap_view *view = s->view;
	view_u32_array gone = ARRAY_INIT;
	size_t i = 0;

	while (i < view->msgs.count) {
		if (!view->msgs.items[i].expunged) {
			i++;
			continue;
		}
		if (s->qresync)
			array_push(&gone, view->msgs.items[i].uid);
		else
			imap_untagged(s, "%zu EXPUNGE", i + 1);
		if (view->msgs.items[i].flags_untold)
			view->flags_untold--;
		free(view->msgs.items[i].keywords);
		array_delete(&view->msgs, i);
		if (view->exists_told > 0)
			view->exists_told--;
	}
	if (gone.count > 0) {
		buf_append_str(&s->scratch, "* VANISHED ");
		imap_write_uidset(&s->scratch, gone.items, gone.count);
		buf_append_str(&s->scratch, "\r\n");
		imap_flush_scratch(s);
	}
	array_free(&gone);
	view->has_expunged = false;
}

/* An unsolicited FETCH for a flag change: UID always, MODSEQ once the client
 * is CONDSTORE-aware (RFC 7162 §3.1, §3.2.4). */
void imap_view_send_flags(struct imap_session *s, size_t index)
{
	const struct imap_msg *m = &s->view->msgs.items[index];

	buf_printf(&s->scratch, "* %zu FETCH (UID %u FLAGS ", index + 1, m->uid);
	imap_write_flags(&s->scratch, m->flags, m->keywords);
	if (s->condstore)
		buf_printf(&s->scratch, " MODSEQ (%llu)", (unsigned long long)m->modseq);
	buf_append_str(&s->scratch, ")\r\n");
	imap_flush_scratch(s);
}

int imap_view_sync(struct imap_session *s, bool allow_expunge)
{
	return imap_view_sync_ex(s, allow_expunge, true);
}

/* Flag changes held back earlier, then those of this sync, each once, in
 * sequence order; or, when !send, held back for later. */
static void view_flags_out(struct imap_session *s, const view_u32_array *flag_uids, bool send)
{
	struct imap_view *view = s->view;

	for (size_t i = 0; i < flag_uids->count; i++) {
		long idx = imap_view_find_uid(view, flag_uids->items[i]);
		if (idx >= 0 && !view->msgs.items[idx].flags_untold) {
			view->msgs.items[idx].flags_untold = true;
			view->flags_untold++;
		}
	}
	if (!send || view->flags_untold == 0)
		return;
	for (size_t i = 0; i < view->msgs.count && view->flags_untold > 0; i++) {
		struct imap_msg *m = &view->msgs.items[i];
		if (!m->flags_untold)
			continue;
		m->flags_untold = false;
		view->flags_untold--;
		if (!m->expunged)
			imap_view_send_flags(s, i);
	}
	view->flags_untold = 0;
}

int imap_view_sync_ex(struct imap_session *s, bool allow_expunge, bool send_flags)
{
	struct imap_view *view = s->view;
	view_u32_array flag_uids = ARRAY_INIT;
	size_t first_new;
	int ret = 0;

	if (view == NULL)
		return 0;
	bool changed = atomic_exchange(&s->notified, false);

	if (changed)
		ret = view_fetch_changes(s, &flag_uids);
	if (s->state == IMAP_STATE_LOGOUT) {
		array_free(&flag_uids);
		return ret;
	}
	/* RFC 5267 §4.3.4: REMOVEFROM while the numbers are still valid */
	if (changed && ret == 0 && s->contexts != NULL)
		imap_context_before_expunge(s);
	if (allow_expunge && view->has_expunged)
		view_send_expunges(s);
	first_new = view->exists_told;
	if (view->msgs.count != view->exists_told) {
		imap_untagged(s, "%zu EXISTS", view->msgs.count);
		view->exists_told = (uint32_t)view->msgs.count;
	}
	/* RFC 5465 §5.1, §5.2: flag FETCHes, then the new messages' FETCH */
	view_flags_out(s, &flag_uids, send_flags);
	array_free(&flag_uids);
	/* RFC 5267 §4.3.3: ADDTO after EXISTS; RFC 5465 §5.2: before the
	 * new messages' FETCH */
	if (s->contexts != NULL)
		imap_context_after_exists(s, first_new);
	if (view->msgs.count > first_new)
		imap_notify_new_messages(s, first_new, view->msgs.count - first_new);
	return ret;
}
