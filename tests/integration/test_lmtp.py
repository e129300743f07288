"""LMTP (RFC 2033) over TCP and a unix socket: LHLO, one reply per
recipient after DATA and BDAT."""

import os
import smtplib
import socket

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


def test_server_stops_cleanly():
    server()
    server.stop()


if __name__ == '__main__':
    harness.main()
