/*
 * tls: see tls.h. Everything that touches OpenSSL lives here: the shared
 * server context, the TLS transport that conn stacks over a socket
 * (transport.h), and the self-signed certificate for a first start.
 *
 * Thread ownership: a tls_server (its SSL_CTX) is created before the loops
 * start and only read afterwards, which OpenSSL allows from many threads;
 * each TLS transport (an SSL) belongs to the loop thread of its conn.
 *
 * OpenSSL keeps errors in a per-thread queue; every SSL call here starts
 * with ERR_clear_error() so a stale error from another connection on the
 * same thread is never blamed on this one.
 */
#include "net/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/log.h"
#include "core/mem.h"
#include "net/loop.h"
#include "net/transport.h"

/* A self-signed certificate outlives any dev setup; 10 years. */
#define TLS_CERT_DAYS 3650
/* X.520 ub-common-name: a longer hostname goes only into the SAN. */
#define TLS_CN_MAX 64
/* OpenSSL gives no per-SSL memory count. An idle server-side SSL (OpenSSL
 * 3.0, TLS 1.3, SSL_MODE_RELEASE_BUFFERS) was measured at 14 KB of heap
 * (1,000 idle connections, mallinfo2 delta); the 34 KB of record buffers an
 * active one adds are released when it goes quiet. Feeds conn_memory. */
#define TLS_IDLE_MEMORY (14 * 1024)
/* Session-id context, required by OpenSSL for server-side session reuse. */
#define TLS_SESSION_CONTEXT "buzon"

struct tls_server {
	SSL_CTX *ctx;
	BIO_METHOD *bio_method;  /* tls_bio_*: the socket under every SSL */
};

struct tls_transport {
	struct transport base;
	SSL *ssl;
};

/* ---- the socket BIO -------------------------------------------------------- */

/* OpenSSL's own socket BIO writes with write(2), which raises SIGPIPE when
 * the peer has gone; ours uses send(MSG_NOSIGNAL), so the net layer is safe
 * whatever the process does with signals. The fd is the BIO's data. */
static int tls_bio_fd(BIO *bio)
{
	return (int)(intptr_t)BIO_get_data(bio);
}

static int tls_bio_write(BIO *bio, const char *data, int len)
{
	ssize_t n;

	BIO_clear_retry_flags(bio);
	do
		n = send(tls_bio_fd(bio), data, (size_t)len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_write(bio);
	return (int)n;
}

static int tls_bio_read(BIO *bio, char *data, int len)
{
	ssize_t n;

	BIO_clear_retry_flags(bio);
	do
		n = recv(tls_bio_fd(bio), data, (size_t)len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_read(bio);
	return (int)n;
}

static long tls_bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;  /* nothing is buffered here */
	case BIO_C_GET_FD:
		if (ptr != NULL)
			*(int *)ptr = tls_bio_fd(bio);
		return tls_bio_fd(bio);
	default:
		return 0;
	}
}

static int tls_bio_create(BIO *bio)
{
	BIO_set_init(bio, 1);
	return 1;
}

static BIO_METHOD *tls_bio_method_new(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "buzon socket");

	if (m == NULL || BIO_meth_set_write(m, tls_bio_write) != 1 ||
	    BIO_meth_set_read(m, tls_bio_read) != 1 || BIO_meth_set_ctrl(m, tls_bio_ctrl) != 1 ||
	    BIO_meth_set_create(m, tls_bio_create) != 1) {
		BIO_meth_free(m);
		return NULL;
	}
	return m;
}

/* ---- the server context --------------------------------------------------- */

/* The reason text of the oldest queued OpenSSL error (static), or fallback. */
static const char *tls_error_reason(const char *fallback)
{
	unsigned long e = ERR_get_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return reason ? reason : fallback;
}

/* TLS 1.2 minimum (rule 8); OpenSSL's default ciphers are already AEAD-first.
 * RELEASE_BUFFERS frees the 16 KB+ record buffers of idle connections;
 * partial and moving writes let conn retry from its growing output buffer. */
static void tls_ctx_configure(SSL_CTX *ctx)
{
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
			      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
				 SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)TLS_SESSION_CONTEXT,
				       sizeof(TLS_SESSION_CONTEXT) - 1);
}

