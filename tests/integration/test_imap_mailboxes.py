"""test_imap_mailboxes: managing mailboxes as clients see it (RFC 9051
§6.3, RFC 3501 §6.3.8-9 LSUB, RFC 3348 CHILDREN, RFC 6154 SPECIAL-USE,
RFC 2342 NAMESPACE): the default folders, CREATE, DELETE, RENAME (and
INBOX's special rename), SUBSCRIBE/UNSUBSCRIBE/LSUB, LIST patterns and
attributes, STATUS, modified UTF-7 names, SELECT/EXAMINE, and UIDVALIDITY
staying put across reconnects and restarts.

One server for the module; every test logs in as its own account so that
tests cannot see each other's folders."""

import re

import harness
from harness import appenduid, parse_values, quote, status

# One account per test (default folders appear at each account's first login).
USERS = ('defaults', 'listroot', 'namespace', 'create', 'delete', 'noselect', 'rename',
         'renameinbox', 'subscribe', 'wildcards', 'status', 'utf7', 'select', 'examine',
         'selectmissing', 'uidvalidity', 'enable')
ACCOUNTS = {'%s@example.test' % u: 'pw-%s' % u for u in USERS}

SPECIAL_USE = {'Sent': '\\Sent', 'Drafts': '\\Drafts', 'Trash': '\\Trash', 'Junk': '\\Junk',
               'Archive': '\\Archive'}
SYSTEM_FLAGS = {'\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'}


server = harness.ModuleServer(accounts=ACCOUNTS)


def login(user):
    """A Raw connection logged in as user (short name or address)."""
    address = user if '@' in user else '%s@example.test' % user
    return server().raw(address, ACCOUNTS[address])


def message(n, subject='test'):
    return ('From: a@example.test\r\nTo: b@example.test\r\nSubject: %s %d\r\n'
            'Message-ID: <%d.%s@example.test>\r\n\r\nBody %d\r\n'
            % (subject, n, n, subject.replace(' ', '-'), n)).encode()


def append(r, box, data, flags=''):
    """APPEND with a LITERAL+ literal; returns (uidvalidity, uid) from
    APPENDUID (RFC 4315)."""
    return appenduid(r.append(box, data, flags)[1])


# ---- response parsing -------------------------------------------------------------

def list_result(lines, verb='LIST'):
    """{name: set(attributes)} from untagged LIST/LSUB lines; checks the
    separator is "/"."""
    found = {}
    prefix = '* %s ' % verb
    for line in lines:
        if not line.startswith(prefix):
            continue
        attrs, sep, name = parse_values(line[len(prefix):])
        assert sep == '/', line
        assert name not in found, ('listed twice', name, lines)
        found[name] = set(attrs)
    return found


def do_list(r, ref, pattern, verb='LIST'):
    lines, _ = r.ok('%s %s %s' % (verb, quote(ref), quote(pattern)))
    return list_result(lines, verb)


def status_items(r, box, items='MESSAGES UIDNEXT UIDVALIDITY UNSEEN'):
    """STATUS as a dict {item: int}; checks the response names box."""
    lines, _ = r.ok('STATUS %s (%s)' % (quote(box), items))
    st = [l for l in lines if l.startswith('* STATUS ')]
    assert len(st) == 1, lines
    name, values = parse_values(st[0][len('* STATUS '):])
    assert name == box, (name, box)
    return {values[i].upper(): int(values[i + 1]) for i in range(0, len(values), 2)}


def select_info(lines):
    """The SELECT/EXAMINE untagged data as a dict."""
    info = {'other': []}
    for line in lines:
        if m := re.match(r'^\* FLAGS \((.*)\)$', line):
            info['FLAGS'] = set(m.group(1).split())
        elif m := re.match(r'^\* OK \[PERMANENTFLAGS \((.*)\)\]', line):
            info['PERMANENTFLAGS'] = set(m.group(1).split())
        elif m := re.match(r'^\* (\d+) (EXISTS|RECENT)$', line):
            info[m.group(2)] = int(m.group(1))
        elif m := re.match(r'^\* OK \[(UIDVALIDITY|UIDNEXT|UNSEEN) (\d+)\]', line):
            info[m.group(1)] = int(m.group(2))
        else:
            info['other'].append(line)
    return info


