/*
 * fetch-parse: the pure half of FETCH (see fetch.h). The argument grammar of
 * RFC 9051 §9 (fetch, fetch-att, section, partial) plus RFC 3501's RFC822,
 * RFC822.HEADER and RFC822.TEXT; and the pure computations the executor
 * needs: where a section lies in the stored message, partial clamping, and
 * the INTERNALDATE format. Nothing here touches the store or the session,
 * so all of it is unit tested and fuzzed.
 */
#include "imap/fetch.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/str.h"

/* Longest item name we look at ("HEADER.FIELDS.NOT", "BODYSTRUCTURE"):
 * anything longer is not a name we know. */
#define FETCH_MAX_NAME 32
/* "1.2.3..." at IMAP_FETCH_MAX_SECTION_DEPTH numbers of up to 10 digits. */
#define FETCH_MAX_SECTION_TEXT (IMAP_FETCH_MAX_SECTION_DEPTH * 11 + 1)

/* A growable pointer list built in a heap buf, then copied to the arena:
 * the parser must not leak on error paths, and the arena cannot shrink. */
static void fetch_list_push(struct buf *list, const void *item, size_t size)
{
	buf_append(list, item, size);
}

/* The list's final home in the arena; the heap buffer is released. */
static void *fetch_list_finish(struct arena *arena, struct buf *list)
{
	void *copy = list->len ? arena_memdup(arena, list->data, list->len) : NULL;

	buf_free(list);
	return copy;
}

/* Letters, digits and '.': the characters of item names and of the
 * non-numeric section specifiers. Reads at most FETCH_MAX_NAME of them. */
static size_t fetch_scan_name(const struct imap_parser *parser, char *name)
{
	size_t n = 0;
	const char *p = parser->p;

	while (p < parser->end && n < FETCH_MAX_NAME) {
		char c = *p;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '.'))
			break;
		name[n++] = c;
		p++;
	}
	name[n] = '\0';
	return n;
}

/* RFC 9051 §9 header-list: "(" header-fld-name *(SP header-fld-name) ")"
 * with header-fld-name = astring. Names are echoed back in the response
 * name, so it is built here too. */
static bool fetch_parse_header_list(struct imap_parser *parser, struct imap_fetch_section *section,
				    struct buf *name)
{
	struct buf list = BUF_INIT;
	char *field;
	size_t len;

	if (!imap_parse_sp(parser) || !imap_parse_char(parser, '('))
		return imap_parser_fail(parser, "Expected a header field list");
	buf_append_str(name, " (");
	for (;;) {
		if (section->field_count == IMAP_FETCH_MAX_FIELDS) {
			buf_free(&list);
			return imap_parser_fail(parser, "[LIMIT] Too many header fields");
		}
		if (!imap_parse_astring(parser, &field, &len)) {
			buf_free(&list);
			return false;
		}
		if (len == 0 || memchr(field, '\0', len) != NULL || strpbrk(field, ": \t\r\n")) {
			buf_free(&list);
			return imap_parser_fail(parser, "Invalid header field name");
		}
		fetch_list_push(&list, &field, sizeof(field));
		if (section->field_count++ > 0)
			buf_append_char(name, ' ');
		imap_write_astring(name, field, false);
		if (imap_peek_char(parser, ')'))
			break;
		if (!imap_parse_sp(parser)) {
			buf_free(&list);
			return false;
		}
	}
	parser->p++;
	buf_append_char(name, ')');
	section->fields = fetch_list_finish(parser->arena, &list);
	return true;
}

/* section-part = nz-number *("." nz-number). Leaves the parser on the '.'
 * that starts a text specifier, if any. Appends the canonical digits. */
