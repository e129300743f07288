/*
 * test_queue: the outbound queue's pure parts and its storage: the retry
 * schedule, queue_submit/list/flush/delete and the runner's record/settle
 * steps on a real queue.db, the SMTP reply parser, dot-stuffing and the
 * DSN's status codes.
 */
#include "unit.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "delivery/dsn.h"
#include "delivery/queue-private.h"
#include "delivery/smtp-client.h"

static char test_dir[64];

static void backoff_schedule_grows_then_caps(void)
{
	static const long long want[] = { 300, 900, 1800, 3600, 7200, 14400, 14400, 14400 };

	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		UNIT_CHECK(queue_retry_delay(i + 1, 300) == want[i]);
	UNIT_CHECK(queue_retry_delay(0, 300) == 300);
	UNIT_CHECK(queue_retry_delay(1000, 1) == 48);
	/* The default schedule spans about five days in ~35 attempts. */
	long long total = 0;
	unsigned n = 0;
	while (total < 5 * 24 * 3600)
		total += queue_retry_delay(++n, 300);
	UNIT_CHECK(n > 20 && n < 40);
}

static void open_test_queue(struct config *c, struct queue **q)
{
	const char *error = NULL;

	memset(c, 0, sizeof(*c));
	c->data_dir = test_dir;
	c->queue_retry_base = 60;
	c->queue_lifetime = 3600;
	UNIT_CHECK(queue_open(c, q, &error) == 0);
}

static void submit_list_flush_delete(void)
{
	struct config c;
	struct queue *q;
	struct arena *arena = arena_new();
	struct queue_entry *entries;
	size_t count;
	const char *error;
	char *id;
	const char *rcpts[] = { "a@x.test", "B@Y.test" };

	open_test_queue(&c, &q);
	UNIT_CHECK(queue_submit(q, "s@example.test", rcpts, 2, "M\r\n", 3, &id, &error) == 0);
	UNIT_CHECK(queue_list(q, arena, &entries, &count, &error) == 0 && count == 1);
	UNIT_CHECK_STR(entries[0].id, id);
	UNIT_CHECK_STR(entries[0].sender, "s@example.test");
	UNIT_CHECK(entries[0].count == 2 && entries[0].size == 3);
	UNIT_CHECK(entries[0].recipients[1].state == QUEUE_PENDING);

	struct queue_due *due;
	UNIT_CHECK(queue_due_list(q, time(NULL), arena, &due, &count, &error) == 0 && count == 2);
	UNIT_CHECK_STR(due[0].domain, "x.test");
	UNIT_CHECK_STR(due[1].domain, "y.test");
	UNIT_CHECK(queue_flush(q, &count, &error) == 0 && count == 2);
	UNIT_CHECK(queue_delete(q, id, &error) == 0);
	UNIT_CHECK(queue_delete(q, id, &error) == -2);
	UNIT_CHECK(queue_delete(q, "x1", &error) == -2);
	UNIT_CHECK(queue_list(q, arena, &entries, &count, &error) == 0 && count == 0);
	free(id);
	queue_close(q);
	arena_free(arena);
}

