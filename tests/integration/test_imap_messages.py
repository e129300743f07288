"""test_imap_messages: the commands on messages as clients see them
(RFC 9051 §6.3.12, §6.4; RFC 4315 UIDPLUS; RFC 6851 MOVE; RFC 7888
LITERAL+): APPEND, FETCH (every item, BODYSTRUCTURE and ENVELOPE compared
with strings derived by hand from RFC 9051 §7.5.2), STORE, COPY, MOVE,
EXPUNGE, CLOSE, UNSELECT, SEARCH and their UID forms.

One server for the module; each test logs in as its own account."""

import calendar
import imaplib
import re
import time

import harness
from harness import appenduid, parse_value, quote, status

USERS = ('append', 'fetch', 'seen', 'rfc822', 'uidfetch', 'store', 'copy', 'move', 'expunge',
         'uidexpunge', 'close', 'unselect', 'search')
ACCOUNTS = {'%s@example.test' % u: 'pw-%s' % u for u in USERS}


# ---- the messages ------------------------------------------------------------------

# A single text/plain part. Its body is one line.
SIMPLE_HEADER = (
    b'Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n'
    b'From: Fred Foobar <foobar@blurdybloop.example>\r\n'
    b'Subject: afternoon meeting\r\n'
    b'To: mooch@owatagu.example\r\n'
    b'Cc: "Joe Q. Public" <joe@example.test>, ann@example.test\r\n'
    b'Message-Id: <B27397-0100000@blurdybloop.example>\r\n'
    b'MIME-Version: 1.0\r\n'
    b'Content-Type: text/plain; charset=utf-8\r\n'
    b'\r\n')
SIMPLE_BODY = b'Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n'
SIMPLE = SIMPLE_HEADER + SIMPLE_BODY
SIMPLE_DATE = '07-Feb-1994 21:52:25 -0800'

# multipart/mixed: a text part and a base64 attachment. Each part ends
# with an empty line so that its body ends in CRLF: the CRLF right before
# "--XyZ" belongs to the delimiter (RFC 2046 §5.1.1), not to the part.
MULTI_HEADER = (
    b'From: Alice <alice@example.test>\r\n'
    b'To: Bob <bob@example.test>\r\n'
    b'Subject: the report\r\n'
    b'Date: Tue, 2 Jan 2024 09:00:00 +0100\r\n'
    b'Message-ID: <multi@example.test>\r\n'
    b'MIME-Version: 1.0\r\n'
    b'Content-Type: multipart/mixed; boundary="XyZ"\r\n'
    b'\r\n')
PART1_MIME = b'Content-Type: text/plain; charset=us-ascii\r\n\r\n'
PART1_BODY = b'See the attachment.\r\n'
PART2_MIME = (b'Content-Type: application/octet-stream; name="data.bin"\r\n'
              b'Content-Disposition: attachment; filename="data.bin"\r\n'
              b'Content-Transfer-Encoding: base64\r\n'
              b'\r\n')
PART2_BODY = b'AAECAwQFBgc=\r\n'
MULTI_TEXT = (b'This is a multi-part message in MIME format.\r\n'
              b'--XyZ\r\n' + PART1_MIME + PART1_BODY + b'\r\n'
              b'--XyZ\r\n' + PART2_MIME + PART2_BODY + b'\r\n'
              b'--XyZ--\r\n')
MULTI = MULTI_HEADER + MULTI_TEXT

# RFC 9051 §7.5.2 BODYSTRUCTURE of a non-multipart part: type, subtype,
# parameter list, id, description, encoding, size in octets; for TEXT the
# size in lines; then the extension data: MD5, disposition, language,
# location. Type, subtype, encoding and parameter names in upper case as
# the RFC's examples write them; parameter values as sent. No
# Content-Transfer-Encoding means "7BIT" (RFC 2045 §6.1).
SIMPLE_BODYSTRUCTURE = (
    '("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" %d 1 NIL NIL NIL NIL)'
    % len(SIMPLE_BODY))
# BODY is the same without the extension data.
SIMPLE_BODY_ITEM = '("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" %d 1)' % len(SIMPLE_BODY)

# A multipart is its parts one after another (no space between them),
# then the subtype; BODYSTRUCTURE adds the multipart's extension data:
# parameters (the boundary), disposition, language, location. Part 1 is
# text with one line; part 2 is not text, so it has no line count, and
# its disposition is ("type" (parameters)), the type as sent.
PART1_BS = ('("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" %d 1 NIL NIL NIL NIL)'
            % len(PART1_BODY))
PART2_BS = ('("APPLICATION" "OCTET-STREAM" ("NAME" "data.bin") NIL NIL "BASE64" %d NIL '
            '("attachment" ("FILENAME" "data.bin")) NIL NIL)' % len(PART2_BODY))
MULTI_BODYSTRUCTURE = '(%s%s "MIXED" ("BOUNDARY" "XyZ") NIL NIL NIL)' % (PART1_BS, PART2_BS)
MULTI_BODY_ITEM = (
    '(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" %d 1)'
    '("APPLICATION" "OCTET-STREAM" ("NAME" "data.bin") NIL NIL "BASE64" %d) "MIXED")'
    % (len(PART1_BODY), len(PART2_BODY)))

# RFC 9051 §7.5.2 ENVELOPE: date, subject, from, sender, reply-to, to,
# cc, bcc, in-reply-to, message-id. An address is (name adl mailbox host);
# the addresses of a list follow each other without a space. Sender and
# Reply-To are absent, so they are the From address.
FRED = '(("Fred Foobar" NIL "foobar" "blurdybloop.example"))'
SIMPLE_ENVELOPE = (
    '("Mon, 7 Feb 1994 21:52:25 -0800" "afternoon meeting" %s %s %s '
    '((NIL NIL "mooch" "owatagu.example")) '
    '(("Joe Q. Public" NIL "joe" "example.test")(NIL NIL "ann" "example.test")) '
    'NIL NIL "<B27397-0100000@blurdybloop.example>")' % (FRED, FRED, FRED))
ALICE = '(("Alice" NIL "alice" "example.test"))'
MULTI_ENVELOPE = (
    '("Tue, 2 Jan 2024 09:00:00 +0100" "the report" %s %s %s '
    '(("Bob" NIL "bob" "example.test")) NIL NIL NIL "<multi@example.test>")'
    % (ALICE, ALICE, ALICE))


def message(n, subject='test'):
    return ('From: a@example.test\r\nTo: b@example.test\r\nSubject: %s %d\r\n'
            'Message-ID: <%d.%s@example.test>\r\n\r\nBody %d\r\n'
            % (subject, n, n, subject.replace(' ', '-'), n)).encode()


