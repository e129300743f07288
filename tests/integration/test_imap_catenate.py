"""CATENATE (RFC 4469) and REPLACE (RFC 8508), spoken by hand over a real
connection: APPEND from TEXT literals and IMAP URLs (RFC 5092) of the
user's own messages, BADURL and TOOBIG, MULTIAPPEND and literal8 with
CATENATE; REPLACE / UID REPLACE as one action with APPENDUID before the
EXPUNGE (or VANISHED), a replace into another mailbox, and the errors."""
import imaplib
import re

import harness

USER = 'alice@example.test'
PASSWORD = 'cat-pw'
OTHER = 'bob@example.test'

server = harness.ModuleServer(accounts={USER: PASSWORD, OTHER: 'bob-pw'},
                              config={'max_message_size': '64K'})

BOUNDARY = 'b1'
ORIGINAL = (b'From: Bob <bob@example.test>\r\n'
            b'To: Alice <alice@example.test>\r\n'
            b'Subject: holiday\r\n'
            b'MIME-Version: 1.0\r\n'
            b'Content-Type: multipart/mixed; boundary="b1"\r\n'
            b'\r\n'
            b'--b1\r\n'
            b'Content-Type: text/plain\r\n'
            b'\r\n'
            b'See the photo.\r\n'
            b'--b1\r\n'
            b'Content-Type: image/png\r\n'
            b'Content-Transfer-Encoding: base64\r\n'
            b'\r\n'
            b'iVBORw0KGgo=\r\n'
            b'--b1--\r\n')
PART2_MIME = b'Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n'
PART2_BODY = b'iVBORw0KGgo='


def lit(data):
    """A LITERAL+ literal of data (bytes)."""
    return b'{%d+}\r\n' % len(data) + data


def fetch_body(r, uid):
    untagged, _ = r.ok('UID FETCH %d (BODY.PEEK[])' % uid)
    line = [l for l in untagged if 'FETCH' in l][0]
    m = re.search(r'BODY\[\] \{(\d+)\}\r\n', line)
    assert m, line
    start = m.end()
    return line[start:start + int(m.group(1))].encode('latin-1')


def setup_original(r, mailbox):
    r.ok('CREATE %s' % mailbox)
    _, tagged = r.append(mailbox, ORIGINAL, flags='\\Draft')
    return harness.appenduid(tagged)


def test_capabilities_list_catenate_and_replace():
    r = server().raw(USER, PASSWORD)
    caps = r.ok('CAPABILITY')[0][0].split()
    assert 'CATENATE' in caps and 'REPLACE' in caps, caps
    r.close()


def test_catenate_text_and_urls_of_every_form():
    r = server().raw(USER, PASSWORD)
    uidvalidity, uid = setup_original(r, 'Drafts2')
    header = b'From: Alice <alice@example.test>\r\nSubject: Fwd\r\n\r\n'
    # absolute path with UIDVALIDITY and a section, then a relative URL of
    # a mailbox, then text, then a partial
    cmd = (b'APPEND Drafts2 (\\Seen) CATENATE (TEXT ' + lit(header) +
           b' URL "/Drafts2;UIDVALIDITY=%d/;UID=%d/;SECTION=1"' % (uidvalidity, uid) +
           b' TEXT ' + lit(b'\r\n--\r\n') +
           b' URL "Drafts2/;UID=%d/;SECTION=2.MIME"' % uid +
           b' URL "/Drafts2/;UID=%d/;SECTION=2/;PARTIAL=0.4")' % uid)
    _, tagged = r.cmd(cmd)
    assert harness.status(tagged) == 'OK', tagged
    _, new_uid = harness.appenduid(tagged)
    r.ok('SELECT Drafts2')
    body = fetch_body(r, new_uid)
    assert body == header + b'See the photo.' + b'\r\n--\r\n' + PART2_MIME + PART2_BODY[:4], body
    # the stored result is parsed like any APPEND (rule 2): its envelope
    untagged, _ = r.ok('UID FETCH %d (ENVELOPE FLAGS)' % new_uid)
    assert '"Fwd"' in untagged[0] and '\\Seen' in untagged[0], untagged
    # the source was read without setting \Seen (RFC 4469 §3)
    untagged, _ = r.ok('UID FETCH %d (FLAGS)' % uid)
    assert '\\Seen' not in untagged[0], untagged
    # relative to the selected mailbox: ";UID=n", HEADER.FIELDS with %20
    cmd = (b'APPEND INBOX CATENATE (URL ";UID=%d/;SECTION=HEADER.FIELDS%%20(Subject)"'
           b' TEXT ' % uid + lit(b'whole:\r\n') + b' URL ";UID=%d")' % uid)
    _, tagged = r.cmd(cmd)
    assert harness.status(tagged) == 'OK', tagged
    _, inbox_uid = harness.appenduid(tagged)
    r.ok('SELECT INBOX')
    assert fetch_body(r, inbox_uid) == b'Subject: holiday\r\n\r\nwhole:\r\n' + ORIGINAL
    # an absolute imap:// URL of this user on this server
    r.ok('SELECT Drafts2')
    url = 'imap://%s@%s/Drafts2/;UID=%d/;SECTION=1' % (USER.replace('@', '%40'),
                                                       'localhost', uid)
    _, tagged = r.cmd('APPEND Drafts2 CATENATE (URL "%s")' % url)
    assert harness.status(tagged) == 'OK', tagged
    assert fetch_body(r, harness.appenduid(tagged)[1]) == b'See the photo.'
    r.close()


