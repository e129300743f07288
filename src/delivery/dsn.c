/*
 * dsn: see dsn.h. The report has three parts (RFC 3464 §2, RFC 3462): a
 * human-readable text, the message/delivery-status fields, and the original
 * message's header (not its body: no need to mail a large attachment back).
 */
#include "delivery/dsn.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

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

void dsn_build(struct buf *out, const char *hostname, const char *sender,
	       const struct dsn_failure *failures, size_t count, const char *original,
	       size_t original_size, long long arrival, long long now)
{
	unsigned char rnd[12];
	char date[64], arrived[64], boundary[64], token[25];

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		memset(rnd, (int)(now & 0xff), sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(token + 2 * i, 3, "%02x", rnd[i]);
	snprintf(boundary, sizeof(boundary), "=_buzon_dsn_%s", token);
	dsn_date(date, sizeof(date), now);
	dsn_date(arrived, sizeof(arrived), arrival);

	buf_printf(out, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", hostname);
	buf_append_str(out, "To: <");
	dsn_append_clean(out, sender);
	buf_append_str(out, ">\r\n");
	buf_append_str(out, "Subject: Undelivered Mail Returned to Sender\r\n");
	buf_printf(out, "Date: %s\r\n", date);
	buf_printf(out, "Message-ID: <%s.dsn@%s>\r\n", token, hostname);
	/* RFC 3834 §5: a machine's answer; nobody should answer it. */
	buf_append_str(out, "Auto-Submitted: auto-replied\r\n");
	buf_append_str(out, "MIME-Version: 1.0\r\n");
	buf_printf(out, "Content-Type: multipart/report; report-type=delivery-status;\r\n"
		   "\tboundary=\"%s\"\r\n\r\n", boundary);
	buf_append_str(out, "This is a MIME-encapsulated delivery status notification.\r\n\r\n");

	buf_printf(out, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", boundary);
	buf_printf(out, "This is the mail system at %s.\r\n\r\n"
		   "Your message could not be delivered to %s:\r\n\r\n", hostname,
		   count == 1 ? "this recipient" : "these recipients");
	for (size_t i = 0; i < count; i++) {
		buf_append_str(out, "<");
		dsn_append_clean(out, failures[i].address);
		buf_append_str(out, ">: ");
		dsn_append_clean(out, failures[i].reply);
		buf_append_str(out, "\r\n");
	}
	buf_append_str(out, "\r\n");

	/* RFC 3464 §2.2 per-message fields, §2.3 per-recipient fields. */
	buf_printf(out, "--%s\r\nContent-Type: message/delivery-status\r\n\r\n", boundary);
	buf_printf(out, "Reporting-MTA: dns; %s\r\nArrival-Date: %s\r\n", hostname, arrived);
	for (size_t i = 0; i < count; i++) {
		char status[16];
		const char *reply = failures[i].reply;
		bool smtp = reply[0] >= '4' && reply[0] <= '5' && reply[1] >= '0' &&
			    reply[1] <= '9' && reply[2] >= '0' && reply[2] <= '9' &&
			    reply[3] == ' ';
		dsn_status(reply, status);
		buf_append_str(out, "\r\nFinal-Recipient: rfc822; ");
		dsn_append_clean(out, failures[i].address);
		buf_printf(out, "\r\nAction: failed\r\nStatus: %s\r\n", status);
		buf_append_str(out, smtp ? "Diagnostic-Code: smtp; " : "X-Buzon-Reason: ");
		dsn_append_clean(out, reply);
		buf_printf(out, "\r\nLast-Attempt-Date: %s\r\n", date);
	}
	buf_append_str(out, "\r\n");

	buf_printf(out, "--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary);
	dsn_append_header(out, original, original_size);
	buf_printf(out, "\r\n--%s--\r\n", boundary);
}