server = harness.ModuleServer(accounts=ACCOUNTS)


def login(user, select=None):
    address = '%s@example.test' % user
    r = server().raw(address, ACCOUNTS[address])
    if select:
        r.ok('SELECT %s' % quote(select))
    return r


def append(r, box, data, flags='', date=None):
    """APPEND with a LITERAL+ literal; returns (uidvalidity, uid) from
    APPENDUID (RFC 4315 §3)."""
    return appenduid(r.append(box, data, flags, date)[1])


# ---- response parsing -------------------------------------------------------------

class Fetch:
    """One '* N FETCH (...)' response: seq, items {NAME: value} and raw
    {NAME: the value's text as sent}; names upper-cased."""

    def __init__(self, line):
        m = re.match(r'^\* (\d+) FETCH \(', line)
        assert m, line
        self.seq = int(m.group(1))
        self.items, self.raw = {}, {}
        pos = m.end()
        while line[pos] != ')':
            if line[pos] == ' ':
                pos += 1
                continue
            name, pos = self._name(line, pos)
            assert line[pos] == ' ', (line, pos)
            start = pos + 1
            value, pos = parse_value(line, start)
            assert name not in self.items, ('item twice', name, line)
            self.items[name] = value
            self.raw[name] = line[start:pos]
        assert pos == len(line) - 1, ('junk after the FETCH list', line)

    @staticmethod
    def _name(s, pos):
        m = re.compile(r'[A-Za-z0-9.]+').match(s, pos)
        assert m, (s, pos)
        pos = m.end()
        if pos < len(s) and s[pos] == '[':
            pos = s.index(']', pos) + 1
            if pos < len(s) and s[pos] == '<':
                pos = s.index('>', pos) + 1
        return s[m.start():pos].upper(), pos

    def flags(self):
        return set(self.items['FLAGS'])

    def __repr__(self):
        return 'Fetch(%d, %r)' % (self.seq, self.raw)


def fetches(lines):
    """The FETCH responses among untagged lines."""
    return [Fetch(l) for l in lines if re.match(r'^\* \d+ FETCH ', l)]


def fetch1(r, what):
    """FETCH that must answer with exactly one FETCH response."""
    lines, _ = r.ok(what if what.startswith('UID ') else 'FETCH ' + what)
    got = fetches(lines)
    assert len(got) == 1, (what, lines)
    return got[0]


def latin1(data):
    return data.decode('latin-1')


def search(r, criteria):
    """SEARCH (or UID SEARCH when criteria starts with 'UID SEARCH') as a
    sorted list of numbers."""
    if isinstance(criteria, bytes):
        command = criteria if criteria.startswith(b'UID SEARCH') else b'SEARCH ' + criteria
    else:
        command = criteria if criteria.startswith('UID SEARCH') else 'SEARCH ' + criteria
    lines, tagged = r.cmd(command)
    assert status(tagged) == 'OK', (criteria, lines, tagged)
    found = [l for l in lines if l == '* SEARCH' or l.startswith('* SEARCH ')]
    assert len(found) == 1, (criteria, lines)
    numbers = [int(x) for x in found[0].split()[2:]]
    assert len(numbers) == len(set(numbers)), (criteria, found)
    return sorted(numbers)


def parse_set(text):
    """An IMAP sequence set of numbers ("1:3,7") as a list, in order."""
    out = []
    for part in text.split(','):
        if ':' in part:
            a, b = (int(x) for x in part.split(':'))
            step = 1 if b >= a else -1
            out.extend(range(a, b + step, step))
        else:
            out.append(int(part))
    return out


def copyuid(text):
    """(uidvalidity, source uids, destination uids) of a COPYUID code."""
    m = re.search(r'\[COPYUID (\d+) ([\d:,]+) ([\d:,]+)\]', text)
    assert m, text
    return int(m.group(1)), parse_set(m.group(2)), parse_set(m.group(3))


def apply_expunges(uids, lines):
    """The UID list after the '* N EXPUNGE' lines, each N a sequence number
    in the list as it is at that moment (RFC 9051 §7.5.1)."""
    uids = list(uids)
    for line in lines:
        m = re.match(r'^\* (\d+) EXPUNGE$', line)
        if m:
            n = int(m.group(1))
            assert 1 <= n <= len(uids), (line, uids)
            del uids[n - 1]
    return uids


def internaldate_seconds(text):
    """Seconds since the epoch of an IMAP date-time "dd-Mon-yyyy hh:mm:ss +zzzz"."""
    m = re.match(r'^( ?\d{1,2})-([A-Z][a-z]{2})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$',
                 text)
    assert m, text
    month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov',
             'Dec'].index(m.group(2)) + 1
    t = calendar.timegm((int(m.group(3)), month, int(m.group(1)), int(m.group(4)),
                         int(m.group(5)), int(m.group(6)), 0, 0, 0))
    offset = (int(m.group(8)) * 60 + int(m.group(9))) * 60
    return t - offset if m.group(7) == '+' else t + offset


# ---- APPEND ---------------------------------------------------------------------------

def test_append_with_a_synchronizing_literal():
    r = login('append')
    data = message(1)
    tag = r.next_tag()
    r.send('%s APPEND INBOX {%d}\r\n' % (tag, len(data)))
    # RFC 9051 §7.5: the server asks for the literal with a continuation.
    cont = r.line()
    assert cont.startswith('+'), cont
    r.send(data + b'\r\n')
    lines, tagged = r.read_until(tag)
    # RFC 4315 §3: OK [APPENDUID uidvalidity uid]
    m = re.match(r'^%s OK \[APPENDUID (\d+) (\d+)\]' % tag, tagged)
    assert m, tagged
    lines, _ = r.ok('EXAMINE INBOX')
    assert '* OK [UIDVALIDITY %s] UIDs valid' % m.group(1) in lines or any(
        l.startswith('* OK [UIDVALIDITY %s]' % m.group(1)) for l in lines), lines
    f = fetch1(r, 'UID FETCH %s (RFC822.SIZE BODY.PEEK[])' % m.group(2))
    assert f.items['BODY[]'] == latin1(data), f
    r.close()


def test_append_with_literal_plus_in_one_write():
    r = login('append')
    tag = r.next_tag()
    # RFC 7888: "{5+}" needs no continuation; all of it in one write.
    r.send('%s APPEND INBOX {5+}\r\nhello\r\n' % tag)
    first = r.line()
    assert first.startswith(tag + ' '), 'expected the tagged reply first, got %r' % first
    m = re.match(r'^%s OK \[APPENDUID (\d+) (\d+)\]' % tag, first)
    assert m, first
    r.ok('EXAMINE INBOX')
    f = fetch1(r, 'UID FETCH %s (RFC822.SIZE BODY.PEEK[])' % m.group(2))
    assert f.items['RFC822.SIZE'] == '5' and f.items['BODY[]'] == 'hello', f
    r.close()


