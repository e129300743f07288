/*
 * test_password: hashes made elsewhere verify here, hashes made here verify,
 * and nothing verifies that should not (locked, empty, DES, wrong password).
 *
 * The known hashes were made outside buzon:
 *   openssl passwd -6 -salt saltsalt secret
 *   python3 -c 'import crypt; print(crypt.crypt("secret", SETTING))'
 * with the settings visible in each hash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"
#include "unit.h"

static const char sha512_secret[] =
	"$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN"
	".Pq.H91p5hVO1";
static const char sha512_rounds[] =
	"$6$rounds=10000$abcdefgh$4QtuTRriJ3drZ4BfaTQD7R63rJSGHaht/poPXhZcaUXiAO/1Sq1c5nQsZMCg6"
	"WsanGq8pAvH.4NpzJCbVZRjJ1";
static const char yescrypt_secret[] =
	"$y$j9T$F5Jx5fExrKuPp53xLKQ..1$GmcwIgvdUC9qLWcKCi6gklUa1dM3ziD43YxYNURLKy0";
static const char yescrypt_utf8[] =
	"$y$j9T$F5Jx5fExrKuPp53xLKQ..1$UAi3w.V1khOnmiQzfq00d7LaG6KfSe9MVbNef5kSs64";
static const char bcrypt_2b_secret[] =
	"$2b$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a";
static const char bcrypt_2y_secret[] =
	"$2y$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a";
static const char des_secret[] = "abNANd1rDfiNc";

static void sha512_crypt_from_openssl_verifies(void)
{
	UNIT_CHECK(password_verify("secret", sha512_secret));
	UNIT_CHECK(!password_verify("Secret", sha512_secret));
	UNIT_CHECK(!password_verify("secret ", sha512_secret));
	UNIT_CHECK(password_verify("correct horse", sha512_rounds));
	UNIT_CHECK(!password_verify("correct horse!", sha512_rounds));
}

static void yescrypt_verifies(void)
{
	UNIT_CHECK(password_verify("secret", yescrypt_secret));
	UNIT_CHECK(!password_verify("secreT", yescrypt_secret));
	UNIT_CHECK(password_verify("pässwörd", yescrypt_utf8));
	UNIT_CHECK(!password_verify("passwoerd", yescrypt_utf8));
}

static void bcrypt_2b_and_2y_verify(void)
{
	UNIT_CHECK(password_verify("secret", bcrypt_2b_secret));
	UNIT_CHECK(password_verify("secret", bcrypt_2y_secret));
	UNIT_CHECK(!password_verify("secrets", bcrypt_2b_secret));
}

static void locked_and_empty_hashes_never_verify(void)
{
	UNIT_CHECK(!password_verify("secret", ""));
	UNIT_CHECK(!password_verify("", ""));
	UNIT_CHECK(!password_verify("secret", "*"));
	UNIT_CHECK(!password_verify("secret", "!"));
	UNIT_CHECK(!password_verify("secret", "!$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GL"));
	UNIT_CHECK(!password_verify("secret", NULL));
	UNIT_CHECK(!password_verify(NULL, sha512_secret));
}

static void des_and_garbage_hashes_never_verify(void)
{
	UNIT_CHECK(!password_verify("secret", des_secret));
	UNIT_CHECK(!password_verify("secret", "$"));
	UNIT_CHECK(!password_verify("secret", "$6$"));
	UNIT_CHECK(!password_verify("secret", "$zz$abc$def"));
	UNIT_CHECK(!password_verify("secret", "plain-text-secret"));
}

static void truncated_hash_does_not_verify(void)
{
	char cut[sizeof(sha512_secret)];

	memcpy(cut, sha512_secret, sizeof(cut));
	cut[sizeof(cut) - 2] = '\0';
	UNIT_CHECK(!password_verify("secret", cut));
}

static void new_hash_is_yescrypt_and_round_trips(void)
{
	char *hash = NULL;
	const char *error = NULL;

	UNIT_CHECK(password_hash("hunter2", &hash, &error) == 0);
	if (hash == NULL)
		return;
	UNIT_CHECK(strncmp(hash, "$y$", 3) == 0);
	UNIT_CHECK(password_verify("hunter2", hash));
	UNIT_CHECK(!password_verify("hunter3", hash));
	UNIT_CHECK(!password_verify("", hash));
	free(hash);
}

static void two_hashes_of_one_password_differ(void)
{
	char *a = NULL, *b = NULL;
	const char *error = NULL;

	UNIT_CHECK(password_hash("same", &a, &error) == 0);
	UNIT_CHECK(password_hash("same", &b, &error) == 0);
	UNIT_CHECK(a != NULL && b != NULL && strcmp(a, b) != 0);
	free(a);
	free(b);
}

static void empty_and_huge_passwords_are_refused(void)
{
	char *hash = (char *)"untouched";
	const char *error = NULL;
	char *huge = malloc(4097);

	UNIT_CHECK(password_hash("", &hash, &error) < 0);
	UNIT_CHECK(hash == NULL);
	UNIT_CHECK_STR(error, "empty password");
	memset(huge, 'x', 4096);
	huge[4096] = '\0';
	UNIT_CHECK(password_hash(huge, &hash, &error) < 0);
	UNIT_CHECK_STR(error, "password too long");
	UNIT_CHECK(!password_verify(huge, sha512_secret));
	free(huge);
}

/* Dovecot passwd-file fields: crypt(3) schemes keep their hash, PLAIN is
 * hashed now, other schemes and broken hashes are refused. */
