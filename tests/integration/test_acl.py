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
    untagged, _ = b.ok('GETQUOTAROOT %s' % name)   # "r" and "i": the owner's root
    assert untagged[0] == '* QUOTAROOT "Other Users/alice@example.test/Work" ' \
        '"alice@example.test"', untagged
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


def test_copy_and_move_keep_seen_per_user_across_a_share():
    """\Seen is per user (RFC 4314 "s"): what bob copies into alice's folder
    is seen for bob as it was for him and unseen for alice; what he copies
    out of it is seen for him only if he had seen it, whatever alice's
    \Seen; within alice's account her own \Seen goes along."""
    s = server()
    a = setup_folder(s, 'Desk', 'lrswite', messages=2)
    a.ok('CREATE DeskArchive')
    a.ok('SELECT Desk')
    a.ok('STORE 1 +FLAGS (\\Seen)')          # alice has read Desk 1
    b = s.raw(BOB)
    b.ok('CREATE Mine')
    b.append('Mine', msg('bob read this'), flags='\\Seen')
    b.append('Mine', msg('bob did not read this'))
    desk = shared_name(ALICE, 'Desk')
    b.ok('SELECT Mine')
    untagged, tagged = b.ok('UID COPY 1:2 %s' % desk)
    assert '[COPYUID' in tagged and ' 1:2 3:4]' in tagged, tagged
    # alice has seen neither copy; bob has seen the copy of what he had read.
    a.ok('NOOP')
    assert fetch_flags(a) == {1: {'\\Seen'}, 2: set(), 3: set(), 4: set()}
    b.ok('SELECT %s' % desk)
    assert fetch_flags(b) == {1: set(), 2: set(), 3: {'\\Seen'}, 4: set()}
    # Out of the share into bob's own folder: bob's \Seen, not alice's.
    b.ok('FETCH 2 BODY[]')                    # bob reads Desk 2
    untagged, tagged = b.ok('UID COPY 1,3 Mine')
    assert '[COPYUID' in tagged, tagged
    untagged, _ = b.ok('UID MOVE 2 Mine')
    b.ok('SELECT Mine')
    flags = fetch_flags(b)
    # Mine: 1 (seen), 2 (unseen), copy of Desk 1 (alice's seen only),
    # copy of Desk 3 (bob's seen), Desk 2 moved (bob read it).
    assert flags == {1: {'\\Seen'}, 2: set(), 3: set(), 4: {'\\Seen'}, 5: {'\\Seen'}}, flags
    # alice never saw Desk 2 being read: it is gone, and her \Seen on 1 stays.
    a.ok('NOOP')
    assert fetch_flags(a) == {1: {'\\Seen'}, 3: set(), 4: set()}
    # Within alice's account her own \Seen travels as always.
    untagged, tagged = a.ok('UID COPY 1,3 DeskArchive')
    a.ok('SELECT DeskArchive')
    assert fetch_flags(a) == {1: {'\\Seen'}, 2: set()}
    a.close()
    b.close()


def test_copy_into_a_share_keeps_only_the_flags_the_copier_may_set():
    """RFC 4314 §4: without "w" the other flags and keywords are not stored
    on COPY into another's mailbox, without "t" not \\Deleted; \\Seen is the
    copier's with "s"; the copy is never refused for it."""
    s = server()
    a = setup_folder(s, 'Inbound', 'lrsi', messages=0)
    a.ok('CREATE Inbound2')
    a.ok('SETACL Inbound2 %s lrsiw' % BOB)
    b = s.raw(BOB)
    b.ok('CREATE Flagged')
    b.append('Flagged', msg('flagged'), flags='\\Seen \\Flagged \\Deleted \\Answered $Label')
    b.ok('SELECT Flagged')
    for folder, alice_sees in (('Inbound', set()),
                               ('Inbound2', {'\\Flagged', '\\Answered', '$Label'})):
        untagged, tagged = b.ok('COPY 1 %s' % shared_name(ALICE, folder))
        assert '[COPYUID' in tagged, tagged
        a.ok('SELECT %s' % folder)
        assert fetch_flags(a) == {1: alice_sees}, (folder, fetch_flags(a))
        a.ok('UNSELECT')
    b.ok('SELECT %s' % shared_name(ALICE, 'Inbound'))
    assert fetch_flags(b) == {1: {'\\Seen'}}
    b.ok('SELECT %s' % shared_name(ALICE, 'Inbound2'))
    assert fetch_flags(b) == {1: {'\\Seen', '\\Flagged', '\\Answered', '$Label'}}
    a.close()
    b.close()


