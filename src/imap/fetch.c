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
 * it. Message data is streamed from the blob in FETCH_LITERAL_CHUNK pieces
 * with the same check between pieces, so a pause can fall in the middle of
 * a literal (the message's info is loaded again on resume). What one
 * message needs comes from an arena that lives for one run of the loop
 * below, so nothing heap-owned survives a pause (a client that disconnects
 * mid-FETCH leaks nothing: the state is in the command arena).
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
#include "store/acl.h"

/* \Seen is set for this many messages per store transaction: one commit
 * per message would make FETCH 1:* BODY[] of a big mailbox crawl, one for
 * all would hold a huge result array. */
#define FETCH_SEEN_BATCH 256
/* Message data is read and queued in pieces of this size, and the output
 * queue is checked between them: a 50 MB attachment costs the server a
 * few of these, not 50 MB (rule 5). */
#define FETCH_LITERAL_CHUNK (256 * 1024)

struct fetch_state {
	struct imap_fetch_request *request;
	bool uid;
	uint32_t *indexes;  /* view indexes, ascending (command arena) */
	size_t count;
	size_t pos;         /* next index to answer */
	size_t seen_until;  /* \Seen already set for indexes[0 .. seen_until) */
	size_t skipped;     /* expunged meanwhile */
	bool failed;        /* a store error: the command ends NO */
	bool corrupt;       /* a stored message is shorter than its part table */
	bool unknown_cte;   /* BINARY met an encoding we cannot undo (RFC 3516) */
	bool from_view;     /* answer from the view: no store read per message */
	/* the message whose response is being written (paused mid-literal) */
	bool in_message;
	bool message_gone;  /* its bytes went with an expunge meanwhile */
	size_t item;        /* next item of that message */
	bool need_space;    /* an item was written: the next needs a separator */
	bool flags_changed; /* FLAGS goes at the end */
	int64_t blob_id;    /* the literal being streamed: */
	uint64_t literal_pos, literal_end;
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
	if (n == 0 || !(view->rights & ACL_SEEN)) /* RFC 4314 §4: not without "s" */
		return;
	if (view->foreign) {
		/* This reader's own \Seen (shared.c); the set is reloaded so
		 * the store_message_get that follows shows it. */
		if (store_seen_set(s->store, s->account_id, view->mailbox_id, uids, n, true, arena,
				   &result, &result_count, &error) < 0 ||
		    imap_view_load_seen(s) < 0) {
			log_warn("imap: fetch: setting \\Seen in %s: %s", view->name, error);
			st->failed = true;
		}
		return;
	}
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

/* Send [st->literal_pos, st->literal_end) of the blob in chunks, so a big
 * message never sits whole in memory (rule 5). Returns false when the
 * output queue filled up first: the caller pauses and calls again later.
 * A read error still sends the promised byte count (spaces), because the
 * literal's length is already on the wire, and fails the command. */
static bool fetch_stream_literal(struct imap_session *s, struct fetch_state *st)
{
	struct arena *arena = arena_new();
	const char *data, *error;
	size_t len;

	while (st->literal_pos < st->literal_end) {
		size_t want = (size_t)(st->literal_end - st->literal_pos);
		if (want > FETCH_LITERAL_CHUNK)
			want = FETCH_LITERAL_CHUNK;
		/* len is only set by a successful read: decide the message first */
		int r = store_blob_read(s->store, st->blob_id, (size_t)st->literal_pos, want, arena,
					&data, &len, &error);
		bool read_ok = r == 0;
		if (r == STORE_ENOTFOUND) {
			/* Expunged by another session since its metadata was
			 * read (the blob goes with the last copy): the length is
			 * on the wire, so pad; the reply says EXPUNGEISSUED. */
			char *pad = arena_alloc(arena, want);
			memset(pad, ' ', want);
			data = pad;
			if (!st->message_gone) {
				st->message_gone = true;
				st->skipped++;
			}
		} else if (!read_ok || len != want) {
			if (!st->failed)
				log_warn("imap: fetch: reading blob %lld: %s", (long long)st->blob_id,
					 read_ok ? "message shorter than its part table" : error);
			char *pad = arena_alloc(arena, want);
			memset(pad, ' ', want);
			data = pad;
			st->failed = true;
			st->corrupt |= read_ok;
		}
		imap_write(s, data, want);
		st->literal_pos += want;
		arena_reset(arena);
		if (st->literal_pos < st->literal_end && imap_output_full(s)) {
			arena_free(arena);
			return false;
		}
	}
	arena_free(arena);
	return true;
}

/* HEADER.FIELDS[.NOT]: the filtered header lines, then <partial> on them
 * (RFC 9051 §6.4.5: "calculated after subsetting the header"). NULL on a
 * read error; "" with *gone_r set when the message was expunged since its
 * metadata was read. */
static const char *fetch_filtered_header(struct fetch_message *fm, const struct imap_fetch_item *item,
					 const struct imap_fetch_range *range, size_t *len_r,
					 bool *gone_r)
{
	const struct imap_fetch_section *section = &item->section;
	const char *header, *error;
	size_t header_len, offset, length;
	struct buf out = BUF_INIT;
	char *data;

	int r = store_blob_read(fm->session->store, fm->info.blob_id, (size_t)range->start,
				(size_t)(range->end - range->start), fm->arena, &header, &header_len,
				&error);
	if (r == STORE_ENOTFOUND) {
		/* expunged meanwhile: an empty value, and EXPUNGEISSUED */
		*gone_r = true;
		*len_r = 0;
		return "";
	}
	if (r < 0) {
		log_warn("imap: fetch: reading header of message %u: %s", fm->info.uid, error);
		return NULL;
	}
	mime_header_filter(header, header_len, (const char *const *)section->fields,
			   section->field_count, section->text == IMAP_SECTION_HEADER_FIELDS_NOT,
			   &out);
	imap_fetch_partial(item, out.len, &offset, &length);
	data = arena_memdup(fm->arena, out.data ? out.data + offset : "", length);
	buf_free(&out);
	*len_r = length;
	return data;
}

/* BODY[section]<origin> {n} data (RFC 9051 §7.5.2). A missing section is
 * "" (Dovecot's answer). Plain ranges are streamed from the blob by
 * fetch_stream_literal; returns false when that paused. */
static bool fetch_write_section(struct fetch_message *fm, const struct imap_fetch_item *item,
				struct fetch_state *st)
{
	struct imap_session *s = fm->session;
	struct buf *out = &s->scratch;
	const struct imap_fetch_section *section = &item->section;
	struct imap_fetch_range range;
	size_t offset, length;
	const char *data;

	buf_append_str(out, item->response_name);
	if (item->partial)
		buf_printf(out, "<%llu>", (unsigned long long)item->origin);
	buf_append_char(out, ' ');
	fetch_load_parts(fm);
	if (!imap_fetch_section_range(section, fm->parts, fm->part_count, fm->info.size, &range)) {
		buf_append_str(out, "\"\"");
		return true;
	}
	if (section->text == IMAP_SECTION_HEADER_FIELDS ||
	    section->text == IMAP_SECTION_HEADER_FIELDS_NOT) {
		bool gone = false;
		data = fetch_filtered_header(fm, item, &range, &length, &gone);
		if (gone && !st->message_gone) {
			st->message_gone = true;
			st->skipped++;
		}
		if (data == NULL) {
			buf_append_str(out, "NIL");
			st->failed = true;
		} else {
			buf_printf(out, "{%zu}\r\n", length);
			buf_append(out, data, length);
		}
		return true;
	}
	imap_fetch_partial(item, (size_t)(range.end - range.start), &offset, &length);
	/* message data always as a literal, even when short or empty */
	buf_printf(out, "{%zu}\r\n", length);
	imap_flush_scratch(s);
	st->blob_id = fm->info.blob_id;
	st->literal_pos = range.start + offset;
	st->literal_end = st->literal_pos + length;
	return fetch_stream_literal(s, st);
}

/* The decoded bytes of a part for BINARY (RFC 3516 §4.3): its body with
 * the Content-Transfer-Encoding of its MIME header undone. Multiparts and
 * message parts carry no encoding of their own and go as they are.
 * Returns -1 on a read error, 1 for an unknown encoding, 0 otherwise. */
static int fetch_binary_data(struct fetch_message *fm, const struct mime_part *part,
			     struct buf *out)
{
	struct imap_session *s = fm->session;
	const char *header, *body, *error;
	size_t header_len, body_len;
	char *encoding = NULL;

	bool whole = part->section[0] == '\0'; /* BINARY[]: the message as stored */
	uint32_t start = whole ? 0 : part->body_offset;

	if (store_blob_read(s->store, fm->info.blob_id, start, part->body_end - start, fm->arena,
			    &body, &body_len, &error) < 0)
		return -1;
	if (whole || part->multipart || part->message) {
		buf_append(out, body, body_len);
		return 0;
	}
	if (store_blob_read(s->store, fm->info.blob_id, part->header_offset,
			    part->body_offset - part->header_offset, fm->arena, &header,
			    &header_len, &error) < 0)
		return -1;
	encoding = mime_header_get(fm->arena, header, header_len, "Content-Transfer-Encoding");
	return mime_decode_transfer(encoding, body, body_len, out) < 0 ? 1 : 0;
}

/* BINARY[part]<origin> data / BINARY.SIZE[part] n. A literal8 when the data
 * holds a NUL (RFC 3516 §4.3); a part that does not exist is "". */
static void fetch_write_binary(struct fetch_message *fm, const struct imap_fetch_item *item,
			       struct fetch_state *st)
{
	struct buf *out = &fm->session->scratch;
	struct buf data = BUF_INIT;
	size_t offset, length;

	fetch_load_parts(fm);
	const struct mime_part *part = mime_parts_find(fm->parts, fm->part_count,
						       item->section.part);
	int r = part != NULL ? fetch_binary_data(fm, part, &data) : 0;
	if (r != 0) {
		st->failed |= r < 0;
		st->unknown_cte |= r > 0;
		buf_printf(out, "%s NIL", item->response_name);
	} else if (item->kind == IMAP_FETCH_BINARY_SIZE) {
		buf_printf(out, "%s %zu", item->response_name, data.len);
	} else {
		imap_fetch_partial(item, data.len, &offset, &length);
		const char *bytes = data.data ? data.data + offset : "";
		buf_append_str(out, item->response_name);
		if (item->partial)
			buf_printf(out, "<%llu>", (unsigned long long)item->origin);
		buf_printf(out, " %s{%zu}\r\n", memchr(bytes, '\0', length) ? "~" : "", length);
		buf_append(out, bytes, length);
	}
	buf_free(&data);
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

/* One item of the response. Returns false when a literal paused. */
static bool fetch_write_item(struct fetch_message *fm, const struct imap_fetch_item *item,
			     struct fetch_state *st)
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
		return fetch_write_section(fm, item, st);
	case IMAP_FETCH_MODSEQ:
		buf_printf(out, "MODSEQ (%llu)", (unsigned long long)info->modseq);
		break;
	case IMAP_FETCH_BINARY:
	case IMAP_FETCH_BINARY_SIZE:
		fetch_write_binary(fm, item, st);
		break;
	case IMAP_FETCH_PREVIEW: /* RFC 8970 §3: nstring, made at save time */
		buf_append_str(out, "PREVIEW ");
		imap_write_nstring(out, info->preview, info->preview ? strlen(info->preview) : 0,
				   fm->session->utf8);
		break;
	case IMAP_FETCH_EMAILID: /* RFC 8474 §5.1: shared by copies of one message */
		buf_printf(out, "EMAILID (%s)", info->email_id != NULL ? info->email_id : "");
		break;
	case IMAP_FETCH_THREADID: /* RFC 8474 §5.2: NIL while threads are not kept */
		buf_append_str(out, "THREADID NIL");
		break;
	case IMAP_FETCH_SAVEDATE: /* RFC 8514 §4 */
		if (info->save_date <= 0) {
			buf_append_str(out, "SAVEDATE NIL");
		} else {
			imap_fetch_format_date(info->save_date, 0, date);
			buf_printf(out, "SAVEDATE \"%s\"", date);
		}
		break;
	}
	return true;
}

/* "* N FETCH (" and, for UID FETCH, the UID it always carries (RFC 9051
 * §6.4.9). Decides whether FLAGS must be added: when this FETCH set \Seen
 * and the flags differ from what the client knows (RFC 9051 §6.4.5 "they
 * SHOULD be included"). */
static void fetch_begin_message(struct fetch_message *fm, struct fetch_state *st)
{
	struct imap_session *s = fm->session;
	const struct imap_msg *known = &s->view->msgs.items[fm->index];

	st->flags_changed = st->request->sets_seen && !st->request->has_flags &&
			    (fm->info.flags != known->flags || fm->info.modseq > known->modseq);
	buf_printf(&s->scratch, "* %zu FETCH (", fm->index + 1);
	st->need_space = false;
	if (st->uid && !st->request->has_uid) {
		buf_printf(&s->scratch, "UID %u", fm->info.uid);
		st->need_space = true;
	}
	st->item = 0;
	st->in_message = true;
}

/* The items from st->item on, then the closing parenthesis. Returns false
 * when a literal paused; st->item then names the item to continue after. */
static bool fetch_write_items(struct fetch_message *fm, struct fetch_state *st)
{
	struct imap_session *s = fm->session;

	while (st->item < st->request->item_count) {
		const struct imap_fetch_item *item = &st->request->items[st->item++];
		if (st->need_space)
			buf_append_char(&s->scratch, ' ');
		st->need_space = true;
		if (!fetch_write_item(fm, item, st))
			return false;
	}
	if (st->flags_changed) {
		if (st->need_space)
			buf_append_char(&s->scratch, ' ');
		fetch_write_flags(fm);
		st->need_space = true;
	}
	/* RFC 7162: CHANGEDSINCE implies MODSEQ; so does a \Seen set by this
	 * FETCH for a CONDSTORE-aware client (§3.2.4). */
	if (!st->request->has_modseq &&
	    (st->request->changedsince_given || (st->flags_changed && s->condstore))) {
		buf_printf(&s->scratch, "%sMODSEQ (%llu)", st->need_space ? " " : "",
			   (unsigned long long)fm->info.modseq);
	}
	buf_append_str(&s->scratch, ")\r\n");
	imap_flush_scratch(s);
	st->in_message = false;
	return true;
}

/* Load what the message's items need. Returns STORE_OK, STORE_ENOTFOUND
 * (expunged by someone else) or an error. */
static int fetch_load_message(struct imap_session *s, struct fetch_state *st,
			      struct fetch_message *fm)
{
	const struct imap_msg *m = &s->view->msgs.items[fm->index];
	unsigned what = STORE_INFO_STATE;
	const char *error;
	int ret;

	if (st->from_view) {
		memset(&fm->info, 0, sizeof(fm->info));
		fm->info.uid = m->uid;
		fm->info.flags = m->flags;
		fm->info.modseq = m->modseq;
		fm->info.keywords = m->keywords;
		return STORE_OK;
	}
	if (st->request->needs_structure)
		what |= STORE_INFO_STRUCTURE;
	if (st->request->needs_search)
		what |= STORE_INFO_SEARCH;
	ret = store_message_get(s->store, s->view->mailbox_id, m->uid, what, fm->arena, &fm->info,
				&error);
	if (ret == STORE_OK)
		fm->info.flags = imap_view_user_flags(s->view, m->uid, fm->info.flags);
	if (ret < 0 && ret != STORE_ENOTFOUND)
		log_warn("imap: fetch: message %u of %s: %s", m->uid, s->view->name, error);
	return ret;
}

/* Answer the message at st->pos, or continue it after a pause. Returns
 * false when paused in the middle of a literal. */
static bool fetch_one(struct imap_session *s, struct fetch_state *st, struct arena *arena)
{
	struct fetch_message fm = { .session = s, .arena = arena, .index = st->indexes[st->pos] };
	bool resuming = st->in_message;
	int ret;

	if (resuming && !fetch_stream_literal(s, st))
		return false;
	if (!resuming && s->view->msgs.items[fm.index].expunged) {
		st->skipped++;
		return true;
	}
	if (!resuming)
		st->message_gone = false;
	ret = fetch_load_message(s, st, &fm);
	if (ret < 0) {
		if (resuming) {
			/* gone mid-response: close it validly without the rest */
			buf_append_str(&s->scratch, ")\r\n");
			imap_flush_scratch(s);
			st->in_message = false;
			st->failed = true;
		} else if (ret == STORE_ENOTFOUND) {
			st->skipped++;
		} else {
			st->failed = true;
		}
		return true;
	}
	if (!resuming && st->request->changedsince_given &&
	    fm.info.modseq <= st->request->changedsince)
		return true; /* RFC 7162 §3.1.4.1: unchanged since the client looked */
	if (!resuming)
		fetch_begin_message(&fm, st);
	return fetch_write_items(&fm, st);
}

/* The tagged result once every message is answered. */
static void fetch_finish(struct imap_session *s, const struct fetch_state *st)
{
	const char *name = st->uid ? "UID FETCH" : "FETCH";

	/* RFC 5530: CORRUPTION when the stored data contradicts itself */
	if (st->corrupt)
		imap_cmd_no(s, "[CORRUPTION] %s failed: a stored message is damaged", name);
	else if (st->failed)
		imap_cmd_no(s, "[SERVERBUG] %s failed: internal error", name);
	else if (st->unknown_cte)
		imap_cmd_no(s, "[UNKNOWN-CTE] Cannot decode a part's transfer encoding");
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
		if (!st->in_message && st->request->sets_seen && !s->view->readonly &&
		    st->pos >= st->seen_until)
			fetch_mark_seen(s, st, arena);
		bool done = fetch_one(s, st, arena);
		arena_reset(arena);
		if (done)
			st->pos++;
		if (st->pos < st->count && (!done || imap_output_full(s))) {
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

int imap_fetch_unsolicited(struct imap_session *s, struct imap_fetch_request *request,
			   size_t first, size_t count)
{
	struct fetch_state st = { .request = request };
	struct arena *arena = arena_new();

	for (size_t i = first; i < first + count && i < s->view->msgs.count && !s->closed; i++) {
		uint32_t index = (uint32_t)i;

		if (imap_output_full(s)) {
			arena_free(arena);
			return 1;
		}
		st.indexes = &index;
		st.count = 1;
		st.pos = 0;
		/* written whole: a literal that would pause is continued at once
		 * (the caller watches the output queue: NOTIFICATIONOVERFLOW) */
		while (!fetch_one(s, &st, arena))
			;
		arena_reset(arena);
	}
	arena_free(arena);
	return st.failed ? -1 : 0;
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

/* Is uid in the client's UID set? "*" is the largest UID given out. */
static bool fetch_uid_in(const struct imap_seqset *set, uint32_t uid, uint32_t star)
{
	for (size_t i = 0; i < set->count; i++) {
		uint32_t lo = set->ranges[i].lo == UINT32_MAX ? star : set->ranges[i].lo;
		uint32_t hi = set->ranges[i].hi == UINT32_MAX ? star : set->ranges[i].hi;
		if ((uid >= lo && uid <= hi) || (uid >= hi && uid <= lo))
			return true;
	}
	return false;
}

/* UID FETCH (CHANGEDSINCE n VANISHED): the UIDs of the set expunged since
 * n, as VANISHED (EARLIER), before the FETCH responses (RFC 7162 §3.2.6). */
static int fetch_send_vanished(struct imap_session *s, const struct imap_fetch_request *request)
{
	struct store_changes ch;
	const char *error;
	uint32_t star = s->view->uidnext > 0 ? s->view->uidnext - 1 : 0;

	if (store_message_changes(s->store, s->view->mailbox_id, request->changedsince,
				  s->cmd_arena, &ch, &error) < 0) {
		log_warn("imap: fetch vanished in %s: %s", s->view->name, error);
		return -1;
	}
	uint32_t *gone = arena_alloc(s->cmd_arena, (ch.expunged_count + 1) * sizeof(uint32_t));
	size_t n = 0;
	for (size_t i = 0; i < ch.expunged_count; i++) {
		if (fetch_uid_in(&request->set, ch.expunged[i], star))
			gone[n++] = ch.expunged[i];
	}
	if (n > 0) {
		buf_append_str(&s->scratch, "* VANISHED (EARLIER) ");
		imap_write_uidset(&s->scratch, gone, n);
		buf_append_str(&s->scratch, "\r\n");
		imap_flush_scratch(s);
	}
	return 0;
}

/* FETCH / UID FETCH: parse and check the set, then answer message by
 * message (fetch_run), possibly across several turns of the loop. */
enum imap_cmd_status imap_cmd_fetch(struct imap_session *s, struct imap_parser *p, bool uid)
{
	struct fetch_state *st;
	struct imap_fetch_request *request;

	if (!imap_fetch_parse(p, &request) || !imap_fetch_parse_modifiers(p, request) ||
	    !imap_parse_eol(p))
		return imap_cmd_syntax(s, p);
	if (request->vanished && (!uid || !s->qresync)) {
		/* RFC 7162 §3.2.6 */
		imap_cmd_bad(s, "VANISHED needs UID FETCH and ENABLE QRESYNC");
		return IMAP_CMD_DONE;
	}
	if (request->partial_given && !uid) {
		imap_cmd_bad(s, "PARTIAL needs UID FETCH"); /* RFC 9394 §3.3 */
		return IMAP_CMD_DONE;
	}
	if (request->has_modseq || request->changedsince_given)
		imap_enable_condstore(s); /* RFC 7162 §3.1: enabling commands */
	if (request->vanished && fetch_send_vanished(s, request) < 0) {
		imap_cmd_no(s, "[SERVERBUG] Internal error");
		return IMAP_CMD_DONE;
	}
	if (!uid && !request->set.saved && !fetch_seqset_valid(s->view, &request->set)) {
		imap_cmd_bad(s, "Invalid message sequence number");
		return IMAP_CMD_DONE;
	}
	st = arena_zalloc(s->cmd_arena, sizeof(*st));
	st->request = request;
	st->uid = uid;
	/* FETCH 1:* (FLAGS), a phone's resync, is answered from the view the
	 * session keeps in step with the store; when other sessions changed
	 * the mailbox since it was last synced, read the store instead. */
	st->from_view = request->view_only && !request->changedsince_given &&
			!atomic_load(&s->notified);
	st->indexes = imap_view_resolve(s, &request->set, uid, &st->count);
	if (request->partial_given) {
		/* RFC 9394 §3.3: only the messages of the set in the range, before
		 * CHANGEDSINCE picks among them (§3.4) */
		size_t start, end;
		imap_partial_slice(&request->partial, st->count, &start, &end);
		st->indexes += start;
		st->count = end - start;
	}
	return fetch_run(s, st);
}
