"""Findings of a review of src/imap/ (DESIGN.md rules 5 and 6: a client must
not make the loop do unbounded work or hold unbounded memory; RFC 9051 and
RFC 7888 on literals).

Each test proved a bug before its fix landed.
"""

import os
import socket
import threading
import time

import harness
from test_imap_sync import Imap, message

USER = 'alice@example.test'
PASSWORD = 'review-secret'


def proc_kb(s, field):
    """VmRSS / VmHWM of the server process, in KB."""
    with open('/proc/%d/status' % s.proc.pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise AssertionError('no %s in /proc/%d/status' % (field, s.proc.pid))


def still_serving(s):
    c = Imap(s, USER)
    c.ok('SELECT INBOX')
    c.ok('LOGOUT')
    c.close()


def send_in_background(sock, data, seconds):
    """sendall in a thread that gives up after seconds (the server may
    rightly stop reading)."""
    def run():
        try:
            sock.settimeout(seconds)
            sock.sendall(data)
        except OSError:
            pass
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def append_many(c, count, marker='review'):
    """count messages in INBOX in one write, with LITERAL+ (fast)."""
    out = []
    for n in range(1, count + 1):
        m = message(n, marker)
        out.append(b'p%d APPEND INBOX {%d+}\r\n' % (n, len(m)) + m + b'\r\n')
    c.send(b''.join(out))
    for n in range(1, count + 1):
        tagged, _ = c.finish('p%d' % n, timeout=60)
        assert tagged.startswith('p%d OK' % n), tagged


# ---- rule 5/6: output of pipelined commands --------------------------------

def test_pipelined_commands_pause_when_client_stops_reading():
    """A client that pipelines cheap commands with big answers (LIST over
    many long names) and reads nothing must not grow the server's output
    queue without bound: like FETCH, the session stops reading commands
    while its output is above the high-water mark."""
    with harness.Server(accounts={USER: PASSWORD}) as s:
        c = Imap(s, USER)
        for n in range(100):
            c.ok('CREATE "%03d-%s"' % (n, 'x' * 200))
        c.ok('LOGOUT')
        c.close()
        slow = Imap(s, USER, timeout=30)
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        before = proc_kb(s, 'VmRSS')
        # ~25 KB of answer per 14-byte command: 10,000 of them ask for
        # ~250 MB. Held back, the server only produces what the kernel's
        # socket buffers take (a few MB; more RSS under ASan, whose
        # quarantine keeps freed buffers), so the bound below is generous.
        sender = send_in_background(slow.sock, b'l LIST "" *\r\n' * 10000, 6)
        sender.join(10)
        time.sleep(1.0)
        grown = proc_kb(s, 'VmRSS') - before
        slow.close()
        assert grown < 64 * 1024, \
            'server grew by %d MB for a client that reads nothing' % (grown // 1024)
        still_serving(s)


# ---- rule 6: APPEND literals -------------------------------------------------

def test_no_append_literal_before_login():
    """Before LOGIN nothing may make the server take a message-sized
    literal: APPEND is not valid in that state (RFC 9051 §6.3.12), so its
    synchronizing literal must be refused instead of answered with "+"
    (which invites max_message_size bytes from an anonymous client)."""
    with harness.Server(accounts={USER: PASSWORD}) as s:
        c = Imap(s)
        c.send('a APPEND INBOX {10000000}\r\n')
        line = c.read_response()
        assert not line.startswith('+'), \
            'unauthenticated client invited to send a 10 MB literal: %r' % line
        assert line.startswith('a NO') or line.startswith('a BAD'), line
        c.close()
        still_serving(s)


def test_append_literals_bounded_in_total():
    """max_message_size bounds each APPEND literal, but an APPEND that
    announces literal after literal (MULTIAPPEND) was buffered whole: memory
    without bound. The sum is bounded too: one maximal message plus
    IMAP_MAX_APPEND_EXTRA (8 MB) plus the command limit (1 MB)."""
    limit = 1024 * 1024
    with harness.Server(accounts={USER: PASSWORD},
                        config={'max_message_size': str(limit)}) as s:
        c = Imap(s, USER, timeout=30)
        piece = b'Subject: x\r\n\r\n' + b'y' * (limit - 100)
        accepted = 0
        c.send(b'a APPEND INBOX {%d}\r\n' % len(piece))
        for _ in range(16):
            line = c.read_response()
            if not line.startswith('+'):
                assert line.startswith('a NO') or line.startswith('a BAD'), line
                break
            c.send(piece + b' {%d}\r\n' % len(piece))
            accepted += len(piece)
        assert line.startswith('a NO') or line.startswith('a BAD'), 'never refused'
        assert accepted <= limit + 9 * 1024 * 1024, \
            'one APPEND buffered %d bytes (max_message_size %d)' % (accepted, limit)
        c.close()
        still_serving(s)


# ---- rule 5/6: sequence sets ------------------------------------------------------

def test_sequence_set_with_many_overlapping_ranges_is_cheap():
    """"1:*,1:*,..." (16,000 ranges in one 64 KB line) over 600 messages
    made imap_view_resolve push 9.6 million indexes, then qsort them:
    memory and time proportional to ranges x messages, for one line. The
    peak memory is the check; the time is printed (the 120 s read timeout
    is the only bound on it)."""
    with harness.Server(accounts={USER: PASSWORD}) as s:
        c = Imap(s, USER, timeout=120)
        append_many(c, 600)
        c.ok('SELECT INBOX')
        before = proc_kb(s, 'VmHWM')
        t0 = time.monotonic()
        tagged, untagged = c.command('STORE %s +FLAGS.SILENT (x)' % ','.join(['1:*'] * 16000),
                                     timeout=120)
        elapsed = time.monotonic() - t0
        assert tagged.split(' ', 2)[1] == 'OK', tagged
        grown = proc_kb(s, 'VmHWM') - before
        assert grown < 16 * 1024, 'peak memory grew by %d MB for one STORE' % (grown // 1024)
        print('# one STORE over 16,000 ranges took %.1f s' % elapsed)
        c.ok('LOGOUT')
        c.close()


# ---- mailbox names -------------------------------------------------------------

def test_utf7_encoded_nul_is_not_a_mailbox_name():
    """"&AAA-" is U+0000 in modified UTF-7: decoded, "INBOX&AAA-junk"
    became "INBOX\\0junk", which the rest of the server reads as "INBOX",
    so a second spelling named an existing mailbox."""
    with harness.Server(accounts={USER: PASSWORD}) as s:
        c = Imap(s, USER)
        tagged, _ = c.command('SELECT "INBOX&AAA-junk"')
        assert tagged.split(' ', 2)[1] in ('NO', 'BAD'), tagged
        tagged, _ = c.command('CREATE "Sent&AAA-x"')
        assert tagged.split(' ', 2)[1] in ('NO', 'BAD'), tagged
        c.ok('LOGOUT')
        c.close()


def test_status_item_list_is_strict():
    """RFC 9051 §9: status-att-list = status-att *(SP status-att); a
    trailing space is not allowed and must not be echoed."""
    with harness.Server(accounts={USER: PASSWORD}) as s:
        c = Imap(s, USER)
        tagged, untagged = c.command('STATUS INBOX (MESSAGES )')
        assert tagged.split(' ', 2)[1] == 'BAD' and not untagged, (tagged, untagged)
        untagged = c.ok('STATUS INBOX (MESSAGES UIDNEXT)')
        assert untagged == ['* STATUS "INBOX" (MESSAGES 0 UIDNEXT 1)'], untagged
        c.close()


def test_endless_bad_commands_end_the_session():
    """A client that sends only garbage is closed after 20 BADs in a row;
    a good command in between resets the count."""
    with harness.Server(accounts={USER: PASSWORD}) as s:
        c = Imap(s, USER)
        for _ in range(19):
            c.command('FROB')
        c.ok('NOOP')
        for _ in range(19):
            c.command('FROB')
        c.ok('NOOP')
        for _ in range(19):
            c.command('FROB')
        tagged, untagged = c.command('FROB')
        assert untagged == ['* BYE [CLIENTBUG] Too many invalid commands'], untagged
        assert c.at_eof(5)
        c.close()
        still_serving(s)


if __name__ == '__main__':
    harness.main()
