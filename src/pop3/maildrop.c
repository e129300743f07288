/*
 * maildrop: the account's INBOX as a POP3 session sees it (RFC 1939 §4):
 * locked against a second POP3 session, snapshotted at login so that
 * message numbers stay stable, sized exactly, and updated at QUIT.
 *
 * Sizes. STAT and LIST must give the octets RETR sends: CRLF line ends
 * (stored mail may have bare LF) without the stuffing dots (§11). The store
 * keeps the size as stored, not that one, so a message is counted by
 * running the RETR encoder over it once (encode.c, count only). That is
 * done lazily, only when a command needs a size, in slices that yield to the
 * loop (rule 5), and remembered in a server-wide cache so a client that
 * leaves mail on the server does not make us read it all at every login.
 * A RETR of a message not yet sized counts while it sends.
 *
 * The cache is direct-mapped (a new entry replaces whatever sat in its
 * slot), keyed by what identifies a message forever: INBOX id, UIDVALIDITY
 * and UID, checked against blob id and stored size as well.
 */
#include "pop3/session.h"
#include "core/log.h"
#include "core/mem.h"

#include <string.h>

/* Cache slots: 64 Ki messages x 40 bytes = 2.5 MiB, allocated once. */
#define POP3_SIZE_CACHE_SLOTS (1u << 16)
/* Bytes of a blob read per store call while counting or sending. */
#define POP3_CHUNK_SIZE (256 * 1024)
/* Bytes counted before a STAT or LIST yields to the loop (rule 5). */
#define POP3_SIZING_SLICE (8 * 1024 * 1024)
/* What one message lookup counts against that slice. */
#define POP3_SIZING_LOOKUP_COST 4096

struct pop3_size_entry {
	int64_t mailbox_id;
	int64_t blob_id;
	uint64_t raw_size;
	uint64_t size;
	uint32_t uidvalidity;
	uint32_t uid;
};

void pop3_server_init(struct pop3_server *server, const struct config *config,
		      struct tls_server *tls, struct worker_pool *workers)
{
	memset(server, 0, sizeof(*server));
	server->config = config;
	server->tls = tls;
	server->workers = workers;
	pthread_mutex_init(&server->lock, NULL);
	server->size_cache = mem_zalloc(POP3_SIZE_CACHE_SLOTS * sizeof(*server->size_cache));
}

void pop3_server_free(struct pop3_server *server)
{
	array_free(&server->in_use);
	free(server->size_cache);
	server->size_cache = NULL;
	pthread_mutex_destroy(&server->lock);
}

/* ---- the lock (RFC 1939 §4, RFC 2449 §8.1.2 IN-USE) ------------------------ */

bool pop3_maildrop_lock(struct pop3_session *s, int64_t account_id)
{
	struct pop3_server *server = s->server;
	bool taken = false;

	pthread_mutex_lock(&server->lock);
	for (size_t i = 0; i < server->in_use.count; i++)
		if (server->in_use.items[i] == account_id)
			taken = true;
	if (!taken)
		array_push(&server->in_use, account_id);
	pthread_mutex_unlock(&server->lock);
	s->holds_lock = !taken;
	return !taken;
}

void pop3_maildrop_unlock(struct pop3_session *s)
{
	struct pop3_server *server = s->server;

	if (!s->holds_lock)
		return;
	pthread_mutex_lock(&server->lock);
	for (size_t i = 0; i < server->in_use.count; i++) {
		if (server->in_use.items[i] == s->account_id) {
			server->in_use.items[i] = server->in_use.items[server->in_use.count - 1];
			server->in_use.count--;
			break;
		}
	}
	pthread_mutex_unlock(&server->lock);
	s->holds_lock = false;
}

/* ---- the snapshot ----------------------------------------------------------- */

