"""Several devices at once: two (or more) sessions on one mailbox see each
other's changes at the moments RFC 9051 allows (issue 2, "Several devices at
once").

- §5.2 / §7.5.1: another session's APPEND shows up as `* N EXISTS`, its STORE
  as `* n FETCH (... FLAGS (...))`, its EXPUNGE as `* n EXPUNGE`.
- §7.5.1: an EXPUNGE is never sent while no command is in progress, nor while
  answering FETCH, STORE or SEARCH (the non-UID forms); until the client is
  told, the expunged message keeps its sequence number.
- RFC 2177: a session in IDLE is told at once (DESIGN.md rule 4: "in well
  under a second").

The sessions are spoken to by hand (raw sockets) so that every untagged line
and its order can be checked.
"""

import re
import socket
import threading
import time

import harness

USER = 'alice@example.test'
PASSWORD = 'sync-secret'
# How long a test waits for an IDLE session to hear of a change. The
# latency (issue 2: "well under a second") is measured and printed here and
# in bench/, never asserted: a loaded test machine is not a slow server.
IDLE_WAIT = 30.0


class Imap(harness.Raw):
    """A harness.Raw connection in the conventions of these tests (and of
    test_imap_robustness, test_imap_crash and test_imap_mbsync, which use
    it too): connected to server and logged in when user is given; tags
    t1, t2, ...; every response must arrive whole within timeout (a
    deadline per read, socket.timeout otherwise); command() and finish()
    return (tagged line, [untagged lines]), ok() the untagged lines;
    append() uses a synchronizing literal."""

    def __init__(self, server, user=None, password=None, timeout=harness.CLIENT_TIMEOUT):
        super().__init__(server.connect(timeout=timeout), timeout=timeout, tag_prefix='t')
        assert self.greeting.startswith('* OK'), self.greeting
        if user is not None:
            self.login(user, password if password is not None else server.password(user))

    def read_response(self, timeout=None):
        """One whole response (a line, plus any literals it announces)."""
        return self.line(timeout)

    def command(self, text, timeout=None):
        """Send one command; returns (tagged line, [untagged lines])."""
        untagged, tagged = self.cmd(text, timeout)
        return tagged, untagged

    def finish(self, tag, timeout=None):
        untagged, tagged = self.read_until(tag, timeout)
        return tagged, untagged

    def ok(self, text, timeout=None):
        return super().ok(text, timeout)[0]

    def select(self, mailbox='INBOX'):
        untagged = self.ok('SELECT "%s"' % mailbox)
        return exists_of(untagged)

    def append(self, mailbox, message, flags=''):
        """APPEND with a synchronizing literal; returns the untagged lines."""
        return super().append(mailbox, message, flags, literal_plus=False)[0]

    def uids(self):
        """{seq: uid} of the whole mailbox, from FETCH 1:* (UID)."""
        tagged, untagged = self.command('FETCH 1:* (UID)')
        assert ' OK' in tagged or ' NO' in tagged, tagged
        found = {}
        for line in untagged:
            m = re.match(r'\* (\d+) FETCH \(.*UID (\d+)', line)
            if m:
                found[int(m.group(1))] = int(m.group(2))
        return found


def message(n, marker='sync'):
    return ('From: bob@example.test\r\n'
            'To: alice@example.test\r\n'
            'Subject: %s message %d\r\n'
            'Message-ID: <%s-%d@example.test>\r\n'
            '\r\n'
            'Body of %s message %d.\r\n' % (marker, n, marker, n, marker, n)).encode()


def exists_of(untagged):
    """The last `* N EXISTS` count in untagged lines, or None."""
    count = None
    for line in untagged:
        m = re.match(r'\* (\d+) EXISTS$', line)
        if m:
            count = int(m.group(1))
    return count


def expunges(untagged):
    return [int(m.group(1)) for m in (re.match(r'\* (\d+) EXPUNGE$', l) for l in untagged) if m]


