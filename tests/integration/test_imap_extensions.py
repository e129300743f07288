"""Smaller IMAP extensions a modern client looks for: ID (RFC 2971),
APPENDLIMIT (RFC 7889), STATUS=SIZE (RFC 8438), PREVIEW (RFC 8970),
OBJECTID (RFC 8474), SAVEDATE (RFC 8514), UNAUTHENTICATE (RFC 8437)."""
import re
import time

import harness

USER = 'alice@example.test'
PASSWORD = 'ext-pw'

server = harness.ModuleServer(accounts={USER: PASSWORD}, config={'max_message_size': '2M'})

MESSAGE = (b'From: Carol <carol@example.test>\r\nSubject: lunch\r\n\r\n'
           b'Shall we meet   at noon\r\nby the fountain?\r\n')


def today():
    return time.strftime('%d-%b-%Y', time.gmtime())


def test_id_answers_in_any_state():
    r = server().raw()
    untagged, _ = r.ok('ID ("name" "test-client" "version" "1.0")')
    assert untagged == ['* ID ("name" "buzon" "vendor" "buzon")'], untagged
    untagged, _ = r.ok('ID NIL')
    assert len(untagged) == 1
    _, tagged = r.cmd('ID ("name")')
    assert harness.status(tagged) == 'BAD', tagged
    r.close()


def test_appendlimit_and_status_size():
    r = server().raw(USER, PASSWORD)
    caps = r.ok('CAPABILITY')[0][0].split()
    assert 'APPENDLIMIT=2097152' in caps and 'STATUS=SIZE' in caps, caps
    r.ok('CREATE sized')
    r.append('sized', MESSAGE)
    untagged, _ = r.ok('STATUS sized (SIZE MESSAGES)')
    assert untagged == ['* STATUS "sized" (SIZE %d MESSAGES 1)' % len(MESSAGE)], untagged
    r.close()


def test_preview_emailid_threadid_savedate():
    r = server().raw(USER, PASSWORD)
    r.ok('CREATE prev')
    r.append('prev', MESSAGE)
    r.ok('SELECT prev')
    untagged, _ = r.ok('FETCH 1 (PREVIEW EMAILID THREADID SAVEDATE)')
    line = untagged[0]
    assert 'PREVIEW "Shall we meet at noon by the fountain?"' in line, line
    emailid = re.search(r'EMAILID \(([A-Za-z0-9_-]+)\)', line).group(1)
    assert 'THREADID NIL' in line, line
    assert re.search(r'SAVEDATE "%s \d\d:\d\d:\d\d \+0000"' % today().lstrip('0'), line) or \
        re.search(r'SAVEDATE "[ 0-9]{2}-\w{3}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}"', line), line
    untagged, _ = r.ok('FETCH 1 (PREVIEW (LAZY))')
    assert 'PREVIEW "Shall we' in untagged[0], untagged
    # RFC 8474 §5.1: a copy is the same email
    r.ok('COPY 1 Archive')
    r.ok('SELECT Archive')
    untagged, _ = r.ok('FETCH 1:* (EMAILID)')
    assert any('EMAILID (%s)' % emailid in l for l in untagged), untagged
    # SAVEDATE search keys
    r.ok('SELECT prev')
    untagged, _ = r.ok('SEARCH SAVEDSINCE %s' % today())
    assert untagged == ['* SEARCH 1'], untagged
    untagged, _ = r.ok('SEARCH SAVEDBEFORE 1-Jan-2000')
    assert untagged == ['* SEARCH'], untagged
    untagged, _ = r.ok('SEARCH SAVEDATESUPPORTED')
    assert untagged == ['* SEARCH 1'], untagged
    r.close()


