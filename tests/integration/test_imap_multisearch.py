"""MULTISEARCH (RFC 7377): the ESEARCH command over several mailboxes,
chosen with IN (selected / inboxes / personal / subscribed / mailboxes /
subtree / subtree-one); one ESEARCH per mailbox with a match, with the
TAG, MAILBOX and UIDVALIDITY correlators and UIDs; none for a mailbox
without a match; the selected mailbox stays selected; and the BADs."""
import imaplib
import re

import harness

USER = 'alice@example.test'
PASSWORD = 'multi-pw'
OTHER = 'bob@example.test'

server = harness.ModuleServer(accounts={USER: PASSWORD, OTHER: 'bob-pw'})

LAYOUT = {
    # mailbox: subjects (UIDs 1, 2, ...)
    'INBOX': ['invoice 1', 'hello', 'invoice 2'],
    'Work': ['invoice 3'],
    'Work/2024': ['hello', 'invoice 4'],
    'Work/2024/Q1': ['invoice 5'],
    'Play': ['nothing here'],
}


def setup(r):
    for mailbox, subjects in LAYOUT.items():
        if mailbox != 'INBOX':
            r.ok('CREATE %s' % harness.quote(mailbox))
        for subject in subjects:
            r.append(mailbox, b'Subject: %s\r\n\r\nbody\r\n' % subject.encode())
    r.ok('SUBSCRIBE Work')


def answers(untagged):
    """{mailbox: (uidvalidity, rest of the line)} of ESEARCH responses."""
    out = {}
    for line in untagged:
        m = re.match(r'^\* ESEARCH \(TAG "(\S+)" MAILBOX ("[^"]*"|\S+) UIDVALIDITY (\d+)\) UID(.*)$',
                     line)
        assert m, line
        name = m.group(2).strip('"')
        assert name not in out, untagged
        out[name] = (int(m.group(3)), m.group(4).strip())
    return out


def uidvalidity(r, mailbox):
    untagged, _ = r.ok('STATUS %s (UIDVALIDITY)' % harness.quote(mailbox))
    return int(re.search(r'UIDVALIDITY (\d+)', untagged[0]).group(1))


def test_capability_and_every_source_option():
    r = server().raw(USER, PASSWORD)
    assert 'MULTISEARCH' in r.ok('CAPABILITY')[0][0].split()
    setup(r)
    untagged, _ = r.ok('ESEARCH IN (personal) SUBJECT invoice')
    got = answers(untagged)
    assert got == {
        'INBOX': (uidvalidity(r, 'INBOX'), 'ALL 1,3'),
        'Work': (uidvalidity(r, 'Work'), 'ALL 1'),
        'Work/2024': (uidvalidity(r, 'Work/2024'), 'ALL 2'),
        'Work/2024/Q1': (uidvalidity(r, 'Work/2024/Q1'), 'ALL 1'),
    }, got   # Play has no match: no response for it
    untagged, _ = r.ok('ESEARCH IN (inboxes) SUBJECT invoice')
    assert set(answers(untagged)) == {'INBOX'}, untagged
    lsub, _ = r.ok('LSUB "" *')
    subscribed = {re.search(r'"/" "?([^"]*)"?$', l).group(1) for l in lsub}
    untagged, _ = r.ok('ESEARCH IN (subscribed) SUBJECT invoice')
    assert set(answers(untagged)) == subscribed & {'INBOX', 'Work'}, (lsub, untagged)
    assert 'Work' in subscribed and 'Work/2024' not in subscribed, lsub
    untagged, _ = r.ok('ESEARCH IN (subtree Work) SUBJECT invoice')
    assert set(answers(untagged)) == {'Work', 'Work/2024', 'Work/2024/Q1'}, untagged
    untagged, _ = r.ok('ESEARCH IN (subtree-one Work) SUBJECT invoice')
    assert set(answers(untagged)) == {'Work', 'Work/2024'}, untagged
    untagged, _ = r.ok('ESEARCH IN (mailboxes (Work Play) inboxes) SUBJECT invoice')
    assert set(answers(untagged)) == {'Work', 'INBOX'}, untagged
    untagged, _ = r.ok('ESEARCH IN (mailboxes NoSuch) ALL')
    assert untagged == [], untagged
    # nothing anywhere: only the tagged OK
    untagged, _ = r.ok('ESEARCH IN (personal) SUBJECT "no such subject"')
    assert untagged == [], untagged
    r.close()