def fetch_flags(untagged):
    """{seq: set of flags} from untagged FETCH responses that carry FLAGS."""
    out = {}
    for line in untagged:
        m = re.match(r'\* (\d+) FETCH \(.*FLAGS \(([^)]*)\)', line)
        if m:
            out[int(m.group(1))] = set(m.group(2).split())
    return out


def fill(session, count, mailbox='INBOX', marker='sync'):
    for n in range(1, count + 1):
        session.append(mailbox, message(n, marker))


def two_sessions(s, count):
    """A and B, both with INBOX selected, holding count messages."""
    a = Imap(s, USER)
    fill(a, count)
    assert a.select() == count
    b = Imap(s, USER)
    assert b.select() == count
    return a, b


def expunge_in(session, seqs):
    """Mark seqs \\Deleted and EXPUNGE in one session; returns its EXPUNGE lines."""
    session.ok('STORE %s +FLAGS.SILENT (\\Deleted)' % ','.join(str(n) for n in seqs))
    return expunges(session.ok('EXPUNGE'))


def apply_expunges(uids, numbers):
    """What a client does with `* n EXPUNGE` lines, in order."""
    uids = list(uids)
    for n in numbers:
        assert 1 <= n <= len(uids), 'EXPUNGE %d outside 1..%d' % (n, len(uids))
        del uids[n - 1]
    return uids


def new_server():
    return harness.Server(accounts={USER: PASSWORD})


# ---- the three kinds of change, seen at NOOP ------------------------------

def test_append_seen_as_exists_at_noop():
    with new_server() as s:
        a, b = two_sessions(s, 2)
        a.append('INBOX', message(3))
        assert exists_of(b.ok('NOOP')) == 3
        # Told once: the next NOOP has nothing to say about it.
        assert exists_of(b.ok('NOOP')) is None
        a.append('INBOX', message(4))
        a.append('INBOX', message(5))
        assert exists_of(b.ok('NOOP')) == 5
        assert sorted(b.uids()) == [1, 2, 3, 4, 5]
        a.close()
        b.close()


def test_store_seen_as_fetch_flags():
    with new_server() as s:
        a, b = two_sessions(s, 3)
        a.ok('STORE 2 +FLAGS (\\Flagged)')
        flags = fetch_flags(b.ok('NOOP'))
        assert 2 in flags and '\\Flagged' in flags[2], flags
        assert 1 not in flags and 3 not in flags, flags
        a.ok('STORE 2 -FLAGS (\\Flagged)')
        a.ok('STORE 3 +FLAGS (\\Seen $Label1)')
        flags = fetch_flags(b.ok('NOOP'))
        assert '\\Flagged' not in flags.get(2, {'\\Flagged'}), flags
        assert {'\\Seen', '$Label1'} <= flags.get(3, set()), flags
        a.close()
        b.close()


def test_expunge_renumbers_step_by_step():
    with new_server() as s:
        a, b = two_sessions(s, 5)
        before = b.uids()
        assert sorted(before) == [1, 2, 3, 4, 5]
        uids = [before[n] for n in range(1, 6)]
        # A expunges message 2 of 5 ...
        assert expunge_in(a, [2]) == [2]
        assert expunges(b.ok('NOOP')) == [2]
        uids = apply_expunges(uids, [2])
        assert b.uids() == {n + 1: u for n, u in enumerate(uids)}
        # ... then message 1.
        assert expunge_in(a, [1]) == [1]
        assert expunges(b.ok('NOOP')) == [1]
        uids = apply_expunges(uids, [1])
        got = b.uids()
        assert got == {1: before[3], 2: before[4], 3: before[5]}, got
        assert got == {n + 1: u for n, u in enumerate(uids)}
        a.close()
        b.close()