def test_append_uids_increase_and_match_uidvalidity():
    r = login('append')
    r.ok('CREATE uids')
    got = [append(r, 'uids', message(i)) for i in range(3)]
    validities = {v for v, _ in got}
    uids = [u for _, u in got]
    assert len(validities) == 1 and uids == sorted(set(uids)), got
    lines, _ = r.ok('SELECT uids')
    assert any(l.startswith('* OK [UIDVALIDITY %d]' % got[0][0]) for l in lines), lines
    lines, _ = r.ok('FETCH 1:* (UID)')
    assert [int(f.items['UID']) for f in fetches(lines)] == uids, lines
    r.close()


def test_append_with_flags_and_date():
    r = login('append')
    r.ok('CREATE dated')
    v, uid = append(r, 'dated', SIMPLE, '\\Flagged \\Seen $Important', SIMPLE_DATE)
    r.ok('SELECT dated')
    f = fetch1(r, 'UID FETCH %d (FLAGS INTERNALDATE RFC822.SIZE)' % uid)
    assert f.flags() == {'\\Flagged', '\\Seen', '$Important'}, f
    # RFC 9051 §6.3.12: the date-time becomes the internal date; it may come
    # back in another zone but names the same instant.
    assert internaldate_seconds(f.items['INTERNALDATE']) == internaldate_seconds(SIMPLE_DATE), f
    assert int(f.items['RFC822.SIZE']) == len(SIMPLE), f
    # APPEND to the selected mailbox: the new message is announced.
    lines, _ = r.ok(b'APPEND dated {%d+}\r\n' % len(MULTI) + MULTI)
    if not any(l == '* 2 EXISTS' for l in lines):
        lines, _ = r.ok('NOOP')
        assert '* 2 EXISTS' in lines, lines
    r.close()


def test_append_to_a_missing_mailbox_says_trycreate():
    r = login('append')
    for data in (b'APPEND nosuch {5+}\r\nhello', b'APPEND nosuch (\\Seen) {5+}\r\nhello'):
        lines, tagged = r.cmd(data)
        # RFC 9051 §6.3.12: NO [TRYCREATE] when the mailbox does not exist.
        assert re.match(r'^a\d+ NO \[TRYCREATE\]', tagged), tagged
    r.ok('NOOP')  # the literal was consumed: the connection is in sync
    lines, _ = r.ok('LIST "" nosuch')
    assert lines == [], lines
    r.close()


def test_append_with_imaplib():
    c = server().imap('append@example.test')
    when = imaplib.Time2Internaldate(time.mktime((2023, 7, 14, 8, 30, 0, 0, 0, -1)))
    typ, data = c.append('INBOX', '(\\Seen)', when, SIMPLE)
    assert typ == 'OK', (typ, data)
    m = re.match(rb'^\[APPENDUID (\d+) (\d+)\]', data[0])
    assert m, data
    c.select('INBOX', readonly=True)
    typ, data = c.uid('FETCH', m.group(2).decode(), '(FLAGS BODY.PEEK[])')
    assert typ == 'OK', (typ, data)
    assert data[0][1] == SIMPLE, data
    assert b'\\Seen' in data[0][0], data
    c.logout()


# ---- FETCH: one mailbox with SIMPLE (1) and MULTI (2) ------------------------------------

_fetch_uids = None


def fetch_box():
    """A logged-in connection with INBOX of the 'fetch' account selected:
    1 = SIMPLE (appended with SIMPLE_DATE), 2 = MULTI."""
    global _fetch_uids
    r = login('fetch')
    if _fetch_uids is None:
        _fetch_uids = [append(r, 'INBOX', SIMPLE, '', SIMPLE_DATE)[1],
                       append(r, 'INBOX', MULTI)[1]]
    r.ok('SELECT INBOX')
    return r


def test_fetch_flags_internaldate_size():
    r = fetch_box()
    f = fetch1(r, '1 (FLAGS INTERNALDATE RFC822.SIZE)')
    assert f.seq == 1 and f.items['FLAGS'] == [], f
    assert re.match(r'^"( \d|\d\d)-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}"$',
                    f.raw['INTERNALDATE']), f
    assert internaldate_seconds(f.items['INTERNALDATE']) == internaldate_seconds(SIMPLE_DATE)
    # RFC 9051 §7.5.2: RFC822.SIZE is the exact number of octets.
    assert f.raw['RFC822.SIZE'] == str(len(SIMPLE)), f
    f = fetch1(r, '2 RFC822.SIZE')
    assert f.raw['RFC822.SIZE'] == str(len(MULTI)), f
    # FAST is FLAGS INTERNALDATE RFC822.SIZE (§6.4.5).
    f = fetch1(r, '1 FAST')
    assert set(f.items) == {'FLAGS', 'INTERNALDATE', 'RFC822.SIZE'}, f
    r.close()


def test_fetch_envelope():
    r = fetch_box()
    assert fetch1(r, '1 ENVELOPE').raw['ENVELOPE'] == SIMPLE_ENVELOPE
    assert fetch1(r, '2 ENVELOPE').raw['ENVELOPE'] == MULTI_ENVELOPE
    r.close()


def test_fetch_bodystructure_and_body_of_a_simple_message():
    r = fetch_box()
    assert fetch1(r, '1 BODYSTRUCTURE').raw['BODYSTRUCTURE'] == SIMPLE_BODYSTRUCTURE
    assert fetch1(r, '1 BODY').raw['BODY'] == SIMPLE_BODY_ITEM
    r.close()


def test_fetch_bodystructure_and_body_of_a_multipart_message():
    r = fetch_box()
    assert fetch1(r, '2 BODYSTRUCTURE').raw['BODYSTRUCTURE'] == MULTI_BODYSTRUCTURE
    assert fetch1(r, '2 BODY').raw['BODY'] == MULTI_BODY_ITEM
    r.close()