static bool fetch_parse_part_numbers(struct imap_parser *parser, struct buf *part)
{
	unsigned depth = 0;
	uint32_t n;

	for (;;) {
		if (!imap_parse_number(parser, &n) || n == 0)
			return imap_parser_fail(parser, "Invalid section part number");
		if (++depth > IMAP_FETCH_MAX_SECTION_DEPTH)
			return imap_parser_fail(parser, "[LIMIT] Section nested too deep");
		if (part->len > 0)
			buf_append_char(part, '.');
		buf_printf(part, "%u", n);
		if (!imap_peek_char(parser, '.') || parser->p + 1 >= parser->end ||
		    parser->p[1] < '0' || parser->p[1] > '9')
			return true;
		parser->p++;
	}
}

/* section-text after the optional part: HEADER, HEADER.FIELDS[.NOT] list,
 * TEXT, or MIME (RFC 9051 §6.4.5.1: MIME only after a part number). */
static bool fetch_parse_section_text(struct imap_parser *parser, struct imap_fetch_section *section,
				     struct buf *name)
{
	char word[FETCH_MAX_NAME + 1];
	size_t len = fetch_scan_name(parser, word);
	bool has_part = section->part[0] != '\0';

	if (str_eq_nocase(word, "HEADER"))
		section->text = IMAP_SECTION_HEADER;
	else if (str_eq_nocase(word, "HEADER.FIELDS"))
		section->text = IMAP_SECTION_HEADER_FIELDS;
	else if (str_eq_nocase(word, "HEADER.FIELDS.NOT"))
		section->text = IMAP_SECTION_HEADER_FIELDS_NOT;
	else if (str_eq_nocase(word, "TEXT"))
		section->text = IMAP_SECTION_TEXT;
	else if (str_eq_nocase(word, "MIME") && has_part)
		section->text = IMAP_SECTION_MIME;
	else
		return imap_parser_fail(parser, "Invalid section");
	parser->p += len;
	for (char *c = word; *c != '\0'; c++) {
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	}
	buf_append_str(name, word);
	if (section->text == IMAP_SECTION_HEADER_FIELDS ||
	    section->text == IMAP_SECTION_HEADER_FIELDS_NOT)
		return fetch_parse_header_list(parser, section, name);
	return true;
}

/* section = "[" [section-spec] "]", parser on the '['. name gets the
 * canonical text between the brackets, brackets included. */
static bool fetch_parse_section(struct imap_parser *parser, struct imap_fetch_section *section,
				struct buf *name)
{
	struct buf part = BUF_INIT;

	if (!imap_parse_char(parser, '['))
		return imap_parser_fail(parser, "Expected a section");
	buf_append_char(name, '[');
	if (parser->p < parser->end && *parser->p >= '0' && *parser->p <= '9') {
		if (!fetch_parse_part_numbers(parser, &part)) {
			buf_free(&part);
			return false;
		}
	}
	section->part = arena_memdup(parser->arena, part.data ? part.data : "", part.len);
	buf_free(&part);
	buf_append_str(name, section->part);
	section->text = IMAP_SECTION_ALL;
	if (section->part[0] != '\0' && imap_peek_char(parser, '.')) {
		parser->p++;
		buf_append_char(name, '.');
		if (!fetch_parse_section_text(parser, section, name))
			return false;
	} else if (section->part[0] == '\0' && !imap_peek_char(parser, ']')) {
		if (!fetch_parse_section_text(parser, section, name))
			return false;
	}
	if (!imap_parse_char(parser, ']'))
		return imap_parser_fail(parser, "Expected ']' after the section");
	buf_append_char(name, ']');
	return true;
}

bool imap_fetch_parse_section_spec(struct arena *arena, const char *text, size_t len,
				   struct imap_fetch_section *section_r)
{
	struct imap_parser parser;
	struct buf name = BUF_INIT;
	char *bracketed = arena_alloc(arena, len + 3);

	bracketed[0] = '[';
	memcpy(bracketed + 1, text, len);
	bracketed[len + 1] = ']';
	bracketed[len + 2] = '\0';
	imap_parser_init(&parser, arena, bracketed, len + 2);
	bool ok = fetch_parse_section(&parser, section_r, &name) && imap_at_end(&parser);
	buf_free(&name);
	return ok;
}

