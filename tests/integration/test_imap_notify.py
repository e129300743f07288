"""NOTIFY (RFC 5465): one connection hears about every mailbox it asks for,
between commands and in IDLE, driven by raw IMAP over a socket.

Each test has a watcher session W (the one that sent NOTIFY) and an actor
session A (another connection of the same account) or the command line.
W never sends a command while it waits: what it reads arrived unsolicited
(RFC 5465 §3.1 "the server will notify the client ... even when no command
is in progress")."""

import socket
import time

import harness

ALICE = 'alice@example.test'
ACCOUNTS = {ALICE: 'a pw'}
WAIT = 15.0

server = harness.ModuleServer(accounts=ACCOUNTS, listeners=('imap',))
_accounts = [0]


def new_account():
    """A fresh account per test, so one test's mailboxes never show in another's."""
    _accounts[0] += 1
    user = 'n%d@example.test' % _accounts[0]
    server().add_account(user, 'pw')
    return user


def pair(user):
    w = server().raw(user)
    a = server().raw(user)
    return w, a


def expect(r, predicate, what):
    """Read unsolicited responses until predicate(line); returns all read."""
    deadline = time.monotonic() + WAIT
    lines = []
    while True:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise socket.timeout()
            line = r.line(timeout=remaining)
        except socket.timeout:
            raise AssertionError('no %s within %.0f s; got %r' % (what, WAIT, lines))
        lines.append(line)
        if predicate(line):
            return lines


def quiet(r, seconds=0.7):
    """Nothing arrives for a while (the feed and the loops had time)."""
    try:
        line = r.line(timeout=seconds)
    except socket.timeout:
        return
    raise AssertionError('unexpected: %r' % line)


def msg(subject, size=0):
    return ('Subject: %s\r\n\r\nbody%s\r\n' % (subject, 'x' * size)).encode()


def test_capability_lists_notify():
    r = server().raw(new_account())
    lines, _ = r.ok('CAPABILITY')
    assert ' NOTIFY' in lines[0], lines
    r.close()


def test_set_status_reports_watched_mailboxes_then_status_on_new_mail():
    user = new_account()
    w, a = pair(user)
    lines, _ = w.ok('NOTIFY SET STATUS (personal (MessageNew MessageExpunge))')
    statuses = [l for l in lines if l.startswith('* STATUS')]
    assert '* STATUS "Sent" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY ' in ' '.join(statuses), lines
    assert len(statuses) == 6, lines  # INBOX and the five defaults, nothing selected
    a.append('Sent', msg('one'))
    got = expect(w, lambda l: l.startswith('* STATUS "Sent"'), 'STATUS Sent')
    assert got[-1] == '* STATUS "Sent" (MESSAGES 1 UIDNEXT 2)', got
    # an expunge elsewhere: MESSAGES goes down, UIDNEXT stays
    a.ok('SELECT Sent')
    a.ok('STORE 1 +FLAGS (\\Deleted)')
    a.ok('EXPUNGE')
    got = expect(w, lambda l: l.startswith('* STATUS "Sent"'), 'STATUS after expunge')
    assert got[-1] == '* STATUS "Sent" (MESSAGES 0 UIDNEXT 2)', got
    # a flag change is not a MessageNew/MessageExpunge event: nothing
    a.append('Sent', msg('two'))
    expect(w, lambda l: l.startswith('* STATUS "Sent"'), 'STATUS after append')
    a.ok('STORE 2 +FLAGS (\\Flagged)')
    quiet(w)
    w.ok('NOOP')
    w.close()
    a.close()


def test_flagchange_without_condstore_reports_unseen():
    user = new_account()
    w, a = pair(user)
    w.ok('NOTIFY SET (personal (MessageNew MessageExpunge FlagChange))')
    a.append('Drafts', msg('d'))
    expect(w, lambda l: l.startswith('* STATUS "Drafts"'), 'STATUS Drafts')
    a.ok('SELECT Drafts')
    a.ok('STORE 1 +FLAGS (\\Seen)')
    got = expect(w, lambda l: l.startswith('* STATUS "Drafts"'), 'STATUS UNSEEN')
    assert got[-1] == '* STATUS "Drafts" (UNSEEN 0)', got
    # with CONDSTORE enabled: HIGHESTMODSEQ and UIDVALIDITY
    w.ok('ENABLE CONDSTORE')
    a.ok('STORE 1 +FLAGS (\\Flagged)')
    got = expect(w, lambda l: l.startswith('* STATUS "Drafts"'), 'STATUS HIGHESTMODSEQ')
    assert 'HIGHESTMODSEQ' in got[-1] and 'UIDVALIDITY' in got[-1], got
    w.close()
    a.close()


