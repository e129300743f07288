/*
 * login: see login.h.
 */
#include "auth/login.h"
#include "auth/password.h"
#include "auth/saslprep.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Verified when the account does not exist, so that the answer takes as
 * long as for a wrong password (no user enumeration by timing). */
#define LOGIN_DUMMY_HASH "$y$j9T$UIWgjT9DvMKSgqMO.vzKw/$fxTg72MpwKdbPjymoEPiAoZOdljKVizC2rRqWzLUmP2"

/* Only this often is an app password's last use written (a write is a
 * transaction with an fsync on the loop). */
#define LOGIN_APP_TOUCH_SECONDS 3600

struct login_job {
	login_done_fn *done;
	void *context;
	struct store *store;
	struct arena *arena;     /* the app passwords */
	struct store_app_password *apps;
	size_t app_count;
	struct store_app_password *app_used; /* the one that matched, or NULL */
	char *address;   /* heap, lower case */
	char *password;  /* heap, SASLprep'd, or NULL when it cannot be; wiped */
	char *password_raw; /* heap, as sent, when that differs (or NULL); wiped */
	char *hash;      /* heap */
	int64_t account_id;
	enum login_result result;
	bool exists;
};

/* Wipe and free a password copy (NULL is fine). */
static void login_password_free(char *password)
{
	if (password != NULL) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
}

static void login_job_free(struct login_job *job)
{
	login_password_free(job->password);
	login_password_free(job->password_raw);
	free(job->hash);
	free(job->address);
	arena_free(job->arena);
	free(job);
}

/* On a worker thread. */
static void login_work(void *context)
{
	struct login_job *job = context;

	if (job->result == LOGIN_UNAVAILABLE)
		return;
	/* An app password first: a cheap hash (password.h says why). They
	 * are generated ASCII, their own SASLprep. */
	for (size_t i = 0; i < job->app_count && job->password != NULL; i++) {
		if (password_app_verify(job->password, job->apps[i].hash)) {
			job->app_used = &job->apps[i];
			job->result = LOGIN_OK;
			return;
		}
	}
	/* The prepared form is what we hash when a password is set; the form
	 * as sent only when it differs (a non-ASCII password hashed elsewhere),
	 * so an ASCII password costs one verification as before. */
	bool match = job->password != NULL && password_verify(job->password, job->hash);
	if (!match && job->password_raw != NULL)
		match = password_verify(job->password_raw, job->hash);
	job->result = match && job->exists ? LOGIN_OK : LOGIN_FAILED;
}

/* Back on the loop. */
static void login_finish(struct loop *loop, void *context)
{
	struct login_job *job = context;
	const char *error;

	int64_t now = (int64_t)time(NULL);
	if (job->app_used != NULL && now - job->app_used->last_used >= LOGIN_APP_TOUCH_SECONDS &&
	    store_app_password_touch(job->store, job->app_used->id, now, &error) < 0)
		log_warn("login: noting the use of app password %s of %s: %s",
			 job->app_used->name, job->address, error);
	job->done(job->context, job->result, job->account_id, job->address);
	login_job_free(job);
}

void login_start(struct worker_pool *workers, struct loop *loop, struct store *store,
		 const char *user, const char *password, login_done_fn *done, void *context)
{
	struct login_job *job = mem_zalloc(sizeof(*job));
	struct arena *arena = arena_new();
	struct store_account account;
	const char *error;

	job->done = done;
	job->context = context;
	job->store = store;
	job->arena = arena_new();
	/* RFC 4616 §2: the authentication identity and the password are
	 * SASLprep'd (as queries: unassigned code points allowed). A name it
	 * refuses is looked up as sent (and is no account of ours). */
	const char *prepared;
	if (saslprep_prepare(arena, user, false, &prepared, &error) < 0)
		prepared = user;
	job->address = str_lower(mem_strdup(prepared));
	if (saslprep_prepare(arena, password, false, &prepared, &error) == 0) {
		job->password = mem_strdup(prepared);
		explicit_bzero((char *)prepared, strlen(prepared));
	}
	if (job->password == NULL || strcmp(job->password, password) != 0)
		job->password_raw = mem_strdup(password);
	int r = store_account_find(store, job->address, arena, &account, &error);
	if (r < 0 && r != STORE_ENOTFOUND) {
		log_error("login: account lookup %s: %s", job->address, error);
		job->result = LOGIN_UNAVAILABLE;
	}
	job->exists = r == 0;
	job->account_id = r == 0 ? account.id : 0;
	job->hash = mem_strdup(r == 0 ? account.password_hash : LOGIN_DUMMY_HASH);
	if (r == 0 && store_app_password_list(store, account.id, job->arena, &job->apps,
					      &job->app_count, &error) < 0) {
		log_error("login: app passwords of %s: %s", job->address, error);
		job->result = LOGIN_UNAVAILABLE;
	}
	arena_free(arena);
	worker_pool_submit(workers, loop, login_work, login_finish, job);
}