int pop3_maildrop_open(struct pop3_session *s, const char **error_r)
{
	struct store_mailbox mailbox;
	struct store_message_state *list;
	size_t count;
	uint64_t modseq;
	int r;

	r = store_mailbox_find(s->store, s->account_id, "INBOX", s->cmd_arena, &mailbox, error_r);
	if (r < 0)
		return r;
	r = store_message_list(s->store, mailbox.id, 1, s->cmd_arena, &list, &count, &modseq,
			       error_r);
	if (r < 0)
		return r;
	s->mailbox_id = mailbox.id;
	s->uidvalidity = mailbox.uidvalidity;
	s->msg_count = count;
	s->msgs = arena_zalloc(s->arena, (count ? count : 1) * sizeof(*s->msgs));
	for (size_t i = 0; i < count; i++)
		s->msgs[i].uid = list[i].uid;
	s->sized_upto = 0;
	return 0;
}

struct pop3_msg *pop3_maildrop_get(struct pop3_session *s, uint32_t n)
{
	if (n == 0 || n > s->msg_count) {
		pop3_err(s, "No such message");
		return NULL;
	}
	struct pop3_msg *msg = &s->msgs[n - 1];
	if (msg->deleted) {
		pop3_err(s, "Message %u already deleted", n);
		return NULL;
	}
	if (msg->gone) {
		/* RFC 1939 §8 lets us treat it as deleted: it was expunged
		 * by another session (IMAP) after we took the snapshot. */
		pop3_err(s, "Message %u was removed by another session", n);
		return NULL;
	}
	return msg;
}

int pop3_maildrop_lookup(struct pop3_session *s, struct pop3_msg *msg)
{
	struct store_message_info info;
	const char *error;
	int r;

	r = store_message_get(s->store, s->mailbox_id, msg->uid, STORE_INFO_STATE, s->chunk_arena,
			      &info, &error);
	if (r == STORE_ENOTFOUND) {
		msg->gone = true;
		return r;
	}
	if (r < 0) {
		log_error("pop3: %s: message %u: %s", s->account_name, msg->uid, error);
		return r;
	}
	msg->blob_id = info.blob_id;
	msg->raw_size = info.size;
	msg->looked_up = true;
	return 0;
}

/* ---- sizes ------------------------------------------------------------------ */

static struct pop3_size_entry *size_slot(struct pop3_server *server, int64_t mailbox_id,
					 uint32_t uidvalidity, uint32_t uid)
{
	uint64_t h = (uint64_t)mailbox_id * 0x9E3779B97F4A7C15ull;

	h ^= ((uint64_t)uidvalidity << 32 | uid) * 0xC2B2AE3D27D4EB4Full;
	h ^= h >> 29;
	return &server->size_cache[h & (POP3_SIZE_CACHE_SLOTS - 1)];
}

bool pop3_maildrop_size_cached(struct pop3_session *s, struct pop3_msg *msg)
{
	bool hit;

	pthread_mutex_lock(&s->server->lock);
	struct pop3_size_entry *e = size_slot(s->server, s->mailbox_id, s->uidvalidity, msg->uid);
	hit = e->mailbox_id == s->mailbox_id && e->uidvalidity == s->uidvalidity &&
	      e->uid == msg->uid && e->blob_id == msg->blob_id && e->raw_size == msg->raw_size;
	if (hit)
		msg->size = e->size;
	pthread_mutex_unlock(&s->server->lock);
	msg->sized = hit;
	return hit;
}

void pop3_maildrop_size_learned(struct pop3_session *s, struct pop3_msg *msg, uint64_t size)
{
	msg->size = size;
	msg->sized = true;
	pthread_mutex_lock(&s->server->lock);
	struct pop3_size_entry *e = size_slot(s->server, s->mailbox_id, s->uidvalidity, msg->uid);
	*e = (struct pop3_size_entry){ s->mailbox_id, msg->blob_id, msg->raw_size, size,
				       s->uidvalidity, msg->uid };
	pthread_mutex_unlock(&s->server->lock);
}

