"""SMTP (MX) and submission, driven by real clients: smtplib, swaks, and
raw sockets where the exact bytes matter. Mail is checked over IMAP."""

import base64
import imaplib
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import threading
import time
import unittest

import harness

ALICE = 'alice@example.test'
BOB = 'bob@example.test'
CAROL = 'carol@example.test'
ACCOUNTS = {ALICE: 'alice pw 1', BOB: 'bob pw 2', CAROL: 'carol pw 3'}
LISTENERS = ('imap', 'smtp', 'submission', 'submissions')
MAX_SIZE = 200000

server = harness.ModuleServer(accounts=ACCOUNTS, listeners=LISTENERS,
                              config={'max_message_size': str(MAX_SIZE)})


def inbox(s, user):
    """Every message of user's INBOX, as bytes, in UID order."""
    c = s.imap(user)
    c.select('INBOX', readonly=True)
    typ, data = c.uid('FETCH', '1:*', '(BODY.PEEK[])')
    c.logout()
    return [part[1] for part in data if isinstance(part, tuple)]


def mx(s):
    return smtplib.SMTP(s.host, s.ports['smtp'], timeout=harness.CLIENT_TIMEOUT)


def body_of(msg):
    return msg.split(b'\r\n\r\n', 1)[1]


class Raw:
    """SMTP by hand: send bytes, read replies (multi-line joined)."""

    def __init__(self, sock):
        self.sock = sock
        self.f = sock.makefile('rb')
        self.greeting = self.reply()

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def reply(self):
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError('connection closed; got %r' % lines)
            lines.append(line.decode('utf-8', 'replace').rstrip('\r\n'))
            if len(line) < 4 or line[3:4] != b'-':
                return lines

    def cmd(self, line):
        self.send(line + '\r\n')
        return self.reply()

    def code(self, line):
        return int(self.cmd(line)[-1][:3])

    def at_eof(self):
        try:
            return self.f.readline() == b''
        except OSError:
            return True

    def close(self):
        self.sock.close()


def raw(s, listener='smtp'):
    return Raw(s.connect(listener))


# ---- MX ------------------------------------------------------------------------

def test_ehlo_advertises_the_extensions():
    s = server()
    c = mx(s)
    code, text = c.ehlo('client.test')
    assert code == 250
    for ext in ('PIPELINING', 'SIZE', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES',
                'CHUNKING', 'DSN', 'STARTTLS'):
        assert c.has_extn(ext), (ext, text)
    assert c.esmtp_features['size'] == str(MAX_SIZE)
    assert not c.has_extn('AUTH'), text  # MX never takes passwords
    c.quit()


def test_mx_delivery_is_seen_over_imap_with_trace_headers():
    s = server()
    c = mx(s)
    msg = b'From: x@remote.test\r\nTo: bob@example.test\r\nSubject: mx1\r\n\r\nhello bob\r\n'
    c.sendmail('x@remote.test', [BOB], msg)
    c.quit()
    got = [m for m in inbox(s, BOB) if b'Subject: mx1' in m]
    assert len(got) == 1, got
    m = got[0]
    assert m.startswith(b'Return-Path: <x@remote.test>\r\nReceived: from '), m[:200]
    assert m.endswith(msg), m


def test_relay_is_refused():
    s = server()
    c = mx(s)
    c.ehlo('client.test')
    c.mail('x@remote.test')
    code, text = c.rcpt('someone@elsewhere.test')
    assert code == 550 and b'5.7.1' in text, (code, text)
    c.quit()


def test_unknown_local_user_is_refused_at_rcpt():
    s = server()
    c = mx(s)
    c.ehlo('client.test')
    c.mail('x@remote.test')
    code, text = c.rcpt('nobody@example.test')
    assert code == 550 and b'5.1.1' in text, (code, text)
    c.quit()


