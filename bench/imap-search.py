#!/usr/bin/env python3
"""imap-search: SEARCH, SORT and THREAD latency on a big mailbox, buzon beside
Dovecot (Debian's dovecot-imapd, as shipped: no FTS plugin) on the same data.

    python3 bench/imap-search.py [--messages 100000 | --quick] [--runs 3]
                                 [--batch 500] [--buzon bin/buzon] [--seed 1]

The closing figure of issue 3. Generates N varied messages (deterministic for
a seed): ~2,000 senders with a skewed distribution, threads through
In-Reply-To / References (60 % of messages answer a recent one, a few answer
messages that are not in the mailbox), subjects with Re: / RE: Re: / Fwd: /
[list] prefixes, Date headers roughly in arrival order with jitter and
varied zones, and bodies of 120-450 words drawn from a Zipf-distributed
synthetic vocabulary (so a "common" word is in about a quarter of the
messages and a mid-rank one in a few percent), plus a few planted rare words.

Both servers run on loopback from temporary directories (buzon: harness.Server
with the release build, a copy of bin/buzon -- run `make` first; Dovecot:
bench/common.py's private instance, as bench/compare runs it, passwd-file
auth and Maildir) and get the same
messages in the same order, by MULTIAPPEND batches of --batch messages with
LITERAL+ over one connection. Then, for each command, --runs rounds of
(buzon, Dovecot) alternately on one selected connection each, timed at the
client from the first byte sent to the last byte of the tagged reply:

  SEARCH BODY (rare, common), SEARCH TEXT (mid-rank word), SEARCH FROM,
  SEARCH SUBJECT, SORT (DATE|SUBJECT|FROM), THREAD REFERENCES,
  THREAD ORDEREDSUBJECT, FETCH 1:* (FLAGS).

Prints one table (best and median of the runs for each server, ratio =
Dovecot / buzon on the best times) and checks that both servers return the
same SEARCH results (also against the count the generator expects: a
case-insensitive substring test), and whether their SORT / THREAD answers are
identical. The first run of each command is the colder one (Dovecot fills its
index cache on demand): --runs 1 shows it alone.

Not part of `make check`. Needs root and dovecot-imapd, dovecot-lmtpd
(apt-get install dovecot-imapd dovecot-lmtpd).
"""

import argparse
import bisect
import itertools
import os
import random
import re
import shutil
import socket
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (the private Dovecot)
from common import harness  # noqa: E402  (Server, quote)

ROOT = common.ROOT

USER = 'bench@example.test'
PASSWORD = 'bench pw'

# Planted words: (word, how many messages get it in their body).
RARE = (('zyxquorbital', 7), ('flibbertigibbet', 1))
COMMON_RANK = 100     # ~25 % of messages have it in the body
TEXT_RANK = 1000      # ~3 %
SUBJECT_RANK = 40     # subjects draw from the top of the vocabulary
SENDERS = 2000


# ---- the messages -----------------------------------------------------------------

def vocabulary(rng, size=6000):
    """size distinct pronounceable lowercase words of 6 to 10 letters."""
    cons = 'bcdfghjklmnprstvwz'
    vows = 'aeiou'
    seen, words = set(), []
    while len(words) < size:
        w = ''.join(rng.choice(cons) + rng.choice(vows) for _ in range(rng.randint(3, 4)))
        if rng.random() < 0.3:
            w += rng.choice('nrst')
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