def test_fetch_body_sections():
    r = fetch_box()
    cases = [
        # (seq, section asked, expected bytes) RFC 9051 §6.4.5
        (1, '', SIMPLE),
        (1, 'HEADER', SIMPLE_HEADER),          # up to and with the blank line
        (1, 'TEXT', SIMPLE_BODY),
        (1, '1', SIMPLE_BODY),                 # part 1 of a non-multipart is its body
        (2, '', MULTI),
        (2, 'HEADER', MULTI_HEADER),
        (2, 'TEXT', MULTI_TEXT),
        (2, '1', PART1_BODY),
        (2, '2', PART2_BODY),                  # as stored: still base64
        (2, '1.MIME', PART1_MIME),
        (2, '2.MIME', PART2_MIME),
        # the named fields, in the message's order, and the blank line
        (1, 'HEADER.FIELDS (Subject From)',
         b'From: Fred Foobar <foobar@blurdybloop.example>\r\n'
         b'Subject: afternoon meeting\r\n\r\n'),
        (1, 'HEADER.FIELDS (X-Not-There)', b'\r\n'),
        (2, 'HEADER.FIELDS.NOT (From To Subject Date Message-ID)',
         b'MIME-Version: 1.0\r\n'
         b'Content-Type: multipart/mixed; boundary="XyZ"\r\n\r\n'),
    ]
    for seq, section, expected in cases:
        f = fetch1(r, '%d BODY.PEEK[%s]' % (seq, section))
        name = 'BODY[%s]' % section.upper()
        assert list(f.items) == [name], (section, f)
        assert f.items[name] == latin1(expected), (seq, section, f.items[name], expected)
    # Several sections in one FETCH.
    f = fetch1(r, '2 (BODY.PEEK[1] BODY.PEEK[2.MIME] RFC822.SIZE)')
    assert f.items['BODY[1]'] == latin1(PART1_BODY), f
    assert f.items['BODY[2.MIME]'] == latin1(PART2_MIME), f
    r.close()


def test_fetch_body_byte_exact_with_imaplib():
    fetch_box().close()
    c = server().imap('fetch@example.test')
    c.select('INBOX', readonly=True)
    typ, data = c.fetch('1:2', '(BODY.PEEK[])')
    assert typ == 'OK', (typ, data)
    bodies = [item[1] for item in data if isinstance(item, tuple)]
    assert bodies == [SIMPLE, MULTI], bodies
    c.logout()


def test_fetch_partial():
    r = fetch_box()
    # RFC 9051 §6.4.5: <origin.octets>; the response names the origin only.
    f = fetch1(r, '1 BODY.PEEK[]<0.10>')
    assert f.items == {'BODY[]<0>': latin1(SIMPLE[:10])}, f
    f = fetch1(r, '1 BODY.PEEK[TEXT]<6.3>')
    assert f.items == {'BODY[TEXT]<6>': latin1(SIMPLE_BODY[6:9])}, f
    # Past the end: what is there; at or beyond the end: empty string.
    f = fetch1(r, '1 BODY.PEEK[]<%d.1000>' % (len(SIMPLE) - 4))
    assert f.items == {'BODY[]<%d>' % (len(SIMPLE) - 4): latin1(SIMPLE[-4:])}, f
    f = fetch1(r, '1 BODY.PEEK[]<%d.10>' % (len(SIMPLE) + 100))
    assert f.items == {'BODY[]<%d>' % (len(SIMPLE) + 100): ''}, f
    f = fetch1(r, '2 BODY.PEEK[2]<0.4>')
    assert f.items == {'BODY[2]<0>': 'AAEC'}, f
    r.close()


def test_body_peek_keeps_unseen_and_body_sets_seen():
    r = login('seen')
    for i in range(3):
        append(r, 'INBOX', message(i))
    r.ok('SELECT INBOX')
    lines, _ = r.ok('FETCH 1 BODY.PEEK[]')
    assert [set(f.items) for f in fetches(lines)] == [{'BODY[]'}], lines
    assert fetch1(r, '1 FLAGS').flags() == set()
    lines, _ = r.ok('FETCH 1 BODY[]')
    # RFC 9051 §6.4.5: BODY[] sets \Seen; the changed flags SHOULD come
    # along in the FETCH response.
    flags = set()
    for f in fetches(lines):
        assert f.seq == 1, lines
        flags |= f.flags() if 'FLAGS' in f.items else set()
    assert '\\Seen' in flags, lines
    assert fetch1(r, '1 FLAGS').flags() == {'\\Seen'}
    # BODY[section] sets it too; BODY.PEEK[section] does not.
    r.ok('FETCH 2 BODY.PEEK[TEXT]')
    assert fetch1(r, '2 FLAGS').flags() == set()
    r.ok('FETCH 2 BODY[HEADER]')
    assert fetch1(r, '2 FLAGS').flags() == {'\\Seen'}
    # STATUS agrees.
    r.ok('UNSELECT')
    lines, _ = r.ok('STATUS INBOX (UNSEEN)')
    assert re.match(r'^\* STATUS "?INBOX"? \(UNSEEN 1\)$', lines[0]), lines
    r.close()


def test_rfc822_items():
    r = login('rfc822')
    append(r, 'INBOX', SIMPLE)
    append(r, 'INBOX', MULTI)
    r.ok('SELECT INBOX')
    # RFC 9051 §6.4.5 / RFC 3501: RFC822.HEADER is BODY.PEEK[HEADER]...
    f = fetch1(r, '1 RFC822.HEADER')
    assert f.items == {'RFC822.HEADER': latin1(SIMPLE_HEADER)}, f
    assert fetch1(r, '1 FLAGS').flags() == set()
    # ... RFC822.TEXT is BODY[TEXT] (sets \Seen) ...
    lines, _ = r.ok('FETCH 1 RFC822.TEXT')
    got = {k: v for f in fetches(lines) for k, v in f.items.items()}
    assert got.get('RFC822.TEXT') == latin1(SIMPLE_BODY), lines
    assert fetch1(r, '1 FLAGS').flags() == {'\\Seen'}
    # ... and RFC822 is BODY[] (sets \Seen).
    lines, _ = r.ok('FETCH 2 RFC822')
    got = {k: v for f in fetches(lines) for k, v in f.items.items()}
    assert got.get('RFC822') == latin1(MULTI), lines
    assert fetch1(r, '2 FLAGS').flags() == {'\\Seen'}
    r.close()


def test_uid_fetch_includes_uid():
    r = login('uidfetch')
    uids = [append(r, 'INBOX', message(i))[1] for i in range(3)]
    r.ok('SELECT INBOX')
    # RFC 9051 §6.4.9: UID is in every FETCH response of a UID command.
    f = fetch1(r, 'UID FETCH %d FLAGS' % uids[1])
    assert f.seq == 2 and f.items.get('UID') == str(uids[1]), f
    lines, _ = r.ok('UID FETCH 1:* RFC822.SIZE')
    got = fetches(lines)
    assert [(f.seq, int(f.items['UID'])) for f in got] == [(1, uids[0]), (2, uids[1]),
                                                           (3, uids[2])], lines
    # A UID range ending in * always includes the last message (§6.4.9).
    f = fetch1(r, 'UID FETCH %d:* (FLAGS)' % (uids[2] + 1000))
    assert f.seq == 3 and f.items['UID'] == str(uids[2]), f
    # A UID that does not exist is no error, and no data.
    lines, _ = r.ok('UID FETCH %d FLAGS' % (uids[2] + 1000))
    assert fetches(lines) == [], lines
    f = fetch1(r, '3 (UID)')
    assert f.items == {'UID': str(uids[2])}, f
    r.close()


