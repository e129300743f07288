"""POP3 (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH RFC 5034) against a
real buzon, driven with Python's poplib and by hand: every command, the
UPDATE state, exact octet counts and dot-stuffing, STLS and POP3S, AUTH
PLAIN, wrong passwords, [IN-USE], the cross-protocol cases with IMAP, UIDL
stability across sessions and restarts, malformed input and limits.

One server (module level) serves most tests, each on its own account.
"""

import base64
import imaplib
import poplib
import re
import socket
import ssl
import subprocess
import time
import unittest

import harness

LISTENERS = ('imap', 'pop3', 'pop3s')
ACCOUNTS = {'p%d@example.test' % i: 'secret %d' % i for i in range(1, 17)}

server = harness.ModuleServer(accounts=ACCOUNTS, listeners=LISTENERS)


def ctx():
    return harness.unverified_ssl_context()


def pop(s, user=None, tls='plain'):
    """A poplib client, logged in with USER/PASS when user is given."""
    if tls == 'implicit':
        p = poplib.POP3_SSL(s.host, s.ports['pop3s'], context=ctx(),
                            timeout=harness.CLIENT_TIMEOUT)
    else:
        p = poplib.POP3(s.host, s.ports['pop3'], timeout=harness.CLIENT_TIMEOUT)
        if tls == 'stls':
            p.stls(ctx())
    if user is not None:
        p.user(user)
        p.pass_(s.password(user))
    return p


def imap(s, user):
    c = s.imap(user)
    return c


def append(s, user, *messages):
    """Store messages in user's INBOX over IMAP, bytes as given (imaplib
    would turn bare LF into CRLF); returns their UIDs."""
    r = s.raw(user)
    uids = []
    for m in messages:
        _, tagged = r.append('INBOX', m)
        uids.append(harness.appenduid(tagged)[1])
    r.close()
    return uids


def msg(n, extra=b''):
    return (b'From: a@example.test\r\nSubject: message %d\r\n\r\nbody of %d\r\n' % (n, n)) + extra


def crlf_form(data):
    """What RETR must send for stored bytes (without the stuffing): every
    line ending CRLF, a last line closed."""
    text = data.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
    if text and not text.endswith(b'\r\n'):
        text += b'\r\n'
    return text


