"""kill -9 during a stream of APPENDs (DESIGN.md rule 1; issue 2: "A kill -9
during a stream of APPENDs from 4 clients loses no message that got its OK,
and the server starts again on the same data").

Four clients append distinct numbered messages (a unique marker in Subject
and body, sizes from 300 bytes to 150 KB, half with synchronizing literals
and half with LITERAL+) and record which got their tagged OK. The server is
killed with SIGKILL at some moment, restarted on the same data directory,
and then:

- every message that got its OK is there exactly once;
- no message is there twice, and none is half there (RFC822.SIZE and the
  bytes equal what was appended for its marker);
- UIDs are unique and ascending in sequence order, and UIDs given after a
  restart are above every UID seen before it;
- UIDVALIDITY has not changed.

This is done three times on the same data, killing at different moments.
"""

import random
import re
import socket
import threading
import time

import harness
from test_imap_sync import Imap

USER = 'alice@example.test'
PASSWORD = 'crash-secret'
CLIENTS = 4
SIZES = (300, 2000, 12000, 40000, 150000)


def body_for(marker):
    """The message for marker: deterministic, so its size and bytes are
    known whether or not its APPEND was acknowledged."""
    rng = random.Random(marker)
    size = rng.choice(SIZES)
    head = ('From: crash@example.test\r\n'
            'To: alice@example.test\r\n'
            'Subject: %s\r\n'
            'Message-ID: <%s@example.test>\r\n'
            '\r\n'
            'start %s\r\n' % (marker, marker, marker)).encode()
    tail = ('end %s\r\n' % marker).encode()
    line = ('%s ' % marker).encode() * 4 + b'\r\n'
    pad = bytearray()
    while len(head) + len(pad) + len(line) + len(tail) <= size:
        pad += line
    return head + bytes(pad) + tail


class Stream:
    """One round: CLIENTS threads appending until the server dies."""

    def __init__(self, s, round_no):
        self.s = s
        self.round = round_no
        self.lock = threading.Lock()
        self.sent = set()        # APPEND started (maybe stored, maybe not)
        self.acked = set()       # tagged OK received
        self.refused = []        # tagged NO/BAD while the server was alive
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

    def client(self, tid):
        try:
            c = Imap(self.s, USER)
        finally:
            self.ready.wait(timeout=30)
        nonsync = tid % 2 == 0
        n = 0
        while True:
            marker = 'crash-r%d-c%d-m%d' % (self.round, tid, n)
            n += 1
            data = body_for(marker)
            tag = c.next_tag()
            with self.lock:
                self.sent.add(marker)
            try:
                if nonsync:
                    c.send(b'%s APPEND INBOX {%d+}\r\n' % (tag.encode(), len(data)) + data + b'\r\n')
                else:
                    c.send(b'%s APPEND INBOX (\\Seen) {%d}\r\n' % (tag.encode(), len(data)))
                    while True:
                        line = c.read_response()
                        if line.startswith('+'):
                            break
                        if line.startswith(tag + ' '):
                            raise AssertionError(line)
                    c.send(data + b'\r\n')
                tagged, _ = c.finish(tag)
            except (EOFError, OSError, socket.timeout):
                return  # the server is gone
            except AssertionError as e:
                with self.lock:
                    self.refused.append('%s: %s' % (marker, e))
                return
            if tagged.startswith(tag + ' OK'):
                with self.lock:
                    self.acked.add(marker)
            else:
                with self.lock:
                    self.refused.append('%s: %s' % (marker, tagged))
                return

    def join(self):
        for t in self.threads:
            t.join(timeout=30)
            assert not t.is_alive(), 'an appending client hung after the kill'


def parse_fetch(untagged):
    """[(seq, uid, size, subject)] from FETCH (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])."""
    out = []
    for line in untagged:
        if not re.match(r'\* \d+ FETCH ', line):
            continue
        seq = int(re.match(r'\* (\d+)', line).group(1))
        uid = re.search(r'\bUID (\d+)', line)
        size = re.search(r'\bRFC822\.SIZE (\d+)', line)
        subject = re.search(r'Subject: (\S+)', line)
        assert uid and size, line[:300]
        out.append((seq, int(uid.group(1)), int(size.group(1)),
                    subject.group(1) if subject else None))
    return out


def selected_state(c):
    untagged = c.ok('SELECT INBOX')
    validity = None
    exists = None
    for line in untagged:
        m = re.search(r'\[UIDVALIDITY (\d+)\]', line)
        if m:
            validity = int(m.group(1))
        m = re.match(r'\* (\d+) EXISTS$', line)
        if m:
            exists = int(m.group(1))
    assert validity is not None and exists is not None, untagged
    return validity, exists


