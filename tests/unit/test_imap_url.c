/*
 * test_imap_url: the IMAP URLs CATENATE takes (src/imap/url.c, RFC 5092):
 * what each accepted form turns into, and which are refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "imap/url.h"
#include "unit.h"

static bool test_parse(struct arena *arena, const char *text, struct imap_url *url)
{
	const char *error;

	return imap_url_parse(arena, text, strlen(text), url, &error);
}

static void url_absolute_path_with_every_component(void)
{
	struct arena *arena = arena_new();
	struct imap_url url;

	UNIT_CHECK(test_parse(arena, "/Drafts;UIDVALIDITY=385759045/;UID=20/;SECTION=1.2.MIME"
			      "/;PARTIAL=10.300", &url));
	UNIT_CHECK_STR(url.mailbox, "Drafts");
	UNIT_CHECK(url.uidvalidity == 385759045u && url.uid == 20);
	UNIT_CHECK_STR(url.section.part, "1.2");
	UNIT_CHECK(url.section.text == IMAP_SECTION_MIME);
	UNIT_CHECK(url.partial && url.origin == 10 && url.length == 300);
	UNIT_CHECK(url.user == NULL && url.host == NULL);
	arena_free(arena);
}

static void url_relative_forms_and_escapes(void)
{
	struct arena *arena = arena_new();
	struct imap_url url;

	UNIT_CHECK(test_parse(arena, ";UID=7", &url));
	UNIT_CHECK(url.mailbox == NULL && url.uid == 7 && url.uidvalidity == 0);
	UNIT_CHECK(url.section.part[0] == '\0' && url.section.text == IMAP_SECTION_ALL);
	UNIT_CHECK(!url.partial);
	UNIT_CHECK(test_parse(arena, "Work/2024%20Q1/;uid=3/;section=HEADER.FIELDS%20(Subject)",
			      &url));
	UNIT_CHECK_STR(url.mailbox, "Work/2024 Q1");
	UNIT_CHECK(url.uid == 3 && url.section.text == IMAP_SECTION_HEADER_FIELDS);
	UNIT_CHECK(url.section.field_count == 1);
	UNIT_CHECK(test_parse(arena, "/%E2%82%AC/;UID=1/;PARTIAL=5", &url));
	UNIT_CHECK_STR(url.mailbox, "\xe2\x82\xac");
	UNIT_CHECK(url.partial && url.origin == 5 && url.length == UINT64_MAX);
	arena_free(arena);
}

static void url_absolute_names_user_and_host(void)
{
	struct arena *arena = arena_new();
	struct imap_url url;

	UNIT_CHECK(test_parse(arena, "imap://alice%40example.test;AUTH=*@mail.example.test:143"
			      "/INBOX/;UID=1/;SECTION=TEXT", &url));
	UNIT_CHECK_STR(url.user, "alice@example.test");
	UNIT_CHECK_STR(url.host, "mail.example.test");
	UNIT_CHECK_STR(url.mailbox, "INBOX");
	UNIT_CHECK(url.section.text == IMAP_SECTION_TEXT);
	UNIT_CHECK(test_parse(arena, "//bob@localhost/x/;UID=2", &url));
	UNIT_CHECK_STR(url.user, "bob");
	arena_free(arena);
}

static void url_refuses_what_names_no_message(void)
{
	static const char *const bad[] = {
		"", "/", "/INBOX", "/INBOX?SUBJECT%20x", "/INBOX/;UID=0", "/INBOX/;UID=x",
		"/INBOX/;UID=4294967296", "/INBOX;UIDVALIDITY=0/;UID=1", "/INBOX/;UID=1/junk",
		"/INBOX/;UID=1/;SECTION=", "/INBOX/;UID=1/;SECTION=1.0", "/INBOX/;UID=1/;SECTION=FOO",
		"/INBOX/;UID=1/;PARTIAL=1.0", "/INBOX/;UID=1/;PARTIAL=", "/IN%0ABOX/;UID=1",
		"/IN%00BOX/;UID=1", "/INBOX%/;UID=1", "/INBOX%4/;UID=1", "http://x/INBOX/;UID=1",
		"imap://localhost/INBOX/;UID=1", "imap://a@/INBOX/;UID=1", ";SECTION=1",
		"/;UID=1", "imap://a@b", ";UID=1;URLAUTH=anonymous",
	};
	struct arena *arena = arena_new();
	struct imap_url url;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (test_parse(arena, bad[i], &url)) {
			printf("  accepted: %s\n", bad[i]);
			UNIT_CHECK(false);
		}
	}
	arena_free(arena);
}

int main(void)
{
	UNIT_RUN(url_absolute_path_with_every_component);
	UNIT_RUN(url_relative_forms_and_escapes);
	UNIT_RUN(url_absolute_names_user_and_host);
	UNIT_RUN(url_refuses_what_names_no_message);
	return unit_finish();
}