static void record_retries_fails_and_settles(void)
{
	struct config c;
	struct queue *q;
	struct arena *arena = arena_new();
	struct queue_entry entry, *entries;
	size_t count;
	const char *error;
	char *id;
	const char *rcpts[] = { "ok@x.test", "later@x.test", "bad@x.test" };
	long long now = time(NULL);

	open_test_queue(&c, &q);
	UNIT_CHECK(queue_submit(q, "s@example.test", rcpts, 3, "M", 1, &id, &error) == 0);
	int64_t mid = atoll(id);
	struct queue_result results[] = {
		{ "ok@x.test", QUEUE_DELIVERED, "250 ok" },
		{ "later@x.test", QUEUE_PENDING, "451 4.3.0 later" },
		{ "bad@x.test", QUEUE_FAILED, "550 5.1.1 no" },
	};
	UNIT_CHECK(queue_record(q, mid, results, 3, now, &error) == 0);
	UNIT_CHECK(queue_list(q, arena, &entries, &count, &error) == 0 && count == 1);
	UNIT_CHECK(entries[0].recipients[0].state == QUEUE_DELIVERED);
	UNIT_CHECK(entries[0].recipients[1].state == QUEUE_PENDING);
	UNIT_CHECK(entries[0].recipients[1].next_attempt == now + 60);
	UNIT_CHECK(entries[0].recipients[1].attempts == 1);
	UNIT_CHECK_STR(entries[0].recipients[1].last_reply, "451 4.3.0 later");
	UNIT_CHECK(queue_failed_list(q, mid, arena, &entry, &error) == 0 && entry.count == 1);
	UNIT_CHECK_STR(entry.recipients[0].address, "bad@x.test");
	UNIT_CHECK(queue_settle(q, mid, &error) == 0);
	UNIT_CHECK(queue_failed_list(q, mid, arena, &entry, &error) == 0 && entry.count == 0);
	/* Past queue_lifetime a temporary failure is final (4.4.7). */
	UNIT_CHECK(queue_record(q, mid, &results[1], 1, now + 7200, &error) == 0);
	UNIT_CHECK(queue_failed_list(q, mid, arena, &entry, &error) == 0 && entry.count == 1);
	UNIT_CHECK(strncmp(entry.recipients[0].last_reply, "4.4.7 ", 6) == 0);
	UNIT_CHECK(queue_settle(q, mid, &error) == 0);
	UNIT_CHECK(queue_list(q, arena, &entries, &count, &error) == 0 && count == 0);
	free(id);
	queue_close(q);
	arena_free(arena);
}

static void smtp_replies_single_and_multiline(void)
{
	struct smtp_reply r;
	const char *ehlo = "250-mx.test hi\r\n250-SIZE 1000\r\n250-starttls\r\n250 8BITMIME\r\nX";

	UNIT_CHECK(smtp_reply_parse("250 ok\r\n", 8, &r) == 8 && r.code == 250);
	UNIT_CHECK_STR(r.text, "250 ok");
	UNIT_CHECK(smtp_reply_parse("250 ok", 6, &r) == 0);
	UNIT_CHECK(smtp_reply_parse("", 0, &r) == 0);
	UNIT_CHECK(smtp_reply_parse("354\r\n", 5, &r) == 5 && r.code == 354);
	UNIT_CHECK(smtp_reply_parse(ehlo, strlen(ehlo), &r) == (ssize_t)strlen(ehlo) - 1);
	UNIT_CHECK(r.code == 250);
	UNIT_CHECK(smtp_reply_has(&r, "STARTTLS") != NULL);
	UNIT_CHECK(strncmp(smtp_reply_has(&r, "SIZE"), "1000\n", 5) == 0);
	UNIT_CHECK(smtp_reply_has(&r, "8BITMIME") != NULL);
	UNIT_CHECK(smtp_reply_has(&r, "AUTH") == NULL);
	UNIT_CHECK(smtp_reply_has(&r, "SIZ") == NULL);
	/* Malformed: codes that differ, no code, a bad separator. */
	UNIT_CHECK(smtp_reply_parse("250-a\r\n251 b\r\n", 14, &r) < 0);
	UNIT_CHECK(smtp_reply_parse("hello\r\n", 7, &r) < 0);
	UNIT_CHECK(smtp_reply_parse("250xok\r\n", 8, &r) < 0);
	UNIT_CHECK(smtp_reply_parse("650 ok\r\n", 8, &r) < 0);
	/* A line without end past the limit. */
	char *big = malloc(SMTP_REPLY_LINE_MAX + 10);
	memset(big, 'a', SMTP_REPLY_LINE_MAX + 10);
	memcpy(big, "250 ", 4);
	UNIT_CHECK(smtp_reply_parse(big, SMTP_REPLY_LINE_MAX + 10, &r) < 0);
	free(big);
}