def test_result_options_apply_per_mailbox():
    r = server().raw(USER, PASSWORD)
    untagged, _ = r.ok('ESEARCH IN (subtree Work) RETURN (MIN MAX COUNT) SUBJECT invoice')
    got = answers(untagged)
    assert got['Work/2024'][1] == 'MIN 2 MAX 2 COUNT 1', got
    untagged, _ = r.ok('ESEARCH IN (mailboxes INBOX) RETURN (PARTIAL -1:-1) SUBJECT invoice')
    assert answers(untagged)['INBOX'][1] == 'PARTIAL (-1:-1 3)', untagged
    # sequence numbers in the criteria are each mailbox's own
    untagged, _ = r.ok('ESEARCH IN (mailboxes (INBOX Work/2024)) 2')
    got = answers(untagged)
    assert got['INBOX'][1] == 'ALL 2' and got['Work/2024'][1] == 'ALL 2', got
    r.close()


def test_selected_default_and_the_selected_mailbox_stays():
    r = server().raw(USER, PASSWORD)
    # no source: "selected", which needs a selected mailbox
    _, tagged = r.cmd('ESEARCH SUBJECT invoice')
    assert harness.status(tagged) == 'BAD', tagged
    _, tagged = r.cmd('ESEARCH IN (selected) SUBJECT invoice')
    assert harness.status(tagged) == 'BAD', tagged
    r.ok('SELECT Work/2024')
    untagged, _ = r.ok('ESEARCH SUBJECT invoice')
    assert answers(untagged) == {'Work/2024': (uidvalidity(r, 'Work/2024'), 'ALL 2')}, untagged
    untagged, _ = r.ok('ESEARCH IN (selected inboxes) SUBJECT hello')
    assert set(answers(untagged)) == {'Work/2024', 'INBOX'}, untagged
    # still Work/2024: a plain SEARCH answers from it
    untagged, _ = r.ok('UID SEARCH SUBJECT invoice')
    assert untagged == ['* SEARCH 2'], untagged
    # SAVE only with the selected mailbox alone (RFC 7377 §2.2)
    _, tagged = r.cmd('ESEARCH IN (personal) RETURN (SAVE) ALL')
    assert harness.status(tagged) == 'BAD', tagged
    untagged, _ = r.ok('ESEARCH IN (selected) RETURN (SAVE) SUBJECT hello')
    assert untagged == [], untagged
    untagged, _ = r.ok('UID SEARCH UID $')
    assert untagged == ['* SEARCH 1'], untagged
    r.close()


def test_other_users_mailboxes_are_never_searched():
    s = server()
    b = s.raw(OTHER, 'bob-pw')
    b.append('INBOX', b'Subject: invoice of bob\r\n\r\nx\r\n')
    b.close()
    r = s.raw(USER, PASSWORD)
    untagged, _ = r.ok('ESEARCH IN (personal) SUBJECT bob')
    assert untagged == [], untagged
    r.close()


def test_bad_source_options():
    r = server().raw(USER, PASSWORD)
    for bad in ['ESEARCH IN () ALL', 'ESEARCH IN (selected-delayed) ALL',
                'ESEARCH IN (personal (DEPTH 1)) ALL', 'ESEARCH IN (mailboxes) ALL',
                'ESEARCH IN (mailboxes ()) ALL', 'ESEARCH IN (elsewhere) ALL',
                'ESEARCH IN personal ALL', 'ESEARCH IN (personal)', 'ESEARCH IN (personal) FOO']:
        _, tagged = r.cmd(bad)
        assert harness.status(tagged) == 'BAD', (bad, tagged)
    r.ok('NOOP')
    r.close()


def test_imaplib_raw_esearch():
    s = server()
    # imaplib sends commands it has no method for once they are in its table
    imaplib.Commands.setdefault('ESEARCH', ('AUTH', 'SELECTED'))
    c = imaplib.IMAP4('127.0.0.1', s.ports['imap'])
    c.login(USER, PASSWORD)
    typ, data = c._simple_command('ESEARCH', 'IN', '(subtree', 'Work)', 'SUBJECT', 'invoice')
    assert typ == 'OK', (typ, data)
    got = c.untagged_responses.get('ESEARCH', [])
    assert len(got) == 3 and all(b'UIDVALIDITY' in g for g in got), got
    c.logout()


def test_server_stops_cleanly():
    server()
    server.stop()


if __name__ == '__main__':
    harness.main()
