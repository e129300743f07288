/*
 * cmd-list: LIST and LSUB (RFC 9051 §6.3.9, RFC 3501 §6.3.8-9) with the
 * CHILDREN (RFC 3348) and SPECIAL-USE (RFC 6154) attributes.
 *
 * The hierarchy separator is "/". A name that only exists as the parent of
 * others ("a" for "a/b") is listed with \Noselect when the pattern matches it.
 */
#include "imap/session.h"
#include "imap/utf7.h"
#include "core/log.h"
#include "core/str.h"
#include "store/acl.h"

#include <stdlib.h>
#include <string.h>

/* Wildcard matching is O(pattern x name); bound the pattern so a hostile
 * client cannot make one LIST stall the loop. */
#define LIST_MAX_PATTERN 512

/* RFC 9051 §6.3.9: "*" matches anything, "%" anything but the separator.
 * Dynamic programming over the pattern, one row per name character. */
static bool list_match(const char *pattern, const char *name)
{
	size_t plen = strlen(pattern);
	bool row[2 * LIST_MAX_PATTERN + 1], next[2 * LIST_MAX_PATTERN + 1];

	if (plen > 2 * LIST_MAX_PATTERN)
		return false; /* reference + pattern, each checked by the parser */

	row[0] = true;
	for (size_t j = 1; j <= plen; j++)
		row[j] = row[j - 1] && (pattern[j - 1] == '*' || pattern[j - 1] == '%');
	for (const char *c = name; *c != '\0'; c++) {
		next[0] = false;
		for (size_t j = 1; j <= plen; j++) {
			char pc = pattern[j - 1];
			if (pc == '*')
				next[j] = next[j - 1] || row[j];
			else if (pc == '%')
				next[j] = next[j - 1] || (row[j] && *c != '/');
			else
				next[j] = row[j - 1] && pc == *c;
		}
		memcpy(row, next, (plen + 1) * sizeof(bool));
	}
	return row[plen];
}

static int list_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every proper ancestor of every name ("a", "a/b" for "a/b/c"), sorted and
 * unique: answers "has children?" and "missing parent?" by bsearch. */
static char **list_ancestors(struct arena *arena, char **names, size_t count, size_t *count_r)
{
	ARRAY(char *) out = ARRAY_INIT;

	for (size_t i = 0; i < count; i++) {
		for (const char *p = strchr(names[i], '/'); p != NULL; p = strchr(p + 1, '/'))
			array_push(&out, arena_strndup(arena, names[i], (size_t)(p - names[i])));
	}
	if (out.count > 1)
		qsort(out.items, out.count, sizeof(char *), list_cmp_str);
	size_t n = 0;
	for (size_t i = 0; i < out.count; i++) {
		if (n == 0 || strcmp(out.items[n - 1], out.items[i]) != 0)
			out.items[n++] = out.items[i];
	}
	char **result = arena_alloc(arena, (n ? n : 1) * sizeof(char *));
	if (n > 0)
		memcpy(result, out.items, n * sizeof(char *));
	array_free(&out);
	*count_r = n;
	return result;
}

static bool list_contains(char **sorted, size_t count, const char *name)
{
	return count > 0 && bsearch(&name, sorted, count, sizeof(char *), list_cmp_str) != NULL;
}

static const struct {
	unsigned bit;
	const char *attr;
} list_special_use[] = {
	{ STORE_USE_ALL, "\\All" },     { STORE_USE_ARCHIVE, "\\Archive" },
	{ STORE_USE_DRAFTS, "\\Drafts" }, { STORE_USE_FLAGGED, "\\Flagged" },
	{ STORE_USE_JUNK, "\\Junk" },   { STORE_USE_SENT, "\\Sent" },
	{ STORE_USE_TRASH, "\\Trash" },
};

