/*
 * config: the one small config file, `key = value` lines with `#` comments.
 *
 * The set of keys is a contract (DESIGN.md): an unknown key or a bad value is
 * an error that names file:line, and keys are never renamed or removed, so an
 * old config keeps working after an upgrade. Every key, its default and its
 * meaning is listed in docs/config.md; keep the two in step.
 */
#ifndef BUZON_CORE_CONFIG_H
#define BUZON_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A listener address as written in the file: "127.0.0.1:1143", "[::1]:1993",
 * or for lmtp "unix:/path". enabled is false when the key is absent. */
struct config_listen {
	bool enabled;
	char *host;      /* numeric address or name; NULL for unix */
	char *port;      /* decimal port as a string; NULL for unix */
	char *unix_path; /* set for "unix:PATH" */
};

struct config {
	char *path;            /* the file we read, for messages */
	char *data_dir;        /* required */
	char *hostname;        /* default: gethostname() */
	char **domains;        /* NULL-terminated; default: empty list */
	char *tls_cert;        /* default: NULL = DATA_DIR/tls/cert.pem, generated */
	char *tls_key;         /* default: NULL = DATA_DIR/tls/key.pem, generated */
	struct config_listen imap, imaps, pop3, pop3s, smtp, submission, submissions, lmtp;
	char *relay_host;      /* HOST:PORT or NULL */
	char *relay_user;           /* AUTH name for relay_host; NULL = no AUTH */
	char *relay_password_file;  /* its password, first line; set with relay_user */
	bool relay_tls_insecure;    /* default false: relay_host's certificate is verified */
	char *relay_tls_ca_file;    /* CAs for relay_host; NULL = the system store */
	uint32_t dsn_delay;         /* seconds before a "delayed" DSN; default 4 hours */
	char *dns_resolver;         /* numeric ADDRESS:PORT; NULL = /etc/resolv.conf */
	uint32_t mx_port;           /* port of MX hosts; default 25 */
	uint32_t queue_retry_base;  /* seconds; first retry delay; default 300 */
	uint32_t queue_lifetime;    /* seconds in the queue before bouncing; default 5 days */
	uint32_t smtp_timeout;      /* seconds an SMTP/LMTP client may be silent; default 300 */
	bool allow_plaintext_auth;  /* default false */
	unsigned threads;           /* event loops; default 0 = one per core */
	uint64_t max_message_size;  /* bytes; default 50 MiB */
	uint64_t quota_storage;     /* default per-account storage limit, bytes; 0 = none */
	uint64_t quota_messages;    /* default per-account message limit; 0 = none */
	char *log_level;            /* debug|info|warn|error; default info */
	char *user;                 /* started as root: run as this user; NULL = stay */
	char *group;                /* ... and this group; NULL = the user's own */
	/* OAuth 2.0 bearer tokens (auth/auth.c); all NULL = no OAUTHBEARER */
	char *oauth_issuer;             /* expected iss */
	char *oauth_audience;           /* expected aud */
	char *oauth_jwks_file;          /* JWKS with the issuer's public keys */
	char *oauth_pem_keys;           /* comma-separated PEM public key files */
	char *oauth_account_claim;      /* claim naming the account; default "email" */
	char *oauth_introspection_url;  /* RFC 7662 endpoint for opaque tokens */
	char *oauth_client_id;          /* its HTTP Basic user */
	char *oauth_client_secret_file; /* ... and password, first line of this file */
	char *oauth_ca_file;            /* CA to verify it; default: the system's */
	uint32_t oauth_introspection_cache;          /* seconds an active answer is kept; 60 */
	uint32_t oauth_introspection_negative_cache; /* ... an inactive one; 5 */
	/* The mail store back end (store/store.h) */
	char *store;                    /* "sqlite" (default) or "postgres" */
	char *postgres_url;             /* libpq URI; required with store = postgres */
};

/* Read and validate path into *config_r. On error returns -1 and sets *error_r
 * to a malloc'd message "FILE:LINE: what is wrong" (free it). */
int config_load(const char *path, struct config *config_r, char **error_r);
/* Free everything config_load allocated. */
void config_free(struct config *config);
/* The quota defaults as the store takes them: KiB (rounded up) or a
 * count, -1 for no limit. */
int64_t config_quota_storage_kib(const struct config *config);
int64_t config_quota_messages(const struct config *config);
/* true when domain (any case) is one of the configured local domains. */
bool config_is_local_domain(const struct config *config, const char *domain);

#endif
