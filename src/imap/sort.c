/*
 * sort: SORT / UID SORT (RFC 5256 §3) and ESORT (RFC 5267 §3); see sort.h.
 *
 * One pass over the mailbox through the SEARCH executor: for each match
 * the keys the program needs are computed from the stored fields and kept
 * in an array, which is then sorted once (qsort on precomputed keys, so a
 * comparison is a few integer or strcmp steps, never string work).
 */
#include "imap/sort.h"

#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/str.h"

/* ---- parsing ----------------------------------------------------------------- */

static bool sort_parse_key(const char *name, enum imap_sort_key *key_r)
{
	static const struct { const char *name; enum imap_sort_key key; } keys[] = {
		{ "ARRIVAL", IMAP_SORT_ARRIVAL }, { "CC", IMAP_SORT_CC },
		{ "DATE", IMAP_SORT_DATE }, { "FROM", IMAP_SORT_FROM },
		{ "SIZE", IMAP_SORT_SIZE }, { "SUBJECT", IMAP_SORT_SUBJECT },
		{ "TO", IMAP_SORT_TO }, { "DISPLAYFROM", IMAP_SORT_DISPLAYFROM },
		{ "DISPLAYTO", IMAP_SORT_DISPLAYTO },
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (str_eq_nocase(name, keys[i].name)) {
			*key_r = keys[i].key;
			return true;
		}
	}
	return false;
}

/* RFC 5256 §5: sort-criteria = "(" sort-criterion *(SP sort-criterion) ")",
 * sort-criterion = ["REVERSE" SP] sort-key. */
static bool sort_parse_criteria(struct imap_parser *parser, struct imap_sort_program *program)
{
	char *atom;

	if (!imap_parse_char(parser, '('))
		return imap_parser_fail(parser, "Expected sort criteria");
	do {
		struct imap_sort_criterion *c;
		if (program->count >= IMAP_SORT_MAX_CRITERIA)
			return imap_parser_fail(parser, "[LIMIT] Too many sort criteria");
		c = &program->criteria[program->count];
		if (!imap_parse_atom(parser, &atom))
			return imap_parser_fail(parser, "Expected a sort key");
		if (str_eq_nocase(atom, "REVERSE")) {
			c->reverse = true;
			if (!imap_parse_sp(parser) || !imap_parse_atom(parser, &atom))
				return imap_parser_fail(parser, "Expected a sort key after REVERSE");
		}
		if (!sort_parse_key(atom, &c->key))
			return imap_parser_fail(parser, "Unknown sort key");
		program->count++;
	} while (imap_peek_char(parser, ' ') && imap_parse_sp(parser));
	if (!imap_parse_char(parser, ')'))
		return imap_parser_fail(parser, "Expected ')' after sort criteria");
	return imap_parse_sp(parser);
}

bool imap_sort_parse(struct imap_parser *parser, struct imap_sort_program **program_r)
{
	struct imap_sort_program *program = arena_zalloc(parser->arena, sizeof(*program));

	program->query = arena_zalloc(parser->arena, sizeof(*program->query));
	if (!imap_parse_sp(parser) || !imap_search_parse_return(parser, program->query) ||
	    !sort_parse_criteria(parser, program) ||
	    !imap_search_parse_charset_keys(parser, program->query))
		return false;
	*program_r = program;
	return true;
}

/* ---- base subject (RFC 5256 §2.1) ------------------------------------------- */

static bool sort_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP at s[i..end): its length, 0 if none. */
static size_t sort_match_blob(const char *s, size_t i, size_t end)
{
	size_t j = i + 1;

	if (i >= end || s[i] != '[')
		return 0;
	while (j < end && s[j] != '[' && s[j] != ']')
		j++;
	if (j >= end || s[j] != ']')
		return 0;
	j++;
	while (j < end && sort_is_wsp(s[j]))
		j++;
	return j - i;
}

