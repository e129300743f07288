/*
 * scram: SCRAM (RFC 5802) for the server side — the keys kept instead of a
 * password, and the two-step exchange over them. One code path for every
 * hash: SCRAM-SHA-256 (RFC 7677), the one we store and offer, and
 * SCRAM-SHA-1 (RFC 5802), which exists here so the computation is checked
 * against both RFCs' test vectors (see docs/ARCHITECTURE.md for why we do
 * not offer it).
 *
 * The store keeps StoredKey and ServerKey with their salt and iteration
 * count, computed once when a password is set (scram_keys_new): never the
 * password itself, and PBKDF2 never runs during a login (the client pays
 * for it). The text form is RFC 5803's:
 *
 *     SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>
 *
 * (or SCRAM-SHA-1$..., which decodes too).
 *
 * The exchange functions are pure (no I/O, no store) so they can be
 * checked against the RFC 5802 and RFC 7677 test vectors and fuzzed;
 * auth.c drives them.
 * Names and passwords here are bytes already SASLprep'd by the caller
 * (auth/saslprep.h: auth.c for the name, the `user` commands for the
 * password the keys come from). Thread-safe.
 */
#ifndef BUZON_AUTH_SCRAM_H
#define BUZON_AUTH_SCRAM_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"

/* The longest digest we use (SHA-256); SHA-1 keys use the first 20 bytes. */
#define SCRAM_KEY_LEN 32
#define SCRAM_SALT_MAX 64
/* RFC 7677 §4: at least 4096; every client pays this once per login. */
#define SCRAM_ITERATIONS 4096
/* A stored count above this is refused: it would make clients spin. */
#define SCRAM_ITERATIONS_MAX 1000000

/* The hash H() of the mechanism (RFC 5802 §2.2). Zero is SHA-256, so
 * zeroed keys are SCRAM-SHA-256 ones. */
enum scram_digest {
	SCRAM_DIGEST_SHA256,
	SCRAM_DIGEST_SHA1,
};

/* The output size of digest's H() (20 or 32). */
size_t scram_digest_len(enum scram_digest digest);

struct scram_keys {
	enum scram_digest digest;
	unsigned iterations;
	size_t salt_len;
	unsigned char salt[SCRAM_SALT_MAX];
	unsigned char stored_key[SCRAM_KEY_LEN];
	unsigned char server_key[SCRAM_KEY_LEN];
};

/* Derive the keys of password for digest with this
 * salt and count (RFC 5802 §3). 0 or -1 (OpenSSL failed). */
int scram_keys_derive(enum scram_digest digest, const char *password, const unsigned char *salt,
		      size_t salt_len, unsigned iterations, struct scram_keys *keys_r);
/* Fresh SCRAM-SHA-256 keys for password (random
 * 16-byte salt, SCRAM_ITERATIONS) in the text form, malloc'd into
 * *encoded_r. 0 or -1 with *error_r. */
int scram_keys_new(const char *password, char **encoded_r, const char **error_r);
/* Parse the text form (SCRAM-SHA-256 or SCRAM-SHA-1). 0, or -1 when it is
 * not a SCRAM entry. */
int scram_keys_decode(const char *encoded, struct scram_keys *keys_r);

/* Channel binding requested by the client's GS2 header (RFC 5802 §6). */
enum scram_cbind {
	SCRAM_CBIND_NONE,        /* "n": client does not support it */
	SCRAM_CBIND_UNSUPPORTED, /* "y": client does, thinks we do not */
	SCRAM_CBIND_USED,        /* "p=NAME" */
};

/* One exchange; lives in the caller's arena. */
struct scram_server {
	enum scram_cbind cbind;
	const char *cb_name;        /* for SCRAM_CBIND_USED */
	const char *username;       /* decoded saslname */
	const char *authzid;        /* decoded, or NULL */
	const char *gs2_header;     /* "n,," etc., as sent */
	const char *client_first_bare;
	const char *server_first;
	const char *nonce;          /* client nonce + server nonce */
	struct scram_keys keys;
};

/* Step 1: parse client-first-message (RFC 5802 §7) into s. 0, or -1 with
 * *error_r on a malformed message or an extension we do not support. */
int scram_server_parse_first(struct scram_server *s, struct arena *arena, const char *msg,
			     size_t len, const char **error_r);
/* Step 2: with the account's keys (or fake ones for an unknown name) and a
 * fresh printable server nonce, the server-first-message (arena). */
const char *scram_server_challenge(struct scram_server *s, struct arena *arena,
				   const struct scram_keys *keys, const char *server_nonce);
/* Step 3: check client-final-message. cb_data is the channel binding data
 * of the connection for s->cb_name (NULL/0 when none is used). Returns 0
 * and the server-final-message ("v=...") in *final_r when the proof is
 * right; -1 with *error_r on a malformed message; -2 with *error_r when
 * the proof, the nonce or the channel binding is wrong. */
int scram_server_check_final(struct scram_server *s, struct arena *arena, const char *msg,
			     size_t len, const unsigned char *cb_data, size_t cb_len,
			     const char **final_r, const char **error_r);

/* Base64 (RFC 4648 §4) of data[0..len) into the arena. */
char *scram_base64_encode(struct arena *arena, const unsigned char *data, size_t len);

#endif