struct tls_server *tls_server_new(const char *cert_path, const char *key_path,
				  const char **error_r)
{
	SSL_CTX *ctx;
	struct tls_server *tls;

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		*error_r = tls_error_reason("cannot create TLS context");
		return NULL;
	}
	tls_ctx_configure(ctx);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
		log_error("tls: cannot load certificate %s", cert_path);
		*error_r = tls_error_reason("cannot load certificate");
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_error("tls: cannot load key %s for %s", key_path, cert_path);
		*error_r = tls_error_reason("cannot load private key");
		SSL_CTX_free(ctx);
		return NULL;
	}
	tls = mem_zalloc(sizeof(*tls));
	tls->ctx = ctx;
	tls->bio_method = tls_bio_method_new();
	if (tls->bio_method == NULL) {
		*error_r = tls_error_reason("cannot create the socket BIO");
		tls_server_free(tls);
		return NULL;
	}
	return tls;
}

void tls_server_free(struct tls_server *tls)
{
	if (tls == NULL)
		return;
	SSL_CTX_free(tls->ctx);
	BIO_meth_free(tls->bio_method);
	free(tls);
}

/* ---- the TLS transport ------------------------------------------------ */

/* Map an SSL_read/SSL_write result to the transport convention. */
static ssize_t tls_io_result(struct tls_transport *t, int n, unsigned *want_r)
{
	int err;

	if (n > 0)
		return n;
	err = SSL_get_error(t->ssl, n);
	switch (err) {
	case SSL_ERROR_WANT_READ:
		*want_r = LOOP_READ;
		return TRANSPORT_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		*want_r = LOOP_WRITE;
		return TRANSPORT_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno != 0 && errno != ECONNRESET && errno != EPIPE)
			log_debug("tls: socket error: %m");
		ERR_clear_error();
		return TRANSPORT_ERROR;
	default:
		log_debug("tls: %s: %s", SSL_is_init_finished(t->ssl) ? "error" : "handshake failed",
			  tls_error_reason("protocol error"));
		return TRANSPORT_ERROR;
	}
}

static ssize_t tls_read(struct transport *base, void *data, size_t len, unsigned *want_r)
{
	struct tls_transport *t = (struct tls_transport *)base;

	ERR_clear_error();
	errno = 0;
	return tls_io_result(t, SSL_read(t->ssl, data, len > INT_MAX ? INT_MAX : (int)len),
			     want_r);
}

static ssize_t tls_write(struct transport *base, const void *data, size_t len, unsigned *want_r)
{
	struct tls_transport *t = (struct tls_transport *)base;

	ERR_clear_error();
	errno = 0;
	return tls_io_result(t, SSL_write(t->ssl, data, len > INT_MAX ? INT_MAX : (int)len),
			     want_r);
}

/* Records already read from the socket but not yet returned: epoll will not
 * report them again, so conn must come back for them itself. */
static bool tls_read_pending(const struct transport *base)
{
	const struct tls_transport *t = (const struct tls_transport *)base;

	return SSL_pending(t->ssl) > 0 || SSL_has_pending(t->ssl);
}

static size_t tls_output_pending(const struct transport *base)
{
	return 0;
}

/* One close_notify, without waiting for the peer's (RFC 8446 §6.1 allows
 * closing the socket right after sending it). */
static void tls_shutdown(struct transport *base)
{
	struct tls_transport *t = (struct tls_transport *)base;

	ERR_clear_error();
	if (SSL_is_init_finished(t->ssl))
		(void)SSL_shutdown(t->ssl);
	ERR_clear_error();
}

static size_t tls_memory(const struct transport *base)
{
	return sizeof(struct tls_transport) + TLS_IDLE_MEMORY;
}

static void tls_transport_free(struct transport *base)
{
	struct tls_transport *t = (struct tls_transport *)base;

	SSL_free(t->ssl);
	free(t);
}

static const struct transport_ops tls_ops = {
	.name = "tls",
	.read = tls_read,
	.write = tls_write,
	.read_pending = tls_read_pending,
	.output_pending = tls_output_pending,
	.shutdown = tls_shutdown,
	.memory = tls_memory,
	.free = tls_transport_free,
};

struct transport *transport_tls_new(struct tls_server *tls, int fd)
{
	struct tls_transport *t;
	SSL *ssl;