# ---- default folders and LIST basics --------------------------------------------------

def test_default_folders_after_first_login():
    r = login('defaults')
    found = do_list(r, '', '*')
    assert set(found) == {'INBOX'} | set(SPECIAL_USE), found
    # RFC 6154 §2: the special-use attribute on each; INBOX has none.
    for name, use in SPECIAL_USE.items():
        assert use in found[name], (name, found[name])
        others = set(SPECIAL_USE.values()) - {use}
        assert not (found[name] & others), (name, found[name])
    assert not (found['INBOX'] & set(SPECIAL_USE.values())), found['INBOX']
    # RFC 3348: CHILDREN attributes; none of them has children.
    for name, attrs in found.items():
        assert '\\HasNoChildren' in attrs and '\\HasChildren' not in attrs, (name, attrs)
        assert '\\Noselect' not in attrs, (name, attrs)
    r.close()
    # A second login does not add them again, and all can be selected.
    r = login('defaults')
    assert do_list(r, '', '*') == found
    for name in found:
        r.ok('SELECT %s' % quote(name))
    r.close()


def test_default_folders_with_imaplib():
    c = server().imap('defaults@example.test')
    typ, data = c.list()
    assert typ == 'OK', (typ, data)
    text = b'\n'.join(data).decode()
    for name, use in SPECIAL_USE.items():
        assert re.search(r'^\(.*%s.*\) "/" "?%s"?$' % (re.escape(use), name), text, re.M), text
    c.logout()


def test_list_empty_pattern_gives_the_separator():
    r = login('listroot')
    lines, _ = r.ok('LIST "" ""')
    # RFC 9051 §6.3.9: the hierarchy delimiter and the root name.
    assert lines == ['* LIST (\\Noselect) "/" ""'], lines
    r.close()


def test_namespace():
    r = login('namespace')
    lines, _ = r.ok('NAMESPACE')
    # RFC 2342 §5: the personal namespace, prefix "" and separator "/";
    # other users' mailboxes (RFC 4314 sharing) and the public folders.
    assert lines == ['* NAMESPACE (("" "/")) (("Other Users/" "/")) (("Shared/" "/"))'], lines
    r.close()


def test_enable_answers_enabled():
    r = login('enable')
    lines, _ = r.ok('ENABLE X-NOT-AN-EXTENSION')
    # RFC 5161 §3.1: an ENABLED response listing only what got enabled.
    enabled = [l for l in lines if l.startswith('* ENABLED')]
    assert len(enabled) == 1 and 'X-NOT-AN-EXTENSION' not in enabled[0], lines
    r.close()


# ---- CREATE ---------------------------------------------------------------------

def test_create_nested_creates_the_parents():
    r = login('create')
    r.ok('CREATE a/b/c')
    found = do_list(r, '', 'a*')
    # RFC 9051 §6.3.4: the superior names are created as real mailboxes.
    assert set(found) == {'a', 'a/b', 'a/b/c'}, found
    assert '\\HasChildren' in found['a'] and '\\HasChildren' in found['a/b'], found
    assert '\\HasNoChildren' in found['a/b/c'], found
    for name in found:
        assert '\\Noselect' not in found[name], found
        r.ok('SELECT %s' % quote(name))
    r.close()


def test_create_with_trailing_separator():
    r = login('create')
    r.ok('CREATE "t1/"')
    # RFC 9051 §6.3.4: the trailing separator only declares intent; the
    # mailbox is "t1".
    assert set(do_list(r, '', 't1*')) == {'t1'}
    r.ok('SELECT t1')
    r.close()