static void dot_stuffing_and_line_ends(void)
{
	struct buf b = BUF_INIT;

	smtp_dot_stuff(&b, ".a\r\nb\n..c\r\n.", 12);
	UNIT_CHECK_STR(b.data, "..a\r\nb\r\n...c\r\n..\r\n.\r\n");
	buf_clear(&b);
	smtp_dot_stuff(&b, "", 0);
	UNIT_CHECK_STR(b.data, ".\r\n");
	buf_free(&b);
}

static void dsn_status_codes(void)
{
	char s[16];

	dsn_status("550 5.1.1 no such user", s);
	UNIT_CHECK_STR(s, "5.1.1");
	dsn_status("554 transaction failed", s);
	UNIT_CHECK_STR(s, "5.0.0");
	dsn_status("4.4.7 gave up after 120 hours; last: 451 try later", s);
	UNIT_CHECK_STR(s, "4.4.7");
	dsn_status("556 5.1.10 null MX", s);
	UNIT_CHECK_STR(s, "5.1.10");
	dsn_status("DNS: no answer", s);
	UNIT_CHECK_STR(s, "5.0.0");
}

static void dsn_is_a_multipart_report(void)
{
	struct buf b = BUF_INIT;
	struct dsn_failure f = { "bob@remote.test", "550 5.1.1 no such user" };
	const char *orig = "Subject: hi\r\nFrom: a@b\r\n\r\nsecret body\r\n";

	dsn_build(&b, "mail.example.test", "alice@example.test", &f, 1, orig, strlen(orig), 0, 0);
	UNIT_CHECK(strstr(b.data, "multipart/report; report-type=delivery-status") != NULL);
	UNIT_CHECK(strstr(b.data, "\r\nFinal-Recipient: rfc822; bob@remote.test\r\n") != NULL);
	UNIT_CHECK(strstr(b.data, "\r\nStatus: 5.1.1\r\n") != NULL);
	UNIT_CHECK(strstr(b.data, "Diagnostic-Code: smtp; 550 5.1.1 no such user") != NULL);
	UNIT_CHECK(strstr(b.data, "Subject: hi\r\n") != NULL);
	UNIT_CHECK(strstr(b.data, "secret body") == NULL);
	buf_free(&b);
}

/* RFC 3461 §4: "+" and "=" and what is not printable ASCII are "+XX";
 * the hex digits must be upper case. */
static void xtext_decodes_and_encodes(void)
{
	struct buf b = BUF_INIT;

	UNIT_CHECK(dsn_xtext_decode("a+2Bb+3Dc", 9, &b) == 0);
	UNIT_CHECK_STR(b.data, "a+b=c");
	buf_clear(&b);
	UNIT_CHECK(dsn_xtext_decode("a+2b", 4, &b) < 0);
	buf_clear(&b);
	UNIT_CHECK(dsn_xtext_decode("a+2", 3, &b) < 0);
	buf_clear(&b);
	UNIT_CHECK(dsn_xtext_decode("a=b", 3, &b) < 0);
	buf_clear(&b);
	UNIT_CHECK(dsn_xtext_decode("a b", 3, &b) < 0);
	buf_clear(&b);
	dsn_xtext_encode(&b, "x+y=z \xc3\xa9", 8);
	buf_append_char(&b, '\0');
	UNIT_CHECK_STR(b.data, "x+2By+3Dz+20+C3+A9");
	buf_free(&b);
	UNIT_CHECK(dsn_envid_valid("QQ314159") && !dsn_envid_valid("a+0Ab"));
	UNIT_CHECK(dsn_orcpt_valid("rfc822;bob+40x.test") && !dsn_orcpt_valid("rfc822"));
	UNIT_CHECK(!dsn_orcpt_valid(";bob") && !dsn_orcpt_valid("rf c;bob"));
}

