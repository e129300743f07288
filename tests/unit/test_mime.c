/*
 * test_mime: the MIME parser as IMAP clients see it: exact ENVELOPE, BODY
 * and BODYSTRUCTURE strings (RFC 9051 §7.5.2), the bytes each section of
 * the part table points at, the decoded search fields, dates, and that
 * hostile input (deep nesting, many parts, junk) stays bounded. Run from
 * the repository root (the corpus is read from tests/fuzz/corpus/mime/).
 */
#include <dirent.h>
#include <stdlib.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "mime/mime.h"
#include "unit.h"

#define CORPUS_DIR "tests/fuzz/corpus/mime"

static struct mime_message *parse(struct arena *a, const char *s)
{
	return mime_parse_message(a, s, strlen(s));
}

/* The bytes of BODY[section] (the part's body) as a string. */
static char *section_body(struct arena *a, const struct mime_message *m, const char *data,
			  const char *section)
{
	const struct mime_part *p = mime_find_part(m, section);

	if (p == NULL)
		return NULL;
	return arena_strndup(a, data + p->body_offset, p->body_end - p->body_offset);
}

static void simple_text_message_has_exact_envelope_and_bodystructure(void)
{
	struct arena *a = arena_new();
	const char *msg = "From: Alice Example <alice@example.test>\r\n"
			  "To: bob@example.test\r\n"
			  "Subject: Hello\r\n"
			  "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
			  "Message-ID: <1@example.test>\r\n"
			  "\r\n"
			  "Hello Bob.\r\n"
			  "How are you?\r\n";
	struct mime_message *m = parse(a, msg);

	UNIT_CHECK_STR(m->envelope,
		       "(\"Mon, 7 Feb 1994 21:52:25 -0800\" \"Hello\" "
		       "((\"Alice Example\" NIL \"alice\" \"example.test\")) "
		       "((\"Alice Example\" NIL \"alice\" \"example.test\")) "
		       "((\"Alice Example\" NIL \"alice\" \"example.test\")) "
		       "((NIL NIL \"bob\" \"example.test\")) NIL NIL NIL \"<1@example.test>\")");
	UNIT_CHECK_STR(m->bodystructure,
		       "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 26 2 "
		       "NIL NIL NIL NIL)");
	UNIT_CHECK_STR(m->body, "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 26 2)");
	UNIT_CHECK(m->header_size == strlen(msg) - 26);
	UNIT_CHECK(m->part_count == 2);
	UNIT_CHECK_STR(m->parts[0].section, "");
	UNIT_CHECK_STR(m->parts[1].section, "1");
	UNIT_CHECK_STR(section_body(a, m, msg, "1"), "Hello Bob.\r\nHow are you?\r\n");
	UNIT_CHECK(m->parts[1].header_offset == 0);
	UNIT_CHECK_STR(m->subject, "Hello");
	UNIT_CHECK_STR(m->from, "Alice Example <alice@example.test>");
	UNIT_CHECK_STR(m->from_addr, "alice@example.test");
	UNIT_CHECK_STR(m->to_addr, "bob@example.test");
	/* RFC 5957 §3.1: the name when there is one, else the address */
	UNIT_CHECK_STR(m->from_display, "Alice Example");
	UNIT_CHECK_STR(m->to_display, "bob@example.test");
	UNIT_CHECK(m->cc == NULL && m->cc_addr == NULL);
	UNIT_CHECK(m->has_date && m->date == 760686745 && m->date_tz_minutes == -480);
	UNIT_CHECK_STR(m->preview, "Hello Bob. How are you?");
	UNIT_CHECK_STR(m->text, "Hello Bob.\r\nHow are you?\r\n");
	arena_free(a);
}

static void absent_headers_are_nil_and_empty_ones_empty_strings(void)
{
	struct arena *a = arena_new();
	struct mime_message *m = parse(a, "Subject:\r\nTo:\r\n\r\n");

	UNIT_CHECK_STR(m->envelope, "(NIL \"\" NIL NIL NIL NIL NIL NIL NIL NIL)");
	UNIT_CHECK_STR(m->bodystructure,
		       "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 0 0 "
		       "NIL NIL NIL NIL)");
	arena_free(a);
}

static void envelope_sender_and_reply_to_are_their_own_when_present(void)
{
	struct arena *a = arena_new();
	struct mime_message *m = parse(a, "From: a@x.test\r\nSender: s@x.test\r\n"
					  "Reply-To: r@x.test\r\nCc: c@x.test\r\nBcc: b@x.test\r\n"
					  "In-Reply-To: <p@x>\r\nSubject: say \"hi\" \\o/\r\n\r\n");

	UNIT_CHECK_STR(m->envelope,
		       "(NIL \"say \\\"hi\\\" \\\\o/\" ((NIL NIL \"a\" \"x.test\")) "
		       "((NIL NIL \"s\" \"x.test\")) ((NIL NIL \"r\" \"x.test\")) NIL "
		       "((NIL NIL \"c\" \"x.test\")) ((NIL NIL \"b\" \"x.test\")) \"<p@x>\" NIL)");
	arena_free(a);
}