static void list_write(struct imap_session *s, const char *verb, const char *name,
		       const char *attrs, unsigned special_use, const char *extra)
{
	struct buf *out = &s->scratch;

	buf_printf(out, "* %s (%s", verb, attrs);
	for (size_t i = 0; i < sizeof(list_special_use) / sizeof(list_special_use[0]); i++) {
		if (special_use & list_special_use[i].bit)
			buf_printf(out, " %s", list_special_use[i].attr);
	}
	buf_append_str(out, ") \"/\" ");
	imap_write_mailbox(s, out, name);
	if (extra != NULL)
		buf_append_str(out, extra);
	buf_append_str(out, "\r\n");
	imap_flush_scratch(s);
}

/* reference + pattern, in UTF-8, with INBOX's case normalised. */
static char *list_pattern(struct imap_session *s, const char *ref, const char *pattern)
{
	char *full = arena_printf(s->cmd_arena, "%s%s", ref, pattern);
	char *decoded = s->utf8 ? NULL : utf7_decode(s->cmd_arena, full);

	if (decoded != NULL)
		full = decoded;
	if (str_has_prefix_nocase(full, "INBOX") && (full[5] == '\0' || full[5] == '/'))
		memcpy(full, "INBOX", 5);
	return full;
}

/* A LIST command with the extensions of RFC 5258 (selection and return
 * options, several patterns), RFC 6154 (SPECIAL-USE) and RFC 5819
 * (RETURN (STATUS ...)). */
struct list_request {
	char *ref;
	char **patterns;
	size_t pattern_count;
	bool extended;          /* any option given: \NonExistent, not \Noselect */
	bool sel_subscribed, sel_recursive, sel_special_use;
	bool ret_subscribed;
	bool ret_myrights;      /* RETURN (MYRIGHTS), RFC 8440 */
	char **status_items;    /* RETURN (STATUS (...)); NULL when not asked */
	size_t status_count;
};

/* All a listed name needs to be described. */
struct list_sets {
	char **names;           /* existing mailboxes, sorted */
	const struct store_mailbox **mbs; /* in the order of names */
	size_t count;
	char **ancestors;       /* parents of existing mailboxes, sorted */
	size_t ancestor_count;
	char **subs;            /* subscriptions, sorted */
	size_t sub_count;
};

static bool list_matches(const struct list_request *req, const char *name)
{
	for (size_t i = 0; i < req->pattern_count; i++) {
		if (list_match(req->patterns[i], name))
			return true;
	}
	return false;
}

static const struct store_mailbox *list_find(const struct list_sets *sets, const char *name)
{
	char **hit = sets->count > 0 ? bsearch(&name, sets->names, sets->count, sizeof(char *),
					       list_cmp_str) : NULL;

	return hit != NULL ? sets->mbs[hit - sets->names] : NULL;
}

/* RFC 5819 §2 with RFC 4314: STATUS data only for a mailbox the user may
 * read (LIST shows other users' mailboxes with just "l"). */
static bool list_may_read(struct imap_session *s, const char *name)
{
	struct imap_mailbox_ref ref;

	if (!imap_name_is_foreign(name))
		return true;
	return imap_mailbox_resolve(s, name, &ref) == 0 && ref.exists &&
	       (ref.rights & ACL_READ) != 0;
}

/* RFC 8440: "* MYRIGHTS name rights" after the mailbox's LIST line; none
 * when the rights cannot be looked up. */
static void list_write_myrights(struct imap_session *s, const char *name)
{
	struct imap_mailbox_ref ref;
	char text[ACL_RIGHTS_TEXT];

	if (imap_mailbox_resolve(s, name, &ref) < 0 || !ref.exists)
		return;
	acl_rights_format(ref.rights, true, text);
	buf_append_str(&s->scratch, "* MYRIGHTS ");
	imap_write_mailbox(s, &s->scratch, name);
	buf_printf(&s->scratch, " %s\r\n", text);
	imap_flush_scratch(s);
}

/* One LIST line, its attributes worked out from the sets, and the STATUS
 * line after it when asked (RFC 5819 §2: after the LIST it belongs to). */
