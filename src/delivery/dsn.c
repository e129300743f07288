/*
 * dsn: see dsn.h. The report has three parts (RFC 3464 §2, RFC 3462): a
 * human-readable text, the message/delivery-status fields, and the original
 * message's header (not its body: no need to mail a large attachment back).
 */
#include "delivery/dsn.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "core/mem.h"

/* RFC 5322 date in UTC. */
static void dsn_date(char *out, size_t cap, long long when)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)when;
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, cap, "%s, %d %s %d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Is s at an enhanced status code "C.S.D" (RFC 3463 §2)? Its length or 0. */
static size_t dsn_enhanced_len(const char *s)
{
	size_t i = 0, digits;

	if (s[0] != '2' && s[0] != '4' && s[0] != '5')
		return 0;
	if (s[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		for (digits = 0; s[i] >= '0' && s[i] <= '9' && digits < 3; digits++)
			i++;
		if (digits == 0 || (part == 0 && s[i] != '.'))
			return 0;
		if (part == 0)
			i++;
	}
	return s[i] == '\0' || s[i] == ' ' || s[i] == ';' ? i : 0;
}

void dsn_status(const char *reply, char *status)
{
	const char *p = reply;
	size_t n;

	/* "550 5.1.1 text", "5.1.1 text", "4.4.7 gave up ...". */
	if (p[0] >= '2' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
	    p[2] <= '9' && (p[3] == ' ' || p[3] == '-'))
		p += 4;
	n = dsn_enhanced_len(p);
	if (n > 0 && n < 16) {
		memcpy(status, p, n);
		status[n] = '\0';
		/* A failure is never "delivered": a 2.x.x here means a bad peer. */
		if (status[0] == '2')
			status[0] = '5';
		return;
	}
	snprintf(status, 16, "%c.0.0", reply[0] == '4' ? '4' : '5');
}

/* One line of text in a header field: control characters become spaces. */
static void dsn_append_clean(struct buf *out, const char *text)
{
	for (const char *p = text; *p != '\0'; p++)
		buf_append_char(out, (unsigned char)*p < 0x20 ? ' ' : *p);
}

/* The original's header: up to the first empty line, CRLF line ends. */
static void dsn_append_header(struct buf *out, const char *data, size_t size)
{
	size_t i = 0;

	while (i < size) {
		const char *nl = memchr(data + i, '\n', size - i);
		size_t end = nl != NULL ? (size_t)(nl - data) : size;
		size_t len = end - i;
		if (len > 0 && data[end - 1] == '\r')
			len--;
		if (len == 0)
			break;
		buf_append(out, data + i, len);
		buf_append(out, "\r\n", 2);
		i = end + 1;
	}
}

/* ---- RFC 3461 parameters ------------------------------------------------------ */

static int dsn_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1; /* RFC 3461 §4: upper case only */
}

int dsn_xtext_decode(const char *s, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '+') {
			if (i + 2 >= len)
				return -1;
			int hi = dsn_hex_value(s[i + 1]);
			int lo = dsn_hex_value(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			buf_append_char(out, (char)(hi * 16 + lo));
			i += 2;
		} else if (c >= '!' && c <= '~' && c != '=') {
			buf_append_char(out, (char)c);
		} else {
			return -1;
		}
	}
	buf_reserve(out, 1)[0] = '\0';
	return 0;
}

void dsn_xtext_encode(struct buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= '!' && c <= '~' && c != '+' && c != '=') {
			buf_append_char(out, (char)c);
		} else {
			buf_append_char(out, '+');
			buf_append_char(out, hex[c >> 4]);
			buf_append_char(out, hex[c & 15]);
		}
	}
}

int dsn_notify_parse(const char *value, unsigned *notify_r)
{
	static const struct { const char *name; unsigned bit; } words[] = {
		{ "NEVER", DSN_NOTIFY_NEVER }, { "SUCCESS", DSN_NOTIFY_SUCCESS },
		{ "FAILURE", DSN_NOTIFY_FAILURE }, { "DELAY", DSN_NOTIFY_DELAY },
	};
	unsigned notify = 0;
	const char *p = value;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		unsigned bit = 0;

		for (size_t k = 0; k < sizeof(words) / sizeof(words[0]) && bit == 0; k++) {
			if (n == strlen(words[k].name) && strncasecmp(p, words[k].name, n) == 0)
				bit = words[k].bit;
		}
		if (bit == 0)
			return -1;
		notify |= bit;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	/* RFC 3461 §4.1 note a: NEVER must appear by itself. */
	if ((notify & DSN_NOTIFY_NEVER) && notify != DSN_NOTIFY_NEVER)
		return -1;
	*notify_r = notify;
	return 0;
}

