"""CONDSTORE and QRESYNC (RFC 7162): MODSEQ in FETCH, STORE UNCHANGEDSINCE
with MODIFIED, FETCH CHANGEDSINCE, SEARCH MODSEQ, STATUS HIGHESTMODSEQ,
ENABLE, and the offline device that resynchronises with one SELECT.
"""
import re

import harness
from harness import status

USER = 'alice@example.test'
PASSWORD = 'condstore-pw'
OTHER = 'bob@example.test'

server = harness.ModuleServer(accounts={USER: PASSWORD, OTHER: PASSWORD})


def message(n):
    return ('From: a@example.test\r\nSubject: m%d\r\n\r\nbody %d\r\n' % (n, n)).encode()


def fill(r, count, box='INBOX'):
    return [harness.appenduid(r.append(box, message(n))[1])[1] for n in range(count)]


def highestmodseq(lines):
    for line in lines:
        m = re.match(r'\* OK \[HIGHESTMODSEQ (\d+)\]', line)
        if m:
            return int(m.group(1))
    return None


def modseqs(lines):
    """{uid: modseq} from FETCH lines carrying UID and MODSEQ."""
    out = {}
    for line in lines:
        u = re.search(r'UID (\d+)', line)
        m = re.search(r'MODSEQ \((\d+)\)', line)
        if line.startswith('* ') and ' FETCH ' in line and u and m:
            out[int(u.group(1))] = int(m.group(1))
    return out


def test_capability_and_enable():
    r = server().raw(USER, PASSWORD)
    caps = r.ok('CAPABILITY')[0][0].split()
    assert 'CONDSTORE' in caps and 'QRESYNC' in caps, caps
    untagged, _ = r.ok('ENABLE QRESYNC')
    assert untagged == ['* ENABLED QRESYNC'] or untagged == ['* ENABLED CONDSTORE QRESYNC'], untagged
    untagged, _ = r.ok('ENABLE QRESYNC CONDSTORE')
    assert untagged == ['* ENABLED'], untagged  # nothing new
    r.close()


def test_select_condstore_reports_highestmodseq_and_fetch_modseq():
    r = server().raw(USER, PASSWORD)
    r.ok('CREATE cs1')
    fill(r, 3, 'cs1')
    untagged, _ = r.ok('SELECT cs1 (CONDSTORE)')
    hms = highestmodseq(untagged)
    assert hms is not None and hms > 0, untagged
    untagged, _ = r.ok('FETCH 1:* (UID MODSEQ)')
    ms = modseqs(untagged)
    assert len(ms) == 3 and max(ms.values()) == hms, (ms, hms)
    # STORE changes the modseq; the answer carries it (CONDSTORE-aware)
    untagged, _ = r.ok('STORE 1 +FLAGS (\\Flagged)')
    after = modseqs(untagged)
    assert list(after.values())[0] > hms, untagged
    # CHANGEDSINCE: only message 1 changed since hms
    untagged, _ = r.ok('FETCH 1:* (FLAGS) (CHANGEDSINCE %d)' % hms)
    assert len(untagged) == 1 and untagged[0].startswith('* 1 FETCH') and 'MODSEQ' in untagged[0], untagged
    # SEARCH MODSEQ: messages with modseq >= hms + 1, with the highest in the answer
    untagged, _ = r.ok('SEARCH MODSEQ %d' % (hms + 1))
    assert untagged == ['* SEARCH 1 (MODSEQ %d)' % list(after.values())[0]], untagged
    untagged, _ = r.ok('STATUS cs1 (HIGHESTMODSEQ MESSAGES)')
    assert untagged == ['* STATUS "cs1" (HIGHESTMODSEQ %d MESSAGES 3)'
                        % list(after.values())[0]], untagged
    r.close()


