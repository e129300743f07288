/*
 * introspect: see introspect.h. One connection per question, "Connection:
 * close", the answer read to the end (Content-Length or chunked).
 */
#include "auth/introspect.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/str.h"

struct introspect_url {
	char host[256];
	char port[8];
	const char *path;
};

/* https://host[:port]/path, host possibly [IPv6]. 0 or -1. */
static int introspect_parse_url(const char *url, struct introspect_url *u)
{
	if (strncmp(url, "https://", 8) != 0)
		return -1;
	const char *h = url + 8, *end = h + strcspn(h, "/"), *colon;
	size_t hlen;

	u->path = *end == '/' ? end : "/";
	snprintf(u->port, sizeof(u->port), "443");
	if (*h == '[') {
		const char *close = memchr(h, ']', (size_t)(end - h));
		if (close == NULL)
			return -1;
		hlen = (size_t)(close - h - 1);
		if (hlen == 0 || hlen >= sizeof(u->host))
			return -1;
		memcpy(u->host, h + 1, hlen);
		colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		hlen = (size_t)((colon ? colon : end) - h);
		if (hlen == 0 || hlen >= sizeof(u->host))
			return -1;
		memcpy(u->host, h, hlen);
	}
	u->host[hlen] = '\0';
	if (colon != NULL) {
		size_t plen = (size_t)(end - colon - 1);
		uint32_t port;
		if (plen == 0 || plen >= sizeof(u->port) || str_parse_u32(colon + 1, plen, &port) < 0 ||
		    port == 0 || port > 65535)
			return -1;
		snprintf(u->port, sizeof(u->port), "%u", port);
	}
	return 0;
}

static int64_t introspect_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to be ready for events before the deadline. */
static bool introspect_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - introspect_now_ms();
		if (left <= 0)
			return false;
		struct pollfd p = { fd, events, 0 };
		int r = poll(&p, 1, (int)left);
		if (r > 0)
			return true;
		if (r == 0 || errno != EINTR)
			return false;
	}
}

/* A non-blocking socket connected to u, or -1. */
static int introspect_connect(const struct introspect_url *u, int64_t deadline,
			      const char **why_r)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1;

	if (getaddrinfo(u->host, u->port, &hints, &res) != 0) {
		*why_r = "cannot resolve the introspection host";
		return -1;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		int err = 0;
		socklen_t elen = sizeof(err);
		if ((connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) &&
		    introspect_wait(fd, POLLOUT, deadline) &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		*why_r = "cannot connect to the introspection endpoint";
	return fd;
}

/* Run an SSL call to completion or the deadline. >0, or <= 0 on failure. */
static int introspect_ssl_io(SSL *ssl, int fd, int64_t deadline, int (*op)(SSL *, void *, int),
			     void *data, int len)
{
	for (;;) {
		ERR_clear_error();
		int r = op(ssl, data, len);
		if (r > 0)
			return r;
		int e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ && introspect_wait(fd, POLLIN, deadline))
			continue;
		if (e == SSL_ERROR_WANT_WRITE && introspect_wait(fd, POLLOUT, deadline))
			continue;
		return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
	}
}

static int introspect_op_read(SSL *ssl, void *data, int len)
{
	return SSL_read(ssl, data, len);
}

static int introspect_op_write(SSL *ssl, void *data, int len)
{
	return SSL_write(ssl, data, len);
}

static int introspect_op_connect(SSL *ssl, void *data, int len)
{
	return SSL_connect(ssl);
}

/* application/x-www-form-urlencoded (RFC 6749 App. B) of s. */
static void introspect_form_encode(struct buf *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~')
			buf_append_char(out, (char)*p);
		else
			buf_printf(out, "%%%02X", *p);
	}
}

static const char introspect_b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void introspect_base64(struct buf *out, const char *s)
{
	size_t len = strlen(s);

	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)(unsigned char)s[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)(unsigned char)s[i + 1] << 8;
		if (i + 2 < len)
			v |= (unsigned char)s[i + 2];
		buf_append_char(out, introspect_b64[v >> 18 & 63]);
		buf_append_char(out, introspect_b64[v >> 12 & 63]);
		buf_append_char(out, i + 1 < len ? introspect_b64[v >> 6 & 63] : '=');
		buf_append_char(out, i + 2 < len ? introspect_b64[v & 63] : '=');
	}
}

/* The body of an HTTP/1.1 response in raw[0..len): status 200 only;
 * Content-Length, chunked or to the end. 0 or -1. */