def rfc5322_date(t, zone_minutes):
    lt = time.gmtime(t + zone_minutes * 60)
    sign = '+' if zone_minutes >= 0 else '-'
    z = abs(zone_minutes)
    return time.strftime('%a, %d %b %Y %H:%M:%S ', lt) + '%s%02d%02d' % (sign, z // 60, z % 60)


def wrap(words, width=72):
    lines, cur, n = [], [], 0
    for w in words:
        if n + len(w) + 1 > width and cur:
            lines.append(' '.join(cur))
            cur, n = [], 0
        cur.append(w)
        n += len(w) + 1
    if cur:
        lines.append(' '.join(cur))
    return lines


def generate(n, seed):
    """(messages as bytes, a dict of the needles used)."""
    rng = random.Random(seed)
    vocab = vocabulary(rng)
    cum = list(itertools.accumulate(1.0 / (r + 1) for r in range(len(vocab))))
    sender_cum = list(itertools.accumulate(1.0 / (r + 1) ** 0.8 for r in range(SENDERS)))
    sender_ids = list(range(SENDERS))
    rng.shuffle(sender_ids)   # user0 is not always the most prolific
    names = ['%s %s' % (rng.choice(vocab[200:]).capitalize(), rng.choice(vocab[200:]).capitalize())
             for _ in range(SENDERS)]
    rare_at = {}
    for word, count in RARE:
        for i in rng.sample(range(n), min(count, n)):
            rare_at.setdefault(i, []).append(word)
    subjects, refs = [], []
    base = 1767225600  # 2026-01-01
    zones = (0, 0, 0, 60, 120, -300, -420, 330, 540)
    prefixes = ('Re: ', 'Re: ', 'Re: ', 'RE: Re: ', 'Fwd: ', '[list] Re: ', 'Re: Re: ')
    out = []
    for i in range(n):
        s = sender_ids[bisect.bisect(sender_cum, rng.random() * sender_cum[-1])]
        ref_list, parent = [], None
        r = rng.random()
        if i and r < 0.6:
            parent = max(0, i - 1 - int(rng.expovariate(1 / 300.0)))
            ref_list = (refs[parent] + ['<m%d@bench.example.test>' % parent])[-10:]
            subject = rng.choice(prefixes) + re.sub(r'^((re|fwd|\[list\]):? *)*', '',
                                                    subjects[parent], flags=re.I)
        elif r < 0.62:
            ref_list = ['<lost%d@elsewhere.example.test>' % rng.randrange(1000)]
            subject = 'Re: ' + ' '.join(rng.choice(vocab[:SUBJECT_RANK * 5])
                                        for _ in range(rng.randint(2, 6)))
        else:
            subject = ' '.join(rng.choice(vocab[:SUBJECT_RANK * 5])
                               for _ in range(rng.randint(2, 7)))
            if rng.random() < 0.1:
                subject = rng.choice(('[list] ', 'Fwd: ', '[ANN] ')) + subject
        subjects.append(subject)
        refs.append(ref_list)
        t = base + i * 30 + rng.randint(-3600, 3600)
        head = ['Date: ' + rfc5322_date(t, rng.choice(zones)),
                'From: %s <user%d@example.test>' % (names[s], s),
                'To: %s' % ', '.join('t%d@example.test' % rng.randrange(300)
                                     for _ in range(rng.randint(1, 3))),
                'Subject: ' + subject,
                'Message-ID: <m%d@bench.example.test>' % i]
        if ref_list:
            head.append('In-Reply-To: ' + ref_list[-1])
            head.append('References: ' + '\r\n '.join(ref_list))
        head += ['MIME-Version: 1.0', 'Content-Type: text/plain; charset=us-ascii']
        words = rng.choices(vocab, cum_weights=cum, k=rng.randint(120, 450))
        for w in rare_at.get(i, ()):
            words.insert(rng.randrange(len(words)), w)
        body = []
        for k, line in enumerate(wrap(words)):
            body.append(line)
            if k % 6 == 5:
                body.append('')
        if parent is not None and rng.random() < 0.5:
            body += ['', 'On an earlier day, someone wrote:'] + \
                    ['> ' + l for l in wrap(rng.choices(vocab, cum_weights=cum, k=40))]
        out.append(('\r\n'.join(head) + '\r\n\r\n' + '\r\n'.join(body) + '\r\n').encode())
    needles = {
        'rare': RARE[0][0],
        'common': vocab[COMMON_RANK],
        'text': vocab[TEXT_RANK],
        'from': 'user42',
        'subject': vocab[SUBJECT_RANK],
    }
    return out, needles


def expected(messages, needle, part):
    """How many messages have needle (case-insensitively) in part: body,
    text (the whole message), or one header field."""
    needle = needle.lower().encode()
    count = 0
    for m in messages:
        head, _, body = m.partition(b'\r\n\r\n')
        if part == 'body':
            hay = body
        elif part == 'text':
            hay = m
        else:
            found = re.search(rb'^' + part.encode() + rb':(.*(?:\r\n[ \t].*)*)', head,
                              re.I | re.M)
            hay = found.group(1) if found else b''
        count += needle in hay.lower()
    return count


# ---- a lean client ----------------------------------------------------------------

class Client:
    """One IMAP connection: send a command, read raw bytes up to its tagged
    line (no literals in the answers we time), timed at the client."""

    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=900)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.n = 0
        self.buf = b''
        self.greeting = self._until_line()

    def _until_line(self):
        while b'\r\n' not in self.buf:
            self.buf += self.sock.recv(65536)
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line

    def command(self, text):
        """(elapsed seconds, untagged response bytes, tagged line)."""
        self.n += 1
        tag = b'b%d' % self.n
        data = text if isinstance(text, bytes) else text.encode()
        acc = bytearray(b'\r\n' + self.buf)
        self.buf = b''
        mark = b'\r\n' + tag + b' '
        t0 = time.perf_counter()
        self.sock.sendall(tag + b' ' + data + b'\r\n')
        start = 0
        while True:
            pos = acc.find(mark, start)
            if pos >= 0:
                end = acc.find(b'\r\n', pos + 2)
                if end >= 0:
                    break
                start = pos
            else:
                start = max(0, len(acc) - len(mark))
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError('server closed the connection')
            acc += chunk
        elapsed = time.perf_counter() - t0
        tagged = acc[pos + 2:end].decode('latin-1')
        self.buf = bytes(acc[end + 2:])
        return elapsed, bytes(acc[2:pos + 2]), tagged

    def ok(self, text):
        elapsed, untagged, tagged = self.command(text)
        if tagged.split(' ')[1] != 'OK':
            raise SystemExit('%r failed: %s' % (text if isinstance(text, str) else text[:80],
                                                 tagged))
        return elapsed, untagged

    def close(self):
        try:
            self.command('LOGOUT')
        except Exception:
            pass
        self.sock.close()