def test_store_unchangedsince_and_modified():
    r = server().raw(USER, PASSWORD)
    r.ok('CREATE cs2')
    uids = fill(r, 3, 'cs2')
    r.ok('SELECT cs2')
    # The first CONDSTORE enabling command with a mailbox selected reports
    # HIGHESTMODSEQ (RFC 7162 §3.1).
    untagged, _ = r.ok('FETCH 1:3 (UID MODSEQ)')
    assert highestmodseq(untagged) is not None, untagged
    ms = modseqs(untagged)
    base = max(ms.values())
    r.ok('STORE 2 +FLAGS (\\Seen)')  # message 2 changes after the client looked
    untagged, tagged = r.ok('STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Answered)' % base)
    assert '[MODIFIED 2]' in tagged, tagged
    # .SILENT is overridden for conditional stores: FETCH with MODSEQ
    assert all('MODSEQ' in l for l in untagged) and len(untagged) >= 2, untagged
    _, tagged = r.ok('UID STORE %d (UNCHANGEDSINCE %d) -FLAGS (\\Answered)' % (uids[1], base))
    assert '[MODIFIED %d]' % uids[1] in tagged, tagged
    # RFC 7162 §3.1.3: UNCHANGEDSINCE 0 always fails
    _, tagged = r.ok('STORE 1 (UNCHANGEDSINCE 0) +FLAGS (\\Draft)')
    assert '[MODIFIED 1]' in tagged, tagged
    untagged, _ = r.ok('FETCH 1 (FLAGS)')
    assert '\\Draft' not in untagged[0], untagged
    r.close()


def test_offline_device_resyncs_with_one_select():
    """Issue 3's scenario: a phone goes offline knowing UIDs and MODSEQ; the
    laptop appends, flags and expunges; the phone's SELECT (QRESYNC ...)
    answers exactly the VANISHED (EARLIER) and FETCH lines of the change."""
    phone = server().raw(OTHER, PASSWORD)
    phone.ok('ENABLE QRESYNC')
    phone.ok('CREATE sync')
    laptop = server().raw(OTHER, PASSWORD)
    uids = fill(laptop, 6, 'sync')
    untagged, _ = phone.ok('SELECT sync (CONDSTORE)')
    uidvalidity = int(re.search(r'UIDVALIDITY (\d+)', ' '.join(untagged)).group(1))
    known_modseq = highestmodseq(untagged)
    phone.ok('LOGOUT')
    phone.close()
    # offline: the laptop flags 2 messages, expunges 2, appends 1
    laptop.ok('SELECT sync')
    laptop.ok('UID STORE %d,%d +FLAGS (\\Seen)' % (uids[0], uids[3]))
    laptop.ok('UID STORE %d,%d +FLAGS (\\Deleted)' % (uids[1], uids[4]))
    laptop.ok('EXPUNGE')
    new_uid = harness.appenduid(laptop.append('sync', message(99))[1])[1]
    laptop.close()
    phone = server().raw(OTHER, PASSWORD)
    phone.ok('ENABLE QRESYNC')
    untagged, tagged = phone.ok('SELECT sync (QRESYNC (%d %d %d:%d))'
                                % (uidvalidity, known_modseq, uids[0], uids[-1]))
    vanished = [l for l in untagged if l.startswith('* VANISHED')]
    assert vanished == ['* VANISHED (EARLIER) %d,%d' % (uids[1], uids[4])], untagged
    fetched = {int(re.search(r'UID (\d+)', l).group(1)): l
               for l in untagged if ' FETCH ' in l}
    # the flagged ones, and not the new one (outside the known UIDs)
    assert set(fetched) == {uids[0], uids[3]}, untagged
    assert all('\\Seen' in l and 'MODSEQ' in l for l in fetched.values()), fetched
    assert '* 5 EXISTS' in untagged, untagged
    assert new_uid not in fetched
    # after QRESYNC, an expunge elsewhere arrives as VANISHED, not EXPUNGE
    laptop = server().raw(OTHER, PASSWORD)
    laptop.ok('SELECT sync')
    laptop.ok('UID STORE %d +FLAGS (\\Deleted)' % uids[2])
    laptop.ok('EXPUNGE')
    untagged, _ = phone.ok('NOOP')
    assert '* VANISHED %d' % uids[2] in untagged, untagged
    assert not any(l.endswith(' EXPUNGE') for l in untagged), untagged
    # UID FETCH ... (CHANGEDSINCE n VANISHED)
    untagged, _ = phone.ok('UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)' % known_modseq)
    assert untagged[0] == '* VANISHED (EARLIER) %d:%d,%d' % (uids[1], uids[2], uids[4]), untagged
    laptop.close()
    phone.close()