static int introspect_http_body(struct arena *arena, const char *raw, size_t len,
				const char **body_r, size_t *body_len_r, const char **why_r)
{
	const char *end = len >= 12 ? str_find_nocase(raw, len, "\r\n\r\n", 4) : NULL;

	if (end == NULL || strncmp(raw, "HTTP/1.", 7) != 0) {
		*why_r = "not an HTTP response";
		return -1;
	}
	if (strncmp(raw + 8, " 200", 4) != 0) {
		*why_r = "the introspection endpoint did not answer 200";
		return -1;
	}
	const char *body = end + 4;
	size_t avail = len - (size_t)(body - raw);
	size_t hlen = (size_t)(end - raw);
	if (str_find_nocase(raw, hlen, "\r\ntransfer-encoding: chunked", 28) != NULL) {
		char *out = arena_alloc(arena, avail + 1);
		size_t n = 0, pos = 0;
		for (;;) {
			uint64_t size = 0;
			size_t digits = 0;
			while (pos < avail) {
				char c = body[pos];
				int v = c >= '0' && c <= '9' ? c - '0' :
					c >= 'a' && c <= 'f' ? c - 'a' + 10 :
					c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
				if (v < 0 || digits >= 8)
					break;
				size = size * 16 + (unsigned)v;
				digits++;
				pos++;
			}
			const char *crlf = str_find_nocase(body + pos, avail - pos, "\r\n", 2);
			if (digits == 0 || crlf == NULL) {
				*why_r = "bad chunked encoding";
				return -1;
			}
			pos = (size_t)(crlf - body) + 2;
			if (size == 0)
				break;
			if (size > avail - pos || avail - pos - size < 2) {
				*why_r = "bad chunked encoding";
				return -1;
			}
			memcpy(out + n, body + pos, size);
			n += size;
			pos += size + 2;
		}
		out[n] = '\0';
		*body_r = out;
		*body_len_r = n;
		return 0;
	}
	const char *cl = str_find_nocase(raw, hlen, "\r\ncontent-length:", 17);
	if (cl != NULL) {
		const char *v = cl + 17;
		while (*v == ' ')
			v++;
		uint64_t want;
		size_t vlen = strcspn(v, "\r");
		if (str_parse_u64(v, vlen, &want) < 0 || want > avail) {
			*why_r = "bad or short Content-Length";
			return -1;
		}
		avail = (size_t)want;
	}
	*body_r = body;
	*body_len_r = avail;
	return 0;
}

/* POST the question and read the whole answer into raw. */
static int introspect_exchange(const struct introspect_config *config,
			       const struct introspect_url *u, const char *request, size_t req_len,
			       struct buf *raw, const char **why_r)
{
	int64_t deadline = introspect_now_ms() + INTROSPECT_TIMEOUT_MS;
	int fd = introspect_connect(u, deadline, why_r);
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	int rc = -1;

	if (fd < 0)
		return -1;
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    (config->ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, config->ca_file, NULL)
				     : SSL_CTX_set_default_verify_paths(ctx)) != 1) {
		*why_r = "cannot set up TLS (CA file?)";
		goto out;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	ssl = SSL_new(ctx);
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
		*why_r = "cannot set up TLS";
		goto out;
	}
	/* Verify the certificate names the host of the URL (an IP address
	 * is matched as one, and gets no SNI). */
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
	if (X509_VERIFY_PARAM_set1_ip_asc(param, u->host) != 1) {
		if (SSL_set1_host(ssl, u->host) != 1 ||
		    SSL_set_tlsext_host_name(ssl, u->host) != 1) {
			*why_r = "bad host name";
			goto out;
		}
	}
	if (introspect_ssl_io(ssl, fd, deadline, introspect_op_connect, NULL, 0) <= 0) {
		*why_r = SSL_get_verify_result(ssl) != X509_V_OK ?
				 "the introspection endpoint's certificate does not verify" :
				 "TLS handshake with the introspection endpoint failed";
		goto out;
	}
	if (introspect_ssl_io(ssl, fd, deadline, introspect_op_write, (void *)request,
			      (int)req_len) != (int)req_len) {
		*why_r = "cannot send the introspection request";
		goto out;
	}
	for (;;) {
		char chunk[4096];
		int n = introspect_ssl_io(ssl, fd, deadline, introspect_op_read, chunk,
					  sizeof(chunk));
		if (n == 0)
			break;
		if (n < 0) {
			/* A server that closes without close_notify has still
			 * said everything when the length is known; the body
			 * parser checks that. */
			if (raw->len > 0 && introspect_now_ms() < deadline)
				break;
			*why_r = "reading the introspection answer failed or timed out";
			goto out;
		}
		if (raw->len + (size_t)n > INTROSPECT_RESPONSE_MAX) {
			*why_r = "introspection answer too large";
			goto out;
		}
		buf_append(raw, chunk, (size_t)n);
	}
	rc = 0;
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return rc;
}

