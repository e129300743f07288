"""test_smtp_crash: rule 1 of DESIGN.md for SMTP ("A kill -9 during 4
parallel SMTP streams loses no message that got its 250, and the queue is
intact after restart", issue 4).

Four clients send numbered messages (a unique marker in Subject and body,
sizes from 400 bytes to 60 KB) with smtplib, one message per transaction,
and record which got their 250:

- two over the MX listener, each message to 1, 2 or 3 of four local
  accounts (stored once, seen in each recipient's INBOX);
- two over submission (alice, plaintext on loopback) to 1, 2 or 3 remote
  recipients, which go to the outbound queue and stay there: relay_host
  is a loopback port nobody listens on, and queue_retry_base is an hour.
  Each remote recipient's local part names the message, so `buzon queue
  list` can be matched to what was sent.

The server is killed with SIGKILL at some moment, restarted on the same
data, and then:

- every acknowledged local message is in each of its recipients' INBOX
  exactly once, complete (the stored bytes end with exactly what was sent,
  after our Return-Path and Received), and in no other INBOX;
- an unacknowledged one (its 250 lost in the kill) is in all of its
  recipients' INBOXes or in none (one stored copy, one transaction), never
  twice, never half there;
- `buzon queue list` shows every acknowledged queued message once, with
  exactly its recipients, all pending, and queue.db holds its bytes
  complete; nothing is queued twice.

This is done three times on the same data, killing at different moments.
"""

import os
import random
import re
import smtplib
import socket
import sqlite3
import threading
import time

import harness

LOCAL = ['alice@example.test', 'bob@example.test', 'carol@example.test', 'dave@example.test']
ACCOUNTS = {a: 'pw-' + a.split('@')[0] for a in LOCAL}
SENDER = LOCAL[0]  # the submission account
REMOTE_DOMAINS = ('remote.test', 'far.test')
SIZES = (400, 2000, 5000, 12000, 60000)
MX_CLIENTS = 2
SUBMISSION_CLIENTS = 2
CLIENTS = MX_CLIENTS + SUBMISSION_CLIENTS


def message_for(marker):
    """(data, recipients, queued) for marker: deterministic, so what a
    message should look like is known whether or not it got its 250."""
    rng = random.Random(marker)
    queued = '-sub' in marker
    count = rng.choice((1, 1, 2, 3))
    if queued:
        recipients = ['%s.%d@%s' % (marker, n, rng.choice(REMOTE_DOMAINS))
                      for n in range(count)]
    else:
        recipients = rng.sample(LOCAL, count)
    size = rng.choice(SIZES)
    head = ('From: %s\r\n'
            'To: %s\r\n'
            'Subject: %s\r\n'
            'Message-ID: <%s@example.test>\r\n'
            '\r\n'
            'start %s\r\n' % (SENDER if queued else 'crash@remote.test',
                              ', '.join(recipients), marker, marker, marker)).encode()
    tail = ('end %s\r\n' % marker).encode()
    line = ('%s ' % marker).encode() * 4 + b'\r\n'
    pad = bytearray()
    while len(head) + len(pad) + len(line) + len(tail) <= size:
        pad += line
    return head + bytes(pad) + tail, recipients, queued


class Stream:
    """One round: CLIENTS threads sending until the server dies."""

    def __init__(self, s, round_no):
        self.s = s
        self.round = round_no
        self.lock = threading.Lock()
        self.sent = set()        # DATA started (maybe stored, maybe not)
        self.acked = set()       # 250 after the data
        self.refused = []        # an error reply while the server was alive
        self.ready = threading.Barrier(CLIENTS + 1)
        self.threads = [threading.Thread(target=self.client, args=(t,), daemon=True)
                        for t in range(CLIENTS)]

    def start(self):
        for t in self.threads:
            t.start()
        self.ready.wait(timeout=30)

    def acked_count(self):
        with self.lock:
            return len(self.acked)

    def connect(self, tid):
        if tid < MX_CLIENTS:
            c = smtplib.SMTP(self.s.host, self.s.ports['smtp'], timeout=30)
            c.ehlo('crash-client.test')
        else:
            c = smtplib.SMTP(self.s.host, self.s.ports['submission'], timeout=30)
            c.ehlo('crash-client.test')
            c.login(SENDER, ACCOUNTS[SENDER])
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return c

    def client(self, tid):
        try:
            c = self.connect(tid)
        finally:
            self.ready.wait(timeout=30)
        kind = 'mx' if tid < MX_CLIENTS else 'sub'
        n = 0
        while True:
            marker = 'crash-r%d-c%d-%s-m%d' % (self.round, tid, kind, n)
            n += 1
            data, recipients, _ = message_for(marker)
            sender = SENDER if kind == 'sub' else 'crash@remote.test'
            with self.lock:
                self.sent.add(marker)
            try:
                refused = c.sendmail(sender, recipients, data)
            except (smtplib.SMTPServerDisconnected, OSError, EOFError):
                return  # the server is gone
            except smtplib.SMTPException as e:
                if isinstance(getattr(e, 'smtp_code', None), int) and e.smtp_code == 421:
                    return
                with self.lock:
                    self.refused.append('%s: %r' % (marker, e))
                return
            with self.lock:
                if refused:
                    self.refused.append('%s: refused %r' % (marker, refused))
                    return
                self.acked.add(marker)

    def join(self):
        for t in self.threads:
            t.join(timeout=60)
            assert not t.is_alive(), 'a sending client hung after the kill'


