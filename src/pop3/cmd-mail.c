/*
 * cmd-mail: the TRANSACTION state (RFC 1939 §5, §7): STAT, LIST, RETR, TOP,
 * DELE, RSET, NOOP, UIDL, and QUIT with the UPDATE state (§6).
 *
 * RETR and TOP stream the message from the store in chunks through the
 * encoder (CRLF line ends, dot-stuffing) and pause while more than the
 * high-water mark is queued (rule 5: a huge message or a slow reader does
 * not make us hold the message in memory). Listings pause the same way.
 */
#include "pop3/session.h"
#include "core/log.h"

#include <inttypes.h>
#include <stdint.h>
#include <string.h>

/* Bytes of a message read from the store per step of RETR. */
#define POP3_RETR_CHUNK (64 * 1024)

/* The message number in argument i (RFC 1939 §5), or NULL with -ERR sent. */
static struct pop3_msg *msg_arg(struct pop3_session *s, size_t i, uint32_t *n_r)
{
	uint32_t n;

	if (i >= s->cmd.arg_count ||
	    pop3_parse_number(s->cmd.args[i], s->cmd.arg_lens[i], &n) < 0) {
		pop3_err(s, "Invalid message number");
		return NULL;
	}
	*n_r = n;
	return pop3_maildrop_get(s, n);
}

static bool args_count(struct pop3_session *s, size_t min, size_t max, const char *usage)
{
	if (s->cmd.arg_count < min || s->cmd.arg_count > max || s->cmd.too_many_args) {
		pop3_err(s, "Usage: %s", usage);
		return false;
	}
	return true;
}

/* The end of a multi-line response (RFC 1939 §3). */
static void multiline_end(struct pop3_session *s)
{
	buf_append_str(&s->out, ".\r\n");
	pop3_flush(s);
	s->errors = 0;
}

static void store_failed(struct pop3_session *s)
{
	pop3_err(s, "[SYS/TEMP] Mail store unavailable");
}

/* ---- STAT, LIST, UIDL ------------------------------------------------------------ */

static bool msg_listed(const struct pop3_msg *msg)
{
	return !msg->deleted && !msg->gone;
}

static enum pop3_cmd_status stat_sized(struct pop3_session *s)
{
	size_t count = 0;
	uint64_t octets = 0;

	for (size_t i = 0; i < s->msg_count; i++) {
		if (msg_listed(&s->msgs[i])) {
			count++;
			octets += s->msgs[i].size;
		}
	}
	/* RFC 1939 §5: exactly "+OK nn mm" first. */
	pop3_ok(s, "%zu %" PRIu64, count, octets);
	return POP3_CMD_DONE;
}

enum pop3_cmd_status pop3_cmd_stat(struct pop3_session *s)
{
	if (!args_count(s, 0, 0, "STAT"))
		return POP3_CMD_DONE;
	return pop3_maildrop_size_all(s, stat_sized);
}

/* LIST and UIDL without argument: one line per message, pausing when the
 * output backs up. */
static enum pop3_cmd_status listing_continue(struct pop3_session *s)
{
	while (s->list_next < s->msg_count) {
		if (pop3_output_full(s)) {
			s->resume = listing_continue;
			return POP3_CMD_ASYNC;
		}
		for (size_t end = s->list_next + 256; s->list_next < s->msg_count &&
		     s->list_next < end; s->list_next++) {
			const struct pop3_msg *msg = &s->msgs[s->list_next];
			if (!msg_listed(msg))
				continue;
			if (s->list_uidl)
				buf_printf(&s->out, "%zu %08X%08X\r\n", s->list_next + 1, msg->uid,
					   s->uidvalidity);
			else
				buf_printf(&s->out, "%zu %" PRIu64 "\r\n", s->list_next + 1,
					   msg->size);
		}
		pop3_flush(s);
	}
	multiline_end(s);
	return POP3_CMD_DONE;
}

static enum pop3_cmd_status list_sized(struct pop3_session *s)
{
	size_t count = 0;
	uint64_t octets = 0;

