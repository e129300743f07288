"""RFC 5530 response codes (and the codes of RFC 6154 and RFC 4469 that go
with them) as a client sees them: each failure below must carry its code
right after NO / BAD / BYE, where a client program looks for it.
Also CREATE-SPECIAL-USE (RFC 6154 §3): CREATE name (USE (\\Sent))."""
import base64
import os
import re
import sqlite3

import harness

USER = 'alice@example.test'
PASSWORD = 'codes-pw'
OTHER = 'bob@example.test'

server = harness.ModuleServer(accounts={USER: PASSWORD, OTHER: 'bob-pw'},
                              config={'max_message_size': '10K'})


def code_of(tagged):
    """The response code right after the status: 'NO [X y] text' -> 'X'."""
    m = re.match(r'^\S+ (?:OK|NO|BAD|BYE) \[([^\] ]+)', tagged)
    return m.group(1) if m else None


def expect(r, command, status, code):
    untagged, tagged = r.cmd(command)
    assert harness.status(tagged) == status and code_of(tagged) == code, \
        (command, untagged, tagged)
    return untagged, tagged


def test_mailbox_names_nonexistent_alreadyexists_cannot_trycreate():
    r = server().raw(USER, PASSWORD)
    expect(r, 'SELECT NoSuch', 'NO', 'NONEXISTENT')
    expect(r, 'EXAMINE NoSuch', 'NO', 'NONEXISTENT')
    expect(r, 'DELETE NoSuch', 'NO', 'NONEXISTENT')
    expect(r, 'STATUS NoSuch (MESSAGES)', 'NO', 'NONEXISTENT')
    expect(r, 'RENAME NoSuch Other', 'NO', 'NONEXISTENT')
    r.ok('CREATE Box')
    expect(r, 'CREATE Box', 'NO', 'ALREADYEXISTS')
    expect(r, 'CREATE inbox', 'NO', 'ALREADYEXISTS')
    r.ok('CREATE Box2')
    expect(r, 'RENAME Box2 Box', 'NO', 'ALREADYEXISTS')
    expect(r, 'DELETE INBOX', 'NO', 'CANNOT')
    expect(r, 'RENAME Box Box/inner', 'NO', 'CANNOT')
    # APPEND / COPY to a missing mailbox: TRYCREATE (RFC 9051 §6.3.12)
    _, tagged = r.append('NoSuch', b'Subject: x\r\n\r\n', check=False)
    assert code_of(tagged) == 'TRYCREATE', tagged
    r.append('Box', b'Subject: x\r\n\r\n')
    r.ok('SELECT Box')
    expect(r, 'COPY 1 NoSuch', 'NO', 'TRYCREATE')
    expect(r, 'MOVE 1 NoSuch', 'NO', 'TRYCREATE')
    r.close()


def test_create_special_use_and_useattr():
    r = server().raw(USER, PASSWORD)
    caps = r.ok('CAPABILITY')[0][0].split()
    assert 'CREATE-SPECIAL-USE' in caps and 'SPECIAL-USE' in caps, caps
    r.ok('CREATE Outbox2 (USE (\\Sent))')
    r.ok('CREATE "Old Mail" (USE (\\Archive \\Junk))')
    untagged, _ = r.ok('LIST "" Outbox2')
    assert '\\Sent' in untagged[0], untagged
    untagged, _ = r.ok('LIST "" "Old Mail"')
    assert '\\Archive' in untagged[0] and '\\Junk' in untagged[0], untagged
    r.ok('CREATE Plain (USE ())')
    untagged, _ = r.ok('LIST "" Plain')
    assert not re.search(r'\\(Sent|Archive|Junk|Drafts|Trash|All|Flagged)', untagged[0]), untagged
    # RFC 6154 §3: a use we cannot give is NO [USEATTR], and nothing is created
    for use in ['\\All', '\\Flagged', '\\Sent \\Important', '\\X-Unknown']:
        expect(r, 'CREATE Virtual (USE (%s))' % use, 'NO', 'USEATTR')
        untagged, _ = r.ok('LIST "" Virtual')
        assert untagged == [], (use, untagged)
    for bad in ['CREATE V (FOO)', 'CREATE V (USE)', 'CREATE V (USE (Sent))',
                'CREATE V (USE (\\Sent)', 'CREATE V USE (\\Sent)']:
        _, tagged = r.cmd(bad)
        assert harness.status(tagged) == 'BAD', (bad, tagged)
    r.close()


def test_limits_are_limit():
    r = server().raw(USER, PASSWORD)
    expect(r, 'CREATE %s' % ('x' * 1100), 'BAD', 'LIMIT')
    r.append('INBOX', b'Subject: limit\r\n\r\nbody\r\n')
    r.ok('SELECT INBOX')
    expect(r, 'FETCH 1 (%s)' % ' '.join(['UID'] * 300), 'BAD', 'LIMIT')
    expect(r, 'SEARCH %s' % ('(' * 200 + 'ALL' + ')' * 200), 'BAD', 'LIMIT')
    expect(r, 'FETCH 1 BODY[%s]' % '.'.join(['1'] * 70), 'BAD', 'LIMIT')
    r.ok('NOOP')
    r.close()