/* Count msg's octets as RETR sends them, reading the blob in chunks. */
static int size_count(struct pop3_session *s, struct pop3_msg *msg)
{
	struct pop3_encoder e;
	const char *data, *error;
	size_t got;

	pop3_encoder_init(&e, false, 0);
	for (uint64_t off = 0; off < msg->raw_size; off += got) {
		arena_reset(s->chunk_arena);
		int r = store_blob_read(s->store, msg->blob_id, (size_t)off, POP3_CHUNK_SIZE,
					s->chunk_arena, &data, &got, &error);
		if (r == STORE_ENOTFOUND) {
			msg->gone = true;
			return r;
		}
		if (r < 0) {
			log_error("pop3: %s: reading message %u: %s", s->account_name, msg->uid,
				  error);
			return r;
		}
		if (got == 0)
			break;
		pop3_encoder_feed(&e, data, got, NULL);
	}
	arena_reset(s->chunk_arena);
	pop3_encoder_finish(&e, NULL);
	pop3_maildrop_size_learned(s, msg, e.octets);
	return 0;
}

int pop3_maildrop_size(struct pop3_session *s, struct pop3_msg *msg)
{
	int r;

	if (msg->sized)
		return 0;
	if (!msg->looked_up && (r = pop3_maildrop_lookup(s, msg)) < 0)
		return r;
	if (pop3_maildrop_size_cached(s, msg))
		return 0;
	return size_count(s, msg);
}

/* Size messages from s->sized_upto on for about POP3_SIZING_SLICE bytes.
 * true when all are done. A message gone meanwhile counts as deleted. */
static int size_slice(struct pop3_session *s, bool *done_r)
{
	uint64_t budget = 0;

	while (s->sized_upto < s->msg_count && budget < POP3_SIZING_SLICE) {
		struct pop3_msg *msg = &s->msgs[s->sized_upto];
		if (!msg->sized && !msg->gone) {
			int r = pop3_maildrop_size(s, msg);
			if (r < 0 && r != STORE_ENOTFOUND)
				return r;
			/* A cache hit costs only the lookup; count it as if it
			 * were read anyway: slices stay short either way. */
			budget += POP3_SIZING_LOOKUP_COST + msg->raw_size;
		}
		s->sized_upto++;
	}
	*done_r = s->sized_upto == s->msg_count;
	return 0;
}

static void size_all_continue(struct loop *loop, void *context);

/* One slice; DONE when the command ran (or failed), ASYNC when the next
 * slice is posted. */
static enum pop3_cmd_status size_all_step(struct pop3_session *s)
{
	bool done = false;

	if (size_slice(s, &done) < 0) {
		pop3_err(s, "[SYS/TEMP] Mail store unavailable");
		return POP3_CMD_DONE;
	}
	if (!done) {
		s->sizing = true;
		loop_post(s->loop, size_all_continue, s);
		return POP3_CMD_ASYNC;
	}
	enum pop3_cmd_status (*then)(struct pop3_session *) = s->after_sizing;
	s->after_sizing = NULL;
	return then(s);
}

static void size_all_continue(struct loop *loop, void *context)
{
	struct pop3_session *s = context;

	if (!s->sizing || s->closed)
		return;
	s->sizing = false;
	if (size_all_step(s) == POP3_CMD_DONE)
		pop3_cmd_complete(s);
}

enum pop3_cmd_status pop3_maildrop_size_all(struct pop3_session *s,
					    enum pop3_cmd_status (*then)(struct pop3_session *s))
{
	s->after_sizing = then;
	return size_all_step(s);
}

/* ---- UPDATE (RFC 1939 §6) ---------------------------------------------------- */

int pop3_maildrop_update(struct pop3_session *s, const char **error_r)
{
	size_t expunged_count;
	uint32_t *uids, *expunged;
	size_t count = 0;
	int r;

	uids = arena_alloc(s->cmd_arena, (s->msg_count ? s->msg_count : 1) * sizeof(*uids));
	for (size_t i = 0; i < s->msg_count; i++)
		if (s->msgs[i].deleted)
			uids[count++] = s->msgs[i].uid;
	if (count == 0)
		return 0;
	/* Exactly these UIDs, in one transaction (one fsync): messages an IMAP
	 * client marked \Deleted but did not expunge are left alone. */
	r = store_message_remove(s->store, s->mailbox_id, uids, count, s->cmd_arena, &expunged,
				 &expunged_count, error_r);
	if (r < 0)
		return r;
	log_info("pop3: %s: %zu message%s deleted", s->account_name, expunged_count,
		 expunged_count == 1 ? "" : "s");
	return 0;
}
