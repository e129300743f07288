/*
 * message: the mail every benchmark sends, generated the same way for every
 * server so that all of them store and search the same bytes.
 *
 * A message depends only on (seed, index, size): a small xorshift generator
 * seeded from both picks a sender among BENCH_SENDERS, three subject words
 * and body words from a vocabulary with a skewed distribution (word rank r
 * is drawn about 1/(r+1) of the time), so "SEARCH BODY word" has hits for a
 * frequent word and few for a rare one. Lines are at most 76 characters and
 * never start with ".", so SMTP DATA needs no dot-stuffing.
 */
#include "bench.h"

#include <stdio.h>
#include <string.h>

/* Senders user0..user49 at sender.bench.test. */
#define BENCH_SENDERS 50
/* Body lines are wrapped before this column (RFC 5322 §2.1.1 says 78). */
#define BENCH_LINE 76

/* Pronounceable words; index = rank. */
static const char *const message_words[] = {
	"the", "mail", "server", "lorem", "ipsum", "report", "meeting", "budget",
	"project", "review", "weekly", "status", "update", "invoice", "travel", "draft",
	"quarter", "release", "design", "network", "storage", "backup", "kernel", "socket",
	"planning", "customer", "contract", "delivery", "schedule", "question", "answer", "notes",
	"garden", "holiday", "photo", "family", "dinner", "concert", "ticket", "flight",
	"bakamoru", "delitavo", "fenoraku", "gimolesu", "hupatine", "jorevasi", "kolumina",
	"lemavoru", "minotaka", "nusivelo", "pakorime", "quovadis", "rimelato", "sokanubi",
	"tulevina", "vonarise", "wekolumi", "zyxquorbital",
};

#define MESSAGE_WORDS (sizeof(message_words) / sizeof(message_words[0]))

const char *bench_message_word(unsigned rank)
{
	return message_words[rank % MESSAGE_WORDS];
}

/* xorshift64*: deterministic, fast, good enough for picking words. */
static uint64_t message_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 2685821657736338717ull;
}

/* A rank with probability about 1/(rank+1) (harmonic weights, inverted by
 * a short table walk: the vocabulary is small). */
static unsigned message_rank(uint64_t *state)
{
	static const double harmonic = 4.63; /* H(58), near enough */
	double u = (double)(message_random(state) >> 11) / 9007199254740992.0 * harmonic;
	unsigned r = 0;

	for (r = 0; r < MESSAGE_WORDS - 1; r++) {
		u -= 1.0 / (r + 1);
		if (u <= 0)
			break;
	}
	return r;
}

void bench_message_generate(struct buf *out, unsigned seed, unsigned index, unsigned size,
			    const char *to)
{
	uint64_t state = ((uint64_t)seed << 32 | index) * 0x9E3779B97F4A7C15ull + 1;
	unsigned sender;
	size_t start = out->len, line = 0;
	/* The rarest word goes into one message in a thousand. */
	bool rare = index % 1000 == 7;

	message_random(&state);
	sender = (unsigned)(message_random(&state) % BENCH_SENDERS);
	buf_printf(out,
		   "Return-Path: <user%u@sender.bench.test>\r\n"
		   "From: User %u <user%u@sender.bench.test>\r\n"
		   "To: <%s>\r\n"
		   "Subject: %s %s %s\r\n"
		   "Date: Mon, 23 Nov 2026 %02u:%02u:%02u +0000\r\n"
		   "Message-ID: <bench.%u.%u@sender.bench.test>\r\n"
		   "MIME-Version: 1.0\r\n"
		   "Content-Type: text/plain; charset=us-ascii\r\n"
		   "\r\n",
		   sender, sender, sender, to, bench_message_word(message_rank(&state) + 8),
		   bench_message_word(message_rank(&state) + 8),
		   bench_message_word(message_rank(&state) + 8), index / 3600 % 24, index / 60 % 60,
		   index % 60, seed, index);
	if (rare)
		buf_append_str(out, "zyxquorbital ");
	line = out->len;
	while (out->len - start < size) {
		const char *w = bench_message_word(message_rank(&state));
		size_t n = strlen(w);

		/* The planted rare word only in planted messages. */
		if (strcmp(w, "zyxquorbital") == 0)
			w = "lorem", n = 5;
		if (out->len - line + n + 1 > BENCH_LINE) {
			buf_append_str(out, "\r\n");
			line = out->len;
		} else if (out->len != line) {
			buf_append_char(out, ' ');
		}
		buf_append(out, w, n);
	}
	buf_append_str(out, "\r\n");
}