def test_mailboxid_on_create_select_status_and_rename():
    r = server().raw(USER, PASSWORD)
    _, tagged = r.ok('CREATE Projects')
    m = re.search(r'\[MAILBOXID \((F[0-9a-f]+)\)\]', tagged)
    assert m, tagged
    mailboxid = m.group(1)
    untagged, _ = r.ok('SELECT Projects')
    assert '* OK [MAILBOXID (%s)] Mailbox id' % mailboxid in untagged, untagged
    r.ok('UNSELECT')
    r.ok('RENAME Projects Work')  # RFC 8474 §4: a rename keeps the id
    untagged, _ = r.ok('STATUS Work (MAILBOXID)')
    assert untagged == ['* STATUS "Work" (MAILBOXID (%s))' % mailboxid], untagged
    r.ok('DELETE Work')
    _, tagged = r.ok('CREATE Work')
    assert mailboxid not in tagged, tagged  # never reused
    r.close()


def test_unauthenticate_forgets_the_login():
    r = server().raw(USER, PASSWORD)
    r.ok('ENABLE CONDSTORE')
    r.ok('SELECT INBOX')
    r.ok('UNAUTHENTICATE')
    _, tagged = r.cmd('SELECT INBOX')
    assert harness.status(tagged) == 'BAD', tagged  # not authenticated any more
    caps = r.ok('CAPABILITY')[0][0].split()
    assert 'AUTH=PLAIN' in caps and 'UNAUTHENTICATE' not in caps, caps
    r.login(USER, PASSWORD)
    untagged, _ = r.ok('SELECT INBOX')
    assert not any('HIGHESTMODSEQ' in l for l in untagged), untagged  # ENABLE forgotten
    r.close()


def test_list_extended_selection_and_return_options():
    """RFC 5258 / 6154 / 5819 on a small tree: lists/a (subscribed),
    lists/b, lists/c/d (subscribed, parent c not), ghost (subscribed, gone)."""
    r = server().raw(USER, PASSWORD)
    for name in ('lists/a', 'lists/b', 'lists/c/d', 'ghost'):
        r.ok('CREATE %s' % name)
    for name in ('lists/a', 'lists/c/d', 'ghost'):
        r.ok('SUBSCRIBE %s' % name)
    r.ok('DELETE ghost')
    # several patterns, RETURN (SUBSCRIBED CHILDREN)
    untagged, _ = r.ok('LIST "" (lists/a lists/b) RETURN (SUBSCRIBED CHILDREN)')
    assert untagged == ['* LIST (\\HasNoChildren \\Subscribed) "/" "lists/a"',
                        '* LIST (\\HasNoChildren) "/" "lists/b"'], untagged
    # SUBSCRIBED selection: the gone one is \NonExistent
    untagged, _ = r.ok('LIST (SUBSCRIBED) "" "*"')
    assert '* LIST (\\NonExistent \\HasNoChildren \\Subscribed) "/" "ghost"' in untagged, untagged
    assert '* LIST (\\HasNoChildren \\Subscribed) "/" "lists/c/d"' in untagged, untagged
    assert not any('"lists/b"' in l for l in untagged), untagged
    # RECURSIVEMATCH: lists/c is not subscribed but has a subscribed child
    untagged, _ = r.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "lists/%"')
    assert untagged == ['* LIST (\\HasNoChildren \\Subscribed) "/" "lists/a"',
                        '* LIST (\\HasChildren) "/" "lists/c" ("CHILDINFO" ("SUBSCRIBED"))'], \
        untagged
    _, tagged = r.cmd('LIST (RECURSIVEMATCH) "" "*"')
    assert harness.status(tagged) == 'BAD', tagged
    # SPECIAL-USE selection
    untagged, _ = r.ok('LIST (SPECIAL-USE) "" "*"')
    assert sorted(l.split(' ')[-1] for l in untagged) == \
        ['"Archive"', '"Drafts"', '"Junk"', '"Sent"', '"Trash"'], untagged
    # LIST-STATUS: a STATUS after each selectable mailbox's LIST line, none
    # for a name that only exists as a parent (lists/c, once deleted)
    r.ok('DELETE lists/c')
    r.append('lists/a', MESSAGE)
    untagged, _ = r.ok('LIST "" "lists/*" RETURN (STATUS (MESSAGES UNSEEN))')
    assert untagged[0] == '* LIST (\\HasNoChildren) "/" "lists/a"', untagged
    assert untagged[1] == '* STATUS "lists/a" (MESSAGES 1 UNSEEN 1)', untagged
    assert '* LIST (\\NonExistent \\HasChildren) "/" "lists/c"' in untagged, untagged
    i = untagged.index('* LIST (\\NonExistent \\HasChildren) "/" "lists/c"')
    assert i + 1 == len(untagged) or not untagged[i + 1].startswith('* STATUS "lists/c"')
    _, tagged = r.cmd('LIST "" "*" RETURN (STATUS (BOGUS))')
    assert harness.status(tagged) == 'BAD', tagged
    caps = r.ok('CAPABILITY')[0][0].split()
    assert 'LIST-EXTENDED' in caps and 'LIST-STATUS' in caps, caps
    r.close()