static void list_write_one_ex(struct imap_session *s, const struct list_request *req,
			      const struct list_sets *sets, const char *name, const char *extra);

static void list_write_one(struct imap_session *s, const struct list_request *req,
			   const struct list_sets *sets, const char *name, bool childinfo)
{
	/* RFC 5258 §3.5: CHILDINFO says why an unmatched parent is listed */
	list_write_one_ex(s, req, sets, name,
			  childinfo ? " (\"CHILDINFO\" (\"SUBSCRIBED\"))" : NULL);
}

/* One LIST line with accurate attributes and optional extended data. */
static void list_write_one_ex(struct imap_session *s, const struct list_request *req,
			      const struct list_sets *sets, const char *name, const char *extra)
{
	const struct store_mailbox *mb = list_find(sets, name);
	bool children = list_contains(sets->ancestors, sets->ancestor_count, name);
	struct buf attrs = BUF_INIT;

	if (mb == NULL)
		buf_append_str(&attrs, req->extended ? "\\NonExistent" : "\\Noselect");
	buf_printf(&attrs, "%s%s", attrs.len ? " " : "", children ? "\\HasChildren" : "\\HasNoChildren");
	if ((req->ret_subscribed || req->sel_subscribed) &&
	    list_contains(sets->subs, sets->sub_count, name))
		buf_append_str(&attrs, " \\Subscribed");
	list_write(s, "LIST", name, attrs.data, mb != NULL ? mb->special_use : 0, extra);
	buf_free(&attrs);
	if (req->status_items != NULL && mb != NULL && list_may_read(s, name))
		(void)imap_write_status(s, name, mb->id, req->status_items, req->status_count);
	/* RFC 8440 §4: not for a parent listed only for its children */
	if (req->ret_myrights && mb != NULL && (extra == NULL || strstr(extra, "CHILDINFO") == NULL))
		list_write_myrights(s, name);
}

/* LIST (SUBSCRIBED ...): subscribed names (existing or not) and, with
 * RECURSIVEMATCH, their unsubscribed matching parents with CHILDINFO. */
static void list_subscribed(struct imap_session *s, const struct list_request *req,
			    const struct list_sets *sets)
{
	for (size_t i = 0; i < sets->sub_count; i++) {
		const struct store_mailbox *mb = list_find(sets, sets->subs[i]);
		if (!list_matches(req, sets->subs[i]))
			continue;
		if (req->sel_special_use && (mb == NULL || mb->special_use == 0))
			continue;
		list_write_one(s, req, sets, sets->subs[i], false);
	}
	if (!req->sel_recursive)
		return;
	size_t n;
	char **parents = list_ancestors(s->cmd_arena, sets->subs, sets->sub_count, &n);
	for (size_t i = 0; i < n; i++) {
		if (list_contains(sets->subs, sets->sub_count, parents[i]) ||
		    !list_matches(req, parents[i]))
			continue;
		list_write_one(s, req, sets, parents[i], true);
	}
}

static void list_all(struct imap_session *s, const struct list_request *req,
		     const struct list_sets *sets)
{
	for (size_t i = 0; i < sets->count; i++) {
		if (!list_matches(req, sets->names[i]))
			continue;
		if (req->sel_special_use && sets->mbs[i]->special_use == 0)
			continue;
		list_write_one(s, req, sets, sets->names[i], false);
	}
	for (size_t i = 0; i < sets->ancestor_count && !req->sel_special_use; i++) {
		if (list_find(sets, sets->ancestors[i]) == NULL &&
		    list_matches(req, sets->ancestors[i]))
			list_write_one(s, req, sets, sets->ancestors[i], false);
	}
}

static int list_cmp_mailbox(const void *a, const void *b)
{
	const struct store_mailbox *x = *(const struct store_mailbox *const *)a;
	const struct store_mailbox *y = *(const struct store_mailbox *const *)b;

	return strcmp(x->name, y->name);
}

