/*
 * password: crypt(3) password hashes through libxcrypt.
 *
 * New hashes are yescrypt ("$y$"); SHA512-CRYPT ("$6$") and bcrypt ("$2b$",
 * "$2y$") hashes verify too, so a Dovecot passwd file can be imported as is.
 * Both calls are slow on purpose (tens of ms): run them off the event loop
 * (net/worker.h). Thread-safe.
 */
#ifndef BUZON_AUTH_PASSWORD_H
#define BUZON_AUTH_PASSWORD_H

#include <stdbool.h>

/* A new yescrypt hash of password, malloc'd into *hash_r. 0 or -1. */
int password_hash(const char *password, char **hash_r, const char **error_r);
/* true when password matches hash (constant time over the hash bytes). */
bool password_verify(const char *password, const char *hash);

/* The password field of a Dovecot passwd-file line as a hash we verify:
 * "{SHA512-CRYPT}$6$...", "{BLF-CRYPT}$2y$...", a bare "$y$..." (Dovecot's
 * default scheme CRYPT), or "{PLAIN}secret" (hashed now with yescrypt).
 * Malloc'd into *hash_r; -1 with *error_r for other schemes. */
int password_import(const char *field, char **hash_r, const char **error_r);

/* App passwords are generated here, never chosen: 20 random letters and
 * digits (100 bits) in groups of four. So strong a secret needs no slow
 * hash; it is kept as "sha256:HEX", which makes checking every app password
 * of an account at each login cheap. Both malloc'd. 0 or -1. */
int password_app_new(char **secret_r, char **hash_r, const char **error_r);
/* true when password is the secret of app password hash (constant time). */
bool password_app_verify(const char *password, const char *hash);

#endif