static void multipart_alternative_lists_both_parts(void)
{
	struct arena *a = arena_new();
	const char *msg = "Content-Type: multipart/alternative; boundary=\"b1\"\r\n"
			  "\r\n"
			  "preamble\r\n"
			  "--b1\r\n"
			  "Content-Type: text/plain; charset=utf-8\r\n"
			  "\r\n"
			  "plain\r\n"
			  "--b1\r\n"
			  "Content-Type: text/html; charset=utf-8\r\n"
			  "Content-Transfer-Encoding: quoted-printable\r\n"
			  "\r\n"
			  "<p>h=C3=A9llo</p>\r\n"
			  "--b1--\r\n"
			  "epilogue\r\n";
	struct mime_message *m = parse(a, msg);

	UNIT_CHECK_STR(m->bodystructure,
		       "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 5 0 "
		       "NIL NIL NIL NIL)"
		       "(\"TEXT\" \"HTML\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" 17 0 "
		       "NIL NIL NIL NIL) \"ALTERNATIVE\" (\"BOUNDARY\" \"b1\") NIL NIL NIL)");
	UNIT_CHECK_STR(m->body,
		       "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 5 0)"
		       "(\"TEXT\" \"HTML\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" 17 0)"
		       " \"ALTERNATIVE\")");
	UNIT_CHECK(m->part_count == 3);
	UNIT_CHECK(m->parts[0].multipart);
	UNIT_CHECK_STR(section_body(a, m, msg, "1"), "plain");
	UNIT_CHECK_STR(section_body(a, m, msg, "2"), "<p>h=C3=A9llo</p>");
	UNIT_CHECK(m->parts[1].header_offset == (uint32_t)(strstr(msg, "Content-Type: text/plain") - msg));
	UNIT_CHECK(strstr(m->text, "plain") != NULL);
	UNIT_CHECK(strstr(m->text, " h\xc3\xa9llo ") != NULL);
	UNIT_CHECK(strstr(m->text, "<p>") == NULL);
	UNIT_CHECK_STR(m->preview, "plain");
	arena_free(a);
}

static const char mixed_msg[] =
	"From: a@x.test\r\n"
	"Content-Type: multipart/mixed; boundary=b2\r\n"
	"\r\n"
	"--b2\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"see attached\r\n"
	"--b2\r\n"
	"Content-Type: application/pdf; name=\"doc.pdf\"\r\n"
	"Content-Disposition: attachment; filename=\"doc.pdf\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"Content-ID: <part2@x>\r\n"
	"Content-Description: The doc\r\n"
	"Content-Language: en, fr\r\n"
	"Content-Location: http://x.test/doc.pdf\r\n"
	"\r\n"
	"JVBERi0xLjQK\r\n"
	"--b2--\r\n";

static const char mixed_bodystructure[] =
	"((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 12 0 NIL NIL NIL NIL)"
	"(\"APPLICATION\" \"PDF\" (\"NAME\" \"doc.pdf\") \"<part2@x>\" \"The doc\" \"BASE64\" 12 "
	"NIL (\"attachment\" (\"FILENAME\" \"doc.pdf\")) (\"en\" \"fr\") \"http://x.test/doc.pdf\")"
	" \"MIXED\" (\"BOUNDARY\" \"b2\") NIL NIL NIL)";

static void multipart_mixed_attachment_has_disposition_and_extension_fields(void)
{
	struct arena *a = arena_new();
	struct mime_message *m = parse(a, mixed_msg);

	UNIT_CHECK_STR(m->bodystructure, mixed_bodystructure);
	UNIT_CHECK_STR(m->body,
		       "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 12 0)"
		       "(\"APPLICATION\" \"PDF\" (\"NAME\" \"doc.pdf\") \"<part2@x>\" \"The doc\" "
		       "\"BASE64\" 12) \"MIXED\")");
	UNIT_CHECK_STR(section_body(a, m, mixed_msg, "1"), "see attached");
	UNIT_CHECK_STR(section_body(a, m, mixed_msg, "2"), "JVBERi0xLjQK");
	UNIT_CHECK(mime_find_part(m, "3") == NULL);
	UNIT_CHECK_STR(m->text, "see attached");
	arena_free(a);
}

static void bare_lf_line_endings_give_the_same_structure(void)
{
	struct arena *a = arena_new();
	struct buf lf = BUF_INIT;

	for (const char *p = mixed_msg; *p != '\0'; p++) {
		if (*p != '\r')
			buf_append_char(&lf, *p);
	}
	struct mime_message *m = mime_parse_message(a, lf.data, lf.len);
	UNIT_CHECK(strstr(m->bodystructure, "\"7BIT\" 12 0 NIL NIL NIL NIL)") != NULL);
	UNIT_CHECK(strstr(m->bodystructure, "\"BASE64\" 12 NIL (\"attachment\"") != NULL);
	UNIT_CHECK_STR(section_body(a, m, lf.data, "1"), "see attached");
	UNIT_CHECK_STR(section_body(a, m, lf.data, "2"), "JVBERi0xLjQK");
	UNIT_CHECK(m->parts[2].header_offset ==
		   (uint32_t)(strstr(lf.data, "Content-Type: application") - lf.data));
	UNIT_CHECK(m->header_size == (uint32_t)(strstr(lf.data, "\n\n") - lf.data) + 2);
	buf_free(&lf);
	arena_free(a);
}