static void notify_lists(void)
{
	unsigned n;
	char out[64];

	UNIT_CHECK(dsn_notify_parse("never", &n) == 0 && n == DSN_NOTIFY_NEVER);
	UNIT_CHECK(dsn_notify_parse("Delay,SUCCESS", &n) == 0 &&
		   n == (DSN_NOTIFY_DELAY | DSN_NOTIFY_SUCCESS));
	dsn_notify_format(n, out, sizeof(out));
	UNIT_CHECK_STR(out, "SUCCESS,DELAY");
	UNIT_CHECK(dsn_notify_parse("NEVER,FAILURE", &n) < 0);
	UNIT_CHECK(dsn_notify_parse("", &n) < 0);
	UNIT_CHECK(dsn_notify_parse("SUCCESS,", &n) < 0);
	/* Absent NOTIFY: FAILURE and DELAY, never SUCCESS. */
	UNIT_CHECK(dsn_notify_wants(0, DSN_NOTIFY_FAILURE) && dsn_notify_wants(0, DSN_NOTIFY_DELAY));
	UNIT_CHECK(!dsn_notify_wants(0, DSN_NOTIFY_SUCCESS));
	UNIT_CHECK(!dsn_notify_wants(DSN_NOTIFY_NEVER, DSN_NOTIFY_FAILURE));
}

/* RFC 3464 fields of a mixed report; RET=FULL returns the whole message
 * only because a recipient failed. */
static void report_fields_and_returned_content(void)
{
	struct buf b = BUF_INIT;
	const char *orig = "Subject: hi\r\n\r\nsecret body\r\n";
	struct dsn_recipient r[2] = {
		{ "bob@remote.test", "rfc822;Bob+40remote.test", DSN_ACTION_FAILED, "550 5.1.1 no" },
		{ "eve@remote.test", NULL, DSN_ACTION_RELAYED, "250 ok" },
	};
	struct dsn_report report = {
		.hostname = "mx.example.test", .sender = "a@example.test", .envid = "E+2B1",
		.ret = DSN_RET_FULL, .rcpts = r, .count = 2, .original = orig,
		.original_size = strlen(orig),
	};

	dsn_build_report(&b, &report);
	UNIT_CHECK(strstr(b.data, "\r\nOriginal-Envelope-Id: E+1\r\n") != NULL);
	UNIT_CHECK(strstr(b.data, "\r\nOriginal-Recipient: rfc822;Bob@remote.test\r\n"
			   "Final-Recipient: rfc822; bob@remote.test\r\nAction: failed\r\n") != NULL);
	UNIT_CHECK(strstr(b.data, "Action: relayed\r\nStatus: 2.0.0\r\n") != NULL);
	UNIT_CHECK(strstr(b.data, "Content-Type: message/rfc822\r\n\r\nSubject: hi") != NULL);
	UNIT_CHECK(strstr(b.data, "secret body") != NULL);
	buf_clear(&b);
	report.count = 1;
	report.rcpts = &r[1];
	dsn_build_report(&b, &report);
	UNIT_CHECK(strstr(b.data, "secret body") == NULL);
	UNIT_CHECK(strstr(b.data, "text/rfc822-headers") != NULL);
	UNIT_CHECK(strstr(b.data, "Subject: Successful Mail Delivery Report") != NULL);
	buf_free(&b);
}

int main(void)
{
	snprintf(test_dir, sizeof(test_dir), "/tmp/buzon-test-queue-XXXXXX");
	if (mkdtemp(test_dir) == NULL)
		return 1;
	UNIT_RUN(backoff_schedule_grows_then_caps);
	UNIT_RUN(submit_list_flush_delete);
	UNIT_RUN(record_retries_fails_and_settles);
	UNIT_RUN(smtp_replies_single_and_multiline);
	UNIT_RUN(dot_stuffing_and_line_ends);
	UNIT_RUN(dsn_status_codes);
	UNIT_RUN(dsn_is_a_multipart_report);
	UNIT_RUN(xtext_decodes_and_encodes);
	UNIT_RUN(notify_lists);
	UNIT_RUN(report_fields_and_returned_content);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	if (system(cmd) != 0)
		return 1;
	return unit_finish();
}