/* subj-leader = (*subj-blob subj-refwd) / WSP, where subj-refwd =
 * ("re" / ("fw" ["d"])) *WSP [subj-blob] ":". Its length, 0 if none. */
static size_t sort_match_leader(const char *s, size_t i, size_t end)
{
	size_t j = i, n;

	if (i < end && sort_is_wsp(s[i]))
		return 1;
	while ((n = sort_match_blob(s, j, end)) > 0)
		j += n;
	if (end - j >= 2 && str_eq_nocase_n(s + j, 2, "re")) {
		j += 2;
	} else if (end - j >= 2 && str_eq_nocase_n(s + j, 2, "fw")) {
		j += 2;
		if (j < end && (s[j] == 'd' || s[j] == 'D'))
			j++;
	} else {
		return 0;
	}
	while (j < end && sort_is_wsp(s[j]))
		j++;
	j += sort_match_blob(s, j, end);
	if (j >= end || s[j] != ':')
		return 0;
	return j + 1 - i;
}

char *imap_sort_base_subject(struct arena *arena, const char *subject, bool *is_reply_r)
{
	size_t len = subject != NULL ? strlen(subject) : 0, start = 0, end = 0;
	char *s = arena_alloc(arena, len + 1);
	bool reply = false;

	/* (1) tabs and line breaks to spaces, runs of spaces to one */
	for (size_t i = 0; i < len; i++) {
		char c = subject[i];
		if (c == '\t' || c == '\r' || c == '\n')
			c = ' ';
		if (c == ' ' && end > 0 && s[end - 1] == ' ')
			continue;
		s[end++] = c;
	}
	for (;;) {
		/* (2) trailers: "(fwd)" and white space */
		for (;;) {
			if (end > start && sort_is_wsp(s[end - 1])) {
				end--;
			} else if (end - start >= 5 && str_eq_nocase_n(s + end - 5, 5, "(fwd)")) {
				end -= 5;
				reply = true;
			} else {
				break;
			}
		}
		/* (3), (4), (5): leaders, and blobs that leave some text */
		bool changed = true;
		while (changed) {
			size_t n;
			changed = false;
			while ((n = sort_match_leader(s, start, end)) > 0) {
				if (n > 1 || !sort_is_wsp(s[start]))
					reply = true;
				start += n;
				changed = true;
			}
			n = sort_match_blob(s, start, end);
			if (n > 0 && start + n < end) {
				start += n;
				changed = true;
			}
		}
		/* (6) "[fwd:" ... "]" around the whole */
		if (end - start >= 6 && str_eq_nocase_n(s + start, 5, "[fwd:") && s[end - 1] == ']') {
			start += 5;
			end--;
			reply = true;
			continue;
		}
		break;
	}
	if (is_reply_r != NULL)
		*is_reply_r = reply;
	s[end] = '\0';
	return s + start;
}

/* ---- keys -------------------------------------------------------------------- */

int64_t imap_sort_sent_date(const struct store_message_info *info)
{
	return info->has_sent_date ? info->sent_date : info->internal_date;
}

/* RFC 5256: the addr-mailbox (local part) of "local@domain", compared
 * with i;ascii-casemap, so kept lower-cased. */
static const char *sort_mailbox_key(struct arena *arena, const char *address)
{
	const char *at;
	char *key;

	if (address == NULL)
		return "";
	at = strrchr(address, '@');
	key = arena_strndup(arena, address, at != NULL ? (size_t)(at - address) : strlen(address));
	return str_lower(key);
}

static const char *sort_fold(struct arena *arena, const char *s)
{
	size_t len;

	return imap_search_fold(arena, s, strlen(s), &len);
}

/* The first address's text: up to the first ',' outside quotes, comments
 * and angle brackets. *lt_r: where its '<' is, or NULL. */
