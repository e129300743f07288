/*
 * test_imap_urlauth: URLAUTH's pure parts (RFC 4467): the authimapurl
 * grammar in the URL parser (src/imap/url.c), RFC 3339 expiry times, and
 * the INTERNAL token (src/imap/urlauth.c), checked against values computed
 * independently with Python's hmac module:
 *
 *   hmac.new(bytes(range(32)), RUMP, hashlib.sha1).hexdigest()
 *   hmac.new(b'\xff' * 32, b'', hashlib.sha1).hexdigest()
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "imap/url.h"
#include "imap/urlauth.h"
#include "mime/mime.h"
#include "unit.h"

#define RUMP "imap://joe%40example.com@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred"

static bool test_parse(struct arena *arena, const char *text, struct imap_url *url)
{
	const char *error;

	return imap_url_parse(arena, text, strlen(text), url, &error);
}

static void urlauth_token_is_hmac_sha1_hex(void)
{
	unsigned char key[32];
	char hex[IMAP_URLAUTH_TOKEN_HEX + 1];

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)i;
	imap_urlauth_token(key, sizeof(key), RUMP, strlen(RUMP), hex);
	UNIT_CHECK_STR(hex, "256bc577472c3fabead704cd6cb4f5bde5c6052d");
	memset(key, 0xff, sizeof(key));
	imap_urlauth_token(key, sizeof(key), "", 0, hex);
	UNIT_CHECK_STR(hex, "3e99975ce4f5b53f2540a43dd7408bd47da59c2f");
}

static void urlauth_rump_and_full_urls_parse(void)
{
	struct arena *arena = arena_new();
	struct imap_url url;

	UNIT_CHECK(test_parse(arena, RUMP, &url));
	UNIT_CHECK_STR(url.user, "joe@example.com");
	UNIT_CHECK_STR(url.host, "example.com");
	UNIT_CHECK_STR(url.mailbox, "INBOX");
	UNIT_CHECK(url.uid == 20);
	UNIT_CHECK_STR(url.section.part, "1.2");
	UNIT_CHECK(url.access == IMAP_URL_ACCESS_SUBMIT);
	UNIT_CHECK_STR(url.access_user, "fred");
	UNIT_CHECK(url.mechanism == NULL && url.token == NULL && !url.has_expire);
	UNIT_CHECK(url.rump_len == strlen(RUMP));

	const char *full = RUMP ":internal:91354a473744909de610943775f92038";
	UNIT_CHECK(test_parse(arena, full, &url));
	UNIT_CHECK_STR(url.mechanism, "internal");
	UNIT_CHECK_STR(url.token, "91354a473744909de610943775f92038");
	UNIT_CHECK(url.rump_len == strlen(RUMP));

	/* RFC 4468 §3.4's example: no section, UIDVALIDITY */
	UNIT_CHECK(test_parse(arena, "imap://harry@gryffindor.example.com/outbox"
			      ";uidvalidity=1078863300/;uid=25;urlauth=submit+harry"
			      ":internal:91354a473744909de610943775f92038", &url));
	UNIT_CHECK_STR(url.mailbox, "outbox");
	UNIT_CHECK(url.uidvalidity == 1078863300u && url.uid == 25);
	UNIT_CHECK_STR(url.access_user, "harry");

	UNIT_CHECK(test_parse(arena, "imap://a@h/INBOX/;UID=1;URLAUTH=AuthUser", &url));
	UNIT_CHECK(url.access == IMAP_URL_ACCESS_AUTHUSER);
	UNIT_CHECK(test_parse(arena, "imap://a@h/INBOX/;UID=1/;PARTIAL=0.10;URLAUTH=anonymous",
			      &url));
	UNIT_CHECK(url.access == IMAP_URL_ACCESS_ANONYMOUS && url.partial && url.length == 10);
	UNIT_CHECK(test_parse(arena, "imap://a@h/INBOX/;UID=1;URLAUTH=user+b%40x", &url));
	UNIT_CHECK(url.access == IMAP_URL_ACCESS_USER);
	UNIT_CHECK_STR(url.access_user, "b@x");
	/* a plain URL is not a URLAUTH one */
	UNIT_CHECK(test_parse(arena, "imap://a@h/INBOX/;UID=1", &url));
	UNIT_CHECK(url.access == IMAP_URL_ACCESS_NONE);
	arena_free(arena);
}