	for (size_t i = 0; i < s->msg_count; i++) {
		if (msg_listed(&s->msgs[i])) {
			count++;
			octets += s->msgs[i].size;
		}
	}
	buf_printf(&s->out, "+OK %zu message%s (%" PRIu64 " octets)\r\n", count,
		   count == 1 ? "" : "s", octets);
	pop3_flush(s);
	s->list_next = 0;
	s->list_uidl = false;
	return listing_continue(s);
}

enum pop3_cmd_status pop3_cmd_list(struct pop3_session *s)
{
	struct pop3_msg *msg;
	uint32_t n;

	if (!args_count(s, 0, 1, "LIST [msg]"))
		return POP3_CMD_DONE;
	if (s->cmd.arg_count == 0)
		return pop3_maildrop_size_all(s, list_sized);
	if ((msg = msg_arg(s, 0, &n)) == NULL)
		return POP3_CMD_DONE;
	int r = pop3_maildrop_size(s, msg);
	if (r == STORE_ENOTFOUND)
		pop3_err(s, "Message %u was removed by another session", n);
	else if (r < 0)
		store_failed(s);
	else
		pop3_ok(s, "%u %" PRIu64, n, msg->size);
	return POP3_CMD_DONE;
}

/* RFC 1939 §7. The unique-id is the message's UID and the INBOX's
 * UIDVALIDITY, neither of which ever changes for a message (rule 3); the
 * same format as Dovecot's default (%08Xu%08Xv), so a maildrop moved from
 * Dovecot with its UIDs keeps its UIDLs. */
enum pop3_cmd_status pop3_cmd_uidl(struct pop3_session *s)
{
	struct pop3_msg *msg;
	uint32_t n;

	if (!args_count(s, 0, 1, "UIDL [msg]"))
		return POP3_CMD_DONE;
	if (s->cmd.arg_count == 0) {
		buf_append_str(&s->out, "+OK Unique-ID listing follows\r\n");
		pop3_flush(s);
		s->list_next = 0;
		s->list_uidl = true;
		return listing_continue(s);
	}
	if ((msg = msg_arg(s, 0, &n)) == NULL)
		return POP3_CMD_DONE;
	pop3_ok(s, "%u %08X%08X", n, msg->uid, s->uidvalidity);
	return POP3_CMD_DONE;
}

/* ---- RETR, TOP -------------------------------------------------------------------- */

static enum pop3_cmd_status retr_continue(struct pop3_session *s)
{
	struct pop3_retr *retr = &s->retr;
	struct pop3_msg *msg = &s->msgs[retr->index];
	const char *data, *error;
	size_t got;

	while (retr->offset < retr->raw_size && !retr->encoder.done) {
		if (pop3_output_full(s)) {
			s->resume = retr_continue;
			return POP3_CMD_ASYNC;
		}
		arena_reset(s->chunk_arena);
		int r = store_blob_read(s->store, retr->blob_id, (size_t)retr->offset,
					POP3_RETR_CHUNK, s->chunk_arena, &data, &got, &error);
		if (r < 0 || got == 0) {
			/* Half a message is on the wire: nothing can be said
			 * in the protocol now but to close (the client sees no
			 * final "." and discards it). */
			log_error("pop3: %s: message %u vanished while being sent: %s",
				  s->account_name, msg->uid, r < 0 ? error : "short read");
			s->state = POP3_STATE_UPDATE;
			return POP3_CMD_DONE;
		}
		pop3_encoder_feed(&retr->encoder, data, got, &s->out);
		pop3_flush(s);
		retr->offset += got;
	}
	arena_reset(s->chunk_arena);
	pop3_encoder_finish(&retr->encoder, &s->out);
	if (!retr->encoder.top && !msg->sized)
		pop3_maildrop_size_learned(s, msg, retr->encoder.octets);
	multiline_end(s);
	return POP3_CMD_DONE;
}

static enum pop3_cmd_status retr_start(struct pop3_session *s, bool top, uint32_t lines)
{
	struct pop3_msg *msg;
	uint32_t n;