static size_t sort_first_address(const char *field, const char **lt_r)
{
	bool quoted = false;
	int comment = 0, angle = 0;
	size_t i;

	*lt_r = NULL;
	for (i = 0; field[i] != '\0'; i++) {
		char c = field[i];
		if (quoted) {
			if (c == '\\' && field[i + 1] != '\0')
				i++;
			else if (c == '"')
				quoted = false;
		} else if (c == '"') {
			quoted = true;
		} else if (c == '(') {
			comment++;
		} else if (c == ')' && comment > 0) {
			comment--;
		} else if (comment == 0 && c == '<') {
			if (angle++ == 0 && *lt_r == NULL)
				*lt_r = field + i;
		} else if (comment == 0 && c == '>' && angle > 0) {
			angle--;
		} else if (comment == 0 && angle == 0 && c == ',') {
			break;
		}
	}
	return i;
}

char *imap_sort_display_name(struct arena *arena, const char *field, const char *address)
{
	const char *lt;
	char *name, *out;
	size_t n, o = 0;

	if (field != NULL) {
		sort_first_address(field, &lt);
		if (lt != NULL) {
			/* the display name, with its quotes and escapes removed */
			n = (size_t)(lt - field);
			name = arena_alloc(arena, n + 1);
			for (size_t i = 0; i < n; i++) {
				if (field[i] == '"')
					continue;
				if (field[i] == '\\' && i + 1 < n)
					i++;
				name[o++] = field[i];
			}
			name[o] = '\0';
			out = str_trim(name);
			if (*out != '\0')
				return out;
		}
	}
	return arena_strdup(arena, address != NULL ? address : "");
}

void imap_sort_item_fill(const struct imap_sort_program *program, struct arena *arena,
			 uint32_t index, const struct store_message_info *info,
			 struct imap_sort_item *item)
{
	memset(item, 0, sizeof(*item));
	item->index = index;
	for (size_t i = 0; i < program->count; i++) {
		switch (program->criteria[i].key) {
		case IMAP_SORT_ARRIVAL:
			item->arrival = info->internal_date;
			break;
		case IMAP_SORT_DATE:
			item->date = imap_sort_sent_date(info);
			break;
		case IMAP_SORT_SIZE:
			item->size = info->size;
			break;
		case IMAP_SORT_SUBJECT:
			if (item->subject == NULL)
				item->subject = sort_fold(arena, imap_sort_base_subject(
								 arena, info->subject, NULL));
			break;
		case IMAP_SORT_FROM:
			item->from = sort_mailbox_key(arena, info->from_addr);
			break;
		case IMAP_SORT_TO:
			item->to = sort_mailbox_key(arena, info->to_addr);
			break;
		case IMAP_SORT_CC:
			item->cc = sort_mailbox_key(arena, info->cc_addr);
			break;
		/* RFC 5957 §3.1: the value kept at save time from the ENVELOPE's
		 * first address; messages stored before it was kept fall back to
		 * the display name read from the stored field text */
		case IMAP_SORT_DISPLAYFROM:
			if (item->display_from == NULL)
				item->display_from = sort_fold(
					arena, info->from_display != NULL ? info->from_display :
					imap_sort_display_name(arena, info->from, info->from_addr));
			break;
		case IMAP_SORT_DISPLAYTO:
			if (item->display_to == NULL)
				item->display_to = sort_fold(
					arena, info->to_display != NULL ? info->to_display :
					imap_sort_display_name(arena, info->to, info->to_addr));
			break;
		}
	}
}

static int sort_cmp_int(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

/* Strings: "" collates first (RFC 5256 §3), then byte order of the folded
 * UTF-8, which is code point order. */
static int sort_cmp_str(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "");
}

