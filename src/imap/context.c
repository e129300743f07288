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
 * Known gaps: message numbers in the criteria are evaluated again at each
 * update (§4.3 says at the time of the command) and "$" is the saved result
 * of the moment.
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

struct imap_context {
	struct imap_context *next;
	char *tag;        /* heap: the correlator */
	bool uid;         /* UID SEARCH / UID SORT: UIDs, else message numbers */
	bool sort;
	char *arguments;  /* heap: the command's arguments, parsed again */
	char *fetch;      /* heap: RFC 5465 §7 UPDATE (fetch-att ...), or NULL */
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

/* The UPDATE fetch attributes of a context's arguments (heap), or NULL. */
static char *context_fetch_atts(struct imap_session *s, const struct imap_context *c)
{
	struct imap_parser parser;
	struct imap_search_query *query = NULL;

	imap_parser_init(&parser, s->cmd_arena, c->arguments, strlen(c->arguments));
	if (c->sort) {
		struct imap_sort_program *program;

		if (imap_sort_parse(&parser, &program))
			query = program->query;
	} else if (!imap_search_parse(&parser, &query)) {
		query = NULL;
	}
	if (query == NULL || query->update_fetch == NULL)
		return NULL;
	char *fetch = mem_alloc(query->update_fetch_len + 1);
	memcpy(fetch, query->update_fetch, query->update_fetch_len);
	fetch[query->update_fetch_len] = '\0';
	return fetch;
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
	c->fetch = context_fetch_atts(s, c);
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
	struct imap_parser parser;
	uint32_t *indexes = NULL;
	size_t count = 0;
	int ret;

	imap_parser_init(&parser, s->cmd_arena, c->arguments, strlen(c->arguments));
	if (c->sort) {
		struct imap_sort_program *program;

		if (!imap_sort_parse(&parser, &program))
			return -1;
		ret = imap_sort_execute(s, program, &indexes, &count);
	} else {
		struct imap_search_query *query;

		if (!imap_search_parse(&parser, &query))
			return -1;
		ret = imap_search_execute(s, query, NULL, NULL, &indexes, &count, NULL);
	}
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

		if (idx >= 0 && (size_t)idx >= first_new &&
		    imap_fetch_unsolicited(s, request, (size_t)idx, 1) < 0)
			log_warn("imap: context %s: fetch of new message failed", c->tag);
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
