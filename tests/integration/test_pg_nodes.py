"""Two buzon nodes on one PostgreSQL database (issue 8; DESIGN.md rules 1,
3, 4 and 7): two `buzon serve` processes, each with its own data_dir (TLS
keys, queue) and ports, sharing the store. Run by make check's postgres
section (BUZON_STORE=postgres); skipped in the SQLite run.

  - IDLE on node A hears an APPEND and an LMTP delivery made on node B
    (LISTEN/NOTIFY; the latency is printed, only a generous wait asserted);
  - 4 clients appending to one mailbox through both nodes at once get
    unique UIDs, ascending for each client, and the mailbox ends with all
    of them and UIDNEXT past the last;
  - kill -9 of node A while clients append through it: every APPEND that
    was acknowledged is there, read through node B, which keeps serving;
  - QRESYNC (RFC 7162) across nodes: changes made on B reach a session on A
    as untagged updates, and a QRESYNC SELECT on A after changes on B gets
    VANISHED (EARLIER) and the changed flags with their MODSEQ.
"""

import re
import socket
import threading
import time
import unittest

import harness

ALICE = 'alice@example.test'
BOB = 'bob@example.test'
ACCOUNTS = {ALICE: 'alice pw', BOB: 'bob pw'}

# Generous: cross-node pushes go through PostgreSQL's NOTIFY, on a loaded
# test machine; what was measured is printed, never asserted.
WAIT = 30.0


def only_on_postgres():
    if harness.STORE != 'postgres':
        raise unittest.SkipTest('needs store = postgres (run by make check\'s '
                                        'postgres section)')


class Nodes:
    """Node A (imap) and node B (imap, lmtp) on one fresh database."""

    def __init__(self):
        self.a = harness.Server(accounts=ACCOUNTS, listeners=('imap',))
        shared = {'store': 'postgres',
                  'postgres_url': harness.pg_server().url(self.a.pg_database)}
        self.b = harness.Server(listeners=('imap', 'lmtp'), config=shared)
        self.b.accounts = dict(self.a.accounts)

    def __enter__(self):
        self.a.__enter__()
        try:
            self.b.__enter__()
        except BaseException:
            self.a.stop()
            raise
        return self

    def __exit__(self, *exc):
        try:
            self.b.stop()
        finally:
            self.a.stop()
        return False


def start_idle(r):
    tag = r.next_tag()
    r.send('%s IDLE\r\n' % tag)
    line = r.line(timeout=WAIT)
    assert line.startswith('+'), line
    return tag


def stop_idle(r, tag):
    r.send('DONE\r\n')
    lines, tagged = r.read_until(tag, timeout=WAIT)
    assert harness.status(tagged) == 'OK', tagged
    return lines


def wait_line(r, predicate, what):
    """Read responses until predicate(line); returns (line, seconds)."""
    start = time.monotonic()
    seen = []
    while True:
        remaining = start + WAIT - time.monotonic()
        if remaining <= 0:
            raise AssertionError('no %s within %.0f s; got %r' % (what, WAIT, seen))
        try:
            line = r.line(timeout=remaining)
        except socket.timeout:
            raise AssertionError('no %s within %.0f s; got %r' % (what, WAIT, seen))
        seen.append(line)
        if predicate(line):
            return line, time.monotonic() - start


def lmtp_deliver(server, rcpt, body):
    """One LMTP transaction by hand; returns the per-recipient reply."""
    sock = server.connect('lmtp')
    f = sock.makefile('rb')

    def reply():
        lines = []
        while True:
            line = f.readline().decode('latin-1').rstrip('\r\n')
            lines.append(line)
            if len(line) < 4 or line[3] != '-':
                return lines

    try:
        assert reply()[-1].startswith('220')
        for cmd in ('LHLO test.example', 'MAIL FROM:<sender@remote.example>',
                    'RCPT TO:<%s>' % rcpt, 'DATA'):
            sock.sendall(cmd.encode() + b'\r\n')
            r = reply()
            assert r[-1][:1] in '23', (cmd, r)
        sock.sendall(body + b'\r\n.\r\n')
        return reply()[-1]
    finally:
        f.close()
        sock.close()


