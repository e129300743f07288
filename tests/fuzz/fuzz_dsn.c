/*
 * fuzz_dsn: the RFC 3461 parameter parsers (delivery/dsn.h) on arbitrary
 * bytes, as they arrive in MAIL and RCPT: xtext decoding (and the
 * round trip decode(encode(x)) == x), NOTIFY lists, ENVID and ORCPT
 * checks, and a report built from what they accepted. Nothing may crash or
 * read out of bounds, and an accepted value must decode.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "delivery/dsn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct buf decoded = BUF_INIT, encoded = BUF_INIT, again = BUF_INIT, report = BUF_INIT;
	unsigned notify = 0;
	char formatted[64];

	memcpy(text, data, size);
	text[size] = '\0';
	/* decode(encode(bytes)) gives the bytes back, NULs included. */
	dsn_xtext_encode(&encoded, (const char *)data, size);
	if (dsn_xtext_decode(encoded.data != NULL ? encoded.data : "", encoded.len, &again) < 0 ||
	    again.len != size || (size > 0 && memcmp(again.data, data, size) != 0))
		abort();
	if (dsn_xtext_decode(text, size, &decoded) == 0 && decoded.len > size)
		abort();
	if (dsn_notify_parse(text, &notify) == 0) {
		if (notify == 0 || ((notify & DSN_NOTIFY_NEVER) && notify != DSN_NOTIFY_NEVER))
			abort();
		dsn_notify_format(notify, formatted, sizeof(formatted));
		unsigned back = 0;
		if (dsn_notify_parse(formatted, &back) < 0 || back != notify)
			abort();
	}
	bool envid = dsn_envid_valid(text), orcpt = dsn_orcpt_valid(text);
	if (envid || orcpt) {
		struct dsn_recipient rcpt = { "a@b.example", orcpt ? text : NULL,
					      DSN_ACTION_FAILED, text };
		struct dsn_report r = { .hostname = "mx.example", .sender = "s@example",
					.envid = envid ? text : NULL, .ret = DSN_RET_FULL,
					.rcpts = &rcpt, .count = 1, .original = text,
					.original_size = size };
		dsn_build_report(&report, &r);
	}
	buf_free(&decoded);
	buf_free(&encoded);
	buf_free(&again);
	buf_free(&report);
	free(text);
	return 0;
}
