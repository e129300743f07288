"""test_imap_sort: SORT and UID SORT (RFC 5256 §3) with every sort key,
REVERSE, search criteria and charsets; ESORT (RFC 5267: SORT RETURN
answered with ESEARCH, in sort order); DISPLAYFROM / DISPLAYTO (RFC 5957);
THREAD and UID THREAD with ORDEREDSUBJECT and REFERENCES on replies with
References and In-Reply-To, a missing parent and subject-only threads. The
expected orders are worked out by hand from the RFC in the comments.

One server for the module; each mailbox lives in its own account."""

import harness
from harness import status

ACCOUNTS = {'sort@example.test': 'pw-sort', 'thread@example.test': 'pw-thread',
            'errors@example.test': 'pw-errors'}

server = harness.ModuleServer(accounts=ACCOUNTS)


def message(headers, body='body\r\n'):
    return (''.join('%s: %s\r\n' % h for h in headers) + '\r\n' + body).encode()


# Sequence number -> (message, internal date). Worked out per key:
#   ARRIVAL  internal dates 05, 03, 02, 01 Jan          -> 4 3 2 1
#   DATE     1: Jan 1 10:00Z; 2: Dec 31 23:00 -0800 = Jan 1 07:00Z;
#            3: no Date:, so its internal date Jan 2 00:00Z; 4: Jan 2 12:00Z
#                                                          -> 2 1 3 4
#   FROM     mailboxes zed, alpha, mike, BOB (case-insensitive)
#                                                          -> 2 4 3 1
#   DISPLAYFROM  "Aardvark", "Alpha, Al", mike@x (no name), "Bob"
#                                                          -> 1 2 4 3
#   TO       bob, zoe, adam, none ("" first)               -> 4 3 1 2
#   CC       carol, none, bea, none                        -> 2 4 3 1
#   SUBJECT  "Re: apple" -> apple; "banana";
#            "[list] Fwd: Apple (fwd)" -> apple; none -> "" -> 4 1 3 2
SORT_MESSAGES = [
    (message([('Date', 'Mon, 1 Jan 2024 10:00:00 +0000'), ('From', 'Aardvark <zed@x.test>'),
              ('To', 'bob@x.test'), ('Cc', 'carol@x.test'), ('Subject', 'Re: apple')]),
     '05-Jan-2024 00:00:00 +0000'),
    (message([('Date', 'Sun, 31 Dec 2023 23:00:00 -0800'),
              ('From', '"Alpha, Al" <alpha@x.test>'), ('To', 'Zoe <zoe@x.test>'),
              ('Subject', 'banana')], 'a longer body\r\n' * 40),
     '03-Jan-2024 00:00:00 +0000'),
    (message([('From', 'mike@x.test'), ('To', 'Adam <adam@x.test>'), ('Cc', 'Bea <bea@x.test>'),
              ('Subject', '[list] Fwd: Apple (fwd)')], 'medium body\r\n' * 10),
     '02-Jan-2024 00:00:00 +0000'),
    (message([('Date', 'Tue, 2 Jan 2024 12:00:00 +0000'), ('From', 'Bob <BOB@x.test>')],
             'the biggest body\r\n' * 100),
     '01-Jan-2024 00:00:00 +0000'),
]

_boxes = {}


def box(user, messages):
    """A Raw connection with user's INBOX filled once and selected."""
    r = server().raw(user, ACCOUNTS[user])
    if user not in _boxes:
        uids = []
        for data, date in messages:
            _, tagged = r.append('INBOX', data, date=date)
            uids.append(int(harness.appenduid(tagged)[1]))
        _boxes[user] = uids
    r.ok('SELECT INBOX')
    return r


def numbers(lines, name='SORT'):
    found = [l for l in lines if l.startswith('* %s' % name)]
    assert len(found) == 1, lines
    return [int(x) for x in found[0].split()[2:]]


def sort(r, args):
    lines, tagged = r.ok('SORT %s' % args)
    return numbers(lines)