def inbox_markers(s, user):
    """{marker: [stored bytes, ...]} of user's INBOX."""
    c = s.imap(user, timeout=60)
    c.select('INBOX', readonly=True)
    typ, data = c.uid('FETCH', '1:*', '(BODY.PEEK[])')
    assert typ == 'OK', data
    c.logout()
    found = {}
    for part in data:
        if not isinstance(part, tuple):
            continue
        m = re.search(rb'^Subject: (\S+)\r$', part[1], re.M)
        assert m, part[1][:300]
        found.setdefault(m.group(1).decode(), []).append(part[1])
    return found


def check_inboxes(s, acked, sent):
    """Rule 1 for local delivery; returns the number of stored copies."""
    seen = {}  # marker -> set of users holding it
    for user in LOCAL:
        for marker, copies in inbox_markers(s, user).items():
            assert marker in sent, '%s holds %s, which was never sent' % (user, marker)
            assert len(copies) == 1, '%s is in %s\'s INBOX %d times' \
                % (marker, user, len(copies))
            data, recipients, queued = message_for(marker)
            assert not queued and user in recipients, \
                '%s is in %s\'s INBOX, not one of its recipients %r' % (marker, user, recipients)
            stored = copies[0]
            assert stored.endswith(data), '%s in %s is not complete: %d bytes stored, ' \
                'sent %d' % (marker, user, len(stored), len(data))
            head = stored[:len(stored) - len(data)]
            assert head.startswith(b'Return-Path: <crash@remote.test>\r\nReceived: '), head
            seen.setdefault(marker, set()).add(user)
    for marker, users in seen.items():
        recipients = set(message_for(marker)[1])
        assert users == recipients, '%s is in %s but not in %s (one copy, one commit)' \
            % (marker, sorted(users), sorted(recipients - users))
    local_acked = {m for m in acked if not message_for(m)[2]}
    missing = sorted(local_acked - set(seen))
    assert not missing, '%d acknowledged messages lost in the crash: %s' \
        % (len(missing), ', '.join(missing[:10]))
    return sum(len(u) for u in seen.values())


def parse_queue_list(text):
    """[(id, size, sender, [(address, state)])] from `buzon queue list`."""
    entries = []
    for line in text.splitlines():
        m = re.match(r'^(\S+)  (\d+) bytes  from <([^>]*)>', line)
        if m:
            entries.append((m.group(1), int(m.group(2)), m.group(3), []))
            continue
        m = re.match(r'^  (\S+)  (\S+)', line)
        if m and entries:
            entries[-1][3].append((m.group(1), m.group(2)))
    return entries


