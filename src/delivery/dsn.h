/*
 * dsn: the bounce message (RFC 3464 delivery status notification, RFC 3462
 * multipart/report) that tells a sender which recipients failed and why.
 * Pure: builds bytes, no I/O.
 */
#ifndef BUZON_DELIVERY_DSN_H
#define BUZON_DELIVERY_DSN_H

#include <stddef.h>

#include "core/buf.h"

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

#endif