def test_capability_lists_sort_and_thread():
    r = server().raw('sort@example.test', 'pw-sort')
    lines, _ = r.ok('CAPABILITY')
    caps = lines[0].split()
    for cap in ('SORT', 'SORT=DISPLAY', 'ESORT', 'THREAD=ORDEREDSUBJECT', 'THREAD=REFERENCES'):
        assert cap in caps, (cap, lines)
    r.close()


def test_sort_by_each_key():
    r = box('sort@example.test', SORT_MESSAGES)
    assert sort(r, '(ARRIVAL) UTF-8 ALL') == [4, 3, 2, 1]
    assert sort(r, '(DATE) UTF-8 ALL') == [2, 1, 3, 4]
    assert sort(r, '(FROM) UTF-8 ALL') == [2, 4, 3, 1]
    assert sort(r, '(DISPLAYFROM) UTF-8 ALL') == [1, 2, 4, 3]
    assert sort(r, '(TO) UTF-8 ALL') == [4, 3, 1, 2]
    assert sort(r, '(DISPLAYTO) US-ASCII ALL') == [4, 3, 1, 2]
    assert sort(r, '(CC) UTF-8 ALL') == [2, 4, 3, 1]
    assert sort(r, '(SUBJECT) UTF-8 ALL') == [4, 1, 3, 2]
    r.close()


def test_sort_by_size_matches_rfc822_size():
    r = box('sort@example.test', SORT_MESSAGES)
    lines, _ = r.ok('FETCH 1:* RFC822.SIZE')
    sizes = {}
    for line in lines:
        parts = line.replace('(', ' ').replace(')', ' ').split()
        sizes[int(parts[1])] = int(parts[parts.index('RFC822.SIZE') + 1])
    assert sort(r, '(SIZE) UTF-8 ALL') == sorted(sizes, key=lambda n: (sizes[n], n))
    assert sort(r, '(REVERSE SIZE) UTF-8 ALL') == sorted(sizes, key=lambda n: (-sizes[n], n))
    r.close()


def test_reverse_and_several_criteria():
    r = box('sort@example.test', SORT_MESSAGES)
    assert sort(r, '(REVERSE ARRIVAL) UTF-8 ALL') == [1, 2, 3, 4]
    # 1 and 3 share the base subject "apple": by sent date, reversed
    assert sort(r, '(SUBJECT REVERSE DATE) UTF-8 ALL') == [4, 3, 1, 2]
    # REVERSE does not reverse the implicit sequence-number tie-break
    assert sort(r, '(REVERSE SUBJECT) UTF-8 ALL') == [2, 1, 3, 4]
    assert sort(r, '(reverse date) utf-8 all') == [4, 3, 1, 2]
    r.close()


def test_sort_takes_search_criteria():
    r = box('sort@example.test', SORT_MESSAGES)
    assert sort(r, '(DATE) UTF-8 FROM "bob"') == [4]
    assert sort(r, '(DATE) UTF-8 SUBJECT apple') == [1, 3]
    assert sort(r, '(DATE) UTF-8 2:4') == [2, 3, 4]
    assert sort(r, '(DATE) UTF-8 SUBJECT "not in mailbox"') == []
    lines, _ = r.ok('SORT (DATE) UTF-8 OR FROM zed FROM mike')
    assert lines == ['* SORT 1 3'], lines
    r.close()


def test_uid_sort_answers_uids():
    r = box('sort@example.test', SORT_MESSAGES)
    uids = _boxes['sort@example.test']
    lines, tagged = r.ok('UID SORT (DATE) UTF-8 ALL')
    assert numbers(lines) == [uids[1], uids[0], uids[2], uids[3]], lines
    # search criteria of UID SORT still take sequence numbers
    lines, _ = r.ok('UID SORT (ARRIVAL) UTF-8 1:2')
    assert numbers(lines) == [uids[1], uids[0]], lines
    r.close()