def test_utf8_accept():
    """RFC 6855: after ENABLE UTF8=ACCEPT, mailbox names are UTF-8 on the
    wire (not modified UTF-7), APPEND takes UTF8 (~{n}), and malformed UTF-8
    in a quoted string is BAD."""
    r = server().raw(USER, PASSWORD)
    r.ok('CREATE "Entw&APw-rfe"')  # modified UTF-7 before ENABLE
    untagged, _ = r.ok('ENABLE UTF8=ACCEPT')
    assert untagged == ['* ENABLED UTF8=ACCEPT'], untagged
    untagged, _ = r.ok('LIST "" "Entw*"')
    wire = 'Entw\u00fcrfe'.encode('utf-8').decode('latin-1')  # Raw lines are latin-1
    assert untagged == ['* LIST (\\HasNoChildren) "/" "%s"' % wire], untagged
    r.ok('CREATE "Gr\u00fc\u00dfe"'.encode('utf-8'))
    data = 'Subject: Gr\u00fc\u00dfe\r\nFrom: j\u00f6rg@example.test\r\n\r\nhej\r\n'.encode()
    tag = r.next_tag()
    r.send(('%s APPEND "Entw\u00fcrfe" UTF8 (~{%d+}\r\n' % (tag, len(data))).encode() + data +
           b')\r\n')
    _, tagged = r.read_until(tag)
    assert harness.status(tagged) == 'OK', tagged
    _, tagged = r.cmd(b'CREATE "bad\xc3\x28"')
    assert harness.status(tagged) == 'BAD', tagged
    r.close()


def test_multiappend_is_all_or_nothing():
    """RFC 3502: several messages in one APPEND, one APPENDUID set; a bad
    message later in the command stores none of them."""
    r = server().raw(USER, PASSWORD)
    r.ok('CREATE multi')
    msgs = [MESSAGE, b'Subject: two\r\n\r\n2\r\n', b'Subject: three\r\n\r\n3\r\n']
    tag = r.next_tag()
    cmd = ('%s APPEND multi (\\Seen) {%d+}\r\n' % (tag, len(msgs[0]))).encode() + msgs[0]
    cmd += (' {%d+}\r\n' % len(msgs[1])).encode() + msgs[1]
    cmd += (' (\\Flagged) " 1-Jan-2024 10:00:00 +0000" {%d+}\r\n' % len(msgs[2])).encode()
    cmd += msgs[2] + b'\r\n'
    r.send(cmd)
    _, tagged = r.read_until(tag)
    m = re.search(r'\[APPENDUID \d+ (\d+):(\d+)\]', tagged)
    assert m and int(m.group(2)) - int(m.group(1)) == 2, tagged
    tag = r.next_tag()
    r.send(('%s APPEND multi {%d+}\r\n' % (tag, len(msgs[1]))).encode() + msgs[1] +
           b' (\\Bogus) {1+}\r\nx\r\n')
    _, tagged = r.read_until(tag)
    assert harness.status(tagged) == 'BAD', tagged
    untagged, _ = r.ok('STATUS multi (MESSAGES)')
    assert untagged == ['* STATUS "multi" (MESSAGES 3)'], untagged
    assert 'MULTIAPPEND' in r.ok('CAPABILITY')[0][0].split()
    r.close()