static void urlauth_expire_parses_and_is_part_of_the_rump(void)
{
	struct arena *arena = arena_new();
	struct imap_url url;
	const char *text = "imap://a@h/INBOX/;UID=1;EXPIRE=2026-11-23T18:00:00Z"
			   ";URLAUTH=authuser:INTERNAL:0123456789abcdef0123456789ABCDEF";

	UNIT_CHECK(test_parse(arena, text, &url));
	UNIT_CHECK(url.has_expire && url.expire == 1795456800);
	UNIT_CHECK(url.uid == 1);
	UNIT_CHECK(url.rump_len == strlen(text) - strlen(":INTERNAL:") - 32);
	UNIT_CHECK(test_parse(arena, "imap://a@h/INBOX/;UID=1/;SECTION=TEXT"
			      ";EXPIRE=2026-11-23T19:00:00.25+01:00;URLAUTH=authuser", &url));
	UNIT_CHECK(url.has_expire && url.expire == 1795456800);
	UNIT_CHECK(url.section.text == IMAP_SECTION_TEXT);

	int64_t t;
	UNIT_CHECK(imap_url_parse_datetime("1970-01-01T00:00:00Z", 20, &t) && t == 0);
	UNIT_CHECK(imap_url_parse_datetime("2000-02-29t23:59:60z", 20, &t) && t == 951868800);
	UNIT_CHECK(imap_url_parse_datetime("1969-12-31T19:00:00-05:00", 25, &t) && t == 0);
	UNIT_CHECK(!imap_url_parse_datetime("2001-02-29T00:00:00Z", 20, &t));
	UNIT_CHECK(!imap_url_parse_datetime("2001-13-01T00:00:00Z", 20, &t));
	UNIT_CHECK(!imap_url_parse_datetime("2001-01-01T24:00:00Z", 20, &t));
	UNIT_CHECK(!imap_url_parse_datetime("2001-01-01T00:00:00", 19, &t));
	UNIT_CHECK(!imap_url_parse_datetime("2001-01-01T00:00:00.Z", 21, &t));
	UNIT_CHECK(!imap_url_parse_datetime("2001-01-01T00:00:00+0100", 24, &t));
	UNIT_CHECK(!imap_url_parse_datetime("2001-01-01 00:00:00Z", 20, &t));
	arena_free(arena);
}

static void urlauth_refuses_malformed_components(void)
{
	struct arena *arena = arena_new();
	struct imap_url url;
	static const char *const bad[] = {
		"imap://a@h/INBOX/;UID=1;URLAUTH=",
		"imap://a@h/INBOX/;UID=1;URLAUTH=user+",
		"imap://a@h/INBOX/;UID=1;URLAUTH=submit+",
		"imap://a@h/INBOX/;UID=1;URLAUTH=someone",
		"imap://a@h/INBOX/;UID=1;URLAUTH=authuser:",
		"imap://a@h/INBOX/;UID=1;URLAUTH=authuser:internal",
		"imap://a@h/INBOX/;UID=1;URLAUTH=authuser:internal:",
		"imap://a@h/INBOX/;UID=1;URLAUTH=authuser:internal:0123456789abcdef",
		"imap://a@h/INBOX/;UID=1;URLAUTH=authuser:internal:0123456789abcdef0123456789abcdeg",
		"imap://a@h/INBOX/;UID=1;URLAUTH=authuser::0123456789abcdef0123456789abcdef",
		"imap://a@h/INBOX/;UID=1;URLAUTH=authuser:in/ternal:0123456789abcdef0123456789abcdef",
		"imap://a@h/INBOX/;UID=1;EXPIRE=tomorrow;URLAUTH=authuser",
		"imap://a@h/INBOX/;UID=1;EXPIRE=;URLAUTH=authuser",
		"imap://a@h/INBOX;URLAUTH=authuser",
		"imap://a@h/INBOX/;URLAUTH=authuser",
		"imap://a@h/INBOX/;UID=1;URLAUTH=user+a;b",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bool parsed = test_parse(arena, bad[i], &url);
		if (parsed)
			printf("  accepted: %s\n", bad[i]);
		UNIT_CHECK(!parsed);
	}
	arena_free(arena);
}

static void urlauth_key_entries_are_hidden(void)
{
	UNIT_CHECK(imap_urlauth_entry_hidden("/private/vendor/buzon/urlauth"));
	UNIT_CHECK(imap_urlauth_entry_hidden("/private/vendor/buzon/urlauth/internal"));
	UNIT_CHECK(imap_urlauth_entry_hidden("/PRIVATE/vendor/buzon/URLAUTH/x"));
	UNIT_CHECK(!imap_urlauth_entry_hidden("/private/vendor/buzon/urlauthx"));
	UNIT_CHECK(!imap_urlauth_entry_hidden("/private/vendor/buzon"));
	UNIT_CHECK(!imap_urlauth_entry_hidden("/shared/vendor/buzon/urlauth/internal"));
}

