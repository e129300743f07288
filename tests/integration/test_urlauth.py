"""URLAUTH (RFC 4467: GENURLAUTH, URLFETCH, RESETKEY) and submission BURL
(RFC 4468), driven by hand over IMAP (the raw harness connection) and by
smtplib's raw commands on the submission port.

A Lemonade client forwards a stored message without downloading it: it asks
the IMAP server for a URLAUTH URL (GENURLAUTH), hands it to the submission
server (BURL), and that resolves it against the same store with the checks
of URLFETCH for "submit+<the submitting user>".
"""

import base64
import hashlib
import hmac
import os
import smtplib
import sqlite3

import harness

ALICE = 'alice@example.test'
BOB = 'bob@example.test'
CAROL = 'carol@example.test'
ACCOUNTS = {ALICE: 'alice-pw', BOB: 'bob-pw', CAROL: 'carol-pw'}
HOST = 'localhost'  # the harness' hostname

server = harness.ModuleServer(accounts=ACCOUNTS,
                              listeners=('imap', 'smtp', 'submission'))

MESSAGE = (b'From: Alice <alice@example.test>\r\n'
           b'To: Bob <bob@example.test>\r\n'
           b'Subject: forward me\r\n'
           b'MIME-Version: 1.0\r\n'
           b'Content-Type: multipart/mixed; boundary="b1"\r\n'
           b'\r\n'
           b'--b1\r\n'
           b'Content-Type: text/plain\r\n'
           b'\r\n'
           b'Si vis pacem, para bellum.\r\n'
           b'--b1\r\n'
           b'Content-Type: text/plain; name="two.txt"\r\n'
           b'\r\n'
           b'second part \xc3\xa9\r\n'
           b'--b1--\r\n')


def enc_user(address):
    return address.replace('@', '%40')


def append(r, mailbox='INBOX', data=MESSAGE):
    _, tagged = r.append(mailbox, data)
    return harness.appenduid(tagged)


def rump(user, uid, mailbox='INBOX', rest='', access=None, host=HOST, uidvalidity=None):
    mbox = mailbox.replace(' ', '%20').replace('@', '%40')
    if uidvalidity is not None:
        mbox += ';UIDVALIDITY=%d' % uidvalidity
    return 'imap://%s@%s/%s/;UID=%d%s;URLAUTH=%s' % (
        enc_user(user), host, mbox, uid, rest, access or 'user+' + enc_user(user))


def genurlauth(r, url, mech='INTERNAL'):
    lines, tagged = r.ok('GENURLAUTH %s %s' % (harness.quote(url), mech))
    gen = [l for l in lines if l.startswith('* GENURLAUTH ')]
    assert len(gen) == 1, lines
    values = harness.parse_values(gen[0])
    assert values[2].startswith(url + ':internal:'), (url, values)
    return values[2]


def urlfetch(r, *urls):
    """The data of each URL (None for NIL), in order."""
    lines, tagged = r.ok('URLFETCH ' + ' '.join(harness.quote(u) for u in urls))
    fetched = [l for l in lines if l.startswith('* URLFETCH ')]
    assert len(fetched) == 1, lines
    values = harness.parse_values(fetched[0])[2:]
    assert values[0::2] == list(urls), values
    return [v if v is None else v.encode('latin-1') for v in values[1::2]]


# ---- IMAP ------------------------------------------------------------------------

def test_token_is_hmac_sha1_of_the_rump_under_the_stored_key():
    # The INTERNAL token recomputed here with Python's hmac from the key
    # kept in the store (private server metadata of (INBOX, alice)).
    harness.sqlite_only('reads the key from buzon.db')
    s = server()
    r = s.raw(ALICE)
    _, uid = append(r)
    url = genurlauth(r, rump(ALICE, uid))
    db = sqlite3.connect('file:%s?mode=ro' % os.path.join(s.data_dir, 'buzon.db'), uri=True)
    (key,) = db.execute(
        "SELECT value FROM metadata WHERE entry = '/private/vendor/buzon/urlauth/internal'"
        " AND account_id = (SELECT id FROM account WHERE address = ?)"
        " AND mailbox_id = (SELECT id FROM mailbox WHERE name = 'INBOX' AND account_id ="
        " (SELECT id FROM account WHERE address = ?))", (ALICE, ALICE)).fetchone()
    db.close()
    key = bytes(key) if not isinstance(key, str) else key.encode('latin-1')
    assert len(key) == 32, key  # 256 bits, RFC 4467 §2.2 asks for 128+
    expected = hmac.new(key, rump(ALICE, uid).encode(), hashlib.sha1).hexdigest()
    assert url == rump(ALICE, uid) + ':internal:' + expected, (url, expected)
    r.close()