def test_toobig_on_append_and_on_a_refused_literal_plus():
    s = server()
    r = s.raw(USER, PASSWORD)
    big = b'Subject: big\r\n\r\n' + b'x' * 20000 + b'\r\n'
    # a synchronizing literal over the limit: refused before a byte is sent
    tag = r.next_tag()
    r.send('%s APPEND INBOX {%d}\r\n' % (tag, len(big)))
    _, tagged = r.read_until(tag)
    assert harness.status(tagged) == 'NO' and code_of(tagged) == 'TOOBIG', tagged
    r.ok('NOOP')
    # a LITERAL+ over the limit is on its way: BYE [TOOBIG] (RFC 7888 §5)
    r.send(b'%s APPEND INBOX {%d+}\r\n' % (r.next_tag().encode(), len(big)) + big + b'\r\n')
    line = r.line()
    assert line.startswith('* BYE') and code_of(line) == 'TOOBIG', line
    assert r.at_eof()
    r.close()


def test_expungeissued_and_read_only():
    s = server()
    r = s.raw(USER, PASSWORD)
    r.ok('CREATE Gone')
    r.append('Gone', b'Subject: 1\r\n\r\n')
    r.append('Gone', b'Subject: 2\r\n\r\n')
    r.ok('SELECT Gone')
    other = s.raw(USER, PASSWORD)
    other.ok('SELECT Gone')
    other.ok('STORE 1:* +FLAGS.SILENT (\\Deleted)')
    other.ok('EXPUNGE')
    other.close()
    # FETCH may not send EXPUNGE: the messages are answered as gone
    untagged, tagged = r.cmd('FETCH 1:2 (FLAGS)')
    assert code_of(tagged) == 'EXPUNGEISSUED', (untagged, tagged)
    expect(r, 'STORE 1:2 +FLAGS (\\Seen)', 'NO', 'EXPUNGEISSUED')
    expect(r, 'COPY 1:2 INBOX', 'NO', 'EXPUNGEISSUED')
    r.ok('NOOP')
    r.append('Gone', b'Subject: 3\r\n\r\n')
    r.ok('EXAMINE Gone')
    expect(r, 'STORE 1 +FLAGS (\\Seen)', 'NO', 'READ-ONLY')
    expect(r, 'MOVE 1 INBOX', 'NO', 'READ-ONLY')
    r.close()


def test_authentication_and_authorization_failed():
    s = server()
    r = s.raw()
    expect(r, 'LOGIN %s %s' % (harness.quote(USER), harness.quote('wrong')), 'NO',
           'AUTHENTICATIONFAILED')
    plain = base64.b64encode(b'%s\x00%s\x00%s' % (OTHER.encode(), USER.encode(),
                                                   PASSWORD.encode())).decode()
    expect(r, 'AUTHENTICATE PLAIN %s' % plain, 'NO', 'AUTHORIZATIONFAILED')
    r.close()


def test_corruption_when_the_stored_bytes_are_damaged():
    harness.sqlite_only("damages the bytes in buzon.db with sqlite3")
    s = server()
    r = s.raw(USER, PASSWORD)
    r.ok('CREATE Damaged')
    r.append('Damaged', b'Subject: damaged\r\n\r\n' + b'line of text\r\n' * 20)
    r.close()
    s.stop_keeping_data()
    db = sqlite3.connect(os.path.join(s.data_dir, 'buzon.db'))
    with db:
        db.execute("UPDATE blob_data SET data = substr(data, 1, 30) WHERE blob_id = "
                   "(SELECT m.blob_id FROM message m JOIN mailbox b ON b.id = m.mailbox_id "
                   "WHERE b.name = 'Damaged')")
    db.close()
    s.start()
    r = s.raw(USER, PASSWORD)
    r.ok('SELECT Damaged')
    _, tagged = r.cmd('FETCH 1 BODY.PEEK[TEXT]')
    assert harness.status(tagged) == 'NO' and code_of(tagged) == 'CORRUPTION', tagged
    r.ok('NOOP')
    r.close()


def test_clientbug_closes_a_client_that_only_sends_garbage():
    r = server().raw()
    line = None
    for _ in range(100):
        r.send('x GARBAGE\r\n')
        line = r.line()
        if line.startswith('* BYE'):
            break
    assert line.startswith('* BYE') and code_of(line) == 'CLIENTBUG', line
    r.close()


def test_server_stops_cleanly():
    server()
    server.stop()


if __name__ == '__main__':
    harness.main()
