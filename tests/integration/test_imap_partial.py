"""PARTIAL (RFC 9394): paged SEARCH / UID SEARCH and SORT results with
RETURN (PARTIAL first:last), counted from the first result or, negative,
from the last; the PARTIAL UID FETCH modifier (also with CHANGEDSINCE);
PARTIAL with SAVE (the "$" of RFC 9394 §3.2 table 1); and the errors."""
import imaplib
import re

import harness

USER = 'alice@example.test'
PASSWORD = 'partial-pw'
COUNT = 30

server = harness.ModuleServer(accounts={USER: PASSWORD})


def fill(r, mailbox):
    """COUNT messages, UIDs 1..COUNT; every third one \\Flagged; subjects
    so that SORT SUBJECT is the reverse of arrival."""
    r.ok('CREATE %s' % mailbox)
    for i in range(1, COUNT + 1):
        flags = '\\Flagged' if i % 3 == 0 else ''
        r.append(mailbox, b'Subject: s%03d\r\n\r\nmessage %d\r\n' % (COUNT - i, i), flags=flags)
    r.ok('SELECT %s' % mailbox)


def esearch(r, command):
    untagged, _ = r.ok(command)
    lines = [l for l in untagged if l.startswith('* ESEARCH')]
    assert len(lines) == 1, (command, untagged)
    return lines[0]


def partial_of(line):
    m = re.search(r' PARTIAL \((\S+) (\S+)\)', line)
    assert m, line
    return m.group(1), m.group(2)


def test_capability():
    r = server().raw(USER, PASSWORD)
    assert 'PARTIAL' in r.ok('CAPABILITY')[0][0].split()
    r.close()


def test_search_pages_from_the_start_and_from_the_end():
    r = server().raw(USER, PASSWORD)
    fill(r, 'Pages')
    assert partial_of(esearch(r, 'UID SEARCH RETURN (PARTIAL 1:5) ALL')) == ('1:5', '1:5')
    assert partial_of(esearch(r, 'UID SEARCH RETURN (PARTIAL -1:-3) ALL')) == ('-1:-3', '28:30')
    # reversed bounds mean the same range, echoed as asked
    assert partial_of(esearch(r, 'UID SEARCH RETURN (PARTIAL 5:1) ALL')) == ('5:1', '1:5')
    assert partial_of(esearch(r, 'UID SEARCH RETURN (PARTIAL -3:-1) ALL')) == ('-3:-1', '28:30')
    # a range running past the end gives what there is; one beyond gives NIL
    assert partial_of(esearch(r, 'UID SEARCH RETURN (PARTIAL 25:40) ALL')) == ('25:40', '25:30')
    assert partial_of(esearch(r, 'UID SEARCH RETURN (PARTIAL 31:40) ALL')) == ('31:40', 'NIL')
    assert partial_of(esearch(r, 'UID SEARCH RETURN (PARTIAL -29:-40) ALL')) == ('-29:-40', '1:2')
    assert partial_of(esearch(r, 'UID SEARCH RETURN (PARTIAL -31:-40) ALL')) == ('-31:-40', 'NIL')
    # positions count results, not UIDs: the flagged ones are 3,6,...,30
    line = esearch(r, 'UID SEARCH RETURN (PARTIAL 2:3 COUNT MIN MAX) FLAGGED')
    assert partial_of(line) == ('2:3', '6,9'), line
    assert ' COUNT 10' in line and ' MIN 3' in line and ' MAX 30' in line, line
    assert partial_of(esearch(r, 'UID SEARCH RETURN (PARTIAL -1:-2) FLAGGED')) == \
        ('-1:-2', '27,30')
    # sequence numbers for SEARCH; no UID marker
    r.ok('STORE 1 +FLAGS.SILENT (\\Deleted)')
    r.ok('EXPUNGE')
    line = esearch(r, 'SEARCH RETURN (PARTIAL -1:-2) ALL')
    assert ' UID ' not in line and partial_of(line) == ('-1:-2', '28:29'), line
    line = esearch(r, 'UID SEARCH RETURN (PARTIAL 1:2) ALL')
    assert partial_of(line) == ('1:2', '2:3'), line
    r.close()


def test_search_partial_errors_are_bad():
    r = server().raw(USER, PASSWORD)
    r.ok('SELECT INBOX')
    for bad in ['PARTIAL 0:5', 'PARTIAL -1:5', 'PARTIAL 1:-5', 'PARTIAL 1', 'PARTIAL',
                'PARTIAL 1:5 ALL', 'ALL PARTIAL 1:5', 'PARTIAL 1:5 PARTIAL 6:9',
                'PARTIAL 1:*', 'PARTIAL 1:4294967296']:
        _, tagged = r.cmd('UID SEARCH RETURN (%s) ALL' % bad)
        assert harness.status(tagged) == 'BAD', (bad, tagged)
    r.ok('NOOP')
    r.close()


