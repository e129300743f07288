/*
 * auth: see auth.h. The mechanism table, the per-attempt state machine and
 * the failure throttle.
 *
 * Password checks (PLAIN, LOGIN, IMAP LOGIN, POP3 PASS) go through
 * login.c: account lookup on the loop, yescrypt on the worker pool. SCRAM
 * needs no worker: the stored keys are read on the loop and the proof is
 * two HMACs and a hash. An unknown name gets a salt derived from the
 * service's secret (stable per name, so asking twice does not tell), and
 * its proof never matches.
 */
#include "auth/auth.h"
#include "auth/introspect.h"
#include "auth/jwt.h"
#include "auth/login.h"
#include "auth/sasl.h"
#include "auth/saslprep.h"
#include "auth/scram.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"

/* ---- throttle limits (DESIGN rule 8) --------------------------------------- */

/* Failures are forgotten this long after the last one of a key. */
#define AUTH_FAIL_WINDOW_MS (15 * 60 * 1000)
/* The answer to a failure waits base << (n - 1) ms for the n-th failure in
 * the window (1, 2, 4, 8 s): slow for a guesser on one connection, free
 * for everyone else (a loop timer, not a sleep). */
#define AUTH_FAIL_DELAY_BASE_MS 1000
#define AUTH_FAIL_DELAY_MAX_SHIFT 3
/* Past this many failures in the window the address is refused outright,
 * until the window ends: no more guesses are checked. */
#define AUTH_REFUSE_ADDRESS_AFTER 10
/* An account is refused later than an address: refusing it also keeps its
 * owner out, so it only stops a guesser spread over many addresses. */
#define AUTH_REFUSE_ACCOUNT_AFTER 30
/* Bounds the table an attacker with many addresses can grow; past it,
 * expired entries are dropped and new keys are not tracked. */
#define AUTH_THROTTLE_MAX_ENTRIES 100000
#define AUTH_THROTTLE_BUCKETS 4096

/* The longest user name we log or throttle on (a mail address is <= 254). */
#define AUTH_USER_MAX 512

/* ---- OAuth key rotation and introspection cache -------------------------- */

/* The key files (oauth_jwks_file, oauth_pem_keys) are looked at (stat) at
 * most this often, when a token is checked; when one changed, all are
 * read again, so an issuer's key rotation needs no restart. */
#define AUTH_KEYS_RECHECK_MS 5000
/* Introspection answers kept (RFC 7662 §4), by SHA-256 of the token: the
 * token itself is never kept. Bounded: past the limit, expired answers go,
 * and if none had, all of them (they are only a cache). */
#define AUTH_TOKEN_CACHE_MAX 10000
#define AUTH_TOKEN_CACHE_BUCKETS 1024

struct auth_token_cache_entry {
	struct auth_token_cache_entry *next;
	unsigned char digest[32];   /* SHA-256 of the token */
	int64_t expires;            /* Unix seconds: min(exp, now + TTL) */
	bool active;
	char account[];             /* the account claim when active, else "" */
};

struct auth_throttle_entry {
	struct auth_throttle_entry *next;
	uint64_t last_ms;      /* monotonic time of the last failure */
	unsigned failures;     /* in the window */
	char key[];            /* "a:ADDRESS" or "u:user" */
};

struct auth_service {
	const struct config *config;
	struct worker_pool *workers;
	unsigned char secret[32];
	/* OAuth 2.0: on when oauth_issuer is set. */
	bool oauth;
	/* The JWT keys, replaced whole when their files change: workers
	 * verify under the read lock, the reload swaps under the write lock. */
	pthread_rwlock_t keys_lock;
	struct jwt_keys *jwt;
	/* When the key files were last looked at, and what they looked like
	 * (keys_check_lock; one worker reloads, the others go on). */
	pthread_mutex_t keys_check_lock;
	uint64_t keys_next_check_ms;
	uint64_t keys_stamp;
	/* Introspection answers (cache_lock). */
	pthread_mutex_t cache_lock;
	struct auth_token_cache_entry *cache[AUTH_TOKEN_CACHE_BUCKETS];
	size_t cache_entries;
	struct introspect_config introspect; /* url NULL: no introspection */
	char *client_secret;
	/* The throttle, shared by every loop: the lock guards the table. */
	pthread_mutex_t lock;
	struct auth_throttle_entry *buckets[AUTH_THROTTLE_BUCKETS];
	size_t entries;
};

/* ---- the mechanism table ----------------------------------------------------- */

enum auth_mech_id {
	AUTH_MECH_SCRAM_PLUS,
	AUTH_MECH_SCRAM,
	AUTH_MECH_OAUTHBEARER,
	AUTH_MECH_XOAUTH2,
	AUTH_MECH_PLAIN,
	AUTH_MECH_LOGIN,
};

struct auth_mech {
	const char *name;
	enum auth_mech_id id;
	bool tls_only;
	const char *rfc;
};

/* Strongest first: clients that take the first one they know get SCRAM. */
static const struct auth_mech auth_mechs[] = {
	{ "SCRAM-SHA-256-PLUS", AUTH_MECH_SCRAM_PLUS, true, "RFC 7677, RFC 5802 §6, RFC 9266" },
	{ "SCRAM-SHA-256", AUTH_MECH_SCRAM, false, "RFC 7677, RFC 5802" },
	{ "OAUTHBEARER", AUTH_MECH_OAUTHBEARER, false, "RFC 7628" },
	{ "XOAUTH2", AUTH_MECH_XOAUTH2, false, "Google's XOAUTH2, RFC 6750 tokens" },
	{ "PLAIN", AUTH_MECH_PLAIN, false, "RFC 4616" },
	{ "LOGIN", AUTH_MECH_LOGIN, false, "draft-murchison-sasl-login" },
};
#define AUTH_MECH_COUNT (sizeof(auth_mechs) / sizeof(auth_mechs[0]))

