/*
 * imap: the IMAP (RFC 9051 / RFC 3501) client sessions of buzon-bench and
 * the four IMAP scenarios.
 *
 *   imap-mix     N clients, each logged in and in INBOX, run a weighted mix
 *                of what mail clients do (SELECT, FETCH of a window of
 *                headers, FETCH of a body, STORE of flags, SEARCH, APPEND,
 *                EXPUNGE of a message it appended, IDLE in and out) back to
 *                back for the duration; ops/s and p50/p99 per operation and
 *                for all.
 *   idle         N clients in IDLE; then --rounds times a message is
 *                delivered (SMTP or LMTP, to every account) and the tool
 *                measures, per client, the time from the start of the
 *                delivery to the "* n EXISTS" it is sent; a client not told
 *                within IMAP_IDLE_WAIT_S is counted in idle.missed (a
 *                figure, loudly reported, but not a protocol error).
 *   connections  N clients logged in and idling (optionally over TLS), held
 *                for the duration or until stdin has a line, while the
 *                harness reads the server's memory.
 *   mailbox      one client times SELECT, FETCH 1:* (FLAGS), a header SEARCH
 *                and a body SEARCH on a big INBOX, --rounds times each.
 *
 * Responses are read as whole logical responses: a line that ends with a
 * literal {n} goes on after n bytes, so bodies are skipped without looking
 * at them. Only the start of a response matters to us: untagged EXISTS /
 * EXPUNGE (the client's view of the mailbox), "+" (continuation), and the
 * tagged status. A BAD, an unexpected NO, a BYE we did not ask for or a
 * connection lost are protocol errors. NO [EXPUNGEISSUED] (RFC 9051
 * §7.1) is the legitimate answer when another client expunged a message
 * this one still sees; those are counted apart.
 */
#include "bench.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* The start of a response we keep to look at (tags, codes, counts). */
#define IMAP_HEAD_MAX 512
/* A response line without a literal longer than this is broken. */
#define IMAP_LINE_MAX (1u << 20)
/* Messages in a FETCH of headers: a mail client's screenful or two. */
#define IMAP_HEADER_WINDOW 50
/* idle: a client not told of new mail within this many seconds misses it. */
#define IMAP_IDLE_WAIT_S 10.0
/* idle: pause between rounds, so one round's wake-ups do not overlap. */
#define IMAP_IDLE_PAUSE_MS 300
/* Seconds after the end of the load before clients still busy are given up
 * (ten times that for setting up connections). */
#define IMAP_GIVE_UP_S 60

enum imap_op {
	OP_SELECT,
	OP_FETCH_HEADERS,
	OP_FETCH_BODY,
	OP_STORE,
	OP_SEARCH,
	OP_APPEND,
	OP_EXPUNGE,
	OP_IDLE,
	OP_COUNT,
	/* not in the mix */
	OP_LOGIN = OP_COUNT,
	OP_FIRST_SELECT,
	OP_ENTER_IDLE,
	OP_LOGOUT,
	OP_SCRIPT,
	OP_NONE,
};

static const char *const imap_op_names[OP_COUNT] = {
	"select", "fetch-headers", "fetch-body", "store", "search", "append", "expunge", "idle",
};

/* The default mix: mostly reading, as mail clients do. */
static const unsigned imap_default_weights[OP_COUNT] = { 5, 25, 20, 15, 10, 10, 10, 5 };

enum imap_mode { MODE_MIX, MODE_IDLE, MODE_CONNECTIONS, MODE_MAILBOX };

struct imap_run;

struct imap_session {
	struct imap_run *run;
	struct bench_conn *conn;
	unsigned id, account;
	unsigned tag;
	enum imap_op op;
	int step;
	bool ready;          /* logged in, selected (and idling where asked) */
	bool done;           /* LOGOUT sent */
	bool idling;         /* got "+" for IDLE */
	bool woken;          /* idle: saw this round's EXISTS */
	uint64_t op_start, setup_start;
	uint32_t exists;
	uint32_t *uids;      /* UIDs this session appended (APPENDUID) */
	size_t nuids, capuids;
	uint64_t rng;
	/* the response being read */
	uint64_t literal_left;
	bool continued;
	char head[IMAP_HEAD_MAX];
	size_t head_len;
	/* mailbox: the answer being timed */
	uint64_t hits;
	char last[96];       /* the start of the last command, for error messages */
	unsigned append_index; /* the message of the APPEND in progress */
};