def test_badurl_names_the_first_bad_url_and_stores_nothing():
    r = server().raw(USER, PASSWORD)
    uidvalidity, uid = setup_original(r, 'Bad')
    r.ok('SELECT Bad')
    bad = [
        '/Bad/;UID=%d' % (uid + 50),                         # no such UID
        '/Bad;UIDVALIDITY=%d/;UID=%d' % (uidvalidity + 1, uid),  # stale UIDVALIDITY
        '/Nowhere/;UID=%d' % uid,                            # no such mailbox
        '/Bad/;UID=%d/;SECTION=7' % uid,                     # no such part
        '/Bad/;UID=%d/;SECTION=1.HEADER' % uid,              # a text part has no header
        'http://example.test/x',                             # another scheme
        'imap://%s@%s/Bad/;UID=%d' % ('bob%40example.test', 'localhost', uid),  # someone else
        '/Bad?SUBJECT%20x',                                  # a message list
        '/Bad/;UID=0',
        '/Bad/;UID=1/;SECTION=1/junk',
    ]
    for url in bad:
        _, tagged = r.cmd('APPEND Bad CATENATE (TEXT {2+}\r\nx: URL %s URL "/Bad/;UID=%d")'
                          % (harness.quote(url), uid))
        assert harness.status(tagged) == 'NO', (url, tagged)
        m = re.search(r'\[BADURL ([^\]]*)\]', tagged)
        assert m and m.group(1) == url, (url, tagged)
    untagged, _ = r.ok('STATUS Bad (MESSAGES)')
    assert untagged == ['* STATUS "Bad" (MESSAGES 1)'], untagged
    # not selected: a URL without a mailbox has no base
    r.ok('UNSELECT')
    _, tagged = r.cmd('APPEND Bad CATENATE (URL ";UID=%d")' % uid)
    assert '[BADURL ;UID=%d]' % uid in tagged, tagged
    # a URL with "]" in it comes back escaped (RFC 4469 §5 url-resp-text)
    _, tagged = r.cmd('APPEND Bad CATENATE (URL "/Bad]x/;UID=1")')
    assert '[BADURL /Bad%5Dx/;UID=1]' in tagged, tagged
    r.close()


def test_another_users_mailbox_is_not_reachable():
    b = server().raw(OTHER, 'bob-pw')
    b.ok('CREATE Secret')
    b.append('Secret', b'Subject: secret\r\n\r\nbob only\r\n')
    b.close()
    r = server().raw(USER, PASSWORD)
    host = 'localhost'
    for url in ['/Secret/;UID=1',
                'imap://bob%%40example.test@%s/Secret/;UID=1' % host,
                '//bob%%40example.test@%s/Secret/;UID=1' % host]:
        _, tagged = r.cmd('APPEND INBOX CATENATE (URL %s)' % harness.quote(url))
        assert harness.status(tagged) == 'NO' and '[BADURL' in tagged, (url, tagged)
    r.close()