def test_create_existing_names_is_no():
    r = login('create')
    r.ok('CREATE dup')
    for name in ('INBOX', 'inbox', 'InBoX', 'dup', 'Sent'):
        lines, tagged = r.cmd('CREATE %s' % quote(name))
        # RFC 9051 §6.3.4: NO for an existing name (INBOX in any case).
        assert status(tagged) == 'NO', (name, tagged)
    found = do_list(r, '', '*')
    assert 'inbox' not in found and 'InBoX' not in found, found
    r.close()


def test_create_with_imaplib_and_spaces():
    c = server().imap('create@example.test')
    typ, data = c.create('"My Folder"')
    assert typ == 'OK', (typ, data)
    typ, data = c.select('"My Folder"')
    assert typ == 'OK' and data == [b'0'], (typ, data)
    c.logout()
    r = login('create')
    assert '\\HasNoChildren' in do_list(r, '', 'My Folder')['My Folder']
    r.close()


# ---- DELETE ---------------------------------------------------------------------

def test_delete():
    r = login('delete')
    r.ok('CREATE d1')
    r.ok('DELETE d1')
    assert do_list(r, '', 'd1') == {}
    # RFC 9051 §6.3.5: deleting INBOX or a missing name is an error.
    for name in ('d1', 'nosuch', 'INBOX', 'inbox'):
        _, tagged = r.cmd('DELETE %s' % quote(name))
        assert status(tagged) == 'NO', (name, tagged)
    assert 'INBOX' in do_list(r, '', 'INBOX')
    r.close()


def test_delete_then_create_does_not_reuse_uids():
    r = login('delete')
    r.ok('CREATE d2')
    v1, u1 = append(r, 'd2', message(1))
    _, u2 = append(r, 'd2', message(2))
    r.ok('DELETE d2')
    r.ok('CREATE d2')
    assert status_items(r, 'd2')['MESSAGES'] == 0
    v2, u3 = append(r, 'd2', message(3))
    # RFC 9051 §6.3.5: a new mailbox of the same name does not reuse UIDs
    # unless its UIDVALIDITY differs.
    assert v2 != v1 or u3 > u2, (v1, u2, v2, u3)
    r.close()


def test_delete_the_selected_mailbox():
    r = login('delete')
    r.ok('CREATE d3')
    append(r, 'd3', message(1))
    r.ok('SELECT d3')
    r.cmd('DELETE d3')
    # Whatever the answer, d3 is gone or still intact; here it must be gone.
    assert do_list(r, '', 'd3') == {}
    r.ok('SELECT INBOX')
    r.close()


def test_delete_keeps_inferior_names_and_lists_noselect_parent():
    r = login('noselect')
    r.ok('CREATE p/c')
    append(r, 'p/c', message(1))
    lines, tagged = r.cmd('DELETE p')
    # RFC 9051 §6.3.5: DELETE MUST NOT remove inferior names. The server
    # may refuse (NO) or delete "p" and leave it as \Noselect.
    assert status(tagged) in ('OK', 'NO'), tagged
    assert status_items(r, 'p/c')['MESSAGES'] == 1
    if status(tagged) == 'NO':
        assert '\\Noselect' not in do_list(r, '', 'p')['p']
        r.close()
        return
    # "p" is now a missing parent: "%" lists it \Noselect (RFC 9051
    # §6.3.9, the DELETE example of §6.3.5), and it cannot be selected.
    top = do_list(r, '', '%')
    assert 'p' in top and '\\Noselect' in top['p'], top
    assert '\\HasChildren' in top['p'], top
    _, tagged = r.cmd('SELECT p')
    assert status(tagged) == 'NO', tagged
    # Deleting the \Noselect parent while it has children is an error.
    _, tagged = r.cmd('DELETE p')
    assert status(tagged) == 'NO', tagged
    assert 'p/c' in do_list(r, '', '*')
    # CREATE p makes it a real mailbox again.
    r.ok('CREATE p')
    assert '\\Noselect' not in do_list(r, '', 'p')['p']
    r.close()