# ---- STORE ---------------------------------------------------------------------------

def test_store_flags_and_keywords():
    r = login('store')
    uids = [append(r, 'INBOX', message(i))[1] for i in range(3)]
    r.ok('SELECT INBOX')
    # RFC 9051 §6.4.6: the new flags come back in an untagged FETCH.
    lines, _ = r.ok('STORE 1 +FLAGS (\\Flagged $Important)')
    got = fetches(lines)
    assert len(got) == 1 and got[0].seq == 1, lines
    assert got[0].flags() == {'\\Flagged', '$Important'}, lines
    lines, _ = r.ok('STORE 1 +FLAGS ($Work)')
    assert [f.flags() for f in fetches(lines)] == [{'\\Flagged', '$Important', '$Work'}], lines
    lines, _ = r.ok('STORE 1 -FLAGS (\\Flagged $Work)')
    assert [f.flags() for f in fetches(lines)] == [{'$Important'}], lines
    lines, _ = r.ok('STORE 1 FLAGS (\\Seen \\Answered)')
    assert [f.flags() for f in fetches(lines)] == [{'\\Seen', '\\Answered'}], lines
    # .SILENT: no FETCH response (§6.4.6), but the change is made.
    lines, _ = r.ok('STORE 2:3 +FLAGS.SILENT (\\Deleted $Later)')
    assert fetches(lines) == [], lines
    lines, _ = r.ok('STORE 3 -FLAGS.SILENT ($Later)')
    assert fetches(lines) == [], lines
    lines, _ = r.ok('STORE 1 FLAGS.SILENT (\\Draft)')
    assert fetches(lines) == [], lines
    lines, _ = r.ok('FETCH 1:3 FLAGS')
    assert [f.flags() for f in fetches(lines)] == [
        {'\\Draft'}, {'\\Deleted', '$Later'}, {'\\Deleted'}], lines
    # UID STORE answers with UID in the FETCH (§6.4.9).
    lines, _ = r.ok('UID STORE %d +FLAGS (\\Seen)' % uids[2])
    got = fetches(lines)
    assert len(got) == 1 and got[0].seq == 3 and got[0].items.get('UID') == str(uids[2]), lines
    assert got[0].flags() == {'\\Deleted', '\\Seen'}, lines
    # Keywords are kept across sessions, case as stored.
    r.close()
    r = login('store', 'INBOX')
    lines, _ = r.ok('FETCH 2 FLAGS')
    assert [f.flags() for f in fetches(lines)] == [{'\\Deleted', '$Later'}], lines
    # A STORE whose flag list does not parse is BAD (§6.4.6).
    _, tagged = r.cmd('STORE 1 +FLAGS (\\Seen')
    assert status(tagged) == 'BAD', tagged
    assert fetch1(r, '1 FLAGS').flags() == {'\\Draft'}
    r.close()


def test_store_with_imaplib():
    c = server().imap('store@example.test')
    c.select('INBOX')
    typ, data = c.store('1', '+FLAGS', '(\\Flagged)')
    assert typ == 'OK', (typ, data)
    assert any(b'\\Flagged' in d for d in data if d), data
    typ, data = c.fetch('1', '(FLAGS)')
    assert typ == 'OK' and b'\\Flagged' in data[0], data
    c.logout()


# ---- COPY / MOVE ---------------------------------------------------------------------

def test_copy_and_uid_copy_with_copyuid():
    r = login('copy')
    bodies = [message(i, 'copy') for i in range(3)]
    uids = [append(r, 'INBOX', b)[1] for b in bodies]
    r.ok('CREATE Dest')
    r.ok('SELECT INBOX')
    r.ok('STORE 1 +FLAGS.SILENT (\\Flagged $Tag)')
    lines, tagged = r.ok('COPY 1:2 Dest')
    # RFC 4315 §3: OK [COPYUID uidvalidity source-uids dest-uids]
    v, src, dst = copyuid(tagged)
    assert src == uids[:2] and len(dst) == 2, tagged
    _, tagged = r.ok('UID COPY %d Dest' % uids[2])
    v2, src2, dst2 = copyuid(tagged)
    assert v2 == v and src2 == [uids[2]] and len(dst2) == 1 and dst2[0] > max(dst), tagged
    # The source stays; the copies are there with their flags.
    lines, _ = r.ok('NOOP')
    assert not any('EXPUNGE' in l for l in lines), lines
    r.ok('SELECT Dest')
    copies = {}
    lines, _ = r.ok('UID FETCH 1:* (FLAGS BODY.PEEK[])')
    for f in fetches(lines):
        copies[int(f.items['UID'])] = f
    assert sorted(copies) == dst + dst2, (copies, dst, dst2)
    for uid, body in zip(dst + dst2, bodies):
        assert copies[uid].items['BODY[]'] == latin1(body), uid
    assert copies[dst[0]].flags() == {'\\Flagged', '$Tag'}, copies[dst[0]]
    lines, _ = r.ok('EXAMINE Dest')
    assert any(l.startswith('* OK [UIDVALIDITY %d]' % v) for l in lines), lines
    # Copy to a missing mailbox: NO [TRYCREATE] (RFC 9051 §6.4.7).
    r.ok('SELECT INBOX')
    _, tagged = r.cmd('COPY 1 nosuch')
    assert re.match(r'^a\d+ NO \[TRYCREATE\]', tagged), tagged
    # UID COPY of UIDs that do not exist: OK, nothing copied (§6.4.9).
    _, tagged = r.ok('UID COPY %d:%d Dest' % (uids[2] + 100, uids[2] + 200))
    lines, _ = r.ok('STATUS Dest (MESSAGES)')
    assert re.match(r'^\* STATUS "?Dest"? \(MESSAGES 3\)$', lines[0]), lines
    r.close()