def test_selected_mailbox_gets_exists_fetch_flags_and_expunge_between_commands():
    user = new_account()
    w, a = pair(user)
    w.ok('SELECT INBOX')
    w.ok('NOTIFY SET (selected (MessageNew (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)]) '
         'MessageExpunge FlagChange)) (personal (MessageNew MessageExpunge))')
    a.append('INBOX', msg('hello'))
    got = expect(w, lambda l: l.startswith('* 1 FETCH'), 'FETCH of the new message')
    assert got[0] == '* 1 EXISTS', got
    assert 'UID 1' in got[-1] and 'FLAGS ()' in got[-1], got
    assert 'Subject: hello' in got[-1], got
    # the selected mailbox is never reported by STATUS (section 3.1)
    a.ok('SELECT INBOX')
    a.ok('STORE 1 +FLAGS (\\Flagged)')
    got = expect(w, lambda l: l.startswith('* 1 FETCH'), 'FETCH FLAGS')
    assert '\\Flagged' in got[-1], got
    assert not [l for l in got if l.startswith('* STATUS')], got
    a.ok('STORE 1 +FLAGS (\\Deleted)')
    expect(w, lambda l: l.startswith('* 1 FETCH'), 'FETCH FLAGS Deleted')
    a.ok('EXPUNGE')
    expect(w, lambda l: l == '* 1 EXPUNGE', 'EXPUNGE')
    w.ok('NOOP')
    w.close()
    a.close()


def test_selected_without_flagchange_holds_flags_until_a_command():
    user = new_account()
    w, a = pair(user)
    a.append('INBOX', msg('x'))
    w.ok('SELECT INBOX')
    w.ok('NOTIFY SET (selected (MessageNew MessageExpunge))')
    a.ok('SELECT INBOX')
    a.ok('STORE 1 +FLAGS (\\Answered)')
    a.append('INBOX', msg('y'))
    got = expect(w, lambda l: l == '* 2 EXISTS', 'EXISTS')
    assert got == ['* 2 EXISTS'], got  # no FETCH: FlagChange was not asked for
    lines, _ = w.ok('NOOP')
    assert any(l.startswith('* 1 FETCH') and '\\Answered' in l for l in lines), lines
    w.close()
    a.close()


def test_selected_delayed_holds_expunge_until_noop():
    user = new_account()
    w, a = pair(user)
    a.append('INBOX', msg('x'))
    a.append('INBOX', msg('y'))
    w.ok('SELECT INBOX')
    w.ok('NOTIFY SET (selected-delayed (MessageNew MessageExpunge))')
    a.ok('SELECT INBOX')
    a.ok('STORE 1 +FLAGS (\\Deleted)')
    a.ok('EXPUNGE')
    a.append('INBOX', msg('z'))
    got = expect(w, lambda l: l.endswith(' EXISTS'), 'EXISTS')
    assert got == ['* 3 EXISTS'], got  # numbers unchanged: no EXPUNGE yet
    quiet(w)
    lines, _ = w.ok('NOOP')
    assert '* 1 EXPUNGE' in lines, lines
    w.close()
    a.close()


def test_no_selected_group_means_no_pushes_for_the_selected_mailbox():
    user = new_account()
    w, a = pair(user)
    w.ok('SELECT INBOX')
    w.ok('NOTIFY SET (personal (MessageNew MessageExpunge))')
    a.append('INBOX', msg('x'))
    quiet(w)
    # RFC 9051's own rule still holds at the end of a command
    lines, _ = w.ok('NOOP')
    assert '* 1 EXISTS' in lines, lines
    w.close()
    a.close()


