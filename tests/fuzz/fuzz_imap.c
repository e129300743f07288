/*
 * fuzz_imap: libFuzzer target for the IMAP command parser: the framer
 * (lines, literals, limits) on input cut into chunks, then the lexer and the
 * command-specific parsers (sequence sets, flags, FETCH, SEARCH, ESEARCH, NOTIFY) on
 * every complete command. Nothing here may crash, hang or leak on any bytes.
 */
#include "imap/fetch.h"
#include "imap/notify.h"
#include "imap/parser.h"
#include "imap/search.h"
#include "imap/session.h"
#include "imap/utf7.h"
#include "core/str.h"

#include <stdint.h>
#include <string.h>

/* Walk the arguments with the generic lexer until it stops. */
static void fuzz_walk_tokens(struct imap_parser *p)
{
	for (int guard = 0; guard < 10000 && !imap_at_end(p); guard++) {
		char *s;
		size_t len;
		const char *before = p->p;
		if (imap_peek_char(p, ' ') || imap_peek_char(p, '(') || imap_peek_char(p, ')'))
			p->p++;
		else if (!imap_parse_nstring(p, &s, &len) && !imap_parse_astring(p, &s, &len))
			p->p++;
		if (p->p == before)
			break;
	}
}

static void fuzz_command(struct arena *arena, const char *data, size_t len)
{
	struct imap_parser p;
	char *tag, *name;

	imap_parser_init(&p, arena, data, len);
	if (!imap_parse_tag(&p, &tag) || !imap_parse_sp(&p) || !imap_parse_atom(&p, &name))
		return;
	if (str_eq_nocase(name, "UID") && (!imap_parse_sp(&p) || !imap_parse_atom(&p, &name)))
		return;
	if (str_eq_nocase(name, "FETCH")) {
		struct imap_fetch_request *req;
		if (imap_fetch_parse(&p, &req) && imap_fetch_parse_modifiers(&p, req))
			(void)imap_parse_eol(&p);
	} else if (str_eq_nocase(name, "ESEARCH")) {
		/* RFC 7377: IN (sources) then SEARCH's own arguments */
		struct imap_esearch_sources src;
		struct imap_search_query *q;
		if (imap_esearch_parse_sources(&p, &src) && imap_search_parse(&p, &q))
			(void)imap_parse_eol(&p);
	} else if (str_eq_nocase(name, "SEARCH")) {
		struct imap_search_query *q;
		if (imap_search_parse(&p, &q))
			(void)imap_parse_eol(&p);
	} else if (str_eq_nocase(name, "NOTIFY")) {
		struct imap_notify_request *r;
		if (imap_notify_parse(&p, &r))
			(void)imap_parse_eol(&p);
	} else if (str_eq_nocase(name, "STORE")) {
		struct imap_seqset set;
		unsigned flags;
		char *kw, *word;
		if (imap_parse_sp(&p) && imap_parse_seqset(&p, &set) && imap_parse_sp(&p) &&
		    imap_parse_word(&p, "()", &word) && imap_parse_sp(&p))
			(void)imap_parse_flags(&p, imap_peek_char(&p, '('), &flags, &kw);
	} else if (str_eq_nocase(name, "SELECT") || str_eq_nocase(name, "CREATE")) {
		char *mbox;
		size_t mlen;
		if (imap_parse_sp(&p) && imap_parse_astring(&p, &mbox, &mlen))
			(void)utf7_decode(arena, mbox);
	} else {
		fuzz_walk_tokens(&p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_frame frame;
	struct buf in = BUF_INIT;
	struct arena *arena = arena_new();
	size_t chunk = size > 0 ? (size_t)data[0] % 64 + 1 : 1;

	imap_frame_init(&frame, 1 << 20);
	frame.big_literals = size > 1 && (data[1] & 1); /* logged in, or not */
	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		buf_append(&in, data + off, n);
		for (int guard = 0; guard < 1000; guard++) {
			enum imap_frame_status st = imap_frame_feed(&frame, &in);
			if (st == IMAP_FRAME_NEED_MORE || st == IMAP_FRAME_FATAL)
				break;
			if (st == IMAP_FRAME_COMPLETE)
				fuzz_command(arena, frame.command.data, frame.command.len);
			if (st != IMAP_FRAME_CONTINUE) {
				imap_frame_reset(&frame);
				arena_reset(arena);
			}
		}
	}
	(void)utf7_encode(arena, (const char *)in.data ? in.data : "");
	buf_free(&in);
	imap_frame_free(&frame);
	arena_free(arena);
	return 0;
}
