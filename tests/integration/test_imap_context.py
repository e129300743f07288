"""Updating search and sort contexts (RFC 5267 §4): SEARCH / SORT RETURN
(UPDATE), ESEARCH ADDTO / REMOVEFROM as the mailbox changes, CANCELUPDATE,
NOUPDATE, tag reuse; driven by raw IMAP. W is the session with the
context, A another session of the same account that changes the mailbox."""

import socket
import time

import harness

WAIT = 15.0

server = harness.ModuleServer(accounts={'ctx@example.test': 'pw'}, listeners=('imap',))
_accounts = [0]


def setup(subjects, flags=None):
    """A fresh account whose INBOX holds one message per subject; W and A
    both have INBOX selected."""
    _accounts[0] += 1
    user = 'c%d@example.test' % _accounts[0]
    server().add_account(user, 'pw')
    w = server().raw(user)
    a = server().raw(user)
    for i, subject in enumerate(subjects):
        f = (flags or {}).get(i + 1, '')
        a.append('INBOX', msg(subject), flags=f)
    w.ok('SELECT INBOX')
    a.ok('SELECT INBOX')
    return w, a


def msg(subject):
    return ('Subject: %s\r\n\r\nbody\r\n' % subject).encode()


def esearch(lines, tag):
    return [l for l in lines if l.startswith('* ESEARCH (TAG "%s")' % tag)]


def test_capability_lists_context():
    r = server().raw('ctx@example.test')
    lines, _ = r.ok('CAPABILITY')
    assert ' CONTEXT=SEARCH' in lines[0] and ' CONTEXT=SORT' in lines[0], lines
    r.close()


def test_uid_search_update_follows_flag_changes():
    w, a = setup(['one', 'two', 'three'])
    lines, tagged = w.cmd('UID SEARCH RETURN (UPDATE COUNT) FLAGGED')
    assert harness.status(tagged) == 'OK', tagged
    tag = tagged.split()[0]
    assert esearch(lines, tag) == ['* ESEARCH (TAG "%s") UID COUNT 0' % tag], lines
    a.ok('STORE 2,3 +FLAGS (\\Flagged)')
    lines, _ = w.ok('NOOP')
    # section 5.1 of RFC 5465 (and 4.3.3 here): the FETCH comes first
    assert lines[-1] == '* ESEARCH (TAG "%s") UID ADDTO (0 2:3)' % tag, lines
    assert any(l.startswith('* 2 FETCH') for l in lines[:-1]), lines
    a.ok('STORE 2 -FLAGS (\\Flagged)')
    lines, _ = w.ok('NOOP')
    assert esearch(lines, tag) == ['* ESEARCH (TAG "%s") UID REMOVEFROM (0 2)' % tag], lines
    # nothing changed: nothing said
    lines, _ = w.ok('NOOP')
    assert esearch(lines, tag) == [], lines
    w.close()
    a.close()


def test_search_update_new_message_comes_after_exists_and_expunge_after_removefrom():
    w, a = setup(['hello one', 'other', 'hello two'])
    lines, tagged = w.cmd('SEARCH RETURN (UPDATE) SUBJECT hello')
    tag = tagged.split()[0]
    assert esearch(lines, tag) == ['* ESEARCH (TAG "%s")' % tag], lines
    a.append('INBOX', msg('hello three'))
    lines, _ = w.ok('NOOP')
    assert lines == ['* 4 EXISTS', '* ESEARCH (TAG "%s") ADDTO (0 4)' % tag], lines
    a.ok('STORE 1 +FLAGS (\\Deleted)')
    a.ok('EXPUNGE')
    lines, _ = w.ok('NOOP')
    # message numbers: REMOVEFROM names 1 while it is still 1
    removed = lines.index('* ESEARCH (TAG "%s") REMOVEFROM (0 1)' % tag)
    assert lines.index('* 1 EXPUNGE') > removed, lines
    w.close()
    a.close()


def test_uid_sort_update_gives_positions():
    w, a = setup(['b', 'd'])
    lines, tagged = w.cmd('UID SORT RETURN (UPDATE ALL) (SUBJECT) UTF-8 ALL')
    tag = tagged.split()[0]
    assert esearch(lines, tag) == ['* ESEARCH (TAG "%s") UID ALL 1:2' % tag], lines
    a.append('INBOX', msg('c'))  # uid 3, between b and d
    lines, _ = w.ok('NOOP')
    assert esearch(lines, tag) == ['* ESEARCH (TAG "%s") UID ADDTO (2 3)' % tag], lines
    a.append('INBOX', msg('a'))  # uid 4, first
    a.append('INBOX', msg('e'))  # uid 5, last
    lines, _ = w.ok('NOOP')
    assert esearch(lines, tag) == ['* ESEARCH (TAG "%s") UID ADDTO (1 4 5 5)' % tag], lines
    # the result is now a b c d e = 4 1 3 2 5; expunge b and d
    a.ok('UID STORE 1:2 +FLAGS (\\Deleted)')
    a.ok('EXPUNGE')
    lines, _ = w.ok('NOOP')
    assert esearch(lines, tag) == ['* ESEARCH (TAG "%s") UID REMOVEFROM (2 1 3 2)' % tag], lines
    lines, _ = w.ok('UID SORT (SUBJECT) UTF-8 ALL')
    assert lines == ['* SORT 4 3 5'], lines
    w.close()
    a.close()


