/*
 * smtp-client: see smtp-client.h. The socket is non-blocking and every
 * wait is a poll() on it and on the stop descriptor, so queue_runner_stop
 * never waits for a slow peer. TLS is OpenSSL over the same socket.
 */
#include "delivery/smtp-client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/mem.h"

/* ---- replies ----------------------------------------------------------------- */

static void smtp_append_text(char *dst, size_t cap, const char *src, size_t n)
{
	size_t have = strlen(dst);

	if (have + 1 >= cap)
		return;
	if (n > cap - have - 1)
		n = cap - have - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[have + i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	dst[have + n] = '\0';
}

ssize_t smtp_reply_parse(const char *data, size_t len, struct smtp_reply *reply_r)
{
	size_t pos = 0;
	int code = 0;

	reply_r->code = 0;
	reply_r->text[0] = '\0';
	reply_r->ehlo[0] = '\0';
	if (len == 0)
		return 0;
	for (unsigned line = 0;; line++) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end, linelen;
		int this_code;
		if (nl == NULL)
			return len - pos > SMTP_REPLY_LINE_MAX || len > SMTP_REPLY_MAX ? -1 : 0;
		end = (size_t)(nl - data);
		linelen = end - pos;
		if (linelen > 0 && data[end - 1] == '\r')
			linelen--;
		if (linelen > SMTP_REPLY_LINE_MAX || end + 1 > SMTP_REPLY_MAX)
			return -1;
		const char *l = data + pos;
		if (linelen < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' ||
		    l[2] < '0' || l[2] > '9' || (linelen > 3 && l[3] != ' ' && l[3] != '-'))
			return -1;
		this_code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
		if (line > 0 && this_code != code)
			return -1;
		code = this_code;
		if (line == 0) {
			smtp_append_text(reply_r->text, sizeof(reply_r->text), l, linelen);
		} else {
			smtp_append_text(reply_r->text, sizeof(reply_r->text), "; ", 2);
			smtp_append_text(reply_r->text, sizeof(reply_r->text), l + 4,
					 linelen > 4 ? linelen - 4 : 0);
			smtp_append_text(reply_r->ehlo, sizeof(reply_r->ehlo), l + 4,
					 linelen > 4 ? linelen - 4 : 0);
			size_t have = strlen(reply_r->ehlo);
			if (have + 1 < sizeof(reply_r->ehlo)) {
				reply_r->ehlo[have] = '\n';
				reply_r->ehlo[have + 1] = '\0';
			}
		}
		pos = end + 1;
		if (linelen == 3 || l[3] == ' ')
			break;
	}
	for (char *p = reply_r->ehlo; *p != '\0'; p++) {
		if (*p == ' ')
			*p = '\t'; /* keyword/parameter separator, kept apart from case */
	}
	reply_r->code = code;
	return (ssize_t)pos;
}

const char *smtp_reply_has(const struct smtp_reply *reply, const char *keyword)
{
	size_t klen = strlen(keyword);

	for (const char *line = reply->ehlo; *line != '\0';) {
		const char *nl = strchr(line, '\n');
		size_t n = nl != NULL ? (size_t)(nl - line) : strlen(line);
		if (n >= klen && strncasecmp(line, keyword, klen) == 0 &&
		    (n == klen || line[klen] == '\t' || line[klen] == '='))
			return n == klen ? "" : line + klen + 1;
		line += n + (nl != NULL);
	}
	return NULL;
}

void smtp_dot_stuff(struct buf *out, const char *data, size_t size)
{
	bool line_start = true;

	for (size_t i = 0; i < size; i++) {
		char c = data[i];
		if (line_start && c == '.')
			buf_append_char(out, '.');
		if (c == '\n' && (i == 0 || data[i - 1] != '\r'))
			buf_append_char(out, '\r');
		if (c == '\r' && (i + 1 >= size || data[i + 1] != '\n')) {
			buf_append(out, "\r\n", 2); /* a bare CR ends a line too */
			line_start = true;
			continue;
		}
		buf_append_char(out, c);
		line_start = c == '\n';
	}
	if (!line_start)
		buf_append(out, "\r\n", 2);
	buf_append(out, ".\r\n", 3);
}

/* ---- the connection ------------------------------------------------------------ */

struct smtp_conn {
	int fd;
	int stop_fd;
	SSL *ssl;
	struct buf in;
};

static int64_t smtp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 ready, 0 timed out, -1 stopped. */
static int smtp_wait(struct smtp_conn *conn, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd[2] = { { conn->fd, events, 0 }, { conn->stop_fd, POLLIN, 0 } };
		int64_t left = deadline - smtp_now_ms();
		if (left <= 0)
			return 0;
		int n = poll(pfd, conn->stop_fd >= 0 ? 2 : 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (conn->stop_fd >= 0 && (pfd[1].revents & POLLIN)))
			return -1;
		return n > 0;
	}
}

struct smtp_conn *smtp_conn_open(const struct sockaddr *addr, socklen_t addrlen, int stop_fd,
				 int connect_ms, char *error, size_t errlen)
{
	struct smtp_conn *conn = mem_zalloc(sizeof(*conn));
	int err = 0;
	socklen_t errsize = sizeof(err);

	conn->stop_fd = stop_fd;
	conn->fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (conn->fd < 0) {
		snprintf(error, errlen, "socket: %s", strerror(errno));
		free(conn);
		return NULL;
	}
	if (connect(conn->fd, addr, addrlen) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
		} else {
			int w = smtp_wait(conn, POLLOUT, smtp_now_ms() + connect_ms);
			if (w <= 0)
				err = w == 0 ? ETIMEDOUT : ECANCELED;
			else if (getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &err, &errsize) < 0)
				err = errno;
		}
	}
	if (err != 0) {
		snprintf(error, errlen, "connect: %s", strerror(err));
		close(conn->fd);
		free(conn);
		return NULL;
	}
	return conn;
}