void dsn_notify_format(unsigned notify, char *out, size_t cap)
{
	if (notify & DSN_NOTIFY_NEVER) {
		snprintf(out, cap, "NEVER");
		return;
	}
	snprintf(out, cap, "%s%s%s%s%s", notify & DSN_NOTIFY_SUCCESS ? "SUCCESS" : "",
		 (notify & DSN_NOTIFY_SUCCESS) && (notify & (DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY)) ?
		 "," : "", notify & DSN_NOTIFY_FAILURE ? "FAILURE" : "",
		 (notify & DSN_NOTIFY_FAILURE) && (notify & DSN_NOTIFY_DELAY) ? "," : "",
		 notify & DSN_NOTIFY_DELAY ? "DELAY" : "");
}

bool dsn_notify_wants(unsigned notify, unsigned kind)
{
	if (notify == 0)
		return kind == DSN_NOTIFY_FAILURE || kind == DSN_NOTIFY_DELAY;
	return (notify & kind) != 0;
}

/* xtext whose decoded form is printable US-ASCII (graphic and space, RFC
 * 3461 §4.2, §4.4) and at most max characters. */
static bool dsn_printable_xtext(const char *s, size_t len, size_t max)
{
	struct buf decoded = BUF_INIT;
	bool ok = len <= 3 * max && dsn_xtext_decode(s, len, &decoded) == 0 &&
		  decoded.len <= max;

	for (size_t i = 0; ok && i < decoded.len; i++)
		ok = decoded.data[i] >= ' ' && decoded.data[i] <= '~';
	buf_free(&decoded);
	return ok;
}

bool dsn_envid_valid(const char *value)
{
	return dsn_printable_xtext(value, strlen(value), DSN_ENVID_MAX);
}

bool dsn_orcpt_valid(const char *value)
{
	const char *semi = strchr(value, ';');
	size_t len = strlen(value);

	if (semi == NULL || semi == value || len > DSN_ORCPT_MAX)
		return false;
	/* addr-type = atom (RFC 5322 atext) */
	for (const char *p = value; p < semi; p++) {
		if (!isalnum((unsigned char)*p) && strchr("!#$%&'*+-/=?^_`{|}~", *p) == NULL)
			return false;
	}
	return dsn_printable_xtext(semi + 1, strlen(semi + 1), DSN_ORCPT_MAX);
}

/* ---- the report ------------------------------------------------------------------ */

/* The decoded form of an xtext value we validated on arrival, cleaned for
 * a header line. */
static void dsn_append_xtext(struct buf *out, const char *xtext)
{
	struct buf decoded = BUF_INIT;

	if (dsn_xtext_decode(xtext, strlen(xtext), &decoded) == 0)
		dsn_append_clean(out, decoded.data);
	buf_free(&decoded);
}

static const char *dsn_action_name(enum dsn_action action)
{
	static const char *const names[] = { "failed", "delayed", "delivered", "relayed" };

	return names[action];
}