def test_own_append_copy_move_are_not_reported_back():
    """RFC 5465 §5: the server SHOULD omit notifying the client of events it
    caused itself. W's own APPEND / COPY / MOVE into non-selected mailboxes
    bring no STATUS; the selected mailbox still gets its EXISTS / EXPUNGE
    (RFC 9051 §7); the same mailboxes changed by another session are told,
    with counters that include W's own messages."""
    user = new_account()
    w, a = pair(user)
    w.ok('SELECT INBOX')
    w.ok('NOTIFY SET (selected (MessageNew MessageExpunge)) '
         '(personal (MessageNew MessageExpunge))')
    lines, _ = w.append('Drafts', msg('mine'))
    assert not [l for l in lines if l.startswith('* STATUS')], lines
    lines, _ = w.append('INBOX', msg('kept'))
    assert '* 1 EXISTS' in lines, lines
    assert not [l for l in lines if l.startswith('* STATUS')], lines
    lines, _ = w.ok('COPY 1 Sent')
    assert not [l for l in lines if l.startswith('* STATUS')], lines
    lines, _ = w.ok('UID MOVE 1 Trash')
    assert not [l for l in lines if l.startswith('* STATUS')], lines
    assert '* 1 EXPUNGE' in lines, lines
    quiet(w)
    lines, _ = w.ok('NOOP')
    assert not [l for l in lines if l.startswith('* STATUS')], lines
    # another session's changes to the same mailboxes are still told
    a.append('Drafts', msg('theirs'))
    got = expect(w, lambda l: l.startswith('* STATUS'), 'STATUS Drafts')
    assert got == ['* STATUS "Drafts" (MESSAGES 2 UIDNEXT 3)'], got
    a.append('Trash', msg('theirs'))
    got = expect(w, lambda l: l.startswith('* STATUS'), 'STATUS Trash')
    assert got == ['* STATUS "Trash" (MESSAGES 2 UIDNEXT 3)'], got
    quiet(w)
    w.close()
    a.close()


def test_own_append_copy_into_selected_get_exists_but_no_messagenew_fetch():
    """RFC 5465 §5.2: "A FETCH response SHOULD NOT be generated for a new
    message created by the client on this particular connection, for
    instance, as the result of an APPEND or COPY command to the selected
    mailbox". The EXISTS still comes (RFC 9051 §7); a message another
    session adds gets its FETCH, also when it arrives in the same command's
    window as W's own."""
    user = new_account()
    w, a = pair(user)
    w.ok('SELECT INBOX')
    w.ok('NOTIFY SET (selected (MessageNew (UID FLAGS) MessageExpunge)) '
         '(personal (MessageNew MessageExpunge))')
    lines, _ = w.append('INBOX', msg('mine'))
    assert '* 1 EXISTS' in lines, lines
    assert not [l for l in lines if ' FETCH ' in l], lines
    # MULTIAPPEND, COPY and REPLACE of W into the selected mailbox: the same
    lines, _ = w.ok('APPEND INBOX {%d+}\r\n%s {%d+}\r\n%s' % (
        len(msg('m2')), msg('m2').decode(), len(msg('m3')), msg('m3').decode()))
    assert '* 3 EXISTS' in lines, lines
    assert not [l for l in lines if ' FETCH ' in l], lines
    lines, _ = w.ok('COPY 1:2 INBOX')
    assert '* 5 EXISTS' in lines, lines
    assert not [l for l in lines if ' FETCH ' in l], lines
    lines, _ = w.ok('UID REPLACE 1 INBOX {%d+}\r\n%s' % (len(msg('r')), msg('r').decode()))
    assert not [l for l in lines if ' FETCH ' in l and 'UID 6' in l], lines
    quiet(w)
    # another session's APPEND to the selected mailbox is pushed with FETCH
    a.append('INBOX', msg('theirs'))
    got = expect(w, lambda l: ' FETCH ' in l, 'FETCH of the other session\'s message')
    assert got[-1].startswith('* ') and 'UID 7' in got[-1], got
    # and W's own messages were never fetched at it afterwards
    lines, _ = w.ok('NOOP')
    assert not [l for l in lines if ' FETCH ' in l], lines
    w.close()
    a.close()


