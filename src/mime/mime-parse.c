/*
 * mime-parse: builds the part tree of a message (RFC 2045, RFC 2046) and
 * from it everything struct mime_message holds.
 *
 * Each node knows its byte range in the raw message. A multipart's body is
 * split at its delimiter lines first, and each child is then parsed inside
 * its own range, so a child never runs past its parent's boundary even when
 * its own end boundary is missing. Each nesting level scans its bytes once,
 * and depth is capped at MIME_MAX_DEPTH, so the work is linear in the size
 * of the message times a small constant.
 */
#include "mime/mime-private.h"

#include <string.h>

#include "core/array.h"
#include "core/str.h"

/* What one parse needs at hand; lives on the stack of mime_parse_message. */
struct mime_parser {
	struct arena *arena;
	const char *data;
	size_t len;
	size_t node_count;
};

static struct mime_node *mime_node_parse(struct mime_parser *p, size_t start, size_t end,
					 unsigned depth, bool in_digest);

/* RFC 2045 §5.2: the default type is text/plain; charset=us-ascii (the
 * charset is added when rendering). */
static void mime_ctype_default(struct mime_ctype *ct, const char *type, const char *subtype)
{
	memset(ct, 0, sizeof(*ct));
	ct->type = (char *)type;
	ct->subtype = (char *)subtype;
}

/* Lines of a body as RFC 9051 counts them: line ends, plus a last line
 * that has none (the CRLF before a boundary belongs to the boundary). */