def check_store(s, validity, acked, sent):
    """Everything acked is there once, nothing is half there; returns
    (max uid, {marker: uid})."""
    c = Imap(s, USER, timeout=60)
    v, exists = selected_state(c)
    assert v == validity, 'UIDVALIDITY changed across the crash: %d -> %d' % (validity, v)
    if exists == 0:
        assert not acked, 'all %d acknowledged messages are gone' % len(acked)
        c.close()
        return 0, {}
    tagged, untagged = c.command('FETCH 1:* (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])',
                                 timeout=60)
    assert tagged.split(' ', 2)[1] == 'OK', tagged
    rows = parse_fetch(untagged)
    assert [r[0] for r in rows] == list(range(1, exists + 1)), \
        'FETCH 1:* did not answer for every message: %d of %d' % (len(rows), exists)
    uids = [r[1] for r in rows]
    assert uids == sorted(uids) and len(set(uids)) == len(uids), \
        'UIDs not unique and ascending: %r' % uids
    by_marker = {}
    for seq, uid, size, subject in rows:
        assert subject is not None and subject in sent, \
            'message %d (UID %d) is not one we appended: %r' % (seq, uid, subject)
        assert subject not in by_marker, '%s is stored twice (UIDs %d and %d)' \
            % (subject, by_marker[subject], uid)
        by_marker[subject] = uid
        expect = len(body_for(subject))
        assert size == expect, '%s (UID %d) is half there: RFC822.SIZE %d, appended %d' \
            % (subject, uid, size, expect)
    missing = sorted(acked - set(by_marker))
    assert not missing, '%d acknowledged messages lost in the crash: %s' \
        % (len(missing), ', '.join(missing[:10]))
    # The bytes, for the messages most at risk: the unacknowledged ones
    # (their OK was lost in the kill) and the last few acknowledged.
    risky = sorted(set(by_marker) - acked) + sorted(acked, key=lambda m: by_marker[m])[-8:]
    for marker in risky:
        tagged, untagged = c.command('UID FETCH %d (BODY.PEEK[])' % by_marker[marker],
                                     timeout=60)
        assert tagged.split(' ', 2)[1] == 'OK', tagged
        want = body_for(marker)
        got = [l for l in untagged if ' FETCH ' in l]
        assert len(got) == 1, untagged
        assert want.decode('latin-1') in got[0], '%s: stored bytes differ from appended' % marker
    c.ok('LOGOUT')
    c.close()
    return max(uids), by_marker


def kill_after(s, stream, acks, delay, limit=60.0):
    deadline = time.monotonic() + limit
    while stream.acked_count() < acks:
        assert time.monotonic() < deadline, \
            'only %d APPENDs acknowledged in %.0f s' % (stream.acked_count(), limit)
        time.sleep(0.005)
    time.sleep(delay)
    s.kill()


def test_kill_during_appends_from_4_clients():
    with harness.Server(accounts={USER: PASSWORD}) as s:
        c = Imap(s, USER)
        validity, _ = selected_state(c)
        c.close()
        acked, sent = set(), set()
        uid_before = 0
        # (acks to wait for, then extra delay): at the very start, early on,
        # and well into the stream at an odd moment.
        for round_no, (acks, delay) in enumerate(((1, 0.0), (25, 0.037), (80, 0.113))):
            stream = Stream(s, round_no)
            stream.start()
            kill_after(s, stream, acks, delay)
            stream.join()
            assert not stream.refused, 'APPENDs refused: %s' % stream.refused[:5]
            acked |= stream.acked
            sent |= stream.sent
            s.restart()
            uid_max, by_marker = check_store(s, validity, acked, sent)
            fresh = [uid for marker, uid in by_marker.items()
                     if marker.startswith('crash-r%d-' % round_no)]
            assert all(uid > uid_before for uid in fresh), \
                'UIDs reused after a restart: %r <= %d' % (sorted(fresh)[:5], uid_before)
            uid_before = uid_max
        # The server works normally on the recovered data.
        c = Imap(s, USER)
        v, exists = selected_state(c)
        assert v == validity
        c.append('INBOX', body_for('crash-after'))
        tagged, untagged = c.command('UID FETCH * (UID)')
        m = re.search(r'UID (\d+)', ' '.join(untagged))
        assert m and int(m.group(1)) > uid_before, untagged
        assert selected_state(c)[1] == exists + 1
        c.ok('LOGOUT')
        c.close()


def markers_in(c, mailbox):
    """{marker: (uid, flags)} of a mailbox, checking each marker is there once."""
    untagged = c.ok('SELECT "%s"' % mailbox)
    exists = [int(m.group(1)) for m in (re.match(r'\* (\d+) EXISTS$', l) for l in untagged) if m]
    found = {}
    if exists and exists[-1]:
        untagged = c.ok('FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])',
                        timeout=60)
        for line in untagged:
            if not re.match(r'\* \d+ FETCH ', line):
                continue
            marker = re.search(r'Subject: (\S+)', line).group(1)
            uid = int(re.search(r'\bUID (\d+)', line).group(1))
            size = int(re.search(r'RFC822\.SIZE (\d+)', line).group(1))
            flags = set(re.search(r'FLAGS \(([^)]*)\)', line).group(1).split())
            assert marker not in found, '%s twice in %s' % (marker, mailbox)
            assert size == len(body_for(marker)), '%s is half there in %s' % (marker, mailbox)
            found[marker] = (uid, flags)
        assert len(found) == exists[-1]
    return found