def test_esort_return_options():
    r = box('sort@example.test', SORT_MESSAGES)
    lines, tagged = r.ok('SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL')
    tag = tagged.split()[0]
    # MIN / MAX are the first and last in sort order; ALL keeps the order
    assert lines == ['* ESEARCH (TAG "%s") MIN 2 MAX 4 COUNT 4 ALL 2,1,3:4' % tag], lines
    lines, tagged = r.ok('SORT RETURN () (ARRIVAL) UTF-8 ALL')
    assert lines == ['* ESEARCH (TAG "%s") ALL 4,3,2,1' % tagged.split()[0]], lines
    lines, tagged = r.ok('SORT RETURN (COUNT) (ARRIVAL) UTF-8 SUBJECT nothing')
    assert lines == ['* ESEARCH (TAG "%s") COUNT 0' % tagged.split()[0]], lines
    uids = _boxes['sort@example.test']
    lines, tagged = r.ok('UID SORT RETURN (MIN MAX) (REVERSE ARRIVAL) UTF-8 ALL')
    assert lines == ['* ESEARCH (TAG "%s") UID MIN %d MAX %d'
                     % (tagged.split()[0], uids[0], uids[3])], lines
    r.close()


def test_sort_and_searchres():
    """RFC 5182: "$" in SORT / THREAD criteria; SORT RETURN (SAVE) keeps
    the matches (as a set) and answers nothing else unless asked."""
    r = box('sort@example.test', SORT_MESSAGES)
    lines, _ = r.ok('SEARCH RETURN (SAVE) SUBJECT apple')
    assert lines == [], lines
    assert sort(r, '(REVERSE DATE) UTF-8 $') == [3, 1]
    assert thread(r, 'ORDEREDSUBJECT UTF-8 $') == '(1 3)'
    lines, _ = r.ok('SORT RETURN (SAVE) (DATE) UTF-8 FROM alpha')
    assert lines == [], lines
    lines, _ = r.ok('SEARCH $')
    assert lines == ['* SEARCH 2'], lines
    lines, tagged = r.ok('SORT RETURN (SAVE MIN) (REVERSE ARRIVAL) UTF-8 2:4')
    assert lines == ['* ESEARCH (TAG "%s") MIN 2' % tagged.split()[0]], lines
    lines, _ = r.ok('SEARCH $')
    assert lines == ['* SEARCH 2 3 4'], lines
    r.close()


def test_sort_errors():
    r = box('sort@example.test', SORT_MESSAGES)
    for bad in ('SORT (FOO) UTF-8 ALL', 'SORT () UTF-8 ALL', 'SORT DATE UTF-8 ALL',
                'SORT (DATE) UTF-8', 'SORT (DATE) ALL', 'SORT (REVERSE) UTF-8 ALL',
                'SORT (DATE) UTF-8 ALL)', 'SORT RETURN (BOGUS) (DATE) UTF-8 ALL'):
        lines, tagged = r.cmd(bad)
        assert status(tagged) == 'BAD', (bad, lines, tagged)
    lines, tagged = r.cmd('SORT (DATE) KOI8-R ALL')
    assert status(tagged) == 'NO' and '[BADCHARSET' in tagged, tagged
    r.ok('UNSELECT')
    lines, tagged = r.cmd('SORT (DATE) UTF-8 ALL')
    assert status(tagged) == 'BAD', tagged
    r.close()


# ---- THREAD -----------------------------------------------------------------------

def thread_message(msgid, subject, date, refs=None, reply_to=None):
    headers = [('Message-ID', msgid), ('Subject', subject), ('From', 'x@x.test'),
               ('Date', date)]
    if refs:
        headers.append(('References', refs))
    if reply_to:
        headers.append(('In-Reply-To', reply_to))
    return message(headers), '10-Jan-2024 00:00:00 +0000'