	if ((msg = msg_arg(s, 0, &n)) == NULL)
		return POP3_CMD_DONE;
	/* Fresh from the store: an IMAP client may have expunged it since
	 * the snapshot (RFC 1939 §8 lets us treat it as deleted). */
	int r = pop3_maildrop_lookup(s, msg);
	if (r == STORE_ENOTFOUND) {
		pop3_err(s, "Message %u was removed by another session", n);
		return POP3_CMD_DONE;
	}
	if (r < 0) {
		store_failed(s);
		return POP3_CMD_DONE;
	}
	s->retr = (struct pop3_retr){ .index = n - 1, .blob_id = msg->blob_id,
				      .raw_size = msg->raw_size };
	pop3_encoder_init(&s->retr.encoder, top, lines);
	if (top)
		buf_append_str(&s->out, "+OK Top of message follows\r\n");
	else if (msg->sized || pop3_maildrop_size_cached(s, msg))
		buf_printf(&s->out, "+OK %" PRIu64 " octets\r\n", msg->size);
	else
		buf_append_str(&s->out, "+OK Message follows\r\n");
	pop3_flush(s);
	return retr_continue(s);
}

enum pop3_cmd_status pop3_cmd_retr(struct pop3_session *s)
{
	if (!args_count(s, 1, 1, "RETR msg"))
		return POP3_CMD_DONE;
	return retr_start(s, false, 0);
}

/* RFC 1939 §7: TOP msg n, n non-negative. */
enum pop3_cmd_status pop3_cmd_top(struct pop3_session *s)
{
	uint32_t lines;

	if (!args_count(s, 2, 2, "TOP msg lines"))
		return POP3_CMD_DONE;
	if (pop3_parse_number(s->cmd.args[1], s->cmd.arg_lens[1], &lines) < 0) {
		pop3_err(s, "Invalid number of lines");
		return POP3_CMD_DONE;
	}
	return retr_start(s, true, lines);
}

/* ---- DELE, RSET, NOOP, QUIT --------------------------------------------------------- */

enum pop3_cmd_status pop3_cmd_dele(struct pop3_session *s)
{
	struct pop3_msg *msg;
	uint32_t n;

	if (!args_count(s, 1, 1, "DELE msg") || (msg = msg_arg(s, 0, &n)) == NULL)
		return POP3_CMD_DONE;
	/* Only marked: the store is changed at QUIT (RFC 1939 §6). */
	msg->deleted = true;
	pop3_ok(s, "Message %u deleted", n);
	return POP3_CMD_DONE;
}

enum pop3_cmd_status pop3_cmd_rset(struct pop3_session *s)
{
	size_t count = 0;

	if (!args_count(s, 0, 0, "RSET"))
		return POP3_CMD_DONE;
	for (size_t i = 0; i < s->msg_count; i++) {
		s->msgs[i].deleted = false;
		count += !s->msgs[i].gone;
	}
	pop3_ok(s, "Maildrop has %zu message%s", count, count == 1 ? "" : "s");
	return POP3_CMD_DONE;
}

enum pop3_cmd_status pop3_cmd_noop(struct pop3_session *s)
{
	if (args_count(s, 0, 0, "NOOP"))
		pop3_ok(s, "Still here");
	return POP3_CMD_DONE;
}

/* RFC 1939 §4 (AUTHORIZATION: just leave) and §6 (UPDATE: delete what
 * DELE marked, then leave). Only here are messages removed: a session that
 * ends any other way deletes nothing. */
enum pop3_cmd_status pop3_cmd_quit(struct pop3_session *s)
{
	const char *error;

	if (s->state == POP3_STATE_TRANSACTION &&
	    pop3_maildrop_update(s, &error) < 0) {
		log_error("pop3: %s: UPDATE failed: %s", s->account_name, error);
		pop3_err(s, "[SYS/TEMP] Some deleted messages not removed");
		s->state = POP3_STATE_UPDATE;
		return POP3_CMD_DONE;
	}
	s->state = POP3_STATE_UPDATE;
	pop3_ok(s, "Bye");
	return POP3_CMD_DONE;
}