/* partial = "<" number64 "." nz-number64 ">" (RFC 9051 §9). */
static bool fetch_parse_partial(struct imap_parser *parser, struct imap_fetch_item *item)
{
	if (!imap_peek_char(parser, '<'))
		return true;
	parser->p++;
	if (!imap_parse_number64(parser, &item->origin) || !imap_parse_char(parser, '.') ||
	    !imap_parse_number64(parser, &item->length) || !imap_parse_char(parser, '>'))
		return imap_parser_fail(parser, "Invalid partial <origin.length>");
	if (item->length == 0)
		return imap_parser_fail(parser, "Partial length must not be zero");
	item->partial = true;
	return true;
}

/* BODY[...] / BODY.PEEK[...]: the section, then an optional partial. The
 * response name drops ".PEEK" (RFC 9051 §7.5.2). */
static bool fetch_parse_body_section(struct imap_parser *parser, struct imap_fetch_item *item,
				     bool peek)
{
	struct buf name = BUF_INIT;

	item->kind = IMAP_FETCH_SECTION;
	item->peek = peek;
	buf_append_str(&name, "BODY");
	if (!fetch_parse_section(parser, &item->section, &name) ||
	    !fetch_parse_partial(parser, item)) {
		buf_free(&name);
		return false;
	}
	item->response_name = arena_memdup(parser->arena, name.data, name.len);
	buf_free(&name);
	return true;
}

/* RFC 3516 §4.2: BINARY[part]<partial>, BINARY.PEEK[..], BINARY.SIZE[part];
 * section-binary is only part numbers, no HEADER/TEXT/MIME. */
static bool fetch_parse_binary(struct imap_parser *parser, struct imap_fetch_item *item,
			       const char *name, bool peek)
{
	struct buf part = BUF_INIT;
	bool size = strcmp(name, "BINARY.SIZE") == 0;

	item->kind = size ? IMAP_FETCH_BINARY_SIZE : IMAP_FETCH_BINARY;
	item->peek = peek;
	if (!imap_parse_char(parser, '['))
		return false;
	if (parser->p < parser->end && *parser->p >= '0' && *parser->p <= '9' &&
	    !fetch_parse_part_numbers(parser, &part)) {
		buf_free(&part);
		return false;
	}
	item->section.part = arena_memdup(parser->arena, part.data ? part.data : "", part.len);
	item->section.text = IMAP_SECTION_ALL;
	buf_free(&part);
	if (!imap_parse_char(parser, ']'))
		return imap_parser_fail(parser, "Expected ']' after the binary section");
	if (!size && !fetch_parse_partial(parser, item))
		return false;
	item->response_name = arena_printf(parser->arena, "%s[%s]", name, item->section.part);
	return true;
}

/* RFC 3501 §6.4.5: RFC822 = BODY[], RFC822.HEADER = BODY.PEEK[HEADER],
 * RFC822.TEXT = BODY[TEXT], each answered under its own name. */
static void fetch_set_rfc822(struct imap_parser *parser, struct imap_fetch_item *item,
			     const char *name, enum imap_fetch_section_text text, bool peek)
{
	item->kind = IMAP_FETCH_SECTION;
	item->section.part = arena_strdup(parser->arena, "");
	item->section.text = text;
	item->peek = peek;
	item->response_name = arena_strdup(parser->arena, name);
}

/* RFC 8970 §3: PREVIEW, optionally with "(LAZY)" (our previews are made at
 * save time, so they are never expensive and LAZY changes nothing). */
static bool fetch_parse_preview(struct imap_parser *parser, struct imap_fetch_item *item)
{
	char *mod;

	item->kind = IMAP_FETCH_PREVIEW;
	if (!imap_peek_char(parser, ' ') || parser->p + 1 >= parser->end || parser->p[1] != '(')
		return true;
	parser->p += 2;
	if (!imap_parse_atom(parser, &mod) || !str_eq_nocase(mod, "LAZY") ||
	    !imap_parse_char(parser, ')'))
		return imap_parser_fail(parser, "Expected PREVIEW (LAZY)");
	return true;
}