# ---- RENAME ---------------------------------------------------------------------

def test_rename_moves_the_children_too():
    r = login('rename')
    r.ok('CREATE r1/c1/g1')
    append(r, 'r1/c1', message(1))
    append(r, 'r1/c1', message(2))
    r.ok('RENAME r1 r2')
    # RFC 9051 §6.3.6: inferior names are renamed too.
    found = do_list(r, '', 'r*')
    assert set(found) == {'r2', 'r2/c1', 'r2/c1/g1'}, found
    assert status_items(r, 'r2/c1')['MESSAGES'] == 2
    _, tagged = r.cmd('SELECT r1/c1')
    assert status(tagged) == 'NO', tagged
    r.close()


def test_rename_errors():
    r = login('rename')
    r.ok('CREATE e1')
    r.ok('CREATE e2')
    # RFC 9051 §6.3.6: renaming from a missing name or to an existing one is NO.
    for args in ('nosuch e3', 'e1 e2', 'e1 Sent', 'e1 INBOX'):
        _, tagged = r.cmd('RENAME %s' % args)
        assert status(tagged) == 'NO', (args, tagged)
    assert set(do_list(r, '', 'e*')) == {'e1', 'e2'}
    r.close()


def test_rename_creates_new_parents():
    r = login('rename')
    r.ok('CREATE f1')
    r.ok('RENAME f1 z1/z2/f')
    # RFC 9051 §6.3.6: superior names SHOULD be created.
    found = do_list(r, '', 'z1*')
    assert set(found) == {'z1', 'z1/z2', 'z1/z2/f'}, found
    assert do_list(r, '', 'f1') == {}
    r.close()


def test_rename_inbox_moves_its_messages():
    r = login('renameinbox')
    bodies = [message(1, 'inbox'), message(2, 'inbox')]
    for b in bodies:
        append(r, 'INBOX', b)
    r.ok('RENAME INBOX "Old Inbox"')
    # RFC 9051 §6.3.6: the messages move to the new name, INBOX stays, empty.
    assert status_items(r, 'Old Inbox')['MESSAGES'] == 2
    assert status_items(r, 'INBOX')['MESSAGES'] == 0
    found = do_list(r, '', '*')
    assert 'INBOX' in found and 'Old Inbox' in found, found
    lines, _ = r.ok('SELECT INBOX')
    assert '* 0 EXISTS' in lines, lines
    lines, _ = r.ok('SELECT "Old Inbox"')
    assert '* 2 EXISTS' in lines, lines
    lines, _ = r.ok('FETCH 1:2 BODY.PEEK[]')
    got = [l.split('\r\n', 1)[1][:-1].encode('latin-1') for l in lines if ' FETCH ' in l]
    assert got == bodies, got
    # New mail still lands in the (new) INBOX.
    append(r, 'INBOX', message(3, 'inbox'))
    assert status_items(r, 'INBOX')['MESSAGES'] == 1
    r.close()


# ---- SUBSCRIBE / UNSUBSCRIBE / LSUB ------------------------------------------------------

def test_subscribe_unsubscribe_lsub():
    r = login('subscribe')
    r.ok('CREATE s1')
    r.ok('CREATE s2/child')
    r.ok('SUBSCRIBE s1')
    r.ok('SUBSCRIBE s2/child')
    found = do_list(r, '', '*', 'LSUB')
    assert 's1' in found and 's2/child' in found, found
    assert 's2' not in found, found
    # RFC 3501 §6.3.9: "%" shows the unsubscribed parent as \Noselect.
    top = do_list(r, '', 's%', 'LSUB')
    assert set(top) == {'s1', 's2'}, top
    assert '\\Noselect' in top['s2'], top
    r.ok('UNSUBSCRIBE s1')
    found = do_list(r, '', '*', 'LSUB')
    assert 's1' not in found and 's2/child' in found, found
    r.close()
    # imaplib's lsub() sees the same.
    c = server().imap('subscribe@example.test')
    typ, data = c.lsub('""', '"s2/*"')
    assert typ == 'OK' and len(data) == 1, (typ, data)
    assert re.match(rb'^\(.*\) "/" "?s2/child"?$', data[0]), data
    c.logout()


