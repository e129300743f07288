/*
 * smtp-client: the client side of SMTP (RFC 5321) for the outbound queue:
 * the reply parser (network input: bounded, fuzzed by
 * tests/fuzz/fuzz_smtp_reply.c) and a blocking connection with timeouts,
 * optional TLS (RFC 3207 STARTTLS) and a stop descriptor that abandons any
 * wait at once. Only the queue runner's threads use it (rule 5 concerns the
 * event loops; a runner thread may block).
 */
#ifndef BUZON_DELIVERY_SMTP_CLIENT_H
#define BUZON_DELIVERY_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "core/buf.h"

/* RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets; we take more,
 * as real servers exceed it, but not without end. */
#define SMTP_REPLY_LINE_MAX 4096
/* A whole multi-line reply (an EHLO lists a few dozen lines at most). */
#define SMTP_REPLY_MAX 65536
/* Text of a reply we keep (for logs, the queue and DSNs). */
#define SMTP_REPLY_TEXT_MAX 1024

struct smtp_reply {
	int code;                         /* 200..599 */
	char text[SMTP_REPLY_TEXT_MAX];   /* "250 first line" (lines joined by "; ") */
	/* EHLO keywords (each line after the first, upper-cased), for
	 * smtp_reply_has; only filled when asked for by smtp_reply_parse. */
	char ehlo[SMTP_REPLY_TEXT_MAX];
};

/* Parse one complete reply at the start of data. Returns the bytes it
 * took (> 0), 0 when more input is needed, -1 when the bytes cannot be a
 * reply (bad code, codes that differ between lines, a line or reply over
 * the limits). */
ssize_t smtp_reply_parse(const char *data, size_t len, struct smtp_reply *reply_r);

/* The EHLO keyword (e.g. "STARTTLS", "SIZE") if the EHLO reply listed it:
 * a pointer to its parameters, which run to the next '\n' ("" when none),
 * else NULL. */
const char *smtp_reply_has(const struct smtp_reply *reply, const char *keyword);

/* Bytes of data to send after DATA: lines ending in CRLF (bare LF is made
 * CRLF), leading dots doubled (RFC 5321 §4.5.2), and the final ".". */
void smtp_dot_stuff(struct buf *out, const char *data, size_t size);

struct smtp_conn;

/* Connect to addr (with its port) within connect_ms; stop_fd readable
 * aborts any wait. NULL with error filled on failure. */
struct smtp_conn *smtp_conn_open(const struct sockaddr *addr, socklen_t addrlen, int stop_fd,
				 int connect_ms, char *error, size_t errlen);
void smtp_conn_close(struct smtp_conn *conn);
/* Read one reply within timeout_ms. */
int smtp_conn_read(struct smtp_conn *conn, int timeout_ms, struct smtp_reply *reply_r,
		   char *error, size_t errlen);
/* Send bytes within timeout_ms. */
int smtp_conn_write(struct smtp_conn *conn, const void *data, size_t len, int timeout_ms,
		    char *error, size_t errlen);
/* TLS handshake (after "220" to STARTTLS) with ctx (an SSL_CTX *). host
 * (may be NULL) is sent as SNI when it is a name. verify_host: the
 * handshake also fails unless the certificate names host (a DNS name, or
 * an IP address literal); the chain is checked as ctx says (SSL_VERIFY_PEER
 * for a relay, none for opportunistic MX TLS). */
int smtp_conn_starttls(struct smtp_conn *conn, void *ssl_ctx, const char *host, bool verify_host,
		       int timeout_ms, char *error, size_t errlen);
bool smtp_conn_tls(const struct smtp_conn *conn);

#endif
