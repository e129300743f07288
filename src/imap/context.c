/*
 * context: updating search and sort results (RFC 5267 §4, CONTEXT=SEARCH
 * and CONTEXT=SORT): SEARCH / SORT RETURN (UPDATE) keeps the result, and
 * each later change of the selected mailbox is told as ESEARCH ADDTO /
 * REMOVEFROM; CANCELUPDATE stops it; deselecting ends every context.
 *
 * A context keeps the command's arguments as text and its result as UIDs
 * in the requested order. When the view sync (view.c) has applied changes,
 * the criteria are parsed and run again over the view and the two results
 * compared: what left is told first, before any EXPUNGE (its numbers are
 * still valid then, §4.3.4), what came after EXISTS and the flag FETCHes
 * (§4.3.3; RFC 5465 §5.1 and §5.2 order). SEARCH contexts use position 0
 * and sets in mailbox order; SORT contexts give the position of each
 * message in the sorted result. Sort keys never change for a stored
 * message, so only arrivals and departures move positions.
 *
 * Limits: IMAP_CONTEXT_MAX updating contexts per session; beyond that the
 * command answers its result with "* NO [NOUPDATE "tag"]" (§4.3.1).
 * RFC 5465 §7: "UPDATE (fetch-att ...)" adds a FETCH of those attributes
 * for each message that joins the result by arriving (not for one that
 * joins by a flag change), after the ADDTO (RFC 5465 §5.2).
 *
 * Message numbers and "$" in the criteria are resolved to UIDs once, when
 * the command runs (§4.3), and bound to those UIDs at every later run.
 */
#include "imap/fetch.h"
#include "imap/search.h"
#include "imap/session.h"
#include "imap/sort.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"

/* Each context costs a search of the whole mailbox per change (RFC 5267
 * Appendix B); a handful is what clients use. */
#define IMAP_CONTEXT_MAX 16

struct context_pin {
	struct imap_range *uids; /* ascending, one UID per range */
	size_t count;
};

struct imap_context {
	struct imap_context *next;
	char *tag;        /* heap: the correlator */
	bool uid;         /* UID SEARCH / UID SORT: UIDs, else message numbers */
	bool sort;
	char *arguments;  /* heap: the command's arguments, parsed again */
	char *fetch;      /* heap: RFC 5465 §7 UPDATE (fetch-att ...), or NULL */
	/* message-number sets and "$" in the criteria, resolved to UIDs when
	 * the command ran (§4.3: "evaluated at the time the command is
	 * received"), one per such key in tree order (heap) */
	struct context_pin *pins;
	size_t pin_count;
	uint32_t *uids;   /* heap: the result, in the requested order */
	size_t count;
	uint32_t *adds;   /* pending ADDTO, computed before EXPUNGE, sent after */
	size_t add_count;
	uint32_t *next_uids; /* the new result, installed once ADDTO is sent */
	size_t next_count;
};

static void context_free(struct imap_context *c)
{
	free(c->tag);
	free(c->arguments);
	free(c->fetch);
	for (size_t i = 0; i < c->pin_count; i++)
		free(c->pins[i].uids);
	free(c->pins);
	free(c->uids);
	free(c->adds);
	free(c->next_uids);
	free(c);
}

void imap_context_free_all(struct imap_session *s)
{
	while (s->contexts != NULL) {
		struct imap_context *c = s->contexts;

		s->contexts = c->next;
		context_free(c);
	}
}

bool imap_context_tag_in_use(const struct imap_session *s, const char *tag)
{
	for (const struct imap_context *c = s->contexts; c != NULL; c = c->next) {
		if (strcmp(c->tag, tag) == 0)
			return true;
	}
	return false;
}

/* The context's arguments parsed again (command arena): the criteria's
 * root key, and the program for SORT. NULL on a parse error (cannot
 * happen: they parsed when the command ran). */
static struct imap_search_query *context_parse(struct imap_session *s, const struct imap_context *c,
					       struct imap_sort_program **program_r)
{
	struct imap_parser parser;
	struct imap_search_query *query = NULL;

	*program_r = NULL;
	imap_parser_init(&parser, s->cmd_arena, c->arguments, strlen(c->arguments));
	if (c->sort) {
		if (imap_sort_parse(&parser, program_r))
			query = (*program_r)->query;
	} else if (!imap_search_parse(&parser, &query)) {
		query = NULL;
	}
	return query;
}