/* One fetch-att. The name is read as letters, digits and dots; a '[' after
 * BODY or BODY.PEEK starts a section. */
static bool fetch_parse_item(struct imap_parser *parser, struct imap_fetch_item *item)
{
	char name[FETCH_MAX_NAME + 1];
	size_t len = fetch_scan_name(parser, name);
	bool bracket;

	if (len == 0)
		return imap_parser_fail(parser, "Expected a fetch item");
	parser->p += len;
	bracket = imap_peek_char(parser, '[');
	memset(item, 0, sizeof(*item));
	if (str_eq_nocase(name, "BODY") && bracket)
		return fetch_parse_body_section(parser, item, false);
	if (str_eq_nocase(name, "BODY.PEEK") && bracket)
		return fetch_parse_body_section(parser, item, true);
	if (str_eq_nocase(name, "BINARY") && bracket)
		return fetch_parse_binary(parser, item, "BINARY", false);
	if (str_eq_nocase(name, "BINARY.PEEK") && bracket)
		return fetch_parse_binary(parser, item, "BINARY", true);
	if (str_eq_nocase(name, "BINARY.SIZE") && bracket)
		return fetch_parse_binary(parser, item, "BINARY.SIZE", true);
	if (bracket)
		return imap_parser_fail(parser, "Unexpected section");
	if (str_eq_nocase(name, "UID"))
		item->kind = IMAP_FETCH_UID;
	else if (str_eq_nocase(name, "FLAGS"))
		item->kind = IMAP_FETCH_FLAGS;
	else if (str_eq_nocase(name, "INTERNALDATE"))
		item->kind = IMAP_FETCH_INTERNALDATE;
	else if (str_eq_nocase(name, "RFC822.SIZE"))
		item->kind = IMAP_FETCH_RFC822_SIZE;
	else if (str_eq_nocase(name, "MODSEQ"))
		item->kind = IMAP_FETCH_MODSEQ;
	else if (str_eq_nocase(name, "PREVIEW"))
		return fetch_parse_preview(parser, item);
	else if (str_eq_nocase(name, "EMAILID"))
		item->kind = IMAP_FETCH_EMAILID;
	else if (str_eq_nocase(name, "THREADID"))
		item->kind = IMAP_FETCH_THREADID;
	else if (str_eq_nocase(name, "SAVEDATE"))
		item->kind = IMAP_FETCH_SAVEDATE;
	else if (str_eq_nocase(name, "ENVELOPE"))
		item->kind = IMAP_FETCH_ENVELOPE;
	else if (str_eq_nocase(name, "BODYSTRUCTURE"))
		item->kind = IMAP_FETCH_BODYSTRUCTURE;
	else if (str_eq_nocase(name, "BODY"))
		item->kind = IMAP_FETCH_BODY;
	else if (str_eq_nocase(name, "RFC822"))
		fetch_set_rfc822(parser, item, "RFC822", IMAP_SECTION_ALL, false);
	else if (str_eq_nocase(name, "RFC822.HEADER"))
		fetch_set_rfc822(parser, item, "RFC822.HEADER", IMAP_SECTION_HEADER, true);
	else if (str_eq_nocase(name, "RFC822.TEXT"))
		fetch_set_rfc822(parser, item, "RFC822.TEXT", IMAP_SECTION_TEXT, false);
	else
		return imap_parser_fail(parser, "Unknown fetch item");
	return true;
}

/* RFC 9051 §6.4.5 macros; "must be used by itself", so only outside a list. */
static bool fetch_expand_macro(const char *name, struct buf *items)
{
	static const enum imap_fetch_item_kind all[] = {
		IMAP_FETCH_FLAGS, IMAP_FETCH_INTERNALDATE, IMAP_FETCH_RFC822_SIZE,
		IMAP_FETCH_ENVELOPE, IMAP_FETCH_BODY,
	};
	size_t count;

	if (str_eq_nocase(name, "FAST"))
		count = 3;
	else if (str_eq_nocase(name, "ALL"))
		count = 4;
	else if (str_eq_nocase(name, "FULL"))
		count = 5;
	else
		return false;
	for (size_t i = 0; i < count; i++) {
		struct imap_fetch_item item = { .kind = all[i] };
		fetch_list_push(items, &item, sizeof(item));
	}
	return true;
}