/* Load mailboxes and subscriptions into sorted sets. */
static int list_load(struct imap_session *s, struct list_sets *sets)
{
	struct store_mailbox *mbs;
	const char *error;

	struct store_mailbox *shared;
	size_t own, shared_count;

	memset(sets, 0, sizeof(*sets));
	if (store_mailbox_list(s->store, s->account_id, s->cmd_arena, &mbs, &own, &error) < 0 ||
	    store_subscription_list(s->store, s->account_id, s->cmd_arena, &sets->subs,
				    &sets->sub_count, &error) < 0) {
		log_error("imap: list %s: %s", s->account_name, error);
		return -1;
	}
	/* Other users' and public mailboxes under their namespaces (RFC
	 * 2342); their prefixes become \NoSelect parents like any other. */
	if (imap_shared_list(s, &shared, &shared_count) < 0)
		return -1;
	sets->count = own + shared_count;
	size_t n = sets->count ? sets->count : 1;
	sets->mbs = arena_alloc(s->cmd_arena, n * sizeof(*sets->mbs));
	sets->names = arena_alloc(s->cmd_arena, n * sizeof(char *));
	for (size_t i = 0; i < own; i++)
		sets->mbs[i] = &mbs[i];
	for (size_t i = 0; i < shared_count; i++)
		sets->mbs[own + i] = &shared[i];
	if (sets->count > 1)
		qsort(sets->mbs, sets->count, sizeof(*sets->mbs), list_cmp_mailbox);
	for (size_t i = 0; i < sets->count; i++)
		sets->names[i] = sets->mbs[i]->name;
	if (sets->sub_count > 1)
		qsort(sets->subs, sets->sub_count, sizeof(char *), list_cmp_str);
	sets->ancestors = list_ancestors(s->cmd_arena, sets->names, sets->count,
					 &sets->ancestor_count);
	return 0;
}

/* A list-mailbox: a string, or atom characters with the wildcards. */
static bool list_parse_pattern(struct imap_parser *p, char **pattern_r)
{
	size_t len;

	if (imap_peek_char(p, '"') || imap_peek_char(p, '{'))
		return imap_parse_string(p, pattern_r, &len);
	return imap_parse_word(p, "(){\"\\", pattern_r);
}

/* "reference pattern" as LSUB takes them. */
static bool list_parse_args(struct imap_session *s, struct imap_parser *p, char **ref_r,
			    char **pattern_r)
{
	size_t len;

	if (!imap_parse_sp(p) || !imap_parse_astring(p, ref_r, &len) || !imap_parse_sp(p) ||
	    !list_parse_pattern(p, pattern_r))
		return false;
	if (strlen(*pattern_r) > LIST_MAX_PATTERN || strlen(*ref_r) > LIST_MAX_PATTERN)
		return imap_parser_fail(p, "[LIMIT] Pattern too long");
	return imap_parse_eol(p);
}

/* RFC 5258 §6: "(" [option *(SP option)] ")", calling fn for each atom. */
static bool list_parse_options(struct imap_parser *p, struct list_request *req,
			       bool (*fn)(struct imap_parser *, struct list_request *, const char *))
{
	char *name;

	if (!imap_parse_char(p, '('))
		return false;
	while (!imap_peek_char(p, ')')) {
		if (!imap_parse_atom(p, &name) || !fn(p, req, name))
			return false;
		if (!imap_peek_char(p, ')') && !imap_parse_sp(p))
			return false;
	}
	p->p++;
	req->extended = true;
	return true;
}

static bool list_select_option(struct imap_parser *p, struct list_request *req, const char *name)
{
	if (str_eq_nocase(name, "SUBSCRIBED"))
		req->sel_subscribed = true;
	else if (str_eq_nocase(name, "RECURSIVEMATCH"))
		req->sel_recursive = true;
	else if (str_eq_nocase(name, "SPECIAL-USE"))
		req->sel_special_use = true;
	else if (!str_eq_nocase(name, "REMOTE")) /* nothing is remote here */
		return imap_parser_fail(p, "Unknown LIST selection option");
	return true;
}

