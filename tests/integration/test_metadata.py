"""METADATA (RFC 5464): server and mailbox annotations, /private and
/shared, GETMETADATA with MAXSIZE and DEPTH, SETMETADATA all-or-nothing
with the size and count limits, and access through shared mailboxes."""

import harness

ALICE = 'alice@example.test'
BOB = 'bob@example.test'
ACCOUNTS = {ALICE: 'alice pw', BOB: 'bob pw'}
MAX_VALUE = 16384
MAX_ENTRIES = 100

server = harness.ModuleServer(accounts=ACCOUNTS)


def metadata(r, command):
    """The (mailbox, {entry: value}) of the one METADATA response."""
    untagged, tagged = r.ok(command)
    lines = [l for l in untagged if l.startswith('* METADATA ')]
    assert len(lines) <= 1, untagged
    if not lines:
        return None, {}, tagged
    values = harness.parse_values(lines[0][len('* METADATA '):])
    pairs = values[1]
    return values[0], {pairs[i]: pairs[i + 1] for i in range(0, len(pairs), 2)}, tagged


def test_capabilities():
    r = server().raw(ALICE)
    caps = r.ok('CAPABILITY')[0][0].split()
    assert 'METADATA' in caps and 'METADATA-SERVER' in caps, caps
    r.close()


def test_mailbox_private_and_shared_round_trip():
    s = server()
    a = s.raw(ALICE)
    a.ok('SETMETADATA INBOX (/private/comment "my note" /shared/comment "for all")')
    mailbox, values, _ = metadata(a, 'GETMETADATA INBOX (/private/comment /shared/comment)')
    assert mailbox == 'INBOX'
    assert values == {'/private/comment': 'my note', '/shared/comment': 'for all'}, values
    # Entry names are case-insensitive.
    _, values, _ = metadata(a, 'GETMETADATA "INBOX" /PRIVATE/Comment')
    assert values == {'/private/comment': 'my note'}, values
    # A multi-line value in a literal, and NIL removes.
    a.ok('SETMETADATA INBOX (/private/comment {22}\r\nMy new comment\r\nacross)')
    _, values, _ = metadata(a, 'GETMETADATA INBOX /private/comment')
    assert values == {'/private/comment': 'My new comment\r\nacross'}, values
    a.ok('SETMETADATA INBOX (/private/comment NIL)')
    _, values, _ = metadata(a, 'GETMETADATA INBOX /private/comment')
    assert values == {'/private/comment': None}, values
    # A binary value comes back as a literal8.
    tag = a.next_tag()
    a.send(b'%s SETMETADATA INBOX (/private/vendor/x/bin ~{3}\r\na\x00b)\r\n' % tag.encode())
    assert harness.status(a.read_until(tag)[1]) == 'OK'
    untagged, _ = a.ok('GETMETADATA INBOX /private/vendor/x/bin')
    assert '~{3}\r\na\x00b' in untagged[0], untagged
    a.close()


def test_private_is_per_user_shared_is_not():
    s = server()
    a = s.raw(ALICE)
    a.ok('CREATE Notes')
    a.ok('SETACL Notes bob@example.test lr')
    a.ok('SETMETADATA Notes (/private/comment "alice only" /shared/comment "everyone")')
    b = s.raw(BOB)
    name = '"Other Users/alice@example.test/Notes"'
    _, values, _ = metadata(b, 'GETMETADATA %s (/private/comment /shared/comment)' % name)
    assert values == {'/private/comment': None, '/shared/comment': 'everyone'}, values
    b.ok('SETMETADATA %s (/private/comment "bob too")' % name)
    _, values, _ = metadata(a, 'GETMETADATA Notes /private/comment')
    assert values == {'/private/comment': 'alice only'}, values
    # Without any right (no "l"), the mailbox is not there for bob.
    a.ok('CREATE Secret')
    a.ok('SETMETADATA Secret (/shared/comment "hidden")')
    tagged = b.cmd('GETMETADATA "Other Users/alice@example.test/Secret" /shared/comment')[1]
    assert harness.status(tagged) == 'NO' and '[NONEXISTENT]' in tagged, tagged
    a.ok('SETACL Secret bob@example.test l')  # sees it, may not use it (RFC 5464 §3.3)
    tagged = b.cmd('GETMETADATA "Other Users/alice@example.test/Secret" /shared/comment')[1]
    assert harness.status(tagged) == 'NO' and '[NOPERM]' in tagged, tagged
    tagged = b.cmd('SETMETADATA "Other Users/alice@example.test/Secret" (/shared/x "y")')[1]
    assert harness.status(tagged) == 'NO' and '[NOPERM]' in tagged, tagged
    tagged = b.cmd('GETMETADATA Nowhere /shared/comment')[1]
    assert harness.status(tagged) == 'NO', tagged
    # Annotations go with the mailbox: deleted and created again, none left.
    a.ok('DELETE Secret')
    a.ok('CREATE Secret')
    _, values, _ = metadata(a, 'GETMETADATA Secret /shared/comment')
    assert values == {'/shared/comment': None}, values
    # and follow it through RENAME
    a.ok('RENAME Notes Notes2')
    _, values, _ = metadata(a, 'GETMETADATA Notes2 /private/comment')
    assert values == {'/private/comment': 'alice only'}, values
    a.close()
    b.close()