def test_cancelupdate_stops_updates_and_tag_reuse_is_bad():
    w, a = setup(['x'])
    w.send('t1 SEARCH RETURN (UPDATE) UNSEEN\r\n')
    _, tagged = w.read_until('t1')
    assert harness.status(tagged) == 'OK', tagged
    w.send('t1 UID SORT RETURN (UPDATE) (DATE) UTF-8 ALL\r\n')
    _, tagged = w.read_until('t1')
    assert harness.status(tagged) == 'BAD', tagged
    w.ok('CANCELUPDATE "t1"')
    a.append('INBOX', msg('y'))
    lines, _ = w.ok('NOOP')
    assert lines == ['* 2 EXISTS'], lines
    # a cancelled tag may be used again
    w.send('t1 SEARCH RETURN (UPDATE CONTEXT COUNT) UNSEEN\r\n')
    lines, tagged = w.read_until('t1')
    assert harness.status(tagged) == 'OK' and '* ESEARCH (TAG "t1") COUNT 2' in lines, lines
    for bad in ('CANCELUPDATE', 'CANCELUPDATE t1 x', 'CANCELUPDATE "t1" '):
        _, tagged = w.cmd(bad)
        assert harness.status(tagged) == 'BAD', (bad, tagged)
    w.close()
    a.close()


def test_too_many_contexts_get_noupdate():
    w, a = setup(['x'])
    for i in range(16):
        w.send('u%d SEARCH RETURN (UPDATE) ALL\r\n' % i)
        lines, tagged = w.read_until('u%d' % i)
        assert harness.status(tagged) == 'OK' and not any('NOUPDATE' in l for l in lines), lines
    w.send('u16 SEARCH RETURN (UPDATE COUNT) ALL\r\n')
    lines, tagged = w.read_until('u16')
    assert harness.status(tagged) == 'OK', tagged
    assert '* ESEARCH (TAG "u16") COUNT 1' in lines, lines  # other options still answered
    assert '* NO [NOUPDATE "u16"] Too many updating contexts (16)' in lines, lines
    a.append('INBOX', msg('y'))
    lines, _ = w.ok('NOOP')
    assert len([l for l in lines if 'ADDTO (0 2)' in l]) == 16, lines
    w.close()
    a.close()


def test_deselect_ends_contexts():
    w, a = setup(['x'])
    w.ok('UID SEARCH RETURN (UPDATE) ALL')
    w.ok('UNSELECT')
    w.ok('SELECT INBOX')
    a.append('INBOX', msg('y'))
    lines, _ = w.ok('NOOP')
    assert lines == ['* 2 EXISTS'], lines
    w.close()
    a.close()


def test_updates_arrive_during_idle():
    w, a = setup(['x'])
    lines, tagged = w.cmd('UID SEARCH RETURN (UPDATE) SUBJECT news')
    tag = tagged.split()[0]
    idle = w.next_tag()
    w.send('%s IDLE\r\n' % idle)
    assert w.line(timeout=WAIT).startswith('+')
    a.append('INBOX', msg('news'))
    got = []
    deadline = time.monotonic() + WAIT
    while not any('ADDTO' in l for l in got):
        try:
            got.append(w.line(timeout=max(0.1, deadline - time.monotonic())))
        except socket.timeout:
            raise AssertionError('no ADDTO in IDLE: %r' % got)
    assert got == ['* 2 EXISTS', '* ESEARCH (TAG "%s") UID ADDTO (0 2)' % tag], got
    w.send('DONE\r\n')
    w.read_until(idle)
    w.close()
    a.close()


def test_partial_and_update_together():
    w, a = setup(['m1', 'm2', 'm3', 'm4'])
    lines, tagged = w.cmd('UID SEARCH RETURN (PARTIAL 1:2 UPDATE) ALL')
    tag = tagged.split()[0]
    assert esearch(lines, tag) == ['* ESEARCH (TAG "%s") UID PARTIAL (1:2 1:2)' % tag], lines
    # the updates cover every result, not only the page (RFC 5267 section 4.4)
    a.ok('UID STORE 4 +FLAGS (\\Deleted)')
    a.ok('EXPUNGE')
    lines, _ = w.ok('NOOP')
    assert esearch(lines, tag) == ['* ESEARCH (TAG "%s") UID REMOVEFROM (0 4)' % tag], lines
    w.close()
    a.close()


