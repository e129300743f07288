/*
 * fuzz_smtp_reply: libFuzzer target for the SMTP client's reply parser
 * (smtp_reply_parse) and EHLO keyword lookup: any bytes from a remote
 * server parse as a run of replies or are refused, within the limits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/smtp-client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size > 0 ? size : 1);
	struct smtp_reply *reply = malloc(sizeof(*reply));
	size_t pos = 0;

	memcpy(copy, data, size);
	while (pos < size) {
		ssize_t n = smtp_reply_parse(copy + pos, size - pos, reply);
		if (n <= 0)
			break;
		if ((size_t)n > size - pos || reply->code < 200 || reply->code > 599 ||
		    strlen(reply->text) >= SMTP_REPLY_TEXT_MAX)
			abort();
		(void)smtp_reply_has(reply, "STARTTLS");
		(void)smtp_reply_has(reply, "SIZE");
		pos += (size_t)n;
	}
	free(reply);
	free(copy);
	return 0;
}
