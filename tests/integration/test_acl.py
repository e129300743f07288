"""Sharing: ACL (RFC 4314) with RIGHTS=texk, the other users' and shared
namespaces (RFC 2342), per-user \\Seen, changes reaching a sharer's IDLE,
and the public folders of `buzon shared` -- with two live sessions, alice
(the owner) and bob (who is given rights)."""

import imaplib
import re

import harness

ALICE = 'alice@example.test'
BOB = 'bob@example.test'
CAROL = 'carol@example.test'
ACCOUNTS = {ALICE: 'alice pw', BOB: 'bob pw', CAROL: 'carol pw'}
OTHER = 'Other Users/'

server = harness.ModuleServer(accounts=ACCOUNTS)


def shared_name(owner, name):
    return harness.quote('%s%s/%s' % (OTHER, owner, name))


def msg(subject):
    return b'Subject: %s\r\nFrom: a@example.test\r\n\r\nbody of %s\r\n' % (
        subject.encode(), subject.encode())


def tagged_no(r, command, code):
    tagged = r.cmd(command)[1]
    assert harness.status(tagged) == 'NO' and ('[%s]' % code) in tagged, (command, tagged)


def list_names(r, pattern='*'):
    untagged, _ = r.ok('LIST "" %s' % harness.quote(pattern))
    out = {}
    for line in untagged:
        values = harness.parse_values(line[len('* LIST '):])
        out[values[2]] = values[0]
    return out


def fetch_flags(r, seq='1:*'):
    """{uid: set of flags} of the selected mailbox."""
    untagged, _ = r.ok('UID FETCH %s (FLAGS)' % seq)
    out = {}
    for line in untagged:
        m = re.search(r'UID (\d+)', line)
        f = re.search(r'FLAGS \(([^)]*)\)', line)
        if m and f:
            out[int(m.group(1))] = set(f.group(1).split())
    return out


def setup_folder(s, name, rights, messages=2):
    """alice's folder name with messages, shared with bob for rights."""
    a = s.raw(ALICE)
    a.ok('CREATE %s' % name)
    for i in range(messages):
        a.append(name, msg('%s %d' % (name, i)))
    if rights is not None:
        a.ok('SETACL %s %s %s' % (name, BOB, rights))
    return a


def test_capabilities_and_namespaces():
    r = server().raw(ALICE)
    caps = r.ok('CAPABILITY')[0][0].split()
    assert 'ACL' in caps and 'RIGHTS=texk' in caps and 'LIST-MYRIGHTS' in caps, caps
    untagged, _ = r.ok('NAMESPACE')
    assert untagged == ['* NAMESPACE (("" "/")) (("Other Users/" "/")) (("Shared/" "/"))'], \
        untagged
    r.close()


def test_read_only_share_is_listed_selectable_and_read_only():
    s = server()
    a = setup_folder(s, 'Team', 'lr')
    b = s.raw(BOB)
    names = list_names(b)
    assert '%salice@example.test/Team' % OTHER in names, names
    assert '\\HasChildren' in names['Other Users'] and (
        '\\Noselect' in names['Other Users'] or '\\NonExistent' in names['Other Users'])
    # LIST-STATUS says nothing of a mailbox bob may not read.
    a.ok('SETACL Team carol@example.test l')
    c = s.raw(CAROL)
    untagged, _ = c.ok('LIST "" "Other Users/*" RETURN (STATUS (MESSAGES))')
    assert not [l for l in untagged if l.startswith('* STATUS')], untagged
    c.close()
    untagged, _ = b.ok('LIST "" "Other Users/*" RETURN (STATUS (MESSAGES))')
    assert '* STATUS "Other Users/alice@example.test/Team" (MESSAGES 2)' in untagged, untagged
    # LIST-MYRIGHTS (RFC 8440): rights after each listed mailbox.
    untagged, _ = b.ok('LIST "" "*" RETURN (MYRIGHTS)')
    assert '* MYRIGHTS "Other Users/alice@example.test/Team" lr' in untagged, untagged
    assert '* MYRIGHTS "INBOX" lrswipkxteacd' in untagged, untagged
    assert not [l for l in untagged if l.startswith('* MYRIGHTS "Other Users"')], untagged
    untagged, _ = b.ok('MYRIGHTS %s' % shared_name(ALICE, 'Team'))
    assert untagged == ['* MYRIGHTS "Other Users/alice@example.test/Team" lr'], untagged
    untagged, tagged = b.ok('SELECT %s' % shared_name(ALICE, 'Team'))
    assert '[READ-ONLY]' in tagged, tagged
    assert '* 2 EXISTS' in untagged, untagged
    assert any('PERMANENTFLAGS ()' in l for l in untagged), untagged
    # No "s": reading does not set \Seen, for bob or for alice.
    b.ok('FETCH 1 BODY[]')
    assert fetch_flags(b) == {1: set(), 2: set()}
    tagged_no(b, 'STORE 1 +FLAGS (\\Flagged)', 'READ-ONLY')
    tagged_no(b, 'GETACL %s' % shared_name(ALICE, 'Team'), 'NOPERM')
    tagged_no(b, 'APPEND %s {3+}\r\nx\r\n' % shared_name(ALICE, 'Team'), 'NOPERM')
    untagged, _ = a.ok('GETACL Team')
    assert untagged == ['* ACL "Team" alice@example.test lrswipkxteacd bob@example.test lr '
                        'carol@example.test l'], \
        untagged
    untagged, _ = a.ok('SELECT Team')
    assert '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] ' \
        'Flags permitted' in untagged, untagged
    assert fetch_flags(a) == {1: set(), 2: set()}
    a.close()
    b.close()


