/*
 * fetch: the FETCH / UID FETCH executor (RFC 9051 §6.4.5, §7.5.2); the
 * argument parser is in fetch-parse.c.
 *
 * Each message is answered from what the store kept at save time (DESIGN.md
 * rule 2): flags and dates from its state, ENVELOPE / BODY / BODYSTRUCTURE
 * in wire form, and BODY[section] from the part table, reading only the
 * bytes the section covers. Message data always goes as a literal.
 *
 * Rule 5: a FETCH over many messages writes one message at a time and
 * checks the output queue after each; when it is full the command returns
 * IMAP_CMD_ASYNC and continues from fetch_resume when the client has read
 * it. What one message needs comes from an arena that lives for one run of
 * the loop below, so nothing heap-owned survives a pause (a client that
 * disconnects mid-FETCH leaks nothing: the state is in the command arena).
 *
 * Behaviour choices (documented for clients and tests):
 *  - messages expunged by another session (still in our view, or already
 *    gone from the store) are left out, and the command ends
 *    "OK [EXPUNGEISSUED]" (RFC 9051 §7.1 response code; §7.5.1 forbids
 *    sending EXPUNGE now);
 *  - a section that does not exist in the message is sent as an empty
 *    string, as Dovecot does, rather than failing the command.
 */
#include "imap/fetch.h"

#include <string.h>

#include "core/log.h"

/* \Seen is set for this many messages per store transaction: one commit
 * per message would make FETCH 1:* BODY[] of a big mailbox crawl, one for
 * all would hold a huge result array. */
#define FETCH_SEEN_BATCH 256

struct fetch_state {
	struct imap_fetch_request *request;
	bool uid;
	uint32_t *indexes;  /* view indexes, ascending (command arena) */
	size_t count;
	size_t pos;         /* next index to answer */
	size_t seen_until;  /* \Seen already set for indexes[0 .. seen_until) */
	size_t skipped;     /* expunged meanwhile */
	bool failed;        /* a store error: the command ends NO */
};

/* One message while its response is built. */
struct fetch_message {
	struct imap_session *session;
	struct arena *arena;
	size_t index;
	struct store_message_info info;
	struct mime_part *parts;  /* loaded on first use */
	size_t part_count;
	bool parts_loaded;
};

/* Set \Seen on the next batch of messages when the request asks for it
 * (RFC 9051 §6.4.5) and the mailbox is writable. The new flags show up in
 * the store_message_get that follows. */
static void fetch_mark_seen(struct imap_session *s, struct fetch_state *st, struct arena *arena)
{
	struct imap_view *view = s->view;
	size_t end = st->pos + FETCH_SEEN_BATCH;
	uint32_t *uids;
	size_t n = 0;
	struct store_message_state *result;
	size_t result_count, failed_count;
	uint32_t *failed;
	const char *error;

	if (end > st->count)
		end = st->count;
	uids = arena_alloc(arena, (end - st->pos) * sizeof(*uids));
	for (size_t i = st->pos; i < end; i++) {
		const struct imap_msg *m = &view->msgs.items[st->indexes[i]];
		if (!m->expunged && !(m->flags & STORE_FLAG_SEEN))
			uids[n++] = m->uid;
	}
	st->seen_until = end;
	if (n == 0)
		return;
	if (store_message_set_flags(s->store, view->mailbox_id, uids, n, STORE_FLAGS_ADD,
				    STORE_FLAG_SEEN, NULL, 0, arena, &result, &result_count, &failed,
				    &failed_count, &error) < 0) {
		log_warn("imap: fetch: setting \\Seen in %s: %s", view->name, error);
		st->failed = true;
	}
}

/* The part table of the message, deserialized once per message. Without a
 * usable table (a store that kept none) only the whole message and its
 * header/text split from header_size are known. */
static void fetch_load_parts(struct fetch_message *fm)
{
	const struct store_message_info *info = &fm->info;

	if (fm->parts_loaded)
		return;
	fm->parts_loaded = true;
	if (info->parts != NULL &&
	    mime_parts_deserialize(fm->arena, info->parts, &fm->parts, &fm->part_count) == 0 &&
	    fm->part_count > 0)
		return;
	fm->parts = arena_zalloc(fm->arena, sizeof(*fm->parts));
	fm->parts[0].section = "";
	fm->parts[0].body_offset = info->header_size;
	fm->parts[0].body_end = info->size > UINT32_MAX ? UINT32_MAX : (uint32_t)info->size;
	fm->part_count = 1;
}

/* The bytes of a section, before <partial>: a range of the blob, or for
 * HEADER.FIELDS[.NOT] the filtered header lines. Returns false when the
 * section does not exist; *data_r is NULL on a read error. */