def uid_set(text):
    """The UIDs of an IMAP sequence set ('3,5:7')."""
    out = set()
    for part in text.split(','):
        lo, _, hi = part.partition(':')
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def uids_of(lines):
    return [int(m.group(1)) for m in (re.search(r'UID (\d+)', l) for l in lines) if m]


def test_idle_on_node_a_hears_append_and_lmtp_delivery_on_node_b():
    only_on_postgres()
    with Nodes() as n:
        r = n.a.raw(ALICE)
        r.ok('SELECT INBOX')
        tag = start_idle(r)
        w = n.b.raw(ALICE)
        t0 = time.monotonic()
        w.append('INBOX', b'Subject: from node b\r\n\r\nx\r\n')
        _, after_ok = wait_line(r, lambda l: l == '* 1 EXISTS', '* 1 EXISTS for an APPEND on B')
        print('# APPEND on B -> IDLE EXISTS on A: %.3f s after the command was sent, '
              '%.3f s after its OK' % (time.monotonic() - t0, after_ok))
        t0 = time.monotonic()
        reply = lmtp_deliver(n.b, ALICE, b'Subject: lmtp on node b\r\n\r\ny')
        assert reply.startswith('250'), reply
        _, after_ok = wait_line(r, lambda l: l == '* 2 EXISTS', '* 2 EXISTS for LMTP on B')
        print('# LMTP on B -> IDLE EXISTS on A: %.3f s after the delivery began, '
              '%.3f s after its 250' % (time.monotonic() - t0, after_ok))
        assert stop_idle(r, tag) == []
        lines, _ = r.ok('UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
        text = '\n'.join(lines)
        assert 'from node b' in text and 'lmtp on node b' in text, lines
        w.close()
        r.close()


def test_four_clients_through_both_nodes_get_unique_ascending_uids():
    only_on_postgres()
    per_client = 25
    with Nodes() as n:
        setup = n.a.raw(ALICE)
        setup.ok('CREATE Race')
        setup.close()
        results, errors = {}, []

        def client(i):
            node = n.a if i % 2 == 0 else n.b
            try:
                r = node.raw(ALICE)
                got = []
                for k in range(per_client):
                    _, tagged = r.append('Race', b'Subject: c%d m%d\r\n\r\nx\r\n' % (i, k))
                    got.append(harness.appenduid(tagged))
                r.close()
                results[i] = got
            except Exception as e:  # reported below, with the client's number
                errors.append('client %d: %r' % (i, e))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        validities = {v for got in results.values() for v, _ in got}
        assert len(validities) == 1, validities
        every = []
        for i, got in sorted(results.items()):
            uids = [u for _, u in got]
            assert uids == sorted(uids) and len(set(uids)) == len(uids), (i, uids)
            every += uids
        assert len(every) == 4 * per_client and len(set(every)) == len(every), sorted(every)
        r = n.b.raw(ALICE)
        lines, _ = r.ok('STATUS Race (MESSAGES UIDNEXT)')
        assert 'MESSAGES %d' % (4 * per_client) in lines[0], lines
        uidnext = int(re.search(r'UIDNEXT (\d+)', lines[0]).group(1))
        assert uidnext > max(every), (uidnext, max(every))
        r.ok('SELECT Race')
        lines, _ = r.ok('UID FETCH 1:* (UID)')
        assert sorted(uids_of(lines)) == sorted(every), lines
        print('# 4 clients x %d APPENDs through 2 nodes: UIDs %d..%d, all unique'
              % (per_client, min(every), max(every)))
        r.close()


def test_kill_9_of_node_a_loses_nothing_acknowledged_and_node_b_serves_on():
    only_on_postgres()
    with Nodes() as n:
        acked, lock = [], threading.Lock()
        stop = threading.Event()

        def appender(i):
            try:
                r = n.a.raw(ALICE)
                k = 0
                while not stop.is_set():
                    subject = 'killed %d %d' % (i, k)
                    _, tagged = r.append('INBOX', ('Subject: %s\r\n\r\nx\r\n' % subject)
                                         .encode(), check=False)
                    if harness.status(tagged) != 'OK':
                        return
                    with lock:
                        acked.append((subject, harness.appenduid(tagged)[1]))
                    k += 1
            except (OSError, EOFError, AssertionError):
                return  # the node died under us: what was acked is counted

        threads = [threading.Thread(target=appender, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            with lock:
                if len(acked) >= 20:
                    break
            time.sleep(0.05)
        n.a.kill()
        stop.set()
        for t in threads:
            t.join()
        assert len(acked) >= 20, 'only %d APPENDs acknowledged before the kill' % len(acked)

        r = n.b.raw(ALICE)
        _, tagged = r.append('INBOX', b'Subject: after the kill\r\n\r\nx\r\n')
        after_uid = harness.appenduid(tagged)[1]
        r.ok('SELECT INBOX')
        lines, _ = r.ok('UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
        found = {}
        for line in lines:
            m = re.search(r'UID (\d+).*Subject: ([^\r\n]+)', line, re.S)
            if m:
                found[m.group(2)] = int(m.group(1))
        missing = [(s, u) for s, u in acked if found.get(s) != u]
        assert not missing, 'acknowledged but lost or moved: %r' % missing[:10]
        assert found.get('after the kill') == after_uid
        assert after_uid > max(u for _, u in acked)
        print('# kill -9 of node A after %d acknowledged APPENDs: all %d on node B'
              % (len(acked), len(acked)))
        r.close()


def test_qresync_across_nodes():
    only_on_postgres()
    with Nodes() as n:
        w = n.b.raw(ALICE)
        for k in range(1, 6):
            w.append('INBOX', b'Subject: q%d\r\n\r\nx\r\n' % k)
        r = n.a.raw(ALICE)
        r.ok('ENABLE QRESYNC')
        lines, _ = r.ok('SELECT INBOX')
        text = ' '.join(lines)
        uidvalidity = int(re.search(r'UIDVALIDITY (\d+)', text).group(1))
        modseq = int(re.search(r'HIGHESTMODSEQ (\d+)', text).group(1))

        # Selected on A, changes on B: untagged updates on A's next NOOP.
        w.ok('SELECT INBOX')
        w.ok('UID STORE 2 +FLAGS (\\Flagged)')
        w.ok('UID STORE 3 +FLAGS (\\Deleted)')
        w.ok('UID EXPUNGE 3')
        deadline = time.monotonic() + WAIT
        seen = []
        while time.monotonic() < deadline:
            lines, _ = r.ok('NOOP')
            seen += lines
            if any('VANISHED' in l for l in seen) and any('FETCH' in l for l in seen):
                break
            time.sleep(0.2)
        assert any(l == '* VANISHED 3' for l in seen), seen
        assert any('FETCH' in l and 'UID 2' in l and '\\Flagged' in l and 'MODSEQ' in l
                   for l in seen), seen
        r.ok('UNSELECT')

        # More changes on B while A is not looking, then QRESYNC on A.
        w.ok('UID STORE 4 +FLAGS (\\Answered)')
        w.ok('UID STORE 5 +FLAGS (\\Deleted)')
        w.ok('UID EXPUNGE 5')
        w.append('INBOX', b'Subject: q6\r\n\r\nx\r\n')
        lines, _ = r.ok('SELECT INBOX (QRESYNC (%d %d 1:6))' % (uidvalidity, modseq))
        vanished = [l for l in lines if l.startswith('* VANISHED (EARLIER)')]
        assert len(vanished) == 1 and uid_set(vanished[0].split()[-1]) == {3, 5}, lines
        fetched = {u: l for l in lines if 'FETCH' in l for u in uids_of([l])}
        assert 2 in fetched and '\\Flagged' in fetched[2], lines
        assert 4 in fetched and '\\Answered' in fetched[4], lines
        assert 6 in fetched, lines
        assert all('MODSEQ' in l for l in fetched.values()), lines
        new_modseq = int(re.search(r'HIGHESTMODSEQ (\d+)', ' '.join(lines)).group(1))
        assert new_modseq > modseq
        w.close()
        r.close()


if __name__ == '__main__':
    harness.main()