	BIO *bio;

	ERR_clear_error();
	ssl = SSL_new(tls->ctx);
	bio = BIO_new(tls->bio_method);
	if (ssl == NULL || bio == NULL) {
		log_error("tls: cannot create connection: %s", tls_error_reason("SSL_new failed"));
		SSL_free(ssl);
		BIO_free(bio);
		return NULL;
	}
	BIO_set_data(bio, (void *)(intptr_t)fd);
	SSL_set_bio(ssl, bio, bio);
	SSL_set_accept_state(ssl);
	t = mem_zalloc(sizeof(*t));
	t->base.ops = &tls_ops;
	t->base.fd = fd;
	t->ssl = ssl;
	return &t->base;
}

bool transport_tls_established(const struct transport *base)
{
	return base->ops == &tls_ops &&
	       SSL_is_init_finished(((const struct tls_transport *)base)->ssl);
}

/* RFC 9266 tls-exporter needs TLS 1.3, or 1.2 with the extended master
 * secret; RFC 5929 §4.1 tls-server-end-point is the hash of our own
 * certificate with its signature's hash (SHA-256 for MD5 and SHA-1). */
int transport_tls_channel_binding(const struct transport *base, const char *type,
				  unsigned char *out, size_t max, size_t *len_r)
{
	if (base->ops != &tls_ops)
		return -1;
	SSL *ssl = ((const struct tls_transport *)base)->ssl;

	if (!SSL_is_init_finished(ssl))
		return -1;
	if (strcmp(type, "tls-exporter") == 0) {
		static const char label[] = "EXPORTER-Channel-Binding";
		if (max < 32 ||
		    (SSL_version(ssl) < TLS1_3_VERSION && SSL_get_extms_support(ssl) != 1) ||
		    SSL_export_keying_material(ssl, out, 32, label, sizeof(label) - 1, NULL, 0,
					       0) != 1)
			return -1;
		*len_r = 32;
		return 0;
	}
	if (strcmp(type, "tls-server-end-point") == 0) {
		X509 *cert = SSL_get_certificate(ssl);
		int md_nid = NID_undef;
		unsigned int n = 0;

		if (cert == NULL || max < EVP_MAX_MD_SIZE ||
		    X509_get_signature_info(cert, &md_nid, NULL, NULL, NULL) != 1)
			return -1;
		const EVP_MD *md = md_nid == NID_md5 || md_nid == NID_sha1 ?
					   EVP_sha256() : EVP_get_digestbynid(md_nid);
		if (md == NULL || X509_digest(cert, md, out, &n) != 1)
			return -1;
		*len_r = n;
		return 0;
	}
	return -1;
}

/* ---- the self-signed certificate --------------------------------------- */

/* mkdir -p for the directory part of path; new directories are 0700 since
 * they will hold a private key. */
static int tls_mkdir_parents(const char *path)
{
	char *dir = mem_strdup(path);
	int r = 0;

	for (char *p = dir + 1; *p != '\0' && r == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			r = -1;
		*p = '/';
	}
	free(dir);
	return r;
}

/* Add a subjectAltName entry: a DNS name, or a 4/16 byte IP address. */
static void tls_san_push(GENERAL_NAMES *names, int type, const void *data, int len)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_STRING *s = type == GEN_DNS ? ASN1_IA5STRING_new() : ASN1_OCTET_STRING_new();

	if (gn == NULL || s == NULL || ASN1_STRING_set(s, data, len) != 1)
		mem_panic("tls: out of memory building a certificate");
	GENERAL_NAME_set0_value(gn, type, s);
	sk_GENERAL_NAME_push(names, gn);
}

/* SAN: the hostname, 127.0.0.1 and ::1, so clients on this machine verify
 * the certificate whichever way they connect. */
static int tls_cert_add_san(X509 *x, const char *hostname)
{
	static const unsigned char ipv4_loopback[4] = { 127, 0, 0, 1 };
	static const unsigned char ipv6_loopback[16] = { [15] = 1 };
	GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
	int r;

	if (names == NULL)
		return -1;
	tls_san_push(names, GEN_DNS, hostname, (int)strlen(hostname));
	tls_san_push(names, GEN_IPADD, ipv4_loopback, sizeof(ipv4_loopback));
	tls_san_push(names, GEN_IPADD, ipv6_loopback, sizeof(ipv6_loopback));
	r = X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT);
	GENERAL_NAMES_free(names);
	return r == 1 ? 0 : -1;
}