def test_move_and_uid_move():
    r = login('move')
    bodies = [message(i, 'move') for i in range(4)]
    uids = [append(r, 'INBOX', b)[1] for b in bodies]
    r.ok('CREATE Dest')
    r.ok('SELECT INBOX')
    lines, tagged = r.ok('MOVE 2 Dest')
    # RFC 6851 §4.3/§4.4: untagged OK [COPYUID ...], then EXPUNGE, then
    # the tagged OK.
    assert len(lines) == 2, lines
    assert re.match(r'^\* OK \[COPYUID \d+ [\d:,]+ [\d:,]+\]', lines[0]), lines
    v, src, dst = copyuid(lines[0])
    assert src == [uids[1]] and len(dst) == 1, lines
    assert lines[1] == '* 2 EXPUNGE', lines
    assert not re.search(r'\[COPYUID', tagged), tagged
    # UID MOVE of two: one COPYUID, then an EXPUNGE for each.
    lines, tagged = r.ok('UID MOVE %d,%d Dest' % (uids[0], uids[3]))
    codes = [i for i, l in enumerate(lines) if '[COPYUID' in l]
    expunges = [i for i, l in enumerate(lines) if re.match(r'^\* \d+ EXPUNGE$', l)]
    assert len(codes) == 1 and len(expunges) == 2 and codes[0] < min(expunges), lines
    v2, src2, dst2 = copyuid(lines[codes[0]])
    assert v2 == v and sorted(src2) == [uids[0], uids[3]], lines
    assert apply_expunges([uids[0], uids[2], uids[3]], lines) == [uids[2]], lines
    lines, _ = r.ok('FETCH 1:* (UID)')
    assert [int(f.items['UID']) for f in fetches(lines)] == [uids[2]], lines
    # In Dest: the three moved messages under the announced UIDs.
    r.ok('SELECT Dest')
    lines, _ = r.ok('UID FETCH 1:* (BODY.PEEK[])')
    moved = {int(f.items['UID']): f.items['BODY[]'] for f in fetches(lines)}
    expected = {dst[0]: latin1(bodies[1])}
    for s_uid, d_uid in zip(src2, dst2):
        expected[d_uid] = latin1(bodies[uids.index(s_uid)])
    assert moved == expected, (moved, expected)
    # MOVE to a missing mailbox: NO [TRYCREATE], nothing moves.
    r.ok('SELECT INBOX')
    lines, tagged = r.cmd('MOVE 1 nosuch')
    assert re.match(r'^a\d+ NO \[TRYCREATE\]', tagged), tagged
    assert not any('EXPUNGE' in l for l in lines), lines
    r.close()


# ---- EXPUNGE / CLOSE / UNSELECT ---------------------------------------------------------

def test_expunge_removes_only_deleted():
    r = login('expunge')
    uids = [append(r, 'INBOX', message(i))[1] for i in range(5)]
    r.ok('SELECT INBOX')
    r.ok('STORE 2,4 +FLAGS.SILENT (\\Deleted)')
    lines, _ = r.ok('EXPUNGE')
    # RFC 9051 §7.5.1: each EXPUNGE names a sequence number at that moment.
    assert len(lines) == 2, lines
    assert apply_expunges(uids, lines) == [uids[0], uids[2], uids[4]], lines
    lines, _ = r.ok('FETCH 1:* (UID)')
    assert [int(f.items['UID']) for f in fetches(lines)] == [uids[0], uids[2], uids[4]], lines
    # Nothing \Deleted: EXPUNGE does nothing.
    lines, _ = r.ok('EXPUNGE')
    assert lines == [], lines
    r.close()
    c = server().imap('expunge@example.test')
    c.select('INBOX')
    c.store('1', '+FLAGS', '(\\Deleted)')
    typ, data = c.expunge()
    assert typ == 'OK' and data == [b'1'], (typ, data)
    c.logout()


def test_uid_expunge_removes_only_the_named_deleted():
    r = login('uidexpunge')
    uids = [append(r, 'INBOX', message(i), '\\Deleted')[1] for i in range(3)]
    uids.append(append(r, 'INBOX', message(3))[1])
    r.ok('SELECT INBOX')
    lines, _ = r.ok('UID EXPUNGE %d' % uids[1])
    # RFC 4315 §2.1: only messages both \Deleted and in the set go.
    assert lines == ['* 2 EXPUNGE'], lines
    # uids[3] is named but not \Deleted: it stays.
    lines, _ = r.ok('UID EXPUNGE %d:%d' % (uids[3], uids[3]))
    assert lines == [], lines
    lines, _ = r.ok('FETCH 1:* (UID FLAGS)')
    got = [(int(f.items['UID']), f.flags()) for f in fetches(lines)]
    assert got == [(uids[0], {'\\Deleted'}), (uids[2], {'\\Deleted'}), (uids[3], set())], got
    lines, _ = r.ok('UID EXPUNGE %d,%d' % (uids[0], uids[2]))
    assert apply_expunges([uids[0], uids[2], uids[3]], lines) == [uids[3]], lines
    r.close()


def test_close_expunges_silently():
    r = login('close')
    for i in range(3):
        append(r, 'INBOX', message(i))
    r.ok('SELECT INBOX')
    r.ok('STORE 1,3 +FLAGS.SILENT (\\Deleted)')
    lines, _ = r.ok('CLOSE')
    # RFC 9051 §6.4.1: no untagged EXPUNGE responses; back to authenticated.
    assert not any('EXPUNGE' in l for l in lines), lines
    _, tagged = r.cmd('FETCH 1 FLAGS')
    assert status(tagged) in ('BAD', 'NO'), tagged
    lines, _ = r.ok('STATUS INBOX (MESSAGES)')
    assert re.match(r'^\* STATUS "?INBOX"? \(MESSAGES 1\)$', lines[0]), lines
    # CLOSE after EXAMINE expunges nothing.
    append(r, 'INBOX', message(9), '\\Deleted')
    r.ok('EXAMINE INBOX')
    r.ok('CLOSE')
    lines, _ = r.ok('STATUS INBOX (MESSAGES)')
    assert re.match(r'^\* STATUS "?INBOX"? \(MESSAGES 2\)$', lines[0]), lines
    r.close()


def test_unselect_does_not_expunge():
    r = login('unselect')
    for i in range(2):
        append(r, 'INBOX', message(i))
    r.ok('SELECT INBOX')
    r.ok('STORE 1 +FLAGS.SILENT (\\Deleted)')
    lines, _ = r.ok('UNSELECT')
    # RFC 3691: like CLOSE but without the expunge.
    assert not any('EXPUNGE' in l for l in lines), lines
    _, tagged = r.cmd('FETCH 1 FLAGS')
    assert status(tagged) in ('BAD', 'NO'), tagged
    lines, _ = r.ok('STATUS INBOX (MESSAGES)')
    assert re.match(r'^\* STATUS "?INBOX"? \(MESSAGES 2\)$', lines[0]), lines
    r.ok('SELECT INBOX')
    assert fetch1(r, '1 FLAGS').flags() == {'\\Deleted'}
    r.ok('CHECK')
    r.close()


