/*
 * mime-parse: builds the part tree of a message (RFC 2045, RFC 2046) and
 * from it everything struct mime_message holds.
 *
 * The body is read once, front to back, with a stack of the boundaries of
 * the open multiparts. Every line that starts with "--" is checked against
 * the stack from the innermost boundary out, so a part ends at the first
 * boundary of any enclosing multipart (a missing close delimiter costs only
 * that multipart), and a nested multipart that reuses its parent's boundary
 * works as senders meant it: the inner one owns the lines until its close
 * delimiter. Depth is capped at MIME_MAX_DEPTH, so each line is compared
 * against at most that many boundaries: the work is linear in the size.
 */
#include "mime/mime-private.h"

#include <string.h>

#include "core/array.h"
#include "core/str.h"

struct mime_boundary {
	const char *s;
	size_t len;
};

/* The boundaries of the open multiparts, outermost first. */
struct mime_stack {
	struct mime_boundary items[MIME_MAX_DEPTH + 1];
	size_t count;
};

/* A boundary line found while scanning: what ends the current part. */
struct mime_hit {
	size_t line;  /* start of the boundary line; the data length for none */
	size_t next;  /* start of the line after it */
	int level;    /* index in the stack; -1 when the data ended first */
	bool close;   /* "--boundary--" */
};

/* What one parse needs at hand; lives on the stack of mime_parse_message. */
struct mime_parser {
	struct arena *arena;
	const char *data;
	size_t len;
	size_t node_count;
	struct mime_stack stack;
};

static struct mime_node *mime_entity_parse(struct mime_parser *p, size_t start, unsigned depth,
					   bool in_digest, struct mime_hit *hit_r);

/* RFC 2045 §5.2: the default type is text/plain; charset=us-ascii (the
 * charset is added when rendering). */
static void mime_ctype_default(struct mime_ctype *ct, const char *type, const char *subtype)
{
	memset(ct, 0, sizeof(*ct));
	ct->type = (char *)type;
	ct->subtype = (char *)subtype;
}

/* Lines of a body as Dovecot and Cyrus count them for RFC 9051 body-fld-lines:
 * the line ends in it (the CRLF before a boundary belongs to the boundary,
 * so a part's last line usually has none and is not counted). */
