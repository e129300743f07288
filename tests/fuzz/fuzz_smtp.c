/*
 * fuzz_smtp: the SMTP input parsers (src/smtp/parser.h) on arbitrary
 * bytes: command lines cut from a stream in random pieces, verbs, MAIL/RCPT
 * paths with parameters, and the DATA un-stuffer. Nothing may crash, read
 * out of bounds or keep more than its limit.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "smtp/parser.h"

/* Small limits make the limit paths reachable with short inputs. */
#define FUZZ_LINE_MAX 256
#define FUZZ_DATA_MAX 4096

static void fuzz_commands(const uint8_t *data, size_t size)
{
	struct smtp_line_reader reader = { false };
	struct buf in = BUF_INIT;
	struct arena *arena = arena_new();
	size_t pos = 0;

	while (pos < size) {
		/* Feed in pieces whose lengths come from the data itself. */
		size_t piece = 1 + data[pos] % 64;
		if (piece > size - pos)
			piece = size - pos;
		buf_append(&in, data + pos, piece);
		pos += piece;
		for (;;) {
			char *line;
			size_t len;
			enum smtp_line_status st =
				smtp_line_take(&reader, &in, FUZZ_LINE_MAX, arena, &line, &len);
			if (st == SMTP_LINE_NEED_MORE)
				break;
			if (st != SMTP_LINE_OK)
				continue;
			if (len + 1 > FUZZ_LINE_MAX)
				abort();
			const char *args;
			struct smtp_path_args a;
			const char *error;
			enum smtp_verb verb = smtp_parse_verb(line, &args);
			if ((verb == SMTP_VERB_MAIL || verb == SMTP_VERB_RCPT) && args != NULL &&
			    smtp_parse_path_args(arena, args, verb == SMTP_VERB_MAIL,
						 verb == SMTP_VERB_RCPT, &a, &error) == 0) {
				(void)smtp_param_find(&a, "SIZE");
				(void)smtp_address_domain(a.address);
				if (strlen(a.address) > SMTP_PATH_MAX)
					abort();
			}
			if (args != NULL) { /* NULL: MAIL/RCPT without FROM:/TO: */
				(void)smtp_valid_domain_arg(args);
				(void)smtp_valid_xtext(args);
			}
		}
		if (in.len > FUZZ_LINE_MAX)
			abort();
	}
	buf_free(&in);
	arena_free(arena);
}

static void fuzz_data(const uint8_t *data, size_t size)
{
	struct smtp_data_reader reader;
	struct buf out = BUF_INIT;
	size_t pos = 0;
	bool done = false;

	smtp_data_init(&reader);
	while (pos < size && !done) {
		size_t piece = 1 + data[pos] % 32;
		if (piece > size - pos)
			piece = size - pos;
		size_t n = smtp_data_feed(&reader, (const char *)data + pos, piece, &out,
					  FUZZ_DATA_MAX, &done);
		if (n > piece || (!done && n != piece))
			abort();
		pos += n;
		if (out.len > FUZZ_DATA_MAX || out.len > pos)
			abort();
	}
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_commands(data, size);
	fuzz_data(data, size);
	return 0;
}