def test_save_keeps_the_page_unless_count_is_asked():
    r = server().raw(USER, PASSWORD)
    fill(r, 'Saved')
    untagged, _ = r.ok('UID SEARCH RETURN (SAVE PARTIAL 4:6) ALL')
    assert partial_of([l for l in untagged if 'ESEARCH' in l][0]) == ('4:6', '4:6')
    untagged, _ = r.ok('UID SEARCH UID $')
    assert untagged == ['* SEARCH 4 5 6'], untagged
    r.ok('UID SEARCH RETURN (SAVE PARTIAL 4:6 MIN MAX) ALL')
    untagged, _ = r.ok('UID SEARCH UID $')
    assert untagged == ['* SEARCH 1 4 5 6 30'], untagged
    r.ok('UID SEARCH RETURN (SAVE PARTIAL 4:6 COUNT) FLAGGED')
    untagged, _ = r.ok('UID SEARCH UID $')
    assert untagged == ['* SEARCH ' + ' '.join(str(u) for u in range(3, 31, 3))], untagged
    r.close()


def test_sort_pages_in_sort_order():
    r = server().raw(USER, PASSWORD)
    fill(r, 'Sorted')
    # subjects run backwards: SORT SUBJECT puts UID 30 first
    line = esearch(r, 'UID SORT RETURN (PARTIAL 1:3) (SUBJECT) UTF-8 ALL')
    assert partial_of(line) == ('1:3', '30,29,28') or partial_of(line) == ('1:3', '30:28'), line
    line = esearch(r, 'UID SORT RETURN (PARTIAL -1:-2 COUNT) (SUBJECT) UTF-8 ALL')
    assert partial_of(line) == ('-1:-2', '2,1') and ' COUNT 30' in line, line
    line = esearch(r, 'UID SORT RETURN (PARTIAL 2:3) (REVERSE SUBJECT) UTF-8 FLAGGED')
    assert partial_of(line) == ('2:3', '6,9'), line
    line = esearch(r, 'SORT RETURN (PARTIAL 40:41) (ARRIVAL) UTF-8 ALL')
    assert partial_of(line) == ('40:41', 'NIL'), line
    r.ok('UID SORT RETURN (SAVE PARTIAL 1:2) (SUBJECT) UTF-8 ALL')
    untagged, _ = r.ok('UID SEARCH UID $')
    assert untagged == ['* SEARCH 29 30'], untagged
    r.close()


def test_uid_fetch_partial_modifier():
    r = server().raw(USER, PASSWORD)
    fill(r, 'Fetched')
    untagged, _ = r.ok('UID FETCH 1:* (UID FLAGS) (PARTIAL -1:-3)')
    assert [re.search(r'UID (\d+)', l).group(1) for l in untagged] == ['28', '29', '30'], untagged
    untagged, _ = r.ok('UID FETCH 10:20 (UID) (PARTIAL 1:2)')
    assert [re.search(r'UID (\d+)', l).group(1) for l in untagged] == ['10', '11'], untagged
    untagged, _ = r.ok('UID FETCH 10:20 (UID) (PARTIAL 20:30)')
    assert untagged == [], untagged
    # RFC 9394 §3.4: the range first, then CHANGEDSINCE among those
    untagged, _ = r.ok('UID FETCH 1:* (MODSEQ)')
    since = max(int(m) for m in re.findall(r'MODSEQ \((\d+)\)', ' '.join(untagged)))
    r.ok('UID STORE 29 +FLAGS (\\Seen)')
    untagged, _ = r.ok('UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE %d PARTIAL -1:-3)' % since)
    assert len(untagged) == 1 and 'UID 29' in untagged[0], untagged
    untagged, _ = r.ok('UID FETCH 1:* (UID FLAGS) (PARTIAL 1:5 CHANGEDSINCE %d)' % since)
    assert untagged == [], untagged
    # only UID FETCH takes it (RFC 9394 §3.3), and once
    for bad in ['FETCH 1:* (UID) (PARTIAL 1:2)', 'UID FETCH 1:* (UID) (PARTIAL 0:2)',
                'UID FETCH 1:* (UID) (PARTIAL 1:2 PARTIAL 3:4)', 'UID FETCH 1:* (UID) (PARTIAL)']:
        _, tagged = r.cmd(bad)
        assert harness.status(tagged) == 'BAD', (bad, tagged)
    r.close()


def test_imaplib_pages_through_a_mailbox():
    s = server()
    c = imaplib.IMAP4('127.0.0.1', s.ports['imap'])
    c.login(USER, PASSWORD)
    c.select('Fetched')
    typ, data = c.uid('FETCH', '1:*', '(UID) (PARTIAL -1:-2)')
    assert typ == 'OK' and len(data) == 2, data
    typ, data = c.uid('SEARCH', 'RETURN', '(PARTIAL', '1:3)', 'ALL')
    assert typ == 'OK', data
    esearch_data = c.untagged_responses.get('ESEARCH', [])
    assert any(b'PARTIAL (1:3 1:3)' in d for d in esearch_data), (data, esearch_data)
    c.logout()


def test_server_stops_cleanly():
    server()
    server.stop()


if __name__ == '__main__':
    harness.main()