static const char nested_msg[] =
	"Subject: outer\r\n"
	"Content-Type: multipart/mixed; boundary=outer\r\n"
	"\r\n"
	"--outer\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"body one\r\n"
	"--outer\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"From: Carol <carol@example.test>\r\n"
	"Subject: inner\r\n"
	"Content-Type: multipart/alternative; boundary=inner\r\n"
	"\r\n"
	"--inner\r\n"
	"\r\n"
	"inner plain\r\n"
	"--inner\r\n"
	"Content-Type: text/html\r\n"
	"\r\n"
	"<b>inner</b>\r\n"
	"--inner--\r\n"
	"--outer\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"Subject: single\r\n"
	"\r\n"
	"single body\r\n"
	"--outer--\r\n";

static void nested_message_rfc822_is_numbered_per_rfc9051(void)
{
	struct arena *a = arena_new();
	struct mime_message *m = parse(a, nested_msg);
	static const char *const want[] = { "", "1", "2", "2.1", "2.2", "3", "3.1" };

	UNIT_CHECK(m->part_count == 7);
	for (size_t i = 0; i < m->part_count && i < 7; i++)
		UNIT_CHECK_STR(m->parts[i].section, want[i]);
	UNIT_CHECK_STR(section_body(a, m, nested_msg, "1"), "body one");
	UNIT_CHECK_STR(section_body(a, m, nested_msg, "2.1"), "inner plain");
	UNIT_CHECK_STR(section_body(a, m, nested_msg, "2.2"), "<b>inner</b>");
	UNIT_CHECK_STR(section_body(a, m, nested_msg, "3.1"), "single body");
	UNIT_CHECK_STR(section_body(a, m, nested_msg, "3"), "Subject: single\r\n\r\nsingle body");
	const struct mime_part *p2 = mime_find_part(m, "2");
	UNIT_CHECK(p2->message && !p2->multipart);
	UNIT_CHECK(p2->inner_body_offset == (uint32_t)(strstr(nested_msg, "--inner\r\n") - nested_msg));
	UNIT_CHECK(mime_find_part(m, "2.1")->header_offset ==
		   (uint32_t)(strstr(nested_msg, "\r\ninner plain") - nested_msg));
	UNIT_CHECK_STR(m->bodystructure,
		       "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 8 0 NIL NIL NIL NIL)"
		       "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 188 "
		       "(NIL \"inner\" ((\"Carol\" NIL \"carol\" \"example.test\")) "
		       "((\"Carol\" NIL \"carol\" \"example.test\")) "
		       "((\"Carol\" NIL \"carol\" \"example.test\")) NIL NIL NIL NIL NIL) "
		       "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 11 0 NIL NIL NIL NIL)"
		       "(\"TEXT\" \"HTML\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 12 0 NIL NIL NIL NIL)"
		       " \"ALTERNATIVE\" (\"BOUNDARY\" \"inner\") NIL NIL NIL) 11 NIL NIL NIL NIL)"
		       "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 30 "
		       "(NIL \"single\" NIL NIL NIL NIL NIL NIL NIL NIL) "
		       "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 11 0 NIL NIL NIL NIL)"
		       " 2 NIL NIL NIL NIL)"
		       " \"MIXED\" (\"BOUNDARY\" \"outer\") NIL NIL NIL)");
	UNIT_CHECK_STR(m->text, "body one\ninner plain\n inner \nsingle body");
	arena_free(a);
}

static void part_table_survives_serialization(void)
{
	struct arena *a = arena_new();
	struct mime_message *m = parse(a, nested_msg);
	struct mime_part *parts;
	size_t count;

	char *text = mime_parts_serialize(a, m->parts, m->part_count);
	UNIT_CHECK(mime_parts_deserialize(a, text, &parts, &count) == 0);
	UNIT_CHECK(count == m->part_count);
	for (size_t i = 0; i < count && i < m->part_count; i++) {
		UNIT_CHECK_STR(parts[i].section, m->parts[i].section);
		UNIT_CHECK(parts[i].header_offset == m->parts[i].header_offset);
		UNIT_CHECK(parts[i].body_offset == m->parts[i].body_offset);
		UNIT_CHECK(parts[i].body_end == m->parts[i].body_end);
		UNIT_CHECK(parts[i].multipart == m->parts[i].multipart);
		UNIT_CHECK(parts[i].message == m->parts[i].message);
		UNIT_CHECK(parts[i].inner_body_offset == m->parts[i].inner_body_offset);
	}
	UNIT_CHECK(mime_parts_find(parts, count, "2.2") != NULL);
	UNIT_CHECK(mime_parts_find(parts, count, "9") == NULL);
	UNIT_CHECK(mime_parts_deserialize(a, "1 2 3 0 0 1", &parts, &count) < 0);
	UNIT_CHECK(mime_parts_deserialize(a, "1 2 x 0 0 1\n", &parts, &count) < 0);
	UNIT_CHECK(mime_parts_deserialize(a, "1 2 3 7 0 1\n", &parts, &count) < 0);
	UNIT_CHECK(mime_parts_deserialize(a, "", &parts, &count) == 0 && count == 0);
	arena_free(a);
}

