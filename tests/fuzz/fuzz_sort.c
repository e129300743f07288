/*
 * fuzz_sort: libFuzzer target for the pure half of SORT and THREAD: the
 * SORT arguments parser (sort criteria, RETURN, charset, search keys), base
 * subject extraction, display names, message-id scanning, and both
 * threading algorithms on messages cut from the input. The first line is
 * parsed as SORT arguments; every later line is one message,
 * "id|subject|references|in-reply-to|date". Nothing may crash, hang or leak.
 */
#include "core/arena.h"
#include "core/buf.h"
#include "imap/sort.h"
#include "imap/thread.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Enough messages to reach every branch of the tree code. */
#define FUZZ_SORT_MAX_MESSAGES 512

/* The next '|'-separated field of line (NUL-terminated copy in arena). */
static char *fuzz_field(struct arena *arena, const char **p, const char *end)
{
	const char *start = *p, *bar = memchr(start, '|', (size_t)(end - start));
	const char *stop = bar != NULL ? bar : end;

	*p = bar != NULL ? bar + 1 : end;
	return arena_strndup(arena, start, (size_t)(stop - start));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *arena = arena_new();
	const char *text = (const char *)data, *end = text + size;
	const char *nl = memchr(text, '\n', size);
	const char *line_end = nl != NULL ? nl : end;
	struct imap_parser parser;
	struct imap_sort_program *program;
	struct imap_thread_message *msgs;
	size_t count = 0, len;

	msgs = arena_zalloc(arena, FUZZ_SORT_MAX_MESSAGES * sizeof(*msgs));

	imap_parser_init(&parser, arena, text, (size_t)(line_end - text));
	if (imap_sort_parse(&parser, &program))
		(void)imap_parse_eol(&parser);
	for (const char *p = nl != NULL ? nl + 1 : end; p < end && count < FUZZ_SORT_MAX_MESSAGES;) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		const char *le = e != NULL ? e : end;
		struct imap_thread_message *m = &msgs[count];
		char *id = fuzz_field(arena, &p, le), *subject = fuzz_field(arena, &p, le);
		char *base = imap_sort_base_subject(arena, subject, &m->is_reply);
		m->subject = imap_search_fold(arena, base, strlen(base), &len);
		m->message_id = id;
		m->references = fuzz_field(arena, &p, le);
		m->in_reply_to = fuzz_field(arena, &p, le);
		m->sent_date = strtoll(fuzz_field(arena, &p, le), NULL, 10);
		m->number = (uint32_t)++count;
		(void)imap_sort_display_name(arena, subject, id);
		p = e != NULL ? e + 1 : end;
	}
	for (int alg = 0; alg < 2; alg++) {
		struct buf out = BUF_INIT;
		imap_thread_write(arena, alg == 0 ? IMAP_THREAD_ORDEREDSUBJECT
						  : IMAP_THREAD_REFERENCES, msgs, count, &out);
		buf_free(&out);
	}
	arena_free(arena);
	return 0;
}