typedef ARRAY(struct context_pin) context_pin_array;

/* Pre-order walk: resolve each pinned key against the view of now. */
static void context_pin_keys(struct imap_session *s, const struct imap_search_key *key,
			     context_pin_array *pins)
{
	for (; key != NULL; key = key->next) {
		if (key->kind == IMAP_SEARCH_SEQSET || key->set.saved) {
			size_t n;
			uint32_t *indexes = imap_view_resolve(s, &key->set,
							      key->kind == IMAP_SEARCH_UIDSET, &n);
			struct context_pin pin = {
				.uids = mem_alloc((n + 1) * sizeof(struct imap_range)), .count = n,
			};

			for (size_t i = 0; i < n; i++) {
				uint32_t uid = s->view->msgs.items[indexes[i]].uid;

				pin.uids[i] = (struct imap_range){ uid, uid };
			}
			array_push(pins, pin);
		}
		context_pin_keys(s, key->children, pins);
	}
}

/* The same walk at a later run: each pinned key becomes a fixed UID set. */
static void context_bind_keys(const struct imap_context *c, struct imap_search_key *key,
			      size_t *next)
{
	for (; key != NULL; key = key->next) {
		if ((key->kind == IMAP_SEARCH_SEQSET || key->set.saved) && *next < c->pin_count) {
			const struct context_pin *pin = &c->pins[(*next)++];

			key->kind = IMAP_SEARCH_UIDSET;
			key->set.saved = false;
			key->set_indexed = true;
			key->set_fixed = pin->uids;
			key->set_fixed_count = pin->count;
			key->set_star_self = key->set_star_any = false;
		}
		context_bind_keys(c, key->children, next);
	}
}

/* The UPDATE fetch attributes (heap) and the pins of a new context. False
 * when the attributes cannot be pushed (imap_fetch_items_pushable). */
static bool context_prepare(struct imap_session *s, struct imap_context *c)
{
	struct imap_sort_program *program;
	struct imap_search_query *query = context_parse(s, c, &program);
	context_pin_array pins = ARRAY_INIT;

	if (query == NULL)
		return true;
	if (query->update_fetch != NULL) {
		struct imap_parser parser;
		struct imap_fetch_request *request;

		imap_parser_init(&parser, s->cmd_arena, query->update_fetch,
				 query->update_fetch_len);
		if (!imap_fetch_parse_items(&parser, &request) ||
		    !imap_fetch_items_pushable(request))
			return false;
		c->fetch = mem_alloc(query->update_fetch_len + 1);
		memcpy(c->fetch, query->update_fetch, query->update_fetch_len);
		c->fetch[query->update_fetch_len] = '\0';
	}
	context_pin_keys(s, query->root, &pins);
	c->pins = pins.items;
	c->pin_count = pins.count;
	return true;
}

