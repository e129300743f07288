"""LMTP (RFC 2033) over TCP and a unix socket: LHLO, one reply per
recipient after DATA and BDAT."""

import os
import re
import smtplib
import socket
import threading

import harness
from test_smtp import Raw, inbox

ALICE = 'alice@example.test'
BOB = 'bob@example.test'
CAROL = 'carol@example.test'
ACCOUNTS = {ALICE: 'a pw', BOB: 'b pw', CAROL: 'c pw'}

server = harness.ModuleServer(accounts=ACCOUNTS, listeners=('imap', 'lmtp'))


def test_lhlo_and_per_recipient_replies_with_one_unknown():
    s = server()
    r = Raw(s.connect('lmtp'))
    assert 'LMTP' in r.greeting[0], r.greeting
    assert r.cmd('EHLO mta.test')[0].startswith('500')  # RFC 2033 §4.1
    ehlo = r.cmd('LHLO mta.test')
    assert ehlo[-1].startswith('250 ') and any('PIPELINING' in l for l in ehlo), ehlo
    assert r.code('MAIL FROM:<x@remote.test>') == 250
    assert r.code('RCPT TO:<%s>' % ALICE) == 250
    assert r.code('RCPT TO:<nobody@example.test>') == 550
    assert r.code('RCPT TO:<%s>' % CAROL) == 250
    assert r.code('DATA') == 354
    r.send('Subject: lmtp one\r\n\r\nper recipient\r\n.\r\n')
    replies = [r.reply()[0] for _ in range(2)]  # one per accepted recipient
    assert all(x.startswith('250 ') for x in replies), replies
    assert ALICE in replies[0] and CAROL in replies[1], replies
    assert r.code('NOOP') == 250
    r.close()
    for user in (ALICE, CAROL):
        assert [m for m in inbox(s, user) if b'Subject: lmtp one' in m], user


def test_lmtp_with_smtplib_and_bdat():
    s = server()
    c = smtplib.LMTP(s.host, s.ports['lmtp'], timeout=harness.CLIENT_TIMEOUT)
    c.ehlo_or_helo_if_needed()
    assert c.has_extn('chunking')
    c.quit()
    r = Raw(s.connect('lmtp'))
    r.cmd('LHLO mta.test')
    r.cmd('MAIL FROM:<>')
    r.cmd('RCPT TO:<%s>' % BOB)
    r.cmd('RCPT TO:<%s>' % CAROL)
    data = b'Subject: lmtp bdat\r\n\r\nchunked\r\n'
    r.send(b'BDAT %d LAST\r\n' % len(data) + data)
    replies = [r.reply()[0] for _ in range(2)]
    assert all(x.startswith('250 ') for x in replies), replies
    r.close()
    assert [m for m in inbox(s, BOB) if m.endswith(data) and b'Return-Path: <>' in m]


def test_lmtp_over_a_unix_socket():
    path = None
    with harness.Server(accounts={ALICE: ACCOUNTS[ALICE]}, listeners=('imap',),
                        config={'lmtp': 'unix:lmtp.sock'}) as s:
        path = os.path.join(s.dir, 'lmtp.sock')
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(harness.CLIENT_TIMEOUT)
        sock.connect(path)
        r = Raw(sock)
        r.cmd('LHLO mta.test')
        r.cmd('MAIL FROM:<x@remote.test>')
        assert r.code('RCPT TO:<%s>' % ALICE) == 250
        r.cmd('DATA')
        r.send('Subject: over unix\r\n\r\nx\r\n.\r\n')
        assert r.reply()[0].startswith('250 ')
        r.cmd('QUIT')
        r.close()
        assert [m for m in inbox(s, ALICE) if b'Subject: over unix' in m]


def _lmtp_stream(s, n, tag, rcpts, results):
    """One LMTP session delivering n messages, recording every reply."""
    r = Raw(s.connect('lmtp'))
    r.cmd('LHLO mta.test')
    for i in range(n):
        r.cmd('MAIL FROM:<x@remote.test>')
        for rcpt in rcpts:
            r.cmd('RCPT TO:<%s>' % rcpt)
        r.cmd('DATA')
        r.send('Subject: %s-%d\r\n\r\nbody %s %d\r\n.\r\n' % (tag, i, tag, i))
        results.extend(r.reply()[0] for _ in rcpts)
    r.cmd('QUIT')
    r.close()


def test_concurrent_sessions_all_delivered_once_with_distinct_uids():
    # The delivery writer stores what several sessions finish at the same
    # time in one transaction (group commit); every 250 must still stand
    # for a stored message, each once, with its own UID.
    s = server()
    before = len(inbox(s, ALICE))
    results, threads = [], []
    for t in range(6):
        th = threading.Thread(target=_lmtp_stream,
                              args=(s, 8, 'gc%d' % t, [ALICE, BOB], results))
        th.start()
        threads.append(th)
    for th in threads:
        th.join(120)
    assert len(results) == 6 * 8 * 2 and all(x.startswith('250 ') for x in results), results
    for user in (ALICE, BOB):
        c = s.imap(user)
        c.select('INBOX', readonly=True)
        typ, data = c.uid('FETCH', '1:*', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
        c.logout()
        subjects = [part[1].strip() for part in data if isinstance(part, tuple)]
        uids = [int(re.search(rb'UID (\d+)', part[0]).group(1))
                for part in data if isinstance(part, tuple)]
        gc = sorted(x for x in subjects if x.startswith(b'Subject: gc'))
        want = sorted(b'Subject: gc%d-%d' % (t, i) for t in range(6) for i in range(8))
        assert gc == want, (user, gc)
        assert len(set(uids)) == len(uids), uids
    assert len(inbox(s, ALICE)) == before + 48


def test_a_delivery_that_fails_does_not_fail_its_batch_neighbours():
    # dave's account is deleted between RCPT and the end of data: his
    # message cannot be stored (451), while the one finished at the same
    # moment by another session is stored and acknowledged.
    s = server()
    s.add_account('dave@example.test', 'd pw')
    a = Raw(s.connect('lmtp'))
    b = Raw(s.connect('lmtp'))
    for r, rcpt in ((a, 'dave@example.test'), (b, CAROL)):
        r.cmd('LHLO mta.test')
        assert r.code('MAIL FROM:<x@remote.test>') == 250
        assert r.code('RCPT TO:<%s>' % rcpt) == 250
        assert r.code('DATA') == 354
    assert s.cli('user', 'del', 'dave@example.test').returncode == 0
    a.send('Subject: to dave\r\n\r\nx\r\n.\r\n')
    b.send('Subject: to carol, same moment\r\n\r\nx\r\n.\r\n')
    assert a.reply()[0].startswith('451 '), 'dave'
    assert b.reply()[0].startswith('250 '), 'carol'
    assert b.code('NOOP') == 250 and a.code('NOOP') == 250
    a.close()
    b.close()
    assert [m for m in inbox(s, CAROL) if b'Subject: to carol, same moment' in m]


def test_server_stops_cleanly():
    server()
    server.stop()


if __name__ == '__main__':
    harness.main()