/* The usual leaf-certificate extensions of a TLS server. */
static int tls_cert_add_extensions(X509 *x)
{
	static const struct { int nid; const char *value; } exts[] = {
		{ NID_basic_constraints, "critical,CA:FALSE" },
		{ NID_key_usage, "critical,digitalSignature" },
		{ NID_ext_key_usage, "serverAuth" },
		{ NID_subject_key_identifier, "hash" },
	};
	X509V3_CTX v3;

	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &v3, exts[i].nid, exts[i].value);
		int ok = ext != NULL && X509_add_ext(x, ext, -1) == 1;
		X509_EXTENSION_free(ext);
		if (!ok)
			return -1;
	}
	return 0;
}

/* Subject = issuer = CN=hostname; a random 127-bit serial (RFC 5280 §4.1.2.2:
 * positive, at most 20 bytes). */
static int tls_cert_set_identity(X509 *x, const char *hostname)
{
	unsigned char serial[16];
	X509_NAME *name = X509_get_subject_name(x);
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(serial, sizeof(serial)) != 1)
		return -1;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	if (!ok)
		return -1;
	if (strlen(hostname) <= TLS_CN_MAX &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
				       (const unsigned char *)hostname, -1, -1, 0) != 1)
		return -1;
	return X509_set_issuer_name(x, name) == 1 ? 0 : -1;
}

/* A self-signed X.509 v3 certificate for pkey, valid from now for 10 years. */
static X509 *tls_cert_build(EVP_PKEY *pkey, const char *hostname)
{
	X509 *x = X509_new();

	if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
	    tls_cert_set_identity(x, hostname) < 0 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), TLS_CERT_DAYS, 0, NULL) == NULL ||
	    X509_set_pubkey(x, pkey) != 1 || tls_cert_add_extensions(x) < 0 ||
	    tls_cert_add_san(x, hostname) < 0 || X509_sign(x, pkey, EVP_sha256()) <= 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Write PEM data to path atomically (temp file, fsync, rename) with mode:
 * a crash never leaves a half-written key that would then be "existing". */
static int tls_pem_write(const char *path, mode_t mode, EVP_PKEY *pkey, X509 *x)
{
	size_t len = strlen(path) + sizeof(".tmp");
	char *tmp = mem_alloc(len);
	int fd, ok;
	FILE *f;

	snprintf(tmp, len, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0 || fchmod(fd, mode) < 0 || (f = fdopen(fd, "w")) == NULL) {
		log_error("tls: cannot create %s: %m", tmp);
		if (fd >= 0)
			close(fd);
		free(tmp);
		return -1;
	}
	ok = pkey ? PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL)
		  : PEM_write_X509(f, x);
	ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok = (fclose(f) == 0) && ok;
	ok = ok && rename(tmp, path) == 0;
	if (!ok) {
		log_error("tls: cannot write %s: %m", path);
		unlink(tmp);
	}
	free(tmp);
	return ok ? 0 : -1;
}

int tls_cert_ensure(const char *cert_path, const char *key_path, const char *hostname,
		    const char **error_r)
{
	EVP_PKEY *pkey;
	X509 *x;
	int r = -1;

	if (access(cert_path, F_OK) == 0 && access(key_path, F_OK) == 0)
		return 0;
	if (hostname == NULL || *hostname == '\0')
		hostname = "localhost";
	if (tls_mkdir_parents(cert_path) < 0 || tls_mkdir_parents(key_path) < 0) {
		*error_r = "cannot create the certificate directory";
		return -1;
	}
	ERR_clear_error();
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	x = pkey ? tls_cert_build(pkey, hostname) : NULL;
	if (x == NULL)
		*error_r = tls_error_reason("cannot generate a self-signed certificate");
	else if (tls_pem_write(key_path, 0600, pkey, NULL) < 0 ||
		 tls_pem_write(cert_path, 0644, NULL, x) < 0)
		*error_r = "cannot write the self-signed certificate";
	else
		r = 0;
	if (r == 0)
		log_info("tls: generated a self-signed certificate for %s in %s", hostname,
			 cert_path);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return r;
}
