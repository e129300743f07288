/*
 * mime-address: address lists (RFC 5322 §3.4, with the obsolete forms of
 * §4.4) turned into the IMAP address structures of RFC 9051 §7.5.2:
 * (name adl mailbox host), groups as (NIL NIL "group" NIL) ... (NIL NIL NIL
 * NIL).
 *
 * The parser is forgiving, as readers must be: stray characters are skipped,
 * a group left open is closed at the end, "Name <a@b>" and "a@b (Name)" both
 * give a name, and a bare word with no domain becomes mailbox "word" with
 * host "MISSING_DOMAIN" (host NIL would make it a group), and "<>" gets
 * mailbox "MISSING_MAILBOX"; the placeholders are the ones Dovecot uses, so
 * clients see the same thing from both servers.
 * Strings are kept raw: RFC 2047 words in names stay encoded, as RFC 9051
 * wants for ENVELOPE.
 */
#include "mime/mime-private.h"

#include <string.h>

#include "core/array.h"

#define MIME_MISSING_DOMAIN "MISSING_DOMAIN"
#define MIME_MISSING_MAILBOX "MISSING_MAILBOX"

struct mime_address {
	char *name, *adl, *mailbox, *host; /* NULL renders as NIL */
};

typedef ARRAY(struct mime_address) mime_address_array;

/* RFC 5322 §3.2.3 atext, plus "." so that dot-atoms and obs-phrase words
 * read as one word; 8-bit bytes count as text (RFC 6532). */
static bool mime_is_atom_char(char c)
{
	return (unsigned char)c > ' ' && c != 0x7F && strchr("()<>[]:;@\\,\"", c) == NULL;
}

/* Skip white space and comments; the text of the last comment seen goes to
 * *comment_r when that is not NULL (for "a@b (Name)"). */
static const char *mime_addr_skip_cfws(struct arena *arena, const char *p, char **comment_r)
{
	for (;;) {
		while (mime_is_wsp(*p))
			p++;
		if (*p != '(')
			return p;
		const char *start = ++p;
		int depth = 1;
		for (; *p != '\0'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0)
				break;
		}
		if (comment_r != NULL)
			*comment_r = arena_strndup(arena, start, (size_t)(p - start));
		if (*p == ')')
			p++;
	}
}

/* One word (atom or quoted-string, unquoted) appended to out. */
static const char *mime_addr_read_word(const char *p, struct buf *out)
{
	if (*p != '"') {
		while (mime_is_atom_char(*p))
			buf_append_char(out, *p++);
		return p;
	}
	for (p++; *p != '\0' && *p != '"'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		buf_append_char(out, *p);
	}
	return *p == '"' ? p + 1 : p;
}

/* A phrase: words separated by single spaces. */
static const char *mime_addr_read_phrase(struct arena *arena, const char *p, struct buf *out,
					 char **comment_r)
{
	for (;;) {
		p = mime_addr_skip_cfws(arena, p, comment_r);
		if (*p != '"' && !mime_is_atom_char(*p))
			return p;
		if (out->len > 0)
			buf_append_char(out, ' ');
		p = mime_addr_read_word(p, out);
	}
}

/* A domain: dot-atoms or a domain literal "[...]" kept with its brackets. */
static const char *mime_addr_read_domain(struct arena *arena, const char *p, struct buf *out)
{
	for (;;) {
		const char *before = p;
		p = mime_addr_skip_cfws(arena, p, NULL);
		if (*p == '[') {
			const char *end = strchr(p, ']');
			size_t n = end ? (size_t)(end - p) + 1 : strlen(p);
			buf_append(out, p, n);
			p += n;
		} else if (mime_is_atom_char(*p)) {
			while (mime_is_atom_char(*p))
				buf_append_char(out, *p++);
		} else {
			return before; /* a trailing comment may be the name */
		}
	}
}

static char *mime_addr_take(struct arena *arena, struct buf *b)
{
	char *s = arena_memdup(arena, b->data ? b->data : "", b->len);

	buf_clear(b);
	return s;
}

/* RFC 5322 §3.4 angle-addr, with §4.4 obs-route ("<@a,@b:user@host>"). */
static const char *mime_addr_read_angle(struct arena *arena, const char *p,
					struct mime_address *a)
{
	struct buf b = BUF_INIT;

	p = mime_addr_skip_cfws(arena, p + 1, NULL);
	if (*p == '@') {
		const char *colon = strchr(p, ':'), *gt = strchr(p, '>');
		if (colon != NULL && (gt == NULL || colon < gt)) {
			a->adl = arena_strndup(arena, p, (size_t)(colon - p));
			p = colon + 1;
		}
	}
	p = mime_addr_read_phrase(arena, p, &b, NULL);
	a->mailbox = b.len > 0 ? mime_addr_take(arena, &b) :
				 arena_strdup(arena, MIME_MISSING_MAILBOX);
	if (*p == '@') {
		p = mime_addr_read_domain(arena, p + 1, &b);
		a->host = mime_addr_take(arena, &b);
	} else {
		a->host = arena_strdup(arena, MIME_MISSING_DOMAIN);
	}
	buf_free(&b);
	while (*p != '\0' && *p != '>')
		p++;
	return *p == '>' ? p + 1 : p;
}