/* A macro, a single item, or a parenthesised list of items. */
static bool fetch_parse_items(struct imap_parser *parser, struct buf *items)
{
	struct imap_fetch_item item;
	char name[FETCH_MAX_NAME + 1];
	size_t len = fetch_scan_name(parser, name);
	bool list;

	if (len > 0 && (parser->p + len == parser->end || parser->p[len] != '[') &&
	    fetch_expand_macro(name, items)) {
		parser->p += len;
		return true;
	}
	list = imap_peek_char(parser, '(');
	if (list)
		parser->p++;
	for (;;) {
		if (items->len / sizeof(item) == IMAP_FETCH_MAX_ITEMS)
			return imap_parser_fail(parser, "[LIMIT] Too many fetch items");
		if (!fetch_parse_item(parser, &item))
			return false;
		fetch_list_push(items, &item, sizeof(item));
		if (!list)
			return true;
		if (imap_peek_char(parser, ')')) {
			parser->p++;
			return true;
		}
		if (!imap_peek_char(parser, ' '))
			return imap_parser_fail(parser, "Expected ')' or another fetch item");
		parser->p++;
	}
}

/* Summaries the executor uses to decide what to load per message. */
static void fetch_summarise(struct imap_fetch_request *request)
{
	request->view_only = true;
	for (size_t i = 0; i < request->item_count; i++) {
		enum imap_fetch_item_kind kind = request->items[i].kind;
		if (kind != IMAP_FETCH_UID && kind != IMAP_FETCH_FLAGS && kind != IMAP_FETCH_MODSEQ)
			request->view_only = false;
	}
	for (size_t i = 0; i < request->item_count; i++) {
		const struct imap_fetch_item *item = &request->items[i];

		switch (item->kind) {
		case IMAP_FETCH_UID:
			request->has_uid = true;
			break;
		case IMAP_FETCH_FLAGS:
			request->has_flags = true;
			break;
		case IMAP_FETCH_MODSEQ:
			request->has_modseq = true;
			break;
		case IMAP_FETCH_PREVIEW:
		case IMAP_FETCH_EMAILID:
			request->needs_search = true;
			break;
		case IMAP_FETCH_BINARY:
		case IMAP_FETCH_BINARY_SIZE:
			if (!item->peek)
				request->sets_seen = true;
			request->needs_structure = true;
			break;
		case IMAP_FETCH_ENVELOPE:
		case IMAP_FETCH_BODYSTRUCTURE:
		case IMAP_FETCH_BODY:
			request->needs_structure = true;
			break;
		case IMAP_FETCH_SECTION:
			/* RFC 9051 §6.4.5: BODY[...] sets \Seen, BODY.PEEK does not */
			if (!item->peek)
				request->sets_seen = true;
			if (item->section.part[0] != '\0' || item->section.text != IMAP_SECTION_ALL)
				request->needs_structure = true;
			break;
		default:
			break;
		}
	}
}

bool imap_fetch_parse(struct imap_parser *parser, struct imap_fetch_request **request_r)
{
	struct imap_fetch_request *request = arena_zalloc(parser->arena, sizeof(*request));
	struct buf items = BUF_INIT;

	if (!imap_parse_sp(parser) || !imap_parse_seqset(parser, &request->set))
		return imap_parser_fail(parser, "Expected a sequence set");
	if (!imap_parse_sp(parser) || !fetch_parse_items(parser, &items)) {
		buf_free(&items);
		return imap_parser_fail(parser, "Invalid fetch items");
	}
	request->item_count = items.len / sizeof(struct imap_fetch_item);
	request->items = fetch_list_finish(parser->arena, &items);
	fetch_summarise(request);
	*request_r = request;
	return true;
}

