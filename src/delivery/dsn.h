/*
 * dsn: delivery status notifications. The RFC 3461 envelope parameters
 * (NOTIFY, RET, ENVID, ORCPT and their xtext encoding: parsed from hostile
 * input, so bounded and fuzzed by tests/fuzz/fuzz_dsn.c) and the RFC 3464
 * report (RFC 3462 multipart/report) that tells a sender which recipients
 * failed, were delayed, delivered or relayed. Pure: no I/O.
 */
#ifndef BUZON_DELIVERY_DSN_H
#define BUZON_DELIVERY_DSN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* RFC 3461 §4.1 NOTIFY, as bits; 0 means the parameter was absent. */
enum dsn_notify {
	DSN_NOTIFY_NEVER = 1,
	DSN_NOTIFY_SUCCESS = 2,
	DSN_NOTIFY_FAILURE = 4,
	DSN_NOTIFY_DELAY = 8,
};

/* RFC 3461 §4.3 RET; NONE when the parameter was absent. */
enum dsn_ret {
	DSN_RET_NONE = 0,
	DSN_RET_FULL = 1,
	DSN_RET_HDRS = 2,
};

/* RFC 3461 §4.4: ENVID up to 100 characters; §4.2: ORCPT up to 500. We
 * bound the encoded form by the same numbers times 3 (every octet may be
 * a "+XX"). */
#define DSN_ENVID_MAX 100
#define DSN_ORCPT_MAX 500

/* RFC 3461 §4: decode xtext s[0..len) into out (appended, NUL kept after
 * it). -1 when s is not xtext ("+" not followed by two upper-case hex
 * digits, a byte outside "!".."~", a bare "="). */
int dsn_xtext_decode(const char *s, size_t len, struct buf *out);
/* RFC 3461 §4: append s[0..len) to out as xtext ("+", "=", controls,
 * space and non-ASCII as "+XX"). */
void dsn_xtext_encode(struct buf *out, const char *s, size_t len);
/* NOTIFY's value: "NEVER" alone, or a comma list of SUCCESS, FAILURE and
 * DELAY, any case. 0 with *notify_r, or -1. */
int dsn_notify_parse(const char *value, unsigned *notify_r);
/* The NOTIFY value for notify bits (not 0) in out ("SUCCESS,FAILURE"). */
void dsn_notify_format(unsigned notify, char *out, size_t cap);
/* Does a recipient with these NOTIFY bits get a DSN of kind (one of
 * SUCCESS, FAILURE, DELAY)? Absent NOTIFY is FAILURE,DELAY (RFC 3461
 * §4.1 allows it; §5.2.5 (b), §5.2.6 (c)). */
bool dsn_notify_wants(unsigned notify, unsigned kind);
/* An ENVID value (xtext of printable US-ASCII, RFC 3461 §4.4): true when
 * valid. */
bool dsn_envid_valid(const char *value);
/* An ORCPT value ("addr-type;xtext", RFC 3461 §4.2): true when valid. */
bool dsn_orcpt_valid(const char *value);

struct dsn_failure {
	const char *address;
	const char *reply;      /* "550 5.1.1 no such user", or our reason */
};

/* The status code (RFC 3463) for a failure reply: the enhanced code the
 * reply carries ("5.1.1"; "4.4.7" for an expiry), else one derived from
 * its basic code (5.0.0). Written to status (at least 16 bytes). */
void dsn_status(const char *reply, char *status);

/* Append to out the whole DSN message from MAILER-DAEMON@hostname to
 * sender for the failed recipients of original (whose header is returned,
 * RFC 3462 text/rfc822-headers). arrival and now are unix times. */
void dsn_build(struct buf *out, const char *hostname, const char *sender,
	       const struct dsn_failure *failures, size_t count, const char *original,
	       size_t original_size, long long arrival, long long now);

/* What happened to one recipient (RFC 3464 §2.3.3). */
enum dsn_action {
	DSN_ACTION_FAILED,
	DSN_ACTION_DELAYED,
	DSN_ACTION_DELIVERED,
	DSN_ACTION_RELAYED,
};

struct dsn_recipient {
	const char *address;
	const char *orcpt;      /* the RCPT's ORCPT value as received, or NULL */
	enum dsn_action action;
	const char *reply;      /* the reply or our reason; NULL: none to show */
};

/* One report about one message. */
struct dsn_report {
	const char *hostname;   /* ours: Reporting-MTA, MAILER-DAEMON@ */
	const char *sender;     /* the message's sender, whom the DSN goes to */
	const char *envid;      /* ENVID as received (xtext), or NULL */
	enum dsn_ret ret;       /* FULL: the whole message comes back on failure */
	const struct dsn_recipient *rcpts;
	size_t count;
	const char *original;
	size_t original_size;
	long long arrival, now; /* unix times */
	long long retry_until;  /* delayed: Will-Retry-Until (0: not said) */
};

/* Append the whole DSN message (RFC 3464 inside RFC 3462 multipart/report)
 * to out. The original comes back whole (message/rfc822) only when a
 * recipient failed and RET=FULL was asked, else its header alone
 * (text/rfc822-headers, RFC 3461 §4.3). */
void dsn_build_report(struct buf *out, const struct dsn_report *report);

#endif