def check_queue(s, acked, sent):
    """The queue after the crash: every acknowledged submission once, with
    its recipients, complete; returns the number of entries."""
    r = s.cli('queue', 'list')
    assert r.returncode == 0, r.stderr
    entries = parse_queue_list(r.stdout)
    if not entries:
        assert 'queue is empty' in r.stdout, r.stdout
    by_marker = {}
    for qid, size, sender, rcpts in entries:
        assert rcpts, 'queue entry %s has no recipients: %s' % (qid, r.stdout)
        markers = {a.split('@')[0].rsplit('.', 1)[0] for a, _ in rcpts}
        assert len(markers) == 1, 'queue entry %s mixes messages: %r' % (qid, rcpts)
        marker = markers.pop()
        assert marker in sent, 'queued %s was never sent' % marker
        assert marker not in by_marker, '%s is queued twice (%s and %s)' \
            % (marker, by_marker[marker][0], qid)
        data, recipients, queued = message_for(marker)
        assert queued and sender == SENDER, (qid, marker, sender)
        assert sorted(a for a, _ in rcpts) == sorted(recipients), \
            'queue entry %s for %s has recipients %r, sent to %r' \
            % (qid, marker, [a for a, _ in rcpts], recipients)
        states = {st for _, st in rcpts}
        assert states == {'pending'}, 'queue entry %s: states %r' % (qid, rcpts)
        assert size > len(data), (qid, marker, size, len(data))
        by_marker[marker] = (qid, size)
    queued_acked = {m for m in acked if message_for(m)[2]}
    missing = sorted(queued_acked - set(by_marker))
    assert not missing, '%d acknowledged submissions missing from the queue: %s' \
        % (len(missing), ', '.join(missing[:10]))
    # The bytes, from queue.db itself (the CLI shows only sizes): complete,
    # Received first (the queue keeps no Return-Path: it is not delivered yet).
    db = sqlite3.connect('file:%s?mode=ro' % os.path.join(s.data_dir, 'queue.db'),
                         uri=True, timeout=10)
    try:
        for marker, (qid, size) in by_marker.items():
            row = db.execute('SELECT size, data FROM message WHERE id = ?',
                             (int(qid),)).fetchone()
            assert row is not None, (qid, marker)
            data = message_for(marker)[0]
            assert row[0] == size == len(row[1]), (qid, marker, row[0], size, len(row[1]))
            assert bytes(row[1]).endswith(data) and bytes(row[1]).startswith(b'Received: '), \
                'queued %s (entry %s) is not complete' % (marker, qid)
    finally:
        db.close()
    return len(entries)


def kill_after(s, stream, acks, delay, limit=60.0):
    deadline = time.monotonic() + limit
    while stream.acked_count() < acks:
        assert time.monotonic() < deadline, \
            'only %d messages acknowledged in %.0f s' % (stream.acked_count(), limit)
        time.sleep(0.002)
    time.sleep(delay)
    s.kill()


def test_kill_during_4_smtp_streams_loses_nothing_acknowledged():
    dead_port = harness.free_ports(1)[0]  # nobody listens here
    config = {'relay_host': '127.0.0.1:%d' % dead_port, 'queue_retry_base': '1h',
              'log_level': 'info'}
    with harness.Server(accounts=ACCOUNTS, listeners=('imap', 'smtp', 'submission'),
                        config=config) as s:
        acked, sent = set(), set()
        # (250s to wait for, then an extra delay): at once, early on, and
        # well into the streams at an odd moment.
        for round_no, (acks, delay) in enumerate(((1, 0.0), (20, 0.023), (70, 0.071))):
            stream = Stream(s, round_no)
            stream.start()
            kill_after(s, stream, acks, delay)
            stream.join()
            assert not stream.refused, 'messages refused: %s' % stream.refused[:5]
            kinds = {m.split('-')[3] for m in stream.acked}
            assert round_no == 0 or kinds == {'mx', 'sub'}, \
                'round %d: only %r acknowledged' % (round_no, kinds)
            acked |= stream.acked
            sent |= stream.sent
            s.restart()
            stored = check_inboxes(s, acked, sent)
            queued = check_queue(s, acked, sent)
            if os.environ.get('CRASH_VERBOSE'):
                print('# round %d: %d sent, %d acknowledged; %d stored copies, %d queued'
                      % (round_no, len(sent), len(acked), stored, queued))
        # The server works normally on the recovered data: a new message
        # over each listener is taken and found.
        c = smtplib.SMTP(s.host, s.ports['smtp'], timeout=30)
        data, recipients, _ = message_for('crash-after-mx-m0')
        assert not c.sendmail('crash@remote.test', recipients, data)
        c.quit()
        c = smtplib.SMTP(s.host, s.ports['submission'], timeout=30)
        c.login(SENDER, ACCOUNTS[SENDER])
        marker = 'crash-after-sub-m0'
        data, recipients, _ = message_for(marker)
        assert not c.sendmail(SENDER, recipients, data)
        c.quit()
        sent |= {'crash-after-mx-m0', marker}
        acked |= {'crash-after-mx-m0', marker}
        check_inboxes(s, acked, sent)
        check_queue(s, acked, sent)


if __name__ == '__main__':
    harness.main()