/* RETURN (STATUS (items)) of RFC 5819, and the always-on ones. */
static bool list_return_option(struct imap_parser *p, struct list_request *req, const char *name)
{
	ARRAY(char *) items = ARRAY_INIT;
	char *item;

	if (str_eq_nocase(name, "SUBSCRIBED")) {
		req->ret_subscribed = true;
		return true;
	}
	if (str_eq_nocase(name, "MYRIGHTS")) {
		req->ret_myrights = true;
		return true;
	}
	if (str_eq_nocase(name, "CHILDREN") || str_eq_nocase(name, "SPECIAL-USE"))
		return true; /* always returned */
	if (!str_eq_nocase(name, "STATUS") || !imap_parse_sp(p) || !imap_parse_char(p, '('))
		return imap_parser_fail(p, "Unknown LIST return option");
	do {
		if (!imap_parse_atom(p, &item) || !imap_status_item_known(item)) {
			array_free(&items);
			return imap_parser_fail(p, "Unknown STATUS item");
		}
		array_push(&items, item);
	} while (imap_peek_char(p, ' ') && p->p++);
	req->status_count = items.count;
	req->status_items = arena_alloc(p->arena, items.count * sizeof(char *));
	memcpy(req->status_items, items.items, items.count * sizeof(char *));
	array_free(&items);
	return imap_parse_char(p, ')');
}

/* The patterns: one list-mailbox, or "(" list-mailbox *(SP list-mailbox) ")",
 * each joined to the reference. */
static bool list_parse_patterns(struct imap_session *s, struct imap_parser *p,
				struct list_request *req)
{
	ARRAY(char *) patterns = ARRAY_INIT;
	char *pattern;
	bool ok, many = imap_peek_char(p, '(');

	if (many)
		p->p++;
	do {
		ok = list_parse_pattern(p, &pattern) && strlen(pattern) <= LIST_MAX_PATTERN;
		if (ok)
			array_push(&patterns, list_pattern(s, req->ref, pattern));
	} while (ok && many && imap_peek_char(p, ' ') && p->p++);
	req->pattern_count = patterns.count;
	req->patterns = arena_alloc(p->arena, (patterns.count + 1) * sizeof(char *));
	if (patterns.count > 0)
		memcpy(req->patterns, patterns.items, patterns.count * sizeof(char *));
	array_free(&patterns);
	if (!ok || (many && !imap_parse_char(p, ')')))
		return imap_parser_fail(p, "Invalid mailbox pattern");
	return true;
}

/* LIST [SP (select-opts)] SP reference SP (pattern / (patterns))
 * [SP RETURN (return-opts)] (RFC 5258 §6). */
static bool list_parse_request(struct imap_session *s, struct imap_parser *p,
			       struct list_request *req)
{
	size_t len;

	memset(req, 0, sizeof(*req));
	if (!imap_parse_sp(p))
		return false;
	if (imap_peek_char(p, '(') &&
	    (!list_parse_options(p, req, list_select_option) || !imap_parse_sp(p)))
		return false;
	if (req->sel_recursive && !req->sel_subscribed)
		return imap_parser_fail(p, "RECURSIVEMATCH needs another selection option");
	if (!imap_parse_astring(p, &req->ref, &len) || !imap_parse_sp(p) ||
	    strlen(req->ref) > LIST_MAX_PATTERN || !list_parse_patterns(s, p, req))
		return false;
	if (imap_peek_char(p, ' ')) {
		char *word;
		p->p++;
		if (!imap_parse_atom(p, &word) || !str_eq_nocase(word, "RETURN") ||
		    !imap_parse_sp(p) || !list_parse_options(p, req, list_return_option))
			return imap_parser_fail(p, "Expected RETURN (...)");
	}
	return imap_parse_eol(p);
}