static void dovecot_password_fields_import(void)
{
	char *hash;
	const char *error;
	char field[256];

	snprintf(field, sizeof(field), "{SHA512-CRYPT}%s", sha512_secret);
	UNIT_CHECK(password_import(field, &hash, &error) == 0 && strcmp(hash, sha512_secret) == 0);
	free(hash);
	snprintf(field, sizeof(field), "{BLF-CRYPT}%s", bcrypt_2y_secret);
	UNIT_CHECK(password_import(field, &hash, &error) == 0 && password_verify("secret", hash));
	free(hash);
	UNIT_CHECK(password_import(yescrypt_secret, &hash, &error) == 0 &&
		   password_verify("secret", hash));
	free(hash);
	UNIT_CHECK(password_import("{PLAIN}secret", &hash, &error) == 0 &&
		   strncmp(hash, "$y$", 3) == 0 && password_verify("secret", hash));
	free(hash);
	UNIT_CHECK(password_import("{SSHA}c2FsdA==", &hash, &error) < 0 && hash == NULL);
	UNIT_CHECK(password_import(des_secret, &hash, &error) < 0);
	UNIT_CHECK(password_import("$6$broken", &hash, &error) < 0);
	UNIT_CHECK(password_import("", &hash, &error) < 0);
}

static void app_password_is_generated_and_verifies(void)
{
	char *secret1, *hash1, *secret2, *hash2;
	const char *error = NULL;

	UNIT_CHECK(password_app_new(&secret1, &hash1, &error) == 0);
	UNIT_CHECK(password_app_new(&secret2, &hash2, &error) == 0);
	UNIT_CHECK(strlen(secret1) == 24 && secret1[4] == '-' && secret1[19] == '-');
	UNIT_CHECK(strncmp(hash1, "sha256:", 7) == 0 && strlen(hash1) == 7 + 64);
	UNIT_CHECK(strcmp(secret1, secret2) != 0);
	UNIT_CHECK(password_app_verify(secret1, hash1));
	UNIT_CHECK(!password_app_verify(secret2, hash1));
	UNIT_CHECK(!password_app_verify("", hash1));
	UNIT_CHECK(!password_app_verify(secret1, "$y$j9T$x"));
	UNIT_CHECK(!password_app_verify(secret1, "sha256:"));
	free(secret1);
	free(hash1);
	free(secret2);
	free(hash2);
}

int main(void)
{
	UNIT_RUN(sha512_crypt_from_openssl_verifies);
	UNIT_RUN(yescrypt_verifies);
	UNIT_RUN(bcrypt_2b_and_2y_verify);
	UNIT_RUN(locked_and_empty_hashes_never_verify);
	UNIT_RUN(des_and_garbage_hashes_never_verify);
	UNIT_RUN(truncated_hash_does_not_verify);
	UNIT_RUN(new_hash_is_yescrypt_and_round_trips);
	UNIT_RUN(two_hashes_of_one_password_differ);
	UNIT_RUN(empty_and_huge_passwords_are_refused);
	UNIT_RUN(dovecot_password_fields_import);
	UNIT_RUN(app_password_is_generated_and_verifies);
	return unit_finish();
}