struct imap_run {
	const struct bench_options *o;
	enum imap_mode mode;
	struct bench_loop loop;
	struct bench_stat stats[OP_COUNT];
	struct bench_stat all;
	struct bench_stat setup;       /* connect to ready */
	struct bench_stat wake;        /* idle: delivery start to EXISTS */
	unsigned weights[OP_COUNT], weight_total;
	uint64_t errors, expunge_issued;
	unsigned started, ready, live, failed;
	bool load;                     /* the measured window is on */
	bool load_over;
	uint64_t start_ns, end_ns;
	struct imap_session **sessions;
	struct buf message;
	unsigned append_index;
	/* idle */
	struct bench_smtp_sender *sender;
	unsigned round, woken, missed;
	bool delivering, round_open;
	uint64_t round_start, round_end_by, next_round_at;
	uint64_t over_at;              /* when load_over was first seen */
	/* mailbox */
	unsigned script_step, script_round;
	struct bench_stat script[4];
	uint64_t script_hits[4];
};

static void imap_connected(struct bench_conn *conn);
static void imap_input(struct bench_conn *conn);
static void imap_closed(struct bench_conn *conn, const char *why);

static const struct bench_conn_handler imap_handler = {
	.connected = imap_connected,
	.input = imap_input,
	.closed = imap_closed,
};

static uint64_t imap_random(struct imap_session *s)
{
	uint64_t x = s->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	s->rng = x;
	return x * 2685821657736338717ull;
}

/* A protocol error: say it once per kind of line, count it always. */
static void imap_error(struct imap_session *s, const char *what, const char *line)
{
	s->run->errors++;
	if (s->op < OP_COUNT)
		s->run->stats[s->op].errors++;
	if (s->run->errors <= 20)
		fprintf(stderr, "buzon-bench: %s: client %u: %s: %.300s (after %s)\n",
			s->run->o->label, s->id, what, line, s->last);
}

