/*
 * fuzz_imap_url: libFuzzer target for the IMAP URL parser that CATENATE,
 * URLFETCH, GENURLAUTH and BURL use (imap/url.h, RFC 5092, RFC 4467's
 * authimapurl): the whole input is one URL, as the astring after "URL"
 * would carry it; the same bytes are also tried as a ;SECTION= spec and as
 * an RFC 3339 ;EXPIRE= date-time. Nothing may crash, hang or leak on any
 * bytes.
 */
#include "core/arena.h"
#include "imap/fetch.h"
#include "imap/url.h"
#include "imap/urlauth.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *arena = arena_new();
	struct imap_url url;
	struct imap_fetch_section section;
	const char *error;

	/* the command hands the parser a NUL-terminated astring */
	char *text = arena_alloc(arena, size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	if (imap_url_parse(arena, text, size, &url, &error)) {
		/* what the command then reads */
		if (url.mailbox != NULL)
			(void)strlen(url.mailbox);
		if (url.user != NULL)
			(void)strlen(url.user);
		(void)strlen(url.section.part);
		for (size_t i = 0; i < url.section.field_count; i++)
			(void)strlen(url.section.fields[i]);
		/* what URLAUTH then reads (urlauth.c) */
		if (url.access_user != NULL)
			(void)strlen(url.access_user);
		if (url.mechanism != NULL)
			(void)strlen(url.mechanism);
		if (url.token != NULL)
			(void)strlen(url.token);
		if (url.rump_len > size)
			__builtin_trap();
	}
	int64_t t;
	(void)imap_url_parse_datetime(text, size, &t);
	/* and as a body structure, for URLFETCH's BODYPARTSTRUCTURE (its
	 * input is our own stored wire form, but it must not trust it) */
	size_t start, len;
	if (imap_bodystructure_find(text, size, "2.1", &start, &len) &&
	    (start > size || len > size - start))
		__builtin_trap();
	if (imap_bodystructure_find(text, size, "", &start, &len))
		(void)imap_bodystructure_as_binary(arena, text + start, len, 7);
	(void)imap_fetch_parse_section_spec(arena, text, size, &section);
	arena_free(arena);
	return 0;
}
