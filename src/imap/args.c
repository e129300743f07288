/*
 * args: the argument and response forms that many commands share: flag
 * lists and mailbox names.
 */
#include "imap/session.h"
#include "imap/utf7.h"
#include "core/str.h"

#include <string.h>

/* Mailbox names longer than this are refused: no real folder needs more,
 * and every name is an index key in the store. */
#define IMAP_MAX_MAILBOX_NAME 1024

static const struct {
	const char *name;
	unsigned flag;
} imap_system_flags[] = {
	{ "\\Answered", STORE_FLAG_ANSWERED },
	{ "\\Flagged", STORE_FLAG_FLAGGED },
	{ "\\Deleted", STORE_FLAG_DELETED },
	{ "\\Seen", STORE_FLAG_SEEN },
	{ "\\Draft", STORE_FLAG_DRAFT },
};

void imap_write_flags(struct buf *out, unsigned flags, const char *keywords)
{
	bool first = true;

	buf_append_char(out, '(');
	for (size_t i = 0; i < sizeof(imap_system_flags) / sizeof(imap_system_flags[0]); i++) {
		if (!(flags & imap_system_flags[i].flag))
			continue;
		if (!first)
			buf_append_char(out, ' ');
		buf_append_str(out, imap_system_flags[i].name);
		first = false;
	}
	if (keywords != NULL && *keywords != '\0') {
		if (!first)
			buf_append_char(out, ' ');
		buf_append_str(out, keywords);
	}
	buf_append_char(out, ')');
}

/* One flag: a system flag (\Seen ...), or a keyword atom. */
static bool imap_parse_one_flag(struct imap_parser *parser, unsigned *flags, struct buf *kw)
{
	char *atom;

	if (imap_peek_char(parser, '\\')) {
		parser->p++;
		if (!imap_parse_atom(parser, &atom))
			return false;
		for (size_t i = 0; i < sizeof(imap_system_flags) / sizeof(imap_system_flags[0]); i++) {
			if (str_eq_nocase(atom, imap_system_flags[i].name + 1)) {
				*flags |= imap_system_flags[i].flag;
				return true;
			}
		}
		/* RFC 3501: \Recent is server-set; a client may not set it. */
		if (str_eq_nocase(atom, "Recent"))
			return true;
		return imap_parser_fail(parser, "Unknown system flag");
	}
	if (!imap_parse_atom(parser, &atom))
		return false;
	/* Keywords are case-insensitive: keep one spelling per word. */
	if (kw->len > 0) {
		const char *p = kw->data;
		size_t n = strlen(atom);
		while ((p = str_find_nocase(p, kw->len - (size_t)(p - kw->data), atom, n)) != NULL) {
			bool start = p == kw->data || p[-1] == ' ';
			bool end = p[n] == '\0' || p[n] == ' ';
			if (start && end)
				return true;
			p++;
		}
		buf_append_char(kw, ' ');
	}
	buf_append_str(kw, atom);
	return true;
}

bool imap_parse_flags(struct imap_parser *parser, bool list, unsigned *flags_r, char **keywords_r)
{
	struct buf kw = BUF_INIT;
	bool ok = true;

	*flags_r = 0;
	if (list && !imap_parse_char(parser, '('))
		return false;
	if (!list || !imap_peek_char(parser, ')')) {
		do {
			ok = imap_parse_one_flag(parser, flags_r, &kw);
		} while (ok && list && imap_peek_char(parser, ' ') && parser->p++);
	}
	if (ok && list)
		ok = imap_parse_char(parser, ')');
	*keywords_r = ok && kw.len > 0 ? arena_memdup(parser->arena, kw.data, kw.len) : NULL;
	buf_free(&kw);
	return ok;
}

/* Names are UTF-8 without control characters, not empty, no empty
 * hierarchy levels ("a//b", "/a", "a/"). */
static bool imap_mailbox_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > IMAP_MAX_MAILBOX_NAME || name[0] == '/' || name[len - 1] == '/' ||
	    strstr(name, "//") != NULL)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return false;
	}
	return true;
}


char *imap_parse_mailbox(struct imap_session *s, struct imap_parser *parser)
{
	char *raw;
	size_t len;

	if (!imap_parse_astring(parser, &raw, &len))
		return NULL;
	return imap_decode_mailbox(s, parser, raw, len);
}

char *imap_decode_mailbox(struct imap_session *s, struct imap_parser *parser, char *raw,
			  size_t len)
{
	char *name;

	if (strlen(raw) != len)
		return imap_parser_fail(parser, "Mailbox name contains NUL"), NULL;
	if (s->utf8)
		name = imap_utf8_valid(raw, len) ? raw : NULL;
	else
		name = utf7_decode(s->cmd_arena, raw);
	if (name == NULL)
		return imap_parser_fail(parser, "Mailbox name is not valid modified UTF-7"), NULL;
	/* RFC 9051 §5.1: INBOX is case-insensitive, also as a parent. */
	if (str_eq_nocase(name, "INBOX"))
		return "INBOX";
	if (str_has_prefix_nocase(name, "INBOX/"))
		memcpy(name, "INBOX", 5);
	if (strlen(name) > IMAP_MAX_MAILBOX_NAME)
		return imap_parser_fail(parser, "[LIMIT] Mailbox name too long"), NULL;
	if (!imap_mailbox_name_valid(name))
		return imap_parser_fail(parser, "Invalid mailbox name"), NULL;
	return name;
}

void imap_write_mailbox(struct imap_session *s, struct buf *out, const char *name)
{
	const char *wire = s->utf8 ? name : utf7_encode(s->cmd_arena, name);

	imap_write_string(out, wire ? wire : name, strlen(wire ? wire : name), s->utf8);
}

/* RFC 8474 §4: unique for the life of the store, kept by RENAME (same id
 * and UIDVALIDITY), never reused (a new mailbox has a new UIDVALIDITY). */
void imap_write_mailboxid(struct buf *out, int64_t mailbox_id, uint32_t uidvalidity)
{
	buf_printf(out, "F%08x%llx", uidvalidity, (unsigned long long)mailbox_id);
}