bool imap_fetch_parse_items(struct imap_parser *parser, struct imap_fetch_request **request_r)
{
	struct imap_fetch_request *request = arena_zalloc(parser->arena, sizeof(*request));
	struct buf items = BUF_INIT;

	if (!fetch_parse_items(parser, &items)) {
		buf_free(&items);
		return imap_parser_fail(parser, "Invalid fetch items");
	}
	request->item_count = items.len / sizeof(struct imap_fetch_item);
	request->items = fetch_list_finish(parser->arena, &items);
	fetch_summarise(request);
	*request_r = request;
	return true;
}

/* ---- section ranges ------------------------------------------------------- */

/* The part a section names, with the fallback for the implicit part 1 of a
 * non-multipart body (RFC 9051 §6.4.5.1: "Every message has at least one
 * part number"): "1" of a single-part message, "N.1" of an encapsulated
 * single-part message. Such a part is given as a synthetic entry. */
static const struct mime_part *fetch_find_part(const struct mime_part *parts, size_t count,
					       const char *section, struct mime_part *tmp)
{
	const struct mime_part *part = mime_parts_find(parts, count, section);
	const struct mime_part *parent;
	size_t len = strlen(section);
	char parent_name[FETCH_MAX_SECTION_TEXT];

	if (part != NULL || len == 0)
		return part;
	if (strcmp(section, "1") == 0) {
		parent = &parts[0];
		if (parent->multipart)
			return NULL;
		*tmp = *parent;
		return tmp;
	}
	if (len < 3 || len - 2 >= sizeof(parent_name) || strcmp(section + len - 2, ".1") != 0)
		return NULL;
	memcpy(parent_name, section, len - 2);
	parent_name[len - 2] = '\0';
	parent = mime_parts_find(parts, count, parent_name);
	if (parent == NULL || !parent->message || parent->inner_body_offset < parent->body_offset)
		return NULL;
	/* the inner message's header is this part's MIME header */
	*tmp = *parent;
	tmp->header_offset = parent->body_offset;
	tmp->body_offset = parent->inner_body_offset;
	tmp->message = false;
	tmp->multipart = false;
	return tmp;
}

/* Clamp a range to the message and keep start <= end. */
static void fetch_set_range(struct imap_fetch_range *range, uint64_t start, uint64_t end,
			    uint64_t size, bool header)
{
	if (end > size)
		end = size;
	if (start > end)
		start = end;
	range->start = start;
	range->end = end;
	range->header = header;
}

bool imap_fetch_section_range(const struct imap_fetch_section *section,
			      const struct mime_part *parts, size_t part_count, uint64_t size,
			      struct imap_fetch_range *range_r)
{
	struct mime_part tmp;
	const struct mime_part *part;
	bool top = section->part[0] == '\0';

	if (top && section->text == IMAP_SECTION_ALL) {
		fetch_set_range(range_r, 0, size, size, false);
		return true;
	}
	if (part_count == 0 || parts == NULL)
		return false;
	part = top ? &parts[0] : fetch_find_part(parts, part_count, section->part, &tmp);
	if (part == NULL)
		return false;
	switch (section->text) {
	case IMAP_SECTION_ALL:
		fetch_set_range(range_r, part->body_offset, part->body_end, size, false);
		return true;
	case IMAP_SECTION_MIME:
		fetch_set_range(range_r, part->header_offset, part->body_offset, size, true);
		return true;
	case IMAP_SECTION_HEADER:
	case IMAP_SECTION_HEADER_FIELDS:
	case IMAP_SECTION_HEADER_FIELDS_NOT:
		if (top) {
			fetch_set_range(range_r, 0, part->body_offset, size, true);
			return true;
		}
		/* RFC 9051 §6.4.5.1: only a MESSAGE/RFC822 or MESSAGE/GLOBAL
		 * part has a header of its own */
		if (!part->message)
			return false;
		fetch_set_range(range_r, part->body_offset, part->inner_body_offset, size, true);
		return true;
	case IMAP_SECTION_TEXT:
		if (top) {
			fetch_set_range(range_r, part->body_offset, size, size, false);
			return true;
		}
		if (!part->message)
			return false;
		fetch_set_range(range_r, part->inner_body_offset, part->body_end, size, false);
		return true;
	}
	return false;
}

