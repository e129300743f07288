"""test_queue: the outbound queue delivers to a second SMTP server on
loopback (a tiny sink written here), through relay_host or through MX
records served by a tiny DNS server written here; retries temporary
failures, bounces permanent ones to the sender's INBOX as an RFC 3464
report, shares one connection per domain, and survives kill -9.

Most tests put messages in the queue the way queue_submit writes them
(rows in DATA_DIR/queue.db, see src/delivery/queue.c), to control the
envelope exactly; test_submission_to_a_remote_address_arrives_at_the_sink
goes end to end through SMTP submission.
"""

import base64
import os
import select
import smtplib
import socket
import sqlite3
import ssl
import struct
import subprocess
import threading
import time

import harness

LOCAL = 'example.test'
ALICE = 'alice@example.test'
ACCOUNTS = {ALICE: 'alice-pw'}
WAIT = 15.0


# ---- a tiny SMTP server ------------------------------------------------------

class Lines:
    """Lines from a socket (plain or TLS); readline(timeout) gives None when
    no whole line came within timeout seconds, b'' at the end."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b''

    def readline(self, timeout=None):
        while b'\n' not in self.buf:
            if timeout is not None and not getattr(self.sock, 'pending', lambda: 0)():
                if not select.select([self.sock], [], [], timeout)[0]:
                    return None
            chunk = self.sock.recv(65536)
            if not chunk:
                line, self.buf = self.buf, b''
                return line
            self.buf += chunk
        line, self.buf = self.buf.split(b'\n', 1)
        return line + b'\n'


class Sink:
    """An SMTP server on loopback. replies maps a recipient (lower case) to
    the reply its RCPT gets (default 250); data_reply is the reply after the
    data. Every message received is in .messages as (mail_from, [rcpts],
    bytes); .connections counts sessions. tls_cert/tls_key offer STARTTLS;
    auth=(user, password) requires AUTH PLAIN or LOGIN after it; dsn offers
    DSN (RFC 3461); pipelining=False does not offer PIPELINING. With
    watch_groups, each MAIL is answered only after the commands that came
    with it without waiting for a reply (up to DATA, or a pause of 2 s):
    .groups lists their verbs, one list per MAIL (RFC 2920 batching).
    lax_data answers DATA with 354 even when no recipient was accepted."""

    def __init__(self, replies=None, data_reply='250 2.0.0 ok', tls=None, auth=None,
                 size=None, dsn=False, pipelining=True, watch_groups=False, lax_data=False):
        self.replies = dict(replies or {})
        self.dsn = dsn
        self.pipelining = pipelining
        self.watch_groups = watch_groups
        self.lax_data = lax_data
        self.groups = []
        self.data_reply = data_reply
        self.tls = tls
        self.auth = auth
        self.size = size
        self.messages = []
        self.connections = 0
        self.transcript = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.closed = True
        self.sock.close()

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        try:
            self._serve(conn)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def _serve(self, conn):
        f = Lines(conn)
        out = conn
        pending = []

        def send(line):
            out.sendall(line.encode() + b'\r\n')

        send('220 sink.test ESMTP')
        mail_from, rcpts, authed, tls_on = None, [], self.auth is None, False
        while True:
            raw = pending.pop(0) if pending else f.readline()
            if not raw:
                return
            line = raw.decode('utf-8', 'replace').rstrip('\r\n')
            with self.lock:
                self.transcript.append(line)
            verb = line.split(' ', 1)[0].upper()
            if verb == 'MAIL' and self.watch_groups:
                group = ['MAIL']
                while group[-1] not in ('DATA', 'QUIT'):
                    more = f.readline(timeout=2.0)
                    if not more:
                        break  # the client waits for our reply
                    pending.append(more)
                    group.append(more.decode('utf-8', 'replace').split(' ', 1)[0]
                                 .split(':', 1)[0].strip().upper())
                with self.lock:
                    self.groups.append(group)
            if verb in ('EHLO', 'HELO'):
                ext = ['8BITMIME'] + (['PIPELINING'] if self.pipelining else [])
                if self.size:
                    ext.append('SIZE %d' % self.size)
                if self.dsn:
                    ext.append('DSN')
                if self.tls and not tls_on:
                    ext.append('STARTTLS')
                if self.auth and tls_on:
                    ext.append('AUTH LOGIN PLAIN')
                lines = ['sink.test'] + ext
                for i, l in enumerate(lines):
                    send('250%s%s' % ('-' if i < len(lines) - 1 else ' ', l))
            elif verb == 'STARTTLS' and self.tls:
                send('220 go ahead')
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(*self.tls)
                out = ctx.wrap_socket(conn, server_side=True)
                f = Lines(out)
                tls_on = True
            elif verb == 'AUTH':
                parts = line.split()
                if parts[1].upper() == 'PLAIN':
                    got = base64.b64decode(parts[2]).split(b'\0')
                    ok = got[1:] == [self.auth[0].encode(), self.auth[1].encode()]
                else:
                    send('334 VXNlcm5hbWU6')
                    user = base64.b64decode(f.readline().strip())
                    send('334 UGFzc3dvcmQ6')
                    pw = base64.b64decode(f.readline().strip())
                    ok = (user, pw) == (self.auth[0].encode(), self.auth[1].encode())
                authed = ok
                send('235 2.7.0 ok' if ok else '535 5.7.8 bad credentials')
            elif verb == 'MAIL':
                if not authed:
                    send('530 5.7.0 authentication required')
                    continue
                mail_from = line[line.index('<') + 1:line.index('>')]
                rcpts = []
                send('250 2.1.0 ok')
            elif verb == 'RCPT':
                addr = line[line.index('<') + 1:line.index('>')].lower()
                reply = self.replies.get(addr, '250 2.1.5 ok')
                if reply.startswith('2'):
                    rcpts.append(addr)
                send(reply)
            elif verb == 'DATA':
                if not rcpts and not self.lax_data:
                    send('554 5.5.1 no valid recipients')
                    continue
                send('354 go on')
                data = b''
                while True:
                    chunk = f.readline()
                    if not chunk:
                        return
                    if chunk == b'.\r\n':
                        break
                    if chunk.startswith(b'.'):
                        chunk = chunk[1:]
                    data += chunk
                if self.data_reply.startswith('2'):
                    with self.lock:
                        self.messages.append((mail_from, list(rcpts), data))
                send(self.data_reply)
            elif verb == 'RSET':
                mail_from, rcpts = None, []
                send('250 ok')
            elif verb == 'QUIT':
                send('221 bye')
                return
            else:
                send('502 5.5.2 what')

    def wait_messages(self, n, timeout=WAIT):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if len(self.messages) >= n:
                    return list(self.messages)
            time.sleep(0.1)
        raise AssertionError('sink got %d messages, wanted %d; transcript: %r'
                             % (len(self.messages), n, self.transcript[-20:]))


# ---- a tiny DNS server ------------------------------------------------------

class Dns:
    """UDP DNS on loopback. records: {(name, 'MX'|'A'): [values]}, MX values
    are (preference, host). A name in no key gets NXDOMAIN; a known name
    without the asked type gets an empty answer."""

    TYPES = {1: 'A', 15: 'MX', 28: 'AAAA'}

    def __init__(self, records):
        self.records = records
        self.queries = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self):
        self.sock.close()

    @staticmethod
    def _name(labels):
        out = b''
        for label in labels.split('.') if labels else []:
            out += bytes([len(label)]) + label.encode()
        return out + b'\0'

    def _serve(self):
        while True:
            try:
                q, addr = self.sock.recvfrom(512)
            except OSError:
                return
            pos, labels = 12, []
            while q[pos]:
                labels.append(q[pos + 1:pos + 1 + q[pos]].decode().lower())
                pos += 1 + q[pos]
            qtype = struct.unpack('>H', q[pos + 1:pos + 3])[0]
            question = q[12:pos + 5]
            name = '.'.join(labels)
            kind = self.TYPES.get(qtype, '?')
            self.queries.append((name, kind))
            known = any(k[0] == name for k in self.records)
            answers = b''
            count = 0
            for value in self.records.get((name, kind), []):
                if kind == 'MX':
                    rdata = struct.pack('>H', value[0]) + self._name(value[1])
                else:
                    rdata = socket.inet_aton(value)
                answers += b'\xc0\x0c' + struct.pack('>HHIH', qtype, 1, 60, len(rdata)) + rdata
                count += 1
            flags = 0x8180 | (0 if known else 3)
            header = q[:2] + struct.pack('>HHHHH', flags, 1, count, 0, 0)
            self.sock.sendto(header + question + answers, addr)


# ---- putting mail in the queue --------------------------------------------------

def enqueue(server, sender, recipients, data):
    """Add an entry to the queue as queue_submit does (one transaction)."""
    queue_list(server)  # queue.db exists (the runner may still be starting)
    db = sqlite3.connect(os.path.join(server.data_dir, 'queue.db'), timeout=10)
    try:
        with db:
            cur = db.execute('INSERT INTO message (sender, created, size, data) '
                             'VALUES (?, ?, ?, ?)', (sender, int(time.time()), len(data), data))
            mid = cur.lastrowid
            for r in recipients:
                db.execute('INSERT INTO recipient (message_id, address, domain, next_attempt) '
                           'VALUES (?, ?, ?, ?)', (mid, r, r.rsplit('@', 1)[1].lower(),
                                                   int(time.time())))
        return str(mid)
    finally:
        db.close()


def queue_list(server):
    r = server.cli('queue', 'list')
    assert r.returncode == 0, r.stderr
    return r.stdout


def wait_for(predicate, what, timeout=WAIT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError('timed out waiting for ' + what)


def message(subject, extra=b''):
    return (b'From: <alice@example.test>\r\nTo: <bob@remote.test>\r\n'
            b'Subject: ' + subject.encode() + b'\r\nMessage-ID: <' + subject.encode() +
            b'@example.test>\r\n\r\nhello\r\n.leading dot\r\n..two dots\r\n' + extra)


def mx_config(dns, sink, **extra):
    config = {'dns_resolver': '127.0.0.1:%d' % dns.port, 'mx_port': str(sink.port),
              'queue_retry_base': '1s'}
    config.update(extra)
    return config


def inbox_messages(server):
    c = server.imap(ALICE)
    c.select('INBOX')
    typ, data = c.search(None, 'ALL')
    out = []
    for num in data[0].split():
        typ, parts = c.fetch(num, '(BODY.PEEK[])')
        out.append(parts[0][1])
    c.logout()
    return out


# ---- tests -------------------------------------------------------------------------

def test_relay_host_gets_the_message_byte_exact():
    sink = Sink()
    try:
        with harness.Server(accounts=ACCOUNTS,
                            config={'relay_tls_insecure': 'yes', 'relay_host': '127.0.0.1:%d' % sink.port}) as s:
            data = message('relay')
            enqueue(s, ALICE, ['bob@remote.test'], data)
            got = sink.wait_messages(1)
            assert got[0][0] == ALICE
            assert got[0][1] == ['bob@remote.test']
            assert got[0][2] == data, got[0][2]
            wait_for(lambda: 'queue is empty' in queue_list(s), 'the entry to go')
    finally:
        sink.close()


def test_mx_lookup_delivers_to_the_preferred_host():
    sink = Sink()
    dns = Dns({('remote.test', 'MX'): [(20, 'backup.remote.test'), (10, 'mx.remote.test')],
               ('mx.remote.test', 'A'): ['127.0.0.1'],
               ('backup.remote.test', 'A'): ['127.0.0.2']})
    try:
        with harness.Server(accounts=ACCOUNTS, config=mx_config(dns, sink)) as s:
            enqueue(s, ALICE, ['bob@remote.test'], message('mx'))
            got = sink.wait_messages(1)
            assert got[0][1] == ['bob@remote.test']
            assert ('remote.test', 'MX') in dns.queries
            assert ('mx.remote.test', 'A') in dns.queries
    finally:
        sink.close()
        dns.close()


def test_no_mx_falls_back_to_the_domains_address():
    sink = Sink()
    dns = Dns({('plain.test', 'A'): ['127.0.0.1']})
    try:
        with harness.Server(accounts=ACCOUNTS, config=mx_config(dns, sink)) as s:
            enqueue(s, ALICE, ['carol@plain.test'], message('amx'))
            got = sink.wait_messages(1)
            assert got[0][1] == ['carol@plain.test']
    finally:
        sink.close()
        dns.close()


def test_several_recipients_at_one_domain_share_one_connection():
    sink = Sink()
    dns = Dns({('remote.test', 'MX'): [(10, 'mx.remote.test')],
               ('mx.remote.test', 'A'): ['127.0.0.1']})
    try:
        with harness.Server(accounts=ACCOUNTS, config=mx_config(dns, sink)) as s:
            s.cli('queue', 'list')  # creates queue.db before the inserts race the runner
            db = sqlite3.connect(os.path.join(s.data_dir, 'queue.db'), timeout=10)
            later = int(time.time()) + 3600
            with db:  # held back, then released together by a flush
                for i, rcpts in enumerate([['a@remote.test', 'b@remote.test', 'c@remote.test'],
                                           ['d@remote.test']]):
                    cur = db.execute('INSERT INTO message (sender, created, size, data) '
                                     'VALUES (?, ?, ?, ?)', (ALICE, int(time.time()), 10,
                                                             message('m%d' % i)))
                    for r in rcpts:
                        db.execute('INSERT INTO recipient (message_id, address, domain, '
                                   'next_attempt) VALUES (?, ?, ?, ?)',
                                   (cur.lastrowid, r, 'remote.test', later))
            db.close()
            out = s.cli('queue', 'flush').stdout
            assert '4 recipients due now' in out, out
            got = sink.wait_messages(2)
            assert sorted(got[0][1]) == ['a@remote.test', 'b@remote.test', 'c@remote.test']
            assert got[1][1] == ['d@remote.test']
            assert sink.connections == 1, sink.connections
    finally:
        sink.close()
        dns.close()


def test_temporary_failure_is_retried_then_delivered():
    sink = Sink(replies={'bob@remote.test': '451 4.3.0 try later'})
    try:
        with harness.Server(accounts=ACCOUNTS,
                            config={'relay_tls_insecure': 'yes', 'relay_host': '127.0.0.1:%d' % sink.port,
                                    'queue_retry_base': '1h'}) as s:
            enqueue(s, ALICE, ['bob@remote.test'], message('retry'))
            out = wait_for(lambda: (lambda o: o if '451 4.3.0' in o else None)(queue_list(s)),
                           'the 451 to be recorded')
            assert 'pending  attempts 1' in out, out
            sink.replies.clear()
            time.sleep(2)
            assert sink.messages == []  # the next attempt is an hour away
            s.cli('queue', 'flush')
            got = sink.wait_messages(1)
            assert got[0][1] == ['bob@remote.test']
            wait_for(lambda: 'queue is empty' in queue_list(s), 'the entry to go')
    finally:
        sink.close()


def test_permanent_failure_bounces_to_the_senders_inbox():
    sink = Sink(replies={'nobody@remote.test': '550 5.1.1 no such user'})
    try:
        with harness.Server(accounts=ACCOUNTS,
                            config={'relay_tls_insecure': 'yes', 'relay_host': '127.0.0.1:%d' % sink.port}) as s:
            enqueue(s, ALICE, ['nobody@remote.test', 'bob@remote.test'], message('bounce'))
            got = sink.wait_messages(1)
            assert got[0][1] == ['bob@remote.test']
            msgs = wait_for(lambda: inbox_messages(s), 'the bounce in INBOX')
            dsn = msgs[0]
            assert b'multipart/report' in dsn and b'report-type=delivery-status' in dsn
            assert b'Content-Type: message/delivery-status' in dsn
            assert b'Final-Recipient: rfc822; nobody@remote.test' in dsn
            assert b'Status: 5.1.1' in dsn
            assert b'Action: failed' in dsn
            assert b'From: Mail Delivery System <MAILER-DAEMON@localhost>' in dsn
            assert b'bob@remote.test' not in dsn.split(b'text/rfc822-headers')[0]
            assert b'Subject: bounce' in dsn  # the original's header comes back
            c = s.imap(ALICE)
            c.select('INBOX')
            typ, data = c.fetch('1', '(BODYSTRUCTURE)')
            body = data[0].decode() if isinstance(data[0], bytes) else str(data[0])
            assert '"report"' in body.lower() and '"delivery-status"' in body.lower(), body
            c.logout()
            wait_for(lambda: 'queue is empty' in queue_list(s), 'the entry to go')
    finally:
        sink.close()


def test_null_mx_bounces_without_connecting():
    dns = Dns({('nomail.test', 'MX'): [(0, '')]})
    sink = Sink()
    try:
        with harness.Server(accounts=ACCOUNTS, config=mx_config(dns, sink)) as s:
            enqueue(s, ALICE, ['x@nomail.test'], message('nullmx'))
            dsn = wait_for(lambda: inbox_messages(s), 'the bounce')[0]
            assert b'Status: 5.1.10' in dsn, dsn
            assert sink.connections == 0
    finally:
        sink.close()
        dns.close()


def test_a_bounce_is_never_bounced():
    sink = Sink(replies={'x@remote.test': '550 5.1.1 no'})
    try:
        with harness.Server(accounts=ACCOUNTS,
                            config={'relay_tls_insecure': 'yes', 'relay_host': '127.0.0.1:%d' % sink.port}) as s:
            enqueue(s, '', ['x@remote.test'], message('dsn'))
            wait_for(lambda: 'queue is empty' in queue_list(s), 'the entry to go')
            assert inbox_messages(s) == []
            assert 'not bounced again' in s.log()
    finally:
        sink.close()


def test_remote_sender_gets_its_bounce_queued_with_an_empty_sender():
    sink = Sink(replies={'x@remote.test': '550 5.1.1 no'})
    try:
        with harness.Server(accounts=ACCOUNTS,
                            config={'relay_tls_insecure': 'yes', 'relay_host': '127.0.0.1:%d' % sink.port}) as s:
            enqueue(s, 'someone@elsewhere.test', ['x@remote.test'], message('remote'))
            got = sink.wait_messages(1)
            assert got[0][0] == '' and got[0][1] == ['someone@elsewhere.test']
            assert b'multipart/report' in got[0][2]
    finally:
        sink.close()


def test_relay_auth_goes_over_starttls():
    # The sink's certificate: the self-signed pair a buzon makes on start.
    with harness.Server(accounts=ACCOUNTS) as first:
        cert = os.path.join(first.data_dir, 'tls', 'cert.pem')
        key = os.path.join(first.data_dir, 'tls', 'key.pem')
        pem = (open(cert).read(), open(key).read())
    tmp = harness.tempfile.mkdtemp(prefix='buzon-sink-')
    cert, key = os.path.join(tmp, 'cert.pem'), os.path.join(tmp, 'key.pem')
    with open(cert, 'w') as f:
        f.write(pem[0])
    with open(key, 'w') as f:
        f.write(pem[1])
    pwfile = os.path.join(tmp, 'relay.pw')
    with open(pwfile, 'w') as f:
        f.write('s3cret\n')
    sink = Sink(tls=(cert, key), auth=('relayuser', 's3cret'))
    try:
        with harness.Server(accounts=ACCOUNTS,
                            config={'relay_tls_insecure': 'yes', 'relay_host': '127.0.0.1:%d' % sink.port,
                                    'relay_user': 'relayuser',
                                    'relay_password_file': pwfile}) as s:
            enqueue(s, ALICE, ['bob@remote.test'], message('auth'))
            got = sink.wait_messages(1)
            assert got[0][1] == ['bob@remote.test']
            assert any(l.startswith('AUTH PLAIN') for l in sink.transcript)
            assert sink.transcript.index('STARTTLS') < [
                i for i, l in enumerate(sink.transcript) if l.startswith('AUTH')][0]
    finally:
        sink.close()
        harness.shutil.rmtree(tmp, ignore_errors=True)


def test_pipelining_peer_gets_mail_rcpts_and_data_in_one_group():
    # RFC 2920: the envelope goes without waiting for replies; each
    # recipient's reply is still its own (one refused, two delivered).
    sink = Sink(watch_groups=True, replies={'no@remote.test': '550 5.1.1 no such user'})
    try:
        with harness.Server(accounts=ACCOUNTS,
                            config={'relay_tls_insecure': 'yes',
                                    'relay_host': '127.0.0.1:%d' % sink.port}) as s:
            enqueue(s, ALICE, ['a@remote.test', 'no@remote.test', 'b@remote.test'],
                    message('piped'))
            got = sink.wait_messages(1)
            assert got[0][1] == ['a@remote.test', 'b@remote.test'], got
            assert sink.groups[0] == ['MAIL', 'RCPT', 'RCPT', 'RCPT', 'DATA'], sink.groups
            dsn = wait_for(lambda: inbox_messages(s), 'the bounce for no@')[0]
            part = dsn.split(b'message/delivery-status', 1)[1]
            assert b'Final-Recipient: rfc822; no@remote.test' in part
            assert b'a@remote.test' not in part.split(b'text/rfc822-headers')[0]
            wait_for(lambda: 'queue is empty' in queue_list(s), 'the entry to go')
    finally:
        sink.close()


def test_pipelined_data_accepted_without_recipients_gets_a_lone_dot():
    # RFC 2920 §3.1: every RCPT refused, yet this (lax) server says 354 to
    # the DATA that came in the same group: the client ends it with ".".
    sink = Sink(watch_groups=True, lax_data=True,
                replies={'x@remote.test': '550 5.1.1 no', 'y@remote.test': '550 5.1.1 no'})
    try:
        with harness.Server(accounts=ACCOUNTS,
                            config={'relay_tls_insecure': 'yes',
                                    'relay_host': '127.0.0.1:%d' % sink.port}) as s:
            enqueue(s, ALICE, ['x@remote.test', 'y@remote.test'], message('none'))
            got = sink.wait_messages(1)
            assert got[0][1] == [] and got[0][2] == b'', got
            assert sink.groups[0] == ['MAIL', 'RCPT', 'RCPT', 'DATA'], sink.groups
            assert 'RSET' in sink.transcript
            wait_for(lambda: inbox_messages(s), 'the bounce')
            wait_for(lambda: 'queue is empty' in queue_list(s), 'the entry to go')
    finally:
        sink.close()


def test_large_envelopes_go_in_groups_and_no_pipelining_without_the_extension():
    # 60 recipients with long names pass the 4 KB group limit: several
    # groups, all delivered. A peer without PIPELINING gets MAIL alone.
    many = ['%s-%02d@remote.test' % ('r' * 80, i) for i in range(60)]
    piped = Sink(watch_groups=True)
    plain = Sink(watch_groups=True, pipelining=False)
    try:
        for sink in (piped, plain):
            with harness.Server(accounts=ACCOUNTS,
                                config={'relay_tls_insecure': 'yes',
                                        'relay_host': '127.0.0.1:%d' % sink.port}) as s:
                enqueue(s, ALICE, many, message('many'))
                got = sink.wait_messages(1)
                assert sorted(got[0][1]) == sorted(many)
                wait_for(lambda: 'queue is empty' in queue_list(s), 'the entry to go')
        assert piped.groups[0][0] == 'MAIL' and 1 < len(piped.groups[0]) < 62, piped.groups
        assert plain.groups[0] == ['MAIL'], plain.groups
    finally:
        piped.close()
        plain.close()


def test_queue_survives_kill_9_and_delivers_after_restart():
    sink = Sink(replies={'bob@remote.test': '451 4.3.0 later'})
    try:
        s = harness.Server(accounts=ACCOUNTS,
                           config={'relay_tls_insecure': 'yes', 'relay_host': '127.0.0.1:%d' % sink.port,
                                   'queue_retry_base': '1h'})
        with s:
            ids = [enqueue(s, ALICE, ['bob@remote.test'], message('k%d' % i)) for i in range(3)]
            wait_for(lambda: queue_list(s).count('451 4.3.0') == 3, 'three deferrals')
            s.kill()
            out = queue_list(s)
            for i in ids:
                assert out.count('\n' + i + '  ') + out.startswith(i + '  ') == 1, out
            sink.replies.clear()
            s.start()
            s.cli('queue', 'flush')
            got = sink.wait_messages(3)
            assert sorted(m[2].split(b'Subject: ')[1][:2] for m in got) == [b'k0', b'k1', b'k2']
            wait_for(lambda: 'queue is empty' in queue_list(s), 'the entries to go')
    finally:
        sink.close()


def test_submission_to_a_remote_address_arrives_at_the_sink():
    sink = Sink()
    dns = Dns({('remote.test', 'MX'): [(10, 'mx.remote.test')],
               ('mx.remote.test', 'A'): ['127.0.0.1']})
    try:
        with harness.Server(accounts=ACCOUNTS, listeners=('imap', 'submission'),
                            config=mx_config(dns, sink)) as s:
            c = smtplib.SMTP(s.host, s.ports['submission'], timeout=harness.CLIENT_TIMEOUT)
            c.starttls(context=harness.unverified_ssl_context())
            c.login(ALICE, ACCOUNTS[ALICE])
            body = (b'From: <alice@example.test>\r\nTo: <bob@remote.test>\r\n'
                    b'Subject: end to end\r\n\r\n.starts with a dot\r\nbye\r\n')
            refused = c.sendmail(ALICE, ['bob@remote.test', 'carol@remote.test'], body)
            assert refused == {}, refused
            c.quit()
            got = sink.wait_messages(1)
            assert got[0][0] == ALICE
            assert sorted(got[0][1]) == ['bob@remote.test', 'carol@remote.test']
            assert got[0][2].endswith(b'Subject: end to end\r\n\r\n.starts with a dot\r\nbye\r\n')
            assert sink.connections == 1
            wait_for(lambda: 'queue is empty' in queue_list(s), 'the entry to go')
    finally:
        sink.close()
        dns.close()


def test_queue_cli_list_and_delete():
    with harness.Server(accounts=ACCOUNTS, serve=False) as s:
        assert 'queue is empty' in queue_list(s)
        mid = enqueue(s, ALICE, ['bob@remote.test'], message('cli'))
        out = queue_list(s)
        assert out.startswith(mid + '  ') and 'from <alice@example.test>' in out, out
        assert 'bob@remote.test  pending  attempts 0' in out, out
        assert 'deleted ' + mid in s.cli('queue', 'delete', mid).stdout
        assert 'queue is empty' in queue_list(s)
        r = s.cli('queue', 'delete', mid)
        assert r.returncode == 1 and 'no such queue entry' in r.stderr, r
        r = s.cli('queue', 'frobnicate')
        assert r.returncode == 2


if __name__ == '__main__':
    harness.main()
