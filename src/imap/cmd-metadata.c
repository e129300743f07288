/*
 * cmd-metadata: GETMETADATA and SETMETADATA (RFC 5464), annotations that
 * clients use to keep settings: on the server (mailbox "") and on
 * mailboxes, /private (per user) and /shared (one value for everyone who
 * may use the mailbox).
 *
 * Access (§3.3 with RFC 4314): a mailbox's entries need "l" and any of
 * "r", "s", "w", "i", "p"; server entries are readable by every user.
 * Users may keep /private server entries; /shared server entries are the
 * server's: /shared/admin (mailto:postmaster@ the first local domain) is
 * computed and read-only, and no other can be set (§3.3 lets the server
 * restrict them). Limits (§4.1 asks for at least 1024 bytes and 10
 * entries): METADATA_MAX_VALUE bytes per value, METADATA_MAX_ENTRIES per
 * mailbox (or server) and scope, answered with [METADATA MAXSIZE n] and
 * [METADATA TOOMANY]; GETMETADATA's MAXSIZE leaves out longer values and
 * says [METADATA LONGENTRIES n]. Unsolicited METADATA responses (ENABLE
 * METADATA) are not sent.
 */
#include "imap/session.h"
#include "imap/urlauth.h"
#include "core/log.h"
#include "core/str.h"
#include "store/acl.h"

#include <string.h>

/* One value: 16 KiB, far above the RFC's 1024 and under the framer's 64 KB
 * literal limit, so a larger one gets the MAXSIZE answer, not a BAD. */
#define METADATA_MAX_VALUE 16384
/* Entries per mailbox (or the server) and scope (/private of one user, or
 * /shared). */
#define METADATA_MAX_ENTRIES 100
/* Entries named in one command, and the length of a name. */
#define METADATA_MAX_NAMES 100
#define METADATA_MAX_NAME 1024
/* Where a DEPTH walk stops: "infinity". */
#define METADATA_DEPTH_ALL (-1)

/* RFC 5464 §3.2: "/" + components, no "//", no trailing "/", printable
 * ASCII without "*" and "%". A name to set must also have at least two
 * components under /private or /shared ("/shared/comment"). */
static bool metadata_name_valid(const char *name, bool to_set)
{
	size_t len = strlen(name);

	if (len < 2 || len > METADATA_MAX_NAME || name[0] != '/' || name[len - 1] == '/' ||
	    strstr(name, "//") != NULL)
		return false;
	for (const char *p = name; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e || *p == '*' || *p == '%')
			return false;
	}
	if (str_eq_nocase(name, "/private") || str_eq_nocase(name, "/shared"))
		return !to_set;
	return str_has_prefix_nocase(name, "/private/") || str_has_prefix_nocase(name, "/shared/");
}

/* The mailbox argument: "" for the server (*server_r), else resolved and
 * checked (§3.3). NULL after answering. */
static const char *metadata_target(struct imap_session *s, struct imap_parser *p,
				   int64_t *mailbox_id_r)
{
	struct imap_mailbox_ref ref;
	char *raw, *name;
	size_t len;

	if (!imap_parse_astring(p, &raw, &len))
		return NULL;
	if (len == 0) {
		*mailbox_id_r = 0;
		return "";
	}
	if ((name = imap_decode_mailbox(s, p, raw, len)) == NULL)
		return NULL;
	if (imap_mailbox_resolve(s, name, &ref) < 0) {
		imap_cmd_no(s, "[SERVERBUG] Internal error");
		return "";
	}
	unsigned any = ACL_READ | ACL_SEEN | ACL_WRITE | ACL_INSERT | ACL_POST;
	if (!ref.exists || !(ref.rights & ACL_LOOKUP)) {
		imap_cmd_no(s, "[NONEXISTENT] No such mailbox");
		return "";
	}
	if (!(ref.rights & any)) {
		imap_cmd_no(s, "[NOPERM] Permission denied");
		return "";
	}
	*mailbox_id_r = ref.mailbox.id;
	return name;
}

/* The account an entry is kept under: this user for /private, 0 for
 * /shared. */
static int64_t metadata_scope(struct imap_session *s, const char *entry)
{
	return str_has_prefix_nocase(entry, "/private") ? s->account_id : 0;
}

/* " entry value" into out: a literal8 when the value holds a NUL (RFC
 * 5464 §5: value = nstring / literal8). */