def test_seen_is_per_user_and_modseq_still_moves():
    s = server()
    a = setup_folder(s, 'Seen', 'lrs', messages=3)
    a.ok('SELECT Seen')
    a.ok('STORE 1 +FLAGS (\\Seen)')  # alice has read 1
    b = s.raw(BOB)
    name = shared_name(ALICE, 'Seen')
    untagged, tagged = b.ok('SELECT %s (CONDSTORE)' % name)
    assert '[READ-WRITE]' in tagged, tagged
    assert any('PERMANENTFLAGS (\\Seen)]' in l for l in untagged), untagged
    assert fetch_flags(b) == {1: set(), 2: set(), 3: set()}  # alice's \Seen is hers
    before = int(re.search(r'HIGHESTMODSEQ (\d+)',
                           ' '.join(b.ok('STATUS %s (HIGHESTMODSEQ)' % name)[0])).group(1))
    untagged, _ = b.ok('STORE 2 +FLAGS (\\Seen \\Flagged)')  # no "w": \Flagged is dropped
    assert any('FLAGS (\\Seen)' in l for l in untagged), untagged
    b.ok('FETCH 3 BODY[]')  # with "s", reading sets bob's \Seen
    assert fetch_flags(b) == {1: set(), 2: {'\\Seen'}, 3: {'\\Seen'}}
    untagged, _ = b.ok('STATUS %s (UNSEEN HIGHESTMODSEQ)' % name)
    assert 'UNSEEN 1' in untagged[0], untagged
    after = int(re.search(r'HIGHESTMODSEQ (\d+)', untagged[0]).group(1))
    assert after > before, (before, after)
    # alice's view: only her own \Seen, nothing bob set.
    a.ok('NOOP')
    assert fetch_flags(a) == {1: {'\\Seen'}, 2: set(), 3: set()}
    untagged, _ = a.ok('SEARCH UNSEEN')
    assert untagged == ['* SEARCH 2 3'], untagged
    untagged, _ = b.ok('SEARCH UNSEEN')
    assert untagged == ['* SEARCH 1'], untagged
    b.ok('STORE 2 -FLAGS (\\Seen)')
    assert fetch_flags(b)[2] == set()
    # UNCHANGEDSINCE holds for this user's own \Seen too (RFC 7162 §3.1.3).
    untagged, _ = b.ok('UID FETCH 1 (MODSEQ)')
    modseq = int(re.search(r'MODSEQ \((\d+)\)', untagged[0]).group(1))
    a.ok('STORE 1 +FLAGS (\\Answered)')  # alice moves message 1 on
    untagged, tagged = b.ok('STORE 1 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)' % modseq)
    assert '[MODIFIED 1]' in tagged, tagged
    b.ok('NOOP')
    assert '\\Seen' not in fetch_flags(b)[1]
    a.close()
    b.close()


