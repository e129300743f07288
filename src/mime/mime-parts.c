/*
 * mime-parts: the part table outside the parser: lookup by section, and a
 * compact text form so the store can keep the table in one column.
 *
 * The text form is one line per part:
 *   HEADER_OFFSET BODY_OFFSET BODY_END FLAGS INNER_BODY_OFFSET SECTION\n
 * with FLAGS the sum of 1 (multipart) and 2 (message). The section comes
 * last because the message's own section is the empty string.
 */
#include "mime/mime-private.h"

#include <string.h>

#include "core/array.h"
#include "core/str.h"

/* A section is digits and dots; anything longer than this is corrupt
 * (MIME_MAX_DEPTH levels of up to 4-digit numbers fit easily). */
#define MIME_MAX_SECTION_LEN 512

const struct mime_part *mime_parts_find(const struct mime_part *parts, size_t count,
					const char *section)
{
	for (size_t i = 0; i < count; i++) {
		if (strcmp(parts[i].section, section) == 0)
			return &parts[i];
	}
	return NULL;
}

const struct mime_part *mime_find_part(const struct mime_message *msg, const char *section)
{
	return mime_parts_find(msg->parts, msg->part_count, section);
}

char *mime_parts_serialize(struct arena *arena, const struct mime_part *parts, size_t count)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < count; i++) {
		const struct mime_part *p = &parts[i];
		buf_printf(&b, "%u %u %u %d %u %s\n", p->header_offset, p->body_offset,
			   p->body_end, (p->multipart ? 1 : 0) | (p->message ? 2 : 0),
			   p->inner_body_offset, p->section);
	}
	return mime_buf_to_arena(arena, &b);
}

/* One space-terminated decimal field at *pp. */
static int mime_parts_read_u32(const char **pp, const char *line_end, uint32_t *value_r)
{
	const char *p = *pp;
	const char *sp = memchr(p, ' ', (size_t)(line_end - p));

	if (sp == NULL || str_parse_u32(p, (size_t)(sp - p), value_r) < 0)
		return -1;
	*pp = sp + 1;
	return 0;
}

/* Parse one line into part; -1 when it is not in the form written above. */
static int mime_parts_read_line(struct arena *arena, const char *p, const char *line_end,
				struct mime_part *part)
{
	uint32_t flags;

	if (mime_parts_read_u32(&p, line_end, &part->header_offset) < 0 ||
	    mime_parts_read_u32(&p, line_end, &part->body_offset) < 0 ||
	    mime_parts_read_u32(&p, line_end, &part->body_end) < 0 ||
	    mime_parts_read_u32(&p, line_end, &flags) < 0 || flags > 3 ||
	    mime_parts_read_u32(&p, line_end, &part->inner_body_offset) < 0)
		return -1;
	size_t n = (size_t)(line_end - p);
	if (n > MIME_MAX_SECTION_LEN || strspn(p, "0123456789.") < n)
		return -1;
	part->multipart = (flags & 1) != 0;
	part->message = (flags & 2) != 0;
	part->section = arena_strndup(arena, p, n);
	return 0;
}

int mime_parts_deserialize(struct arena *arena, const char *text, struct mime_part **parts_r,
			   size_t *count_r)
{
	ARRAY(struct mime_part) parts = ARRAY_INIT;
	struct mime_part part;

	for (const char *p = text; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		if (nl == NULL || mime_parts_read_line(arena, p, nl, &part) < 0) {
			array_free(&parts);
			return -1;
		}
		array_push(&parts, part);
		p = nl + 1;
	}
	*parts_r = arena_alloc(arena, (parts.count ? parts.count : 1) * sizeof(part));
	if (parts.count > 0)
		memcpy(*parts_r, parts.items, parts.count * sizeof(part));
	*count_r = parts.count;
	array_free(&parts);
	return 0;
}
