/*
 * fuzz_mime: libFuzzer target for the MIME parser. Any bytes must parse
 * (mime_parse_message never fails), the part table must survive its text
 * round trip unchanged, and the date and header helpers must cope with the
 * same bytes. Each input gets a fresh arena, as a save does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "mime/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The part table must come back exactly as it went out. */
static void fuzz_check_parts(struct arena *arena, const struct mime_message *m, size_t size)
{
	struct mime_part *parts;
	size_t count;
	char *text = mime_parts_serialize(arena, m->parts, m->part_count);

	if (mime_parts_deserialize(arena, text, &parts, &count) != 0 || count != m->part_count)
		abort();
	for (size_t i = 0; i < count; i++) {
		const struct mime_part *a = &parts[i], *b = &m->parts[i];
		if (strcmp(a->section, b->section) != 0 || a->header_offset != b->header_offset ||
		    a->body_offset != b->body_offset || a->body_end != b->body_end ||
		    a->multipart != b->multipart || a->message != b->message ||
		    a->inner_body_offset != b->inner_body_offset)
			abort();
		if (b->header_offset > b->body_offset || b->body_offset > b->body_end ||
		    b->body_end > size)
			abort();
		if (mime_find_part(m, b->section) == NULL)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *arena = arena_new();
	const char *s = (const char *)data;
	struct mime_message *m = mime_parse_message(arena, s, size);
	struct buf out = BUF_INIT;
	static const char *const names[] = { "subject", "from", "content-type" };
	int64_t t;
	int tz;

	fuzz_check_parts(arena, m, size);
	if (m->text_len > MIME_MAX_TEXT || strlen(m->text) > m->text_len)
		abort();
	mime_header_filter(s, m->header_size, names, 3, false, &out);
	mime_header_filter(s, m->header_size, names, 3, true, &out);
	buf_free(&out);
	(void)mime_header_get(arena, s, m->header_size, "Subject");
	(void)mime_decode_header(arena, s, size);
	char *z = arena_strndup(arena, s, size);
	(void)mime_parse_date(z, &t, &tz);
	(void)mime_parts_deserialize(arena, z, &(struct mime_part *){ NULL }, &(size_t){ 0 });
	arena_free(arena);
	return 0;
}