def test_toobig_when_the_result_exceeds_the_limit():
    r = server().raw(USER, PASSWORD)
    r.ok('CREATE Big')
    part = b'x' * 40000 + b'\r\n'
    _, tagged = r.append('Big', b'Subject: big\r\n\r\n' + part)
    _, uid = harness.appenduid(tagged)
    # two 40 KB pieces: each fits the 64 KB limit, the result does not
    _, tagged = r.cmd(b'APPEND Big CATENATE (URL "/Big/;UID=%d" URL "/Big/;UID=%d")'
                      % (uid, uid))
    assert harness.status(tagged) == 'NO' and '[TOOBIG]' in tagged, tagged
    _, tagged = r.cmd(b'APPEND Big CATENATE (URL "/Big/;UID=%d" TEXT ' % uid +
                      lit(part) + b')')
    assert harness.status(tagged) == 'NO' and '[TOOBIG]' in tagged, tagged
    untagged, _ = r.ok('STATUS Big (MESSAGES)')
    assert untagged == ['* STATUS "Big" (MESSAGES 1)'], untagged
    r.close()


def test_one_command_cannot_build_more_than_its_literals_could_carry():
    """A MULTIAPPEND of small CATENATE messages that each name a big
    message: together they may not pass max_message_size + 8 MB (what
    the literals of one APPEND may carry), or memory would grow with the
    number of URLs."""
    r = server().raw(USER, PASSWORD)
    r.ok('CREATE Budget')
    _, tagged = r.append('Budget', b'Subject: big\r\n\r\n' + b'y' * 60000 + b'\r\n')
    _, uid = harness.appenduid(tagged)
    one = b' CATENATE (URL "/Budget/;UID=%d")' % uid
    _, tagged = r.cmd(b'APPEND Budget' + one * 100)
    assert harness.status(tagged) == 'OK', tagged          # 6 MB: fits
    _, tagged = r.cmd(b'APPEND Budget' + one * 200)
    assert harness.status(tagged) == 'NO' and '[TOOBIG]' in tagged, tagged  # 12 MB
    untagged, _ = r.ok('STATUS Budget (MESSAGES)')
    assert untagged == ['* STATUS "Budget" (MESSAGES 101)'], untagged
    r.close()


def test_multiappend_with_catenate_is_all_or_nothing():
    r = server().raw(USER, PASSWORD)
    _, uid = setup_original(r, 'Multi')
    good = b'URL "/Multi/;UID=%d/;SECTION=1"' % uid
    cmd = (b'APPEND Multi (\\Flagged) CATENATE (TEXT ' + lit(b'Subject: one\r\n\r\n') +
           b' ' + good + b') ' + lit(b'Subject: two\r\n\r\nplain\r\n') +
           b' CATENATE (TEXT ' + lit(b'Subject: three\r\n\r\n') + b' ' + good + b')')
    _, tagged = r.cmd(cmd)
    assert harness.status(tagged) == 'OK', tagged
    m = re.search(r'\[APPENDUID \d+ (\d+):(\d+)\]', tagged)
    assert m and int(m.group(2)) - int(m.group(1)) == 2, tagged
    r.ok('SELECT Multi')
    assert fetch_body(r, int(m.group(1))) == b'Subject: one\r\n\r\nSee the photo.'
    assert fetch_body(r, int(m.group(2))) == b'Subject: three\r\n\r\nSee the photo.'
    # one bad URL in the third message: none of the three is stored
    cmd = (b'APPEND Multi ' + lit(b'Subject: a\r\n\r\n') + b' ' + lit(b'Subject: b\r\n\r\n') +
           b' CATENATE (URL "/Multi/;UID=999")')
    _, tagged = r.cmd(cmd)
    assert harness.status(tagged) == 'NO' and '[BADURL /Multi/;UID=999]' in tagged, tagged
    untagged, _ = r.ok('STATUS Multi (MESSAGES)')
    assert untagged == ['* STATUS "Multi" (MESSAGES 4)'], untagged
    r.close()


def test_catenate_text_may_be_a_literal8():
    r = server().raw(USER, PASSWORD)
    r.ok('CREATE Bin')
    data = b'Subject: bin\r\nContent-Transfer-Encoding: binary\r\n\r\na\x00b\r\n'
    _, tagged = r.cmd(b'APPEND Bin CATENATE (TEXT ~{%d+}\r\n' % len(data) + data + b')')
    assert harness.status(tagged) == 'OK', tagged
    r.ok('SELECT Bin')
    untagged, _ = r.ok('FETCH 1 (BINARY.PEEK[])')
    assert data.decode('latin-1') in untagged[0], untagged
    r.close()