def test_qresync_needs_enable_and_uidvalidity_mismatch_is_ignored():
    r = server().raw(USER, PASSWORD)
    r.ok('CREATE qr')
    fill(r, 2, 'qr')
    _, tagged = r.cmd('SELECT qr (QRESYNC (1 1))')
    assert harness.status(tagged) == 'BAD', tagged
    r.ok('ENABLE QRESYNC')
    untagged, _ = r.ok('SELECT qr (QRESYNC (1 1))')  # wrong UIDVALIDITY
    assert not any(l.startswith('* VANISHED') or ' FETCH ' in l for l in untagged), untagged
    untagged, _ = r.ok('SELECT INBOX')
    assert untagged[0] == '* OK [CLOSED] Previous mailbox closed', untagged
    _, tagged = r.cmd('FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)')
    assert harness.status(tagged) == 'BAD', tagged  # VANISHED only with UID FETCH
    r.close()


def test_concurrent_stores_each_get_their_own_modseq():
    """Sessions' writes are group-committed off the event loops (one
    transaction for whatever is waiting): every STORE still gets a
    mod-sequence of its own (RFC 7162 §3.1), each session is answered with
    its own change, and all of them are kept."""
    n = 20
    r = server().raw(USER, PASSWORD)
    r.ok('CREATE cs-group')
    fill(r, 2, 'cs-group')
    before = highestmodseq(r.ok('SELECT cs-group (CONDSTORE)')[0])
    sessions = [server().raw(USER, PASSWORD) for _ in range(n)]
    for c in sessions:
        c.ok('SELECT cs-group (CONDSTORE)')
    # every STORE on the wire before any answer is read
    tags = []
    for i, c in enumerate(sessions):
        tag = c.next_tag()
        c.send('%s UID STORE 1 +FLAGS (kw%d)\r\n' % (tag, i))
        tags.append(tag)
    seen = []
    for i, (c, tag) in enumerate(zip(sessions, tags)):
        lines, tagged = c.read_until(tag)
        assert status(tagged) == 'OK', (lines, tagged)
        mine = [l for l in lines if ' FETCH ' in l and 'kw%d' % i in l]
        assert mine, lines
        seen.append(modseqs(mine[:1])[1])  # its own answer comes first
    assert len(set(seen)) == n, seen
    assert sorted(seen) == list(range(before + 1, before + n + 1)), (before, seen)
    lines, _ = r.ok('UID FETCH 1 (FLAGS MODSEQ)')
    flags = ' '.join(lines)
    assert all('kw%d' % i in flags for i in range(n)), flags
    assert modseqs(lines)[1] == before + n, lines
    # and the other writes, from many sessions at once: APPEND, EXPUNGE, MOVE
    for i, c in enumerate(sessions):
        c.send(c.next_tag() + ' APPEND cs-group {%d+}\r\n' % len(message(100 + i)) +
               message(100 + i).decode() + '\r\n')
    uids = []
    for c in sessions:
        lines, tagged = c.read_until('a%d' % c.tags)
        assert status(tagged) == 'OK', (lines, tagged)
        uids.append(harness.appenduid(tagged)[1])
    assert len(set(uids)) == n, uids
    r.ok('CREATE cs-group-moved')
    for c, uid in zip(sessions, uids):
        tag = c.next_tag()
        if uid % 2:
            c.send('%s UID MOVE %d cs-group-moved\r\n' % (tag, uid))
        else:
            c.send('%s UID STORE %d +FLAGS.SILENT (\\Deleted)\r\n' % (tag, uid))
    for c in sessions:
        lines, tagged = c.read_until('a%d' % c.tags)
        assert status(tagged) == 'OK', (lines, tagged)
    for c in sessions:
        c.ok('UID EXPUNGE %s' % ','.join(str(u) for u in uids if u % 2 == 0))
    lines, _ = r.ok('STATUS cs-group (MESSAGES)')
    assert '(MESSAGES 2)' in lines[0], lines
    lines, _ = r.ok('STATUS cs-group-moved (MESSAGES)')
    assert '(MESSAGES %d)' % sum(1 for u in uids if u % 2) in lines[0], lines
    for c in sessions:
        c.close()
    r.close()


def test_server_stops_cleanly():
    server.stop()


if __name__ == '__main__':
    harness.main()
