/*
 * fuzz_scram: libFuzzer target for the SCRAM-SHA-256 server messages
 * (auth/scram.c): the input up to the first newline is a client-first-
 * message, the rest a client-final-message answered against fixed keys and
 * a fixed server nonce; the whole input is also tried as a stored-keys
 * entry and given to SASLprep (auth/saslprep.c, which hands it to libidn
 * only when it is well-formed UTF-8). Nothing here may crash, hang or leak, and a forged proof must
 * never verify.
 */
#include "auth/saslprep.h"
#include "auth/scram.h"
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *arena = arena_new();
	struct scram_server s;
	struct scram_keys keys;
	const char *error, *final;
	const char *msg = (const char *)data;
	const unsigned char *nl = memchr(data, '\n', size);
	size_t first_len = nl ? (size_t)(nl - data) : size;
	static const unsigned char cb[32] = { 1, 2, 3 };

	char *text = arena_strndup(arena, msg, size);
	if (strlen(text) == size) {
		const char *prepared, *prep_error;
		(void)scram_keys_decode(text, &keys);
		(void)saslprep_prepare(arena, text, size % 2 == 0, &prepared, &prep_error);
	}
	memset(&keys, 0, sizeof(keys));
	/* An odd-sized input exchanges with SHA-1 keys, an even one SHA-256. */
	keys.digest = size % 2 ? SCRAM_DIGEST_SHA1 : SCRAM_DIGEST_SHA256;
	keys.iterations = 4096;
	keys.salt_len = 4;
	memset(keys.stored_key, 0x11, sizeof(keys.stored_key));
	if (scram_server_parse_first(&s, arena, msg, first_len, &error) == 0) {
		(void)scram_server_challenge(&s, arena, &keys, "fuzz");
		if (nl != NULL) {
			const char *rest = msg + first_len + 1;
			size_t rest_len = size - first_len - 1;
			/* StoredKey is not H(anything) we know: never a match. */
			if (scram_server_check_final(&s, arena, rest, rest_len, cb, sizeof(cb),
						     &final, &error) == 0)
				abort();
		}
	}
	arena_free(arena);
	return 0;
}