def test_capability_and_select_announce_urlauth():
    r = server().raw(ALICE)
    lines, _ = r.ok('CAPABILITY')
    assert ' URLAUTH' in lines[0], lines
    lines, _ = r.ok('SELECT INBOX')
    assert '* OK [URLMECH INTERNAL] URLAUTH mechanisms' in lines, lines
    r.close()


def test_genurlauth_then_urlfetch_whole_message_and_sections():
    r = server().raw(ALICE)
    uidvalidity, uid = append(r)
    url = genurlauth(r, rump(ALICE, uid))
    token = url.rsplit(':', 1)[1]
    assert len(token) == 40 and all(c in '0123456789abcdef' for c in token), url
    assert urlfetch(r, url) == [MESSAGE]
    # a section, and a section with a partial range, and UIDVALIDITY
    part1 = genurlauth(r, rump(ALICE, uid, rest='/;SECTION=1'))
    part2 = genurlauth(r, rump(ALICE, uid, rest='/;SECTION=2', uidvalidity=uidvalidity))
    head = genurlauth(r, rump(ALICE, uid, rest='/;SECTION=HEADER.FIELDS%20(Subject)'))
    partial = genurlauth(r, rump(ALICE, uid, rest='/;SECTION=1/;PARTIAL=3.5'))
    got = urlfetch(r, part1, part2, head, partial)
    assert got == [b'Si vis pacem, para bellum.', 'second part \xe9'.encode('utf-8'),
                   b'Subject: forward me\r\n\r\n', b'vis p'], got
    # the same URL twice gives the same token (deterministic, §2.5)
    assert genurlauth(r, rump(ALICE, uid)) == url
    # fetching sets no \Seen
    r.ok('SELECT INBOX')
    lines, _ = r.ok('UID FETCH %d FLAGS' % uid)
    assert '\\Seen' not in lines[0], lines
    r.close()


def test_urlfetch_of_expired_url_is_nil():
    r = server().raw(ALICE)
    _, uid = append(r)
    past = genurlauth(r, rump(ALICE, uid, rest=';EXPIRE=2001-02-03T04:05:06Z'))
    future = genurlauth(r, rump(ALICE, uid, rest=';EXPIRE=2999-12-31T23:59:59.5+01:00'))
    assert urlfetch(r, past, future) == [None, MESSAGE]
    # the expiry is signed: moving it makes the token wrong
    moved = past.replace('2001-02-03', '2999-02-03')
    assert urlfetch(r, moved) == [None]
    r.close()


def test_resetkey_revokes_urls():
    r = server().raw(ALICE)
    _, uid = append(r)
    r.ok('CREATE Keep')
    _, kuid = append(r, 'Keep')
    inbox = genurlauth(r, rump(ALICE, uid))
    keep = genurlauth(r, rump(ALICE, kuid, mailbox='Keep'))
    _, tagged = r.ok('RESETKEY INBOX INTERNAL')
    assert '[URLMECH INTERNAL]' in tagged, tagged
    assert urlfetch(r, inbox, keep) == [None, MESSAGE]
    again = genurlauth(r, rump(ALICE, uid))
    assert again != inbox
    assert urlfetch(r, again) == [MESSAGE]
    # RESETKEY without arguments removes every key
    r.ok('RESETKEY')
    assert urlfetch(r, again, keep) == [None, None]
    _, tagged = r.cmd('RESETKEY NoSuchBox')
    assert harness.status(tagged) == 'NO', tagged
    _, tagged = r.cmd('RESETKEY INBOX XSAMPLE')
    assert harness.status(tagged) == 'BAD', tagged
    r.close()