static const char nested[] =
	"From: a@example.test\r\n"
	"Subject: nested\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"o\"\r\n"
	"\r\n"
	"--o\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"one\r\n"
	"--o\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"Subject: inner\r\n"
	"Content-Type: multipart/alternative; boundary=\"i\"\r\n"
	"\r\n"
	"--i\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"inner plain\r\n"
	"--i\r\n"
	"Content-Type: text/html\r\n"
	"\r\n"
	"<p>inner</p>\r\n"
	"--i--\r\n"
	"--o\r\n"
	"Content-Type: application/octet-stream; name=\"x (1).bin\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"AAECAw==\r\n"
	"--o--\r\n";

/* The structure of section in the message's BODYSTRUCTURE, or NULL. */
static char *find_part(struct arena *arena, const char *wire, const char *section)
{
	size_t start, len;

	if (!imap_bodystructure_find(wire, strlen(wire), section, &start, &len))
		return NULL;
	return arena_strndup(arena, wire + start, len);
}

static bool starts(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

static void bodystructure_parts_are_found_by_section(void)
{
	struct arena *arena = arena_new();
	struct mime_message *msg = mime_parse_message(arena, nested, strlen(nested));
	const char *wire = msg->bodystructure;

	UNIT_CHECK_STR(find_part(arena, wire, ""), wire);
	UNIT_CHECK(starts(find_part(arena, wire, "1"), "(\"TEXT\" \"PLAIN\""));
	UNIT_CHECK(starts(find_part(arena, wire, "2"), "(\"MESSAGE\" \"RFC822\""));
	char *alt = find_part(arena, wire, "2.1");
	UNIT_CHECK(starts(alt, "(\"TEXT\" \"PLAIN\""));
	UNIT_CHECK(starts(find_part(arena, wire, "2.2"), "(\"TEXT\" \"HTML\""));
	char *bin = find_part(arena, wire, "3");
	UNIT_CHECK(starts(bin, "(\"APPLICATION\" \"OCTET-STREAM\""));
	UNIT_CHECK(bin != NULL && strstr(bin, "\"BASE64\" 8") != NULL);
	static const char *const none[] = { "4", "0", "1.1", "2.3", "3.1", "x", "1.", ".1", " 1", "+1", "1..2",
					    "2.1.1", "-1", "99999999999999999999" };
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		UNIT_CHECK(find_part(arena, wire, none[i]) == NULL);

	/* BINARY: the encoding and size of the data as returned */
	char *as_binary = imap_bodystructure_as_binary(arena, bin, strlen(bin), 4);
	UNIT_CHECK(strstr(as_binary, "\"BINARY\" 4") != NULL);
	UNIT_CHECK(strstr(as_binary, "BASE64") == NULL);
	UNIT_CHECK(strncmp(as_binary, bin, strstr(bin, "\"BASE64\"") - bin) == 0);
	UNIT_CHECK_STR(imap_bodystructure_as_binary(arena, wire, strlen(wire), 4), wire);

	/* a single-part message: part 1 is its body */
	const char *single = "Subject: s\r\nContent-Type: text/plain\r\n\r\nhi\r\n";
	msg = mime_parse_message(arena, single, strlen(single));
	UNIT_CHECK_STR(find_part(arena, msg->bodystructure, "1"), msg->bodystructure);
	UNIT_CHECK(find_part(arena, msg->bodystructure, "2") == NULL);
	/* malformed wire forms find nothing */
	static const char *const bad[] = { "", "(", "((", "(\"a", "({5}\r\nab)", "({x}\r\n)",
					   ")", "(()" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		UNIT_CHECK(find_part(arena, bad[i], "1") == NULL && find_part(arena, bad[i], "") == NULL);
	arena_free(arena);
}

int main(void)
{
	UNIT_RUN(bodystructure_parts_are_found_by_section);
	UNIT_RUN(urlauth_token_is_hmac_sha1_hex);
	UNIT_RUN(urlauth_rump_and_full_urls_parse);
	UNIT_RUN(urlauth_expire_parses_and_is_part_of_the_rump);
	UNIT_RUN(urlauth_refuses_malformed_components);
	UNIT_RUN(urlauth_key_entries_are_hidden);
	return unit_finish();
}