void imap_fetch_partial(const struct imap_fetch_item *item, size_t total, size_t *offset_r,
			size_t *length_r)
{
	if (!item->partial) {
		*offset_r = 0;
		*length_r = total;
		return;
	}
	/* RFC 9051 §6.4.5: "If the starting octet is beyond the end of the
	 * text, an empty string is returned"; reads past the end truncate. */
	if (item->origin >= total) {
		*offset_r = total;
		*length_r = 0;
		return;
	}
	*offset_r = (size_t)item->origin;
	*length_r = total - *offset_r;
	if (item->length < *length_r)
		*length_r = (size_t)item->length;
}

void imap_fetch_format_date(int64_t time, int tz_minutes, char *out)
{
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
	};
	/* RFC 5322 zones are at most +-99:59 */
	if (tz_minutes > 5999 || tz_minutes < -5999)
		tz_minutes = 0;
	time_t local = (time_t)(time + (int64_t)tz_minutes * 60);
	struct tm tm;
	int tz = tz_minutes < 0 ? -tz_minutes : tz_minutes;

	if (gmtime_r(&local, &tm) == NULL || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
		local = 0;
		gmtime_r(&local, &tm);
		tz = 0;
		tz_minutes = 0;
	}
	/* RFC 9051 §9 date-time: date-day-fixed "-" date-month "-" date-year
	 * SP time SP zone */
	snprintf(out, IMAP_FETCH_DATE_SIZE, "%02d-%s-%04d %02d:%02d:%02d %c%02d%02d", tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 tz_minutes < 0 ? '-' : '+', tz / 60, tz % 60);
}

/* RFC 7162 §3.1.4.1 / §3.2.6: " (CHANGEDSINCE n [VANISHED])", in either
 * order. VANISHED needs CHANGEDSINCE; the caller checks it is UID FETCH
 * with QRESYNC enabled. */
bool imap_fetch_parse_modifiers(struct imap_parser *parser, struct imap_fetch_request *request)
{
	char *name;

	if (!imap_peek_char(parser, ' '))
		return true;
	parser->p++;
	if (!imap_parse_char(parser, '('))
		return false;
	do {
		if (!imap_parse_atom(parser, &name))
			return false;
		if (str_eq_nocase(name, "CHANGEDSINCE") && !request->changedsince_given) {
			if (!imap_parse_sp(parser) ||
			    !imap_parse_number64(parser, &request->changedsince))
				return false;
			request->changedsince_given = true;
		} else if (str_eq_nocase(name, "VANISHED") && !request->vanished) {
			request->vanished = true;
		} else if (str_eq_nocase(name, "PARTIAL") && !request->partial_given) {
			if (!imap_parse_sp(parser) || !imap_partial_parse(parser, &request->partial))
				return false;
			request->partial_given = true;
		} else {
			return imap_parser_fail(parser, "Unknown or repeated FETCH modifier");
		}
	} while (imap_peek_char(parser, ' ') && parser->p++);
	if (request->vanished && !request->changedsince_given)
		return imap_parser_fail(parser, "VANISHED needs CHANGEDSINCE");
	return imap_parse_char(parser, ')');
}

bool imap_fetch_items_pushable(const struct imap_fetch_request *request)
{
	for (size_t i = 0; i < request->item_count; i++) {
		const struct imap_fetch_item *item = &request->items[i];
		bool text = item->kind == IMAP_FETCH_BINARY ||
			    (item->kind == IMAP_FETCH_SECTION &&
			     (item->section.text == IMAP_SECTION_ALL ||
			      item->section.text == IMAP_SECTION_TEXT));

		if (text && (!item->partial || item->length > IMAP_FETCH_PUSH_TEXT_MAX))
			return false;
	}
	return true;
}