def test_access_identifiers_and_tampering():
    s = server()
    alice = s.raw(ALICE)
    bob = s.raw(BOB)
    _, uid = append(alice)
    for_bob = genurlauth(alice, rump(ALICE, uid, access='user+' + enc_user(BOB)))
    for_alice = genurlauth(alice, rump(ALICE, uid))
    anyone = genurlauth(alice, rump(ALICE, uid, access='authuser'))
    submit = genurlauth(alice, rump(ALICE, uid, access='submit+' + enc_user(ALICE)))
    # user+bob: only bob; user+alice: only alice; authuser: both
    assert urlfetch(alice, for_bob, for_alice, anyone) == [None, MESSAGE, MESSAGE]
    assert urlfetch(bob, for_bob, for_alice, anyone) == [MESSAGE, None, MESSAGE]
    # submit+: only a submission server (BURL), never an IMAP session
    assert urlfetch(alice, submit) == [None]
    # a changed token, access, uid or mechanism fails
    token = for_bob[-40:]
    flipped = for_bob[:-40] + ('0' if token[0] != '0' else '1') + token[1:]
    assert urlfetch(bob, flipped) == [None]
    assert urlfetch(bob, for_bob[:-40] + token.upper()) == [MESSAGE]
    assert urlfetch(bob, for_bob.replace('user+' + enc_user(BOB), 'authuser')) == [None]
    assert urlfetch(bob, for_bob.replace(';UID=%d' % uid, ';UID=%d' % (uid + 1))) == [None]
    assert urlfetch(bob, for_bob.replace(':internal:', ':xsample:')) == [None]
    assert urlfetch(bob, for_bob[:-2]) == [None]
    # a URL naming a user or mailbox that does not exist: NIL, same as a bad token
    assert urlfetch(bob, for_bob.replace('alice%40', 'nobody%40')) == [None]
    assert urlfetch(bob, for_bob.replace('/INBOX/', '/Nowhere/')) == [None]
    alice.close()
    bob.close()


def test_urlfetch_follows_the_owners_current_rights():
    s = server()
    carol = s.raw(CAROL)
    alice = s.raw(ALICE)
    carol.ok('CREATE Project')
    _, uid = append(carol, 'Project')
    carol.ok('SETACL Project %s lr' % ALICE)
    name = 'Other Users/%s/Project' % CAROL
    url = genurlauth(alice, rump(ALICE, uid, mailbox=name, access='authuser'))
    assert urlfetch(alice, url) == [MESSAGE]
    # RFC 4467 §7: the URL grants what its owner (alice) may do now
    carol.ok('DELETEACL Project %s' % ALICE)
    assert urlfetch(alice, url) == [None]
    carol.close()
    alice.close()


def test_genurlauth_refuses_bad_rumps():
    r = server().raw(ALICE)
    _, uid = append(r)
    bad = [
        'imap://%s@%s/INBOX/;UID=%d' % (enc_user(ALICE), HOST, uid),   # no access id
        'imap://%s/INBOX/;UID=%d;URLAUTH=authuser' % (HOST, uid),       # no owner
        rump(BOB, uid),                                                 # not the user's
        rump(ALICE, uid, host='elsewhere.example'),                     # not this server
        rump(ALICE, uid, mailbox='Nowhere'),                            # no such mailbox
        rump(ALICE, uid) + ':internal:' + '0' * 40,                     # not a rump
        rump(ALICE, uid, access='user+'),                               # empty user
        rump(ALICE, uid, rest=';EXPIRE=2020-13-01T00:00:00Z'),          # bad date
        rump(ALICE, uid, uidvalidity=1),                                # wrong UIDVALIDITY
        ';UID=1;URLAUTH=authuser',                                      # relative
        '',
    ]
    for url in bad:
        _, tagged = r.cmd('GENURLAUTH %s INTERNAL' % harness.quote(url))
        assert harness.status(tagged) == 'BAD', (url, tagged)
    _, tagged = r.cmd('GENURLAUTH %s XSAMPLE' % harness.quote(rump(ALICE, uid)))
    assert harness.status(tagged) == 'BAD', tagged
    for args in ['', ' ', ' "x"', ' "x" INTERNAL extra']:
        _, tagged = r.cmd('GENURLAUTH' + args)
        assert harness.status(tagged) == 'BAD', (args, tagged)
    r.close()


