"""Changes committed by another process reach the sessions of a running
server (DESIGN.md rule 4; store_feed in store.h): `buzon deliver` on the
command line, and a second `buzon serve` on the same data directory, while
an IDLE session (RFC 2177) waits on the first server."""

import socket
import time

import harness

ALICE = 'alice@example.test'
BOB = 'bob@example.test'
ACCOUNTS = {ALICE: 'a pw', BOB: 'b pw'}

# Generous: the feed polls several times a second; a loaded test machine
# must not turn a slow answer into a failure (we print what we measured).
WAIT = 15.0


def start_idle(r):
    tag = r.next_tag()
    r.send('%s IDLE\r\n' % tag)
    line = r.line(timeout=WAIT)
    assert line.startswith('+'), line
    return tag


def wait_line(r, predicate, what):
    """Read responses until predicate(line); returns (line, seconds, lines)."""
    start = time.monotonic()
    lines = []
    while True:
        remaining = start + WAIT - time.monotonic()
        if remaining <= 0:
            raise AssertionError('no %s within %.0f s; got %r' % (what, WAIT, lines))
        try:
            line = r.line(timeout=remaining)
        except socket.timeout:
            raise AssertionError('no %s within %.0f s; got %r' % (what, WAIT, lines))
        lines.append(line)
        if predicate(line):
            return line, time.monotonic() - start, lines


def stop_idle(r, tag):
    r.send('DONE\r\n')
    lines, tagged = r.read_until(tag, timeout=WAIT)
    assert harness.status(tagged) == 'OK', tagged
    return lines


def test_idle_hears_buzon_deliver_from_the_command_line():
    with harness.Server(accounts=ACCOUNTS, listeners=('imap',)) as s:
        r = s.raw(ALICE)
        r.ok('SELECT INBOX')
        tag = start_idle(r)
        worst = 0.0
        for n in (1, 2, 3):
            t0 = time.monotonic()
            p = s.cli('deliver', ALICE, input='Subject: cli %d\n\nbody\n' % n)
            assert p.returncode == 0, p.stderr
            _, _, lines = wait_line(r, lambda l, n=n: l == '* %d EXISTS' % n,
                                    '* %d EXISTS' % n)
            worst = max(worst, time.monotonic() - t0)
            # exactly one EXISTS per delivery, nothing else
            assert lines == ['* %d EXISTS' % n], lines
        print('# deliver -> IDLE EXISTS, slowest of 3: %.3f s' % worst)
        assert stop_idle(r, tag) == []
        lines, _ = r.ok('UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
        assert len(lines) == 3 and 'Subject: cli 3' in lines[2], lines
        r.close()


def test_idle_of_another_account_hears_nothing():
    with harness.Server(accounts=ACCOUNTS, listeners=('imap',)) as s:
        r = s.raw(BOB)
        r.ok('SELECT INBOX')
        tag = start_idle(r)
        p = s.cli('deliver', ALICE, input='Subject: for alice\n\nx\n')
        assert p.returncode == 0, p.stderr
        # Alice's mail is in; Bob's IDLE must stay quiet (give the feed
        # several polls to misbehave).
        a = s.raw(ALICE)
        lines, _ = a.ok('STATUS INBOX (MESSAGES)')
        assert lines == ['* STATUS "INBOX" (MESSAGES 1)'], lines
        time.sleep(1.0)
        assert stop_idle(r, tag) == []
        a.close()
        r.close()


def test_second_server_on_the_same_store_reaches_idle_with_flags_and_expunge():
    with harness.Server(accounts=ACCOUNTS, listeners=('imap',)) as s:
        with harness.Server(listeners=('imap',), config=s.store_config()) as s2:
            s2.accounts = dict(s.accounts)
            w = s2.raw(ALICE)
            for n in (1, 2):
                w.append('INBOX', b'Subject: two %d\r\n\r\nx\r\n' % n)
            r = s.raw(ALICE)
            lines, _ = r.ok('SELECT INBOX')
            assert '* 2 EXISTS' in lines, lines
            tag = start_idle(r)

            w.append('INBOX', b'Subject: three\r\n\r\nx\r\n')
            wait_line(r, lambda l: l == '* 3 EXISTS', '* 3 EXISTS from the other server')

            w.ok('SELECT INBOX')
            w.ok('STORE 1 +FLAGS (\\Flagged)')
            line, _, _ = wait_line(r, lambda l: l.startswith('* 1 FETCH'), 'FETCH FLAGS')
            assert '\\Flagged' in line, line

            w.ok('STORE 2 +FLAGS (\\Deleted)')
            w.ok('EXPUNGE')
            wait_line(r, lambda l: l == '* 2 EXPUNGE', '* 2 EXPUNGE')
            stop_idle(r, tag)
            w.close()
            r.close()


if __name__ == '__main__':
    harness.main()