int imap_sort_compare(const struct imap_sort_program *program, const struct imap_sort_item *a,
		      const struct imap_sort_item *b)
{
	for (size_t i = 0; i < program->count; i++) {
		int r = 0;
		switch (program->criteria[i].key) {
		case IMAP_SORT_ARRIVAL:
			r = sort_cmp_int(a->arrival, b->arrival);
			break;
		case IMAP_SORT_DATE:
			r = sort_cmp_int(a->date, b->date);
			break;
		case IMAP_SORT_SIZE:
			r = a->size < b->size ? -1 : a->size > b->size;
			break;
		case IMAP_SORT_SUBJECT:
			r = sort_cmp_str(a->subject, b->subject);
			break;
		case IMAP_SORT_FROM:
			r = sort_cmp_str(a->from, b->from);
			break;
		case IMAP_SORT_TO:
			r = sort_cmp_str(a->to, b->to);
			break;
		case IMAP_SORT_CC:
			r = sort_cmp_str(a->cc, b->cc);
			break;
		case IMAP_SORT_DISPLAYFROM:
			r = sort_cmp_str(a->display_from, b->display_from);
			break;
		case IMAP_SORT_DISPLAYTO:
			r = sort_cmp_str(a->display_to, b->display_to);
			break;
		}
		if (r != 0)
			return program->criteria[i].reverse ? -r : r;
	}
	/* the implicit "sequence number" key is never reversed (RFC 5256 §3) */
	return sort_cmp_int(a->index, b->index);
}

static int sort_qsort_cmp(const void *a, const void *b, void *context)
{
	return imap_sort_compare(context, a, b);
}

void imap_sort_items(const struct imap_sort_program *program, struct imap_sort_item *items,
		     size_t count)
{
	if (count > 1)
		qsort_r(items, count, sizeof(*items), sort_qsort_cmp, (void *)program);
}

/* ---- the command --------------------------------------------------------------- */

struct sort_collect {
	const struct imap_sort_program *program;
	struct arena *arena;
	ARRAY(struct imap_sort_item) items;
};

/* imap_search_execute callback: keep the match's keys. */
static void sort_collect_one(void *context, uint32_t index, const struct store_message_info *info)
{
	struct sort_collect *c = context;
	struct imap_sort_item item;

	imap_sort_item_fill(c->program, c->arena, index, info, &item);
	array_push(&c->items, item);
}

static int sort_cmp_uid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t sort_number(const struct imap_session *s, uint32_t index, bool uid)
{
	return uid ? s->view->msgs.items[index].uid : index + 1;
}

/* "* SORT 2 3 1 [(MODSEQ n)]", flushed in pieces. */
static void sort_write_sort(struct imap_session *s, const struct imap_sort_item *items,
			    size_t count, bool uid, uint64_t modseq)
{
	buf_append_str(&s->scratch, "* SORT");
	for (size_t i = 0; i < count; i++) {
		buf_printf(&s->scratch, " %u", sort_number(s, items[i].index, uid));
		if (s->scratch.len > 16 * 1024)
			imap_flush_scratch(s);
	}
	/* RFC 7162 §3.1.5: a MODSEQ key adds the highest MODSEQ of the result */
	if (modseq > 0 && count > 0)
		buf_printf(&s->scratch, " (MODSEQ %llu)", (unsigned long long)modseq);
	buf_append_str(&s->scratch, "\r\n");
	imap_flush_scratch(s);
}

/* RFC 5267 §3.1-3.2: ALL in sort order; only ascending runs become
 * ranges ("10:12", never "12:10"). */
static void sort_write_all(struct imap_session *s, const struct imap_sort_item *items,
			   size_t count, bool uid)
{
	bool first = true;

	for (size_t i = 0; i < count; i++) {
		uint32_t lo = sort_number(s, items[i].index, uid), hi = lo;
		while (i + 1 < count && hi != UINT32_MAX &&
		       sort_number(s, items[i + 1].index, uid) == hi + 1) {
			hi++;
			i++;
		}
		buf_printf(&s->scratch, first ? "%u" : ",%u", lo);
		first = false;
		if (hi != lo)
			buf_printf(&s->scratch, ":%u", hi);
		if (s->scratch.len > 16 * 1024)
			imap_flush_scratch(s);
	}
}

/* "* ESEARCH (TAG "t") [UID] MIN a MAX b COUNT n ALL set [MODSEQ m]": MIN
 * and MAX are the first and last in sort order (RFC 5267 §3.1). */