# ---- SEARCH -----------------------------------------------------------------------------

def search_message(sender, to, subject, date, body, cc=None, bcc=None, extra=''):
    lines = ['From: %s' % sender, 'To: %s' % to]
    if cc:
        lines.append('Cc: %s' % cc)
    if bcc:
        lines.append('Bcc: %s' % bcc)
    lines += ['Subject: %s' % subject, 'Date: %s' % date]
    if extra:
        lines.append(extra)
    return ('\r\n'.join(lines) + '\r\n\r\n' + body).encode()


# Sent dates (Date:) are one day before the internal dates, so that the
# SENT* keys and the internal-date keys give different answers.
SEARCH_MESSAGES = [
    # 1
    (search_message('Alice Example <alice@example.test>', 'bob@example.test',
                    'Quarterly Report', 'Sun, 31 Dec 2023 12:00:00 +0000',
                    'The numbers are in.\r\n', cc='Carol <carol@example.test>'),
     '\\Seen \\Flagged $Work', '01-Jan-2024 12:00:00 +0000'),
    # 2: an RFC 2047 subject: "Grüße aus Köln"
    (search_message('bob@example.test', 'Alice <alice@example.test>',
                    '=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=',
                    'Wed, 14 Feb 2024 12:00:00 +0000', 'Greetings from Cologne.\r\n',
                    bcc='dave@example.test'),
     '\\Answered', '15-Feb-2024 12:00:00 +0000'),
    # 3: big, with an extra header
    (search_message('carol@example.test', 'alice@example.test', 'Lunch?',
                    'Sat, 9 Mar 2024 12:00:00 +0000',
                    'Shall we eat? ' + 'lorem ipsum dolor sit amet ' * 100 + '\r\n',
                    extra='X-Mailer: buzon-test 1.0'),
     '\\Deleted \\Draft', '10-Mar-2024 12:00:00 +0000'),
    # 4
    (search_message('dave@example.test', 'bob@example.test', 'Re: quarterly report',
                    'Fri, 19 Apr 2024 12:00:00 +0000', 'unique-token-xyzzy\r\n'),
     '', '20-Apr-2024 12:00:00 +0000'),
]

_search_uids = None


def search_box():
    """The 'search' account's INBOX selected: SEARCH_MESSAGES as 1-4, their
    UIDs one above their sequence numbers or more (a first message was
    expunged)."""
    global _search_uids
    r = login('search')
    if _search_uids is None:
        append(r, 'INBOX', message(0), '\\Deleted')
        uids = [append(r, 'INBOX', data, flags, date)[1]
                for data, flags, date in SEARCH_MESSAGES]
        r.ok('SELECT INBOX')
        r.ok('UID EXPUNGE 1:%d' % (uids[0] - 1))
        _search_uids = uids
    r.ok('SELECT INBOX')
    return r


def test_search_all_and_flags():
    r = search_box()
    # RFC 9051 §6.4.4
    expected = {
        'ALL': [1, 2, 3, 4],
        'SEEN': [1], 'UNSEEN': [2, 3, 4],
        'FLAGGED': [1], 'UNFLAGGED': [2, 3, 4],
        'DELETED': [3], 'UNDELETED': [1, 2, 4],
        'ANSWERED': [2], 'UNANSWERED': [1, 3, 4],
        'DRAFT': [3], 'UNDRAFT': [1, 2, 4],
        'KEYWORD $Work': [1], 'UNKEYWORD $Work': [2, 3, 4],
        'KEYWORD $Nothing': [],
    }
    for criteria, numbers in expected.items():
        assert search(r, criteria) == numbers, (criteria, search(r, criteria), numbers)
    r.close()


def test_search_address_and_subject_fields():
    r = search_box()
    # RFC 9051 §6.4.4: case-insensitive substring of the header field.
    expected = {
        'FROM alice': [1], 'FROM "ALICE EXAMPLE"': [1], 'FROM example.test': [1, 2, 3, 4],
        'FROM nobody': [],
        'TO alice': [2, 3], 'TO BOB@EXAMPLE.TEST': [1, 4],
        'CC carol': [1], 'CC alice': [],
        'BCC dave': [2], 'BCC bob': [],
        'SUBJECT quarterly': [1, 4], 'SUBJECT "REPORT"': [1, 4], 'SUBJECT lunch': [3],
        'SUBJECT "re: q"': [4],
        'HEADER X-Mailer buzon': [3], 'HEADER x-mailer "TEST 1.0"': [3],
        'HEADER X-Mailer ""': [3],   # "" matches every message with the field
        'HEADER X-Not-There ""': [],
        'HEADER Subject report': [1, 4],
    }
    for criteria, numbers in expected.items():
        assert search(r, criteria) == numbers, (criteria, search(r, criteria), numbers)
    r.close()


def test_search_decoded_utf8_subject():
    r = search_box()
    word = 'Köln'.encode('utf-8')
    # The RFC 2047 subject is matched by its decoded text (RFC 9051 §6.4.4).
    got = search(r, b'CHARSET UTF-8 SUBJECT {%d+}\r\n%s' % (len(word), word))
    assert got == [2], got
    phrase = 'Grüße aus'.encode('utf-8')
    got = search(r, b'CHARSET UTF-8 SUBJECT "%s"' % phrase)
    assert got == [2], got
    assert search(r, 'CHARSET UTF-8 SUBJECT aus') == [2]
    assert search(r, 'CHARSET US-ASCII SUBJECT aus') == [2]
    # An unknown charset: NO [BADCHARSET] (§6.4.4).
    _, tagged = r.cmd('SEARCH CHARSET X-NO-SUCH-CHARSET SUBJECT aus')
    assert re.match(r'^a\d+ NO \[BADCHARSET', tagged), tagged
    r.close()


def test_search_body_and_text():
    r = search_box()
    expected = {
        'BODY numbers': [1], 'BODY XYZZY': [4], 'BODY "lorem ipsum"': [3],
        'BODY lunch': [],          # only in the Subject
        'TEXT lunch': [3],         # TEXT searches header and body
        'TEXT xyzzy': [4],
        'TEXT "alice@example"': [1, 2, 3],
        'BODY nothing-like-this': [],
    }
    for criteria, numbers in expected.items():
        assert search(r, criteria) == numbers, (criteria, search(r, criteria), numbers)
    r.close()