/* One mailbox (or group start) at p whose phrase has been read into phrase;
 * p is at the character that ended the phrase. */
static const char *mime_addr_read_one(struct arena *arena, const char *p, struct buf *phrase,
				      char *comment, mime_address_array *list, bool *in_group)
{
	struct mime_address a = { NULL, NULL, NULL, NULL };
	struct buf b = BUF_INIT;

	if (*p == ':' && !*in_group) {
		a.mailbox = mime_addr_take(arena, phrase);
		array_push(list, a);
		*in_group = true;
		return p + 1;
	}
	if (*p == '<') {
		if (phrase->len > 0)
			a.name = mime_addr_take(arena, phrase);
		p = mime_addr_read_angle(arena, p, &a);
	} else if (*p == '@') {
		a.mailbox = mime_addr_take(arena, phrase);
		p = mime_addr_read_domain(arena, p + 1, &b);
		a.host = mime_addr_take(arena, &b);
		p = mime_addr_skip_cfws(arena, p, &comment);
		a.name = comment;
	} else if (phrase->len > 0) {
		a.mailbox = mime_addr_take(arena, phrase);
		a.host = arena_strdup(arena, MIME_MISSING_DOMAIN);
	} else {
		buf_free(&b);
		return *p == '\0' ? p : p + 1; /* a stray character: skip it */
	}
	buf_free(&b);
	array_push(list, a);
	return p;
}

/* Parse an address-list value into list. */
static void mime_addr_parse_list(struct arena *arena, const char *p, mime_address_array *list)
{
	struct buf phrase = BUF_INIT;
	struct mime_address end = { NULL, NULL, NULL, NULL };
	bool in_group = false;

	while (*p != '\0') {
		char *comment = NULL;
		p = mime_addr_skip_cfws(arena, p, NULL);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p == ';') {
			if (in_group)
				array_push(list, end);
			in_group = false;
			p++;
			continue;
		}
		buf_clear(&phrase);
		p = mime_addr_read_phrase(arena, p, &phrase, &comment);
		p = mime_addr_read_one(arena, p, &phrase, comment, list, &in_group);
	}
	if (in_group)
		array_push(list, end);
	buf_free(&phrase);
}

/* RFC 9051 §9 env-from etc.: "(" 1*address ")" or NIL when there is none. */
void mime_render_address_list(struct arena *arena, struct buf *out, const char *value)
{
	mime_address_array list = ARRAY_INIT;

	if (value != NULL)
		mime_addr_parse_list(arena, value, &list);
	if (list.count == 0) {
		buf_append_str(out, "NIL");
		return;
	}
	buf_append_char(out, '(');
	for (size_t i = 0; i < list.count; i++) {
		const struct mime_address *a = &list.items[i];
		buf_append_char(out, '(');
		mime_render_nstring(out, a->name);
		buf_append_char(out, ' ');
		mime_render_nstring(out, a->adl);
		buf_append_char(out, ' ');
		mime_render_nstring(out, a->mailbox);
		buf_append_char(out, ' ');
		mime_render_nstring(out, a->host);
		buf_append_char(out, ')');
	}
	buf_append_char(out, ')');
	array_free(&list);
}

/* RFC 5957 §3.1 display form of the first address of the field, as
 * ENVELOPE shows it: its addr-name, RFC 2047-decoded, when it has one (for
 * a group, the group's name); else "mailbox@host" as ENVELOPE has them,
 * "foo@MISSING_DOMAIN" for a bare "foo" (Dovecot sorts it so, unlike SORT
 * FROM, which takes the mailbox alone). NULL when the field has no
 * address. */
char *mime_first_display(struct arena *arena, const char *value)
{
	mime_address_array list = ARRAY_INIT;
	char *r = NULL;

	if (value == NULL)
		return NULL;
	mime_addr_parse_list(arena, value, &list);
	if (list.count > 0) {
		const struct mime_address *a = &list.items[0];
		if (a->name != NULL && a->name[0] != '\0')
			r = mime_decode_header(arena, a->name, strlen(a->name));
		else if (a->mailbox != NULL && a->host != NULL)
			r = arena_printf(arena, "%s@%s", a->mailbox, a->host);
		else if (a->mailbox != NULL)
			r = arena_strdup(arena, a->mailbox);
	}
	array_free(&list);
	return r;
}

/* The first address of the field as ENVELOPE shows it (RFC 5256 §3: SORT
 * FROM/TO/CC use the mailbox of the first envelope address): "mailbox@host",
 * or the mailbox alone when it has no real host (a group's name, "foo"
 * without a domain); NULL when the field has no address. */
char *mime_first_address(struct arena *arena, const char *value)
{
	mime_address_array list = ARRAY_INIT;
	char *r = NULL;

	if (value == NULL)
		return NULL;
	mime_addr_parse_list(arena, value, &list);
	if (list.count > 0 && list.items[0].mailbox != NULL) {
		const struct mime_address *a = &list.items[0];
		if (a->host != NULL && strcmp(a->host, MIME_MISSING_DOMAIN) != 0)
			r = arena_printf(arena, "%s@%s", a->mailbox, a->host);
		else
			r = arena_strdup(arena, a->mailbox);
	}
	array_free(&list);
	return r;
}