def test_expunge_renumbers_together():
    """B hears of two separate expunges at one NOOP; applying the EXPUNGE
    lines in order must leave B's numbers matching the server's."""
    with new_server() as s:
        a, b = two_sessions(s, 5)
        before = b.uids()
        uids = [before[n] for n in range(1, 6)]
        expunge_in(a, [2])
        expunge_in(a, [1])
        numbers = expunges(b.ok('NOOP'))
        assert len(numbers) == 2, numbers
        uids = apply_expunges(uids, numbers)
        assert uids == [before[3], before[4], before[5]], (numbers, uids)
        assert b.uids() == {1: before[3], 2: before[4], 3: before[5]}
        # And B's own commands now use the new numbers.
        b.ok('STORE 1 +FLAGS (\\Answered)')
        flags = fetch_flags(a.ok('NOOP'))
        assert '\\Answered' in flags.get(1, set()), flags
        tagged, untagged = a.command('UID FETCH %d (FLAGS)' % before[3])
        assert '\\Answered' in fetch_flags(untagged).get(1, set()), untagged
        a.close()
        b.close()


# ---- RFC 9051 §7.5.1: when EXPUNGE may be sent ------------------------------

def test_no_expunge_during_fetch_store_search():
    with new_server() as s:
        a, b = two_sessions(s, 5)
        before = b.uids()
        expunge_in(a, [3])
        a.append('INBOX', message(6))  # an EXISTS may come along; that is allowed
        time.sleep(0.3)  # no command in progress in B: nothing may be pushed
        for command in ('FETCH 1:5 (FLAGS)', 'STORE 1 +FLAGS (\\Seen)',
                        'SEARCH ALL', 'FETCH 3 (UID)', 'STORE 2,4 -FLAGS (\\Seen)',
                        'SEARCH UNSEEN'):
            tagged, untagged = b.command(command)
            assert not expunges(untagged), \
                'EXPUNGE sent while answering %s (RFC 9051 §7.5.1): %r' % (command, untagged)
            assert tagged.split(' ', 2)[1] in ('OK', 'NO'), '%s -> %s' % (command, tagged)
        # Sequence numbers have not moved in B: 4 is still the 4th original message.
        tagged, untagged = b.command('FETCH 4 (UID)')
        assert not expunges(untagged)
        m = [re.match(r'\* 4 FETCH \(.*UID (\d+)', l) for l in untagged]
        assert any(x and int(x.group(1)) == before[4] for x in m), untagged
        # NOOP is where B hears of it, exactly once.
        assert expunges(b.ok('NOOP')) == [3]
        assert expunges(b.ok('NOOP')) == []
        assert b.uids() == {1: before[1], 2: before[2], 3: before[4], 4: before[5],
                            5: max(before.values()) + 1}
        a.close()
        b.close()


def test_expunged_message_still_addressable_until_told():
    with new_server() as s:
        a, b = two_sessions(s, 4)
        expunge_in(a, [2])
        # B still calls it 2: FETCH on it must not crash nor renumber.
        for command in ('FETCH 2 (FLAGS UID RFC822.SIZE)',
                        'FETCH 2 (BODY.PEEK[] ENVELOPE BODYSTRUCTURE)',
                        'FETCH 1:* (FLAGS BODY.PEEK[HEADER])',
                        'STORE 2 +FLAGS (\\Flagged)',
                        'SEARCH ALL',
                        'FETCH 2 (BODY[TEXT])'):
            tagged, untagged = b.command(command)
            status = tagged.split(' ', 2)[1]
            assert status in ('OK', 'NO'), '%s -> %s' % (command, tagged)
            assert not expunges(untagged), '%s: %r' % (command, untagged)
            assert not any(l.startswith('* BYE') for l in untagged), untagged
            for line in untagged:
                # If data about message 2 is given, it is message 2's.
                if line.startswith('* 2 FETCH') and 'BODY[]' in line:
                    assert 'sync message 2' in line, line
        # The server keeps working, for B and everyone.
        assert expunges(b.ok('NOOP')) == [2]
        assert sorted(b.uids()) == [1, 2, 3]
        c = Imap(s, USER)
        assert c.select() == 3
        a.close()
        b.close()
        c.close()