void imap_context_add(struct imap_session *s, bool uid, bool sort, const char *arguments,
		      size_t len, const uint32_t *indexes, size_t count)
{
	struct imap_context *c;
	size_t n = 0;

	for (c = s->contexts; c != NULL; c = c->next)
		n++;
	if (n >= IMAP_CONTEXT_MAX || s->view == NULL) {
		struct buf *out = &s->scratch;

		buf_append_str(out, "* NO [NOUPDATE ");
		imap_write_string(out, s->tag, strlen(s->tag), false);
		buf_printf(out, "] Too many updating contexts (%d)\r\n", IMAP_CONTEXT_MAX);
		imap_flush_scratch(s);
		return;
	}
	c = mem_zalloc(sizeof(*c));
	c->tag = mem_strdup(s->tag);
	c->uid = uid;
	c->sort = sort;
	c->arguments = mem_alloc(len + 1);
	memcpy(c->arguments, arguments, len);
	c->arguments[len] = '\0';
	if (!context_prepare(s, c)) {
		/* RFC 5267 §4.2: the result stands, without updates */
		struct buf *out = &s->scratch;

		buf_append_str(out, "* NO [NOUPDATE ");
		imap_write_string(out, s->tag, strlen(s->tag), false);
		buf_printf(out, "] UPDATE fetches message text only with <0.%d> or less\r\n",
			   IMAP_FETCH_PUSH_TEXT_MAX);
		imap_flush_scratch(s);
		context_free(c);
		return;
	}
	c->uids = mem_alloc((count + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < count; i++)
		c->uids[i] = s->view->msgs.items[indexes[i]].uid;
	c->count = count;
	c->next = s->contexts;
	s->contexts = c;
}

/* RFC 5267 §4.3.5: CANCELUPDATE "tag" *(SP "tag"). */
static enum imap_cmd_status cmd_cancelupdate(struct imap_session *s, struct imap_parser *p,
					     bool uid)
{
	char *tag;
	size_t len;

	do {
		if (!imap_parse_sp(p) || !imap_parse_string(p, &tag, &len))
			return imap_cmd_syntax(s, p);
		for (struct imap_context **pc = &s->contexts; *pc != NULL; pc = &(*pc)->next) {
			if (strcmp((*pc)->tag, tag) == 0) {
				struct imap_context *c = *pc;

				*pc = c->next;
				context_free(c);
				break;
			}
		}
	} while (imap_peek_char(p, ' '));
	if (!imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	imap_cmd_ok(s, "CANCELUPDATE completed, no further updates");
	return IMAP_CMD_DONE;
}

const struct imap_command imap_cmd_def_cancelupdate = {
	"CANCELUPDATE", IMAP_STATE_SELECTED, 0, cmd_cancelupdate
};

/* ---- updates ------------------------------------------------------------------ */

static int context_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool context_has(const uint32_t *sorted, size_t count, uint32_t uid)
{
	return count > 0 && bsearch(&uid, sorted, count, sizeof(uint32_t), context_cmp_u32) != NULL;
}

/* The criteria run again: the matches' UIDs in the requested order (heap). */
static int context_run(struct imap_session *s, const struct imap_context *c, uint32_t **uids_r,
		       size_t *count_r)
{
	struct imap_sort_program *program;
	struct imap_search_query *query = context_parse(s, c, &program);
	uint32_t *indexes = NULL;
	size_t count = 0, next = 0;
	int ret;

	if (query == NULL)
		return -1;
	context_bind_keys(c, query->root, &next);
	if (c->sort)
		ret = imap_sort_execute(s, program, &indexes, &count);
	else
		ret = imap_search_execute(s, query, NULL, NULL, &indexes, &count, NULL);
	if (ret < 0)
		return -1;
	*uids_r = mem_alloc((count + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < count; i++)
		(*uids_r)[i] = s->view->msgs.items[indexes[i]].uid;
	*count_r = count;
	return 0;
}

/* The number the client uses for a UID of the view. */
static uint32_t context_number(const struct imap_session *s, const struct imap_context *c,
			       uint32_t uid)
{
	return c->uid ? uid : (uint32_t)(imap_view_find_uid(s->view, uid) + 1);
}

static void context_begin(struct imap_session *s, const struct imap_context *c)
{
	struct buf *out = &s->scratch;

	buf_append_str(out, "* ESEARCH (TAG ");
	imap_write_string(out, c->tag, strlen(c->tag), false);
	buf_append_char(out, ')');
	if (c->uid)
		buf_append_str(out, " UID");
}

/* " NAME (0 set)": numbers ascending (mailbox order) as a sequence set. */
static void context_write_set(struct imap_session *s, const struct imap_context *c,
			      const char *name, uint32_t *uids, size_t count)
{
	uint32_t *numbers = arena_alloc(s->cmd_arena, (count + 1) * sizeof(uint32_t));

	for (size_t i = 0; i < count; i++)
		numbers[i] = context_number(s, c, uids[i]);
	qsort(numbers, count, sizeof(uint32_t), context_cmp_u32);
	buf_printf(&s->scratch, " %s (0 ", name);
	imap_write_uidset(&s->scratch, numbers, count);
	buf_append_char(&s->scratch, ')');
}

/* Before expunges are told: run every context again, send REMOVEFROM for
 * what left (numbers still valid), keep what came for after EXISTS. */
static void context_update_one(struct imap_session *s, struct imap_context *c)
{
	uint32_t *now, *sorted_now, *sorted_old;
	size_t count;
	ARRAY(uint32_t) gone = ARRAY_INIT;
	ARRAY(uint32_t) kept = ARRAY_INIT;

	if (context_run(s, c, &now, &count) < 0) {
		log_warn("imap: context %s of %s: search failed", c->tag, s->account_name);
		return;
	}
	sorted_now = (uint32_t *)arena_memdup(s->cmd_arena, now, count * sizeof(uint32_t));
	qsort(sorted_now, count, sizeof(uint32_t), context_cmp_u32);
	sorted_old = (uint32_t *)arena_memdup(s->cmd_arena, c->uids, c->count * sizeof(uint32_t));
	qsort(sorted_old, c->count, sizeof(uint32_t), context_cmp_u32);

	/* REMOVEFROM: SEARCH with position 0; SORT with the position each
	 * has when its turn comes (earlier removals shift the later ones) */
	for (size_t i = 0; i < c->count; i++) {
		if (context_has(sorted_now, count, c->uids[i])) {
			array_push(&kept, c->uids[i]);
			continue;
		}
		if (c->sort)
			array_push(&gone, (uint32_t)kept.count + 1); /* its position */
		array_push(&gone, c->uids[i]);
	}
	if (gone.count > 0) {
		context_begin(s, c);
		if (c->sort) {
			buf_append_str(&s->scratch, " REMOVEFROM (");
			for (size_t i = 0; i < gone.count; i += 2)
				buf_printf(&s->scratch, "%s%u %u", i ? " " : "", gone.items[i],
					   context_number(s, c, gone.items[i + 1]));
			buf_append_char(&s->scratch, ')');
		} else {
			context_write_set(s, c, "REMOVEFROM", gone.items, gone.count);
		}
		buf_append_str(&s->scratch, "\r\n");
		imap_flush_scratch(s);
	}
	/* ADDTO, for later: in the new order, each with its final position */
	free(c->adds);
	c->adds = mem_alloc((2 * count + 1) * sizeof(uint32_t));
	c->add_count = 0;
	for (size_t j = 0; j < count; j++) {
		if (context_has(sorted_old, c->count, now[j]))
			continue;
		if (c->sort)
			c->adds[c->add_count++] = (uint32_t)j + 1;
		c->adds[c->add_count++] = now[j];
	}
	free(c->next_uids);
	c->next_uids = now;
	c->next_count = count;
	array_free(&gone);
	array_free(&kept);
}

void imap_context_before_expunge(struct imap_session *s)
{
	for (struct imap_context *c = s->contexts; c != NULL; c = c->next)
		context_update_one(s, c);
}

/* RFC 5465 §7: the FETCH for each added message that arrived (view index
 * first_new or later), after the ADDTO. */
static void context_fetch_new(struct imap_session *s, const struct imap_context *c,
			      size_t first_new)
{
	struct imap_parser parser;
	struct imap_fetch_request *request;

	imap_parser_init(&parser, s->cmd_arena, c->fetch, strlen(c->fetch));
	if (!imap_fetch_parse_items(&parser, &request))
		return; /* parsed once at the command: cannot happen */
	for (size_t i = c->sort ? 1 : 0; i < c->add_count; i += c->sort ? 2 : 1) {
		long idx = imap_view_find_uid(s->view, c->adds[i]);

		if (idx < 0 || (size_t)idx < first_new)
			continue;
		int r = imap_fetch_unsolicited(s, request, (size_t)idx, 1);
		if (r < 0)
			log_warn("imap: context %s: fetch of new message failed", c->tag);
		if (r > 0)
			break; /* the client is not reading: the ADDTO told it the UIDs */
	}
}

void imap_context_after_exists(struct imap_session *s, size_t first_new)
{
	for (struct imap_context *c = s->contexts; c != NULL; c = c->next) {
		if (c->next_uids == NULL)
			continue;
		if (c->add_count > 0) {
			context_begin(s, c);
			if (c->sort) {
				buf_append_str(&s->scratch, " ADDTO (");
				for (size_t i = 0; i < c->add_count; i += 2)
					buf_printf(&s->scratch, "%s%u %u", i ? " " : "", c->adds[i],
						   context_number(s, c, c->adds[i + 1]));
				buf_append_char(&s->scratch, ')');
			} else {
				context_write_set(s, c, "ADDTO", c->adds, c->add_count);
			}
			buf_append_str(&s->scratch, "\r\n");
			imap_flush_scratch(s);
			if (c->fetch != NULL)
				context_fetch_new(s, c, first_new);
		}
		free(c->uids);
		c->uids = c->next_uids;
		c->count = c->next_count;
		c->next_uids = NULL;
		c->next_count = 0;
		c->add_count = 0;
	}
}