static void rfc2231_continuations_are_joined(void)
{
	struct arena *a = arena_new();
	struct mime_message *m = parse(a,
		"Content-Type: application/octet-stream;\r\n"
		" name*0=\"long\";\r\n"
		" name*1=\"name.txt\"\r\n"
		"Content-Disposition: attachment;\r\n"
		" filename*0*=iso-8859-1'fr'caf%E9;\r\n"
		" filename*1*=%20cr%E8me;\r\n"
		" filename*2=\".txt\"\r\n"
		"\r\n"
		"data");

	UNIT_CHECK_STR(m->bodystructure,
		       "(\"APPLICATION\" \"OCTET-STREAM\" (\"NAME\" \"longname.txt\") NIL NIL "
		       "\"7BIT\" 4 NIL (\"attachment\" (\"FILENAME*\" "
		       "\"utf-8'fr'caf%C3%A9%20cr%C3%A8me.txt\")) NIL NIL)");
	m = parse(a, "Content-Type: text/plain; charset*=utf-8''%E2%82%AC; format=flowed\r\n\r\n");
	UNIT_CHECK_STR(m->body, "(\"TEXT\" \"PLAIN\" (\"CHARSET*\" \"utf-8''%E2%82%AC\" "
				"\"FORMAT\" \"flowed\" \"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 0 0)");
	arena_free(a);
}