static bool fetch_section_data(struct fetch_message *fm, const struct imap_fetch_item *item,
			       const char **data_r, size_t *len_r)
{
	struct imap_session *s = fm->session;
	const struct imap_fetch_section *section = &item->section;
	struct imap_fetch_range range;
	size_t offset, length;
	const char *error;
	bool filter = section->text == IMAP_SECTION_HEADER_FIELDS ||
		      section->text == IMAP_SECTION_HEADER_FIELDS_NOT;

	fetch_load_parts(fm);
	if (!imap_fetch_section_range(section, fm->parts, fm->part_count, fm->info.size, &range))
		return false;
	*data_r = NULL;
	*len_r = 0;
	if (!filter) {
		/* read only what <partial> asks for */
		imap_fetch_partial(item, (size_t)(range.end - range.start), &offset, &length);
		if (length == 0) {
			*data_r = "";
			return true;
		}
		if (store_blob_read(s->store, fm->info.blob_id, (size_t)range.start + offset, length,
				    fm->arena, data_r, len_r, &error) < 0) {
			log_warn("imap: fetch: reading message %u: %s", fm->info.uid, error);
			*data_r = NULL;
		}
		return true;
	}
	const char *header;
	size_t header_len;
	struct buf out = BUF_INIT;

	if (store_blob_read(s->store, fm->info.blob_id, (size_t)range.start,
			    (size_t)(range.end - range.start), fm->arena, &header, &header_len,
			    &error) < 0) {
		log_warn("imap: fetch: reading header of message %u: %s", fm->info.uid, error);
		return true;
	}
	/* RFC 9051 §6.4.5: the partial is taken after subsetting the header */
	mime_header_filter(header, header_len, (const char *const *)section->fields,
			   section->field_count, section->text == IMAP_SECTION_HEADER_FIELDS_NOT,
			   &out);
	imap_fetch_partial(item, out.len, &offset, &length);
	*data_r = arena_memdup(fm->arena, out.data ? out.data + offset : "", length);
	*len_r = length;
	buf_free(&out);
	return true;
}

/* BODY[section]<origin> {n} data (RFC 9051 §7.5.2). A missing section is
 * "" (Dovecot's answer); a read error is NIL and fails the command. */
static bool fetch_write_section(struct fetch_message *fm, const struct imap_fetch_item *item)
{
	struct imap_session *s = fm->session;
	struct buf *out = &s->scratch;
	const char *data = "";
	size_t len = 0;
	bool exists = fetch_section_data(fm, item, &data, &len);

	buf_append_str(out, item->response_name);
	if (item->partial)
		buf_printf(out, "<%llu>", (unsigned long long)item->origin);
	buf_append_char(out, ' ');
	if (exists && data == NULL) {
		buf_append_str(out, "NIL");
		return false;
	}
	if (!exists || len == 0) {
		buf_append_str(out, "\"\"");
		return true;
	}
	/* message data always as a literal, written without another copy */
	buf_printf(out, "{%zu}\r\n", len);
	imap_flush_scratch(s);
	imap_write(s, data, len);
	return true;
}

/* FLAGS, and remember that the client now knows them. */
static void fetch_write_flags(struct fetch_message *fm)
{
	struct imap_session *s = fm->session;
	const struct store_message_info *info = &fm->info;

	buf_append_str(&s->scratch, "FLAGS ");
	imap_write_flags(&s->scratch, info->flags, info->keywords);
	imap_view_set_known(s->view, fm->index, info->flags, info->modseq, info->keywords);
}

/* A wire form kept at save time; NIL if the store has none (it should). */
static void fetch_write_kept(struct buf *out, const char *name, const char *wire)
{
	buf_append_str(out, name);
	buf_append_char(out, ' ');
	buf_append_str(out, wire != NULL ? wire : "NIL");
}

/* One item of the response. Returns false on a store read error. */
static bool fetch_write_item(struct fetch_message *fm, const struct imap_fetch_item *item)
{
	struct buf *out = &fm->session->scratch;
	const struct store_message_info *info = &fm->info;
	char date[IMAP_FETCH_DATE_SIZE];

	switch (item->kind) {
	case IMAP_FETCH_UID:
		buf_printf(out, "UID %u", info->uid);
		break;
	case IMAP_FETCH_FLAGS:
		fetch_write_flags(fm);
		break;
	case IMAP_FETCH_INTERNALDATE:
		imap_fetch_format_date(info->internal_date, info->internal_date_tz, date);
		buf_printf(out, "INTERNALDATE \"%s\"", date);
		break;
	case IMAP_FETCH_RFC822_SIZE:
		buf_printf(out, "RFC822.SIZE %llu", (unsigned long long)info->size);
		break;
	case IMAP_FETCH_ENVELOPE:
		fetch_write_kept(out, "ENVELOPE", info->envelope);
		break;
	case IMAP_FETCH_BODYSTRUCTURE:
		fetch_write_kept(out, "BODYSTRUCTURE", info->bodystructure);
		break;
	case IMAP_FETCH_BODY:
		fetch_write_kept(out, "BODY", info->body);
		break;
	case IMAP_FETCH_SECTION:
		return fetch_write_section(fm, item);
	}
	return true;
}

/* "* N FETCH (...)" for one message. UID FETCH always includes UID (RFC
 * 9051 §6.4.9); when this FETCH set \Seen, FLAGS is included even if not
 * asked for (RFC 9051 §6.4.5 "they SHOULD be included"). */