def test_uid_commands_after_expunge():
    """RFC 9051 §7.5.1 lets UID commands carry EXPUNGE; either way the
    answer must be consistent with what B has been told."""
    with new_server() as s:
        a, b = two_sessions(s, 3)
        before = b.uids()
        expunge_in(a, [1])
        tagged, untagged = b.command('UID FETCH 1:* (FLAGS)')
        assert tagged.split(' ', 2)[1] == 'OK', tagged
        told = expunges(untagged)
        assert told in ([], [1]), untagged
        seqs = sorted(fetch_flags(untagged))
        if told:
            # After the EXPUNGE, numbers are the new ones.
            assert seqs == [1, 2], untagged
        else:
            assert set(seqs) <= {1, 2, 3}, untagged
        assert expunges(b.ok('NOOP')) == ([] if told else [1])
        assert b.uids() == {1: before[2], 2: before[3]}
        a.close()
        b.close()


# ---- IDLE (RFC 2177) -----------------------------------------------------

def start_idle(session):
    tag = session.next_tag()
    session.send('%s IDLE\r\n' % tag)
    while True:
        line = session.read_response()
        if line.startswith('+'):
            return tag
        assert not line.startswith(tag + ' '), 'IDLE refused: %s' % line


def wait_for(session, pattern, timeout):
    """Read responses until one matches pattern; returns (line, seconds, lines)."""
    start = time.monotonic()
    deadline = start + timeout
    lines = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError('no %r within %.1f s; got %r' % (pattern, timeout, lines))
        try:
            line = session.read_response(timeout=remaining)
        except socket.timeout:
            raise AssertionError('no %r within %.1f s; got %r' % (pattern, timeout, lines))
        lines.append(line)
        if re.match(pattern, line):
            return line, time.monotonic() - start, lines


def stop_idle(session, tag):
    session.send('DONE\r\n')
    tagged, untagged = session.finish(tag)
    assert tagged.startswith(tag + ' OK'), tagged
    return untagged


def test_idle_hears_append_flags_and_expunge():
    with new_server() as s:
        a, b = two_sessions(s, 2)
        tag = start_idle(b)

        t0 = time.monotonic()
        a.append('INBOX', message(3))
        line, _, _ = wait_for(b, r'\* 3 EXISTS$', IDLE_WAIT)
        print('# IDLE heard of the APPEND after %.3f s' % (time.monotonic() - t0))

        t0 = time.monotonic()
        a.ok('STORE 1 +FLAGS (\\Flagged)')
        line, _, _ = wait_for(b, r'\* 1 FETCH \(.*FLAGS \(', IDLE_WAIT)
        print('# IDLE heard of the STORE after %.3f s' % (time.monotonic() - t0))
        assert '\\Flagged' in line, line

        t0 = time.monotonic()
        expunge_in(a, [2])
        line, _, _ = wait_for(b, r'\* \d+ EXPUNGE$', IDLE_WAIT)
        print('# IDLE heard of the EXPUNGE after %.3f s' % (time.monotonic() - t0))
        assert line == '* 2 EXPUNGE', line

        untagged = stop_idle(b, tag)
        assert not expunges(untagged), untagged  # told once, not again
        assert sorted(b.uids()) == [1, 2]
        assert expunges(b.ok('NOOP')) == []
        a.close()
        b.close()


def test_idle_latency_repeated():
    """Ten appends in a row, each heard in IDLE (the slowest is printed)."""
    with new_server() as s:
        a, b = two_sessions(s, 0)
        tag = start_idle(b)
        worst = 0.0
        for n in range(1, 11):
            t0 = time.monotonic()
            a.append('INBOX', message(n))
            wait_for(b, r'\* %d EXISTS$' % n, IDLE_WAIT)
            worst = max(worst, time.monotonic() - t0)
        print('# slowest of ten IDLE notifications: %.3f s' % worst)
        stop_idle(b, tag)
        a.close()
        b.close()