def test_within_older_younger():
    """RFC 5032: YOUNGER/OLDER in seconds against the internal date."""
    r = server().raw(USER, PASSWORD)
    r.ok('CREATE within')
    r.append('within', MESSAGE, date='01-Jan-2020 10:00:00 +0000')
    r.append('within', MESSAGE)  # now
    r.ok('SELECT within')
    assert r.ok('SEARCH YOUNGER 3600')[0] == ['* SEARCH 2']
    assert r.ok('SEARCH OLDER 3600')[0] == ['* SEARCH 1']
    assert r.ok('SEARCH OLDER 99999999999999999')[0] == ['* SEARCH']
    _, tagged = r.cmd('SEARCH YOUNGER 0')
    assert harness.status(tagged) == 'BAD', tagged
    assert 'WITHIN' in r.ok('CAPABILITY')[0][0].split()
    r.close()


def test_searchres_saves_and_reuses_results():
    """RFC 5182: SEARCH RETURN (SAVE) keeps the result; "$" names it in
    FETCH, STORE, COPY, UID commands and later SEARCHes; reselect clears it."""
    r = server().raw(USER, PASSWORD)
    r.ok('CREATE res')
    for n in range(5):
        r.append('res', ('Subject: s%d\r\n\r\nbody\r\n' % n).encode(),
                 flags='\\Flagged' if n % 2 == 0 else '')
    r.ok('SELECT res')
    untagged, _ = r.ok('SEARCH RETURN (SAVE) FLAGGED')
    assert untagged == [], untagged  # SAVE alone: no ESEARCH
    untagged, _ = r.ok('FETCH $ (FLAGS)')
    assert [l.split()[1] for l in untagged] == ['1', '3', '5'], untagged
    r.ok('STORE $ +FLAGS (\\Seen)')
    assert r.ok('SEARCH SEEN')[0] == ['* SEARCH 1 3 5']
    assert r.ok('SEARCH $ NOT 3')[0] == ['* SEARCH 1 5']
    untagged, tagged = r.ok('UID COPY $ Archive')
    assert '[COPYUID' in tagged, tagged
    untagged, _ = r.ok('SEARCH RETURN (SAVE MIN) SUBJECT s4')
    assert untagged[0].endswith('MIN 5'), untagged
    assert r.ok('UID SEARCH $')[0] != ['* SEARCH']
    r.ok('SELECT res')  # a new SELECT forgets the saved result
    assert r.ok('FETCH $ (FLAGS)')[0] == []
    assert 'SEARCHRES' in r.ok('CAPABILITY')[0][0].split()
    r.close()


BINARY_MESSAGE = (
    b'From: a@example.test\r\nSubject: bin\r\nMIME-Version: 1.0\r\n'
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    b'--b\r\nContent-Type: text/plain; charset=utf-8\r\n'
    b'Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe=\r\n world\r\n'
    b'--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n'
    b'\r\nAAECA/8=\r\n'
    b'--b\r\nContent-Type: application/x-odd\r\nContent-Transfer-Encoding: x-uuencode\r\n'
    b'\r\nbegin 644 x\r\n'
    b'--b--\r\n')