# REFERENCES, by RFC 5256 §3:
#   1 <a> "topic" 10:00;  2 <b> In-Reply-To <a> 11:00 -> child of 1
#   3 <c> References <a> <b> 12:00 -> child of 2;  8 <h> References <b> 11:30
#   -> child of 2, before 3 by date
#   4 <d>, 5 <e> both References <missing>: a dummy with two children stays
#   under the root as ((4)(5)), dated by 4 (09:00)
#   6 "Re: subject only" 08:00 and 7 "subject only" Jan 2: no links; step 5
#   merges them under 7, the one that is not a reply: (7 6)
#   root order by date: dummy (09:00), 1 (10:00), 7 (Jan 2)
# ORDEREDSUBJECT: base subjects "topic" (1 2 8 3 by date), "orphan reply"
#   (4 5), "subject only" (6 7); threads by their first date: 6, 4, 1.
THREAD_MESSAGES = [
    thread_message('<a@x.test>', 'topic', 'Mon, 1 Jan 2024 10:00:00 +0000'),
    thread_message('<b@x.test>', 'Re: topic', 'Mon, 1 Jan 2024 11:00:00 +0000',
                   reply_to='<a@x.test>'),
    thread_message('<c@x.test>', 'Re: topic', 'Mon, 1 Jan 2024 12:00:00 +0000',
                   refs='<a@x.test> <b@x.test>'),
    thread_message('<d@x.test>', 'orphan reply', 'Mon, 1 Jan 2024 09:00:00 +0000',
                   refs='<missing@x.test>'),
    thread_message('<e@x.test>', 'Re: orphan reply', 'Mon, 1 Jan 2024 13:00:00 +0000',
                   refs='<missing@x.test>'),
    thread_message('<f@x.test>', 'Re: subject only', 'Mon, 1 Jan 2024 08:00:00 +0000'),
    thread_message('<g@x.test>', 'subject only', 'Tue, 2 Jan 2024 08:00:00 +0000'),
    thread_message('<h@x.test>', 'Re: topic', 'Mon, 1 Jan 2024 11:30:00 +0000',
                   refs='<"b"@x.test>'),
]


def thread(r, args, uid=False):
    lines, _ = r.ok('%sTHREAD %s' % ('UID ' if uid else '', args))
    found = [l for l in lines if l.startswith('* THREAD')]
    assert len(found) == 1, lines
    return found[0][len('* THREAD'):].strip()


def test_thread_references():
    r = box('thread@example.test', THREAD_MESSAGES)
    assert thread(r, 'REFERENCES UTF-8 ALL') == '((4)(5))(1 2 (8)(3))(7 6)'
    r.close()


def test_thread_orderedsubject():
    r = box('thread@example.test', THREAD_MESSAGES)
    assert thread(r, 'ORDEREDSUBJECT UTF-8 ALL') == '(6 7)(4 5)(1 (2)(8)(3))'
    r.close()


def test_thread_with_search_criteria_and_uids():
    r = box('thread@example.test', THREAD_MESSAGES)
    assert thread(r, 'REFERENCES US-ASCII SUBJECT orphan') == '((4)(5))'
    # without 2 (not searched, so a dummy), its children 3 and 8 are
    # promoted to children of 1 when the dummy is pruned
    assert thread(r, 'REFERENCES UTF-8 NOT 2') == '((4)(5))(1 (8)(3))(7 6)'
    assert thread(r, 'ORDEREDSUBJECT UTF-8 SUBJECT nothing') == ''
    u = _boxes['thread@example.test']
    assert thread(r, 'REFERENCES UTF-8 1:3', uid=True) == '(%d %d %d)' % (u[0], u[1], u[2])
    r.close()


def test_thread_errors():
    r = box('thread@example.test', THREAD_MESSAGES)
    lines, tagged = r.cmd('THREAD FOO UTF-8 ALL')
    assert status(tagged) == 'BAD', tagged
    lines, tagged = r.cmd('THREAD REFERENCES UTF-8')
    assert status(tagged) == 'BAD', tagged
    lines, tagged = r.cmd('THREAD REFERENCES KOI8-R ALL')
    assert status(tagged) == 'NO' and '[BADCHARSET' in tagged, tagged
    r.close()


def test_server_stops_cleanly():
    """Last: SIGTERM the module's server; exit 0 and no sanitizer report."""
    server()
    server.stop()


if __name__ == '__main__':
    harness.main()
