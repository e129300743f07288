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
		       const char *attrs, unsigned special_use)
{
	struct buf *out = &s->scratch;

	buf_printf(out, "* %s (%s", verb, attrs);
	for (size_t i = 0; i < sizeof(list_special_use) / sizeof(list_special_use[0]); i++) {
		if (special_use & list_special_use[i].bit)
			buf_printf(out, " %s", list_special_use[i].attr);
	}
	buf_append_str(out, ") \"/\" ");
	imap_write_mailbox(s, out, name);
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

static void list_mailboxes(struct imap_session *s, const char *pattern, struct store_mailbox *mbs,
			   size_t count)
{
	char **names = arena_alloc(s->cmd_arena, (count ? count : 1) * sizeof(char *));
	size_t nanc;

	for (size_t i = 0; i < count; i++)
		names[i] = mbs[i].name;
	if (count > 1)
		qsort(names, count, sizeof(char *), list_cmp_str);
	char **anc = list_ancestors(s->cmd_arena, names, count, &nanc);
	for (size_t i = 0; i < count; i++) {
		if (!list_match(pattern, mbs[i].name))
			continue;
		bool children = list_contains(anc, nanc, mbs[i].name);
		list_write(s, "LIST", mbs[i].name, children ? "\\HasChildren" : "\\HasNoChildren",
			   mbs[i].special_use);
	}
	for (size_t i = 0; i < nanc; i++) {
		if (!list_contains(names, count, anc[i]) && list_match(pattern, anc[i]))
			list_write(s, "LIST", anc[i], "\\Noselect \\HasChildren", 0);
	}
}

static bool list_parse_args(struct imap_session *s, struct imap_parser *p, char **ref_r,
			    char **pattern_r)
{
	size_t len;

	if (!imap_parse_sp(p) || !imap_parse_astring(p, ref_r, &len) || !imap_parse_sp(p))
		return false;
	if (imap_peek_char(p, '"') || imap_peek_char(p, '{')) {
		if (!imap_parse_string(p, pattern_r, &len))
			return false;
	} else if (!imap_parse_word(p, "(){\"\\", pattern_r)) {
		return false;
	}
	if (strlen(*pattern_r) > LIST_MAX_PATTERN || strlen(*ref_r) > LIST_MAX_PATTERN)
		return imap_parser_fail(p, "Pattern too long");
	return imap_parse_eol(p);
}

static enum imap_cmd_status cmd_list(struct imap_session *s, struct imap_parser *p, bool uid)
{
	struct store_mailbox *mbs;
	size_t count;
	const char *error;
	char *ref, *pattern;

	if (!list_parse_args(s, p, &ref, &pattern))
		return imap_cmd_syntax(s, p);
	if (*pattern == '\0') {
		/* RFC 9051 §6.3.9: the separator and the root of the reference. */
		imap_untagged(s, "LIST (\\Noselect) \"/\" \"\"");
		imap_cmd_ok(s, "LIST completed");
		return IMAP_CMD_DONE;
	}
	if (store_mailbox_list(s->store, s->account_id, s->cmd_arena, &mbs, &count, &error) < 0) {
		log_error("imap: list %s: %s", s->account_name, error);
		imap_cmd_no(s, "[SERVERBUG] Internal error");
		return IMAP_CMD_DONE;
	}
	list_mailboxes(s, list_pattern(s, ref, pattern), mbs, count);
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
			list_write(s, "LSUB", subs[i], "", 0);
	}
	char **anc = list_ancestors(s->cmd_arena, subs, count, &nanc);
	for (size_t i = 0; i < nanc; i++) {
		if (!list_contains(subs, count, anc[i]) && list_match(pattern, anc[i]) &&
		    strchr(pattern, '%') != NULL)
			list_write(s, "LSUB", anc[i], "\\Noselect", 0);
	}
	imap_cmd_ok(s, "LSUB completed");
	return IMAP_CMD_DONE;
}

#define AUTHED (IMAP_STATE_AUTHENTICATED | IMAP_STATE_SELECTED)

const struct imap_command imap_cmd_def_list = { "LIST", AUTHED, 0, cmd_list };
const struct imap_command imap_cmd_def_lsub = { "LSUB", AUTHED, 0, cmd_lsub };