def load(port, batches):
    """Log in and MULTIAPPEND every batch; returns the elapsed seconds."""
    c = Client(port)
    c.ok('LOGIN %s %s' % (harness.quote(USER), harness.quote(PASSWORD)))
    t0 = time.perf_counter()
    for b in batches:
        c.ok(b)
    elapsed = time.perf_counter() - t0
    c.close()
    return elapsed


def batches_of(messages, size):
    out = []
    for start in range(0, len(messages), size):
        parts = [b'APPEND INBOX']
        for m in messages[start:start + size]:
            parts.append(b' {%d+}\r\n' % len(m) + m)
        out.append(b''.join(parts))
    return out


# ---- buzon ------------------------------------------------------------------------

def start_buzon(binary, work):
    copy = os.path.join(work, 'buzon')
    shutil.copy2(binary, copy)   # a `make` by someone else mid-run changes nothing
    s = harness.Server(accounts={USER: PASSWORD}, listeners=('imap',),
                       config={'log_level': 'warn'}, buzon=copy)
    s.__enter__()
    return s, s.ports['imap']


def du(path):
    total = 0
    for base, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(base, name)).st_blocks * 512
            except OSError:
                pass
    return total


# ---- the answers ------------------------------------------------------------------

def untagged(data, word):
    """The untagged lines '* WORD ...' (their text after the word)."""
    prefix = b'* ' + word + b' '
    bare = b'* ' + word
    out = []
    for line in data.split(b'\r\n'):
        if line.startswith(prefix):
            out.append(line[len(prefix):])
        elif line == bare:
            out.append(b'')
    return out