void imap_list_one(struct imap_session *s, const char *name)
{
	struct list_request req = { .extended = true };
	struct list_sets sets;

	if (list_load(s, &sets) == 0)
		list_write_one(s, &req, &sets, name, false);
}

void imap_list_notify(struct imap_session *s, const char *name, const char *old_name)
{
	struct list_request req = { .extended = true, .ret_subscribed = true };
	struct list_sets sets;
	struct buf extra = BUF_INIT;

	if (old_name != NULL) {
		buf_append_str(&extra, " (\"OLDNAME\" (");
		imap_write_mailbox(s, &extra, old_name);
		buf_append_str(&extra, "))");
	}
	if (list_load(s, &sets) == 0)
		list_write_one_ex(s, &req, &sets, name, extra.data);
	buf_free(&extra);
}

static enum imap_cmd_status cmd_list(struct imap_session *s, struct imap_parser *p, bool uid)
{
	struct list_request req;
	struct list_sets sets;

	if (!list_parse_request(s, p, &req))
		return imap_cmd_syntax(s, p);
	bool plain = !req.extended;
	req.extended |= s->rev2; /* RFC 9051 §7.3.1: \NonExistent, not \Noselect */
	if (req.pattern_count == 1 && plain &&
	    strlen(req.patterns[0]) == strlen(req.ref)) {
		/* RFC 9051 §6.3.9: "" asks for the separator and the root. */
		imap_untagged(s, "LIST (\\Noselect) \"/\" \"\"");
		imap_cmd_ok(s, "LIST completed");
		return IMAP_CMD_DONE;
	}
	if (list_load(s, &sets) < 0) {
		imap_cmd_no(s, "[SERVERBUG] Internal error");
		return IMAP_CMD_DONE;
	}
	if (req.sel_subscribed)
		list_subscribed(s, &req, &sets);
	else
		list_all(s, &req, &sets);
	imap_cmd_ok(s, "LIST completed");
	return IMAP_CMD_DONE;
}

/* RFC 3501 §6.3.9: subscribed names; a matching parent of a subscribed
 * name that is not itself subscribed is shown with \Noselect. */
static enum imap_cmd_status cmd_lsub(struct imap_session *s, struct imap_parser *p, bool uid)
{
	char **subs;
	size_t count, nanc;
	const char *error;
	char *ref, *pattern;

	if (!list_parse_args(s, p, &ref, &pattern))
		return imap_cmd_syntax(s, p);
	if (store_subscription_list(s->store, s->account_id, s->cmd_arena, &subs, &count,
				    &error) < 0) {
		log_error("imap: lsub %s: %s", s->account_name, error);
		imap_cmd_no(s, "[SERVERBUG] Internal error");
		return IMAP_CMD_DONE;
	}
	pattern = list_pattern(s, ref, pattern);
	if (count > 1)
		qsort(subs, count, sizeof(char *), list_cmp_str);
	for (size_t i = 0; i < count; i++) {
		if (list_match(pattern, subs[i]))
			list_write(s, "LSUB", subs[i], "", 0, NULL);
	}
	char **anc = list_ancestors(s->cmd_arena, subs, count, &nanc);
	for (size_t i = 0; i < nanc; i++) {
		if (!list_contains(subs, count, anc[i]) && list_match(pattern, anc[i]) &&
		    strchr(pattern, '%') != NULL)
			list_write(s, "LSUB", anc[i], "\\Noselect", 0, NULL);
	}
	imap_cmd_ok(s, "LSUB completed");
	return IMAP_CMD_DONE;
}

#define AUTHED (IMAP_STATE_AUTHENTICATED | IMAP_STATE_SELECTED)

const struct imap_command imap_cmd_def_list = { "LIST", AUTHED, 0, cmd_list };
const struct imap_command imap_cmd_def_lsub = { "LSUB", AUTHED, 0, cmd_lsub };