static size_t mime_count_lines(const char *data, size_t start, size_t end)
{
	size_t n = 0;
	const char *p = data + start, *e = data + end;

	while ((p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		n++;
		p++;
	}
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
static int mime_boundary_kind(const char *data, size_t pos, size_t end,
			      const struct mime_boundary *b)
{
	size_t after = pos + 2 + b->len;

	if (end - pos < 2 + b->len || data[pos] != '-' || data[pos + 1] != '-' ||
	    memcmp(data + pos + 2, b->s, b->len) != 0)
		return 0;
	if (end - after >= 2 && data[after] == '-' && data[after + 1] == '-')
		return 2;
	while (after < end && (mime_is_wsp(data[after]) || data[after] == '\r'))
		after++;
	return after == end || data[after] == '\n' ? 1 : 0;
}

/* Is the line at pos a boundary of an open multipart (innermost first)? */
static bool mime_line_hit(const struct mime_parser *p, size_t pos, struct mime_hit *hit)
{
	if (p->len - pos < 2 || p->data[pos] != '-' || p->data[pos + 1] != '-')
		return false;
	for (size_t i = p->stack.count; i-- > 0;) {
		int kind = mime_boundary_kind(p->data, pos, p->len, &p->stack.items[i]);
		if (kind != 0) {
			hit->line = pos;
			hit->next = mime_next_line(p->data, pos, p->len);
			hit->level = (int)i;
			hit->close = kind == 2;
			return true;
		}
	}
	return false;
}

/* The next boundary line at or after the line start pos. */
static void mime_scan(const struct mime_parser *p, size_t pos, struct mime_hit *hit)
{
	if (p->stack.count > 0) {
		for (; pos < p->len; pos = mime_next_line(p->data, pos, p->len)) {
			if (mime_line_hit(p, pos, hit))
				return;
		}
	}
	hit->line = hit->next = p->len;
	hit->level = -1;
	hit->close = false;
}

/* Where a part that runs up to hit ends: the line end before a boundary
 * belongs to the boundary (RFC 2046 §5.1.1); never before body_offset. */
static size_t mime_part_end(const struct mime_parser *p, size_t body_offset,
			    const struct mime_hit *hit)
{
	size_t e = hit->line;

	if (hit->level < 0)
		return p->len;
	if (e > body_offset && p->data[e - 1] == '\n')
		e--;
	if (e > body_offset && p->data[e - 1] == '\r')
		e--;
	return e > body_offset ? e : body_offset;
}

/* True when the line at pos is empty (CRLF, LF, or a lone CR at the end). */
static bool mime_blank_line(const struct mime_parser *p, size_t pos)
{
	const char *d = p->data;

	return d[pos] == '\n' || (d[pos] == '\r' && (pos + 1 == p->len || d[pos + 1] == '\n'));
}

/* The header starting at start ends at a blank line (the body follows it)
 * or at a boundary line (then the body is empty and *hit_r is set). Returns
 * where the header ends; *body_r is where the body starts. */
static size_t mime_header_scan(const struct mime_parser *p, size_t start, size_t *body_r,
			       struct mime_hit *hit_r, bool *hit_found_r)
{
	size_t pos = start;

	*hit_found_r = false;
	for (; pos < p->len; pos = mime_next_line(p->data, pos, p->len)) {
		if (mime_blank_line(p, pos)) {
			*body_r = mime_next_line(p->data, pos, p->len);
			return pos;
		}
		if (p->stack.count > 0 && mime_line_hit(p, pos, hit_r)) {
			*hit_found_r = true;
			*body_r = pos;
			return pos;
		}
	}
	*body_r = p->len;
	return p->len;
}

/* RFC 2046 §5.1.1: the line end before a delimiter belongs to the
 * delimiter. So an empty line at pos right before an enclosing delimiter is
 * not the end of the header above it: that part has no blank line and no
 * body, and its MIME header (RFC 9051 §6.4.5) is the header alone. (A
 * multipart's own first delimiter may follow its blank line directly: its
 * preamble is empty; the caller leaves multiparts out.) */
static bool mime_blank_before_delimiter(const struct mime_parser *p, size_t pos)
{
	struct mime_hit hit;
	size_t next;

	if (p->stack.count == 0 || pos >= p->len || !mime_blank_line(p, pos))
		return false;
	next = mime_next_line(p->data, pos, p->len);
	return next < p->len && mime_line_hit(p, next, &hit);
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

/* The boundary parameter; RFC 2231 senders may send "boundary*" with an
 * (empty) charset, which mime-param has turned into "utf-8''..." form. */
static const char *mime_boundary_param(struct mime_parser *p, const struct mime_ctype *ct)
{
	const char *b = mime_param_get(ct, "boundary");
	const char *ext = b ? NULL : mime_param_get(ct, "boundary*");

	if (ext != NULL && (ext = strchr(ext, '\'')) != NULL &&
	    (ext = strchr(ext + 1, '\'')) != NULL)
		b = mime_param_pct_decode(p->arena, ext + 1);
	return b;
}

/* MIME_MAX_PARTS reached: the rest of the multipart (up to its close
 * delimiter or an outer boundary) is added to its last part. */
static void mime_multipart_swallow(struct mime_parser *p, struct mime_node *last, int own,
				   struct mime_hit *hit)
{
	while (hit->level == own && !hit->close)
		mime_scan(p, hit->next, hit);
	last->body_end = mime_part_end(p, last->body_offset, hit);
}

/* RFC 2046 §5.1: the parts between the delimiters; the preamble before
 * the first is skipped. On return *hit is what ended the multipart: an
 * outer boundary or the end of the data (after the epilogue, or, when the
 * close delimiter is missing, right where the last part ended). */
static void mime_multipart_parse(struct mime_parser *p, struct mime_node *n, unsigned depth,
				 struct mime_hit *hit)
{
	struct mime_node **tail = &n->children, *last = NULL;
	int own = (int)p->stack.count;
	bool digest = strcmp(n->ctype.subtype, "digest") == 0;

	p->stack.items[p->stack.count].s = mime_boundary_param(p, &n->ctype);
	p->stack.items[p->stack.count].len = strlen(p->stack.items[own].s);
	p->stack.count++;
	mime_scan(p, n->body_offset, hit);
	while (hit->level == own && !hit->close && hit->next < p->len) {
		if (last != NULL && p->node_count + 1 >= MIME_MAX_PARTS) {
			mime_multipart_swallow(p, last, own, hit);
			break;
		}
		last = mime_entity_parse(p, hit->next, depth + 1, digest, hit);
		*tail = last;
		tail = &last->next;
	}
	p->stack.count--;
	if (hit->level == own && hit->close)
		mime_scan(p, hit->next, hit); /* the epilogue */
	else if (hit->level == own)
		mime_scan(p, p->len, hit); /* a delimiter at the very end */
	n->body_end = mime_part_end(p, n->body_offset, hit);
	if (n->children == NULL)
		n->children = mime_fake_child(p, n);
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
		const char *b = mime_boundary_param(p, &n->ctype);
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

/* Parse the entity (header, blank line, body) starting at start; *hit_r
 * is the boundary line (or end of data) that ended it. */
static struct mime_node *mime_entity_parse(struct mime_parser *p, size_t start, unsigned depth,
					   bool in_digest, struct mime_hit *hit_r)
{
	struct mime_node *n = arena_zalloc(p->arena, sizeof(*n));
	bool header_hit;

	p->node_count++;
	n->header_offset = start;
	size_t header_end = mime_header_scan(p, start, &n->body_offset, hit_r, &header_hit);
	mime_headers_collect(p->arena, p->data, start, header_end, &n->headers);
	mime_node_classify(p, n, depth, in_digest);
	const char *cd = n->headers.value[MIME_H_CONTENT_DISPOSITION];
	if (cd != NULL)
		mime_parse_ctype(p->arena, cd, true, &n->disposition);
	if (!header_hit && n->kind != MIME_KIND_MULTIPART && mime_blank_before_delimiter(p, header_end))
		n->body_offset = header_end;
	if (header_hit) {
		/* No body at all: the part ended inside its header. */
		n->body_end = n->body_offset = mime_part_end(p, start, hit_r);
		if (n->kind != MIME_KIND_LEAF)
			mime_ctype_default(&n->ctype, "application", "octet-stream");
		n->kind = MIME_KIND_LEAF;
		return n;
	}
	if (n->kind == MIME_KIND_MULTIPART) {
		mime_multipart_parse(p, n, depth, hit_r);
	} else if (n->kind == MIME_KIND_MESSAGE) {
		n->children = mime_entity_parse(p, n->body_offset, depth + 1, false, hit_r);
		n->body_end = n->children->body_end;
	} else {
		mime_scan(p, n->body_offset, hit_r);
		n->body_end = mime_part_end(p, n->body_offset, hit_r);
	}
	return n;
}

/* Line counts, once the ranges are final (text and message parts). */
static void mime_count_all_lines(const char *data, struct mime_node *n)
{
	for (; n != NULL; n = n->next) {
		if (n->kind == MIME_KIND_MESSAGE || strcmp(n->ctype.type, "text") == 0)
			n->lines = mime_count_lines(data, n->body_offset, n->body_end);
		mime_count_all_lines(data, n->children);
	}
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
	msg->from_display = mime_first_display(arena, v[MIME_H_FROM]);
	msg->to_display = mime_first_display(arena, v[MIME_H_TO]);
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
	struct mime_parser p = { arena, data ? data : "", len > UINT32_MAX ? UINT32_MAX : len, 0,
				 { .count = 0 } };
	struct mime_hit hit;

	struct mime_node *root = mime_entity_parse(&p, 0, 0, false, &hit);
	mime_count_all_lines(p.data, root);
	msg->header_size = (uint32_t)root->body_offset;
	mime_render_all(msg, arena, root);
	mime_build_table(msg, arena, root);
	mime_fill_search_fields(msg, arena, root);
	msg->header_text = mime_build_header_text(arena, p.data, root->body_offset);
	mime_collect_text(msg, arena, p.data, root);
	return msg;
}