static bool auth_mech_offered(const struct auth_service *service, const struct auth_mech *mech,
			      const struct conn *conn)
{
	if ((mech->id == AUTH_MECH_OAUTHBEARER || mech->id == AUTH_MECH_XOAUTH2) && !service->oauth)
		return false;
	return !mech->tls_only || (conn != NULL && conn_is_tls(conn));
}

const struct auth_mech *auth_mech_find(const struct auth_service *service,
				       const struct conn *conn, const char *name)
{
	for (size_t i = 0; i < AUTH_MECH_COUNT; i++) {
		if (str_eq_nocase(name, auth_mechs[i].name) &&
		    auth_mech_offered(service, &auth_mechs[i], conn))
			return &auth_mechs[i];
	}
	return NULL;
}

size_t auth_mech_list(const struct auth_service *service, const struct conn *conn,
		      const char **names_r, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < AUTH_MECH_COUNT && n < max; i++) {
		if (auth_mech_offered(service, &auth_mechs[i], conn))
			names_r[n++] = auth_mechs[i].name;
	}
	return n;
}

/* ---- the service ---------------------------------------------------------------- */

/* The first line of path, malloc'd, or NULL. */
static char *auth_read_first_line(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;

	if (f == NULL)
		return NULL;
	ssize_t n = getline(&line, &cap, f);
	fclose(f);
	if (n <= 0) {
		free(line);
		return NULL;
	}
	line[strcspn(line, "\r\n")] = '\0';
	return line;
}

static uint64_t auth_now_ms(void);

/* Mix what stat says of path (device, inode, size, modification time, or
 * the error) into the FNV-1a hash h. */
