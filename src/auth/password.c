/*
 * password: hashing and checking login passwords with libxcrypt.
 *
 * Only the reentrant calls are used (crypt_rn with a heap struct crypt_data
 * per call, never crypt()), so any worker thread may check a password. The
 * scratch area holds key material and is wiped before it is freed.
 *
 * What verifies: any modular crypt format ("$id$...") that libxcrypt knows —
 * in practice yescrypt, SHA512-CRYPT and bcrypt, as Dovecot writes them.
 * What never verifies: an empty hash, a locked one ("*..." or "!..."), and
 * the old DES hashes without a "$id$" prefix (they ignore everything after
 * the eighth character of the password).
 */
#include "auth/password.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/str.h"

/* New hashes: yescrypt with libxcrypt's default cost (about 30 ms). */
#define PASSWORD_HASH_PREFIX "$y$"
/* SHA512-CRYPT costs time in proportion to the password's length, so an
 * unbounded password is a way to burn CPU; nobody types more than this. */
#define PASSWORD_MAX_LENGTH 1024

/* Hash password with setting into a fresh string, or NULL when libxcrypt
 * refuses (unknown or malformed setting). */
static char *password_crypt(const char *password, const char *setting)
{
	struct crypt_data *data = mem_zalloc(sizeof(*data));
	char *result = NULL;
	const char *out;

	out = crypt_rn(password, setting, data, (int)sizeof(*data));
	if (out != NULL && out[0] != '*')
		result = mem_strdup(out);
	explicit_bzero(data, sizeof(*data));
	free(data);
	return result;
}

int password_hash(const char *password, char **hash_r, const char **error_r)
{
	char *setting;

	*hash_r = NULL;
	if (password == NULL || password[0] == '\0') {
		*error_r = "empty password";
		return -1;
	}
	if (strlen(password) > PASSWORD_MAX_LENGTH) {
		*error_r = "password too long";
		return -1;
	}
	setting = crypt_gensalt_ra(PASSWORD_HASH_PREFIX, 0, NULL, 0);
	if (setting == NULL) {
		*error_r = "crypt_gensalt: no yescrypt support or no randomness";
		return -1;
	}
	*hash_r = password_crypt(password, setting);
	free(setting);
	if (*hash_r == NULL) {
		*error_r = "crypt: hashing failed";
		return -1;
	}
	return 0;
}

/* true when hash is a format we accept at all (see the top of this file). */
static bool password_hash_usable(const char *hash)
{
	return hash != NULL && hash[0] == '$' && strchr(hash + 1, '$') != NULL;
}

/* Compare two strings in time that depends only on the length of want. */
static bool password_equal(const char *got, const char *want)
{
	size_t got_len = strlen(got), want_len = strlen(want);
	unsigned char diff = got_len != want_len;

	for (size_t i = 0; i < want_len; i++)
		diff |= (unsigned char)(want[i] ^ (i < got_len ? got[i] : 0));
	return diff == 0;
}

bool password_verify(const char *password, const char *hash)
{
	char *computed;
	bool match;

	if (password == NULL || password[0] == '\0' || !password_hash_usable(hash) ||
	    strlen(password) > PASSWORD_MAX_LENGTH)
		return false;
	computed = password_crypt(password, hash);
	if (computed == NULL)
		return false;
	match = password_equal(computed, hash);
	explicit_bzero(computed, strlen(computed));
	free(computed);
	return match;
}

/* Dovecot's scheme names for crypt(3) hashes (doc: "Password schemes"). */
static const char *const password_crypt_schemes[] = {
	"{CRYPT}", "{SHA512-CRYPT}", "{SHA256-CRYPT}", "{BLF-CRYPT}", "{MD5-CRYPT}",
	"{YESCRYPT}", NULL,
};

/* A complete hash libxcrypt can verify, not a broken legacy format: a
 * setting alone ("$6$salt") passes crypt_checksalt, so hash something with
 * it and check that the result has the same shape. */
static bool password_importable(const char *hash)
{
	if (!password_hash_usable(hash))
		return false;
	int r = crypt_checksalt(hash);
	if (r != CRYPT_SALT_OK && r != CRYPT_SALT_TOO_CHEAP)
		return false;
	char *probe = password_crypt("probe", hash);
	const char *last = strrchr(hash, '$');
	bool ok = probe != NULL && strlen(probe) == strlen(hash) &&
		  strncmp(probe, hash, (size_t)(last - hash) + 1) == 0;
	free(probe);
	return ok;
}

int password_import(const char *field, char **hash_r, const char **error_r)
{
	*hash_r = NULL;
	if (str_has_prefix_nocase(field, "{PLAIN}") || str_has_prefix_nocase(field, "{CLEAR}"))
		return password_hash(field + 7, hash_r, error_r);
	for (size_t i = 0; password_crypt_schemes[i] != NULL; i++) {
		if (str_has_prefix_nocase(field, password_crypt_schemes[i])) {
			field += strlen(password_crypt_schemes[i]);
			break;
		}
	}
	if (field[0] == '{') {
		*error_r = "password scheme not supported (only crypt(3) hashes and PLAIN)";
		return -1;
	}
	if (!password_importable(field)) {
		*error_r = "not a crypt(3) hash this system can verify";
		return -1;
	}
	*hash_r = mem_strdup(field);
	return 0;
}

/* ---- app passwords ------------------------------------------------------------ */

#define PASSWORD_APP_GROUPS 5
#define PASSWORD_APP_PREFIX "sha256:"

/* "sha256:" and the hex SHA-256 of secret, malloc'd. */
static char *password_app_hash(const char *secret)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	char *out = mem_alloc(strlen(PASSWORD_APP_PREFIX) + 2 * sizeof(digest) + 1);
	size_t n = strlen(PASSWORD_APP_PREFIX);

	SHA256((const unsigned char *)secret, strlen(secret), digest);
	memcpy(out, PASSWORD_APP_PREFIX, n);
	for (size_t i = 0; i < sizeof(digest); i++)
		n += (size_t)sprintf(out + n, "%02x", digest[i]);
	OPENSSL_cleanse(digest, sizeof(digest));
	return out;
}

int password_app_new(char **secret_r, char **hash_r, const char **error_r)
{
	/* 32 symbols (5 bits each), no 0/o/1/l to misread on a phone. */
	static const char alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
	unsigned char random[PASSWORD_APP_GROUPS * 4];
	char *secret = mem_alloc(PASSWORD_APP_GROUPS * 5);
	size_t n = 0;

	if (RAND_bytes(random, sizeof(random)) != 1) {
		free(secret);
		*error_r = "no randomness for an app password";
		return -1;
	}
	for (size_t i = 0; i < sizeof(random); i++) {
		if (i > 0 && i % 4 == 0)
			secret[n++] = '-';
		secret[n++] = alphabet[random[i] & 31];
	}
	secret[n] = '\0';
	OPENSSL_cleanse(random, sizeof(random));
	*secret_r = secret;
	*hash_r = password_app_hash(secret);
	return 0;
}

bool password_app_verify(const char *password, const char *hash)
{
	if (password == NULL || hash == NULL || strlen(password) > PASSWORD_MAX_LENGTH ||
	    strncmp(hash, PASSWORD_APP_PREFIX, strlen(PASSWORD_APP_PREFIX)) != 0)
		return false;
	char *computed = password_app_hash(password);
	bool match = strlen(computed) == strlen(hash) &&
		     CRYPTO_memcmp(computed, hash, strlen(hash)) == 0;
	free(computed);
	return match;
}