def test_size_limit_is_announced_and_enforced():
    s = server()
    c = mx(s)
    c.ehlo('client.test')
    code, text = c.mail('x@remote.test', ['SIZE=%d' % (MAX_SIZE + 1)])
    assert code == 552 and b'5.3.4' in text, (code, text)
    c.rset()
    # A client that does not say SIZE learns it after DATA.
    big = b'Subject: big\r\n\r\n' + (b'x' * 998 + b'\r\n') * (MAX_SIZE // 1000 + 10)
    assert c.mail('x@remote.test')[0] == 250
    assert c.rcpt(BOB)[0] == 250
    code, text = c.data(big)
    assert code == 552 and b'5.3.4' in text, (code, text)
    # The session goes on.
    c.sendmail('x@remote.test', [BOB], b'Subject: small after big\r\n\r\nok\r\n')
    c.quit()
    assert not [m for m in inbox(s, BOB) if b'Subject: big\r\n' in m]


def test_pipelining_one_packet_gets_every_reply_in_order():
    s = server()
    r = raw(s)
    r.cmd('EHLO client.test')
    r.send('MAIL FROM:<p@remote.test>\r\nRCPT TO:<bob@example.test>\r\n'
           'RCPT TO:<nobody@example.test>\r\nRCPT TO:<carol@example.test>\r\nDATA\r\n')
    codes = [int(r.reply()[0][:3]) for _ in range(5)]
    assert codes == [250, 250, 550, 250, 354], codes
    r.send('Subject: piped\r\n\r\nbody\r\n.\r\nQUIT\r\n')
    assert r.reply()[0].startswith('250 '), 'data'
    assert r.reply()[0].startswith('221 ')
    r.close()
    assert [m for m in inbox(s, CAROL) if b'Subject: piped' in m]


def test_bdat_chunks_are_delivered_byte_exact():
    s = server()
    r = raw(s)
    r.cmd('EHLO client.test')
    assert r.code('MAIL FROM:<b@remote.test> BODY=8BITMIME') == 250
    assert r.code('RCPT TO:<bob@example.test>') == 250
    part1 = b'Subject: bdat\r\n\r\n.leading dot kept\r\n'
    part2 = b'\r\n.\r\nno end here\r\n'
    r.send(b'BDAT %d\r\n' % len(part1) + part1)
    assert r.reply()[0].startswith('250'), 'chunk 1'
    r.send(b'BDAT %d LAST\r\n' % len(part2) + part2)
    assert r.reply()[0].startswith('250'), 'last chunk'
    r.cmd('QUIT')
    got = [m for m in inbox(s, BOB) if b'Subject: bdat' in m]
    assert len(got) == 1 and got[0].endswith(part1 + part2), got


def test_bdat_without_transaction_is_read_and_refused():
    s = server()
    r = raw(s)
    r.cmd('EHLO client.test')
    r.send(b'BDAT 10 LAST\r\n0123456789NOOP\r\n')
    assert r.reply()[0].startswith('503'), 'bdat'
    assert r.reply()[0].startswith('250'), 'the chunk was skipped, NOOP answered'
    r.close()


def test_dot_stuffing_is_undone_byte_exact():
    s = server()
    r = raw(s)
    r.cmd('EHLO client.test')
    r.cmd('MAIL FROM:<d@remote.test>')
    r.cmd('RCPT TO:<bob@example.test>')
    assert r.code('DATA') == 354
    body = (b'Subject: dots\r\n\r\n..one\r\n...two\r\n.\tthree\r\nfour.\r\n'
            b'bare\nlf\n.\nnot the end\r\n\r\n')
    r.send(body + b'.\r\n')
    assert r.reply()[0].startswith('250')
    r.cmd('QUIT')
    want = (b'Subject: dots\r\n\r\n.one\r\n..two\r\n\tthree\r\nfour.\r\n'
            b'bare\nlf\n.\nnot the end\r\n\r\n')
    got = [m for m in inbox(s, BOB) if b'Subject: dots' in m]
    assert len(got) == 1 and got[0].endswith(want), got


def test_eight_bit_body_and_smtputf8_addresses():
    s = server()
    c = mx(s)
    c.ehlo('client.test')
    body = 'Subject: =?utf-8?q?caf=C3=A9?=\r\n\r\nçà et là — 8 bits\r\n'.encode()
    c.sendmail('josé@remote.test', [CAROL], body, mail_options=['SMTPUTF8', 'BODY=8BITMIME'])
    # Without SMTPUTF8 a UTF-8 address is refused (RFC 6531 §3.4).
    code, text = c.mail('josé@remote.test')
    assert code == 553 and b'5.6.7' in text, (code, text)
    c.quit()
    got = [m for m in inbox(s, CAROL) if 'çà et là'.encode() in m]
    assert len(got) == 1 and 'Return-Path: <josé@remote.test>'.encode() in got[0], got


def test_three_local_recipients_share_one_stored_copy():
    s = server()
    c = mx(s)
    c.sendmail('x@remote.test', [ALICE, BOB, CAROL],
               b'Subject: one copy\r\nMessage-ID: <onecopy@x>\r\n\r\nshared\r\n')
    c.quit()
    ids = set()
    for user in (ALICE, BOB, CAROL):
        cl = s.imap(user)
        cl.select('INBOX', readonly=True)
        typ, data = cl.uid('SEARCH', 'HEADER', 'Message-ID', '<onecopy@x>')
        uid = data[0].split()[-1]
        typ, data = cl.uid('FETCH', uid, '(EMAILID)')
        ids.add(re.search(rb'EMAILID \(([^)]+)\)', data[0]).group(1))
        cl.logout()
    # the EMAILID names the stored blob: one for all on SQLite; PostgreSQL
    # keeps one per account, so each account's rows stay in its shard
    # (docs/ARCHITECTURE.md), parsed once all the same
    assert len(ids) == (3 if harness.STORE == 'postgres' else 1), ids


def test_idle_sees_mx_delivery():
    s = server()
    c = s.imap(ALICE)
    c.select('INBOX')
    tag = c._new_tag().decode()
    c.send(('%s IDLE\r\n' % tag).encode())
    assert c.readline().startswith(b'+')
    start = time.monotonic()
    m = mx(s)
    m.sendmail('x@remote.test', [ALICE], b'Subject: idle push\r\n\r\nx\r\n')
    sent = time.monotonic()
    c.sock.settimeout(30)  # a generous wait; the latency is printed, not asserted
    line = c.readline()
    print('# IDLE heard of the MX delivery %.3f s after it was accepted (%.3f s after'
          ' the connection began)' % (time.monotonic() - sent, time.monotonic() - start))
    assert re.match(rb'\* \d+ EXISTS', line), line
    c.send(b'DONE\r\n')
    m.quit()
    c.logout()


def test_swaks_delivers_over_mx():
    if shutil.which('swaks') is None:
        raise unittest.SkipTest('swaks not installed')
    s = server()
    r = subprocess.run(['swaks', '--server', s.host, '--port', str(s.ports['smtp']),
                        '--from', 'sw@remote.test', '--to', BOB, '--header', 'Subject: swaks mx',
                        '--pipeline'], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert [m for m in inbox(s, BOB) if b'Subject: swaks mx' in m]


# ---- malformed input ------------------------------------------------------------------

def test_long_command_line_is_refused_and_session_continues():
    s = server()
    r = raw(s)
    r.send('EHLO ' + 'a' * 20000 + '\r\n')
    assert r.reply()[0].startswith('500 5.5.2'), 'long line'
    assert r.code('NOOP') == 250
    r.close()


def test_binary_garbage_gets_errors_then_421():
    s = server()
    r = raw(s)
    r.send(bytes(range(256)) * 4 + b'\r\n' + b'\x00\xff junk\r\n' * 40)
    codes = []
    try:
        while True:
            codes.append(r.reply()[0][:3])
    except (EOFError, OSError):
        pass
    assert codes and codes[-1] == '421', codes
    assert all(c[0] in '45' for c in codes), codes
    r.close()
    # The server is fine.
    c = mx(s)
    assert c.noop()[0] == 250
    c.quit()


def test_client_vanishing_mid_data_stores_nothing():
    s = server()
    r = raw(s)
    r.cmd('EHLO client.test')
    r.cmd('MAIL FROM:<v@remote.test>')
    r.cmd('RCPT TO:<bob@example.test>')
    r.cmd('DATA')
    r.send('Subject: vanished\r\n\r\nhalf a message\r\n')
    r.sock.shutdown(socket.SHUT_RDWR)
    r.close()
    time.sleep(0.3)
    assert not [m for m in inbox(s, BOB) if b'Subject: vanished' in m]


def test_commands_out_of_order_are_refused():
    s = server()
    r = raw(s)
    assert r.code('MAIL FROM:<a@remote.test>') == 503  # before EHLO
    r.cmd('EHLO client.test')
    assert r.code('RCPT TO:<bob@example.test>') == 503
    assert r.code('DATA') == 503
    assert r.code('MAIL FROM:<a@remote.test>') == 250
    assert r.code('MAIL FROM:<a@remote.test>') == 503
    assert r.code('DATA') == 554  # no recipients
    assert r.code('MAIL FROM:a@remote.test') == 503  # still in a transaction
    assert r.code('RSET') == 250
    assert r.code('MAIL FROM:a@remote.test') == 501  # no <>
    assert r.code('MAIL FROM:<a@remote.test> FOO=1') == 555
    assert r.code('AUTH PLAIN') == 502  # MX
    assert r.code('VRFY bob') == 252
    assert r.code('XYZZY') == 500
    r.close()


# ---- submission -------------------------------------------------------------------------

def submission(s, tls='starttls'):
    if tls == 'implicit':
        c = smtplib.SMTP_SSL(s.host, s.ports['submissions'], timeout=harness.CLIENT_TIMEOUT,
                             context=harness.unverified_ssl_context())
    else:
        c = smtplib.SMTP(s.host, s.ports['submission'], timeout=harness.CLIENT_TIMEOUT)
        if tls == 'starttls':
            c.starttls(context=harness.unverified_ssl_context())
    return c


def test_submission_starttls_auth_plain_delivers_locally():
    s = server()
    c = submission(s)
    c.ehlo('client.test')
    assert 'PLAIN' in c.esmtp_features['auth'] and 'LOGIN' in c.esmtp_features['auth']
    c.login(ALICE, ACCOUNTS[ALICE])
    c.sendmail(ALICE, [BOB], b'Subject: from alice\r\n\r\nhi\r\n')
    c.quit()
    got = [m for m in inbox(s, BOB) if b'Subject: from alice' in m]
    assert len(got) == 1 and b'with ESMTPSA' in got[0], got


def test_submissions_implicit_tls_auth_login():
    s = server()
    c = submission(s, 'implicit')
    c.ehlo('client.test')
    c.user, c.password = ALICE, ACCOUNTS[ALICE]
    code, text = c.auth('LOGIN', c.auth_login, initial_response_ok=False)
    assert code == 235, (code, text)
    c.sendmail(ALICE, [CAROL], b'Subject: implicit tls\r\n\r\nhi\r\n')
    c.quit()
    assert [m for m in inbox(s, CAROL) if b'Subject: implicit tls' in m]


def test_submission_wrong_password_is_refused():
    s = server()
    c = submission(s)
    try:
        c.login(ALICE, 'wrong')
        raise AssertionError('a wrong password was accepted')
    except smtplib.SMTPAuthenticationError as e:
        assert e.smtp_code == 535, e
    try:
        c.login('nobody@example.test', 'x')
        raise AssertionError('an unknown user was accepted')
    except smtplib.SMTPAuthenticationError as e:
        assert e.smtp_code == 535, e
    c.quit()


def test_submission_needs_auth_before_mail():
    s = server()
    c = submission(s)
    c.ehlo('client.test')
    code, text = c.mail(ALICE)
    assert code == 530, (code, text)
    c.quit()


def test_submission_mail_from_must_be_the_account():
    s = server()
    c = submission(s)
    c.login(ALICE, ACCOUNTS[ALICE])
    code, text = c.mail(BOB)
    assert code == 550 and b'5.7.1' in text, (code, text)
    code, text = c.mail('')
    assert code == 550 and b'5.7.1' in text, (code, text)
    code, text = c.mail(ALICE.upper())
    assert code == 250, (code, text)
    c.quit()


def test_submission_plaintext_from_loopback_is_allowed():
    s = server()
    c = submission(s, 'plain')
    c.ehlo('client.test')
    assert c.has_extn('auth')
    c.login(ALICE, ACCOUNTS[ALICE])
    c.quit()


def test_submission_remote_recipient_goes_to_the_queue():
    s = server()
    c = submission(s)
    c.login(ALICE, ACCOUNTS[ALICE])
    c.ehlo('client.test')
    c.mail(ALICE)
    code, text = c.rcpt('someone@remote.test')
    # 250 when the outbound queue is there; 451 4.3.0 when it is not.
    assert code in (250, 451), (code, text)
    c.quit()


def test_swaks_submission_with_auth():
    if shutil.which('swaks') is None:
        raise unittest.SkipTest('swaks not installed')
    s = server()
    r = subprocess.run(['swaks', '--server', s.host, '--port', str(s.ports['submission']),
                        '--tls', '--auth', 'PLAIN', '--auth-user', ALICE,
                        '--auth-password', ACCOUNTS[ALICE], '--from', ALICE, '--to', CAROL,
                        '--header', 'Subject: swaks sub'],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert [m for m in inbox(s, CAROL) if b'Subject: swaks sub' in m]


def non_loopback_ipv4():
    import test_imap_auth
    return test_imap_auth.non_loopback_ipv4()


def test_submission_no_auth_without_tls_from_non_loopback():
    addr = non_loopback_ipv4()
    if addr is None:
        raise unittest.SkipTest('this machine has no non-loopback IPv4 address')
    port = harness.free_ports(1, host=addr)[0]
    with harness.Server(accounts={ALICE: ACCOUNTS[ALICE]}, listeners=('imap',),
                        config={'submission': '%s:%d' % (addr, port)}) as s:
        deadline = time.monotonic() + 5
        while True:
            try:
                sock = socket.create_connection((addr, port), timeout=harness.CLIENT_TIMEOUT)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        r = Raw(sock)
        ehlo = r.cmd('EHLO client.test')
        assert not any('AUTH' in l for l in ehlo), ehlo
        assert any('STARTTLS' in l for l in ehlo), ehlo
        plain = base64.b64encode(b'\0' + ALICE.encode() + b'\0' + ACCOUNTS[ALICE].encode())
        reply = r.cmd('AUTH PLAIN ' + plain.decode())
        assert reply[0].startswith('538 5.7.11'), reply
        r.close()
        # After STARTTLS the same address may log in.
        c = smtplib.SMTP(addr, port, timeout=harness.CLIENT_TIMEOUT)
        c.starttls(context=harness.unverified_ssl_context())
        c.login(ALICE, ACCOUNTS[ALICE])
        c.quit()


def test_starttls_with_pipelined_commands_is_dropped():
    s = server()
    r = raw(s)
    r.cmd('EHLO client.test')
    r.send('STARTTLS\r\nMAIL FROM:<evil@remote.test>\r\n')
    assert r.reply()[0].startswith('220')
    assert r.at_eof()
    r.close()


# ---- timeouts and loops --------------------------------------------------------

def test_command_timeout_gets_421_then_close():
    """RFC 5321 §4.5.3.2, §3.8: a silent client gets 421 4.4.2 before the
    close (smtp_timeout = 1 s here; the default is 5 min)."""
    with harness.Server(accounts={BOB: ACCOUNTS[BOB]}, listeners=('smtp',),
                        config={'smtp_timeout': '1s'}) as s:
        r = raw(s)
        assert r.greeting[0].startswith('220'), r.greeting
        assert r.code('EHLO client.test') == 250
        start = time.monotonic()
        lines = r.reply()
        waited = time.monotonic() - start
        assert lines[0].startswith('421 4.4.2 ') and 'imeout' in lines[0], lines
        assert 0.8 < waited < 5, waited
        assert r.at_eof()
        r.close()
        assert 'silent for' in s.log()


def test_data_timeout_gets_421_and_stores_nothing():
    """The data timeout is twice smtp_timeout and restarts with every piece
    of data: a slow sender that keeps sending is not cut off, a stalled one
    gets 421 4.4.2, and its half message is not stored."""
    with harness.Server(accounts={BOB: ACCOUNTS[BOB]}, listeners=('imap', 'smtp'),
                        config={'smtp_timeout': '1s'}) as s:
        r = raw(s)
        r.cmd('EHLO client.test')
        assert r.code('MAIL FROM:<slow@remote.test>') == 250
        assert r.code('RCPT TO:<bob@example.test>') == 250
        assert r.code('DATA') == 354
        r.send('Subject: slow-but-alive\r\n\r\n')
        for n in range(5):  # 3 s in all: more than either timeout
            time.sleep(0.6)
            r.send('line %d\r\n' % n)
        r.send('.\r\n')
        assert r.reply()[-1].startswith('250'), 'a slow but steady sender was cut off'
        assert r.code('MAIL FROM:<stall@remote.test>') == 250
        assert r.code('RCPT TO:<bob@example.test>') == 250
        assert r.code('DATA') == 354
        r.send('Subject: stalled\r\n\r\nhalf a mess')
        start = time.monotonic()
        lines = r.reply()
        waited = time.monotonic() - start
        assert lines[0].startswith('421 4.4.2 ') and 'imeout' in lines[0], lines
        assert 1.5 < waited < 6, waited
        assert r.at_eof()
        r.close()
        subjects = [m for m in inbox(s, BOB)]
        assert len([m for m in subjects if b'Subject: slow-but-alive' in m]) == 1
        assert not [m for m in subjects if b'Subject: stalled' in m]


def test_more_than_100_received_fields_is_a_loop():
    """RFC 5321 §6.3: 101 Received fields in the header is refused with
    554 5.4.6; 100 pass (and get ours on top)."""
    s = server()
    hop = 'Received: from a.test by b.test;\r\n\tMon, 23 Nov 2026 10:00:00 +0000\r\n'
    for hops, subject in ((101, 'loop101'), (100, 'loop100')):
        msg = (hop * hops + 'From: x@remote.test\r\nSubject: %s\r\n\r\n'
               'Received: in the body does not count\r\n' % subject).encode()
        c = mx(s)
        c.ehlo('client.test')
        c.mail('x@remote.test')
        assert c.rcpt(BOB)[0] == 250
        code, text = c.data(msg)
        if hops > 100:
            assert code == 554 and text.startswith(b'5.4.6 Too many hops'), (code, text)
        else:
            assert code == 250, (code, text)
        c.quit()
    got = inbox(s, BOB)
    assert not [m for m in got if b'Subject: loop101' in m]
    assert len([m for m in got if b'Subject: loop100' in m]) == 1


def test_server_stops_cleanly():
    server()
    server.stop()


if __name__ == '__main__':
    harness.main()
