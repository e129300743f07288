/*
 * fuzz_acl: libFuzzer target for the RFC 4314 rights arithmetic
 * (store/acl.h), which IMAP SETACL and `buzon shared acl` feed with client
 * text: rights text and identifiers parse or are refused, formatting what
 * parsed (without the virtual c/d) gives text that parses to the same
 * rights, and combining entries
 * built from the input never grants a right no entry named.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/acl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Entries cut from the input: "identifier\nrights\n" repeated. */
#define FUZZ_ACL_ENTRIES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);
	struct store_acl_entry entries[FUZZ_ACL_ENTRIES];
	size_t n = 0;
	unsigned all = 0;
	char *p = copy;

	memcpy(copy, data, size);
	copy[size] = '\0';
	while (n < FUZZ_ACL_ENTRIES && p != NULL && *p != '\0') {
		char *id = p, *rights = strchr(id, '\n');
		unsigned bits, again;
		char text[ACL_RIGHTS_TEXT];

		if (rights == NULL)
			break;
		*rights++ = '\0';
		p = strchr(rights, '\n');
		if (p != NULL)
			*p++ = '\0';
		(void)acl_identifier_valid(id);
		if (acl_rights_parse(rights, &bits) < 0)
			continue;
		if (bits & ~ACL_ALL)
			abort();
		acl_rights_format(bits, true, text); /* with c/d: not a round trip */
		acl_rights_format(bits, false, text);
		if (acl_rights_parse(text, &again) < 0 || again != bits)
			abort();
		all |= bits;
		entries[n++] = (struct store_acl_entry){ id, rights };
	}
	if (acl_rights_of(entries, n, "user@example.test") & ~all)
		abort();
	free(copy);
	return 0;
}