static void rfc2047_subjects_are_decoded_and_adjacent_words_joined(void)
{
	struct arena *a = arena_new();
	const char *raw = "=?utf-8?q?caf=C3=A9?= =?utf-8?b?IGNyw6htZQ==?=\r\n and =?ISO-8859-1?Q?na=EFve_?=";
	char *msg = arena_printf(a, "Subject: %s\r\nFrom: =?utf-8?q?J=C3=B6rg?= <j@x.test>\r\n\r\n",
				 raw);
	struct mime_message *m = parse(a, msg);

	UNIT_CHECK_STR(m->subject, "caf\xc3\xa9 cr\xc3\xa8me and na\xc3\xafve ");
	UNIT_CHECK(strstr(m->envelope, "\"=?utf-8?q?caf=C3=A9?= =?utf-8?b?IGNyw6htZQ==?= and "
				       "=?ISO-8859-1?Q?na=EFve_?=\"") != NULL);
	UNIT_CHECK(strstr(m->envelope, "((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x.test\"))") != NULL);
	UNIT_CHECK_STR(m->from, "J\xc3\xb6rg <j@x.test>");
	/* A character split over two encoded words, and words in other charsets. */
	UNIT_CHECK_STR(mime_decode_header(a, "=?utf-8?b?w6k=?= =?utf-8?b?qQ==?=", 33),
		       "\xc3\xa9\xef\xbf\xbd");
	UNIT_CHECK_STR(mime_decode_header(a, "=?utf-8?b?4oI=?=  =?utf-8?b?rA==?=", 34),
		       "\xe2\x82\xac");
	UNIT_CHECK_STR(mime_decode_header(a, "=?iso-8859-15?q?=A4?= =?windows-1252?q?=80?=", 44),
		       "\xe2\x82\xac\xe2\x82\xac");
	UNIT_CHECK_STR(mime_decode_header(a, "=?koi8-r?b?8NLJ18XU?=", 21),
		       "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
	UNIT_CHECK_STR(mime_decode_header(a, "=?x-unknown?q?ok?= a =?utf-8?q?b?=", 34), "ok a b");
	/* Not encoded words: kept as they are. */
	UNIT_CHECK_STR(mime_decode_header(a, "=?utf-8?q?a b?= =?x?", 20), "=?utf-8?q?a b?= =?x?");
	/* Declared UTF-8 that is not: U+FFFD, never invalid output. */
	UNIT_CHECK_STR(mime_decode_header(a, "=?utf-8?q?a=FF=C3?=", 19), "a\xef\xbf\xbd\xef\xbf\xbd");
	arena_free(a);
}

static void eight_bit_raw_headers_become_utf8_and_literals(void)
{
	struct arena *a = arena_new();
	struct mime_message *m = parse(a, "Subject: Gr\xc3\xbc\xc3\x9f" "e\r\n\r\n");

	UNIT_CHECK_STR(m->subject, "Gr\xc3\xbc\xc3\x9f" "e");
	UNIT_CHECK_STR(m->envelope, "(NIL {7}\r\nGr\xc3\xbc\xc3\x9f" "e NIL NIL NIL NIL NIL NIL NIL NIL)");
	m = parse(a, "Subject: Gr\xfc\xdf" "e \x80\r\n\r\n");
	UNIT_CHECK_STR(m->subject, "Gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac");
	UNIT_CHECK(strstr(m->header_text, "Subject: Gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac\n") != NULL);
	arena_free(a);
}

static void group_addresses_use_rfc9051_group_markers(void)
{
	struct arena *a = arena_new();
	struct mime_message *m = parse(a,
		"To: Friends: alice@a.test, \"Bob B.\" <bob@b.test>;, undisclosed-recipients:;\r\n"
		"Cc: <@r1.test,@r2.test:route@c.test>, x@y.test (Comment Name), \"q\\\"uote\" <q@z>\r\n"
		"\r\n");

	UNIT_CHECK_STR(m->envelope,
		       "(NIL NIL NIL NIL NIL "
		       "((NIL NIL \"Friends\" NIL)(NIL NIL \"alice\" \"a.test\")"
		       "(\"Bob B.\" NIL \"bob\" \"b.test\")(NIL NIL NIL NIL)"
		       "(NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) "
		       "((NIL \"@r1.test,@r2.test\" \"route\" \"c.test\")"
		       "(\"Comment Name\" NIL \"x\" \"y.test\")(\"q\\\"uote\" NIL \"q\" \"z\")) "
		       "NIL NIL NIL)");
	/* RFC 5256 §3: SORT uses the first envelope address: the group's name */
	UNIT_CHECK_STR(m->to_addr, "Friends");
	UNIT_CHECK_STR(m->cc_addr, "route@c.test");
	UNIT_CHECK_STR(m->to_display, "Friends"); /* a group: its name (RFC 5957) */
	arena_free(a);
}

/* RFC 5957 §3.1: DISPLAYFROM / DISPLAYTO sort on the ENVELOPE addr-name,
 * decoded, whatever form carried it, else on the address. */
static void display_values_follow_the_envelope(void)
{
	struct arena *a = arena_new();
	struct mime_message *m = parse(a,
		"From: bbb@ddd.com (John X. Doe)\r\n"
		"To: foo\r\n\r\n");

	UNIT_CHECK_STR(m->from_display, "John X. Doe");
	UNIT_CHECK_STR(m->to_display, "foo@MISSING_DOMAIN");
	m = parse(a, "From: =?utf-8?q?Doe=2C_J=C3=BCrgen?= <j@x.test>\r\nTo: \"\" <e@x.test>\r\n\r\n");
	UNIT_CHECK_STR(m->from_display, "Doe, J\xc3\xbcrgen");
	UNIT_CHECK_STR(m->to_display, "e@x.test");
	m = parse(a, "Subject: none\r\n\r\n");
	UNIT_CHECK(m->from_display == NULL && m->to_display == NULL);
	arena_free(a);
}

static void missing_end_boundary_ends_last_part_at_end(void)
{
	struct arena *a = arena_new();
	const char *msg = "Content-Type: multipart/mixed; boundary=zz\r\n\r\n"
			  "--zz\r\n\r\none\r\n--zz\r\nContent-Type: text/plain\r\n\r\ntwo\r\n";
	struct mime_message *m = parse(a, msg);

	UNIT_CHECK_STR(m->body, "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 3 0)"
				"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 5 1)"
				" \"MIXED\")");
	UNIT_CHECK_STR(section_body(a, m, msg, "2"), "two\r\n");
	arena_free(a);
}

static void boundary_that_never_appears_gives_one_empty_part(void)
{
	struct arena *a = arena_new();
	const char *msg = "Content-Type: multipart/mixed; boundary=nope\r\n\r\njust text\r\n";
	struct mime_message *m = parse(a, msg);

	UNIT_CHECK_STR(m->body, "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 0 0)"
				" \"MIXED\")");
	UNIT_CHECK(m->part_count == 2);
	UNIT_CHECK_STR(section_body(a, m, msg, "1"), "");
	/* No boundary parameter at all: RFC 2045 error handling, text/plain. */
	m = parse(a, "Content-Type: multipart/mixed\r\n\r\njust text\r\n");
	UNIT_CHECK_STR(m->body, "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 11 1)");
	UNIT_CHECK_STR(m->text, "just text\r\n");
	arena_free(a);
}

static void nested_multipart_may_reuse_the_parent_boundary(void)
{
	struct arena *a = arena_new();
	/* As some Mac mailers sent: the inner multipart owns the boundary
	 * until its close delimiter, then the outer one continues. */
	const char *msg = "Content-Type: multipart/mixed; boundary=X\r\n\r\n"
			  "--X\r\nContent-Type: multipart/alternative; boundary=X\r\n\r\n"
			  "--X\r\n\r\nplain\r\n--X\r\nContent-Type: text/html\r\n\r\nhtml\r\n--X--\r\n"
			  "\r\n--X\r\nContent-Type: image/gif\r\n\r\nGIF\r\n--X--\r\n";
	struct mime_message *m = parse(a, msg);

	UNIT_CHECK_STR(m->body, "(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 5 0)"
				"(\"TEXT\" \"HTML\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 4 0)"
				" \"ALTERNATIVE\")(\"IMAGE\" \"GIF\" NIL NIL NIL \"7BIT\" 3) \"MIXED\")");
	UNIT_CHECK_STR(section_body(a, m, msg, "1.2"), "html");
	UNIT_CHECK_STR(section_body(a, m, msg, "2"), "GIF");
	arena_free(a);
}

static void part_without_body_has_no_blank_line_of_its_own(void)
{
	struct arena *a = arena_new();
	/* RFC 2046 §5.1.1: the CRLF before "--b" is the delimiter's, so part
	 * 1 has a header, no blank line and no body; BODY[1.MIME] is the
	 * header alone (RFC 9051 §6.4.5), as Dovecot answers. */
	const char *msg = "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
			  "--b\r\nContent-Type: text/plain\r\n\r\n"
			  "--b\r\nContent-Type: text/html\r\n\r\nhtml\r\n--b--\r\n";
	struct mime_message *m = parse(a, msg);
	const struct mime_part *p1 = mime_find_part(m, "1");

	UNIT_CHECK(p1 != NULL);
	UNIT_CHECK_STR(arena_strndup(a, msg + p1->header_offset, p1->body_offset - p1->header_offset),
		       "Content-Type: text/plain\r\n");
	UNIT_CHECK_STR(section_body(a, m, msg, "1"), "");
	UNIT_CHECK_STR(section_body(a, m, msg, "2"), "html");
	arena_free(a);
}

static void repeated_address_fields_are_all_reported(void)
{
	struct arena *a = arena_new();
	struct mime_message *m = parse(a, "Cc: a@x\r\nCC: b@y\r\nFrom: MAILER DAEMON <>\r\n\r\n");

	UNIT_CHECK_STR(m->envelope, "(NIL NIL ((\"MAILER DAEMON\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) "
				    "((\"MAILER DAEMON\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) "
				    "((\"MAILER DAEMON\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) NIL "
				    "((NIL NIL \"a\" \"x\")(NIL NIL \"b\" \"y\")) NIL NIL NIL)");
	UNIT_CHECK_STR(m->cc, "a@x, b@y");
	UNIT_CHECK_STR(m->from_addr, "MISSING_MAILBOX"); /* as ENVELOPE says (RFC 5256 §3) */
	arena_free(a);
}

static void boundary_lines_need_the_whole_boundary(void)
{
	struct arena *a = arena_new();
	/* "--ab" must not be cut by "--abc" (an inner boundary) nor by text
	 * that only starts like it; transport padding after it is fine. */
	const char *msg = "Content-Type: multipart/mixed; boundary=ab\r\n\r\n"
			  "--ab \t\r\n\r\nx\r\n--abc\r\n--abx\r\n--ab--  \r\n";
	struct mime_message *m = parse(a, msg);

	UNIT_CHECK(m->part_count == 2);
	UNIT_CHECK_STR(section_body(a, m, msg, "1"), "x\r\n--abc\r\n--abx");
	arena_free(a);
}

/* A message nested n times, as multiparts or as message/rfc822. */
static char *deep_message(struct arena *a, int n, bool rfc822)
{
	struct buf b = BUF_INIT;

	for (int i = 0; i < n; i++) {
		if (rfc822)
			buf_append_str(&b, "Content-Type: message/rfc822\r\n\r\n");
		else
			buf_printf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n",
				   i, i);
	}
	buf_append_str(&b, "\r\nleaf\r\n");
	for (int i = n - 1; i >= 0 && !rfc822; i--)
		buf_printf(&b, "--b%d--\r\n", i);
	char *s = arena_memdup(a, b.data, b.len);
	buf_free(&b);
	return s;
}