class Raw:
    """POP3 spoken by hand on a socket: every line visible."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b''
        self.greeting = self.line()

    def line(self, timeout=harness.CLIENT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while b'\r\n' not in self.buf:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError('connection closed; have %r' % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line

    def send(self, data):
        self.sock.sendall(data)

    def cmd(self, line):
        self.send(line.encode() + b'\r\n' if isinstance(line, str) else line + b'\r\n')
        return self.line()

    def multi(self):
        """The lines of a multi-line response, dot-unstuffed, up to '.'."""
        out = []
        while True:
            line = self.line()
            if line == b'.':
                return out
            out.append(line[1:] if line.startswith(b'.') else line)

    def raw_multi(self):
        """The bytes of a multi-line body exactly as sent, up to .CRLF."""
        while b'\r\n.\r\n' not in b'\r\n' + self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        data = b'\r\n' + self.buf
        end = data.index(b'\r\n.\r\n')
        body = data[2:end + 2] if end > 0 else b''
        self.buf = data[end + 5:]
        return body

    def at_eof(self, timeout=5.0):
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def login(self, user, password):
        assert self.cmd('USER ' + user).startswith(b'+OK')
        r = self.cmd('PASS ' + password)
        assert r.startswith(b'+OK'), r
        return r

    def close(self):
        self.sock.close()


def raw(s, user=None, listener='pop3'):
    sock = s.connect_tls(listener) if listener == 'pop3s' else s.connect(listener)
    r = Raw(sock)
    if user is not None:
        r.login(user, s.password(user))
    return r


def plain_b64(authz, authc, password):
    return base64.b64encode(('%s\0%s\0%s' % (authz, authc, password)).encode()).decode()


# ---- greeting and CAPA --------------------------------------------------------------

def test_greeting_and_capa_before_and_after_login():
    s = server()
    r = raw(s)
    assert r.greeting.startswith(b'+OK'), r.greeting
    assert r.cmd('CAPA') == b'+OK Capability list follows'
    caps = [c.decode() for c in r.multi()]
    for want in ('TOP', 'UIDL', 'USER', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING',
                 'SASL SCRAM-SHA-256 PLAIN LOGIN', 'STLS', 'EXPIRE NEVER'):
        assert want in caps, (want, caps)
    r.login('p1@example.test', ACCOUNTS['p1@example.test'])
    assert r.cmd('CAPA').startswith(b'+OK')
    caps = [c.decode() for c in r.multi()]
    # No login methods and no STLS once in TRANSACTION (RFC 2449 §5, RFC 2595 §4).
    assert 'STLS' not in caps and 'USER' not in caps, caps
    assert not any(c.startswith('SASL') for c in caps), caps
    assert 'TOP' in caps and 'UIDL' in caps, caps
    assert r.cmd('QUIT').startswith(b'+OK')
    assert r.at_eof()


# ---- every command ---------------------------------------------------------------------

def test_stat_list_uidl_retr_top_noop_with_exact_octets():
    s = server()
    user = 'p2@example.test'
    bare_lf = b'Subject: bare\n\nline one\n.starts with dot\n..two dots\nno final newline'
    dotted = b'Subject: dots\r\n\r\n.\r\n..\r\n.x\r\nend\r\n'
    lone_cr = b'Subject: cr\r\n\r\na\rb\r\n'
    messages = [msg(1), bare_lf, dotted, lone_cr]
    uids = append(s, user, *messages)
    p = pop(s, user)
    sizes = [len(crlf_form(m)) if m is not lone_cr else len(m) for m in messages]
    count, octets = p.stat()
    assert (count, octets) == (4, sum(sizes)), (count, octets, sizes)
    resp, lines, _ = p.list()
    assert [l.decode() for l in lines] == ['%d %d' % (i + 1, n) for i, n in enumerate(sizes)]
    assert p.list(2) == b'+OK 2 %d' % sizes[1]
    resp, lines, _ = p.uidl()
    ids = [l.split()[1] for l in lines]
    assert len(set(ids)) == 4 and all(re.match(rb'^[\x21-\x7e]{1,70}$', i) for i in ids), ids
    assert p.uidl(3).split()[2] == ids[2]
    for i, m in enumerate(messages):
        resp, lines, octets = p.retr(i + 1)
        got = b''.join(l + b'\r\n' for l in lines)
        want = crlf_form(m) if m is not lone_cr else m
        assert got == want, (i, got, want)
        # poplib counts what it received without the stuffing dots.
        assert octets == sizes[i], (octets, sizes[i])
        assert resp == b'+OK %d octets' % sizes[i], resp
    # TOP: header, blank line, n body lines (RFC 1939 §7).
    resp, lines, _ = p.top(2, 0)
    assert lines == [b'Subject: bare', b''], lines
    resp, lines, _ = p.top(2, 2)
    assert lines == [b'Subject: bare', b'', b'line one', b'.starts with dot'], lines
    resp, lines, _ = p.top(3, 100)
    assert b''.join(l + b'\r\n' for l in lines) == dotted
    assert p.noop().startswith(b'+OK')
    p.quit()
    assert sorted(uids) == uids


def test_stuffing_on_the_wire_is_exact():
    s = server()
    user = 'p3@example.test'
    data = b'Subject: w\n\n.\n.a\nx.\n'
    append(s, user, data)
    r = raw(s, user)
    # Not sized yet (no STAT or LIST): counted while it is sent.
    assert r.cmd('RETR 1') == b'+OK Message follows'
    assert r.raw_multi() == b'Subject: w\r\n\r\n..\r\n..a\r\nx.\r\n'
    assert r.cmd('RETR 1') == b'+OK %d octets' % len(crlf_form(data))
    assert r.raw_multi() == b'Subject: w\r\n\r\n..\r\n..a\r\nx.\r\n'
    r.cmd('QUIT')


def test_dele_rset_and_quit_deletes_only_at_update():
    s = server()
    user = 'p4@example.test'
    append(s, user, msg(1), msg(2), msg(3))
    p = pop(s, user)
    assert p.dele(1).startswith(b'+OK')
    # A deleted message is gone from this session's listings…
    assert p.stat()[0] == 2
    assert [l.split()[0] for l in p.list()[1]] == [b'2', b'3']
    for bad in (lambda: p.retr(1), lambda: p.dele(1), lambda: p.list(1), lambda: p.top(1, 0),
                lambda: p.uidl(1)):
        try:
            bad()
            raise AssertionError('a deleted message answered +OK')
        except poplib.error_proto as e:
            assert str(e).startswith("b'-ERR"), e
    # …but not from the store until QUIT (RFC 1939 §6).
    c = imap(s, user)
    assert c.select('INBOX')[1] == [b'3']
    # RSET undoes it.
    assert p.rset().startswith(b'+OK')
    assert p.stat()[0] == 3
    p.dele(2)
    p.dele(3)
    # The IMAP session in INBOX hears the EXPUNGEs of UPDATE (the bus).
    assert p.quit().startswith(b'+OK')
    typ, data = c.noop()
    responses = c.untagged_responses.get('EXPUNGE', [])
    assert len(responses) == 2, c.untagged_responses
    typ, data = c.search(None, 'ALL')
    assert data == [b'1'], data
    typ, data = c.fetch('1', '(BODY[HEADER.FIELDS (SUBJECT)])')
    assert b'message 1' in data[0][1], data
    c.logout()


def test_dele_without_quit_deletes_nothing():
    s = server()
    user = 'p5@example.test'
    append(s, user, msg(1), msg(2))
    r = raw(s, user)
    assert r.cmd('DELE 1').startswith(b'+OK')
    r.close()  # no QUIT: no UPDATE state
    time.sleep(0.2)
    p = pop(s, user)  # also proves the lock went with the connection
    assert p.stat()[0] == 2
    p.quit()


def test_numbers_and_errors():
    s = server()
    user = 'p6@example.test'
    append(s, user, msg(1))
    r = raw(s, user)
    for i, line in enumerate(('RETR 0', 'RETR 2', 'RETR x', 'RETR', 'RETR 1 2', 'LIST 99',
                              'TOP 1', 'TOP 1 -1', 'TOP 1 x', 'DELE', 'UIDL 5', 'STAT 1',
                              'NOOP x', 'RETR 4294967296', 'RETR +1', 'FOO', 'USER x',
                              'PASS y', 'STLS')):
        assert r.cmd(line).startswith(b'-ERR'), line
        if i % 5 == 4:  # a +OK now and then: errors in a row close the connection
            assert r.cmd('NOOP').startswith(b'+OK')
    assert r.cmd('retr 1').startswith(b'+OK')  # keywords are case-insensitive
    r.multi()
    assert r.cmd('QUIT').startswith(b'+OK')


def test_commands_need_login():
    s = server()
    r = raw(s)
    for line in ('STAT', 'LIST', 'RETR 1', 'DELE 1', 'UIDL', 'TOP 1 1', 'RSET', 'NOOP'):
        assert r.cmd(line).startswith(b'-ERR'), line
    assert r.cmd('PASS secret').startswith(b'-ERR')  # PASS before USER
    assert r.cmd('QUIT').startswith(b'+OK')
    assert r.at_eof()


# ---- logins ------------------------------------------------------------------------------

def test_wrong_password_and_unknown_user_are_refused_slowly():
    s = server()
    user = 'p7@example.test'
    r = raw(s)
    for name, password in ((user, 'wrong'), ('nobody@example.test', 'x')):
        assert r.cmd('USER ' + name).startswith(b'+OK')
        start = time.monotonic()
        reply = r.cmd('PASS ' + password)
        assert reply.startswith(b'-ERR [AUTH]'), reply
        assert time.monotonic() - start >= 0.9
    # Still in AUTHORIZATION; PASS needs a new USER first.
    assert r.cmd('PASS ' + ACCOUNTS[user]).startswith(b'-ERR')
    r.login(user, ACCOUNTS[user])
    assert r.cmd('QUIT').startswith(b'+OK')
    assert 'pop3: authentication failed for %s' % user in s.log()


def test_password_with_spaces_and_upper_case_address():
    s = server()
    user = 'p8@example.test'  # its password is "secret 8"
    p = poplib.POP3(s.host, s.ports['pop3'], timeout=harness.CLIENT_TIMEOUT)
    p.user(user.upper())
    assert p.pass_(ACCOUNTS[user]).startswith(b'+OK')
    p.quit()


def test_auth_plain_with_and_without_initial_response():
    s = server()
    user = 'p9@example.test'
    pw = ACCOUNTS[user]
    r = raw(s)
    assert r.cmd('AUTH') == b'+OK Mechanisms follow'
    assert r.multi() == [b'SCRAM-SHA-256', b'PLAIN', b'LOGIN']
    assert r.cmd('AUTH CRAM-MD5').startswith(b'-ERR')
    assert r.cmd('AUTH PLAIN').startswith(b'+ ')
    assert r.cmd('*').startswith(b'-ERR')  # cancelled (RFC 5034 §4)
    assert r.cmd('AUTH PLAIN').startswith(b'+ ')
    assert r.cmd('not base64!').startswith(b'-ERR')
    assert r.cmd('AUTH PLAIN =').startswith(b'-ERR')  # empty response
    assert r.cmd('AUTH PLAIN ' + plain_b64('', user, 'bad')).startswith(b'-ERR [AUTH]')
    assert r.cmd('AUTH PLAIN ' + plain_b64('other@example.test', user, pw)).startswith(b'-ERR')
    assert r.cmd('AUTH PLAIN').startswith(b'+ ')
    assert r.cmd(plain_b64('', user, pw)).startswith(b'+OK')
    assert r.cmd('STAT').startswith(b'+OK')
    assert r.cmd('QUIT').startswith(b'+OK')
    r = raw(s)
    assert r.cmd('AUTH PLAIN ' + plain_b64(user, user, pw)).startswith(b'+OK')
    assert r.cmd('AUTH PLAIN x').startswith(b'-ERR')  # not in TRANSACTION
    r.cmd('QUIT')


def test_stls_then_login_and_pop3s():
    s = server()
    user = 'p10@example.test'
    append(s, user, msg(1))
    p = pop(s, user, tls='stls')
    assert p.stat()[0] == 1
    caps = p.capa()
    assert 'STLS' not in caps, caps
    p.quit()
    p = pop(s, tls='implicit')
    caps = p.capa()
    assert 'STLS' not in caps and 'USER' in caps, caps
    p.user(user)
    p.pass_(ACCOUNTS[user])
    assert p.retr(1)[1][-1] == b'body of 1'
    p.quit()


def test_stls_refuses_pipelined_cleartext():
    s = server()
    sock = s.connect('pop3')
    r = Raw(sock)
    # Bytes after STLS in the same packet would be injected into TLS.
    r.send(b'STLS\r\nUSER evil\r\n')
    reply = r.line()
    assert reply.startswith(b'-ERR'), reply
    assert r.at_eof()


def test_in_use_refuses_a_second_pop3_session_but_not_imap():
    s = server()
    user = 'p11@example.test'
    append(s, user, msg(1))
    first = raw(s, user)
    second = raw(s)
    assert second.cmd('USER ' + user).startswith(b'+OK')
    reply = second.cmd('PASS ' + ACCOUNTS[user])
    assert reply.startswith(b'-ERR [IN-USE]'), reply
    reply = second.cmd('AUTH PLAIN ' + plain_b64('', user, ACCOUNTS[user]))
    assert reply.startswith(b'-ERR [IN-USE]'), reply
    # IMAP is not affected.
    c = imap(s, user)
    assert c.select('INBOX')[0] == 'OK'
    c.logout()
    assert first.cmd('QUIT').startswith(b'+OK')
    assert first.at_eof()
    # After QUIT the maildrop is free again.
    second.login(user, ACCOUNTS[user])
    assert second.cmd('QUIT').startswith(b'+OK')


# ---- IMAP during a POP3 session ---------------------------------------------------------

def test_imap_expunge_during_pop3_session():
    s = server()
    user = 'p12@example.test'
    append(s, user, msg(1), msg(2), msg(3))
    p = pop(s, user)
    assert p.stat()[0] == 3
    c = imap(s, user)
    c.select('INBOX')
    c.store('2', '+FLAGS', '\\Deleted')
    c.expunge()
    # RFC 1939 §8: the server may treat it as deleted; numbers stay.
    try:
        p.retr(2)
        raise AssertionError('RETR of an expunged message answered +OK')
    except poplib.error_proto as e:
        assert str(e).startswith("b'-ERR"), e
    assert p.retr(3)[1][-1] == b'body of 3'
    assert p.uidl(3).split()[1] == b'3'
    try:
        p.dele(2)
        raise AssertionError('DELE of an expunged message answered +OK')
    except poplib.error_proto:
        pass
    assert p.dele(3).startswith(b'+OK')
    assert p.quit().startswith(b'+OK')
    c.noop()
    typ, data = c.search(None, 'ALL')
    assert data == [b'1'], data
    c.logout()


def test_new_mail_during_session_waits_for_next_login():
    s = server()
    user = 'p13@example.test'
    append(s, user, msg(1))
    p = pop(s, user)
    append(s, user, msg(2))
    assert p.stat()[0] == 1  # the maildrop is the snapshot taken at login
    p.quit()
    p = pop(s, user)
    assert p.stat()[0] == 2
    p.quit()


# ---- hostile input --------------------------------------------------------------------------

def test_long_lines_and_garbage():
    s = server()
    r = raw(s)
    r.send(b'USER ' + b'a' * 300 + b'\r\n')
    assert r.line().startswith(b'-ERR')
    # A line much longer than the limit, in pieces, is dropped whole.
    r.send(b'NOOP ' + b'x' * 5000)
    assert r.line().startswith(b'-ERR')
    r.send(b'y' * 5000 + b'\r\n')
    assert r.cmd('CAPA').startswith(b'+OK')
    r.multi()
    assert r.cmd(b'\x00\x01\xff').startswith(b'-ERR')
    assert r.cmd('').startswith(b'-ERR')
    assert r.cmd('QUIT').startswith(b'+OK')


def test_too_many_errors_close_the_connection():
    s = server()
    r = raw(s)
    closed = False
    for i in range(30):
        try:
            r.cmd('BOGUS %d' % i)
        except (EOFError, ConnectionResetError, BrokenPipeError):
            closed = True
            break
    assert closed or r.at_eof()


def test_pipelined_commands_answer_in_order():
    s = server()
    user = 'p14@example.test'
    append(s, user, msg(1), msg(2))
    r = raw(s)
    r.send(('USER %s\r\nPASS %s\r\nSTAT\r\nUIDL 1\r\nRETR 2\r\nNOOP\r\nQUIT\r\n'
            % (user, ACCOUNTS[user])).encode())
    assert r.line().startswith(b'+OK')
    assert r.line().startswith(b'+OK')
    assert r.line().startswith(b'+OK 2 ')
    assert r.line().startswith(b'+OK 1 ')
    assert r.line().startswith(b'+OK')
    assert r.multi()[-1] == b'body of 2'
    assert r.line().startswith(b'+OK')
    assert r.line().startswith(b'+OK')
    assert r.at_eof()


def test_big_retr_to_a_slow_reader_is_streamed():
    s = server()
    user = 'p15@example.test'
    line = b'0123456789' * 7 + b'\n'
    big = b'Subject: big\n\n' + line * (6 * 1024 * 1024 // len(line))
    append(s, user, big)
    r = raw(s, user)
    r.send(b'RETR 1\r\n')
    time.sleep(1.0)  # do not read: the server must pause, not buffer it all
    want = len(crlf_form(big))
    # Not sized before: the size is counted while sending.
    assert r.line() in (b'+OK %d octets' % want, b'+OK Message follows')
    body = r.raw_multi()
    assert len(body) == want, (len(body), want)
    assert r.cmd('LIST 1') == b'+OK 1 %d' % want
    assert r.cmd('QUIT').startswith(b'+OK')


def test_stat_of_a_large_maildrop_is_counted_in_slices():
    s = server()
    user = 'p16@example.test'
    line = b'abcdefghij' * 7 + b'\n'
    bigs = [b'Subject: big %d\n\n' % i + line * (4 * 1024 * 1024 // len(line)) for i in range(3)]
    append(s, user, *bigs)
    r = raw(s, user)
    # 12 MB to count: more than one slice, so the loop is yielded to between.
    want = sum(len(crlf_form(b)) for b in bigs)
    r.send(b'STAT\r\nNOOP\r\n')
    assert r.line() == b'+OK 3 %d' % want
    assert r.line().startswith(b'+OK')
    assert r.cmd('RETR 3') == b'+OK %d octets' % len(crlf_form(bigs[2]))
    assert len(r.raw_multi()) == len(crlf_form(bigs[2]))
    assert r.cmd('QUIT').startswith(b'+OK')


def test_over_long_auth_response_is_refused():
    s = server()
    r = raw(s)
    assert r.cmd('AUTH PLAIN').startswith(b'+ ')
    r.send(b'A' * 20000)
    assert r.line().startswith(b'-ERR')
    r.send(b'A' * 100 + b'\r\n')  # the rest of that line is dropped too
    assert r.cmd('NOOP').startswith(b'-ERR Log in first')
    assert r.cmd('AUTH PLAIN').startswith(b'+ ')
    r.send(b'B' * 13000 + b'\r\nNOOP\r\n')  # complete but too long
    assert r.line().startswith(b'-ERR')
    assert r.line().startswith(b'-ERR Log in first')
    assert r.cmd('QUIT').startswith(b'+OK')


def test_server_stops_cleanly():
    server()
    server.stop()


# ---- UIDL across restarts ---------------------------------------------------------------------

def test_uidl_is_stable_across_sessions_and_restart():
    user = 'u@example.test'
    with harness.Server(accounts={user: 'pw'}, listeners=LISTENERS) as s:
        append(s, user, msg(1), msg(2), msg(3))
        p = pop(s, user)
        first = p.uidl()[1]
        p.dele(1)
        p.quit()
        p = pop(s, user)
        second = p.uidl()[1]
        p.quit()
        # Message numbers move up; the unique-ids stay with their messages.
        assert [l.split()[1] for l in second] == [l.split()[1] for l in first[1:]]
        s.restart()
        p = pop(s, user)
        assert p.uidl()[1] == second
        p.quit()


# ---- plaintext logins off loopback ------------------------------------------------------------

def non_loopback_ipv4():
    """A local IPv4 address that is not in 127.0.0.0/8, or None."""
    candidates = []
    try:
        out = subprocess.run(['ip', '-4', '-o', 'addr', 'show'], capture_output=True,
                             text=True, timeout=10).stdout
        candidates += re.findall(r'\binet (\d+\.\d+\.\d+\.\d+)/', out)
    except (OSError, subprocess.SubprocessError):
        pass
    for probe in ('192.0.2.1', '10.255.255.255'):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.connect((probe, 9))
                candidates.append(u.getsockname()[0])
        except OSError:
            pass
    for addr in candidates:
        if addr.startswith('127.') or addr == '0.0.0.0':
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                t.bind((addr, 0))
            return addr
        except OSError:
            continue
    return None


def test_plaintext_login_refused_off_loopback_until_stls():
    addr = non_loopback_ipv4()
    if addr is None:
        raise unittest.SkipTest('this machine has no non-loopback IPv4 address')
    port = harness.free_ports(1, host=addr)[0]
    user = 'u@example.test'
    with harness.Server(accounts={user: 'pw'}, listeners=('pop3s',),
                        config={'pop3': '%s:%d' % (addr, port)}) as s:
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
        r.cmd('CAPA')
        caps = r.multi()
        assert b'STLS' in caps and b'USER' not in caps, caps
        assert not any(c.startswith(b'SASL') for c in caps), caps
        assert r.cmd('USER ' + user).startswith(b'-ERR [AUTH]')
        assert r.cmd('AUTH PLAIN ' + plain_b64('', user, 'pw')).startswith(b'-ERR [AUTH]')
        assert r.cmd('STLS').startswith(b'+OK')
        r.sock = ctx().wrap_socket(r.sock, server_hostname='localhost')
        r.cmd('CAPA')
        caps = r.multi()
        assert b'USER' in caps and b'STLS' not in caps, caps
        r.login(user, 'pw')
        r.cmd('QUIT')


if __name__ == '__main__':
    harness.main()