def test_binary_fetch_decodes_parts():
    """RFC 3516: BINARY undoes the transfer encoding, BINARY.SIZE matches it,
    a NUL needs a literal8, an unknown encoding is NO [UNKNOWN-CTE]."""
    r = server().raw(USER, PASSWORD)
    r.ok('CREATE bin')
    r.append('bin', BINARY_MESSAGE)
    r.ok('SELECT bin')
    untagged, _ = r.ok('FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])')
    text = 'Grüße world'.encode().decode('latin-1')  # the CRLF before --b is the boundary's
    assert untagged == ['* 1 FETCH (BINARY[1] {%d}\r\n%s BINARY.SIZE[1] %d)'
                        % (len(text), text, len(text))], untagged
    untagged, _ = r.ok('FETCH 1 (BINARY.PEEK[2])')
    assert untagged == ['* 1 FETCH (BINARY[2] ~{5}\r\n\x00\x01\x02\x03\xff)'], untagged
    untagged, _ = r.ok('FETCH 1 (BINARY.PEEK[2]<1.2>)')
    # no NUL in this slice: a plain literal carries it (CHAR8 is 1-255)
    assert untagged == ['* 1 FETCH (BINARY[2]<1> {2}\r\n\x01\x02)'], untagged
    untagged, _ = r.ok('FETCH 1 (BINARY.PEEK[] FLAGS)')
    assert '{%d}' % len(BINARY_MESSAGE) in untagged[0] and '\\Seen' not in untagged[0]
    _, tagged = r.cmd('FETCH 1 (BINARY.PEEK[3])')
    assert harness.status(tagged) == 'NO' and '[UNKNOWN-CTE]' in tagged, tagged
    untagged, _ = r.ok('FETCH 1 (BINARY[1])')  # not PEEK: sets \\Seen
    assert 'FLAGS (\\Seen)' in untagged[0], untagged
    assert 'BINARY' in r.ok('CAPABILITY')[0][0].split()
    r.close()


def test_imap4rev2_after_enable():
    """RFC 9051: ENABLE IMAP4rev2; SELECT then sends a LIST for the mailbox
    and no RECENT; SEARCH answers ESEARCH; names are UTF-8; a missing
    parent is \\NonExistent."""
    r = server().raw(USER, PASSWORD)
    assert 'IMAP4rev2' in r.ok('CAPABILITY')[0][0].split()
    r.ok('CREATE rev2/child')
    r.ok('DELETE rev2')
    r.ok('CREATE Sent/old')
    untagged, _ = r.ok('ENABLE IMAP4rev2')
    assert untagged == ['* ENABLED IMAP4rev2'], untagged
    r.append('Sent', MESSAGE)
    untagged, _ = r.ok('SELECT Sent')
    assert '* LIST (\\HasChildren \\Sent) "/" "Sent"' in untagged, untagged
    assert not any('RECENT' in l or 'UNSEEN' in l for l in untagged), untagged
    untagged, tagged = r.ok('SEARCH ALL')
    tag = tagged.split(' ', 1)[0]
    assert untagged == ['* ESEARCH (TAG "%s") ALL 1' % tag], untagged
    untagged, tagged = r.ok('UID SEARCH SUBJECT nothing-matches')
    tag = tagged.split(' ', 1)[0]
    assert untagged == ['* ESEARCH (TAG "%s") UID' % tag], untagged
    untagged, _ = r.ok('LIST "" "rev2*"')
    assert '* LIST (\\NonExistent \\HasChildren) "/" "rev2"' in untagged, untagged
    r.close()


def test_fetch_flags_is_current_after_another_session_changed_them():
    """FETCH (FLAGS) is answered from the session's view when nothing
    changed; after another session's STORE it must still show the new
    flags (in the FETCH or right after it, before the tagged OK)."""
    a = server().raw(USER, PASSWORD)
    b = server().raw(USER, PASSWORD)
    a.ok('CREATE viewflags')
    a.append('viewflags', MESSAGE)
    a.ok('SELECT viewflags')
    b.ok('SELECT viewflags')
    assert b.ok('FETCH 1 (FLAGS)')[0] == ['* 1 FETCH (FLAGS ())']
    a.ok('STORE 1 +FLAGS (\\Flagged)')
    untagged, _ = b.ok('FETCH 1 (UID FLAGS)')
    assert any('\\Flagged' in l for l in untagged), untagged
    assert b.ok('FETCH 1 (FLAGS)')[0] == ['* 1 FETCH (FLAGS (\\Flagged))']
    a.close()
    b.close()


def test_server_stops_cleanly():
    server.stop()


if __name__ == '__main__':
    harness.main()