static void metadata_write_pair(struct buf *out, const char *entry, const char *value,
				size_t len, bool *first)
{
	if (!*first)
		buf_append_char(out, ' ');
	*first = false;
	imap_write_astring(out, entry, false);
	buf_append_char(out, ' ');
	if (value == NULL) {
		buf_append_str(out, "NIL");
	} else if (memchr(value, '\0', len) != NULL) {
		buf_printf(out, "~{%zu}\r\n", len);
		buf_append(out, value, len);
	} else {
		imap_write_string(out, value, len, true);
	}
}

/* Levels of name below top ("/a" under "/a" is 0, "/a/b" 1). */
static int metadata_depth_of(const char *name, const char *top)
{
	int depth = 0;

	for (const char *p = name + strlen(top); *p != '\0'; p++)
		depth += *p == '/';
	return depth;
}

struct metadata_get {
	uint32_t maxsize;       /* 0: no MAXSIZE */
	bool has_maxsize;
	int depth;              /* 0, 1, METADATA_DEPTH_ALL */
	size_t longest;         /* LONGENTRIES */
};

/* "(" MAXSIZE n / DEPTH (0 / 1 / infinity) ... ")" (RFC 5464 §4.2). */
static bool metadata_parse_options(struct imap_parser *p, struct metadata_get *g)
{
	char *name, *value;

	if (!imap_parse_char(p, '('))
		return false;
	do {
		if (!imap_parse_atom(p, &name) || !imap_parse_sp(p))
			return false;
		if (str_eq_nocase(name, "MAXSIZE")) {
			if (!imap_parse_number(p, &g->maxsize))
				return false;
			g->has_maxsize = true;
		} else if (str_eq_nocase(name, "DEPTH")) {
			if (!imap_parse_atom(p, &value))
				return false;
			if (strcmp(value, "0") == 0)
				g->depth = 0;
			else if (strcmp(value, "1") == 0)
				g->depth = 1;
			else if (str_eq_nocase(value, "infinity"))
				g->depth = METADATA_DEPTH_ALL;
			else
				return imap_parser_fail(p, "DEPTH is 0, 1 or infinity");
		} else {
			return imap_parser_fail(p, "Unknown GETMETADATA option");
		}
	} while (imap_peek_char(p, ' ') && p->p++);
	return imap_parse_char(p, ')');
}

/* entries = entry / "(" entry *(SP entry) ")", lower-cased and checked. */
static bool metadata_parse_names(struct imap_parser *p, char ***names_r, size_t *count_r)
{
	char **names = arena_alloc(p->arena, METADATA_MAX_NAMES * sizeof(char *));
	bool many = imap_peek_char(p, '(');
	size_t n = 0, len;

	if (many)
		p->p++;
	do {
		if (n == METADATA_MAX_NAMES)
			return imap_parser_fail(p, "Too many entries");
		if (!imap_parse_astring(p, &names[n], &len))
			return false;
		if (strlen(names[n]) != len || !metadata_name_valid(names[n], false))
			return imap_parser_fail(p, "Invalid entry name");
		str_lower(names[n++]);
	} while (many && imap_peek_char(p, ' ') && p->p++);
	if (many && !imap_parse_char(p, ')'))
		return false;
	*names_r = names;
	*count_r = n;
	return true;
}

/* The computed server entry /shared/admin (§3.2.1.1), or NULL. */
static char *metadata_admin(struct imap_session *s)
{
	char *const *domains = s->server->config->domains;

	if (domains == NULL || domains[0] == NULL)
		return NULL;
	return arena_printf(s->cmd_arena, "mailto:postmaster@%s", domains[0]);
}

/* One requested name: its value and those below it to the depth asked,
 * each within MAXSIZE. */
static int metadata_get_one(struct imap_session *s, int64_t mailbox_id, const char *name,
			    struct metadata_get *g, struct buf *out, bool *first)
{
	struct store_metadata *list;
	size_t count;
	const char *error;
	bool found = false;