static void sort_write_esearch(struct imap_session *s, const struct imap_search_query *query,
			       const struct imap_sort_item *items, size_t count, bool uid,
			       uint64_t modseq)
{
	unsigned opts = query->return_options;
	struct buf *out = &s->scratch;

	buf_append_str(out, "* ESEARCH (TAG ");
	imap_write_string(out, s->tag != NULL ? s->tag : "", s->tag ? strlen(s->tag) : 0, false);
	buf_append_char(out, ')');
	if (uid)
		buf_append_str(out, " UID");
	if ((opts & IMAP_SEARCH_RETURN_MIN) && count > 0)
		buf_printf(out, " MIN %u", sort_number(s, items[0].index, uid));
	if ((opts & IMAP_SEARCH_RETURN_MAX) && count > 0)
		buf_printf(out, " MAX %u", sort_number(s, items[count - 1].index, uid));
	if (opts & IMAP_SEARCH_RETURN_COUNT)
		buf_printf(out, " COUNT %zu", count);
	if ((opts & IMAP_SEARCH_RETURN_ALL) && count > 0) {
		buf_append_str(out, " ALL ");
		imap_flush_scratch(s);
		sort_write_all(s, items, count, uid);
	}
	if (opts & IMAP_SEARCH_RETURN_PARTIAL) {
		/* RFC 9394 §3.1: positions in sort order; only the page is written */
		size_t start, end;
		imap_partial_slice(&query->partial, count, &start, &end);
		buf_printf(out, " PARTIAL (%lld:%lld ", (long long)query->partial.first,
			   (long long)query->partial.last);
		if (start == end)
			buf_append_str(out, "NIL");
		else
			sort_write_all(s, items + start, end - start, uid);
		buf_append_char(out, ')');
	}
	if (modseq > 0 && count > 0) /* RFC 7162 §3.1.10 */
		buf_printf(out, " MODSEQ %llu", (unsigned long long)modseq);
	buf_append_str(out, "\r\n");
	imap_flush_scratch(s);
}

/* RFC 5182: SORT RETURN (SAVE) remembers the matches (a set: their order
 * is not kept) as ascending UIDs. items are still in collection order:
 * ascending view index, except the few decided from the header. */
static void sort_save_result(struct imap_session *s, const struct imap_sort_item *items,
			     size_t count)
{
	uint32_t *uids = arena_alloc(s->cmd_arena, (count + 1) * sizeof(uint32_t));

	size_t n = 0;

	for (size_t i = 0; i < count; i++)
		uids[i] = s->view->msgs.items[items[i].index].uid;
	if (count > 1)
		qsort(uids, count, sizeof(*uids), sort_cmp_uid);
	for (size_t i = 0; i < count; i++) {
		if (n == 0 || uids[n - 1] != uids[i])
			uids[n++] = uids[i];
	}
	imap_saved_set(s, uids, n);
}

/* RFC 9394 §3.2 table 1: SAVE with PARTIAL and no COUNT keeps what the
 * answer holds: the page (in sort order), and MIN / MAX when asked. */
static void sort_save_partial(struct imap_session *s, const struct imap_search_query *query,
			      const struct imap_sort_item *items, size_t count)
{
	struct imap_sort_item *kept = arena_alloc(s->cmd_arena, (count + 2) * sizeof(*kept));
	size_t start, end, k = 0;

	imap_partial_slice(&query->partial, count, &start, &end);
	if (count > 0 && (query->return_options & IMAP_SEARCH_RETURN_MIN))
		kept[k++] = items[0];
	for (size_t i = start; i < end; i++)
		kept[k++] = items[i];
	if (count > 0 && (query->return_options & IMAP_SEARCH_RETURN_MAX))
		kept[k++] = items[count - 1];
	sort_save_result(s, kept, k);
}