static uint64_t auth_stamp_file(uint64_t h, const char *path)
{
	struct stat st;
	int64_t fields[6] = { 0 };

	if (stat(path, &st) == 0) {
		fields[0] = (int64_t)st.st_dev;
		fields[1] = (int64_t)st.st_ino;
		fields[2] = (int64_t)st.st_size;
		fields[3] = (int64_t)st.st_mtim.tv_sec;
		fields[4] = (int64_t)st.st_mtim.tv_nsec;
	} else {
		fields[5] = errno;
	}
	const unsigned char *p = (const unsigned char *)fields;
	for (size_t i = 0; i < sizeof(fields); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

/* A fingerprint of the key files as they are now: a file replaced by
 * rename or rewritten in place changes it. */
static uint64_t auth_keys_stamp(const struct config *config)
{
	uint64_t h = 1469598103934665603ULL;

	if (config->oauth_jwks_file != NULL)
		h = auth_stamp_file(h, config->oauth_jwks_file);
	if (config->oauth_pem_keys != NULL) {
		char *list = mem_strdup(config->oauth_pem_keys), *save = NULL;
		for (char *p = strtok_r(list, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save))
			h = auth_stamp_file(h, str_trim(p));
		free(list);
	}
	return h;
}

/* Read the key files into a new key set; NULL (logged) when one cannot be
 * read or parsed. */
static struct jwt_keys *auth_oauth_load_keys(const struct config *config)
{
	struct jwt_keys *keys = jwt_keys_new();
	const char *error;

	if (config->oauth_jwks_file != NULL) {
		FILE *f = fopen(config->oauth_jwks_file, "r");
		char buf[65536];
		size_t n = f != NULL ? fread(buf, 1, sizeof(buf), f) : 0;
		bool whole = f != NULL && feof(f) && !ferror(f);
		if (f != NULL)
			fclose(f);
		if (!whole || jwt_keys_add_jwks(keys, buf, n, &error) < 0) {
			log_error("auth: oauth_jwks_file %s: %s", config->oauth_jwks_file,
				  !whole ? "cannot read it (or larger than 64 KB)" : error);
			jwt_keys_free(keys);
			return NULL;
		}
	}
	if (config->oauth_pem_keys != NULL) {
		char *list = mem_strdup(config->oauth_pem_keys), *save = NULL;
		for (char *p = strtok_r(list, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
			p = str_trim(p);
			if (*p != '\0' && jwt_keys_add_pem(keys, p, &error) < 0) {
				log_error("auth: oauth_pem_keys %s: %s", p, error);
				free(list);
				jwt_keys_free(keys);
				return NULL;
			}
		}
		free(list);
	}
	return keys;
}

/* On a worker, before a JWT is verified: at most every
 * AUTH_KEYS_RECHECK_MS, stat the key files, and when they changed load
 * them again and swap the new keys in. Keys that do not load (a file
 * half-written, a typo) leave the old ones in place, logged; the next
 * change is tried again. */
static void auth_oauth_keys_refresh(struct auth_service *service)
{
	const struct config *config = service->config;
	uint64_t now = auth_now_ms();

	if (config->oauth_jwks_file == NULL && config->oauth_pem_keys == NULL)
		return;
	if (pthread_mutex_trylock(&service->keys_check_lock) != 0)
		return; /* another worker is looking */
	if (now >= service->keys_next_check_ms) {
		service->keys_next_check_ms = now + AUTH_KEYS_RECHECK_MS;
		uint64_t stamp = auth_keys_stamp(config);
		if (stamp != service->keys_stamp) {
			service->keys_stamp = stamp;
			struct jwt_keys *keys = auth_oauth_load_keys(config);
			if (keys != NULL) {
				pthread_rwlock_wrlock(&service->keys_lock);
				struct jwt_keys *old = service->jwt;
				service->jwt = keys;
				pthread_rwlock_unlock(&service->keys_lock);
				jwt_keys_free(old);
				log_info("auth: OAuth keys reloaded (%zu keys)", jwt_keys_count(keys));
			}
		}
	}
	pthread_mutex_unlock(&service->keys_check_lock);
}

/* The answer cached for the token with this digest, if not expired:
 * true with *active_r and the account (arena) in *account_r. */
static bool auth_token_cache_get(struct auth_service *service, const unsigned char digest[32],
				 int64_t now, struct arena *arena, bool *active_r,
				 const char **account_r)
{
	size_t b = (size_t)(digest[0] | digest[1] << 8) % AUTH_TOKEN_CACHE_BUCKETS;
	bool found = false;

	pthread_mutex_lock(&service->cache_lock);
	for (struct auth_token_cache_entry *e = service->cache[b]; e != NULL; e = e->next) {
		if (CRYPTO_memcmp(e->digest, digest, 32) == 0 && e->expires > now) {
			*active_r = e->active;
			*account_r = arena_strdup(arena, e->account);
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&service->cache_lock);
	return found;
}

/* Drop the expired answers (all of them when all is set). Lock held. */
static void auth_token_cache_sweep(struct auth_service *service, int64_t now, bool all)
{
	for (size_t b = 0; b < AUTH_TOKEN_CACHE_BUCKETS; b++) {
		struct auth_token_cache_entry **pp = &service->cache[b];
		while (*pp != NULL) {
			struct auth_token_cache_entry *e = *pp;
			if (all || e->expires <= now) {
				*pp = e->next;
				free(e);
				service->cache_entries--;
			} else {
				pp = &e->next;
			}
		}
	}
}

/* Keep an introspection answer until expires (an older one for the same
 * token is replaced). */
static void auth_token_cache_put(struct auth_service *service, const unsigned char digest[32],
				 int64_t now, int64_t expires, bool active, const char *account)
{
	size_t b = (size_t)(digest[0] | digest[1] << 8) % AUTH_TOKEN_CACHE_BUCKETS;
	size_t len = active && account != NULL ? strlen(account) : 0;

	if (expires <= now)
		return;
	pthread_mutex_lock(&service->cache_lock);
	for (struct auth_token_cache_entry **pp = &service->cache[b]; *pp != NULL;
	     pp = &(*pp)->next) {
		if (CRYPTO_memcmp((*pp)->digest, digest, 32) == 0) {
			struct auth_token_cache_entry *old = *pp;
			*pp = old->next;
			free(old);
			service->cache_entries--;
			break;
		}
	}
	if (service->cache_entries >= AUTH_TOKEN_CACHE_MAX)
		auth_token_cache_sweep(service, now, false);
	if (service->cache_entries >= AUTH_TOKEN_CACHE_MAX)
		auth_token_cache_sweep(service, now, true);
	struct auth_token_cache_entry *e = mem_zalloc(sizeof(*e) + len + 1);
	memcpy(e->digest, digest, 32);
	e->expires = expires;
	e->active = active;
	if (len > 0)
		memcpy(e->account, account, len);
	e->next = service->cache[b];
	service->cache[b] = e;
	service->cache_entries++;
	pthread_mutex_unlock(&service->cache_lock);
}

/* The oauth_* keys: keys loaded, introspection set up. 0 or -1 (logged). */
static int auth_oauth_setup(struct auth_service *service, const struct config *config)
{
	if (config->oauth_issuer == NULL && config->oauth_audience == NULL &&
	    config->oauth_jwks_file == NULL && config->oauth_pem_keys == NULL &&
	    config->oauth_introspection_url == NULL)
		return 0;
	if (config->oauth_issuer == NULL || config->oauth_audience == NULL) {
		log_error("auth: oauth needs oauth_issuer and oauth_audience");
		return -1;
	}
	/* The stamp first: a change between it and the read is seen later. */
	service->keys_stamp = auth_keys_stamp(config);
	service->keys_next_check_ms = auth_now_ms() + AUTH_KEYS_RECHECK_MS;
	if ((service->jwt = auth_oauth_load_keys(config)) == NULL)
		return -1;
	if (config->oauth_introspection_url != NULL) {
		if (strncmp(config->oauth_introspection_url, "https://", 8) != 0) {
			log_error("auth: oauth_introspection_url must be an https:// URL");
			return -1;
		}
		if (config->oauth_client_secret_file != NULL &&
		    (service->client_secret = auth_read_first_line(
			     config->oauth_client_secret_file)) == NULL) {
			log_error("auth: oauth_client_secret_file %s: cannot read it",
				  config->oauth_client_secret_file);
			return -1;
		}
		service->introspect.url = config->oauth_introspection_url;
		service->introspect.client_id = config->oauth_client_id;
		service->introspect.client_secret = service->client_secret;
		service->introspect.ca_file = config->oauth_ca_file;
	}
	if (jwt_keys_count(service->jwt) == 0 && service->introspect.url == NULL) {
		log_error("auth: oauth needs keys (oauth_jwks_file, oauth_pem_keys) or "
			  "oauth_introspection_url");
		return -1;
	}
	service->introspect.issuer = config->oauth_issuer;
	service->introspect.audience = config->oauth_audience;
	service->introspect.account_claim =
		config->oauth_account_claim != NULL ? config->oauth_account_claim : "email";
	service->oauth = true;
	log_info("auth: OAuth bearer tokens from %s (%zu keys%s)", config->oauth_issuer,
		 jwt_keys_count(service->jwt),
		 service->introspect.url != NULL ? ", introspection" : "");
	return 0;
}

struct auth_service *auth_service_new(const struct config *config, struct worker_pool *workers)
{
	struct auth_service *service = mem_zalloc(sizeof(*service));

	service->config = config;
	service->workers = workers;
	pthread_mutex_init(&service->lock, NULL);
	pthread_rwlock_init(&service->keys_lock, NULL);
	pthread_mutex_init(&service->keys_check_lock, NULL);
	pthread_mutex_init(&service->cache_lock, NULL);
	if (auth_oauth_setup(service, config) < 0) {
		auth_service_free(service);
		return NULL;
	}
	if (RAND_bytes(service->secret, sizeof(service->secret)) != 1)
		log_warn("auth: no randomness for the SCRAM secret; using the clock");
	uint64_t now = (uint64_t)time(NULL);
	if (service->secret[0] == 0 && service->secret[1] == 0)
		memcpy(service->secret, &now, sizeof(now));
	return service;
}

void auth_service_free(struct auth_service *service)
{
	if (service == NULL)
		return;
	for (size_t i = 0; i < AUTH_THROTTLE_BUCKETS; i++) {
		while (service->buckets[i] != NULL) {
			struct auth_throttle_entry *e = service->buckets[i];
			service->buckets[i] = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&service->lock);
	auth_token_cache_sweep(service, 0, true);
	pthread_mutex_destroy(&service->cache_lock);
	pthread_mutex_destroy(&service->keys_check_lock);
	pthread_rwlock_destroy(&service->keys_lock);
	jwt_keys_free(service->jwt);
	if (service->client_secret != NULL) {
		explicit_bzero(service->client_secret, strlen(service->client_secret));
		free(service->client_secret);
	}
	OPENSSL_cleanse(service->secret, sizeof(service->secret));
	free(service);
}

/* ---- the throttle ------------------------------------------------------------------ */

static uint64_t auth_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t auth_throttle_bucket(const char *key)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return (size_t)(h % AUTH_THROTTLE_BUCKETS);
}

/* The live entry for key (expired ones in its bucket are dropped on the
 * way), created when create is set and there is room. Lock held. */
static struct auth_throttle_entry *auth_throttle_get(struct auth_service *service,
						     const char *key, uint64_t now, bool create)
{
	struct auth_throttle_entry **pp = &service->buckets[auth_throttle_bucket(key)];
	struct auth_throttle_entry *found = NULL;

	while (*pp != NULL) {
		struct auth_throttle_entry *e = *pp;
		if (now - e->last_ms >= AUTH_FAIL_WINDOW_MS) {
			*pp = e->next;
			free(e);
			service->entries--;
			continue;
		}
		if (strcmp(e->key, key) == 0)
			found = e;
		pp = &e->next;
	}
	if (found != NULL || !create || service->entries >= AUTH_THROTTLE_MAX_ENTRIES)
		return found;
	size_t len = strlen(key);
	found = mem_zalloc(sizeof(*found) + len + 1);
	memcpy(found->key, key, len + 1);
	found->last_ms = now;
	found->next = service->buckets[auth_throttle_bucket(key)];
	service->buckets[auth_throttle_bucket(key)] = found;
	service->entries++;
	return found;
}

/* Failures in the window for key; 0 when none. Lock held. */
static unsigned auth_throttle_count(struct auth_service *service, const char *key, uint64_t now)
{
	struct auth_throttle_entry *e = auth_throttle_get(service, key, now, false);

	return e != NULL ? e->failures : 0;
}

/* true when this address or user may not try now. */
static bool auth_throttle_refused(struct auth_service *service, const char *address_key,
				  const char *user_key)
{
	uint64_t now = auth_now_ms();

	pthread_mutex_lock(&service->lock);
	bool refused = auth_throttle_count(service, address_key, now) >= AUTH_REFUSE_ADDRESS_AFTER ||
		       (user_key != NULL &&
			auth_throttle_count(service, user_key, now) >= AUTH_REFUSE_ACCOUNT_AFTER);
	pthread_mutex_unlock(&service->lock);
	return refused;
}

/* Count a failure; returns how long to wait before answering it. */
static uint64_t auth_throttle_fail(struct auth_service *service, const char *address_key,
				   const char *user_key)
{
	uint64_t now = auth_now_ms();
	unsigned worst = 1;

	pthread_mutex_lock(&service->lock);
	const char *keys[2] = { address_key, user_key };
	for (size_t i = 0; i < 2; i++) {
		if (keys[i] == NULL)
			continue;
		struct auth_throttle_entry *e = auth_throttle_get(service, keys[i], now, true);
		if (e == NULL)
			continue;
		e->failures++;
		e->last_ms = now;
		if (e->failures > worst)
			worst = e->failures;
	}
	pthread_mutex_unlock(&service->lock);
	unsigned shift = worst - 1 > AUTH_FAIL_DELAY_MAX_SHIFT ? AUTH_FAIL_DELAY_MAX_SHIFT :
								   worst - 1;
	return (uint64_t)AUTH_FAIL_DELAY_BASE_MS << shift;
}

/* A success forgets the address's and the account's failures. */
static void auth_throttle_success(struct auth_service *service, const char *address_key,
				  const char *user_key)
{
	uint64_t now = auth_now_ms();

	pthread_mutex_lock(&service->lock);
	const char *keys[2] = { address_key, user_key };
	for (size_t i = 0; i < 2; i++) {
		struct auth_throttle_entry *e = auth_throttle_get(service, keys[i], now, false);
		if (e != NULL)
			e->failures = 0;
	}
	pthread_mutex_unlock(&service->lock);
}

/* ---- one request -------------------------------------------------------------------- */

struct auth_request {
	struct auth_service *service;
	struct loop *loop;
	struct store *store;
	auth_done_fn *done;
	void *context;
	struct arena *arena;
	const struct auth_mech *mech;
	const char *protocol;
	const char *peer;
	const char *address_key;  /* "a:PEER" */
	const char *user;         /* who is trying, as sent (for the log) */
	bool tls;
	int step;
	/* TLS channel bindings of the connection, read at the start. */
	unsigned char cb_exporter[64];
	size_t cb_exporter_len;
	unsigned char cb_endpoint[64];
	size_t cb_endpoint_len;
	struct scram_server scram;
	bool scram_known;         /* the name has SCRAM keys */
	int64_t scram_account_id;
	const char *scram_address;
	/* The result, kept while a timer delays it. */
	enum auth_result result;
	int64_t account_id;
	const char *account_address;
};

struct auth_request *auth_request_new(struct auth_service *service, struct loop *loop,
				      struct store *store, struct conn *conn,
				      const char *protocol, auth_done_fn *done, void *context)
{
	struct arena *arena = arena_new();
	struct auth_request *r = arena_zalloc(arena, sizeof(*r));

	r->arena = arena;
	r->service = service;
	r->loop = loop;
	r->store = store;
	r->done = done;
	r->context = context;
	r->protocol = arena_strdup(arena, protocol);
	r->peer = arena_strdup(arena, conn_peer_address(conn));
	r->address_key = arena_printf(arena, "a:%s", r->peer);
	r->tls = conn_is_tls(conn);
	if (r->tls) {
		if (conn_tls_channel_binding(conn, "tls-exporter", r->cb_exporter,
					     sizeof(r->cb_exporter), &r->cb_exporter_len) < 0)
			r->cb_exporter_len = 0;
		if (conn_tls_channel_binding(conn, "tls-server-end-point", r->cb_endpoint,
					     sizeof(r->cb_endpoint), &r->cb_endpoint_len) < 0)
			r->cb_endpoint_len = 0;
	}
	return r;
}

void auth_request_free(struct auth_request *r)
{
	if (r == NULL)
		return;
	explicit_bzero(&r->scram.keys, sizeof(r->scram.keys));
	arena_free(r->arena);
}

/* The user as it goes into the log and the throttle: printable ASCII only
 * (anything else as \xNN), so nobody can forge a "from ADDRESS" in it. */
static const char *auth_log_user(struct arena *arena, const char *user)
{
	size_t len = strlen(user);
	char *out;
	size_t n = 0;

	if (len > AUTH_USER_MAX)
		len = AUTH_USER_MAX;
	out = arena_alloc(arena, len * 4 + 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)user[i];
		if (c <= 0x20 || c >= 0x7f || c == '\\') {
			static const char hex[] = "0123456789abcdef";
			out[n++] = '\\';
			out[n++] = 'x';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		} else {
			out[n++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : (char)c;
		}
	}
	out[n] = '\0';
	return out;
}

static const char *auth_user_key(struct auth_request *r)
{
	return r->user != NULL ? arena_printf(r->arena, "u:%s", r->user) : NULL;
}

/* Timer: hand the result over and free the request. */
static void auth_deliver(struct loop *loop, void *context)
{
	struct auth_request *r = context;

	r->done(r->context, r->result, r->account_id, r->account_address, NULL);
	auth_request_free(r);
}

/* End the request with result, through the throttle: a failure is counted
 * and logged and answered after its delay; a success clears the counts.
 * Always asynchronous (a timer), so done never runs inside a step. */
static enum auth_status auth_finish(struct auth_request *r, enum auth_result result,
				    int64_t account_id, const char *address)
{
	uint64_t delay = 0;
	const char *user_key = auth_user_key(r);

	r->result = result;
	r->account_id = account_id;
	r->account_address = address != NULL ? arena_strdup(r->arena, address) : NULL;
	switch (result) {
	case AUTH_OK:
		auth_throttle_success(r->service, r->address_key, user_key);
		break;
	case AUTH_FAILED:
		delay = auth_throttle_fail(r->service, r->address_key, user_key);
		log_warn("%s: authentication failed for %s from %s", r->protocol,
			 r->user != NULL ? r->user : "-", r->peer);
		break;
	case AUTH_REFUSED:
		delay = AUTH_FAIL_DELAY_BASE_MS;
		log_warn("%s: authentication refused (too many failures) for %s from %s",
			 r->protocol, r->user != NULL ? r->user : "-", r->peer);
		break;
	case AUTH_DENIED:
		log_info("%s: %s from %s may not log in as another user", r->protocol,
			 r->user != NULL ? r->user : "-", r->peer);
		break;
	case AUTH_UNAVAILABLE:
	case AUTH_CHALLENGE:
		break;
	}
	loop_timer_add(r->loop, delay, auth_deliver, r);
	return AUTH_ASYNC;
}

/* login.c's answer, on this loop. */
static void auth_password_done(void *context, enum login_result result, int64_t account_id,
			       const char *address)
{
	struct auth_request *r = context;

	(void)auth_finish(r, result == LOGIN_OK ? AUTH_OK :
			     result == LOGIN_FAILED ? AUTH_FAILED : AUTH_UNAVAILABLE,
			  account_id, address);
}

static void auth_set_user(struct auth_request *r, const char *user)
{
	r->user = auth_log_user(r->arena, user);
}

enum auth_status auth_request_password(struct auth_request *r, const char *user,
				       const char *password)
{
	auth_set_user(r, user);
	if (auth_throttle_refused(r->service, r->address_key, auth_user_key(r)))
		return auth_finish(r, AUTH_REFUSED, 0, NULL);
	login_start(r->service->workers, r->loop, r->store, user, password, auth_password_done, r);
	return AUTH_ASYNC;
}

/* ---- PLAIN and LOGIN ------------------------------------------------------------ */

static enum auth_status auth_plain_step(struct auth_request *r, const char *b64, size_t len,
					const char **error_r)
{
	char *authz, *authc, *password;
	enum auth_status status;

	if (sasl_plain_decode(r->arena, b64, len, &authz, &authc, &password, error_r) < 0) {
		auth_request_free(r);
		return AUTH_BAD;
	}
	if (*authz != '\0' && !str_eq_nocase(authz, authc)) {
		/* RFC 4616 §2: we authorize nobody as someone else. */
		auth_set_user(r, authc);
		return auth_finish(r, AUTH_DENIED, 0, NULL);
	}
	status = auth_request_password(r, authc, password);
	explicit_bzero(password, strlen(password));
	return status;
}

/* LOGIN: the user name, then the password, each base64 of itself. */
static enum auth_status auth_login_step(struct auth_request *r, const char *b64, size_t len,
					const char **challenge_r, const char **error_r)
{
	char *data;
	size_t n;

	if (sasl_base64_decode(r->arena, b64, len, &data, &n) < 0 || n == 0 ||
	    strlen(data) != n) {
		*error_r = "Invalid response";
		auth_request_free(r);
		return AUTH_BAD;
	}
	if (r->step == 0) {
		r->step = 1;
		r->scram_address = data; /* the user name, until the password */
		*challenge_r = "UGFzc3dvcmQ6"; /* "Password:" */
		return AUTH_CONTINUE;
	}
	enum auth_status status = auth_request_password(r, r->scram_address, data);
	explicit_bzero(data, n);
	return status;
}

/* ---- SCRAM-SHA-256(-PLUS) ----------------------------------------------------------- */

/* Keys that never verify, with a salt that depends only on the name and
 * our secret: an unknown name looks like a known one. */
static void auth_scram_fake_keys(struct auth_request *r, const char *name,
				 struct scram_keys *keys)
{
	unsigned char mac[32];
	unsigned int len = sizeof(mac);

	memset(keys, 0, sizeof(*keys));
	keys->iterations = SCRAM_ITERATIONS;
	keys->salt_len = 16;
	if (HMAC(EVP_sha256(), r->service->secret, sizeof(r->service->secret),
		 (const unsigned char *)name,
		 strlen(name), mac, &len) == NULL)
		memset(mac, 0x5a, sizeof(mac));
	memcpy(keys->salt, mac, keys->salt_len);
	if (RAND_bytes(keys->stored_key, SCRAM_KEY_LEN) != 1)
		memset(keys->stored_key, 0xa5, SCRAM_KEY_LEN);
}

/* RFC 5802 §6: the channel binding the client asked for must agree with
 * the mechanism and with what this connection can give. */
static bool auth_scram_cbind_ok(struct auth_request *r, const unsigned char **data_r,
				size_t *len_r)
{
	const struct scram_server *s = &r->scram;

	*data_r = NULL;
	*len_r = 0;
	if (r->mech->id == AUTH_MECH_SCRAM_PLUS) {
		if (s->cbind != SCRAM_CBIND_USED)
			return false;
		if (strcmp(s->cb_name, "tls-exporter") == 0 && r->cb_exporter_len > 0) {
			*data_r = r->cb_exporter;
			*len_r = r->cb_exporter_len;
			return true;
		}
		if (strcmp(s->cb_name, "tls-server-end-point") == 0 && r->cb_endpoint_len > 0) {
			*data_r = r->cb_endpoint;
			*len_r = r->cb_endpoint_len;
			return true;
		}
		return false;
	}
	if (s->cbind == SCRAM_CBIND_USED)
		return false;
	/* "y": the client could bind but thinks we cannot; on TLS we offer
	 * -PLUS, so someone removed it from the list (a downgrade). */
	return !(s->cbind == SCRAM_CBIND_UNSUPPORTED && r->tls);
}

static enum auth_status auth_scram_first(struct auth_request *r, const char *msg, size_t len,
					 const char **challenge_r, const char **error_r)
{
	struct scram_server *s = &r->scram;
	struct scram_keys keys;
	struct store_account account;
	const char *error;
	unsigned char nonce[18];

	if (scram_server_parse_first(s, r->arena, msg, len, error_r) < 0) {
		auth_request_free(r);
		return AUTH_BAD;
	}
	auth_set_user(r, s->username);
	/* RFC 5802 §5.1: the server SASLprep's the name (as a query); one it
	 * refuses, or that comes out empty, ends the exchange. The password
	 * side is the client's: our keys are of the prepared password. */
	const char *prepared;
	if (saslprep_prepare(r->arena, s->username, false, &prepared, &error) < 0 ||
	    *prepared == '\0')
		return auth_finish(r, AUTH_FAILED, 0, NULL);
	s->username = prepared;
	const unsigned char *cb;
	size_t cb_len;
	if (s->authzid != NULL && !str_eq_nocase(s->authzid, s->username))
		return auth_finish(r, AUTH_DENIED, 0, NULL);
	if (!auth_scram_cbind_ok(r, &cb, &cb_len))
		return auth_finish(r, AUTH_FAILED, 0, NULL);
	if (auth_throttle_refused(r->service, r->address_key, auth_user_key(r)))
		return auth_finish(r, AUTH_REFUSED, 0, NULL);
	int found = store_account_find(r->store, s->username, r->arena, &account, &error);
	if (found < 0 && found != STORE_ENOTFOUND) {
		log_error("%s: account lookup %s: %s", r->protocol, r->user, error);
		return auth_finish(r, AUTH_UNAVAILABLE, 0, NULL);
	}
	/* Only SHA-256 keys serve SCRAM-SHA-256 (a SHA-1 entry is not ours). */
	r->scram_known = found == 0 && scram_keys_decode(account.scram, &keys) == 0 &&
			 keys.digest == SCRAM_DIGEST_SHA256;
	if (r->scram_known) {
		r->scram_account_id = account.id;
		r->scram_address = account.address;
	} else {
		auth_scram_fake_keys(r, r->user, &keys);
	}
	if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		explicit_bzero(&keys, sizeof(keys));
		return auth_finish(r, AUTH_UNAVAILABLE, 0, NULL);
	}
	const char *server_first = scram_server_challenge(s, r->arena, &keys,
			scram_base64_encode(r->arena, nonce, sizeof(nonce)));
	explicit_bzero(&keys, sizeof(keys));
	*challenge_r = scram_base64_encode(r->arena, (const unsigned char *)server_first,
					   strlen(server_first));
	r->step = 1;
	return AUTH_CONTINUE;
}

static enum auth_status auth_scram_final(struct auth_request *r, const char *msg, size_t len,
					 const char **challenge_r, const char **error_r)
{
	const unsigned char *cb;
	size_t cb_len;
	const char *final;

	(void)auth_scram_cbind_ok(r, &cb, &cb_len);
	int rc = scram_server_check_final(&r->scram, r->arena, msg, len, cb, cb_len, &final,
					  error_r);
	if (rc == -1) {
		auth_request_free(r);
		return AUTH_BAD;
	}
	if (rc < 0 || !r->scram_known)
		return auth_finish(r, AUTH_FAILED, 0, NULL);
	/* RFC 5802 §5: the server-final-message proves we knew the keys; the
	 * protocol sends it as a last challenge and the client answers with
	 * an empty response (RFC 4422 §5 "additional data"). */
	*challenge_r = scram_base64_encode(r->arena, (const unsigned char *)final, strlen(final));
	r->step = 2;
	return AUTH_CONTINUE;
}

static enum auth_status auth_scram_step(struct auth_request *r, const char *b64, size_t len,
					const char **challenge_r, const char **error_r)
{
	char *msg;
	size_t n;

	if (sasl_base64_decode(r->arena, b64, len, &msg, &n) < 0) {
		*error_r = "Invalid base64";
		auth_request_free(r);
		return AUTH_BAD;
	}
	switch (r->step) {
	case 0:
		return auth_scram_first(r, msg, n, challenge_r, error_r);
	case 1:
		return auth_scram_final(r, msg, n, challenge_r, error_r);
	default:
		if (n != 0) {
			*error_r = "Expected an empty response";
			auth_request_free(r);
			return AUTH_BAD;
		}
		return auth_finish(r, AUTH_OK, r->scram_account_id, r->scram_address);
	}
}

/* ---- OAUTHBEARER and XOAUTH2 ------------------------------------------------------ */

/* The token check, on a worker: JWTs locally, others by introspection. */
struct auth_oauth_job {
	struct auth_request *request;
	char *token;              /* heap; wiped */
	struct arena *arena;
	enum introspect_result result;
	const char *account;      /* arena */
	const char *why;
};

static void auth_oauth_work(void *context)
{
	struct auth_oauth_job *job = context;
	struct auth_service *service = job->request->service;
	int64_t now = (int64_t)time(NULL);
	bool verified = false;

	auth_oauth_keys_refresh(service);
	pthread_rwlock_rdlock(&service->keys_lock);
	if (jwt_looks_like(job->token) && jwt_keys_count(service->jwt) > 0) {
		struct jwt_expect expect = { service->config->oauth_issuer,
					     service->config->oauth_audience,
					     service->introspect.account_claim, now };
		enum jwt_result r = jwt_verify(service->jwt, job->arena, job->token, &expect,
					       &job->account);
		job->result = r == JWT_OK ? INTROSPECT_ACTIVE : INTROSPECT_INACTIVE;
		job->why = jwt_result_text(r);
		verified = true;
	}
	pthread_rwlock_unlock(&service->keys_lock);
	if (verified)
		return;
	if (service->introspect.url == NULL) {
		job->result = INTROSPECT_INACTIVE;
		job->why = "not a JWT, and no oauth_introspection_url";
		return;
	}
	/* RFC 7662 §4: an answer is kept until the token's exp, at most
	 * oauth_introspection_cache seconds (a refusal
	 * oauth_introspection_negative_cache), so a client that logs in
	 * again and again does not cost a round trip each time. Only
	 * answers are kept, never "the endpoint did not answer". */
	unsigned char digest[32];
	unsigned int digest_len = 0;
	bool active, cacheable = EVP_Digest(job->token, strlen(job->token), digest, &digest_len,
					    EVP_sha256(), NULL) == 1;
	if (cacheable &&
	    auth_token_cache_get(service, digest, now, job->arena, &active, &job->account)) {
		job->result = active ? INTROSPECT_ACTIVE : INTROSPECT_INACTIVE;
		job->why = active ? "active (cached answer)" : "token not active (cached answer)";
		return;
	}
	int64_t exp;
	job->result = introspect_token(&service->introspect, job->arena, job->token, now,
				       &job->account, &exp, &job->why);
	if (!cacheable || job->result == INTROSPECT_UNAVAILABLE)
		return;
	active = job->result == INTROSPECT_ACTIVE;
	int64_t expires = now + (active ? service->config->oauth_introspection_cache :
					  service->config->oauth_introspection_negative_cache);
	if (active && exp > 0 && exp < expires)
		expires = exp;
	auth_token_cache_put(service, digest, now, expires, active, job->account);
}

/* RFC 7628 §3.2.2: a failure is a JSON status sent as a challenge; the
 * client answers with a lone kvsep, then the exchange fails. XOAUTH2
 * clients expect Google's form of the same. */
static void auth_oauth_refuse(struct auth_request *r, const char *why)
{
	const char *json = r->mech->id == AUTH_MECH_XOAUTH2 ?
				   "{\"status\":\"401\",\"schemes\":\"bearer\"}" :
				   "{\"status\":\"invalid_token\"}";

	log_info("%s: bearer token refused for %s from %s: %s", r->protocol,
		 r->user != NULL ? r->user : "-", r->peer, why);
	r->step = 2;
	r->done(r->context, AUTH_CHALLENGE, 0, NULL,
		scram_base64_encode(r->arena, (const unsigned char *)json, strlen(json)));
}

/* Back on the loop: the token's account must exist and be the one the
 * client named, if it named one. */
static void auth_oauth_done(struct loop *loop, void *context)
{
	struct auth_oauth_job *job = context;
	struct auth_request *r = job->request;
	struct store_account account;
	const char *error;

	if (job->result == INTROSPECT_UNAVAILABLE) {
		log_error("%s: bearer token check for %s from %s: %s", r->protocol,
			  r->user != NULL ? r->user : "-", r->peer, job->why);
		(void)auth_finish(r, AUTH_UNAVAILABLE, 0, NULL);
	} else if (job->result == INTROSPECT_INACTIVE) {
		auth_oauth_refuse(r, job->why);
	} else if (r->user != NULL && !str_eq_nocase(r->user, auth_log_user(job->arena,
									     job->account))) {
		auth_oauth_refuse(r, "the token names another account");
	} else {
		if (r->user == NULL)
			auth_set_user(r, job->account);
		int found = store_account_find(r->store, job->account, r->arena, &account, &error);
		if (found == 0)
			(void)auth_finish(r, AUTH_OK, account.id, account.address);
		else if (found == STORE_ENOTFOUND)
			auth_oauth_refuse(r, "no such account");
		else
			(void)auth_finish(r, AUTH_UNAVAILABLE, 0, NULL);
	}
	explicit_bzero(job->token, strlen(job->token));
	free(job->token);
	arena_free(job->arena);
	free(job);
}

static enum auth_status auth_oauth_step(struct auth_request *r, const char *b64, size_t len,
					const char **error_r)
{
	char *msg, *user, *token;
	size_t n;

	if (sasl_base64_decode(r->arena, b64, len, &msg, &n) < 0) {
		*error_r = "Invalid base64";
		auth_request_free(r);
		return AUTH_BAD;
	}
	if (r->step == 2) {
		/* The client's answer to our error status (RFC 7628 §3.2.3). */
		return auth_finish(r, AUTH_FAILED, 0, NULL);
	}
	int rc = r->mech->id == AUTH_MECH_XOAUTH2 ?
			 sasl_xoauth2_decode(r->arena, msg, n, &user, &token, error_r) :
			 sasl_oauthbearer_decode(r->arena, msg, n, &user, &token, error_r);
	if (rc < 0) {
		auth_request_free(r);
		return AUTH_BAD;
	}
	if (user != NULL)
		auth_set_user(r, user);
	if (auth_throttle_refused(r->service, r->address_key, auth_user_key(r)))
		return auth_finish(r, AUTH_REFUSED, 0, NULL);
	struct auth_oauth_job *job = mem_zalloc(sizeof(*job));
	job->request = r;
	job->token = mem_strdup(token);
	job->arena = arena_new();
	explicit_bzero(token, strlen(token));
	r->step = 1;
	worker_pool_submit(r->service->workers, r->loop, auth_oauth_work, auth_oauth_done, job);
	return AUTH_ASYNC;
}

/* ---- the steps ----------------------------------------------------------------------- */

static enum auth_status auth_step(struct auth_request *r, const char *b64, size_t len,
				  const char **challenge_r, const char **error_r)
{
	switch (r->mech->id) {
	case AUTH_MECH_PLAIN:
		return auth_plain_step(r, b64, len, error_r);
	case AUTH_MECH_LOGIN:
		return auth_login_step(r, b64, len, challenge_r, error_r);
	case AUTH_MECH_SCRAM:
	case AUTH_MECH_SCRAM_PLUS:
		return auth_scram_step(r, b64, len, challenge_r, error_r);
	case AUTH_MECH_OAUTHBEARER:
	case AUTH_MECH_XOAUTH2:
		return auth_oauth_step(r, b64, len, error_r);
	}
	*error_r = "Unknown mechanism";
	auth_request_free(r);
	return AUTH_BAD;
}

enum auth_status auth_request_start(struct auth_request *r, const struct auth_mech *mech,
				    const char *ir, const char **challenge_r, const char **error_r)
{
	r->mech = mech;
	r->step = 0;
	if (ir != NULL)
		return auth_request_continue(r, ir, strlen(ir), challenge_r, error_r);
	/* No initial response: an empty challenge, except LOGIN's prompt. */
	*challenge_r = mech->id == AUTH_MECH_LOGIN ? "VXNlcm5hbWU6" /* "Username:" */ : "";
	return AUTH_CONTINUE;
}

enum auth_status auth_request_continue(struct auth_request *r, const char *line, size_t len,
				       const char **challenge_r, const char **error_r)
{
	/* RFC 4422 §3.1 (and each protocol's profile): "*" cancels. */
	if (len == 1 && line[0] == '*') {
		auth_request_free(r);
		return AUTH_CANCELLED;
	}
	if (memchr(line, '\0', len) != NULL) {
		*error_r = "Invalid base64";
		auth_request_free(r);
		return AUTH_BAD;
	}
	return auth_step(r, line, len, challenge_r, error_r);
}