	if (store_metadata_get(s->store, mailbox_id, metadata_scope(s, name), name, s->cmd_arena,
			       &list, &count, &error) < 0) {
		log_error("imap: %s: getmetadata: %s", s->account_name, error);
		return -1;
	}
	size_t top = strlen(name);
	if (mailbox_id == 0 && strncmp("/shared/admin", name, top) == 0 &&
	    ("/shared/admin"[top] == '\0' || "/shared/admin"[top] == '/')) {
		char *admin = metadata_admin(s);
		if (admin != NULL) {
			struct store_metadata *grown = arena_alloc(s->cmd_arena,
								   (count + 1) * sizeof(*grown));
			if (count > 0)
				memcpy(grown, list, count * sizeof(*grown));
			grown[count++] = (struct store_metadata){ .entry = "/shared/admin",
								  .value = admin,
								  .value_len = strlen(admin) };
			list = grown;
		}
	}
	for (size_t i = 0; i < count; i++) {
		/* URLAUTH's mailbox access keys (urlauth.h) are the server's
		 * secret: RFC 4467 §1, the client never learns or sets them. */
		if (imap_urlauth_entry_hidden(list[i].entry)) {
			list[i].entry = NULL;
			continue;
		}
		if (g->depth != METADATA_DEPTH_ALL &&
		    metadata_depth_of(list[i].entry, name) > g->depth)
			continue;
		found |= strcmp(list[i].entry, name) == 0;
		if (g->has_maxsize && list[i].value_len > g->maxsize) {
			if (list[i].value_len > g->longest)
				g->longest = list[i].value_len;
			continue;
		}
		metadata_write_pair(out, list[i].entry, list[i].value, list[i].value_len, first);
	}
	/* A name asked for by itself that has no value says so with NIL. */
	size_t visible = 0;
	for (size_t i = 0; i < count; i++)
		visible += list[i].entry != NULL;
	if (!found && g->depth == 0 && visible == 0)
		metadata_write_pair(out, name, NULL, 0, first);
	return 0;
}

