/*
 * login: see login.h.
 */
#include "auth/login.h"
#include "auth/password.h"
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
	char *password;  /* heap; wiped after use */
	char *hash;      /* heap */
	int64_t account_id;
	enum login_result result;
	bool exists;
};

static void login_job_free(struct login_job *job)
{
	if (job->password != NULL) {
		explicit_bzero(job->password, strlen(job->password));
		free(job->password);
	}
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
	/* An app password first: a cheap hash (password.h says why). */
	for (size_t i = 0; i < job->app_count; i++) {
		if (password_app_verify(job->password, job->apps[i].hash)) {
			job->app_used = &job->apps[i];
			job->result = LOGIN_OK;
			return;
		}
	}
	job->result = password_verify(job->password, job->hash) && job->exists ? LOGIN_OK :
										 LOGIN_FAILED;
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
	job->address = str_lower(mem_strdup(user));
	job->password = mem_strdup(password);
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
