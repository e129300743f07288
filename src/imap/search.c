/*
 * search: matching messages against a parsed query, and the SEARCH / UID
 * SEARCH executor (RFC 9051 §6.4.4; the parser is in search-parse.c).
 *
 * The executor makes one pass over the mailbox with store_message_iterate,
 * which hands over the state and the search fields kept at save time
 * (DESIGN.md rule 2): flags, dates, size and the decoded From/To/Cc/Bcc/
 * Subject. BODY and TEXT keys are each answered once by the full-text index
 * (store_search_text) before the pass. Keys that need the raw header
 * (HEADER, and SENT* close to a day boundary, since the store keeps the
 * Date: header in UTC and the RFC wants the day in the sender's zone)
 * answer MAYBE in that pass; only the messages left undecided get their
 * header read, in a second pass.
 *
 * Results are kept as an array of view indexes, so SEARCH, ESEARCH (RETURN
 * options) and later SORT/SEARCHRES can all be written from it.
 */
#include "imap/search.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/str.h"
#include "mime/mime.h"

/* A zone further than this from UTC moves a date by more than one day;
 * RFC 5322 zones in real mail are within +-14 hours. */
#define SEARCH_DAY_SLACK 1
#define SEARCH_SECONDS_PER_DAY 86400

static enum imap_search_result search_match_key(const struct imap_search_key *key,
						const struct imap_search_message *m,
						struct arena *arena);

/* Floor division: dates before 1970 still land on the right day. */
static int64_t search_day_of(int64_t time, int tz_minutes)
{
	int64_t t = time + (int64_t)tz_minutes * 60;
	int64_t day = t / SEARCH_SECONDS_PER_DAY;

	if (t % SEARCH_SECONDS_PER_DAY < 0)
		day--;
	return day;
}

/* A known answer; MAYBE only comes from keys that lack data. */
static enum imap_search_result search_bool(bool b)
{
	return b ? IMAP_SEARCH_YES : IMAP_SEARCH_NO;
}

/* BEFORE / ON / SINCE and their SENT forms, on a day number. */
static bool search_day_matches(enum imap_search_kind kind, int64_t day, int64_t key_day)
{
	switch (kind) {
	case IMAP_SEARCH_BEFORE:
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SAVEDBEFORE:
		return day < key_day;
	case IMAP_SEARCH_ON:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SAVEDON:
		return day == key_day;
	default:
		return day >= key_day;
	}
}

/* Is n in the set? "*" is max (RFC 9051 §9 seq-number); ranges may be
 * given high to low. "$" without a saved result matches nothing. */
static bool search_set_contains_scan(const struct imap_seqset *set, uint32_t n, uint32_t max)
{
	for (size_t i = 0; i < set->count; i++) {
		uint32_t lo = set->ranges[i].lo == UINT32_MAX ? max : set->ranges[i].lo;
		uint32_t hi = set->ranges[i].hi == UINT32_MAX ? max : set->ranges[i].hi;
		if (lo > hi) {
			uint32_t t = lo;
			lo = hi;
			hi = t;
		}
		if (n >= lo && n <= hi)
			return true;
	}
	return false;
}

/* The same from the index built at parse time: "x:*" covers x..max when
 * x <= max and max..x otherwise, so the smallest and the largest x decide;
 * the other ranges are found by binary search. */