int imap_sort_execute(struct imap_session *s, struct imap_sort_program *program,
		      uint32_t **indexes_r, size_t *count_r)
{
	struct sort_collect collect = { .arena = s->cmd_arena, .program = program };

	if (imap_search_execute(s, program->query, sort_collect_one, &collect, NULL, NULL,
				NULL) < 0) {
		array_free(&collect.items);
		return -1;
	}
	imap_sort_items(program, collect.items.items, collect.items.count);
	*indexes_r = arena_alloc(s->cmd_arena, (collect.items.count + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < collect.items.count; i++)
		(*indexes_r)[i] = collect.items.items[i].index;
	*count_r = collect.items.count;
	array_free(&collect.items);
	return 0;
}

/* SORT / UID SORT: parse, refuse what we cannot do (NO for a charset, BAD
 * for syntax), collect the matches' keys in one pass, sort, answer. */
static enum imap_cmd_status imap_cmd_sort(struct imap_session *s, struct imap_parser *p, bool uid)
{
	struct imap_sort_program *program;
	struct sort_collect collect = { .arena = s->cmd_arena };
	uint64_t max_modseq = 0;
	const char *name = uid ? "UID SORT" : "SORT";
	const char *arguments = p->p;

	if (!imap_sort_parse(p, &program) || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	struct imap_search_query *query = program->query;
	bool update = query->return_options & IMAP_SEARCH_RETURN_UPDATE;
	if (update && imap_context_tag_in_use(s, s->tag)) {
		imap_cmd_bad(s, "Tag reuse: %s already names an updating context", s->tag);
		return IMAP_CMD_DONE;
	}
	if (!query->charset_supported) {
		imap_cmd_no(s, "[BADCHARSET (US-ASCII UTF-8)] Unsupported charset");
		return IMAP_CMD_DONE;
	}
	if (query->has_modseq)
		imap_enable_condstore(s); /* RFC 7162 §3.1 */
	collect.program = program;
	bool save = query->return_options & IMAP_SEARCH_RETURN_SAVE;
	if (imap_search_execute(s, query, sort_collect_one, &collect, NULL, NULL, &max_modseq) < 0) {
		array_free(&collect.items);
		if (save)
			imap_saved_set(s, NULL, 0); /* RFC 5182 §2.1: a failure empties it */
		imap_cmd_no(s, "[SERVERBUG] %s failed: internal error", name);
		return IMAP_CMD_DONE;
	}
	bool save_page = (query->return_options & IMAP_SEARCH_RETURN_PARTIAL) &&
			 !(query->return_options & IMAP_SEARCH_RETURN_COUNT);
	if (save && !save_page)
		sort_save_result(s, collect.items.items, collect.items.count);
	imap_sort_items(program, collect.items.items, collect.items.count);
	if (save && save_page)
		sort_save_partial(s, query, collect.items.items, collect.items.count);
	uint64_t modseq = query->has_modseq ? max_modseq : 0;
	if (query->esearch) {
		/* RFC 5182 §2.1: RETURN (SAVE) alone answers nothing */
		if (query->return_options & ~IMAP_SEARCH_RETURN_SAVE)
			sort_write_esearch(s, query, collect.items.items, collect.items.count, uid,
					   modseq);
	} else
		sort_write_sort(s, collect.items.items, collect.items.count, uid, modseq);
	if (update) {
		uint32_t *indexes = arena_alloc(s->cmd_arena,
						(collect.items.count + 1) * sizeof(uint32_t));
		for (size_t i = 0; i < collect.items.count; i++)
			indexes[i] = collect.items.items[i].index;
		imap_context_add(s, uid, true, arguments, (size_t)(p->end - arguments), indexes,
				 collect.items.count);
	}
	array_free(&collect.items);
	imap_cmd_ok(s, "%s completed", name);
	return IMAP_CMD_DONE;
}

const struct imap_command imap_cmd_def_sort = {
	"SORT", IMAP_STATE_SELECTED, IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE, imap_cmd_sort
};