static void ten_thousand_deep_nesting_stays_bounded(void)
{
	struct arena *a = arena_new();
	clock_t start = clock();

	for (int rfc822 = 0; rfc822 < 2; rfc822++) {
		char *msg = deep_message(a, 10000, rfc822);
		struct mime_message *m = parse(a, msg);
		UNIT_CHECK(m->part_count <= MIME_MAX_DEPTH + 2);
		UNIT_CHECK(m->part_count >= MIME_MAX_DEPTH);
		UNIT_CHECK(strstr(m->bodystructure, "\"APPLICATION\" \"OCTET-STREAM\"") != NULL);
	}
	UNIT_CHECK((clock() - start) / CLOCKS_PER_SEC < 5);
	arena_free(a);
}

static void many_parts_are_capped(void)
{
	struct arena *a = arena_new();
	struct buf b = BUF_INIT;

	buf_append_str(&b, "Content-Type: multipart/mixed; boundary=x\r\n\r\n");
	for (int i = 0; i < 3 * MIME_MAX_PARTS; i++)
		buf_append_str(&b, "--x\r\n\r\np\r\n");
	struct mime_message *m = mime_parse_message(a, b.data, b.len);
	UNIT_CHECK(m->part_count <= MIME_MAX_PARTS + 1);
	UNIT_CHECK(m->parts[m->part_count - 1].body_end == b.len);
	buf_free(&b);
	arena_free(a);
}

static void huge_headers_parse_in_linear_time(void)
{
	struct arena *a = arena_new();
	struct buf b = BUF_INIT;
	clock_t start = clock();

	for (int i = 0; i < 50000; i++)
		buf_append_str(&b, "X-Junk: =?a?q?x=?a?q?x=?a?q?x (((\r\n");
	buf_append_str(&b, "Subject: ");
	for (int i = 0; i < 20000; i++)
		buf_append_str(&b, "=?a?q?x");
	buf_append_str(&b, "\r\nTo: ");
	for (int i = 0; i < 20000; i++)
		buf_append_str(&b, "a@b, \"x\" <c@d>, g: ;");
	buf_append_str(&b, "\r\n\r\nbody");
	struct mime_message *m = mime_parse_message(a, b.data, b.len);
	UNIT_CHECK(m->subject != NULL && m->to_addr != NULL);
	UNIT_CHECK((clock() - start) / CLOCKS_PER_SEC < 5);
	buf_free(&b);
	arena_free(a);
}

static void preview_is_200_characters_and_utf8_safe(void)
{
	struct arena *a = arena_new();
	struct buf b = BUF_INIT;

	buf_append_str(&b, "Content-Type: text/plain; charset=utf-8\r\n\r\n   \r\n");
	for (int i = 0; i < 300; i++)
		buf_append_str(&b, "\xc3\xa9 \r\n\t");
	struct mime_message *m = mime_parse_message(a, b.data, b.len);
	size_t chars = 0;
	for (const char *p = m->preview; *p != '\0'; p++)
		chars += ((unsigned char)*p & 0xC0) != 0x80;
	UNIT_CHECK(chars == MIME_PREVIEW_CHARS);
	UNIT_CHECK(strncmp(m->preview, "\xc3\xa9 \xc3\xa9 ", 6) == 0);
	buf_free(&b);
	arena_free(a);
}