def test_create_in_anothers_account_needs_k_and_inherits_the_acl():
    """RFC 4314 §4: CREATE needs "k" on the nearest existing parent; the new
    mailbox is the owner's and inherits the parent's ACL (new superiors
    too); a top-level mailbox is private."""
    s = server()
    a = setup_folder(s, 'Proj', 'lrk', messages=0)
    a.ok('SETACL Proj %s lr' % CAROL)
    b = s.raw(BOB)
    untagged, tagged = b.ok('CREATE %s' % shared_name(ALICE, 'Proj/Sub'))
    assert '[MAILBOXID (' in tagged, tagged
    untagged, _ = a.ok('GETACL Proj/Sub')
    assert 'bob@example.test lrk' in untagged[0] and 'carol@example.test lr' in untagged[0], \
        untagged
    assert 'Proj/Sub' in list_names(a)
    assert OTHER + ALICE + '/Proj/Sub' in list_names(b)
    # Missing superiors are made in the same step, and inherit too.
    b.ok('CREATE %s' % shared_name(ALICE, 'Proj/a/b'))
    for name in ('Proj/a', 'Proj/a/b'):
        untagged, _ = a.ok('GETACL %s' % name)
        assert 'bob@example.test lrk' in untagged[0], (name, untagged)
    b.ok('SELECT %s' % shared_name(ALICE, 'Proj/a/b'))
    b.ok('UNSELECT')
    tagged_no(b, 'CREATE %s' % shared_name(ALICE, 'Proj/Sub'), 'ALREADYEXISTS')
    tagged_no(b, 'CREATE %s' % shared_name(ALICE, 'TopLevel'), 'NOPERM')
    tagged_no(b, 'CREATE %s' % shared_name('nobody@example.test', 'Proj/X'), 'NOPERM')
    c = s.raw(CAROL)
    tagged_no(c, 'CREATE %s' % shared_name(ALICE, 'Proj/Carol'), 'NOPERM')
    # alice's own: a child of a shared folder is shared alike, a top-level
    # one is not.
    a.ok('CREATE Proj/Own')
    untagged, _ = a.ok('GETACL Proj/Own')
    assert 'bob@example.test lrk' in untagged[0], untagged
    a.ok('CREATE Private2')
    untagged, _ = a.ok('GETACL Private2')
    assert 'bob' not in untagged[0] and 'carol' not in untagged[0], untagged
    a.close()
    b.close()
    c.close()


def test_getquotaroot_of_a_share_is_the_owners_root():
    """What bob puts in alice's folder counts against alice: GETQUOTAROOT
    names her root to a user with "r" or "i" there (and GETQUOTA answers
    for it); her usage grows, bob's does not; dora, who has no rights on
    any of alice's mailboxes, sees no root."""
    s = server()
    a = setup_folder(s, 'Drop', 'lri', messages=0)
    assert s.cli('user', 'quota', ALICE, 'none', '5000').returncode == 0
    b = s.raw(BOB)
    name = shared_name(ALICE, 'Drop')
    used = lambda line: int(re.search(r'MESSAGE (\d+) 5000', line).group(1))
    untagged, _ = b.ok('GETQUOTAROOT %s' % name)
    assert untagged[0] == '* QUOTAROOT "%s%s/Drop" "%s"' % (OTHER, ALICE, ALICE), untagged
    before = used(untagged[1])
    own_before = b.ok('GETQUOTAROOT INBOX')[0][1]
    b.append('%s%s/Drop' % (OTHER, ALICE), msg('into alice'))
    untagged, _ = b.ok('GETQUOTA %s' % ALICE)
    assert used(untagged[0]) == before + 1, untagged
    assert used(a.ok('GETQUOTA ""')[0][0]) == before + 1
    assert b.ok('GETQUOTAROOT INBOX')[0][1] == own_before
    s.add_account('dora@example.test', 'dora pw')
    c = s.raw('dora@example.test')
    untagged, _ = c.ok('GETQUOTAROOT %s' % name)
    assert untagged == ['* QUOTAROOT "%s%s/Drop"' % (OTHER, ALICE)], untagged
    tagged_no(c, 'GETQUOTA %s' % ALICE, 'NONEXISTENT')
    a.close()
    b.close()
    c.close()


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