def test_search_dates():
    r = search_box()
    # Internal dates: 1-Jan, 15-Feb, 10-Mar, 20-Apr 2024; sent dates one
    # day earlier. Time and zone are disregarded (RFC 9051 §6.4.4).
    expected = {
        'BEFORE 15-Feb-2024': [1], 'ON 15-Feb-2024': [2], 'SINCE 15-Feb-2024': [2, 3, 4],
        'ON 14-Feb-2024': [], 'BEFORE 1-Jan-2024': [], 'SINCE 21-Apr-2024': [],
        'SENTBEFORE 14-Feb-2024': [1], 'SENTON 14-Feb-2024': [2],
        'SENTSINCE 14-Feb-2024': [2, 3, 4], 'SENTON 15-Feb-2024': [],
        'SENTSINCE 1-Jan-2024': [2, 3, 4], 'SENTBEFORE 1-Jan-2024': [1],
        'SINCE 1-Jan-2024 BEFORE 1-Apr-2024': [1, 2, 3],
        'ON "10-Mar-2024"': [3],
    }
    for criteria, numbers in expected.items():
        assert search(r, criteria) == numbers, (criteria, search(r, criteria), numbers)
    r.close()


def test_search_sizes():
    r = search_box()
    sizes = [len(data) for data, _, _ in SEARCH_MESSAGES]
    big = sizes[2]
    assert big > 2000 and max(sizes[0], sizes[1], sizes[3]) < 1000, sizes
    expected = {
        'LARGER 2000': [3], 'SMALLER 2000': [1, 2, 4],
        # strictly larger / smaller than the RFC822.SIZE
        'LARGER %d' % big: [], 'LARGER %d' % (big - 1): [3],
        'SMALLER %d' % sizes[0]: sorted(i + 1 for i, s in enumerate(sizes) if s < sizes[0]),
        'SMALLER %d' % (sizes[0] + 1): sorted(i + 1 for i, s in enumerate(sizes)
                                              if s <= sizes[0]),
    }
    for criteria, numbers in expected.items():
        assert search(r, criteria) == numbers, (criteria, search(r, criteria), numbers)
    r.close()


def test_search_sets_and_uids():
    r = search_box()
    u = _search_uids
    expected = {
        '2,4': [2, 4], '2:3': [2, 3], '3:*': [3, 4], '*': [4], '4:2': [2, 3, 4],
        '1:*': [1, 2, 3, 4],
        'UID %d' % u[1]: [2], 'UID %d:%d' % (u[1], u[2]): [2, 3],
        'UID %d,%d' % (u[0], u[3]): [1, 4],
        'UID %d:*' % (u[3] + 1000): [4],     # a range ending in * has the last
        'UID 1:%d' % (u[0] - 1): [],         # the expunged UIDs are nothing
        '1:2 UID %d:*' % u[1]: [2],
    }
    for criteria, numbers in expected.items():
        assert search(r, criteria) == numbers, (criteria, search(r, criteria), numbers)
    r.close()


def test_search_and_or_not():
    r = search_box()
    expected = {
        'OR SEEN ANSWERED': [1, 2],
        'NOT SEEN': [2, 3, 4],
        'FROM example.test NOT DELETED': [1, 2, 4],   # juxtaposition is AND
        'OR (SEEN FLAGGED) (TO alice DELETED)': [1, 3],
        'NOT OR SEEN DELETED': [2, 4],
        '(OR ANSWERED DRAFT) SINCE 1-Mar-2024': [3],
        'OR OR SEEN ANSWERED DRAFT': [1, 2, 3],
        'NOT NOT SEEN': [1],
        '((SEEN))': [1],
        'SUBJECT report NOT FROM dave': [1],
        'OR SUBJECT lunch BODY xyzzy': [3, 4],
        'NOT (UNDELETED UNSEEN)': [1, 3],
    }
    for criteria, numbers in expected.items():
        assert search(r, criteria) == numbers, (criteria, search(r, criteria), numbers)
    r.close()


def test_uid_search_returns_uids():
    r = search_box()
    u = _search_uids
    # RFC 9051 §6.4.9: UID SEARCH answers with UIDs.
    assert search(r, 'UID SEARCH ALL') == u
    assert search(r, 'UID SEARCH SEEN') == [u[0]]
    assert search(r, 'UID SEARCH OR ANSWERED DRAFT') == [u[1], u[2]]
    assert search(r, 'UID SEARCH 2:3') == [u[1], u[2]]          # sequence numbers in
    assert search(r, 'UID SEARCH UID %d:*' % u[2]) == [u[2], u[3]]
    assert search(r, 'UID SEARCH SUBJECT nothing-matches') == []
    r.close()


def test_search_bad_syntax_is_bad():
    r = search_box()
    for criteria in ('FROBNICATE', 'OR SEEN', 'BEFORE notadate', 'LARGER x', '(SEEN',
                     'NOT'):
        _, tagged = r.cmd('SEARCH ' + criteria)
        assert status(tagged) == 'BAD', (criteria, tagged)
    r.ok('NOOP')
    r.close()


def test_esearch_return_options():
    r = search_box()
    # RFC 4731 §3.1: RETURN (MIN MAX COUNT ALL) in one ESEARCH response with
    # the command's tag; RETURN () means ALL; UID SEARCH marks the data UID.
    lines, tagged = r.ok('SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN')
    tag = tagged.split(' ', 1)[0]
    assert lines == ['* ESEARCH (TAG "%s") MIN 2 MAX 4 COUNT 3 ALL 2:4' % tag], lines
    lines, tagged = r.ok('UID SEARCH RETURN () SEEN')
    tag = tagged.split(' ', 1)[0]
    assert lines == ['* ESEARCH (TAG "%s") UID ALL %d' % (tag, _search_uids[0])], lines
    lines, tagged = r.ok('SEARCH RETURN (COUNT) KEYWORD $Nothing')
    tag = tagged.split(' ', 1)[0]
    assert lines == ['* ESEARCH (TAG "%s") COUNT 0' % tag], lines
    r.close()


def test_search_with_imaplib():
    search_box().close()
    c = server().imap('search@example.test')
    c.select('INBOX', readonly=True)
    typ, data = c.search(None, 'FROM', '"alice"')
    assert typ == 'OK' and data == [b'1'], (typ, data)
    typ, data = c.uid('SEARCH', 'UNSEEN')
    assert typ == 'OK', (typ, data)
    assert [int(x) for x in data[0].split()] == _search_uids[1:], data
    c.logout()


def test_server_stops_cleanly():
    """Last: SIGTERM the module's server; exit 0 and no sanitizer report."""
    server()
    server.stop()


if __name__ == '__main__':
    harness.main()
