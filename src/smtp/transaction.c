/*
 * transaction: who a recipient is (RCPT), and what happens to a finished
 * message: trace headers (RFC 5321 §4.4: Return-Path at final delivery,
 * Received always), ONE stored copy for every local recipient through
 * store_message_deliver, remote recipients of a submission handed to the
 * outbound queue, and the reply only after both are durable (rule 1).
 *
 * Relay policy (never an open relay): MX takes only local domains; LMTP
 * takes any address that is an account (the MTA in front decided); only an
 * authenticated submission may name a remote recipient.
 */
#include "smtp/session.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The account of a local address: 0 on success with *id_r, 1 when there is
 * none, -1 when the store failed. */
static int rcpt_lookup(struct smtp_session *s, const char *address, int64_t *id_r)
{
	struct store_account account;
	const char *error;
	char *lower = str_lower(arena_strdup(s->line_arena, address));
	int r = store_account_find(s->sloop->store, lower, s->line_arena, &account, &error);

	if (r == STORE_ENOTFOUND)
		return 1;
	if (r < 0) {
		log_error("smtp: %s: account lookup %s: %s", s->id, lower, error);
		return -1;
	}
	*id_r = account.id;
	return 0;
}

/* RFC 9208 quota at RCPT time (RFC 3463 5.2.2, mailbox full): refuse now
 * when the message cannot fit, judged by MAIL's SIZE= or, without one, by
 * whether one more message of one byte would. The store checks again at
 * the end of data, where the real size is known. A store error here lets
 * the recipient through: delivery decides. */
static bool rcpt_over_quota(struct smtp_session *s, int64_t account_id)
{
	struct store_quota quota;
	const char *error;

	if (store_quota_get(s->sloop->store, account_id, &quota, &error) < 0) {
		log_error("smtp: %s: quota lookup: %s", s->id, error);
		return false;
	}
	return !store_quota_allows(&quota, s->declared_size > 0 ? s->declared_size : 1, 1);
}

void smtp_rcpt_add(struct smtp_session *s, const char *address, unsigned notify,
		   const char *orcpt)
{
	enum smtp_kind kind = s->sloop->kind;
	struct delivery_rcpt rcpt = { .address = (char *)address, .notify = notify,
				      .orcpt = orcpt };

	/* RFC 5321 §4.5.1: <Postmaster> without a domain must be accepted. */
	if (strchr(address, '@') == NULL) {
		if (s->config->domains == NULL || s->config->domains[0] == NULL) {
			smtp_reply(s, "550 5.1.1 No postmaster here");
			return;
		}
		rcpt.address = arena_printf(s->txn_arena, "postmaster@%s", s->config->domains[0]);
	}
	bool local = config_is_local_domain(s->config, smtp_address_domain(rcpt.address));
	if (!local && kind == SMTP_KIND_MX) {
		log_info("smtp: %s: relay to <%s> denied for %s", s->id, rcpt.address,
			 conn_peer_address(s->conn));
		smtp_reply(s, "550 5.7.1 Relay access denied");
		return;
	}
	if (!local && kind == SMTP_KIND_SUBMISSION) {
		if (s->sloop->queue == NULL) {
			smtp_reply(s, "451 4.3.0 Outbound queue unavailable; try again later");
			return;
		}
		array_push(&s->rcpts, rcpt);
		smtp_reply(s, "250 2.1.5 Recipient OK");
		return;
	}
	switch (rcpt_lookup(s, rcpt.address, &rcpt.account_id)) {
	case 0:
		if (rcpt_over_quota(s, rcpt.account_id)) {
			smtp_reply(s, "552 5.2.2 <%s>: Mailbox full", rcpt.address);
			break;
		}
		array_push(&s->rcpts, rcpt);
		smtp_reply(s, "250 2.1.5 Recipient OK");
		break;
	case 1:
		smtp_reply(s, "550 5.1.1 <%s>: User unknown", rcpt.address);
		break;
	default:
		smtp_reply(s, "451 4.3.0 Temporary lookup failure");
		break;
	}
}

/* "ESMTPSA" and friends (RFC 3848) for Received's "with". */
static const char *trace_protocol(struct smtp_session *s)
{
	static const char *const names[] = {
		"SMTP", "ESMTP", "ESMTPS", "ESMTPS", "ESMTPA", "ESMTPA", "ESMTPSA", "ESMTPSA",
	};
	if (s->sloop->kind == SMTP_KIND_LMTP)
		return "LMTP";
	if (!s->esmtp)
		return "SMTP";
	return names[1 + (conn_is_tls(s->conn) ? 2 : 0) + (s->account_id != 0 ? 4 : 0)];
}

/* Return-Path and Received (RFC 5321 §4.4) in front of the message, in
 * out; *received_at_r is where Received starts (what the queue gets: a
 * Return-Path is added only at final delivery). */
static void trace_build(struct smtp_session *s, struct buf *out, size_t *received_at_r)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	buf_printf(out, "Return-Path: <%s>\r\n", s->sender);
	*received_at_r = out->len;
	buf_printf(out, "Received: from %s (%s%s%s)\r\n\tby %s (buzon) with %s id %s\r\n",
		   s->helo, strcmp(conn_peer_address(s->conn), "unix") == 0 ? "" : "[",
		   conn_peer_address(s->conn),
		   strcmp(conn_peer_address(s->conn), "unix") == 0 ? "" : "]",
		   s->config->hostname, trace_protocol(s), s->id);
	if (s->rcpts.count == 1)
		buf_printf(out, "\tfor <%s>", s->rcpts.items[0].address);
	buf_printf(out, "; %s\r\n", date);
	buf_append(out, s->message.data, s->message.len);
}