/* Send a tagged command; the tag is "a" and a per-session counter. */
static void imap_command(struct imap_session *s, enum imap_op op, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void imap_command(struct imap_session *s, enum imap_op op, const char *fmt, ...)
{
	va_list ap;

	s->op = op;
	s->tag++;
	buf_printf(&s->conn->out, "a%u ", s->tag);
	va_start(ap, fmt);
	vsnprintf(s->last, sizeof(s->last), fmt, ap);
	va_end(ap);
	va_start(ap, fmt);
	buf_vprintf(&s->conn->out, fmt, ap);
	va_end(ap);
	buf_append_str(&s->conn->out, "\r\n");
	bench_conn_write(s->conn, "", 0);
}

static void imap_session_start(struct imap_run *run)
{
	struct imap_session *s = mem_zalloc(sizeof(*s));

	s->run = run;
	s->id = run->started++;
	s->account = s->id % run->o->accounts;
	s->rng = ((uint64_t)run->o->seed << 32 | s->id) * 0x9E3779B97F4A7C15ull + 7;
	s->op = OP_NONE;
	s->setup_start = bench_now_ns();
	run->sessions[s->id] = s;
	run->live++;
	s->conn = bench_conn_open(&run->loop, &run->o->addr, run->o->tls, &imap_handler, s);
	if (!s->conn) {
		perror("buzon-bench: connect");
		run->errors++;
		run->failed++;
		run->live--;
		run->sessions[s->id] = NULL;
		free(s);
	}
}

/* Open connections while fewer than --ramp are being set up. */
static void imap_ramp(struct imap_run *run)
{
	while (run->started < run->o->clients &&
	       run->started - run->ready - run->failed < run->o->ramp)
		imap_session_start(run);
}

static void imap_connected(struct bench_conn *conn)
{
	(void)conn; /* the server speaks first */
}

/* The next operation of the mix, with what it needs: messages to read, or a
 * message of ours to expunge (otherwise an APPEND makes one). */
static enum imap_op imap_pick(struct imap_session *s)
{
	uint64_t r = imap_random(s) % s->run->weight_total;
	enum imap_op op = OP_SELECT;

	for (int i = 0; i < OP_COUNT; i++) {
		if (r < s->run->weights[i]) {
			op = (enum imap_op)i;
			break;
		}
		r -= s->run->weights[i];
	}
	if (op == OP_EXPUNGE && s->nuids == 0)
		op = OP_APPEND;
	if ((op == OP_FETCH_HEADERS || op == OP_FETCH_BODY || op == OP_STORE) && s->exists == 0)
		op = OP_APPEND;
	return op;
}

static void imap_phase(struct imap_run *run, const char *name);

/* The measured window is over (said once). */
static void imap_mix_over(struct imap_run *run)
{
	if (!run->load_over) {
		run->load_over = true;
		imap_phase(run, "load-end");
	}
}

/* This session's APPEND message, into the run's scratch buffer. */
static void imap_append_message(struct imap_session *s)
{
	char to[BENCH_TEXT_MAX];

	bench_account_name(s->run->o, s->account, to);
	buf_clear(&s->run->message);
	bench_message_generate(&s->run->message, s->run->o->seed + 1, s->append_index,
			       s->run->o->message_size, to);
}

/* Start one operation of the mix. */
static void imap_mix_next(struct imap_session *s)
{
	struct imap_run *run = s->run;
	enum imap_op op;
	uint32_t n = s->exists;

	if (!run->load || run->loop.now_ns >= run->end_ns) {
		if (run->load) {
			imap_mix_over(run);
			s->done = true;
			imap_command(s, OP_LOGOUT, "LOGOUT");
		}
		return;
	}
	op = imap_pick(s);
	s->op_start = bench_now_ns();
	s->step = 0;
	switch (op) {
	case OP_SELECT:
		imap_command(s, op, "SELECT INBOX");
		break;
	case OP_FETCH_HEADERS: {
		uint32_t lo = n > IMAP_HEADER_WINDOW ?
			1 + (uint32_t)(imap_random(s) % (n - IMAP_HEADER_WINDOW + 1)) : 1;
		uint32_t hi = lo + IMAP_HEADER_WINDOW - 1 < n ? lo + IMAP_HEADER_WINDOW - 1 : n;
		imap_command(s, op,
			     "FETCH %u:%u (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS "
			     "(FROM TO CC SUBJECT DATE MESSAGE-ID)])", lo, hi);
		break;
	}
	case OP_FETCH_BODY:
		imap_command(s, op, "FETCH %u (UID BODY.PEEK[])",
			     1 + (uint32_t)(imap_random(s) % n));
		break;
	case OP_STORE:
		imap_command(s, op, "STORE %u %cFLAGS.SILENT (%s)",
			     1 + (uint32_t)(imap_random(s) % n), imap_random(s) % 2 ? '+' : '-',
			     imap_random(s) % 2 ? "\\Seen" : "\\Flagged");
		break;
	case OP_SEARCH:
		switch (imap_random(s) % 4) {
		case 0:
			imap_command(s, op, "SEARCH UNSEEN");
			break;
		case 1:
			imap_command(s, op, "SEARCH FROM \"user%u@\"",
				     (unsigned)(imap_random(s) % 50));
			break;
		case 2:
			imap_command(s, op, "SEARCH SUBJECT \"%s\"",
				     bench_message_word(8 + (unsigned)(imap_random(s) % 8)));
			break;
		default:
			imap_command(s, op, "SEARCH BODY \"%s\"",
				     bench_message_word(40 + (unsigned)(imap_random(s) % 16)));
			break;
		}
		break;
	case OP_APPEND:
		/* The literal goes after "+", when other sessions may have
		 * used the scratch buffer: it is made again then, the same. */
		s->append_index = run->append_index++;
		imap_append_message(s);
		imap_command(s, op, "APPEND INBOX (\\Seen) {%zu}", run->message.len);
		break;
	case OP_EXPUNGE:
		imap_command(s, op, "UID STORE %u +FLAGS.SILENT (\\Deleted)",
			     s->uids[s->nuids - 1]);
		break;
	case OP_IDLE:
		imap_command(s, op, "IDLE");
		break;
	default:
		break;
	}
}

/* mailbox: the timed commands, in order. */
static const char *const imap_script_names[4] = {
	"select", "fetch_flags", "search_header", "search_body",
};

static void imap_script_next(struct imap_session *s)
{
	struct imap_run *run = s->run;

	if (run->script_step == 4) {
		run->script_step = 0;
		run->script_round++;
	}
	if (run->script_round >= run->o->rounds) {
		s->done = true;
		imap_command(s, OP_LOGOUT, "LOGOUT");
		return;
	}
	s->hits = 0;
	s->op_start = bench_now_ns();
	switch (run->script_step) {
	case 0:
		imap_command(s, OP_SCRIPT, "SELECT INBOX");
		break;
	case 1:
		imap_command(s, OP_SCRIPT, "FETCH 1:* (FLAGS)");
		break;
	case 2:
		imap_command(s, OP_SCRIPT, "SEARCH HEADER SUBJECT \"%s\"", bench_message_word(9));
		break;
	default:
		imap_command(s, OP_SCRIPT, "SEARCH BODY \"zyxquorbital\"");
		break;
	}
}

/* The session is logged in and selected: what next, by scenario. */
static void imap_session_ready(struct imap_session *s)
{
	struct imap_run *run = s->run;

	if (!s->ready) {
		s->ready = true;
		run->ready++;
		bench_stat_add(&run->setup, s->setup_start, bench_now_ns());
		imap_ramp(run);
	}
	switch (run->mode) {
	case MODE_MIX:
		imap_mix_next(s);
		break;
	case MODE_MAILBOX:
		imap_script_next(s);
		break;
	default:
		break;
	}
}

/* "aN OK [APPENDUID validity uid]": the new message's UID (RFC 4315). */
static uint32_t imap_appenduid(const char *line)
{
	const char *p = strstr(line, "[APPENDUID ");
	unsigned long validity, uid;

	if (!p || sscanf(p, "[APPENDUID %lu %lu]", &validity, &uid) != 2)
		return 0;
	return (uint32_t)uid;
}

/* The tagged reply to the current command. */
static void imap_tagged(struct imap_session *s, const char *status, const char *line)
{
	struct imap_run *run = s->run;
	bool ok = strncmp(status, "OK", 2) == 0;
	uint64_t now = bench_now_ns();

	if (!ok) {
		if (strncmp(status, "NO [EXPUNGEISSUED]", 18) == 0 && s->op < OP_COUNT) {
			run->expunge_issued++;
		} else {
			imap_error(s, "command failed", line);
			if (s->op >= OP_COUNT && s->op != OP_SCRIPT) {
				bench_conn_close(s->conn, NULL);
				return;
			}
		}
	}
	switch (s->op) {
	case OP_LOGIN:
		s->exists = 0;
		imap_command(s, OP_FIRST_SELECT, "SELECT INBOX");
		return;
	case OP_FIRST_SELECT:
		if (run->mode == MODE_IDLE || run->mode == MODE_CONNECTIONS) {
			imap_command(s, OP_ENTER_IDLE, "IDLE");
			return;
		}
		imap_session_ready(s);
		return;
	case OP_ENTER_IDLE:
		/* IDLE ended (DONE at the end of the run). */
		s->idling = false;
		s->done = true;
		imap_command(s, OP_LOGOUT, "LOGOUT");
		return;
	case OP_LOGOUT:
		bench_conn_close(s->conn, NULL);
		return;
	case OP_SCRIPT:
		bench_stat_add(&run->script[run->script_step], s->op_start, now);
		run->script_hits[run->script_step] = run->script_step == 0 ? s->exists : s->hits;
		run->script_step++;
		imap_script_next(s);
		return;
	case OP_EXPUNGE:
		if (s->step == 0 && ok) {
			s->step = 1;
			imap_command(s, OP_EXPUNGE, "UID EXPUNGE %u", s->uids[s->nuids - 1]);
			return;
		}
		if (ok)
			s->nuids--;
		break;
	case OP_APPEND: {
		uint32_t uid = ok ? imap_appenduid(line) : 0;

		if (uid) {
			if (s->nuids == s->capuids) {
				s->capuids = s->capuids ? s->capuids * 2 : 16;
				s->uids = mem_realloc(s->uids, s->capuids * sizeof(*s->uids));
			}
			s->uids[s->nuids++] = uid;
		}
		break;
	}
	default:
		break;
	}
	if (s->op < OP_COUNT) {
		if (run->load && now <= run->end_ns) {
			bench_stat_add(&run->stats[s->op], s->op_start, now);
			bench_stat_add(&run->all, s->op_start, now);
		}
		imap_mix_next(s);
	}
}

/* A "+" continuation request. */
static void imap_continuation(struct imap_session *s, const char *line)
{
	struct imap_run *run = s->run;

	switch (s->op) {
	case OP_APPEND:
		imap_append_message(s);
		bench_conn_write(s->conn, run->message.data, run->message.len);
		bench_conn_write(s->conn, "\r\n", 2);
		return;
	case OP_IDLE:
		/* In and straight out again: the cost of entering IDLE. */
		bench_conn_write(s->conn, "DONE\r\n", 6);
		return;
	case OP_ENTER_IDLE:
		s->idling = true;
		if (!s->ready)
			imap_session_ready(s);
		return;
	default:
		imap_error(s, "unexpected continuation", line);
		return;
	}
}

/* idle: this client was told of the new message. */
static void imap_woken(struct imap_session *s)
{
	struct imap_run *run = s->run;

	if (!run->round_open || s->woken)
		return;
	s->woken = true;
	run->woken++;
	bench_stat_add(&run->wake, run->round_start, bench_now_ns());
}

/* An untagged response. */
static void imap_untagged(struct imap_session *s, const char *line)
{
	const char *p = line + 2;
	char *end;
	unsigned long n = strtoul(p, &end, 10);

	if (end != p && *end == ' ') {
		if (strncmp(end, " EXISTS", 7) == 0) {
			if (n > s->exists && s->idling && s->run->mode == MODE_IDLE)
				imap_woken(s);
			s->exists = (uint32_t)n;
		} else if (strncmp(end, " EXPUNGE", 8) == 0) {
			if (s->exists > 0)
				s->exists--;
		} else if (strncmp(end, " FETCH", 6) == 0) {
			s->hits++;
		}
		return;
	}
	if (strncmp(p, "SEARCH", 6) == 0) {
		for (p += 6; *p == ' '; ) {
			p++;
			if (*p >= '0' && *p <= '9')
				s->hits++;
			p = strchr(p, ' ');
			if (!p)
				break;
		}
		return;
	}
	if (strncmp(p, "BYE", 3) == 0 && !s->done)
		imap_error(s, "unexpected BYE", line);
}

/* One whole response; line is its first segment (no literal data). */
static void imap_response(struct imap_session *s, char *line)
{
	if (line[0] == '*' && line[1] == ' ') {
		if (s->op == OP_NONE) {
			/* The greeting. */
			if (strncmp(line, "* OK", 4) != 0) {
				imap_error(s, "bad greeting", line);
				bench_conn_close(s->conn, NULL);
				return;
			}
			char user[BENCH_TEXT_MAX];

			bench_account_name(s->run->o, s->account, user);
			imap_command(s, OP_LOGIN, "LOGIN \"%s\" \"%s\"", user, s->run->o->password);
			return;
		}
		imap_untagged(s, line);
		return;
	}
	if (line[0] == '+') {
		imap_continuation(s, line);
		return;
	}
	if (line[0] == 'a') {
		char *end;
		unsigned long tag = strtoul(line + 1, &end, 10);

		if (end != line + 1 && *end == ' ' && tag == s->tag) {
			imap_tagged(s, end + 1, line);
			return;
		}
	}
	imap_error(s, "unexpected response", line);
}

/* Split conn->in into logical responses, skipping literal data. */
static void imap_input(struct bench_conn *conn)
{
	struct imap_session *s = conn->context;

	while (!conn->closing && conn->in.len > 0) {
		char *nl;
		size_t len, consumed;
		char *line;

		if (s->literal_left > 0) {
			size_t take = conn->in.len < s->literal_left ? conn->in.len
								     : (size_t)s->literal_left;
			buf_consume(&conn->in, take);
			s->literal_left -= take;
			continue;
		}
		nl = memchr(conn->in.data, '\n', conn->in.len);
		if (!nl) {
			if (conn->in.len > IMAP_LINE_MAX) {
				imap_error(s, "response line too long", "");
				bench_conn_close(conn, NULL);
			}
			return;
		}
		consumed = (size_t)(nl - conn->in.data) + 1;
		len = consumed - 1;
		line = conn->in.data;
		line[len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (!s->continued) {
			s->head_len = len < IMAP_HEAD_MAX - 1 ? len : IMAP_HEAD_MAX - 1;
			memcpy(s->head, line, s->head_len);
			s->head[s->head_len] = '\0';
		}
		/* A literal at the end: "{123}" (or "{123+}", "~{123}"). */
		if (len >= 3 && line[len - 1] == '}') {
			char *open = memrchr(line, '{', len);
			if (open) {
				s->literal_left = strtoull(open + 1, NULL, 10);
				s->continued = true;
				buf_consume(&conn->in, consumed);
				continue;
			}
		}
		if (s->continued) {
			/* The end of a response that had literals: its first
			 * segment is what we look at. */
			buf_consume(&conn->in, consumed);
			s->continued = false;
			imap_response(s, s->head);
			continue;
		}
		/* A one-line response is handed over whole (a SEARCH answer
		 * can be far longer than head), then consumed; s may be gone
		 * when the response closed the connection, conn is not. */
		imap_response(s, line);
		if (conn->closing)
			return;
		buf_consume(&conn->in, consumed);
	}
}

static void imap_closed(struct bench_conn *conn, const char *why)
{
	struct imap_session *s = conn->context;
	struct imap_run *run = s->run;

	if (!s->done) {
		imap_error(s, "connection lost", why ? why : "closed");
		if (!s->ready)
			run->failed++;
	}
	if (s->ready && s->idling && run->mode == MODE_IDLE && run->round_open && !s->woken)
		s->woken = true; /* counted as missed at the end of the round */
	run->live--;
	run->sessions[s->id] = NULL;
	free(s->uids);
	free(s);
	if (run->live == 0 && run->started >= run->o->clients)
		run->loop.stopping = true;
	if (run->started < run->o->clients)
		imap_ramp(run);
}

/* ---- running a scenario ------------------------------------------------------------ */

/* Print a phase marker, so the harness can read the server's CPU time or
 * memory at the right moment. */
static void imap_phase(struct imap_run *run, const char *name)
{
	printf("phase scenario=%s target=%s name=%s\n", run->o->scenario, run->o->label, name);
	fflush(stdout);
}

/* Every client set up (or failed). */
static bool imap_all_ready(const struct imap_run *run)
{
	return run->started >= run->o->clients && run->ready + run->failed >= run->o->clients;
}

/* End the run: clients in IDLE leave it, then every client logs out. */
static void imap_finish(struct imap_run *run)
{
	for (unsigned i = 0; i < run->o->clients; i++) {
		struct imap_session *s = run->sessions[i];

		if (!s || s->done)
			continue;
		if (s->idling) {
			s->idling = false;
			bench_conn_write(s->conn, "DONE\r\n", 6);
		} else if (s->ready && s->op != OP_ENTER_IDLE) {
			s->done = true;
			imap_command(s, OP_LOGOUT, "LOGOUT");
		}
	}
	if (run->live == 0)
		run->loop.stopping = true;
}

static void imap_mix_tick(struct imap_run *run, uint64_t now)
{
	if (!run->load && imap_all_ready(run)) {
		run->load = true;
		run->start_ns = now;
		run->end_ns = now + (uint64_t)(run->o->duration * 1e9);
		imap_phase(run, "load-start");
		for (unsigned i = 0; i < run->o->clients; i++)
			if (run->sessions[i] && run->sessions[i]->ready)
				imap_mix_next(run->sessions[i]);
	}
	if (run->load && now >= run->end_ns)
		imap_mix_over(run);
}

static void imap_idle_delivered(void *context, unsigned errors, uint64_t dot_ns)
{
	struct imap_run *run = context;

	run->errors += errors;
	run->delivering = false;
}

/* Close the round: who was not told in time missed it. */
static void imap_idle_close_round(struct imap_run *run, uint64_t now)
{
	unsigned idlers = 0;

	for (unsigned i = 0; i < run->o->clients; i++) {
		struct imap_session *s = run->sessions[i];

		if (s && s->idling) {
			idlers++;
			if (!s->woken)
				run->missed++;
		}
	}
	if (run->missed > 0 && run->woken < idlers)
		fprintf(stderr, "buzon-bench: %s: round %u: %u of %u clients not told within %.0f s\n",
			run->o->label, run->round, idlers - run->woken, idlers, IMAP_IDLE_WAIT_S);
	run->round_open = false;
	run->round++;
	run->next_round_at = now + IMAP_IDLE_PAUSE_MS * 1000000ull;
}

static void imap_idle_tick(struct imap_run *run, uint64_t now)
{
	unsigned idlers = 0;

	if (!run->load) {
		if (!imap_all_ready(run) || !run->sender)
			return;
		run->load = true;
		run->next_round_at = now;
		imap_phase(run, "load-start");
	}
	if (run->round_open) {
		for (unsigned i = 0; i < run->o->clients; i++)
			if (run->sessions[i] && run->sessions[i]->idling)
				idlers++;
		if ((run->woken >= idlers && !run->delivering) || now > run->round_end_by)
			imap_idle_close_round(run, now);
		return;
	}
	if (run->load_over)
		return;
	if (run->round >= run->o->rounds) {
		run->load_over = true;
		imap_phase(run, "load-end");
		bench_smtp_sender_free(run->sender);
		run->sender = NULL;
		imap_finish(run);
		return;
	}
	if (now < run->next_round_at || run->delivering)
		return;
	for (unsigned i = 0; i < run->o->clients; i++)
		if (run->sessions[i])
			run->sessions[i]->woken = false;
	run->woken = 0;
	run->round_open = true;
	run->delivering = true;
	run->round_start = bench_now_ns();
	run->round_end_by = run->round_start + (uint64_t)(IMAP_IDLE_WAIT_S * 1e9);
	if (bench_smtp_sender_send(run->sender, run->round,
				   run->o->accounts < run->o->clients ? run->o->accounts
								       : run->o->clients,
				   imap_idle_delivered, run) < 0) {
		fprintf(stderr, "buzon-bench: %s: the delivery session is gone\n", run->o->label);
		run->errors++;
		run->delivering = false;
		run->round = run->o->rounds;
	}
}

static void imap_connections_tick(struct imap_run *run, uint64_t now)
{
	if (!run->load) {
		if (!imap_all_ready(run))
			return;
		run->load = true;
		run->start_ns = now;
		run->end_ns = now + (uint64_t)(run->o->duration * 1e9);
		bench_report(run->o, "connections.open", run->ready, "count");
		bench_report(run->o, "connections.failed", run->failed, "count");
		imap_phase(run, "ready");
	}
	if (!run->load_over &&
	    (run->o->hold_stdin ? run->loop.stdin_ready : now >= run->end_ns)) {
		run->load_over = true;
		imap_phase(run, "release");
		imap_finish(run);
	}
}

static void imap_tick(struct bench_loop *loop, void *context)
{
	struct imap_run *run = context;
	uint64_t now = loop->now_ns;

	switch (run->mode) {
	case MODE_MIX:
		imap_mix_tick(run, now);
		break;
	case MODE_IDLE:
		imap_idle_tick(run, now);
		break;
	case MODE_CONNECTIONS:
		imap_connections_tick(run, now);
		break;
	case MODE_MAILBOX:
		break;
	}
	if (run->live == 0 && run->started >= run->o->clients)
		loop->stopping = true;
	/* A server that stops answering must not hang the run. */
	if (run->load_over && run->over_at == 0)
		run->over_at = now;
	if ((run->over_at && now > run->over_at + IMAP_GIVE_UP_S * 1000000000ull) ||
	    (!run->load && now > run->start_ns + IMAP_GIVE_UP_S * 10 * 1000000000ull)) {
		fprintf(stderr, "buzon-bench: %s: %u clients still busy, giving up\n",
			run->o->label, run->live);
		run->errors++;
		loop->stopping = true;
	}
}

/* "select=5,fetch-headers=25,...": names from imap_op_names; the ones not
 * named keep their default weight. */
static int imap_parse_weights(struct imap_run *run, const char *text)
{
	memcpy(run->weights, imap_default_weights, sizeof(run->weights));
	while (text && *text) {
		const char *eq = strchr(text, '=');
		const char *comma = strchr(text, ',');
		size_t len = eq ? (size_t)(eq - text) : 0;
		bool found = false;

		if (!eq || (comma && comma < eq))
			return -1;
		for (int i = 0; i < OP_COUNT; i++) {
			if (strlen(imap_op_names[i]) == len && strncmp(imap_op_names[i], text, len) == 0) {
				char *end;
				unsigned long w = strtoul(eq + 1, &end, 10);
				if (end == eq + 1 || (*end != ',' && *end != '\0') || w > 1000)
					return -1;
				run->weights[i] = (unsigned)w;
				found = true;
			}
		}
		if (!found)
			return -1;
		text = comma ? comma + 1 : NULL;
	}
	run->weight_total = 0;
	for (int i = 0; i < OP_COUNT; i++)
		run->weight_total += run->weights[i];
	return run->weight_total > 0 ? 0 : -1;
}

static void imap_report(struct imap_run *run)
{
	const struct bench_options *o = run->o;
	char name[128];

	switch (run->mode) {
	case MODE_MIX: {
		double seconds = (double)(run->end_ns - run->start_ns) / 1e9;

		bench_report(o, "mix.clients", run->ready, "count");
		for (int i = 0; i < OP_COUNT; i++) {
			if (run->weights[i] == 0)
				continue;
			snprintf(name, sizeof(name), "mix.%s", imap_op_names[i]);
			bench_report_stat(o, name, &run->stats[i], seconds);
		}
		run->all.errors = run->errors;
		bench_report_stat(o, "mix.all", &run->all, seconds);
		bench_report(o, "mix.expunge_issued", (double)run->expunge_issued, "count");
		break;
	}
	case MODE_IDLE:
		bench_report(o, "idle.clients", run->ready, "count");
		bench_report(o, "idle.rounds", run->round, "count");
		bench_report(o, "idle.wakeups", (double)run->wake.count, "count");
		bench_report(o, "idle.missed", run->missed, "count");
		if (run->wake.count > 0) {
			bench_report(o, "idle.wake_p50_ms", bench_stat_percentile(&run->wake, 50) / 1000,
				     "ms");
			bench_report(o, "idle.wake_p99_ms", bench_stat_percentile(&run->wake, 99) / 1000,
				     "ms");
			bench_report(o, "idle.wake_max_ms", bench_stat_percentile(&run->wake, 100) / 1000,
				     "ms");
		}
		break;
	case MODE_CONNECTIONS:
		break;
	case MODE_MAILBOX:
		for (int i = 0; i < 4; i++) {
			if (run->script[i].count == 0)
				continue;
			snprintf(name, sizeof(name), "mailbox.%s.best_ms", imap_script_names[i]);
			bench_report(o, name, bench_stat_percentile(&run->script[i], 0) / 1000, "ms");
			snprintf(name, sizeof(name), "mailbox.%s.median_ms", imap_script_names[i]);
			bench_report(o, name, bench_stat_percentile(&run->script[i], 50) / 1000, "ms");
			snprintf(name, sizeof(name), "mailbox.%s.results", imap_script_names[i]);
			bench_report(o, name, (double)run->script_hits[i], "count");
		}
		break;
	}
	if (run->setup.count > 0) {
		bench_report(o, "setup.p50_ms", bench_stat_percentile(&run->setup, 50) / 1000, "ms");
		bench_report(o, "setup.p99_ms", bench_stat_percentile(&run->setup, 99) / 1000, "ms");
	}
	bench_report(o, "errors", (double)run->errors, "count");
}

static long imap_run(const struct bench_options *o, enum imap_mode mode)
{
	struct imap_run *run = mem_zalloc(sizeof(*run));
	long errors;

	run->o = o;
	run->mode = mode;
	if (imap_parse_weights(run, mode == MODE_MIX ? o->weights : NULL) < 0) {
		fprintf(stderr, "buzon-bench: bad --weights '%s' (names: select, fetch-headers, "
				"fetch-body, store, search, append, expunge, idle)\n", o->weights);
		free(run);
		return -1;
	}
	if (bench_loop_init(&run->loop) < 0 || (o->tls && bench_loop_enable_tls(&run->loop) < 0)) {
		perror("buzon-bench: loop");
		free(run);
		return -1;
	}
	run->loop.tick = imap_tick;
	run->loop.tick_context = run;
	run->loop.tick_ms = 10;
	run->loop.stdin_watch = mode == MODE_CONNECTIONS && o->hold_stdin;
	run->sessions = mem_zalloc(o->clients * sizeof(*run->sessions));
	if (mode == MODE_IDLE) {
		run->sender = bench_smtp_sender_new(&run->loop, o);
		if (!run->sender)
			run->errors++;
	}
	run->start_ns = bench_now_ns();
	imap_ramp(run);
	if (bench_loop_run(&run->loop) < 0) {
		perror("buzon-bench: epoll_wait");
		run->errors++;
	}
	if (mode == MODE_IDLE && !run->load) {
		fprintf(stderr, "buzon-bench: %s: the clients never all reached IDLE\n", o->label);
		run->errors++;
	}
	if (run->sender)
		bench_smtp_sender_free(run->sender);
	for (unsigned i = 0; i < o->clients; i++) {
		if (run->sessions[i]) {
			run->sessions[i]->done = true;
			bench_conn_close(run->sessions[i]->conn, NULL);
		}
	}
	imap_report(run);
	/* A client not told of new mail in time is a figure (idle.missed),
	 * not a protocol error: the server answered everything it was asked. */
	errors = (long)run->errors;
	for (int i = 0; i < OP_COUNT; i++)
		bench_stat_free(&run->stats[i]);
	for (int i = 0; i < 4; i++)
		bench_stat_free(&run->script[i]);
	bench_stat_free(&run->all);
	bench_stat_free(&run->setup);
	bench_stat_free(&run->wake);
	buf_free(&run->message);
	free(run->sessions);
	bench_loop_fini(&run->loop);
	free(run);
	return errors;
}

long bench_imap_mix(const struct bench_options *options)
{
	return imap_run(options, MODE_MIX);
}

long bench_imap_idle(const struct bench_options *options)
{
	return imap_run(options, MODE_IDLE);
}

long bench_imap_connections(const struct bench_options *options)
{
	return imap_run(options, MODE_CONNECTIONS);
}

long bench_imap_mailbox(const struct bench_options *options)
{
	return imap_run(options, MODE_MAILBOX);
}