def test_server_entries():
    s = server()
    a = s.raw(ALICE)
    mailbox, values, _ = metadata(a, 'GETMETADATA "" /shared/admin')
    assert mailbox == '' and values == {'/shared/admin': 'mailto:postmaster@example.test'}
    tagged = a.cmd('SETMETADATA "" (/shared/admin "mailto:me@example.test")')[1]
    assert harness.status(tagged) == 'NO', tagged
    tagged = a.cmd('SETMETADATA "" (/shared/comment "mine")')[1]
    assert harness.status(tagged) == 'NO', tagged
    a.ok('SETMETADATA "" (/private/vendor/client/setting "dark")')
    _, values, _ = metadata(a, 'GETMETADATA "" /private/vendor/client/setting')
    assert values == {'/private/vendor/client/setting': 'dark'}, values
    b = s.raw(BOB)
    _, values, _ = metadata(b, 'GETMETADATA "" /private/vendor/client/setting')
    assert values == {'/private/vendor/client/setting': None}, values
    a.close()
    b.close()


def test_depth_and_maxsize():
    s = server()
    a = s.raw(ALICE)
    a.ok('CREATE Depth')
    a.ok('SETMETADATA Depth (/private/filters/values/small "SMALLER 5000" '
         '/private/filters/values/boss "FROM boss" /private/filters/values/boss/extra "x" '
         '/private/filters/values "top")')
    # RFC 5464's ABNF puts options first, its examples after the mailbox.
    _, values, _ = metadata(a, 'GETMETADATA (DEPTH 1) Depth /private/filters/values')
    assert values == {'/private/filters/values': 'top',
                      '/private/filters/values/boss': 'FROM boss',
                      '/private/filters/values/small': 'SMALLER 5000'}, values
    _, values, _ = metadata(a, 'GETMETADATA Depth (DEPTH infinity) (/private/filters)')
    assert len(values) == 4 and '/private/filters/values/boss/extra' in values, values
    _, values, _ = metadata(a, 'GETMETADATA Depth (DEPTH 0) /private/filters/values')
    assert values == {'/private/filters/values': 'top'}, values
    _, values, tagged = metadata(
        a, 'GETMETADATA Depth (MAXSIZE 5 DEPTH infinity) /private/filters')
    assert '[METADATA LONGENTRIES 12]' in tagged, tagged
    assert values == {'/private/filters/values/boss/extra': 'x',
                      '/private/filters/values': 'top'}, values
    a.close()


def test_limits_and_all_or_nothing():
    s = server()
    a = s.raw(ALICE)
    a.ok('CREATE Limits')
    big = 'x' * (MAX_VALUE + 1)
    tag = a.next_tag()
    a.send(('%s SETMETADATA Limits (/shared/comment "ok" /private/comment {%d+}\r\n%s)\r\n'
            % (tag, len(big), big)).encode())
    tagged = a.read_until(tag)[1]
    assert harness.status(tagged) == 'NO' and '[METADATA MAXSIZE %d]' % MAX_VALUE in tagged
    _, values, _ = metadata(a, 'GETMETADATA Limits /shared/comment')
    assert values == {'/shared/comment': None}, values  # nothing was set
    exact = 'y' * MAX_VALUE
    tag = a.next_tag()
    a.send(('%s SETMETADATA Limits (/private/comment {%d+}\r\n%s)\r\n'
            % (tag, len(exact), exact)).encode())
    assert harness.status(a.read_until(tag)[1]) == 'OK'
    pairs = ' '.join('/private/e%d "v"' % i for i in range(MAX_ENTRIES - 1))
    a.ok('SETMETADATA Limits (%s)' % pairs)
    tagged = a.cmd('SETMETADATA Limits (/shared/more "ok" /private/one-too-many "v")')[1]
    assert harness.status(tagged) == 'NO' and '[METADATA TOOMANY]' in tagged, tagged
    _, values, _ = metadata(a, 'GETMETADATA Limits /shared/more')
    assert values == {'/shared/more': None}, values  # all or nothing
    # Removing one makes room for another in the same command.
    a.ok('SETMETADATA Limits (/private/e0 NIL /private/fresh "v")')
    a.close()


def test_bad_syntax_and_names():
    r = server().raw(ALICE)
    for bad in ('GETMETADATA', 'GETMETADATA INBOX', 'GETMETADATA INBOX comment',
                'GETMETADATA INBOX /shared//comment', 'GETMETADATA INBOX /shared/comment/',
                'GETMETADATA INBOX /shared/*', 'GETMETADATA INBOX /other/comment',
                'GETMETADATA (DEPTH 2) INBOX /shared/comment',
                'GETMETADATA (BOGUS 1) INBOX /shared/comment',
                'SETMETADATA INBOX /shared/comment "x"', 'SETMETADATA INBOX (/shared "x")',
                'SETMETADATA INBOX (/shared/comment)', 'SETMETADATA INBOX ()',
                'SETMETADATA INBOX (/private/x "a" /shared/%% "b")'):
        tagged = r.cmd(bad)[1]
        assert harness.status(tagged) == 'BAD', (bad, tagged)
    r.ok('NOOP')
    r.close()


def test_server_stops_cleanly():
    server()
    server.stop()


if __name__ == '__main__':
    harness.main()