static bool fetch_write_message(struct fetch_message *fm, const struct fetch_state *st)
{
	struct imap_session *s = fm->session;
	const struct imap_fetch_request *request = st->request;
	const struct imap_msg *known = &s->view->msgs.items[fm->index];
	bool flags_changed = request->sets_seen &&
			     (fm->info.flags != known->flags || fm->info.modseq > known->modseq);
	bool first = true;
	bool ok = true;

	buf_printf(&s->scratch, "* %zu FETCH (", fm->index + 1);
	if (st->uid && !request->has_uid) {
		buf_printf(&s->scratch, "UID %u", fm->info.uid);
		first = false;
	}
	for (size_t i = 0; i < request->item_count; i++) {
		if (!first)
			buf_append_char(&s->scratch, ' ');
		first = false;
		if (!fetch_write_item(fm, &request->items[i]))
			ok = false;
	}
	if (flags_changed && !request->has_flags) {
		if (!first)
			buf_append_char(&s->scratch, ' ');
		fetch_write_flags(fm);
	}
	buf_append_str(&s->scratch, ")\r\n");
	imap_flush_scratch(s);
	return ok;
}

/* Answer the message at st->pos. */
static void fetch_one(struct imap_session *s, struct fetch_state *st, struct arena *arena)
{
	struct fetch_message fm = { .session = s, .arena = arena, .index = st->indexes[st->pos] };
	const struct imap_msg *m = &s->view->msgs.items[fm.index];
	unsigned what = STORE_INFO_STATE;
	const char *error;
	int ret;

	if (m->expunged) {
		st->skipped++;
		return;
	}
	if (st->request->needs_structure)
		what |= STORE_INFO_STRUCTURE;
	ret = store_message_get(s->store, s->view->mailbox_id, m->uid, what, arena, &fm.info,
				&error);
	if (ret == STORE_ENOTFOUND) {
		st->skipped++;
		return;
	}
	if (ret < 0) {
		log_warn("imap: fetch: message %u of %s: %s", m->uid, s->view->name, error);
		st->failed = true;
		return;
	}
	if (!fetch_write_message(&fm, st))
		st->failed = true;
}

/* The tagged result once every message is answered. */
static void fetch_finish(struct imap_session *s, const struct fetch_state *st)
{
	const char *name = st->uid ? "UID FETCH" : "FETCH";

	if (st->failed)
		imap_cmd_no(s, "[SERVERBUG] %s failed: internal error", name);
	else if (st->skipped > 0)
		imap_cmd_ok(s, "[EXPUNGEISSUED] Some messages were expunged");
	else
		imap_cmd_ok(s, "%s completed", name);
}

static enum imap_cmd_status fetch_resume(struct imap_session *s);

/* Answer messages until done or until the output queue is full. */
static enum imap_cmd_status fetch_run(struct imap_session *s, struct fetch_state *st)
{
	struct arena *arena = arena_new();

	while (st->pos < st->count && !s->closed) {
		if (st->request->sets_seen && !s->view->readonly && st->pos >= st->seen_until)
			fetch_mark_seen(s, st, arena);
		fetch_one(s, st, arena);
		st->pos++;
		arena_reset(arena);
		if (st->pos < st->count && imap_output_full(s)) {
			arena_free(arena);
			s->command_state = st;
			s->resume = fetch_resume;
			return IMAP_CMD_ASYNC;
		}
	}
	arena_free(arena);
	fetch_finish(s, st);
	return IMAP_CMD_DONE;
}

/* Called by the session when the output has drained. */
static enum imap_cmd_status fetch_resume(struct imap_session *s)
{
	return fetch_run(s, s->command_state);
}

/* RFC 9051 §9 seq-number: "The server should respond with a tagged BAD
 * response to a command that uses a message sequence number greater than
 * the number of messages in the selected mailbox. This includes "*" if the
 * selected mailbox is empty." UIDs that do not exist are simply skipped. */
static bool fetch_seqset_valid(const struct imap_view *view, const struct imap_seqset *set)
{
	size_t count = view->msgs.count;

	for (size_t i = 0; i < set->count; i++) {
		uint32_t lo = set->ranges[i].lo, hi = set->ranges[i].hi;
		if ((lo == UINT32_MAX || hi == UINT32_MAX) && count == 0)
			return false;
		if ((lo != UINT32_MAX && lo > count) || (hi != UINT32_MAX && hi > count))
			return false;
	}
	return true;
}

enum imap_cmd_status imap_cmd_fetch(struct imap_session *s, struct imap_parser *p, bool uid)
{
	struct fetch_state *st;
	struct imap_fetch_request *request;

	if (!imap_fetch_parse(p, &request) || !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (request->set.saved) {
		imap_cmd_bad(s, "Saved search results ($) are not supported");
		return IMAP_CMD_DONE;
	}
	if (!uid && !fetch_seqset_valid(s->view, &request->set)) {
		imap_cmd_bad(s, "Invalid message sequence number");
		return IMAP_CMD_DONE;
	}
	st = arena_zalloc(s->cmd_arena, sizeof(*st));
	st->request = request;
	st->uid = uid;
	st->indexes = imap_view_resolve(s, &request->set, uid, &st->count);
	return fetch_run(s, st);
}