void smtp_conn_close(struct smtp_conn *conn)
{
	if (conn == NULL)
		return;
	if (conn->ssl != NULL)
		SSL_free(conn->ssl); /* no close_notify: QUIT was the goodbye */
	close(conn->fd);
	buf_free(&conn->in);
	free(conn);
}

bool smtp_conn_tls(const struct smtp_conn *conn)
{
	return conn->ssl != NULL;
}

/* Read what is there into conn->in. 1 got bytes, 0 must wait for `want`,
 * -1 closed or failed. */
static int smtp_conn_fill(struct smtp_conn *conn, short *want)
{
	char *p = buf_reserve(&conn->in, 4096);
	ssize_t n;

	*want = POLLIN;
	if (conn->ssl != NULL) {
		ERR_clear_error();
		int r = SSL_read(conn->ssl, p, 4096);
		if (r > 0) {
			buf_commit(&conn->in, (size_t)r);
			return 1;
		}
		int e = SSL_get_error(conn->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			return 0;
		if (e == SSL_ERROR_WANT_WRITE) {
			*want = POLLOUT;
			return 0;
		}
		return -1;
	}
	n = recv(conn->fd, p, 4096, 0);
	if (n > 0) {
		buf_commit(&conn->in, (size_t)n);
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return -1;
}

int smtp_conn_read(struct smtp_conn *conn, int timeout_ms, struct smtp_reply *reply_r,
		   char *error, size_t errlen)
{
	int64_t deadline = smtp_now_ms() + timeout_ms;

	for (;;) {
		ssize_t used = smtp_reply_parse(conn->in.data, conn->in.len, reply_r);
		short want;
		if (used > 0) {
			buf_consume(&conn->in, (size_t)used);
			return 0;
		}
		if (used < 0) {
			snprintf(error, errlen, "malformed reply from the server");
			return -1;
		}
		int r = smtp_conn_fill(conn, &want);
		if (r < 0) {
			snprintf(error, errlen, "connection closed by the server");
			return -1;
		}
		if (r == 0 && smtp_wait(conn, want, deadline) <= 0) {
			snprintf(error, errlen, "timeout waiting for the server's reply");
			return -1;
		}
	}
}

int smtp_conn_write(struct smtp_conn *conn, const void *data, size_t len, int timeout_ms,
		    char *error, size_t errlen)
{
	int64_t deadline = smtp_now_ms() + timeout_ms;
	const char *p = data;
	size_t done = 0;

	while (done < len) {
		short want = POLLOUT;
		size_t chunk = len - done > INT32_MAX ? INT32_MAX : len - done;
		if (conn->ssl != NULL) {
			ERR_clear_error();
			int r = SSL_write(conn->ssl, p + done, (int)chunk);
			if (r > 0) {
				done += (size_t)r;
				continue;
			}
			int e = SSL_get_error(conn->ssl, r);
			if (e == SSL_ERROR_WANT_READ)
				want = POLLIN;
			else if (e != SSL_ERROR_WANT_WRITE)
				goto fail;
		} else {
			ssize_t n = send(conn->fd, p + done, chunk, MSG_NOSIGNAL);
			if (n > 0) {
				done += (size_t)n;
				continue;
			}
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				goto fail;
		}
		if (smtp_wait(conn, want, deadline) <= 0) {
			snprintf(error, errlen, "timeout sending to the server");
			return -1;
		}
	}
	return 0;
fail:
	snprintf(error, errlen, "connection lost while sending");
	return -1;
}

int smtp_conn_starttls(struct smtp_conn *conn, void *ssl_ctx, const char *host, bool verify_host,
		       int timeout_ms, char *error, size_t errlen)
{
	int64_t deadline = smtp_now_ms() + timeout_ms;
	unsigned char ip[16];
	bool literal = host != NULL && (inet_pton(AF_INET, host, ip) == 1 ||
					inet_pton(AF_INET6, host, ip) == 1);

	/* RFC 3207 §4.2: what the server sent before TLS must be discarded. */
	buf_clear(&conn->in);
	conn->ssl = SSL_new(ssl_ctx);
	if (conn->ssl == NULL || SSL_set_fd(conn->ssl, conn->fd) != 1)
		goto fail;
	/* RFC 6066 §3: SNI carries names, never address literals. */
	if (host != NULL && !literal)
		SSL_set_tlsext_host_name(conn->ssl, host);
	if (verify_host && host != NULL) {
		/* RFC 6125: the name we connected to must be in the certificate. */
		X509_VERIFY_PARAM *param = SSL_get0_param(conn->ssl);
		if ((literal ? X509_VERIFY_PARAM_set1_ip_asc(param, host) :
		     SSL_set1_host(conn->ssl, host)) != 1)
			goto fail;
	}
	for (;;) {
		ERR_clear_error();
		int r = SSL_connect(conn->ssl);
		if (r == 1)
			return 0;
		int e = SSL_get_error(conn->ssl, r);
		short want;
		if (e == SSL_ERROR_WANT_READ)
			want = POLLIN;
		else if (e == SSL_ERROR_WANT_WRITE)
			want = POLLOUT;
		else
			goto fail;
		if (smtp_wait(conn, want, deadline) <= 0)
			goto fail;
	}
fail:
	if (conn->ssl != NULL && SSL_get_verify_result(conn->ssl) != X509_V_OK)
		snprintf(error, errlen, "TLS handshake failed: certificate not trusted (%s)",
			 X509_verify_cert_error_string(SSL_get_verify_result(conn->ssl)));
	else
		snprintf(error, errlen, "TLS handshake failed");
	return -1;
}