def test_idle_done_gives_tagged_ok():
    with new_server() as s:
        a, b = two_sessions(s, 1)
        tag = start_idle(b)
        time.sleep(0.2)
        untagged = stop_idle(b, tag)
        assert untagged == [], untagged
        # And the session goes on normally.
        assert b.uids() == {1: 1}
        # IDLE in the authenticated state (nothing selected) works too.
        c = Imap(s, USER)
        tag = start_idle(c)
        stop_idle(c, tag)
        c.ok('NOOP')
        a.close()
        b.close()
        c.close()


def test_idle_without_done_then_logout_elsewhere():
    """A client in IDLE that vanishes does not disturb the others."""
    with new_server() as s:
        a, b = two_sessions(s, 1)
        start_idle(b)
        b.close()
        a.append('INBOX', message(2))
        assert a.select() == 2
        a.ok('LOGOUT')
        a.close()


# ---- who is told -------------------------------------------------------------

def test_other_mailbox_not_told():
    with new_server() as s:
        a = Imap(s, USER)
        a.select('INBOX')
        b = Imap(s, USER)
        assert b.select('Sent') == 0
        a.append('INBOX', message(1))
        a.append('INBOX', message(2))
        untagged = b.ok('NOOP')
        assert exists_of(untagged) is None, untagged
        # Nor in IDLE.
        tag = start_idle(b)
        a.append('INBOX', message(3))
        a.ok('STORE 1 +FLAGS (\\Flagged)')
        try:
            line = b.read_response(timeout=0.7)
            raise AssertionError('B, on Sent, heard of INBOX: %r' % line)
        except socket.timeout:
            pass
        # But an append to Sent is heard.
        t0 = time.monotonic()
        a.append('Sent', message(4))
        wait_for(b, r'\* 1 EXISTS$', IDLE_WAIT)
        print('# IDLE on Sent heard of the APPEND after %.3f s' % (time.monotonic() - t0))
        stop_idle(b, tag)
        status = a.ok('STATUS INBOX (MESSAGES)')
        assert any('MESSAGES 3' in l for l in status), status
        a.close()
        b.close()


def test_other_account_not_told():
    with harness.Server(accounts={USER: PASSWORD, 'bob@example.test': 'bob-pw'}) as s:
        a = Imap(s, USER)
        a.select('INBOX')
        b = Imap(s, 'bob@example.test')
        assert b.select('INBOX') == 0
        tag = start_idle(b)
        a.append('INBOX', message(1))
        try:
            line = b.read_response(timeout=0.7)
            raise AssertionError("bob heard of alice's INBOX: %r" % line)
        except socket.timeout:
            pass
        assert stop_idle(b, tag) == []
        assert exists_of(b.ok('NOOP')) is None
        a.close()
        b.close()


def test_copy_move_and_close_seen_elsewhere():
    """Changes made by COPY, MOVE and CLOSE's silent expunge reach the
    sessions that have the source or the target selected."""
    with new_server() as s:
        a, b = two_sessions(s, 4)
        before = b.uids()
        t = Imap(s, USER)
        assert t.select('Trash') == 0
        # COPY into Trash: B (INBOX) hears nothing, T (Trash) an EXISTS.
        a.ok('COPY 1 Trash')
        assert exists_of(t.ok('NOOP')) == 1
        untagged = b.ok('NOOP')
        assert exists_of(untagged) is None and not expunges(untagged), untagged
        # MOVE out of INBOX: B hears an EXPUNGE, T an EXISTS.
        a.ok('MOVE 2 Trash')
        assert exists_of(t.ok('NOOP')) == 2
        assert expunges(b.ok('NOOP')) == [2]
        # CLOSE expunges \Deleted messages silently for A, but not for B.
        a.ok('STORE 1 +FLAGS.SILENT (\\Deleted)')
        flags = fetch_flags(b.ok('NOOP'))
        assert '\\Deleted' in flags.get(1, set()), flags
        a.ok('CLOSE')
        assert expunges(b.ok('NOOP')) == [1]
        assert b.uids() == {1: before[3], 2: before[4]}
        assert sorted(t.uids()) == [1, 2]
        for c in (a, b, t):
            c.close()