static void text_parts_are_decoded_to_utf8(void)
{
	struct arena *a = arena_new();
	struct mime_message *m = parse(a,
		"Content-Type: multipart/mixed; boundary=q\r\n\r\n"
		"--q\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9 soft=\r\nbreak\r\n"
		"--q\r\nContent-Type: text/plain; charset=utf-8\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\nw6l0w6kK\r\n"
		"--q\r\nContent-Type: text/html\r\n\r\n<style>p{}</style><p>a&amp;b&#233;</p>\r\n"
		"--q\r\nContent-Type: image/png\r\n\r\nnot text\r\n--q--\r\n");

	UNIT_CHECK_STR(m->text, "caf\xc3\xa9 softbreak\n\xc3\xa9t\xc3\xa9\n\n  a&b\xc3\xa9 ");
	UNIT_CHECK(m->text_len == strlen(m->text));
	UNIT_CHECK_STR(m->preview, "caf\xc3\xa9 softbreak");
	arena_free(a);
}

static void header_filter_and_get_work_on_raw_headers(void)
{
	struct arena *a = arena_new();
	const char *h = "From: a@x\r\nSubject: one\r\n two\r\nX-A: 1\r\nsubject: again\r\n\r\n";
	const char *names[] = { "subject", "x-a" };
	struct buf out = BUF_INIT;

	mime_header_filter(h, strlen(h), names, 2, false, &out);
	UNIT_CHECK_STR(out.data, "Subject: one\r\n two\r\nX-A: 1\r\nsubject: again\r\n\r\n");
	buf_clear(&out);
	mime_header_filter(h, strlen(h), names, 2, true, &out);
	UNIT_CHECK_STR(out.data, "From: a@x\r\n\r\n");
	buf_clear(&out);
	mime_header_filter("A: 1", 4, names, 0, true, &out);
	UNIT_CHECK_STR(out.data, "A: 1\r\n\r\n");
	buf_free(&out);
	UNIT_CHECK_STR(mime_header_get(a, h, strlen(h), "SUBJECT"), "one two");
	UNIT_CHECK(mime_header_get(a, h, strlen(h), "Cc") == NULL);
	arena_free(a);
}

static void dates_parse_including_obsolete_forms(void)
{
	static const struct {
		const char *s;
		int64_t t;
		int tz;
	} ok[] = {
		{ "Mon, 7 Feb 1994 21:52:25 -0800", 760686745, -480 },
		{ "7 Feb 1994 21:52:25 -0800", 760686745, -480 },
		{ "  Mon ,  7  Feb  1994  21 : 52 : 25  -0800 (PST)", 760686745, -480 },
		{ "Mon, 7 Feb 94 21:52:25 PST", 760686745, -480 },
		{ "Mon, 7 Feb 1994 21:52 -0800", 760686720, -480 },
		{ "Thu, 01 Jan 1970 00:00:00 GMT", 0, 0 },
		{ "1 Jan 70 00:00:00 UT", 0, 0 },
		{ "Sat, 1 Jan 2000 12:00:00 EST", 946746000, -300 },
		{ "1 Jan 00 12:00:00 +0530", 946708200, 330 },
		{ "(comment) 1 (c) Jan 2000 12:00:00 +0000 (trailing)", 946728000, 0 },
		{ "Sat, 29 Feb 2020 23:59:60 Z", 1583020800, 0 },
		{ "1 Jan 100 00:00:00 +0000", 946684800, 0 },
		{ "Tue Jul  1 10:52:37 2003", 1057056757, 0 },
		{ "1-Jan-2000 00:00:00 -0000", 946684800, 0 },
	};
	static const char *const bad[] = {
		"", "garbage", "32 Jan 2000 00:00:00 +0000", "1 Foo 2000 00:00:00 +0000",
		"1 Jan 2000", "1 Jan 2000 25:00:00 +0000", "1 Jan 2000 12:61 +0000",
	};
	int64_t t;
	int tz;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		t = -1;
		tz = 9999;
		int r = mime_parse_date(ok[i].s, &t, &tz);
		if (r != 0 || t != ok[i].t || tz != ok[i].tz)
			printf("  date %s: r=%d t=%lld tz=%d\n", ok[i].s, r, (long long)t, tz);
		UNIT_CHECK(r == 0 && t == ok[i].t && tz == ok[i].tz);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mime_parse_date(bad[i], &t, &tz) == 0)
			printf("  date accepted: %s\n", bad[i]);
		UNIT_CHECK(mime_parse_date(bad[i], &t, &tz) < 0);
	}
}

/* Parentheses balance outside quoted strings and literals: a cheap
 * check that a rendering is one well-formed list. */
static bool balanced(const char *s)
{
	int depth = 0;

	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++)
				if (*p == '\\' && p[1] != '\0')
					p++;
		} else if (*p == '{') {
			char *end;
			unsigned long n = strtoul(p + 1, &end, 10);
			if (end[0] != '}' || end[1] != '\r' || end[2] != '\n')
				return false;
			p = end + 2 + n;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')' && --depth == 0) {
			return p[1] == '\0';
		}
		if (*p == '\0')
			return false;
	}
	return false;
}

/* Offsets are in range and in order. */
static bool parts_plausible(const struct mime_message *m, size_t len)
{
	if (m->part_count < 2 || m->parts[0].section[0] != '\0')
		return false;
	for (size_t i = 0; i < m->part_count; i++) {
		const struct mime_part *p = &m->parts[i];
		if (p->header_offset > p->body_offset || p->body_offset > p->body_end ||
		    p->body_end > len)
			return false;
	}
	return true;
}