static bool search_set_contains(const struct imap_search_key *key, uint32_t n, uint32_t max)
{
	size_t lo = 0, hi = key->set_fixed_count;

	if (!key->set_indexed)
		return search_set_contains_scan(&key->set, n, max);
	if (key->set_star_self && n == max)
		return true;
	if (key->set_star_any) {
		if (key->set_star_min <= max && n >= key->set_star_min && n <= max)
			return true;
		if (key->set_star_max >= max && n >= max && n <= key->set_star_max)
			return true;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct imap_range *r = &key->set_fixed[mid];
		if (n < r->lo)
			hi = mid;
		else if (n > r->hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* Keywords are case-insensitive atoms in a space-separated list. */
static bool search_has_keyword(const char *keywords, const char *keyword, size_t len)
{
	const char *p = keywords;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ' ');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == len && str_eq_nocase_n(p, n, keyword))
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

/* Case-insensitive substring: both sides folded the same way. */
static bool search_text_contains(const char *hay, size_t hay_len, const struct imap_search_key *key,
				 struct arena *arena)
{
	size_t folded_len;
	char *folded;

	if (key->value_len == 0)
		return true;
	folded = imap_search_fold(arena, hay, hay_len, &folded_len);
	return memmem(folded, folded_len, key->value, key->value_len) != NULL;
}

/* FROM / TO / CC / BCC / SUBJECT against the decoded fields (RFC 9051
 * §6.4.4: encoded words are decoded before comparing). */
static enum imap_search_result search_match_field(const char *field,
						  const struct imap_search_key *key,
						  struct arena *arena)
{
	if (field == NULL)
		return IMAP_SEARCH_NO;
	return search_bool(search_text_contains(field, strlen(field), key, arena));
}

/* The field HEADER names when parse-at-save kept it (rule 2), else NULL
 * with *kept false. Each is RFC 2047-decoded from the first occurrence,
 * unfolded, exactly what the header read below computes; the address
 * fields hold every occurrence joined with ", " (mime-header.c), so a
 * message with two Cc: lines matches on either one, as "a header with the
 * field-name that contains the string" (RFC 9051 §6.4.4) says. */
static const char *search_stored_field(const struct imap_search_message *m, const char *name,
				       bool *kept_r)
{
	static const struct {
		const char *name;
		size_t offset;
	} fields[] = {
		{ "Bcc", offsetof(struct imap_search_message, bcc) },
		{ "Cc", offsetof(struct imap_search_message, cc) },
		{ "From", offsetof(struct imap_search_message, from) },
		{ "In-Reply-To", offsetof(struct imap_search_message, in_reply_to) },
		{ "Message-ID", offsetof(struct imap_search_message, message_id) },
		{ "References", offsetof(struct imap_search_message, references) },
		{ "Subject", offsetof(struct imap_search_message, subject) },
		{ "To", offsetof(struct imap_search_message, to) },
	};

	*kept_r = false;
	if (!m->fields_stored)
		return NULL;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (str_eq_nocase(name, fields[i].name)) {
			*kept_r = true;
			return *(const char *const *)((const char *)m + fields[i].offset);
		}
	}
	return NULL;
}

/* HEADER name string: the field must exist; "" then matches any value.
 * The fields kept at save time are matched without reading the header
 * (SEARCH HEADER SUBJECT was 20x Dovecot's time re-reading every blob). */
static enum imap_search_result search_match_header(const struct imap_search_key *key,
						   const struct imap_search_message *m,
						   struct arena *arena)
{
	char *value, *decoded;
	bool kept;
	const char *stored = search_stored_field(m, key->field, &kept);

	if (kept) {
		if (stored == NULL)
			return IMAP_SEARCH_NO;
		return search_bool(search_text_contains(stored, strlen(stored), key, arena));
	}
	if (m->header == NULL)
		return IMAP_SEARCH_MAYBE;
	value = mime_header_get(arena, m->header, m->header_len, key->field);
	if (value == NULL)
		return IMAP_SEARCH_NO;
	decoded = mime_decode_header(arena, value, strlen(value));
	return search_bool(search_text_contains(decoded, strlen(decoded), key, arena));
}

/* SENTBEFORE / SENTON / SENTSINCE: RFC 9051 §6.4.4 compares the day of the
 * Date: header "disregarding time and timezone", i.e. the day as the sender
 * wrote it. With the header, that day is exact; without it, the UTC time
 * the store kept is within SEARCH_DAY_SLACK days of it, which decides most
 * messages and leaves the rest MAYBE. */
static enum imap_search_result search_match_sent(const struct imap_search_key *key,
						 const struct imap_search_message *m,
						 struct arena *arena)
{
	int64_t time;
	int tz;

	if (m->header != NULL) {
		char *date = mime_header_get(arena, m->header, m->header_len, "Date");
		if (date != NULL && mime_parse_date(date, &time, &tz) == 0)
			return search_bool(search_day_matches(key->kind, search_day_of(time, tz),
							      key->day));
	}
	if (!m->has_sent_date)
		return IMAP_SEARCH_NO;
	int64_t day = search_day_of(m->sent_date, 0);
	if (m->header != NULL)
		return search_bool(search_day_matches(key->kind, day, key->day));
	bool first = search_day_matches(key->kind, day - SEARCH_DAY_SLACK, key->day);
	for (int64_t d = day - SEARCH_DAY_SLACK + 1; d <= day + SEARCH_DAY_SLACK; d++) {
		if (search_day_matches(key->kind, d, key->day) != first)
			return IMAP_SEARCH_MAYBE;
	}
	return search_bool(first);
}

/* BODY / TEXT: binary search in the index's answer. */
static enum imap_search_result search_match_text(const struct imap_search_key *key, uint32_t uid)
{
	size_t lo = 0, hi = key->uid_count;

	if (!key->prepared)
		return IMAP_SEARCH_MAYBE;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (key->uids[mid] == uid)
			return IMAP_SEARCH_YES;
		if (key->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return IMAP_SEARCH_NO;
}

/* Three-valued AND / OR over the children; stops at a deciding answer. */
static enum imap_search_result search_match_children(const struct imap_search_key *key,
						     const struct imap_search_message *m,
						     struct arena *arena, bool any)
{
	enum imap_search_result decisive = any ? IMAP_SEARCH_YES : IMAP_SEARCH_NO;
	enum imap_search_result result = any ? IMAP_SEARCH_NO : IMAP_SEARCH_YES;

	for (const struct imap_search_key *c = key->children; c != NULL; c = c->next) {
		enum imap_search_result r = search_match_key(c, m, arena);
		if (r == decisive)
			return r;
		if (r == IMAP_SEARCH_MAYBE)
			result = IMAP_SEARCH_MAYBE;
	}
	return result;
}

/* Keys on the message's state: flags, keywords, numbers, sets, dates. */
static enum imap_search_result search_match_state(const struct imap_search_key *key,
						  const struct imap_search_message *m)
{
	switch (key->kind) {
	case IMAP_SEARCH_ALL:
		return IMAP_SEARCH_YES;
	case IMAP_SEARCH_SEQSET:
		return search_bool(!key->set.saved && search_set_contains(key, m->seq, m->max_seq));
	case IMAP_SEARCH_UIDSET:
		return search_bool(!key->set.saved && search_set_contains(key, m->uid, m->max_uid));
	case IMAP_SEARCH_FLAGS_SET:
		return search_bool((m->flags & key->flags) == key->flags);
	case IMAP_SEARCH_FLAGS_UNSET:
		return search_bool((m->flags & key->flags) == 0);
	case IMAP_SEARCH_KEYWORD:
		return search_bool(search_has_keyword(m->keywords, key->value, key->value_len));
	case IMAP_SEARCH_UNKEYWORD:
		return search_bool(!search_has_keyword(m->keywords, key->value, key->value_len));
	case IMAP_SEARCH_LARGER:
		return search_bool(m->size > key->number);
	case IMAP_SEARCH_SMALLER:
		return search_bool(m->size < key->number);
	case IMAP_SEARCH_MODSEQ:
		return search_bool(m->modseq >= key->number);
	case IMAP_SEARCH_OLDER: /* RFC 5032 §2 */
		return search_bool(m->internal_date < m->now - (int64_t)key->number);
	case IMAP_SEARCH_YOUNGER:
		return search_bool(m->internal_date >= m->now - (int64_t)key->number);
	case IMAP_SEARCH_SAVEDBEFORE:
	case IMAP_SEARCH_SAVEDON:
	case IMAP_SEARCH_SAVEDSINCE:
		return search_bool(m->save_date > 0 &&
				   search_day_matches(key->kind, search_day_of(m->save_date, 0),
						      key->day));
	case IMAP_SEARCH_BEFORE:
	case IMAP_SEARCH_ON:
	case IMAP_SEARCH_SINCE:
		/* RFC 9051 §6.4.4: the internal date's own day */
		return search_bool(search_day_matches(
			key->kind, search_day_of(m->internal_date, m->internal_date_tz), key->day));
	default:
		return IMAP_SEARCH_NO;
	}
}

/* One key of any kind: operators recurse (depth bounded at parse time). */
static enum imap_search_result search_match_key(const struct imap_search_key *key,
						const struct imap_search_message *m,
						struct arena *arena)
{
	enum imap_search_result r;

	switch (key->kind) {
	case IMAP_SEARCH_AND:
		return search_match_children(key, m, arena, false);
	case IMAP_SEARCH_OR:
		return search_match_children(key, m, arena, true);
	case IMAP_SEARCH_NOT:
		r = search_match_key(key->children, m, arena);
		return r == IMAP_SEARCH_MAYBE ? r : search_bool(r == IMAP_SEARCH_NO);
	case IMAP_SEARCH_NONE:
		return IMAP_SEARCH_NO;
	case IMAP_SEARCH_FROM:
		return search_match_field(m->from, key, arena);
	case IMAP_SEARCH_TO:
		return search_match_field(m->to, key, arena);
	case IMAP_SEARCH_CC:
		return search_match_field(m->cc, key, arena);
	case IMAP_SEARCH_BCC:
		return search_match_field(m->bcc, key, arena);
	case IMAP_SEARCH_SUBJECT:
		return search_match_field(m->subject, key, arena);
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT:
		return search_match_text(key, m->uid);
	case IMAP_SEARCH_HEADER:
		return search_match_header(key, m, arena);
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
		return search_match_sent(key, m, arena);
	default:
		return search_match_state(key, m);
	}
}

enum imap_search_result imap_search_match_message(const struct imap_search_query *query,
						  const struct imap_search_message *m,
						  struct arena *arena)
{
	return search_match_key(query->root, m, arena);
}

bool imap_search_match(const struct imap_search_query *query, const struct imap_search_message *m,
		       struct arena *arena)
{
	return imap_search_match_message(query, m, arena) == IMAP_SEARCH_YES;
}

/* Walk the tree (bounded by IMAP_SEARCH_MAX_DEPTH at parse time). */
static int search_prepare_key(struct imap_search_key *key, imap_search_text_fn *lookup,
			      void *context)
{
	for (struct imap_search_key *c = key->children; c != NULL; c = c->next) {
		if (search_prepare_key(c, lookup, context) < 0)
			return -1;
	}
	if (key->kind != IMAP_SEARCH_BODY && key->kind != IMAP_SEARCH_TEXT)
		return 0;
	uint32_t *uids;
	size_t count;
	if (lookup(context, key->value, key->kind == IMAP_SEARCH_TEXT, &uids, &count) < 0)
		return -1;
	key->uids = uids;
	key->uid_count = count;
	key->prepared = true;
	return 0;
}

int imap_search_prepare(struct imap_search_query *query, imap_search_text_fn *lookup,
			void *context)
{
	return search_prepare_key(query->root, lookup, context);
}

/* ---- the executor ------------------------------------------------------------ */

typedef ARRAY(uint32_t) search_index_array;

struct search_run {
	struct imap_session *session;
	struct imap_search_query *query;
	struct arena *arena;     /* per message, reset after each */
	size_t cursor;           /* view index: the store iterates by ascending uid */
	search_index_array found;
	search_index_array maybe;
	uint64_t max_modseq;     /* highest MODSEQ among the matches (RFC 7162 §3.1.6) */
	imap_search_found_fn *on_found; /* SORT / THREAD: keep each match's fields */
	void *found_context;
};

/* The full-text index, for imap_search_prepare. */
static int search_lookup_text(void *context, const char *needle, bool include_headers,
			      uint32_t **uids_r, size_t *count_r)
{
	struct imap_session *s = context;
	const char *error;

	if (store_search_text(s->store, s->view->mailbox_id, needle, include_headers, s->cmd_arena,
			      uids_r, count_r, &error) < 0) {
		log_warn("imap: search text in %s: %s", s->view->name, error);
		return -1;
	}
	return 0;
}

/* The matcher's view of a stored message at view index idx. */
static void search_fill_message(const struct imap_view *view, size_t idx,
				const struct store_message_info *info,
				struct imap_search_message *m)
{
	memset(m, 0, sizeof(*m));
	m->seq = (uint32_t)idx + 1;
	m->uid = info->uid;
	m->max_seq = (uint32_t)view->msgs.count;
	m->max_uid = view->msgs.count ? view->msgs.items[view->msgs.count - 1].uid : 0;
	m->flags = imap_view_user_flags(view, info->uid, info->flags);
	m->keywords = info->keywords;
	m->internal_date = info->internal_date;
	m->internal_date_tz = info->internal_date_tz;
	m->has_sent_date = info->has_sent_date;
	m->sent_date = info->sent_date;
	m->size = info->size;
	m->modseq = info->modseq;
	m->save_date = info->save_date;
	m->now = (int64_t)time(NULL);
	m->from = info->from;
	m->to = info->to;
	m->cc = info->cc;
	m->bcc = info->bcc;
	m->subject = info->subject;
	m->message_id = info->message_id;
	m->in_reply_to = info->in_reply_to;
	m->references = info->references;
	m->fields_stored = true;
}

/* store_message_iterate callback: messages the client knows (in the view,
 * not expunged meanwhile) are matched; others are skipped. */
static int search_iterate_one(void *context, const struct store_message_info *info)
{
	struct search_run *run = context;
	const struct imap_view *view = run->session->view;
	struct imap_search_message m;

	while (run->cursor < view->msgs.count && view->msgs.items[run->cursor].uid < info->uid)
		run->cursor++;
	if (run->cursor >= view->msgs.count || view->msgs.items[run->cursor].uid != info->uid ||
	    view->msgs.items[run->cursor].expunged)
		return 0;
	search_fill_message(view, run->cursor, info, &m);
	switch (imap_search_match_message(run->query, &m, run->arena)) {
	case IMAP_SEARCH_YES:
		array_push(&run->found, (uint32_t)run->cursor);
		if (info->modseq > run->max_modseq)
			run->max_modseq = info->modseq;
		if (run->on_found != NULL)
			run->on_found(run->found_context, (uint32_t)run->cursor, info);
		break;
	case IMAP_SEARCH_MAYBE:
		array_push(&run->maybe, (uint32_t)run->cursor);
		break;
	case IMAP_SEARCH_NO:
		break;
	}
	arena_reset(run->arena);
	return 0;
}

/* Second pass: read the header of one undecided message and decide. */
static int search_decide_maybe(struct search_run *run, uint32_t idx)
{
	struct imap_session *s = run->session;
	struct store_message_info info;
	struct imap_search_message m;
	const char *error;
	int ret;

	ret = store_message_get(s->store, s->view->mailbox_id, s->view->msgs.items[idx].uid,
				STORE_INFO_STRUCTURE | STORE_INFO_SEARCH, run->arena, &info, &error);
	if (ret == STORE_ENOTFOUND)
		return 0;
	if (ret == 0)
		ret = store_blob_read(s->store, info.blob_id, 0, info.header_size, run->arena,
				      &m.header, &m.header_len, &error);
	if (ret < 0) {
		log_warn("imap: search: message %u of %s: %s", s->view->msgs.items[idx].uid,
			 s->view->name, error);
		return -1;
	}
	const char *header = m.header;
	size_t header_len = m.header_len;
	search_fill_message(s->view, idx, &info, &m);
	m.header = header;
	m.header_len = header_len;
	if (imap_search_match(run->query, &m, run->arena)) {
		array_push(&run->found, idx);
		if (info.modseq > run->max_modseq)
			run->max_modseq = info.modseq;
		if (run->on_found != NULL)
			run->on_found(run->found_context, idx, &info);
	}
	arena_reset(run->arena);
	return 0;
}

/* qsort order for view indexes (the second pass appends out of order). */
static int search_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Both passes; run->found ends sorted by view index. */
static int search_execute(struct search_run *run)
{
	struct imap_session *s = run->session;
	const char *error;

	if (imap_search_prepare(run->query, search_lookup_text, s) < 0)
		return -1;
	if (store_message_iterate(s->store, s->view->mailbox_id, search_iterate_one, run,
				  &error) < 0) {
		log_warn("imap: search in %s: %s", s->view->name, error);
		return -1;
	}
	for (size_t i = 0; i < run->maybe.count; i++) {
		if (search_decide_maybe(run, run->maybe.items[i]) < 0)
			return -1;
	}
	if (run->maybe.count > 0 && run->found.count > 1)
		qsort(run->found.items, run->found.count, sizeof(uint32_t), search_cmp_u32);
	return 0;
}

static void search_bind_saved(struct imap_session *s, struct imap_search_key *key);

int imap_search_execute(struct imap_session *s, struct imap_search_query *query,
			imap_search_found_fn *on_found, void *context, uint32_t **indexes_r,
			size_t *count_r, uint64_t *max_modseq_r)
{
	struct search_run run = { .session = s, .query = query, .on_found = on_found,
				  .found_context = context };
	int ret;

	search_bind_saved(s, query->root); /* "$" (RFC 5182 §2.2) */
	run.arena = arena_new();
	ret = search_execute(&run);
	if (ret == 0 && indexes_r != NULL) {
		*indexes_r = arena_alloc(s->cmd_arena, (run.found.count + 1) * sizeof(uint32_t));
		if (run.found.count > 0)
			memcpy(*indexes_r, run.found.items, run.found.count * sizeof(uint32_t));
	}
	if (count_r != NULL)
		*count_r = ret == 0 ? run.found.count : 0;
	if (max_modseq_r != NULL)
		*max_modseq_r = run.max_modseq;
	array_free(&run.found);
	array_free(&run.maybe);
	arena_free(run.arena);
	return ret;
}

/* The number the client sees for view index idx. */
static uint32_t search_number(const struct imap_session *s, uint32_t idx, bool uid)
{
	return uid ? s->view->msgs.items[idx].uid : idx + 1;
}

/* "* SEARCH 2 5 7" (RFC 3501 §7.2.5; obsolete-search-response in 9051),
 * flushed in pieces so a huge result does not build one huge buffer. */
static void search_write_numbers(struct imap_session *s, const search_index_array *found, bool uid,
				 uint64_t modseq)
{
	buf_append_str(&s->scratch, "* SEARCH");
	for (size_t i = 0; i < found->count; i++) {
		buf_printf(&s->scratch, " %u", search_number(s, found->items[i], uid));
		if (s->scratch.len > 16 * 1024)
			imap_flush_scratch(s);
	}
	/* RFC 7162 §3.1.6: a MODSEQ key adds the highest matching MODSEQ */
	if (modseq > 0 && found->count > 0)
		buf_printf(&s->scratch, " (MODSEQ %llu)", (unsigned long long)modseq);
	buf_append_str(&s->scratch, "\r\n");
	imap_flush_scratch(s);
}

/* A sequence-set of results [i, end), ranges joined: "2,5:7". */
static void search_write_set(struct imap_session *s, const search_index_array *found, size_t i,
			     size_t end, bool uid)
{
	bool first = true;

	while (i < end) {
		uint32_t lo = search_number(s, found->items[i], uid), hi = lo;
		while (i + 1 < end && search_number(s, found->items[i + 1], uid) == hi + 1) {
			hi++;
			i++;
		}
		buf_printf(&s->scratch, first ? "%u" : ",%u", lo);
		first = false;
		if (hi != lo)
			buf_printf(&s->scratch, ":%u", hi);
		if (s->scratch.len > 16 * 1024)
			imap_flush_scratch(s);
		i++;
	}
}

/* "* ESEARCH (TAG "t") [UID] MIN a MAX b COUNT n ALL set" (RFC 9051
 * §7.3.4, RFC 4731 §3.1); MIN, MAX, ALL are left out for no match. */
static void search_write_esearch(struct imap_session *s, const struct imap_search_query *query,
				 const search_index_array *found, bool uid, uint64_t modseq,
				 const char *mailbox, uint32_t uidvalidity)
{
	unsigned opts = query->return_options;
	struct buf *out = &s->scratch;

	buf_append_str(out, "* ESEARCH (TAG ");
	imap_write_string(out, s->tag != NULL ? s->tag : "", s->tag ? strlen(s->tag) : 0, false);
	if (mailbox != NULL) { /* RFC 7377 §2.1 correlators */
		buf_append_str(out, " MAILBOX ");
		imap_write_mailbox(s, out, mailbox);
		buf_printf(out, " UIDVALIDITY %u", uidvalidity);
	}
	buf_append_char(out, ')');
	if (uid)
		buf_append_str(out, " UID");
	if ((opts & IMAP_SEARCH_RETURN_MIN) && found->count > 0)
		buf_printf(out, " MIN %u", search_number(s, found->items[0], uid));
	if ((opts & IMAP_SEARCH_RETURN_MAX) && found->count > 0)
		buf_printf(out, " MAX %u", search_number(s, found->items[found->count - 1], uid));
	if (opts & IMAP_SEARCH_RETURN_COUNT)
		buf_printf(out, " COUNT %zu", found->count);
	if ((opts & IMAP_SEARCH_RETURN_ALL) && found->count > 0) {
		buf_append_str(out, " ALL ");
		imap_flush_scratch(s);
		search_write_set(s, found, 0, found->count, uid);
	}
	if (opts & IMAP_SEARCH_RETURN_PARTIAL) {
		/* RFC 9394 §3.1: the range as asked, then only its results, so a
		 * page of a huge result costs a page of output; NIL when none */
		size_t start, end;
		imap_partial_slice(&query->partial, found->count, &start, &end);
		buf_printf(out, " PARTIAL (%lld:%lld ", (long long)query->partial.first,
			   (long long)query->partial.last);
		if (start == end)
			buf_append_str(out, "NIL");
		else
			search_write_set(s, found, start, end, uid);
		buf_append_char(out, ')');
	}
	if (modseq > 0 && found->count > 0) /* RFC 7162 §3.1.10 */
		buf_printf(out, " MODSEQ %llu", (unsigned long long)modseq);
	buf_append_str(out, "\r\n");
	imap_flush_scratch(s);
}

/* RFC 5182 §2.1: SAVE keeps the matches as UIDs; a failed SEARCH empties
 * the saved result. With PARTIAL and no COUNT, only what the answer holds:
 * the page, and MIN / MAX when asked (RFC 9394 §3.2, table 1). */
static void search_save_result(struct imap_session *s, const struct imap_search_query *query,
			       const search_index_array *found)
{
	size_t n = found != NULL ? found->count : 0, start = 0, end = n, k = 0;
	unsigned opts = query->return_options;
	uint32_t *uids = arena_alloc(s->cmd_arena, (n + 3) * sizeof(uint32_t));

	if ((opts & IMAP_SEARCH_RETURN_PARTIAL) && !(opts & IMAP_SEARCH_RETURN_COUNT))
		imap_partial_slice(&query->partial, n, &start, &end);
	/* ascending view indexes give ascending UIDs */
	if (start > 0 && (opts & IMAP_SEARCH_RETURN_MIN))
		uids[k++] = s->view->msgs.items[found->items[0]].uid;
	for (size_t i = start; i < end; i++)
		uids[k++] = s->view->msgs.items[found->items[i]].uid;
	if (n > 0 && (opts & IMAP_SEARCH_RETURN_MAX) &&
	    (k == 0 || uids[k - 1] != s->view->msgs.items[found->items[n - 1]].uid))
		uids[k++] = s->view->msgs.items[found->items[n - 1]].uid;
	imap_saved_set(s, uids, k);
}

/* "$" in the criteria (RFC 5182 §2.2) becomes the UID set saved by an
 * earlier SEARCH RETURN (SAVE), indexed like any other set. */
static void search_bind_saved(struct imap_session *s, struct imap_search_key *key)
{
	for (; key != NULL; key = key->next) {
		if ((key->kind == IMAP_SEARCH_SEQSET || key->kind == IMAP_SEARCH_UIDSET) &&
		    key->set.saved) {
			struct imap_range *fixed = arena_alloc(s->cmd_arena, (s->saved_count + 1) *
									    sizeof(*fixed));
			for (size_t i = 0; i < s->saved_count; i++)
				fixed[i] = (struct imap_range){ s->saved_uids[i], s->saved_uids[i] };
			key->kind = IMAP_SEARCH_UIDSET;
			key->set.saved = false;
			key->set_indexed = true;
			key->set_fixed = fixed;
			key->set_fixed_count = s->saved_count;
			key->set_star_self = key->set_star_any = false;
		}
		search_bind_saved(s, key->children);
	}
}

/* SEARCH / UID SEARCH: parse, refuse what we cannot do with the right
 * response (NO for a charset, BAD for syntax), run, answer. The whole search
 * runs in this call. */
enum imap_cmd_status imap_cmd_search(struct imap_session *s, struct imap_parser *p, bool uid)
{
	struct imap_search_query *query;
	struct search_run run = { .session = s };
	const char *arguments = p->p;
	int ret;

	if (!imap_search_parse(p, &query) || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	bool update = query->return_options & IMAP_SEARCH_RETURN_UPDATE;
	if (update && imap_context_tag_in_use(s, s->tag)) {
		imap_cmd_bad(s, "Tag reuse: %s already names an updating context", s->tag);
		return IMAP_CMD_DONE;
	}
	/* RFC 9051 §6.4.4: an unknown charset is NO, not BAD */
	if (!query->charset_supported) {
		imap_cmd_no(s, "[BADCHARSET (US-ASCII UTF-8)] Unsupported charset");
		return IMAP_CMD_DONE;
	}
	search_bind_saved(s, query->root); /* "$" in the criteria (RFC 5182 §2.2) */
	if (s->rev2 && !query->esearch) {
		/* RFC 9051 §6.4.4: IMAP4rev2 answers SEARCH with ESEARCH (ALL) */
		query->esearch = true;
		query->return_options = IMAP_SEARCH_RETURN_ALL;
	}
	if (query->has_modseq)
		imap_enable_condstore(s); /* RFC 7162 §3.1 */
	run.query = query;
	run.arena = arena_new();
	ret = search_execute(&run);
	uint64_t modseq = query->has_modseq ? run.max_modseq : 0;
	bool save = query->return_options & IMAP_SEARCH_RETURN_SAVE;
	if (save)
		search_save_result(s, query, ret == 0 ? &run.found : NULL);
	if (ret == 0 && query->esearch) {
		/* RFC 5182 §2.1: RETURN (SAVE) alone answers no ESEARCH */
		if (query->return_options & ~IMAP_SEARCH_RETURN_SAVE)
			search_write_esearch(s, query, &run.found, uid, modseq, NULL, 0);
	} else if (ret == 0) {
		search_write_numbers(s, &run.found, uid, modseq);
	}
	if (ret == 0 && update)
		imap_context_add(s, uid, false, arguments, (size_t)(p->end - arguments),
				 run.found.items, run.found.count);
	array_free(&run.found);
	array_free(&run.maybe);
	arena_free(run.arena);
	if (ret < 0)
		imap_cmd_no(s, "[SERVERBUG] %s failed: internal error", uid ? "UID SEARCH" : "SEARCH");
	else
		imap_cmd_ok(s, "%s completed", uid ? "UID SEARCH" : "SEARCH");
	return IMAP_CMD_DONE;
}

int imap_search_answer_mailbox(struct imap_session *s, struct imap_search_query *query,
			       const char *mailbox, uint32_t uidvalidity)
{
	struct search_run run = { .session = s, .query = query };
	int ret;

	search_bind_saved(s, query->root); /* "$" (RFC 5182 §2.2) */
	run.arena = arena_new();
	ret = search_execute(&run);
	if (query->return_options & IMAP_SEARCH_RETURN_SAVE)
		search_save_result(s, query, ret == 0 ? &run.found : NULL);
	/* RFC 7377 §2.1: no response for a mailbox without a match; RFC 5182
	 * §2.1: RETURN (SAVE) alone answers nothing */
	if (ret == 0 && run.found.count > 0 && (query->return_options & ~IMAP_SEARCH_RETURN_SAVE))
		search_write_esearch(s, query, &run.found, true,
				     query->has_modseq ? run.max_modseq : 0, mailbox, uidvalidity);
	array_free(&run.found);
	array_free(&run.maybe);
	arena_free(run.arena);
	return ret;
}