def test_urlfetch_of_bad_urls_is_nil_and_bad_syntax_is_bad():
    r = server().raw(ALICE)
    junk = ['imap://', 'imap://x@y/', 'not a url', ';UID=1', 'imap://%s@%s/INBOX/;UID=1' %
            (enc_user(ALICE), HOST), 'imap://a@b/INBOX/;UID=1;URLAUTH=anonymous:internal:zz',
            'imap://a@%s/INBOX/;UID=1;URLAUTH=bogus:internal:' % HOST + '0' * 40,
            '\x7f' * 300, 'imap://' + 'a' * 9000]
    assert urlfetch(r, *junk) == [None] * len(junk)
    for args in ['', ' ', ' (x', ' "x" "y']:
        _, tagged = r.cmd('URLFETCH' + args)
        assert harness.status(tagged) == 'BAD', (args, tagged)
    # not before login
    c = server().connect()
    raw = harness.Raw(c)
    _, tagged = raw.cmd('URLFETCH "imap://x@y/INBOX/;UID=1"')
    assert harness.status(tagged) == 'BAD', tagged
    raw.close()
    r.ok('NOOP')
    r.close()


def test_catenate_takes_no_urlauth_urls():
    # RFC 4469 URLs are the user's plain ones; a URLAUTH URL is for
    # URLFETCH and BURL, and CATENATE answers BADURL for it.
    r = server().raw(ALICE)
    _, uid = append(r)
    url = genurlauth(r, rump(ALICE, uid))
    _, tagged = r.cmd('APPEND INBOX CATENATE (URL %s)' % harness.quote(url))
    assert harness.status(tagged) == 'NO' and '[BADURL ' in tagged, tagged
    plain = 'imap://%s@%s/INBOX/;UID=%d' % (enc_user(ALICE), HOST, uid)
    r.ok('APPEND INBOX CATENATE (URL %s)' % harness.quote(plain))
    r.close()


def test_keys_are_hidden_from_metadata():
    r = server().raw(ALICE)
    _, uid = append(r)
    genurlauth(r, rump(ALICE, uid))
    lines, _ = r.ok('GETMETADATA (DEPTH infinity) INBOX /private')
    assert not any('urlauth' in l.lower() for l in lines), lines
    lines, _ = r.ok('GETMETADATA INBOX /private/vendor/buzon/urlauth/internal')
    assert lines == ['* METADATA "INBOX" (/private/vendor/buzon/urlauth/internal NIL)'], lines
    _, tagged = r.cmd('SETMETADATA INBOX (/private/vendor/buzon/urlauth/internal "k")')
    assert harness.status(tagged) == 'NO', tagged
    _, tagged = r.cmd('SETMETADATA INBOX (/private/vendor/buzon/urlauth/internal NIL)')
    assert harness.status(tagged) == 'NO', tagged
    # other private annotations still work, as many as without a key
    r.ok('SETMETADATA INBOX (/private/comment "mine")')
    lines, _ = r.ok('GETMETADATA (DEPTH infinity) INBOX /private')
    assert any('/private/comment' in l for l in lines), lines
    many = ' '.join('/private/e%d "v"' % i for i in range(99))
    r.ok('SETMETADATA INBOX (%s)' % many)
    _, tagged = r.cmd('SETMETADATA INBOX (/private/one-too-many "v")')
    assert '[METADATA TOOMANY]' in tagged, tagged
    r.close()


# ---- submission BURL -----------------------------------------------------------------