def test_filters_mailboxes_subtree_inboxes_subscribed():
    user = new_account()
    w, a = pair(user)
    for name in ('Work', 'Work/Plans', 'Other', 'Subs'):
        a.ok('CREATE %s' % name)
    a.ok('SUBSCRIBE Subs')
    a.ok('UNSUBSCRIBE Archive')  # a default folder: subscribed at creation
    w.ok('NOTIFY SET (mailboxes Other (MessageNew MessageExpunge)) '
         '(subtree Work (MessageNew MessageExpunge)) (inboxes (MessageNew MessageExpunge)) '
         '(subscribed (MessageNew MessageExpunge))')
    # Archive matches no filter: its append is not reported; each of the
    # others is, in order
    for name in ('Archive', 'Other', 'Archive', 'Work/Plans', 'Archive', 'INBOX', 'Archive',
                 'Subs'):
        a.append(name, msg(name))
        if name != 'Archive':
            got = expect(w, lambda l: l.startswith('* STATUS'), 'STATUS ' + name)
            assert got == ['* STATUS %s (MESSAGES 1 UIDNEXT 2)' % harness.quote(name)], got
    quiet(w)
    w.close()
    a.close()


def test_mailboxname_create_rename_delete_by_another_session():
    user = new_account()
    w, a = pair(user)
    w.ok('NOTIFY SET (personal (MailboxName))')
    a.ok('CREATE Proj/New')  # creates Proj too
    got = expect(w, lambda l: l.endswith('"Proj/New"'), 'LIST of the new mailbox')
    assert got == ['* LIST (\\HasChildren) "/" "Proj"',
                   '* LIST (\\HasNoChildren) "/" "Proj/New"'], got
    quiet(w)  # Proj, the parent of Proj/New, is told once
    a.ok('RENAME Proj/New Plan')
    got = expect(w, lambda l: l.startswith('* LIST'), 'LIST with OLDNAME')
    assert got == ['* LIST (\\HasNoChildren) "/" "Plan" ("OLDNAME" ("Proj/New"))'], got
    quiet(w)
    a.ok('DELETE Plan')
    got = expect(w, lambda l: '"Plan"' in l, 'LIST \\NonExistent')
    assert got == ['* LIST (\\NonExistent \\HasNoChildren) "/" "Plan"'], got
    # our own CREATE is not reported back (section 5: SHOULD NOT)
    w.ok('CREATE Mine')
    a.ok('NOOP')
    quiet(w)
    w.close()
    a.close()


def test_rename_into_a_missing_parent_is_one_change():
    """RENAME creates the missing superiors of the new name in the same
    store transaction as the rename (RFC 9051 §6.3.6), so the watcher never
    sees the new parent without its child: "Box" is \HasChildren at once."""
    user = new_account()
    w, a = pair(user)
    a.ok('CREATE Loose')
    w.ok('NOTIFY SET (personal (MailboxName))')
    a.ok('RENAME Loose Box/Loose')
    got = expect(w, lambda l: 'OLDNAME' in l, 'LIST with OLDNAME')
    assert got == ['* LIST (\\HasChildren) "/" "Box"',
                   '* LIST (\\HasNoChildren) "/" "Box/Loose" ("OLDNAME" ("Loose"))'], got
    quiet(w)
    # a RENAME that fails leaves no superior behind, so nothing is told
    _, tagged = a.cmd('RENAME Nowhere New/Nowhere')
    assert ' NO [NONEXISTENT]' in tagged, tagged
    quiet(w)
    lines, _ = a.ok('LIST "" "New*"')
    assert [l for l in lines if l.startswith('* LIST')] == [], lines
    w.close()
    a.close()


def test_rename_of_a_tree_reports_only_the_renamed_mailbox():
    user = new_account()
    w, a = pair(user)
    a.ok('CREATE Top')
    a.ok('CREATE Top/Child')
    w.ok('NOTIFY SET (personal (MailboxName))')
    a.ok('RENAME Top Moved')
    got = expect(w, lambda l: 'OLDNAME' in l, 'LIST OLDNAME')
    assert got == ['* LIST (\\HasChildren) "/" "Moved" ("OLDNAME" ("Top"))'], got
    quiet(w)  # no event for Top/Child (section 5.4)
    w.close()
    a.close()


