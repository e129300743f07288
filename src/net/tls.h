/*
 * tls: the server side of TLS (OpenSSL 3), TLS 1.2 and up only (rule 8).
 *
 * A tls_server holds the certificate and key and is shared read-only by all
 * loops. When no certificate is configured, tls_cert_ensure() generates a
 * self-signed pair on first start so a dev server works out of the box.
 */
#ifndef BUZON_NET_TLS_H
#define BUZON_NET_TLS_H

struct tls_server;

/* Create cert_path and key_path (a self-signed certificate for hostname,
 * mode 0600 key) unless both exist. */
int tls_cert_ensure(const char *cert_path, const char *key_path, const char *hostname,
		    const char **error_r);
/* Load a certificate chain and key. *error_r is static or from OpenSSL. */
struct tls_server *tls_server_new(const char *cert_path, const char *key_path,
				  const char **error_r);
void tls_server_free(struct tls_server *tls);

#endif