def test_bob_idle_hears_alice_append_to_the_shared_folder():
    s = server()
    a = setup_folder(s, 'Live', 'lrsi', messages=1)
    b = s.raw(BOB, timeout=30)
    b.ok('SELECT %s' % shared_name(ALICE, 'Live'))
    tag = b.next_tag()
    b.send('%s IDLE\r\n' % tag)
    assert b.line().startswith('+'), 'IDLE refused'
    a.append('Live', msg('while bob idles'))
    line = b.line()
    while not re.match(r'^\* \d+ EXISTS', line):
        line = b.line()
    assert line == '* 2 EXISTS', line
    b.send('DONE\r\n')
    assert harness.status(b.read_until(tag)[1]) == 'OK'
    # bob, with "i", appends; alice's IDLE hears it in turn.
    a.ok('SELECT Live')
    tag = a.next_tag()
    a.send('%s IDLE\r\n' % tag)
    assert a.line().startswith('+')
    b.append('Other Users/alice@example.test/Live', msg('from bob'), flags='\\Seen')
    line = a.line()
    while not re.match(r'^\* \d+ EXISTS', line):
        line = a.line()
    assert line == '* 3 EXISTS', line
    a.send('DONE\r\n')
    a.read_until(tag)
    assert fetch_flags(a)[3] == set()      # bob's \Seen is bob's
    b.ok('NOOP')
    assert fetch_flags(b)[3] == {'\\Seen'}
    a.close()
    b.close()


def test_without_lookup_the_mailbox_does_not_exist_and_negative_rights_win():
    s = server()
    a = setup_folder(s, 'Private', None, messages=1)
    b = s.raw(BOB)
    name = shared_name(ALICE, 'Private')
    tagged_no(b, 'SELECT %s' % name, 'NONEXISTENT')
    tagged_no(b, 'STATUS %s (MESSAGES)' % name, 'NONEXISTENT')
    assert not [n for n in list_names(b) if n.endswith('/Private')]
    a.ok('SETACL Private bob@example.test l')
    tagged_no(b, 'SELECT %s' % name, 'NOPERM')
    # anyone may read, but bob is explicitly denied "r".
    a.ok('SETACL Private anyone lr')
    a.ok('SETACL Private -bob@example.test r')
    tagged_no(b, 'SELECT %s' % name, 'NOPERM')
    c = s.raw(CAROL)
    untagged, _ = c.ok('EXAMINE %s' % name)
    assert '* 1 EXISTS' in untagged
    a.ok('DELETEACL Private -bob@example.test')
    b.ok('EXAMINE %s' % name)
    a.ok('DELETEACL Private anyone')
    a.ok('DELETEACL Private bob@example.test')
    tagged_no(b, 'EXAMINE %s' % name, 'NONEXISTENT')
    tagged_no(b, 'MYRIGHTS %s' % name, 'NONEXISTENT')
    a.close()
    b.close()
    c.close()


def test_setacl_forms_and_errors():
    s = server()
    a = setup_folder(s, 'Forms', 'lr', messages=0)
    a.ok('SETACL Forms bob@example.test +cd')   # c = kx, d = et (RFC 4314 §2.1.1)
    untagged, _ = a.ok('GETACL Forms')
    assert 'bob@example.test lrkxtecd' in untagged[0], untagged
    a.ok('SETACL Forms bob@example.test -xd')
    untagged, _ = a.ok('GETACL Forms')
    assert 'bob@example.test lrkc' in untagged[0], untagged
    a.ok('SETACL Forms bob@example.test ""')  # empty rights: the entry goes
    untagged, _ = a.ok('GETACL Forms')
    assert 'bob' not in untagged[0], untagged
    for bad in ('SETACL Forms bob@example.test lrQ', 'SETACL Forms bob@example.test lrq',
                'SETACL Forms "" lr', 'SETACL Forms', 'GETACL', 'DELETEACL Forms',
                'LISTRIGHTS Forms', 'MYRIGHTS'):
        assert harness.status(a.cmd(bad)[1]) == 'BAD', bad
    tagged_no(a, 'SETACL Forms alice@example.test lr', 'CANNOT')
    tagged_no(a, 'SETACL Nothing bob@example.test lr', 'NONEXISTENT')
    untagged, _ = a.ok('LISTRIGHTS Forms bob@example.test')
    assert untagged == ['* LISTRIGHTS "Forms" bob@example.test "" l r s w i p k x t e a c d'], \
        untagged
    untagged, _ = a.ok('LISTRIGHTS Forms alice@example.test')
    assert untagged == ['* LISTRIGHTS "Forms" alice@example.test lrswipkxtea'], untagged
    untagged, _ = a.ok('MYRIGHTS INBOX')
    assert untagged == ['* MYRIGHTS "INBOX" lrswipkxteacd'], untagged
    a.close()