def test_subscriptionchange():
    user = new_account()
    w, a = pair(user)
    a.ok('CREATE Lists')
    w.ok('NOTIFY SET (personal (SubscriptionChange))')
    a.ok('SUBSCRIBE Lists')
    got = expect(w, lambda l: l.startswith('* LIST'), 'LIST \\Subscribed')
    assert got == ['* LIST (\\HasNoChildren \\Subscribed) "/" "Lists"'], got
    a.ok('UNSUBSCRIBE Lists')
    got = expect(w, lambda l: l.startswith('* LIST'), 'LIST unsubscribed')
    assert got == ['* LIST (\\HasNoChildren) "/" "Lists"'], got
    w.close()
    a.close()


def test_notify_none_stops_everything():
    user = new_account()
    w, a = pair(user)
    w.ok('NOTIFY SET (personal (MessageNew MessageExpunge MailboxName))')
    w.ok('NOTIFY NONE')
    a.append('Sent', msg('x'))
    a.ok('CREATE Gone')
    quiet(w)
    lines, _ = w.ok('NOOP')
    assert lines == [], lines
    w.close()
    a.close()


def test_idle_with_notify_reports_other_mailboxes():
    user = new_account()
    w, a = pair(user)
    w.ok('SELECT INBOX')
    w.ok('NOTIFY SET (selected (MessageNew MessageExpunge)) (personal (MessageNew MessageExpunge))')
    tag = w.next_tag()
    w.send('%s IDLE\r\n' % tag)
    assert w.line(timeout=WAIT).startswith('+')
    a.append('Junk', msg('spam'))
    got = expect(w, lambda l: l.startswith('* STATUS'), 'STATUS in IDLE')
    assert got == ['* STATUS "Junk" (MESSAGES 1 UIDNEXT 2)'], got
    a.append('INBOX', msg('ham'))
    expect(w, lambda l: l == '* 1 EXISTS', 'EXISTS in IDLE')
    w.send('DONE\r\n')
    _, tagged = w.read_until(tag, timeout=WAIT)
    assert harness.status(tagged) == 'OK', tagged
    w.close()
    a.close()


def test_buzon_deliver_from_another_process_is_reported():
    user = new_account()
    w = server().raw(user)
    w.ok('SELECT Sent')
    w.ok('NOTIFY SET (inboxes (MessageNew MessageExpunge))')
    p = server().cli('deliver', user, input='Subject: cli\n\nx\n')
    assert p.returncode == 0, p.stderr
    got = expect(w, lambda l: l.startswith('* STATUS'), 'STATUS INBOX')
    assert got == ['* STATUS "INBOX" (MESSAGES 1 UIDNEXT 2)'], got
    w.close()