def test_catenate_syntax_errors_are_bad():
    r = server().raw(USER, PASSWORD)
    for cmd in ['APPEND INBOX CATENATE ()', 'APPEND INBOX CATENATE (TEXT "x")',
                'APPEND INBOX CATENATE (FOO "x")', 'APPEND INBOX CATENATE URL "/INBOX/;UID=1"',
                'APPEND INBOX CATENATE (URL "/INBOX/;UID=1"']:
        _, tagged = r.cmd(cmd)
        assert harness.status(tagged) == 'BAD', (cmd, tagged)
    r.ok('NOOP')
    r.close()


def test_imaplib_catenate_and_uid_replace():
    """Python's imaplib has no helper for either: its _simple_command sends
    the raw arguments (and a literal, which it always puts last)."""
    s = server()
    c = imaplib.IMAP4('127.0.0.1', s.ports['imap'])
    c.login(USER, PASSWORD)
    c.create('Lib')
    typ, data = c.append('Lib', None, None, ORIGINAL)
    assert typ == 'OK', data
    uid = int(re.search(rb'APPENDUID \d+ (\d+)', data[0]).group(1))
    typ, data = c._simple_command('APPEND', 'Lib', 'CATENATE',
                                  '(URL "/Lib/;UID=%d/;SECTION=1")' % uid)
    assert typ == 'OK', (typ, data)
    c.select('Lib')
    typ, data = c.uid('FETCH', str(uid + 1), '(BODY.PEEK[])')
    assert typ == 'OK' and data[0][1] == b'See the photo.', data
    c.literal = b'Subject: replaced\r\n\r\nnew\r\n'
    typ, data = c._simple_command('UID', 'REPLACE', str(uid), 'Lib', '(\\Seen)')
    assert typ == 'OK', (typ, data)
    typ, data = c.uid('SEARCH', 'ALL')
    assert data == [b'%d %d' % (uid + 1, uid + 2)], data
    typ, data = c.uid('FETCH', str(uid + 2), '(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
    assert b'\\Seen' in data[0][0] and data[0][1] == b'Subject: replaced\r\n\r\n', data
    c.logout()


def test_replace_same_mailbox_sends_appenduid_then_expunge():
    r = server().raw(USER, PASSWORD)
    r.ok('CREATE Rep')
    for i in range(3):
        r.append('Rep', b'Subject: draft %d\r\n\r\nv1\r\n' % i, flags='\\Draft')
    r.ok('SELECT Rep')
    new = b'Subject: draft 1\r\n\r\nv2\r\n'
    untagged, tagged = r.cmd(b'REPLACE 2 Rep (\\Draft \\Seen) ' + lit(new))
    assert harness.status(tagged) == 'OK', (untagged, tagged)
    assert re.match(r'\* OK \[APPENDUID \d+ 4\]', untagged[0]), untagged
    assert '* 2 EXPUNGE' in untagged and '* 3 EXISTS' in untagged, untagged
    assert untagged.index('* 2 EXPUNGE') > 0
    untagged, _ = r.ok('UID SEARCH ALL')
    assert untagged == ['* SEARCH 1 3 4'], untagged
    assert fetch_body(r, 4) == new
    untagged, _ = r.ok('UID FETCH 4 (FLAGS)')
    assert '\\Seen' in untagged[0] and '\\Draft' in untagged[0], untagged
    # UID REPLACE with CATENATE, reusing the message being replaced (RFC 8508 §4.2)
    untagged, tagged = r.cmd(b'UID REPLACE 4 Rep CATENATE (TEXT ' + lit(b'To: x@example.test\r\n') +
                             b' URL "/Rep/;UID=4")')
    assert harness.status(tagged) == 'OK', (untagged, tagged)
    assert re.match(r'\* OK \[APPENDUID \d+ 5\]', untagged[0]), untagged
    assert fetch_body(r, 5) == b'To: x@example.test\r\n' + new
    untagged, _ = r.ok('UID SEARCH ALL')
    assert untagged == ['* SEARCH 1 3 5'], untagged
    r.close()


def test_replace_into_another_mailbox_and_other_sessions_see_it():
    s = server()
    r = s.raw(USER, PASSWORD)
    r.ok('CREATE RepSrc')
    r.ok('CREATE RepDst')
    r.append('RepSrc', b'Subject: to send\r\n\r\nbody\r\n', flags='\\Draft')
    watcher = s.raw(USER, PASSWORD)
    watcher.ok('SELECT RepSrc')
    r.ok('SELECT RepSrc')
    untagged, tagged = r.cmd(b'UID REPLACE 1 RepDst (\\Seen) ' +
                             lit(b'Subject: sent\r\n\r\nbody\r\n'))
    assert harness.status(tagged) == 'OK', tagged
    assert untagged[0].startswith('* OK [APPENDUID ') and '* 1 EXPUNGE' in untagged, untagged
    assert not any('EXISTS' in l for l in untagged), untagged
    untagged, _ = watcher.ok('NOOP')
    assert '* 1 EXPUNGE' in untagged, untagged
    untagged, _ = r.ok('STATUS RepDst (MESSAGES)')
    assert untagged == ['* STATUS "RepDst" (MESSAGES 1)'], untagged
    r.close()
    watcher.close()


def test_replace_under_qresync_sends_vanished():
    r = server().raw(USER, PASSWORD)
    r.ok('CREATE RepQ')
    r.append('RepQ', b'Subject: q\r\n\r\n1\r\n')
    r.ok('ENABLE QRESYNC')
    r.ok('SELECT RepQ')
    untagged, tagged = r.cmd(b'REPLACE 1 RepQ ' + lit(b'Subject: q\r\n\r\n2\r\n'))
    assert harness.status(tagged) == 'OK', tagged
    assert '* VANISHED 1' in untagged, untagged
    r.close()


def test_replace_errors_leave_everything_as_it_was():
    s = server()
    r = s.raw(USER, PASSWORD)
    r.ok('CREATE RepErr')
    r.append('RepErr', b'Subject: keep\r\n\r\nkeep\r\n')
    # not selected: REPLACE is a selected-state command (RFC 8508 §3.5)
    _, tagged = r.cmd(b'REPLACE 1 RepErr ' + lit(b'x: y\r\n\r\n'))
    assert harness.status(tagged) == 'BAD', tagged
    r.ok('SELECT RepErr')
    _, tagged = r.cmd(b'REPLACE 2 RepErr ' + lit(b'x: y\r\n\r\n'))
    assert harness.status(tagged) == 'BAD', tagged
    _, tagged = r.cmd(b'UID REPLACE 77 RepErr ' + lit(b'x: y\r\n\r\n'))
    assert harness.status(tagged) == 'NO', tagged
    _, tagged = r.cmd(b'REPLACE 1 NoSuchBox ' + lit(b'x: y\r\n\r\n'))
    assert harness.status(tagged) == 'NO' and '[TRYCREATE]' in tagged, tagged
    untagged, tagged = r.cmd(b'REPLACE 1 RepErr CATENATE (URL "/RepErr/;UID=9")')
    assert harness.status(tagged) == 'NO' and '[BADURL' in tagged, tagged
    assert not any('EXPUNGE' in l for l in untagged), untagged
    # someone else expunges it first: EXPUNGEISSUED, nothing appended
    other = s.raw(USER, PASSWORD)
    other.ok('SELECT RepErr')
    other.ok('STORE 1 +FLAGS.SILENT (\\Deleted)')
    other.ok('EXPUNGE')
    _, tagged = r.cmd(b'REPLACE 1 RepErr ' + lit(b'x: y\r\n\r\n'))
    assert harness.status(tagged) == 'NO' and '[EXPUNGEISSUED]' in tagged, tagged
    untagged, _ = other.ok('STATUS RepErr (MESSAGES)')
    assert untagged == ['* STATUS "RepErr" (MESSAGES 0)'], untagged
    # read-only
    r.ok('EXAMINE INBOX')
    r.append('INBOX', b'Subject: ro\r\n\r\n')
    r.ok('NOOP')
    _, tagged = r.cmd(b'REPLACE 1 INBOX ' + lit(b'x: y\r\n\r\n'))
    assert harness.status(tagged) == 'NO' and '[READ-ONLY]' in tagged, tagged
    r.close()
    other.close()


def test_server_stops_cleanly():
    server()
    server.stop()


if __name__ == '__main__':
    harness.main()