def test_rights_gate_expunge_delete_and_copy_counts_in_the_owners_quota():
    s = server()
    a = setup_folder(s, 'Work', 'lrsi', messages=2)
    b = s.raw(BOB)
    name = shared_name(ALICE, 'Work')
    b.append('INBOX', msg('bob own'))
    b.ok('SELECT INBOX')
    assert s.cli('user', 'quota', ALICE, 'none', '1000').returncode == 0
    before = a.ok('GETQUOTA ""')[0][0]
    untagged, tagged = b.ok('COPY 1 %s' % name)
    assert '[COPYUID' in tagged, tagged
    after = a.ok('GETQUOTA ""')[0][0]
    used = lambda line: int(re.search(r'MESSAGE (\d+)', line).group(1))
    assert used(after) == used(before) + 1, (before, after)
    tagged_no(b, 'MOVE 1 %s' % shared_name(ALICE, 'Nope'), 'NONEXISTENT')
    b.ok('SELECT %s' % name)
    tagged_no(b, 'EXPUNGE', 'NOPERM')
    tagged_no(b, 'MOVE 1 INBOX', 'NOPERM')
    tagged_no(b, 'DELETE %s' % name, 'NOPERM')
    tagged_no(b, 'CREATE %s' % shared_name(ALICE, 'Work/Sub'), 'NOPERM')
    untagged, _ = b.ok('GETQUOTAROOT %s' % name)
    assert untagged == ['* QUOTAROOT "Other Users/alice@example.test/Work"'], untagged
    a.ok('SETACL Work bob@example.test +tex')
    b.ok('UNSELECT')
    b.ok('SELECT %s' % name)
    b.ok('STORE 1 +FLAGS (\\Deleted)')
    b.ok('EXPUNGE')
    untagged, _ = a.ok('STATUS Work (MESSAGES)')
    assert 'MESSAGES 2' in untagged[0], untagged
    b.ok('UNSELECT')
    b.ok('DELETE %s' % name)
    tagged_no(a, 'SELECT Work', 'NONEXISTENT')
    a.close()
    b.close()


def test_public_folders_from_the_command_line():
    s = server()
    assert s.cli('shared', 'create', 'News/Daily').returncode == 0
    r = s.cli('shared', 'create', 'News/Daily')
    assert r.returncode == 1 and 'exists' in r.stderr, r.stderr
    assert s.cli('shared', 'acl', 'News/Daily', 'anyone', 'lr').returncode == 0
    assert s.cli('shared', 'acl', 'News/Daily', ALICE, 'lrswite').returncode == 0
    r = s.cli('shared', 'list')
    assert r.returncode == 0 and r.stdout == (
        'News\nNews/Daily\talice@example.test=lrswite\tanyone=lr\n'), r.stdout
    assert s.cli('shared', 'acl', 'News/Daily', 'anyone', 'lrQ').returncode == 1
    assert s.cli('shared', 'acl', 'Missing', 'anyone', 'lr').returncode == 1
    assert s.cli('shared', 'bogus').returncode == 2
    assert s.cli('shared', 'create', '/bad').returncode == 1
    assert '#shared' not in s.cli('user', 'list').stdout
    a = s.raw(ALICE)
    b = s.raw(BOB)
    assert 'Shared/News/Daily' in list_names(b)
    a.append('Shared/News/Daily', msg('news'))
    untagged, tagged = b.ok('SELECT "Shared/News/Daily"')
    assert '* 1 EXISTS' in untagged and '[READ-ONLY]' in tagged, (untagged, tagged)
    tagged_no(b, 'APPEND "Shared/News/Daily" {3+}\r\nx\r\n', 'NOPERM')
    untagged, _ = a.ok('GETACL "Shared/News/Daily"') if False else ([], None)
    tagged_no(a, 'GETACL "Shared/News/Daily"', 'NOPERM')
    assert s.cli('shared', 'acl', 'News/Daily', 'anyone', 'none').returncode == 0
    b.ok('UNSELECT')
    tagged_no(b, 'SELECT "Shared/News/Daily"', 'NONEXISTENT')
    assert s.cli('shared', 'delete', 'News/Daily').returncode == 0
    tagged_no(a, 'SELECT "Shared/News/Daily"', 'NONEXISTENT')
    a.close()
    b.close()


def test_imaplib_clients_see_the_same():
    s = server()
    a = setup_folder(s, 'Lib', 'lr', messages=1)
    a.close()
    c = s.imap(BOB)
    typ, data = c.namespace()
    assert typ == 'OK' and b'Other Users/' in data[0], data
    typ, data = c.list('"Other Users/"', '*')
    assert typ == 'OK' and any(b'alice@example.test/Lib' in d for d in data), data
    typ, data = c.myrights('"Other Users/alice@example.test/Lib"')
    assert typ == 'OK' and b'lr' in data[0], data
    typ, data = c.select('"Other Users/alice@example.test/Lib"', readonly=True)
    assert typ == 'OK' and data == [b'1'], data
    c.logout()


def test_server_stops_cleanly():
    server()
    server.stop()


if __name__ == '__main__':
    harness.main()
