/*
 * fuzz_dns: libFuzzer target for the outbound queue's DNS reply parser
 * (dns_parse_reply): any bytes, for each record type we ask for, must parse
 * or be refused without reading outside the input, and what it keeps must
 * be within its bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = { DNS_TYPE_MX, DNS_TYPE_A, DNS_TYPE_AAAA };
	/* A copy of exactly size bytes, so ASan sees any read past the end. */
	uint8_t *copy = malloc(size > 0 ? size : 1);
	struct dns_reply reply;

	memcpy(copy, data, size);
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		if (dns_parse_reply(copy, size, types[t], &reply) < 0)
			continue;
		if (reply.count > DNS_RECORDS_MAX || reply.rcode > 15)
			abort();
		for (size_t i = 0; i < reply.count; i++) {
			if (reply.records[i].type != types[t] ||
			    strlen(reply.records[i].name) > DNS_NAME_MAX)
				abort();
		}
	}
	free(copy);
	return 0;
}