# ---- LIST wildcards and CHILDREN ---------------------------------------------------------

def test_list_star_and_percent():
    r = login('wildcards')
    r.ok('CREATE p/q/r')
    r.ok('CREATE p/s')
    everything = do_list(r, '', '*')
    assert {'p', 'p/q', 'p/q/r', 'p/s', 'INBOX', 'Sent'} <= set(everything), everything
    # RFC 9051 §6.3.9: "%" does not match the separator.
    top = do_list(r, '', '%')
    assert set(top) == {'INBOX', 'p'} | set(SPECIAL_USE), top
    assert set(do_list(r, '', 'p/%')) == {'p/q', 'p/s'}
    assert set(do_list(r, '', 'p/*')) == {'p/q', 'p/q/r', 'p/s'}
    assert set(do_list(r, '', 'p/%/%')) == {'p/q/r'}
    assert set(do_list(r, '', '*r')) == {'p/q/r'}
    # The reference is prefixed to the pattern.
    assert set(do_list(r, 'p/', '%')) == {'p/q', 'p/s'}
    # Names are case-sensitive (only INBOX is not).
    assert do_list(r, '', 'P/%') == {}
    assert do_list(r, '', 'nothing*') == {}
    # RFC 3348: \HasChildren / \HasNoChildren.
    assert '\\HasChildren' in everything['p'] and '\\HasChildren' in everything['p/q']
    assert '\\HasNoChildren' in everything['p/q/r'] and '\\HasNoChildren' in everything['p/s']
    for name, attrs in everything.items():
        assert not ({'\\HasChildren', '\\HasNoChildren'} <= attrs), (name, attrs)
    r.close()


# ---- STATUS ---------------------------------------------------------------------

def test_status():
    r = login('status')
    r.ok('CREATE st')
    v, u1 = append(r, 'st', message(1), '\\Seen')
    _, u2 = append(r, 'st', message(2))
    _, u3 = append(r, 'st', message(3), '\\Flagged')
    lines, _ = r.ok('STATUS st (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)')
    st = status_items(r, 'st')
    assert st['MESSAGES'] == 3 and st['UNSEEN'] == 2, st
    assert st['UIDVALIDITY'] == v, (st, v)
    assert st['UIDNEXT'] > u3 > u2 > u1, (st, u1, u2, u3)
    # RFC 9051 §6.3.11: the items come back as asked (the name may be
    # quoted or an atom).
    assert len(lines) == 1 and re.match(
        r'^\* STATUS ("st"|st) \(MESSAGES 3 UIDNEXT %d UIDVALIDITY %d UNSEEN 2\)$'
        % (st['UIDNEXT'], v), lines[0]), lines
    # The next APPEND gets at least UIDNEXT.
    _, u4 = append(r, 'st', message(4))
    assert u4 >= st['UIDNEXT'], (u4, st)
    # STATUS of the selected mailbox is allowed; of a missing one NO.
    r.ok('SELECT st')
    assert status_items(r, 'st', 'MESSAGES')['MESSAGES'] == 4
    _, tagged = r.cmd('STATUS nosuch (MESSAGES)')
    assert status(tagged) == 'NO', tagged
    r.close()
    c = server().imap('status@example.test')
    typ, data = c.status('st', '(MESSAGES UNSEEN)')
    assert typ == 'OK' and data in ([b'st (MESSAGES 4 UNSEEN 3)'],
                                    [b'"st" (MESSAGES 4 UNSEEN 3)']), (typ, data)
    c.logout()