def test_esearch_command_with_update():
    _accounts[0] += 1
    user = 'c%d@example.test' % _accounts[0]
    server().add_account(user, 'pw')
    r = server().raw(user)
    # RFC 7377 section 2.4: UPDATE needs a selected mailbox
    _, tagged = r.cmd('ESEARCH IN (personal) RETURN (UPDATE) ALL')
    assert harness.status(tagged) == 'BAD', tagged
    r.ok('SELECT INBOX')
    lines, tagged = r.cmd('ESEARCH RETURN (UPDATE COUNT) ALL')
    tag = tagged.split()[0]
    assert harness.status(tagged) == 'OK', tagged
    assert '* NO [NOUPDATE "%s"] No updates for ESEARCH; use SEARCH RETURN (UPDATE)' % tag \
        in lines, lines
    r.close()


def test_update_with_fetch_attributes_fetches_arrivals_only():
    # RFC 5465 section 7 (NOTIFY and CONTEXT both offered)
    w, a = setup(['one', 'two'])
    lines, tagged = w.cmd('UID SEARCH RETURN (UPDATE (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])) '
                          'FLAGGED')
    assert harness.status(tagged) == 'OK', tagged
    tag = tagged.split()[0]
    # joining by a flag change: ADDTO, no FETCH of the attributes
    a.ok('UID STORE 1 +FLAGS (\\Flagged)')
    lines, _ = w.ok('NOOP')
    assert esearch(lines, tag) == ['* ESEARCH (TAG "%s") UID ADDTO (0 1)' % tag], lines
    assert not [l for l in lines if 'HEADER.FIELDS' in l], lines
    # joining by arriving: EXISTS, ADDTO, then the FETCH (RFC 5465 section 5.2)
    a.append('INBOX', msg('three'), flags='\\Flagged')
    lines, _ = w.ok('NOOP')
    assert lines[0] == '* 3 EXISTS', lines
    assert lines[1] == '* ESEARCH (TAG "%s") UID ADDTO (0 3)' % tag, lines
    assert lines[2].startswith('* 3 FETCH (UID 3 BODY[HEADER.FIELDS (SUBJECT)] {'), lines
    assert 'Subject: three' in lines[2], lines
    # a message that arrives without matching: nothing but EXISTS
    a.append('INBOX', msg('four'))
    lines, _ = w.ok('NOOP')
    assert lines == ['* 4 EXISTS'], lines
    _, tagged = w.cmd('SEARCH RETURN (UPDATE (NOSUCHATT)) ALL')
    assert harness.status(tagged) == 'BAD', tagged
    # message text is pushed whole, so only with a small <partial>: the
    # result stands, without updates (RFC 5267 section 4.2, NOUPDATE)
    lines, tagged = w.cmd('SEARCH RETURN (COUNT UPDATE (UID BODY.PEEK[TEXT])) ALL')
    tag = tagged.split()[0]
    assert harness.status(tagged) == 'OK', tagged
    assert esearch(lines, tag) == ['* ESEARCH (TAG "%s") COUNT 4' % tag], lines
    assert any(l.startswith('* NO [NOUPDATE "%s"]' % tag) for l in lines), lines
    a.append('INBOX', msg('five'))
    lines, _ = w.ok('NOOP')
    assert not [l for l in lines if tag in l or 'BODY[TEXT]' in l], lines
    lines, tagged = w.cmd('SEARCH RETURN (UPDATE (UID BODY.PEEK[TEXT]<0.100>)) ALL')
    assert harness.status(tagged) == 'OK', tagged
    assert not [l for l in lines if 'NOUPDATE' in l], lines
    w.close()
    a.close()


def test_message_numbers_in_the_criteria_are_those_of_the_command():
    # RFC 5267 section 4.3: evaluated at the time the command is received
    w, a = setup(['a', 'b', 'c'])
    lines, tagged = w.cmd('UID SEARCH RETURN (UPDATE ALL) 2:*')
    tag = tagged.split()[0]
    assert esearch(lines, tag) == ['* ESEARCH (TAG "%s") UID ALL 2:3' % tag], lines
    a.ok('UID STORE 1 +FLAGS (\\Deleted)')
    a.ok('EXPUNGE')
    a.append('INBOX', msg('d'))
    lines, _ = w.ok('NOOP')
    # UIDs 2 and 3 are still the set (now numbers 1:2); the new message
    # is not part of "2:*" as it was then
    assert esearch(lines, tag) == [], lines
    assert '* 1 EXPUNGE' in lines and '* 3 EXISTS' in lines, lines
    a.ok('UID STORE 3 +FLAGS (\\Deleted)')
    a.ok('EXPUNGE')
    lines, _ = w.ok('NOOP')
    assert esearch(lines, tag) == ['* ESEARCH (TAG "%s") UID REMOVEFROM (0 3)' % tag], lines
    w.close()
    a.close()


def test_server_stops_cleanly():
    server()
    server.stop()


if __name__ == '__main__':
    harness.main()