def test_kill_during_move_and_expunge():
    """A MOVE cut by kill -9 leaves every message in exactly one of the two
    mailboxes (all in the target if the MOVE got its OK); an EXPUNGE cut
    short never removes a message that was not \\Deleted."""
    with harness.Server(accounts={USER: PASSWORD}) as s:
        c = Imap(s, USER, timeout=60)
        markers = ['crash-move-%d' % n for n in range(300)]
        batch = b''
        for n, marker in enumerate(markers):
            data = body_for(marker)
            batch += b'm%d APPEND INBOX {%d+}\r\n' % (n, len(data)) + data + b'\r\n'
        c.send(batch)
        for n in range(len(markers)):
            tagged, _ = c.finish('m%d' % n, timeout=60)
            assert tagged.startswith('m%d OK' % n), tagged
        c.close()
        source, target = 'INBOX', 'Trash'
        for delay in (0.0, 0.01, 0.5):
            c = Imap(s, USER, timeout=60)
            c.ok('SELECT %s' % source)
            c.send('mv UID MOVE 1:* %s\r\n' % target)
            time.sleep(delay)
            s.kill()
            try:
                tagged, _ = c.finish('mv', timeout=5)
            except (EOFError, OSError, socket.timeout):
                tagged = ''
            c.close()
            s.restart()
            c = Imap(s, USER, timeout=60)
            a, b = markers_in(c, source), markers_in(c, target)
            both = set(a) & set(b)
            assert not both, 'in both %s and %s after a cut MOVE: %s' \
                % (source, target, sorted(both)[:5])
            assert set(a) | set(b) == set(markers), 'lost in a cut MOVE: %s' \
                % sorted(set(markers) - set(a) - set(b))[:5]
            if tagged.startswith('mv OK'):
                assert not a, 'MOVE acknowledged but %d left in %s' % (len(a), source)
            if not a:
                source, target = target, source  # move them back next time
            c.close()
        # EXPUNGE cut short.
        c = Imap(s, USER, timeout=60)
        mailbox = source if markers_in(c, source) else target
        before = markers_in(c, mailbox)
        doomed = {m for m in before if int(m.rsplit('-', 1)[1]) % 2 == 0}
        c.ok('STORE 1:* +FLAGS.SILENT (\\Seen)')
        uids = ','.join(str(before[m][0]) for m in sorted(doomed))
        c.ok('UID STORE %s +FLAGS.SILENT (\\Deleted)' % uids)
        c.send('ex EXPUNGE\r\n')
        time.sleep(0.003)
        s.kill()
        try:
            tagged, _ = c.finish('ex', timeout=5)
        except (EOFError, OSError, socket.timeout):
            tagged = ''
        c.close()
        s.restart()
        c = Imap(s, USER, timeout=60)
        after = markers_in(c, mailbox)
        kept = set(before) - doomed
        assert kept <= set(after), 'EXPUNGE removed messages that were not \\Deleted: %s' \
            % sorted(kept - set(after))[:5]
        if tagged.startswith('ex OK'):
            assert not (doomed & set(after)), 'EXPUNGE acknowledged, yet %d remain' \
                % len(doomed & set(after))
        for m in after:
            # Flags survived the crash with the messages.
            assert '\\Seen' in after[m][1], (m, after[m])
            assert ('\\Deleted' in after[m][1]) == (m in doomed), (m, after[m])
        c.ok('LOGOUT')
        c.close()


def test_kill_while_idle_then_restart():
    """A kill with nothing in flight (and sessions in IDLE) loses nothing
    either, and a restart twice in a row keeps UIDVALIDITY and UIDNEXT."""
    with harness.Server(accounts={USER: PASSWORD}) as s:
        c = Imap(s, USER)
        validity, _ = selected_state(c)
        for n in range(5):
            c.append('INBOX', body_for('crash-idle-%d' % n))
        c.send('i1 IDLE\r\n')
        assert c.read_response().startswith('+')
        s.kill()
        c.close()
        s.restart()
        d = Imap(s, USER)
        status = d.ok('STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY)')
        s.kill()
        d.close()
        s.restart()
        e = Imap(s, USER)
        assert e.ok('STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY)') == status
        assert 'MESSAGES 5' in status[0] and 'UIDVALIDITY %d' % validity in status[0], status
        e.ok('LOGOUT')
        e.close()


if __name__ == '__main__':
    harness.main()