/* RFC 7662 §2.2 / RFC 7519 §4.1.3: aud is a string or an array of them. */
static bool introspect_audience_ok(const struct json_value *aud, const char *want)
{
	if (aud->type == JSON_STRING)
		return strcmp(aud->string, want) == 0;
	for (size_t i = 0; aud->type == JSON_ARRAY && i < aud->count; i++) {
		if (aud->items[i]->type == JSON_STRING && strcmp(aud->items[i]->string, want) == 0)
			return true;
	}
	return false;
}

enum introspect_result introspect_token(const struct introspect_config *config,
					struct arena *arena, const char *token, int64_t now,
					const char **account_r, int64_t *exp_r, const char **why_r)
{
	struct introspect_url u;
	struct buf body = BUF_INIT, request = BUF_INIT, raw = BUF_INIT;
	enum introspect_result result = INTROSPECT_UNAVAILABLE;

	*exp_r = 0;
	if (introspect_parse_url(config->url, &u) < 0) {
		*why_r = "bad introspection URL";
		return INTROSPECT_UNAVAILABLE;
	}
	/* RFC 7662 §2.1 */
	buf_append_str(&body, "token=");
	introspect_form_encode(&body, token);
	buf_append_str(&body, "&token_type_hint=access_token");
	buf_printf(&request, "POST %s HTTP/1.1\r\nHost: %s\r\n", u.path, u.host);
	if (config->client_id != NULL) {
		struct buf cred = BUF_INIT;
		buf_printf(&cred, "%s:%s", config->client_id,
			   config->client_secret != NULL ? config->client_secret : "");
		buf_append_str(&request, "Authorization: Basic ");
		introspect_base64(&request, cred.data);
		buf_append_str(&request, "\r\n");
		explicit_bzero(cred.data, cred.len);
		buf_free(&cred);
	}
	buf_printf(&request,
		   "Content-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\n"
		   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		   body.len);
	buf_append(&request, body.data, body.len);

	const char *json;
	size_t json_len;
	struct json_value *doc;
	const char *error;
	if (introspect_exchange(config, &u, request.data, request.len, &raw, why_r) < 0 ||
	    introspect_http_body(arena, raw.data, raw.len, &json, &json_len, why_r) < 0)
		goto out;
	if (json_parse(arena, json, json_len, &doc, &error) < 0 || doc->type != JSON_OBJECT) {
		*why_r = "the introspection answer is not a JSON object";
		goto out;
	}
	/* RFC 7662 §2.2: "active" is the answer; the rest is checked as
	 * for a JWT when present. */
	result = INTROSPECT_INACTIVE;
	const struct json_value *active = json_get(doc, "active");
	int64_t exp, nbf;
	const char *iss = json_get_string(doc, "iss");
	const struct json_value *aud = json_get(doc, "aud");
	if (json_get_integer(doc, "exp", &exp) && exp > 0)
		*exp_r = exp;
	if (active == NULL || active->type != JSON_TRUE) {
		*why_r = "token not active";
	} else if (json_get_integer(doc, "exp", &exp) && exp <= now) {
		*why_r = "expired";
	} else if (json_get_integer(doc, "nbf", &nbf) && nbf > now) {
		*why_r = "not yet valid";
	} else if (iss != NULL && config->issuer != NULL && strcmp(iss, config->issuer) != 0) {
		*why_r = "wrong issuer";
	} else if (aud != NULL && config->audience != NULL &&
		   !introspect_audience_ok(aud, config->audience)) {
		*why_r = "wrong audience";
	} else if ((*account_r = json_get_string(doc, config->account_claim)) == NULL ||
		   (*account_r)[0] == '\0') {
		*why_r = "no account claim";
	} else {
		result = INTROSPECT_ACTIVE;
	}
out:
	explicit_bzero(request.data, request.len);
	explicit_bzero(body.data, body.len);
	buf_free(&request);
	buf_free(&body);
	buf_free(&raw);
	return result;
}