static size_t mime_count_lines(const char *data, size_t start, size_t end)
{
	size_t n = 0;
	const char *p = data + start, *e = data + end;

	while ((p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		n++;
		p++;
	}
	if (end > start && data[end - 1] != '\n')
		n++;
	return n;
}

/* Where the line at pos ends: past its LF, or end. */
static size_t mime_next_line(const char *data, size_t pos, size_t end)
{
	const char *lf = memchr(data + pos, '\n', end - pos);

	return lf ? (size_t)(lf - data) + 1 : end;
}

/* RFC 2046 §5.1.1: is the line at pos a delimiter ("--" boundary, then
 * transport padding) or the close delimiter ("--" boundary "--")? 0 for
 * neither, 1 for a delimiter, 2 for the close delimiter. */
static int mime_boundary_kind(const char *data, size_t pos, size_t end, const char *boundary,
			      size_t blen)
{
	size_t after = pos + 2 + blen;

	if (end - pos < 2 + blen || data[pos] != '-' || data[pos + 1] != '-' ||
	    memcmp(data + pos + 2, boundary, blen) != 0)
		return 0;
	if (end - after >= 2 && data[after] == '-' && data[after + 1] == '-')
		return 2;
	while (after < end && (mime_is_wsp(data[after]) || data[after] == '\r'))
		after++;
	return after == end || data[after] == '\n' ? 1 : 0;
}

/* Where a part that precedes the delimiter line at pos ends: the line end
 * before the delimiter belongs to the delimiter (RFC 2046 §5.1.1). */
static size_t mime_part_end_before(const char *data, size_t part_start, size_t pos)
{
	size_t e = pos;

	if (e > part_start && data[e - 1] == '\n')
		e--;
	if (e > part_start && data[e - 1] == '\r')
		e--;
	return e;
}

/* Append a child to a multipart. */
static void mime_add_child(struct mime_node *parent, struct mime_node ***tail,
			   struct mime_node *child)
{
	(void)parent;
	**tail = child;
	*tail = &child->next;
}

/* A multipart whose boundary never shows has no parts; RFC 9051 needs at
 * least one body in the list, so (as Dovecot does) an empty text/plain
 * stands in for it. */
static struct mime_node *mime_fake_child(struct mime_parser *p, const struct mime_node *parent)
{
	struct mime_node *n = arena_zalloc(p->arena, sizeof(*n));

	n->header_offset = n->body_offset = n->body_end = parent->body_end;
	mime_ctype_default(&n->ctype, "text", "plain");
	n->kind = MIME_KIND_LEAF;
	n->fake = true;
	p->node_count++;
	return n;
}

/* RFC 2046 §5.1: split the body at the delimiter lines; the preamble before
 * the first and the epilogue after the close delimiter are ignored. A
 * missing close delimiter ends the last part at the end of the body. */
static void mime_parse_multipart(struct mime_parser *p, struct mime_node *node,
				 const char *boundary, unsigned depth)
{
	struct mime_node **tail = &node->children;
	size_t blen = strlen(boundary), end = node->body_end, part = SIZE_MAX;
	bool digest = strcmp(node->ctype.subtype, "digest") == 0;

	for (size_t pos = node->body_offset; pos < end;) {
		int kind = mime_boundary_kind(p->data, pos, end, boundary, blen);
		size_t next = mime_next_line(p->data, pos, end);
		if (kind == 0) {
			pos = next;
			continue;
		}
		if (part != SIZE_MAX) {
			size_t part_end = mime_part_end_before(p->data, part, pos);
			mime_add_child(node, &tail, mime_node_parse(p, part, part_end,
								    depth + 1, digest));
		}
		if (kind == 2) {
			part = SIZE_MAX;
			break;
		}
		part = next;
		pos = next;
		/* MIME_MAX_PARTS: the rest of the body becomes the last part. */
		if (p->node_count + 1 >= MIME_MAX_PARTS)
			break;
	}
	if (part != SIZE_MAX)
		mime_add_child(node, &tail, mime_node_parse(p, part, end, depth + 1, digest));
	if (node->children == NULL)
		node->children = mime_fake_child(p, node);
}

/* Decide what the node is from its Content-Type; containers too deep or
 * past the part budget become opaque application/octet-stream leaves. */
static void mime_node_classify(struct mime_parser *p, struct mime_node *n, unsigned depth,
			       bool in_digest)
{
	const char *ct = n->headers.value[MIME_H_CONTENT_TYPE];

	if (ct != NULL)
		mime_parse_ctype(p->arena, ct, false, &n->ctype);
	if (n->ctype.type == NULL) {
		/* RFC 2046 §5.1.5: in a digest the default is message/rfc822. */
		if (in_digest)
			mime_ctype_default(&n->ctype, "message", "rfc822");
		else
			mime_ctype_default(&n->ctype, "text", "plain");
	}
	n->kind = MIME_KIND_LEAF;
	if (strcmp(n->ctype.type, "multipart") == 0) {
		const char *b = mime_param_get(&n->ctype, "boundary");
		/* RFC 2045 §5.2: a multipart without a boundary cannot be
		 * read as one; treat it as text/plain. */
		if (b == NULL || *b == '\0')
			mime_ctype_default(&n->ctype, "text", "plain");
		else
			n->kind = MIME_KIND_MULTIPART;
	} else if (strcmp(n->ctype.type, "message") == 0 &&
		   (strcmp(n->ctype.subtype, "rfc822") == 0 ||
		    strcmp(n->ctype.subtype, "global") == 0)) {
		n->kind = MIME_KIND_MESSAGE;
	}
	if (n->kind != MIME_KIND_LEAF &&
	    (depth >= MIME_MAX_DEPTH || p->node_count >= MIME_MAX_PARTS)) {
		mime_ctype_default(&n->ctype, "application", "octet-stream");
		n->kind = MIME_KIND_LEAF;
	}
}

/* Parse the entity (header, blank line, body) in data[start..end). */
static struct mime_node *mime_node_parse(struct mime_parser *p, size_t start, size_t end,
					 unsigned depth, bool in_digest)
{
	struct mime_node *n = arena_zalloc(p->arena, sizeof(*n));

	p->node_count++;
	n->header_offset = start;
	n->body_offset = mime_header_body_start(p->data, start, end);
	n->body_end = end;
	mime_headers_collect(p->arena, p->data, start, n->body_offset, &n->headers);
	mime_node_classify(p, n, depth, in_digest);
	const char *cd = n->headers.value[MIME_H_CONTENT_DISPOSITION];
	if (cd != NULL)
		mime_parse_ctype(p->arena, cd, true, &n->disposition);
	if (n->kind == MIME_KIND_MULTIPART)
		mime_parse_multipart(p, n, mime_param_get(&n->ctype, "boundary"), depth);
	else if (n->kind == MIME_KIND_MESSAGE)
		n->children = mime_node_parse(p, n->body_offset, end, depth + 1, false);
	if (n->kind == MIME_KIND_MESSAGE || strcmp(n->ctype.type, "text") == 0)
		n->lines = mime_count_lines(p->data, n->body_offset, end);
	return n;
}

typedef ARRAY(struct mime_part) mime_part_array;

static void mime_table_add(struct arena *arena, mime_part_array *table, const char *section,
			   const struct mime_node *n, size_t header_offset)
{
	struct mime_part part = {
		.section = arena_strdup(arena, section),
		.header_offset = (uint32_t)header_offset,
		.body_offset = (uint32_t)n->body_offset,
		.body_end = (uint32_t)n->body_end,
		.multipart = n->kind == MIME_KIND_MULTIPART,
		.message = n->kind == MIME_KIND_MESSAGE,
		.inner_body_offset = n->kind == MIME_KIND_MESSAGE ?
			(uint32_t)n->children->body_offset : 0,
	};
	array_push(table, part);
}

static void mime_table_children(struct arena *arena, mime_part_array *table,
				const struct mime_node *multipart, const char *prefix);

/* RFC 9051 §6.4.5: the parts of a message/rfc822 part numbered "sec": its
 * inner multipart's children are sec.1, sec.2...; a single-part inner
 * message's body is sec.1. */
static void mime_table_message(struct arena *arena, mime_part_array *table,
			       const struct mime_node *msg, const char *sec)
{
	if (msg->kind == MIME_KIND_MULTIPART) {
		mime_table_children(arena, table, msg, sec);
		return;
	}
	char *sub = *sec ? arena_printf(arena, "%s.1", sec) : arena_strdup(arena, "1");
	mime_table_add(arena, table, sub, msg, msg->header_offset);
	if (msg->kind == MIME_KIND_MESSAGE)
		mime_table_message(arena, table, msg->children, sub);
}

static void mime_table_children(struct arena *arena, mime_part_array *table,
				const struct mime_node *multipart, const char *prefix)
{
	size_t i = 1;

	for (const struct mime_node *c = multipart->children; c != NULL; c = c->next, i++) {
		char *sec = *prefix ? arena_printf(arena, "%s.%zu", prefix, i) :
				      arena_printf(arena, "%zu", i);
		mime_table_add(arena, table, sec, c, c->header_offset);
		if (c->kind == MIME_KIND_MULTIPART)
			mime_table_children(arena, table, c, sec);
		else if (c->kind == MIME_KIND_MESSAGE)
			mime_table_message(arena, table, c->children, sec);
	}
}

/* The part table: "" for the message, then every section in order. */
static void mime_build_table(struct mime_message *msg, struct arena *arena,
			     const struct mime_node *root)
{
	mime_part_array table = ARRAY_INIT;

	mime_table_add(arena, &table, "", root, 0);
	mime_table_message(arena, &table, root, "");
	msg->parts = arena_alloc(arena, table.count * sizeof(*msg->parts));
	memcpy(msg->parts, table.items, table.count * sizeof(*msg->parts));
	msg->part_count = table.count;
	array_free(&table);
}

static char *mime_decoded(struct arena *arena, const char *value)
{
	return value != NULL ? mime_decode_header(arena, value, strlen(value)) : NULL;
}

/* Every header field as "Name: decoded value\n", for SEARCH TEXT. */
static char *mime_build_header_text(struct arena *arena, const char *data, size_t end)
{
	struct buf out = BUF_INIT;
	struct mime_field f;
	size_t pos = 0;

	while (mime_header_next(data, end, &pos, &f)) {
		if (!f.has_colon)
			continue;
		mime_append_raw(&out, f.name, f.name_len);
		buf_append_str(&out, ": ");
		buf_append_str(&out, mime_decode_header(arena, f.value, f.value_len));
		buf_append_char(&out, '\n');
	}
	return mime_buf_to_arena(arena, &out);
}

/* The SEARCH and SORT fields of the top-level header (DESIGN.md rule 2). */
static void mime_fill_search_fields(struct mime_message *msg, struct arena *arena,
				    const struct mime_node *root)
{
	char *const *v = root->headers.value;

	msg->from = mime_decoded(arena, v[MIME_H_FROM]);
	msg->to = mime_decoded(arena, v[MIME_H_TO]);
	msg->cc = mime_decoded(arena, v[MIME_H_CC]);
	msg->bcc = mime_decoded(arena, v[MIME_H_BCC]);
	msg->subject = mime_decoded(arena, v[MIME_H_SUBJECT]);
	msg->message_id = mime_decoded(arena, v[MIME_H_MESSAGE_ID]);
	msg->in_reply_to = mime_decoded(arena, v[MIME_H_IN_REPLY_TO]);
	msg->references = mime_decoded(arena, v[MIME_H_REFERENCES]);
	msg->from_addr = mime_first_address(arena, v[MIME_H_FROM]);
	msg->to_addr = mime_first_address(arena, v[MIME_H_TO]);
	msg->cc_addr = mime_first_address(arena, v[MIME_H_CC]);
	if (v[MIME_H_DATE] != NULL)
		msg->has_date = mime_parse_date(v[MIME_H_DATE], &msg->date,
						&msg->date_tz_minutes) == 0;
}

/* Render the three IMAP forms. */
static void mime_render_all(struct mime_message *msg, struct arena *arena,
			    const struct mime_node *root)
{
	struct buf b = BUF_INIT;

	mime_render_envelope(arena, &b, &root->headers);
	msg->envelope = mime_buf_to_arena(arena, &b);
	mime_render_body(arena, &b, root, true);
	msg->bodystructure = mime_buf_to_arena(arena, &b);
	mime_render_body(arena, &b, root, false);
	msg->body = mime_buf_to_arena(arena, &b);
}

struct mime_message *mime_parse_message(struct arena *arena, const char *data, size_t len)
{
	struct mime_message *msg = arena_zalloc(arena, sizeof(*msg));
	/* Offsets are 32-bit in the part table: a bigger message is parsed
	 * as far as they reach (the store's size limit is far below). */
	struct mime_parser p = { arena, data ? data : "", len > UINT32_MAX ? UINT32_MAX : len, 0 };

	struct mime_node *root = mime_node_parse(&p, 0, p.len, 0, false);
	msg->header_size = (uint32_t)root->body_offset;
	mime_render_all(msg, arena, root);
	mime_build_table(msg, arena, root);
	mime_fill_search_fields(msg, arena, root);
	msg->header_text = mime_build_header_text(arena, p.data, root->body_offset);
	mime_collect_text(msg, arena, p.data, root);
	return msg;
}