# ---- modified UTF-7 ---------------------------------------------------------------

def test_modified_utf7_names_round_trip():
    r = login('utf7')
    # "Entwürfe"; "日本語"; "Tom & Jerry" ("&" is "&-", RFC 3501 §5.1.3)
    for name in ('Entw&APw-rfe', '&ZeVnLIqe-', 'Tom &- Jerry', 'Entw&APw-rfe/Sub &AOk-t&AOk-'):
        r.ok('CREATE %s' % quote(name))
        found = do_list(r, '', name)
        assert set(found) == {name}, (name, found)
        assert status_items(r, name)['MESSAGES'] == 0
        r.ok('SELECT %s' % quote(name))
    everything = do_list(r, '', '*')
    assert 'Entw&APw-rfe' in everything and '\\HasChildren' in everything['Entw&APw-rfe']
    r.close()


def test_invalid_modified_utf7_is_refused():
    r = login('utf7')
    before = do_list(r, '', '*')
    # RFC 3501 §5.1.3: no shift back ("&Jjo" never ends); base64 used for
    # a printable ASCII character ("a" as "&AGE-"); a bad base64
    # character; raw 8-bit bytes are not mUTF-7 either.
    for name in ('Bad&Jjo', 'x&AGE-', 'y&*AA-'):
        _, tagged = r.cmd('CREATE %s' % quote(name))
        assert status(tagged) in ('NO', 'BAD'), (name, tagged)
    tag = r.next_tag()
    raw_name = 'Entw\u00fcrfe'.encode('utf-8')
    r.send(b'%s CREATE {%d+}\r\n%s\r\n' % (tag.encode(), len(raw_name), raw_name))
    _, tagged = r.read_until(tag)
    assert status(tagged) in ('NO', 'BAD'), tagged
    assert do_list(r, '', '*') == before
    r.close()


def test_modified_utf7_null_shift_is_refused():
    r = login('utf7')
    before = do_list(r, '', '*')
    # RFC 3501 §5.1.3 (and RFC 9051 appendix): null shifts ("-&" while in
    # BASE64) are not permitted; "&U,BTFw-&ZeVnLIqe-" is the RFC's own
    # example of a name the server SHOULD refuse on CREATE (its correct
    # form is "&U,BTF2XlZyyKng-"). Accepting it makes LIST answer with a
    # name the client never created.
    _, tagged = r.cmd('CREATE "&U,BTFw-&ZeVnLIqe-"')
    assert status(tagged) in ('NO', 'BAD'), tagged
    assert do_list(r, '', '*') == before
    r.close()


# ---- SELECT / EXAMINE --------------------------------------------------------------

def test_select_responses():
    r = login('select')
    r.ok('CREATE box')
    v, u1 = append(r, 'box', message(1), '\\Seen')
    _, u2 = append(r, 'box', message(2))
    lines, tagged = r.ok('SELECT box')
    info = select_info(lines)
    # RFC 9051 §6.3.2 (and RFC 3501 §6.3.1 for IMAP4rev1 clients):
    assert SYSTEM_FLAGS <= info.get('FLAGS', set()), lines
    assert SYSTEM_FLAGS | {'\\*'} <= info.get('PERMANENTFLAGS', set()), lines
    assert info.get('EXISTS') == 2, lines
    assert 'RECENT' in info, lines  # RFC 3501 §6.3.1 requires it of IMAP4rev1
    assert info.get('UIDVALIDITY') == v, (lines, v)
    assert info.get('UIDNEXT', 0) > u2, (lines, u2)
    assert info.get('UNSEEN') == 2, lines  # the first unseen message
    assert re.match(r'^a\d+ OK \[READ-WRITE\]', tagged), tagged
    # A real client: imaplib's select gives the EXISTS count.
    c = server().imap('select@example.test')
    typ, data = c.select('box')
    assert typ == 'OK' and data == [b'2'], (typ, data)
    typ, data = c.select('box', readonly=True)
    assert typ == 'OK' and data == [b'2'], (typ, data)
    c.logout()
    r.close()