def test_bad_and_unsupported_requests():
    r = server().raw(new_account())
    cases = [
        # section 3.1: unsupported events are NO [BADEVENT (what we offer)]
        ('NOTIFY SET (personal (AnnotationChange))', 'NO',
         '[BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)]'),
        ('NOTIFY SET (personal (MailboxMetadataChange))', 'NO', '[BADEVENT'),
        ('NOTIFY SET (personal (ServerMetadataChange))', 'NO', '[BADEVENT'),
        ('NOTIFY SET (personal (Frobnicate))', 'NO', '[BADEVENT'),
        # section 5: MessageNew and MessageExpunge together, FlagChange needs both
        ('NOTIFY SET (personal (MessageNew))', 'BAD', ''),
        ('NOTIFY SET (personal (MessageExpunge))', 'BAD', ''),
        ('NOTIFY SET (personal (FlagChange))', 'BAD', ''),
        # section 6.1: message events only, once, for SELECTED
        ('NOTIFY SET (selected (MailboxName))', 'BAD', ''),
        ('NOTIFY SET (selected (MessageNew MessageExpunge)) '
         '(selected-delayed (MessageNew MessageExpunge))', 'BAD', ''),
        # section 8: fetch attributes only with SELECTED
        ('NOTIFY SET (personal (MessageNew (UID) MessageExpunge))', 'BAD', ''),
        ('NOTIFY SET (selected (MessageNew (NOSUCHATT) MessageExpunge))', 'BAD', ''),
        # message text is pushed whole: only with a small <partial> (section 3.1
        # allows NO [NOTIFICATIONOVERFLOW] for what is prohibitively expensive)
        ('NOTIFY SET (selected (MessageNew (UID BODY.PEEK[]) MessageExpunge))', 'NO',
         '[NOTIFICATIONOVERFLOW]'),
        ('NOTIFY SET (selected (MessageNew (RFC822) MessageExpunge))', 'NO',
         '[NOTIFICATIONOVERFLOW]'),
        ('NOTIFY SET (selected (MessageNew (BODY.PEEK[TEXT]<0.65537>) MessageExpunge))', 'NO',
         '[NOTIFICATIONOVERFLOW]'),
        ('NOTIFY SET (selected (MessageNew (BINARY.PEEK[1]) MessageExpunge))', 'NO',
         '[NOTIFICATIONOVERFLOW]'),
        ('NOTIFY SET', 'BAD', ''),
        ('NOTIFY SET ()', 'BAD', ''),
        ('NOTIFY SET (everywhere (MailboxName))', 'BAD', ''),
        ('NOTIFY SET (subtree (MailboxName))', 'BAD', ''),
        ('NOTIFY SET STATUS', 'BAD', ''),
        ('NOTIFY SET (personal (MailboxName)', 'BAD', ''),
        ('NOTIFY SET (personal (MailboxName)) trailing', 'BAD', ''),
        ('NOTIFY MAYBE', 'BAD', ''),
        ('NOTIFY', 'BAD', ''),
    ]
    for command, want, code in cases:
        _, tagged = r.cmd(command)
        assert harness.status(tagged) == want, (command, tagged)
        assert code in tagged, (command, tagged)
    # still a working session, and a good NOTIFY still works
    r.ok('NOTIFY SET (personal NONE)')
    r.ok('NOTIFY SET (mailboxes "No such mailbox" (MessageNew MessageExpunge))')
    r.ok('NOTIFY SET (selected (MessageNew (BODY.PEEK[]<0.65536> BODY.PEEK[HEADER] '
         'BODY.PEEK[1.MIME] BODYSTRUCTURE) MessageExpunge))')
    r.ok('NOTIFY NONE')
    r.close()


def test_reader_that_stops_reading_gets_notificationoverflow():
    COUNT = 96  # 6 MB of pushes: more than the kernel buffers (tcp_wmem's 4 MB)
    user = new_account()
    s = server()
    # A tiny receive window and no reading: what the server sends piles up
    # in its kernel buffer (up to tcp_wmem's 4 MB) and then in its own
    # queue, which must not grow without bound (section 5.8).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((s.host, s.ports['imap']))
    w = harness.Raw(sock, timeout=WAIT)
    w.login(user, 'pw')
    a = s.raw(user)
    w.ok('SELECT INBOX')
    w.ok('NOTIFY SET (selected (MessageNew (BODY.PEEK[]<0.65536>) MessageExpunge))')
    big = (b'Content-Type: application/octet-stream\r\n\r\n' +
           (b'0123456789abcdef' * 64 + b'\r\n') * 64)  # 66 KB, 64 KB pushed each
    for n in range(COUNT):
        a.append('INBOX', big)
    a.ok('NOOP')
    # now read, quickly
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    deadline = time.monotonic() + 120
    fetches = 0
    while True:
        line = w.line(timeout=max(1, deadline - time.monotonic()))
        if '[NOTIFICATIONOVERFLOW]' in line:
            break
        fetches += line.startswith('* ') and ' FETCH (BODY[]<0> ' in line
    assert line.startswith('* OK [NOTIFICATIONOVERFLOW]'), line[:200]
    # the output queue is checked before each message (not after a whole
    # batch), so the overflow comes before the last one is pushed
    assert 0 < fetches < COUNT, fetches
    # NOTIFY is now NONE: the rest is not pushed; the session still works
    while True:
        try:
            w.line(timeout=1.0)
        except socket.timeout:
            break
    a.append('INBOX', msg('after'))
    quiet(w)
    lines, _ = w.ok('NOOP')
    assert '* %d EXISTS' % (COUNT + 1) in lines, [l[:80] for l in lines]
    w.close()
    a.close()


def test_server_stops_cleanly():
    server()
    server.stop()


if __name__ == '__main__':
    harness.main()
