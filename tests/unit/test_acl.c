/*
 * test_acl: RFC 4314 rights arithmetic (store/acl.h): parsing with the
 * virtual rights, canonical output, identifiers, and how entries for a
 * user, "anyone", "authenticated" and negative entries combine.
 */
#include "store/acl.h"
#include "unit.h"

static void rights_parse_and_format_are_canonical(void)
{
	unsigned bits;
	char text[ACL_RIGHTS_TEXT];

	UNIT_CHECK(acl_rights_parse("rl", &bits) == 0 && bits == (ACL_LOOKUP | ACL_READ));
	acl_rights_format(bits, true, text);
	UNIT_CHECK_STR(text, "lr");
	UNIT_CHECK(acl_rights_parse("", &bits) == 0 && bits == 0);
	/* RFC 4314 §2.1.1: c = k x, d = e t, and reported back with them. */
	UNIT_CHECK(acl_rights_parse("c", &bits) == 0 && bits == (ACL_CREATE | ACL_DELETE_MBOX));
	acl_rights_format(bits, true, text);
	UNIT_CHECK_STR(text, "kxc");
	UNIT_CHECK(acl_rights_parse("d", &bits) == 0);
	acl_rights_format(bits, true, text);
	UNIT_CHECK_STR(text, "ted");
	acl_rights_format(bits, false, text);
	UNIT_CHECK_STR(text, "te");
	acl_rights_format(ACL_ALL, true, text);
	UNIT_CHECK_STR(text, "lrswipkxteacd");
	/* §3.1: unknown and upper-case rights are errors, never ignored. */
	UNIT_CHECK(acl_rights_parse("lrQ", &bits) < 0);
	UNIT_CHECK(acl_rights_parse("lrq", &bits) < 0);
	UNIT_CHECK(acl_rights_parse("+l", &bits) < 0);
	UNIT_CHECK(acl_rights_parse("1", &bits) < 0);
}

static void identifiers_are_checked(void)
{
	char long_id[ACL_IDENTIFIER_MAX + 2];

	UNIT_CHECK(acl_identifier_valid("bob@example.test"));
	UNIT_CHECK(acl_identifier_valid("-bob@example.test"));
	UNIT_CHECK(acl_identifier_valid("anyone"));
	UNIT_CHECK(!acl_identifier_valid(""));
	UNIT_CHECK(!acl_identifier_valid("-"));
	UNIT_CHECK(!acl_identifier_valid("bob smith"));
	UNIT_CHECK(!acl_identifier_valid("bob\r\n"));
	UNIT_CHECK(!acl_identifier_valid("a\"b"));
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	UNIT_CHECK(!acl_identifier_valid(long_id));
}

static void rights_combine_with_negative_entries(void)
{
	struct store_acl_entry entries[] = {
		{ "anyone", "l" },
		{ "authenticated", "r" },
		{ "bob@example.test", "swi" },
		{ "-bob@example.test", "w" },
		{ "-anyone", "p" },
		{ "carol@example.test", "bad!" }, /* unparsable: ignored */
		{ "dave@example.test", "lrswipkxtea" },
	};
	size_t n = sizeof(entries) / sizeof(entries[0]);

	UNIT_CHECK(acl_rights_of(entries, n, "bob@example.test") ==
		   (ACL_LOOKUP | ACL_READ | ACL_SEEN | ACL_INSERT));
	UNIT_CHECK(acl_rights_of(entries, n, "BOB@example.test") ==
		   (ACL_LOOKUP | ACL_READ | ACL_SEEN | ACL_INSERT));
	UNIT_CHECK(acl_rights_of(entries, n, "carol@example.test") == (ACL_LOOKUP | ACL_READ));
	UNIT_CHECK(acl_rights_of(entries, n, "dave@example.test") == (ACL_ALL & ~ACL_POST));
	UNIT_CHECK(acl_rights_of(entries, 0, "bob@example.test") == 0);
}

int main(void)
{
	UNIT_RUN(rights_parse_and_format_are_canonical);
	UNIT_RUN(identifiers_are_checked);
	UNIT_RUN(rights_combine_with_negative_entries);
	return unit_finish();
}