/* GETMETADATA [SP options] SP mailbox SP entries (§4.2). */
static enum imap_cmd_status cmd_getmetadata(struct imap_session *s, struct imap_parser *p,
					    bool uid)
{
	struct metadata_get g = { 0 };
	const char *mailbox;
	int64_t mailbox_id = 0;
	char **names = NULL;
	size_t count = 0;

	if (!imap_parse_sp(p))
		return imap_cmd_syntax(s, p);
	if (imap_peek_char(p, '(') && (!metadata_parse_options(p, &g) || !imap_parse_sp(p)))
		return imap_cmd_syntax(s, p);
	const char *start = p->p;
	char *raw;
	size_t len;
	/* Parse everything before acting: a bad entry is a BAD even on a
	 * mailbox the user may not see. The ABNF puts the options before the
	 * mailbox, the RFC's examples after it; clients follow either, and a
	 * list of entries starts with "/" where options start with a name. */
	if (!imap_parse_astring(p, &raw, &len) || !imap_parse_sp(p))
		return imap_cmd_syntax(s, p);
	if (imap_peek_char(p, '(') && p->p + 1 < p->end && p->p[1] != '/' && p->p[1] != '"' &&
	    (!metadata_parse_options(p, &g) || !imap_parse_sp(p)))
		return imap_cmd_syntax(s, p);
	if (!metadata_parse_names(p, &names, &count) || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	const char *end_of_command = p->p;
	p->p = start;
	if ((mailbox = metadata_target(s, p, &mailbox_id)) == NULL)
		return imap_cmd_syntax(s, p);
	p->p = end_of_command;
	if (s->result_status != NULL)
		return IMAP_CMD_DONE; /* refused: metadata_target answered */
	struct buf *out = &s->scratch;
	bool first = true;
	buf_append_str(out, "* METADATA ");
	if (mailbox_id == 0)
		buf_append_str(out, "\"\"");
	else
		imap_write_mailbox(s, out, mailbox);
	buf_append_str(out, " (");
	for (size_t i = 0; i < count; i++) {
		if (metadata_get_one(s, mailbox_id, names[i], &g, out, &first) < 0) {
			buf_clear(out);
			imap_cmd_no(s, "[SERVERBUG] Internal error");
			return IMAP_CMD_DONE;
		}
	}
	buf_append_str(out, ")\r\n");
	if (first)
		buf_clear(out); /* nothing to report (all longer than MAXSIZE) */
	else
		imap_flush_scratch(s);
	if (g.longest > 0)
		imap_cmd_ok(s, "[METADATA LONGENTRIES %zu] GETMETADATA completed", g.longest);
	else
		imap_cmd_ok(s, "GETMETADATA completed");
	return IMAP_CMD_DONE;
}

/* SETMETADATA SP mailbox SP "(" entry SP value *(SP entry SP value) ")"
 * (§4.3), all or nothing. */
static enum imap_cmd_status cmd_setmetadata(struct imap_session *s, struct imap_parser *p,
					    bool uid)
{
	struct store_metadata *changes = arena_alloc(s->cmd_arena,
						     METADATA_MAX_NAMES * sizeof(*changes));
	const char *mailbox, *error = NULL;
	int64_t mailbox_id = 0;
	size_t count = 0, len, too_big = 0;
	bool server_shared = false, hidden = false;

	if (!imap_parse_sp(p) || (mailbox = metadata_target(s, p, &mailbox_id)) == NULL ||
	    !imap_parse_sp(p) || !imap_parse_char(p, '('))
		return imap_cmd_syntax(s, p);
	do {
		char *entry, *value;
		const char *data;
		bool binary;

		if (count == METADATA_MAX_NAMES)
			return imap_parser_fail(p, "Too many entries"), imap_cmd_syntax(s, p);
		if (!imap_parse_astring(p, &entry, &len) || strlen(entry) != len ||
		    !metadata_name_valid(entry, true))
			return imap_parser_fail(p, "Invalid entry name"), imap_cmd_syntax(s, p);
		if (!imap_parse_sp(p))
			return imap_cmd_syntax(s, p);
		if (imap_peek_char(p, '~')) {
			if (!imap_parse_literal_ref(p, &data, &len, &binary))
				return imap_cmd_syntax(s, p);
			value = arena_strndup(s->cmd_arena, data, len);
		} else if (!imap_parse_nstring(p, &value, &len)) {
			return imap_cmd_syntax(s, p);
		}
		str_lower(entry);
		if (imap_urlauth_entry_hidden(entry))
			hidden = true;
		if (value != NULL && len > METADATA_MAX_VALUE)
			too_big = len;
		server_shared |= mailbox_id == 0 && str_has_prefix_nocase(entry, "/shared");
		changes[count++] = (struct store_metadata){
			.mailbox_id = mailbox_id, .account_id = metadata_scope(s, entry),
			.entry = entry, .value = value, .value_len = value != NULL ? len : 0,
		};
	} while (imap_peek_char(p, ' ') && p->p++);
	if (!imap_parse_char(p, ')') || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (s->result_status != NULL)
		return IMAP_CMD_DONE; /* the mailbox was refused */
	if (hidden) {
		imap_cmd_no(s, "[NOPERM] That entry is the server's");
		return IMAP_CMD_DONE;
	}
	if (server_shared) {
		imap_cmd_no(s, "[NOPERM] Shared server annotations are the administrator's");
		return IMAP_CMD_DONE;
	}
	if (too_big > 0) {
		imap_cmd_no(s, "[METADATA MAXSIZE %d] Value too long", METADATA_MAX_VALUE);
		return IMAP_CMD_DONE;
	}
	/* The store counts every entry of (mailbox, user), URLAUTH's hidden
	 * key too: one more when it is there, so the user still has the
	 * full METADATA_MAX_ENTRIES (only for a command on /private alone,
	 * as the limit is one number for both scopes). */
	size_t limit = METADATA_MAX_ENTRIES;
	bool only_private = mailbox_id != 0;
	for (size_t i = 0; i < count; i++)
		only_private &= changes[i].account_id != 0;
	unsigned char key[IMAP_URLAUTH_KEY_SIZE];
	if (only_private && imap_urlauth_key_get(s->store, mailbox_id, s->account_id, false,
						 s->cmd_arena, key, &error) == 1)
		limit++;
	explicit_bzero(key, sizeof(key));
	int r = store_metadata_set(s->store, changes, count, limit, &error);
	if (r == STORE_EOVERQUOTA)
		imap_cmd_no(s, "[METADATA TOOMANY] Too many annotations");
	else if (r < 0) {
		log_error("imap: %s: setmetadata: %s", s->account_name, error);
		imap_cmd_no(s, "[SERVERBUG] Annotations not changed");
	} else {
		imap_cmd_ok(s, "SETMETADATA completed");
	}
	return IMAP_CMD_DONE;
}

#define AUTHED (IMAP_STATE_AUTHENTICATED | IMAP_STATE_SELECTED)

const struct imap_command imap_cmd_def_getmetadata = { "GETMETADATA", AUTHED, 0,
							cmd_getmetadata };
const struct imap_command imap_cmd_def_setmetadata = { "SETMETADATA", AUTHED, 0,
							cmd_setmetadata };
