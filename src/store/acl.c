/*
 * acl: RFC 4314 rights arithmetic (see acl.h). Pure: no store access.
 */
#include "store/acl.h"

#include <string.h>
#include <strings.h>

static const char acl_letters[] = "lrswipkxtea";

int acl_rights_parse(const char *text, unsigned *bits_r)
{
	unsigned bits = 0;

	for (const char *p = text; *p != '\0'; p++) {
		const char *hit = strchr(acl_letters, *p);

		if (*p == 'c')
			bits |= ACL_CREATE | ACL_DELETE_MBOX; /* RFC 4314 §2.1.1 */
		else if (*p == 'd')
			bits |= ACL_EXPUNGE | ACL_DELETE_MSG;
		else if (hit != NULL)
			bits |= 1u << (hit - acl_letters);
		else
			return -1;
	}
	*bits_r = bits;
	return 0;
}

void acl_rights_format(unsigned bits, bool virtual_rights, char out[ACL_RIGHTS_TEXT])
{
	size_t n = 0;

	for (size_t i = 0; acl_letters[i] != '\0'; i++) {
		if (bits & (1u << i))
			out[n++] = acl_letters[i];
	}
	if (virtual_rights && (bits & (ACL_CREATE | ACL_DELETE_MBOX)))
		out[n++] = 'c';
	if (virtual_rights && (bits & (ACL_EXPUNGE | ACL_DELETE_MSG)))
		out[n++] = 'd';
	out[n] = '\0';
}

bool acl_identifier_valid(const char *identifier)
{
	size_t len = strlen(identifier);

	if (len == 0 || len > ACL_IDENTIFIER_MAX || strcmp(identifier, "-") == 0)
		return false;
	for (const char *p = identifier; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '"' || *p == '\\')
			return false;
	}
	return true;
}

/* Does identifier (without its "-") name address? */
static bool acl_applies(const char *identifier, const char *address)
{
	return strcmp(identifier, "anyone") == 0 || strcmp(identifier, "authenticated") == 0 ||
	       strcasecmp(identifier, address) == 0;
}

unsigned acl_rights_of(const struct store_acl_entry *entries, size_t count, const char *address)
{
	unsigned granted = 0, denied = 0, bits;

	for (size_t i = 0; i < count; i++) {
		const char *id = entries[i].identifier;
		bool negative = id[0] == '-';

		if (!acl_applies(negative ? id + 1 : id, address) ||
		    acl_rights_parse(entries[i].rights, &bits) < 0)
			continue;
		if (negative)
			denied |= bits;
		else
			granted |= bits;
	}
	return granted & ~denied;
}