/* RFC 5321 §6.3: a message that has passed this many relays is looping
 * (the limit is the RFC's example; Postfix's hopcount_limit is 50). */
#define SMTP_MAX_HOPS 100

/* The Received: fields in the header section of a message (up to the
 * first empty line; CRLF or bare LF line ends), counting at most limit+1. */
static size_t received_count(const char *data, size_t len, size_t limit)
{
	static const char name[] = "received";
	size_t count = 0, pos = 0;

	while (pos < len && count <= limit) {
		const char *eol = memchr(data + pos, '\n', len - pos);
		size_t end = eol != NULL ? (size_t)(eol - data) : len;
		size_t line_len = end - pos;

		if (line_len > 0 && data[end - 1] == '\r')
			line_len--;
		if (line_len == 0)
			break; /* the body starts */
		size_t n = sizeof(name) - 1;
		if (line_len > n && strncasecmp(data + pos, name, n) == 0) {
			size_t i = pos + n;
			while (i < pos + line_len && (data[i] == ' ' || data[i] == '\t'))
				i++;
			if (i < pos + line_len && data[i] == ':')
				count++;
		}
		pos = end + 1;
	}
	return count;
}

/* Back on the session's loop: the writer has stored (or failed to store)
 * the message; now, and only now, the reply (rule 1). */
static void message_delivered(struct loop *loop, void *context)
{
	struct smtp_session *s = context;
	const struct delivery_job *job = &s->job;
	bool lmtp = s->sloop->kind == SMTP_KIND_LMTP;
	bool ok = job->local_rc == 0 && job->remote_rc == 0;

	if (smtp_session_work_done(s))
		return; /* the client left; the message may be stored, unacknowledged */
	size_t refused = 0;
	for (size_t i = 0; i < s->rcpts.count; i++)
		refused += job->over_quota_r[i];
	if (ok)
		log_info("smtp: %s: <%s> from %s: %zu bytes, %zu local, %zu queued, %zu over quota",
			 s->id, s->sender, conn_peer_address(s->conn), job->size - job->queued_at,
			 job->local_count, job->remote_count, refused);
	/* RFC 2033 §4.2: LMTP answers once per accepted recipient, in order;
	 * all of ours share one commit, so one outcome, except for a mailbox
	 * that is full (RFC 3463 5.2.2). SMTP has one reply: 552 when nobody
	 * got the message, else 250 (the writer bounced the full ones). */
	bool nobody = refused == s->rcpts.count;
	for (size_t i = 0; i < (lmtp ? s->rcpts.count : 1); i++) {
		if (!ok)
			smtp_reply(s, "451 4.3.0 Temporary failure, try again later");
		else if (lmtp ? job->over_quota_r[i] : nobody)
			smtp_reply(s, "552 5.2.2 <%s>: Mailbox full", s->rcpts.items[i].address);
		else
			smtp_reply(s, lmtp ? "250 2.1.5 <%s> delivered" : "250 2.0.0 OK id=%s",
				   lmtp ? s->rcpts.items[i].address : s->id);
	}
	buf_free(&s->delivering);
	smtp_transaction_reset(s);
	smtp_input_commands(s);
}

/* On the writer's thread: post the outcome to the session's loop. */
static void message_job_done(struct delivery_job *job)
{
	struct smtp_session *s = job->context;

	loop_post(s->sloop->loop, message_delivered, s);
}

void smtp_message_done(struct smtp_session *s)
{
	bool lmtp = s->sloop->kind == SMTP_KIND_LMTP;
	size_t replies = lmtp ? s->rcpts.count : 1;

	if (s->data.too_big) {
		/* RFC 1870 §6.2 */
		for (size_t i = 0; i < replies; i++)
			smtp_reply(s, "552 5.3.4 Message too big for system");
	} else if (received_count(s->message.data, s->message.len, SMTP_MAX_HOPS) >
		   SMTP_MAX_HOPS) {
		/* RFC 5321 §6.3, RFC 3463 5.4.6 (routing loop detected). */
		log_info("smtp: %s: <%s> from %s: more than %d Received fields, refused",
			 s->id, s->sender, conn_peer_address(s->conn), SMTP_MAX_HOPS);
		for (size_t i = 0; i < replies; i++)
			smtp_reply(s, "554 5.4.6 Too many hops, mail loop?");
	} else {
		size_t received_at;

		/* The writer stores it off the loop, together with whatever
		 * other sessions finished meanwhile (group commit); input
		 * waits, and the transaction stays as it is, until the reply. */
		trace_build(s, &s->delivering, &received_at);
		buf_free(&s->message); /* the copy above is what is stored */
		s->job = (struct delivery_job){
			.id = s->id, .sender = s->sender, .envid = s->envid, .ret = s->dsn_ret,
			.rcpts = s->rcpts.items,
			.rcpt_count = s->rcpts.count, .data = s->delivering.data,
			.size = s->delivering.len, .queued_at = received_at,
			.over_quota_r = arena_zalloc(s->txn_arena, (s->rcpts.count + 1) *
								   sizeof(bool)),
			.bounce_over_quota = !lmtp,
			.done = message_job_done, .context = s,
		};
		s->input = SMTP_INPUT_BUSY;
		s->pending_work++;
		delivery_writer_submit(s->sloop->server->writer, &s->job);
		return;
	}
	smtp_transaction_reset(s);
	smtp_input_commands(s);
}