def submission(user=ALICE):
    s = server()
    c = smtplib.SMTP(s.host, s.ports['submission'], timeout=harness.CLIENT_TIMEOUT)
    c.ehlo('client.example')
    assert c.has_extn('burl'), c.esmtp_features
    assert c.esmtp_features['burl'] == '', c.esmtp_features  # before AUTH: no "imap"
    c.login(user, ACCOUNTS[user])
    c.ehlo('client.example')
    assert c.esmtp_features['burl'] == 'imap', c.esmtp_features
    return c


def fetch_last(r, mailbox='INBOX'):
    """The bytes of the newest message of mailbox."""
    lines, _ = r.ok('EXAMINE %s' % mailbox)
    lines, _ = r.ok('FETCH * BODY.PEEK[]')
    values = harness.parse_values(lines[-1][lines[-1].index('('):])
    return values[0][1].encode('latin-1')


def trace_stripped(data):
    """The message without the trace fields submission prepends."""
    while data.startswith((b'Received:', b'Return-Path:')):
        end = data.index(b'\r\n')
        while data[end + 2:end + 3] in (b' ', b'\t'):
            end = data.index(b'\r\n', end + 2)
        data = data[end + 2:]
    return data


def test_burl_delivers_the_stored_message_identical():
    s = server()
    alice = s.raw(ALICE)
    _, uid = append(alice, 'Sent')
    url = genurlauth(alice, rump(ALICE, uid, mailbox='Sent',
                                 access='submit+' + enc_user(ALICE)))
    c = submission()
    assert c.docmd('MAIL', 'FROM:<%s>' % ALICE)[0] == 250
    assert c.docmd('RCPT', 'TO:<%s>' % BOB)[0] == 250
    code, text = c.docmd('BURL', url + ' LAST')
    assert code == 250, (code, text)
    c.quit()
    bob = s.raw(BOB)
    got = fetch_last(bob)
    assert trace_stripped(got) == MESSAGE, got
    assert got != MESSAGE  # a Received field was added
    alice.close()
    bob.close()


def test_burl_mixed_with_bdat_chunks():
    s = server()
    alice = s.raw(ALICE)
    _, uid = append(alice)
    text = genurlauth(alice, rump(ALICE, uid, rest='/;SECTION=1',
                                  access='submit+' + enc_user(ALICE)))
    c = submission()
    assert c.docmd('MAIL', 'FROM:<%s>' % ALICE)[0] == 250
    assert c.docmd('RCPT', 'TO:<%s>' % CAROL)[0] == 250
    head = b'From: alice@example.test\r\nSubject: Fwd: forward me\r\n\r\nQuoted: '
    c.send(b'BDAT %d\r\n' % len(head) + head)
    code, _ = c.getreply()
    assert code == 250
    code, text = c.docmd('BURL', text)
    assert code == 250 and text.startswith(b'2.5.0'), (code, text)
    tail = b'\r\n-- \r\nalice\r\n'
    c.send(b'BDAT %d LAST\r\n' % len(tail) + tail)
    code, text = c.getreply()
    assert code == 250, (code, text)
    # DATA after BURL in one transaction is refused
    assert c.docmd('MAIL', 'FROM:<%s>' % ALICE)[0] == 250
    assert c.docmd('RCPT', 'TO:<%s>' % CAROL)[0] == 250
    whole = genurlauth(alice, rump(ALICE, uid, access='submit+' + enc_user(ALICE)))
    assert c.docmd('BURL', whole)[0] == 250
    assert c.docmd('DATA')[0] == 503
    c.rset()
    c.quit()
    carol = s.raw(CAROL)
    got = trace_stripped(fetch_last(carol))
    assert got == head + b'Si vis pacem, para bellum.' + tail, got
    alice.close()
    carol.close()