def test_examine_is_read_only():
    r = login('examine')
    r.ok('CREATE box')
    v, _ = append(r, 'box', message(1))
    lines, tagged = r.ok('EXAMINE box')
    info = select_info(lines)
    # RFC 9051 §6.3.3: same data as SELECT, tagged OK begins [READ-ONLY].
    assert re.match(r'^a\d+ OK \[READ-ONLY\]', tagged), tagged
    assert info.get('EXISTS') == 1 and info.get('UIDVALIDITY') == v, lines
    assert SYSTEM_FLAGS <= info.get('FLAGS', set()), lines
    assert 'PERMANENTFLAGS' in info and 'UIDNEXT' in info, lines
    # No changes to the permanent state: STORE fails, BODY[] sets no \Seen.
    _, t = r.cmd('STORE 1 +FLAGS (\\Flagged)')
    assert status(t) == 'NO', t
    lines, _ = r.ok('FETCH 1 BODY[]')
    lines, _ = r.ok('FETCH 1 FLAGS')
    assert lines == ['* 1 FETCH (FLAGS ())'], lines
    _, t = r.cmd('EXPUNGE')
    assert status(t) == 'NO', t
    r.ok('CLOSE')
    st = status_items(r, 'box')
    assert st['MESSAGES'] == 1 and st['UNSEEN'] == 1 and st['UIDVALIDITY'] == v, st
    r.close()


def test_select_missing_mailbox_leaves_nothing_selected():
    r = login('selectmissing')
    r.ok('SELECT INBOX')
    lines, tagged = r.cmd('SELECT nosuch')
    # RFC 9051 §6.3.2: NO, and no mailbox is selected any more.
    assert status(tagged) == 'NO', tagged
    assert not any(re.match(r'^\* \d+ EXISTS', l) for l in lines), lines
    for command in ('FETCH 1 FLAGS', 'CLOSE', 'EXPUNGE', 'SEARCH ALL'):
        _, t = r.cmd(command)
        assert status(t) in ('BAD', 'NO'), (command, t)
    _, t = r.cmd('EXAMINE nosuch')
    assert status(t) == 'NO', t
    r.ok('SELECT INBOX')
    r.ok('UNSELECT')
    _, t = r.cmd('FETCH 1 FLAGS')
    assert status(t) in ('BAD', 'NO'), t
    r.close()


# ---- UIDVALIDITY ---------------------------------------------------------------------

def test_uidvalidity_is_stable_across_reconnect_and_restart():
    s = server()
    r = login('uidvalidity')
    r.ok('CREATE keep')
    v, uid = append(r, 'keep', message(1))
    before = {box: status_items(r, box) for box in ('INBOX', 'keep', 'Sent')}
    r.close()
    r = login('uidvalidity')
    assert {box: status_items(r, box) for box in before} == before
    r.close()
    s.restart()
    r = login('uidvalidity')
    after = {box: status_items(r, box) for box in before}
    # RFC 9051 §2.3.1.1: UIDVALIDITY and the UIDs do not change.
    assert after == before, (before, after)
    assert after['keep']['UIDVALIDITY'] == v
    lines, _ = r.ok('SELECT keep')
    assert select_info(lines).get('UIDVALIDITY') == v, lines
    lines, _ = r.ok('FETCH 1 UID')
    assert lines == ['* 1 FETCH (UID %d)' % uid], lines
    r.close()


def test_server_stops_cleanly():
    """Last: SIGTERM the module's server; exit 0 and no sanitizer report."""
    server()
    server.stop()


if __name__ == '__main__':
    harness.main()