def test_selected_mailbox_deleted_elsewhere():
    """A deletes (then renames) the mailbox B has selected: B gets answers
    (NO, BYE or an empty mailbox are all defensible), never a crash, and
    the server goes on serving."""
    with new_server() as s:
        a = Imap(s, USER)
        a.ok('CREATE Work')
        fill(a, 3, mailbox='Work')
        b = Imap(s, USER)
        assert b.select('Work') == 3
        a.ok('DELETE Work')
        # Like Dovecot, buzon ends the session that lost its mailbox with a
        # BYE at the next moment it may speak, instead of inventing answers.
        tagged, untagged = b.command('NOOP')
        assert any(l.startswith('* BYE') for l in untagged), untagged
        for command in ('NOOP', 'FETCH 1:* (FLAGS BODY.PEEK[])', 'STORE 1 +FLAGS (\\Seen)',
                        'SEARCH ALL', 'EXPUNGE', 'UID FETCH 1:* (UID)', 'APPEND Work {1+}\r\nx',
                        'NOOP'):
            try:
                tagged, untagged = b.command(command)
            except (EOFError, ConnectionError):
                break  # the session ended with its BYE
            assert tagged.split(' ', 2)[1] in ('OK', 'NO', 'BAD'), '%s -> %s' % (command, tagged)
        b.close()
        # Rename under a selected session.
        a.ok('CREATE Old')
        fill(a, 2, mailbox='Old')
        c = Imap(s, USER)
        assert c.select('Old') == 2
        a.ok('RENAME Old New')
        for command in ('NOOP', 'FETCH 1:* (UID FLAGS)', 'STORE 1 +FLAGS (\\Seen)', 'NOOP'):
            try:
                tagged, untagged = c.command(command)
            except EOFError:
                break
            assert tagged.split(' ', 2)[1] in ('OK', 'NO', 'BAD'), '%s -> %s' % (command, tagged)
        c.close()
        d = Imap(s, USER)
        assert d.select('New') == 2
        tagged, _ = d.command('SELECT Work')
        assert tagged.split(' ', 2)[1] == 'NO', tagged
        d.ok('LOGOUT')
        d.close()
        a.close()


def test_five_connections_see_one_append():
    with new_server() as s:
        sessions = [Imap(s, USER) for _ in range(5)]
        for c in sessions:
            assert c.select() == 0
        # Three wait in IDLE, one will NOOP, one appends.
        idlers = sessions[2:]
        tags = [start_idle(c) for c in idlers]
        results = {}

        def listen(i, c):
            try:
                _, seconds, _ = wait_for(c, r'\* 1 EXISTS$', IDLE_WAIT)
                results[i] = seconds
            except Exception as e:  # reported below
                results[i] = e

        threads = [threading.Thread(target=listen, args=(i, c)) for i, c in enumerate(idlers)]
        for t in threads:
            t.start()
        t0 = time.monotonic()
        sessions[0].append('INBOX', message(1))
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t0
        for i, r in results.items():
            assert not isinstance(r, Exception), 'idler %d: %s' % (i, r)
        assert len(results) == 3
        print('# all three idlers told after %.3f s' % elapsed)
        assert exists_of(sessions[1].ok('NOOP')) == 1
        # The appender hears of its own message too, in the APPEND reply or now.
        for c, tag in zip(idlers, tags):
            stop_idle(c, tag)
        for c in sessions:
            assert c.uids() == {1: 1}
            status = c.ok('STATUS INBOX (MESSAGES UIDNEXT)')
            assert any('MESSAGES 1' in l for l in status), status
            c.ok('LOGOUT')
            c.close()


if __name__ == '__main__':
    harness.main()