static char *read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	*len_r = b.len;
	return buf_steal(&b);
}

static void every_corpus_message_parses_plausibly(void)
{
	DIR *dir = opendir(CORPUS_DIR);
	struct dirent *e;
	int files = 0;

	UNIT_CHECK(dir != NULL);
	while (dir != NULL && (e = readdir(dir)) != NULL) {
		if (strncmp(e->d_name, "msg_", 4) != 0)
			continue;
		char path[512];
		size_t len;
		snprintf(path, sizeof(path), "%s/%s", CORPUS_DIR, e->d_name);
		char *data = read_file(path, &len);
		struct arena *a = arena_new();
		struct mime_message *m = mime_parse_message(a, data, len);
		bool ok = balanced(m->envelope) && balanced(m->bodystructure) &&
			  balanced(m->body) && parts_plausible(m, len) && m->header_text != NULL;
		if (!ok)
			printf("  implausible: %s\n", e->d_name);
		UNIT_CHECK(ok);
		files++;
		arena_free(a);
		free(data);
	}
	if (dir != NULL)
		closedir(dir);
	UNIT_CHECK(files >= 48);
}

static void corpus_digest_and_known_structures(void)
{
	size_t len;
	char *data = read_file(CORPUS_DIR "/msg_02.txt", &len);
	struct arena *a = arena_new();

	UNIT_CHECK(data != NULL);
	if (data == NULL)
		return;
	struct mime_message *m = mime_parse_message(a, data, len);
	/* A digest's parts default to message/rfc822 (RFC 2046 §5.1.5). */
	UNIT_CHECK(strstr(m->body, "((\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 235 ") != NULL);
	UNIT_CHECK(mime_find_part(m, "3.5.1") != NULL);
	UNIT_CHECK(mime_find_part(m, "4") != NULL);
	UNIT_CHECK(mime_find_part(m, "5") == NULL);
	arena_free(a);
	free(data);
}

static void junk_never_crashes(void)
{
	static const char *const junk[] = {
		"", "\r", "\n", "\r\n\r\n", ":", "Content-Type: multipart/mixed; boundary=",
		"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a", "Content-Type: ;;;===\"\r\n",
		"Content-Type: message/rfc822\r\n\r\n", "From: <<<@@@>>>,,,;;:::\"\r\n",
		"From: (((\r\nTo: \"\\\r\nContent-Disposition: ;filename*0*='\r\n\r\n",
		"Content-Type: text/plain; a*0*=%; a*1=%%; a*99=x; a*100=y\r\n\r\n",
	};
	struct arena *a = arena_new();

	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		struct mime_message *m = parse(a, junk[i]);
		UNIT_CHECK(balanced(m->bodystructure) && balanced(m->envelope));
		UNIT_CHECK(parts_plausible(m, strlen(junk[i])));
	}
	struct mime_message *m = mime_parse_message(a, NULL, 0);
	UNIT_CHECK(m->part_count == 2);
	arena_free(a);
}

int main(void)
{
	UNIT_RUN(simple_text_message_has_exact_envelope_and_bodystructure);
	UNIT_RUN(absent_headers_are_nil_and_empty_ones_empty_strings);
	UNIT_RUN(envelope_sender_and_reply_to_are_their_own_when_present);
	UNIT_RUN(multipart_alternative_lists_both_parts);
	UNIT_RUN(multipart_mixed_attachment_has_disposition_and_extension_fields);
	UNIT_RUN(bare_lf_line_endings_give_the_same_structure);
	UNIT_RUN(nested_message_rfc822_is_numbered_per_rfc9051);
	UNIT_RUN(part_table_survives_serialization);
	UNIT_RUN(rfc2231_continuations_are_joined);
	UNIT_RUN(rfc2047_subjects_are_decoded_and_adjacent_words_joined);
	UNIT_RUN(eight_bit_raw_headers_become_utf8_and_literals);
	UNIT_RUN(group_addresses_use_rfc9051_group_markers);
	UNIT_RUN(display_values_follow_the_envelope);
	UNIT_RUN(missing_end_boundary_ends_last_part_at_end);
	UNIT_RUN(boundary_that_never_appears_gives_one_empty_part);
	UNIT_RUN(nested_multipart_may_reuse_the_parent_boundary);
	UNIT_RUN(part_without_body_has_no_blank_line_of_its_own);
	UNIT_RUN(repeated_address_fields_are_all_reported);
	UNIT_RUN(boundary_lines_need_the_whole_boundary);
	UNIT_RUN(ten_thousand_deep_nesting_stays_bounded);
	UNIT_RUN(many_parts_are_capped);
	UNIT_RUN(huge_headers_parse_in_linear_time);
	UNIT_RUN(preview_is_200_characters_and_utf8_safe);
	UNIT_RUN(text_parts_are_decoded_to_utf8);
	UNIT_RUN(header_filter_and_get_work_on_raw_headers);
	UNIT_RUN(dates_parse_including_obsolete_forms);
	UNIT_RUN(every_corpus_message_parses_plausibly);
	UNIT_RUN(corpus_digest_and_known_structures);
	UNIT_RUN(junk_never_crashes);
	return unit_finish();
}