def test_burl_refusals():
    s = server()
    alice = s.raw(ALICE)
    _, uid = append(alice)
    submit = genurlauth(alice, rump(ALICE, uid, access='submit+' + enc_user(ALICE)))
    for_bob = genurlauth(alice, rump(ALICE, uid, access='submit+' + enc_user(BOB)))
    user = genurlauth(alice, rump(ALICE, uid))
    missing = genurlauth(alice, rump(ALICE, uid + 1000, access='submit+' + enc_user(ALICE)))
    c = submission()
    # before any recipient: nothing is resolved
    assert c.docmd('BURL', submit + ' LAST')[0] == 503
    assert c.docmd('MAIL', 'FROM:<%s>' % ALICE)[0] == 250
    code, text = c.docmd('BURL', submit + ' LAST')
    assert (code, text[:5]) == (554, b'5.5.0'), (code, text)

    def refused(url, expect):
        assert c.docmd('MAIL', 'FROM:<%s>' % ALICE)[0] in (250, 503)
        assert c.docmd('RCPT', 'TO:<%s>' % BOB)[0] == 250
        code, text = c.docmd('BURL', url)
        assert (code, text[:5].decode()) == expect, (url, code, text)
        # the whole transaction failed: RCPT needs a new MAIL
        assert c.docmd('RCPT', 'TO:<%s>' % BOB)[0] == 503

    token = submit[-40:]
    tampered = submit[:-40] + ('0' if token[0] != '0' else '1') + token[1:]
    refused(tampered + ' LAST', (554, '5.7.0'))
    refused(for_bob + ' LAST', (554, '5.7.0'))   # submit+ someone else
    refused(user + ' LAST', (554, '5.7.0'))      # user+alice is for IMAP sessions
    refused(missing + ' LAST', (554, '5.6.6'))
    refused(submit.replace(HOST, 'imap.elsewhere.example') + ' LAST', (554, '5.7.8'))
    refused('imap://%s@%s/INBOX/;UID=%d LAST' % (enc_user(ALICE), HOST, uid), (554, '5.7.8'))
    refused('https://example.com/x LAST', (554, '5.7.8'))
    refused('imap://' + 'x' * 900 + ' LAST', (554, '5.7.8'))
    c.quit()
    # (a fresh session: 20 error replies close one, RFC 5321 §4.3.2 allows it)
    c = submission()
    assert c.docmd('MAIL', 'FROM:<%s>' % ALICE)[0] == 250
    assert c.docmd('RCPT', 'TO:<%s>' % BOB)[0] == 250
    assert c.docmd('BURL', submit + ' FIRST')[0] == 501
    assert c.docmd('BURL')[0] == 501
    c.rset()
    # the connection is still usable: a good BURL goes through
    assert c.docmd('MAIL', 'FROM:<%s>' % ALICE)[0] == 250
    assert c.docmd('RCPT', 'TO:<%s>' % BOB)[0] == 250
    assert c.docmd('BURL', submit + ' LAST')[0] == 250
    c.quit()
    # the MX listener has no BURL (RFC 4468 §3.1)
    mx = smtplib.SMTP(s.host, s.ports['smtp'], timeout=harness.CLIENT_TIMEOUT)
    mx.ehlo('client.example')
    assert not mx.has_extn('burl')
    assert mx.docmd('BURL', submit + ' LAST')[0] == 502
    mx.quit()
    alice.close()


# ---- URLAUTH=BINARY (RFC 5524) -----------------------------------------------------

PAYLOAD = b'\x00\x01binary\x00data\xff'
BINMSG = (b'From: alice@example.test\r\n'
          b'Subject: binary\r\n'
          b'MIME-Version: 1.0\r\n'
          b'Content-Type: multipart/mixed; boundary="x"\r\n'
          b'\r\n'
          b'--x\r\n'
          b'Content-Type: text/plain\r\n'
          b'\r\n'
          b'hello\r\n'
          b'--x\r\n'
          b'Content-Type: application/octet-stream\r\n'
          b'Content-Transfer-Encoding: base64\r\n'
          b'\r\n' + base64.b64encode(PAYLOAD) + b'\r\n'
          b'--x\r\n'
          b'Content-Type: text/plain\r\n'
          b'Content-Transfer-Encoding: x-unknown\r\n'
          b'\r\n'
          b'zzz\r\n'
          b'--x--\r\n')


