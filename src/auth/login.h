/*
 * login: "look up the account and verify its password" without stalling an
 * event loop (rule 5). The account is looked up on the caller's loop (a
 * fast indexed read on the loop's own store handle); the password is
 * verified on the worker pool (yescrypt costs tens of milliseconds); the
 * answer comes back to the loop. An unknown account still costs one
 * verification against a dummy hash, so timing does not tell which
 * addresses exist. Used by auth.c for every password mechanism. The
 * password may also be one of the account's app passwords (store.h); the
 * last use of one is noted (at most hourly).
 *
 * Threads: login_start and the done callback run on the caller's loop.
 */
#ifndef BUZON_AUTH_LOGIN_H
#define BUZON_AUTH_LOGIN_H

#include <stdbool.h>
#include <stdint.h>

#include "net/loop.h"
#include "net/worker.h"
#include "store/store.h"

enum login_result {
	LOGIN_OK,
	LOGIN_FAILED,      /* no such account or wrong password */
	LOGIN_UNAVAILABLE, /* the store failed; try again later */
};

/* The answer: account_id and address (lower case) are set for LOGIN_OK.
 * address is valid only during the call. */
typedef void login_done_fn(void *context, enum login_result result, int64_t account_id,
			   const char *address);

/* Check user (an address, any case) and password, both SASLprep'd first
 * (RFC 4616 §2; saslprep.h) as the stored hash was; a password that
 * SASLprep changes or refuses is also tried as sent, for hashes imported
 * from elsewhere (a Dovecot passwd file hashes the bytes). done is always called
 * exactly once, later, on loop's thread (never from inside login_start);
 * the caller keeps context alive until then. */
void login_start(struct worker_pool *workers, struct loop *loop, struct store *store,
		 const char *user, const char *password, login_done_fn *done, void *context);

#endif