def answer(kind, data):
    """What a response says, for comparing the servers: SEARCH: the set of
    numbers; SORT: the list; THREAD: the text; FETCH: how many."""
    if kind == 'SEARCH':
        return frozenset(int(x) for l in untagged(data, b'SEARCH') for x in l.split())
    if kind == 'SORT':
        return tuple(int(x) for l in untagged(data, b'SORT') for x in l.split())
    if kind == 'THREAD':
        return b''.join(untagged(data, b'THREAD'))
    return len(re.findall(rb'^\* \d+ FETCH ', data, re.M))


def describe(kind, a):
    if kind == 'SEARCH':
        return '%d hits' % len(a)
    if kind == 'SORT':
        return '%d numbers' % len(a)
    if kind == 'THREAD':
        return '%d threads' % thread_count(a)
    return '%d FETCH' % a


def thread_count(text):
    depth = count = 0
    for ch in text.decode('latin-1'):
        if ch == '(':
            if depth == 0:
                count += 1
            depth += 1
        elif ch == ')':
            depth -= 1
    return count


def sort_diff(a, b):
    """Where two SORT answers first differ, and in how many positions."""
    first = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), None)
    return first, sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--messages', type=int, default=100000)
    ap.add_argument('--quick', action='store_true', help='10,000 messages')
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--batch', type=int, default=500, help='messages per MULTIAPPEND')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--buzon', default=os.path.join(ROOT, 'bin', 'buzon'))
    args = ap.parse_args()
    n = 10000 if args.quick else args.messages

    t0 = time.monotonic()
    messages, needles = generate(n, args.seed)
    batches = batches_of(messages, args.batch)
    size = sum(len(m) for m in messages)
    print('# %d messages, %.1f MB, generated in %.1f s; needles: %s'
          % (n, size / 1e6, time.monotonic() - t0,
             ', '.join('%s=%s' % kv for kv in needles.items())), flush=True)
    q = harness.quote
    commands = [
        ('SEARCH BODY %s (rare)' % needles['rare'], 'SEARCH', 'SEARCH BODY ' + q(needles['rare']),
         (needles['rare'], 'body')),
        ('SEARCH BODY %s (common)' % needles['common'], 'SEARCH',
         'SEARCH BODY ' + q(needles['common']), (needles['common'], 'body')),
        ('SEARCH TEXT %s' % needles['text'], 'SEARCH', 'SEARCH TEXT ' + q(needles['text']),
         (needles['text'], 'text')),
        ('SEARCH FROM %s' % needles['from'], 'SEARCH', 'SEARCH FROM ' + q(needles['from']),
         (needles['from'], 'from')),
        ('SEARCH SUBJECT %s' % needles['subject'], 'SEARCH',
         'SEARCH SUBJECT ' + q(needles['subject']), (needles['subject'], 'subject')),
        ('SORT (DATE)', 'SORT', 'SORT (DATE) UTF-8 ALL', None),
        ('SORT (SUBJECT)', 'SORT', 'SORT (SUBJECT) UTF-8 ALL', None),
        ('SORT (FROM)', 'SORT', 'SORT (FROM) UTF-8 ALL', None),
        ('THREAD REFERENCES', 'THREAD', 'THREAD REFERENCES UTF-8 ALL', None),
        ('THREAD ORDEREDSUBJECT', 'THREAD', 'THREAD ORDEREDSUBJECT UTF-8 ALL', None),
        ('FETCH 1:* (FLAGS)', 'FETCH', 'FETCH 1:* (FLAGS)', None),
    ]

    work = tempfile.mkdtemp(prefix='imap-search-bench-')
    buzon = dovecot = None
    try:
        buzon, bport = start_buzon(os.path.abspath(args.buzon), work)
        dovecot = common.Dovecot([USER], PASSWORD, name='dovecot')
        ports = {'buzon': bport, 'dovecot': dovecot.imap_port}
        loaded = {}
        for name in ('buzon', 'dovecot'):
            loaded[name] = load(ports[name], batches)
            print('# loaded %s in %.1f s' % (name, loaded[name]), flush=True)
        print('# on disk: buzon %.0f MB (data dir), Dovecot %.0f MB (maildir + indexes)'
              % (du(buzon.data_dir) / 1e6, du(os.path.join(dovecot.dir, 'home')) / 1e6), flush=True)
        del batches

        conns, selected = {}, {}
        for name in ('buzon', 'dovecot'):
            c = Client(ports[name])
            c.ok('LOGIN %s %s' % (q(USER), q(PASSWORD)))
            selected[name], data = c.ok('SELECT INBOX')
            m = re.search(rb'\* (\d+) EXISTS', data)
            assert m and int(m.group(1)) == n, (name, data[:300])
            conns[name] = c

        rows, problems = [], []
        for label, kind, cmd, expect in commands:
            times = {'buzon': [], 'dovecot': []}
            answers = {}
            for _ in range(args.runs):
                for name in ('buzon', 'dovecot'):
                    elapsed, data = conns[name].ok(cmd)
                    times[name].append(elapsed)
                    answers[name] = answer(kind, data)
            b, d = answers['buzon'], answers['dovecot']
            note = describe(kind, b)
            if b != d:
                if kind == 'SORT':
                    first, count = sort_diff(b, d)
                    note += '; differ in %d positions (first at %s)' % (count, first)
                elif kind == 'SEARCH':
                    note += ' vs %d: MISMATCH (%d only buzon, %d only Dovecot)' % (
                        len(d), len(b - d), len(d - b))
                else:
                    note += ' vs %s: differ' % describe(kind, d)
                problems.append('%s: %s' % (label, note))
            else:
                note += ', same' if kind != 'FETCH' else ''
            if expect is not None:
                want = expected(messages, *expect)
                if want != len(b) or want != len(d):
                    problems.append('%s: generator expects %d, buzon %d, Dovecot %d'
                                    % (label, want, len(b), len(d)))
                note += ' (expected %d)' % want
            rows.append((label, times['buzon'], times['dovecot'], note))
            print('#   %-32s buzon %s   dovecot %s' % (
                label, ' '.join('%.3f' % x for x in times['buzon']),
                ' '.join('%.3f' % x for x in times['dovecot'])), flush=True)
        for c in conns.values():
            c.close()

        def ms(x):
            return '%.1f' % (x * 1000) if x < 10 else '%.0f' % (x * 1000)

        print()
        print('| figure (%d messages) | buzon ms, best (median) | Dovecot ms, best (median) '
              '| ratio Dovecot/buzon (best) | results |' % n)
        print('|---|---:|---:|---:|---|')
        print('| load: MULTIAPPEND x%d | %.1f s | %.1f s | %.2f | %d messages |'
              % (args.batch, loaded['buzon'], loaded['dovecot'],
                 loaded['dovecot'] / loaded['buzon'], n))
        print('| SELECT INBOX (first, after load) | %s | %s | %.1f | |'
              % (ms(selected['buzon']), ms(selected['dovecot']),
                 selected['dovecot'] / selected['buzon']))
        for label, b, d, note in rows:
            ratio = min(d) / min(b)
            print('| %s | %s (%s) | %s (%s) | %s | %s |'
                  % (label, ms(min(b)), ms(statistics.median(b)), ms(min(d)),
                     ms(statistics.median(d)), ('%.2f' if ratio < 1 else '%.1f') % ratio, note))
        print()
        if problems:
            print('Differences between the servers:')
            for p in problems:
                print('- ' + p)
        else:
            print('No differences: every SEARCH gave the same set on both servers and the '
                  'count the generator expects; SORT and THREAD answers identical.')
    finally:
        if dovecot is not None:
            dovecot.stop()
        if buzon is not None:
            buzon.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