void dsn_build_report(struct buf *out, const struct dsn_report *r)
{
	unsigned char rnd[12];
	char date[64], arrived[64], until[64], boundary[64], token[25];
	bool failed = false, delayed = false;

	for (size_t i = 0; i < r->count; i++) {
		failed |= r->rcpts[i].action == DSN_ACTION_FAILED;
		delayed |= r->rcpts[i].action == DSN_ACTION_DELAYED;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		memset(rnd, (int)(r->now & 0xff), sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(token + 2 * i, 3, "%02x", rnd[i]);
	snprintf(boundary, sizeof(boundary), "=_buzon_dsn_%s", token);
	dsn_date(date, sizeof(date), r->now);
	dsn_date(arrived, sizeof(arrived), r->arrival);

	buf_printf(out, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", r->hostname);
	buf_append_str(out, "To: <");
	dsn_append_clean(out, r->sender);
	buf_append_str(out, ">\r\n");
	buf_printf(out, "Subject: %s\r\n", failed ? "Undelivered Mail Returned to Sender" :
		   delayed ? "Delayed Mail (still being retried)" :
		   "Successful Mail Delivery Report");
	buf_printf(out, "Date: %s\r\n", date);
	buf_printf(out, "Message-ID: <%s.dsn@%s>\r\n", token, r->hostname);
	/* RFC 3834 §5: a machine's answer; nobody should answer it. */
	buf_append_str(out, "Auto-Submitted: auto-replied\r\n");
	buf_append_str(out, "MIME-Version: 1.0\r\n");
	buf_printf(out, "Content-Type: multipart/report; report-type=delivery-status;\r\n"
		   "\tboundary=\"%s\"\r\n\r\n", boundary);
	buf_append_str(out, "This is a MIME-encapsulated delivery status notification.\r\n\r\n");

	buf_printf(out, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", boundary);
	buf_printf(out, "This is the mail system at %s.\r\n\r\n", r->hostname);
	for (size_t i = 0; i < r->count; i++) {
		static const char *const what[] = {
			"could not be delivered to", "has not yet been delivered to",
			"was delivered to", "was relayed (no further notice will come) to",
		};
		buf_printf(out, "Your message %s <", what[r->rcpts[i].action]);
		dsn_append_clean(out, r->rcpts[i].address);
		buf_append_str(out, ">");
		if (r->rcpts[i].reply != NULL && r->rcpts[i].reply[0] != '\0') {
			buf_append_str(out, ": ");
			dsn_append_clean(out, r->rcpts[i].reply);
		}
		buf_append_str(out, "\r\n");
	}
	buf_append_str(out, "\r\n");

	/* RFC 3464 §2.2 per-message fields, §2.3 per-recipient fields. */
	buf_printf(out, "--%s\r\nContent-Type: message/delivery-status\r\n\r\n", boundary);
	if (r->envid != NULL) {
		buf_append_str(out, "Original-Envelope-Id: ");
		dsn_append_xtext(out, r->envid);
		buf_append_str(out, "\r\n");
	}
	buf_printf(out, "Reporting-MTA: dns; %s\r\nArrival-Date: %s\r\n", r->hostname, arrived);
	for (size_t i = 0; i < r->count; i++) {
		const struct dsn_recipient *rc = &r->rcpts[i];
		const char *reply = rc->reply != NULL ? rc->reply : "";
		char status[16];
		bool smtp = reply[0] >= '2' && reply[0] <= '5' && reply[1] >= '0' &&
			    reply[1] <= '9' && reply[2] >= '0' && reply[2] <= '9' &&
			    reply[3] == ' ';

		if (rc->action == DSN_ACTION_FAILED)
			dsn_status(reply, status);
		else if (rc->action == DSN_ACTION_DELAYED)
			snprintf(status, sizeof(status), "4.0.0");
		else
			snprintf(status, sizeof(status), "2.0.0");
		if (rc->action == DSN_ACTION_DELAYED && smtp && reply[0] == '4') {
			dsn_status(reply, status); /* "4.x.y" of the last reply */
			status[0] = '4';
		}
		buf_append_str(out, "\r\n");
		if (rc->orcpt != NULL) {
			const char *semi = strchr(rc->orcpt, ';');
			if (semi != NULL) {
				buf_append_str(out, "Original-Recipient: ");
				buf_append(out, rc->orcpt, (size_t)(semi - rc->orcpt));
				buf_append_str(out, ";");
				dsn_append_xtext(out, semi + 1);
				buf_append_str(out, "\r\n");
			}
		}
		buf_append_str(out, "Final-Recipient: rfc822; ");
		dsn_append_clean(out, rc->address);
		buf_printf(out, "\r\nAction: %s\r\nStatus: %s\r\n", dsn_action_name(rc->action),
			   status);
		if (reply[0] != '\0') {
			buf_append_str(out, smtp ? "Diagnostic-Code: smtp; " : "X-Buzon-Reason: ");
			dsn_append_clean(out, reply);
			buf_append_str(out, "\r\n");
		}
		if (rc->action == DSN_ACTION_FAILED || rc->action == DSN_ACTION_DELAYED)
			buf_printf(out, "Last-Attempt-Date: %s\r\n", date);
		if (rc->action == DSN_ACTION_DELAYED && r->retry_until > 0) {
			dsn_date(until, sizeof(until), r->retry_until);
			buf_printf(out, "Will-Retry-Until: %s\r\n", until);
		}
	}
	buf_append_str(out, "\r\n");

	/* RFC 3461 §4.3: RET=FULL returns the whole message with a failure;
	 * otherwise (and always without a failure) the header only. */
	if (failed && r->ret == DSN_RET_FULL) {
		buf_printf(out, "--%s\r\nContent-Type: message/rfc822\r\n\r\n", boundary);
		buf_append(out, r->original, r->original_size);
		if (r->original_size > 0 && r->original[r->original_size - 1] != '\n')
			buf_append_str(out, "\r\n");
	} else {
		buf_printf(out, "--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary);
		dsn_append_header(out, r->original, r->original_size);
	}
	buf_printf(out, "\r\n--%s--\r\n", boundary);
}

void dsn_build(struct buf *out, const char *hostname, const char *sender,
	       const struct dsn_failure *failures, size_t count, const char *original,
	       size_t original_size, long long arrival, long long now)
{
	struct dsn_recipient *rcpts = mem_alloc((count + 1) * sizeof(*rcpts));
	struct dsn_report report = {
		.hostname = hostname, .sender = sender, .rcpts = rcpts, .count = count,
		.original = original, .original_size = original_size, .arrival = arrival,
		.now = now,
	};

	for (size_t i = 0; i < count; i++)
		rcpts[i] = (struct dsn_recipient){ failures[i].address, NULL, DSN_ACTION_FAILED,
						   failures[i].reply };
	dsn_build_report(out, &report);
	free(rcpts);
}