def urlfetch_ext(r, args):
    """The raw text of the one * URLFETCH response to URLFETCH args."""
    lines, _ = r.ok('URLFETCH ' + args)
    fetched = [l for l in lines if l.startswith('* URLFETCH ')]
    assert len(fetched) == 1, lines
    return fetched[0]


def test_urlfetch_binary_and_bodypartstructure():
    r = server().raw(ALICE)
    lines, _ = r.ok('CAPABILITY')
    assert ' URLAUTH=BINARY' in lines[0], lines
    _, uid = append(r, data=BINMSG)
    text = genurlauth(r, rump(ALICE, uid, rest='/;SECTION=1'))
    blob = genurlauth(r, rump(ALICE, uid, rest='/;SECTION=2'))
    odd = genurlauth(r, rump(ALICE, uid, rest='/;SECTION=3'))
    head = genurlauth(r, rump(ALICE, uid, rest='/;SECTION=HEADER'))
    q = harness.quote
    # BINARY: decoded, a literal8 because it holds NULs
    line = urlfetch_ext(r, '(%s BINARY)' % q(blob))
    assert line == '* URLFETCH %s (BINARY ~{%d}\r\n%s)' % (
        q(blob), len(PAYLOAD), PAYLOAD.decode('latin-1')), line
    # BODY: as stored; BODYPARTSTRUCTURE first, as in the RFC's examples
    encoded = base64.b64encode(PAYLOAD).decode()
    line = urlfetch_ext(r, '(%s BODY BODYPARTSTRUCTURE)' % q(blob))
    structure = '("APPLICATION" "OCTET-STREAM" NIL NIL NIL "BASE64" %d' % len(encoded)
    assert line.startswith('* URLFETCH %s (BODYPARTSTRUCTURE %s' % (q(blob), structure)), line
    assert line.endswith(') (BODY "%s")' % encoded), line
    # BINARY with BODYPARTSTRUCTURE: the structure of the decoded data
    line = urlfetch_ext(r, '(%s BODYPARTSTRUCTURE BINARY)' % q(blob))
    assert ('(BODYPARTSTRUCTURE ("APPLICATION" "OCTET-STREAM" NIL NIL NIL "BINARY" %d'
            % len(PAYLOAD)) in line, line
    # an encoding nobody knows: the structure as is, BINARY NIL
    line = urlfetch_ext(r, '(%s BINARY BODYPARTSTRUCTURE)' % q(odd))
    assert '"X-UNKNOWN"' in line and line.endswith(' (BINARY NIL)'), line
    # the whole message and a text part; a text part needs no literal8
    line = urlfetch_ext(r, '(%s BINARY) (%s) %s' % (q(text), q(text), q(text)))
    assert line == '* URLFETCH %s (BINARY "hello") %s "hello" %s "hello"' % (
        q(text), q(text), q(text)), line
    # BINARY / BODYPARTSTRUCTURE of a header section: NIL
    line = urlfetch_ext(r, '(%s BINARY) (%s BODYPARTSTRUCTURE) (%s BODY)' % (
        q(head), q(head), q(head)))
    assert line.startswith('* URLFETCH %s NIL %s NIL %s (BODY ' % (q(head), q(head), q(head))), line
    # a failing URL is NIL whatever was asked
    bad = blob[:-1] + ('0' if blob[-1] != '0' else '1')
    assert urlfetch_ext(r, '(%s BINARY BODYPARTSTRUCTURE)' % q(bad)) == \
        '* URLFETCH %s NIL' % q(bad)
    for args in ['(%s BINARY BODY)' % q(blob), '(%s BINARY BINARY)' % q(blob),
                 '(%s FOO)' % q(blob), '(%s BINARY' % q(blob), '(%s (BINARY))' % q(blob),
                 '()']:
        _, tagged = r.cmd('URLFETCH ' + args)
        assert harness.status(tagged) == 'BAD', (args, tagged)
    r.close()


def test_server_stops_cleanly():
    server()
    server.stop()


if __name__ == '__main__':
    harness.main()
