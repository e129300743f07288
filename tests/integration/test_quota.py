"""QUOTA (RFC 9208): usage kept exactly, limits set by `buzon user quota` or
the quota_storage / quota_messages keys, and refusals on every path that
adds mail: IMAP APPEND, COPY and MOVE ([OVERQUOTA]), SMTP, submission and
LMTP (552 5.2.2 at RCPT and at the end of data), `buzon deliver`
(EX_CANTCREAT)."""

import smtplib
import subprocess

import harness
from test_smtp import Raw as SmtpRaw, inbox

DEFAULT_KIB = 10240
DEFAULT_MESSAGES = 1000
USERS = ['u%d@example.test' % i for i in range(1, 16)]
ACCOUNTS = {u: 'pw ' + u for u in USERS}

server = harness.ModuleServer(
    accounts=ACCOUNTS, listeners=('imap', 'smtp', 'submission', 'lmtp'),
    config={'quota_storage': '%dK' % DEFAULT_KIB, 'quota_messages': str(DEFAULT_MESSAGES)})


def message(size, subject='q'):
    """A message of exactly size bytes."""
    head = b'Subject: %s\r\n\r\n' % subject.encode()
    return head + b'x' * (size - len(head))


def set_quota(s, user, storage, messages):
    r = s.cli('user', 'quota', user, str(storage), str(messages))
    assert r.returncode == 0, r.stderr
    return r.stdout


def quota_of(r, root=''):
    """{resource: (usage, limit)} from GETQUOTA root."""
    untagged, _ = r.ok('GETQUOTA %s' % harness.quote(root))
    line = [l for l in untagged if l.startswith('* QUOTA ')]
    assert len(line) == 1, untagged
    values = harness.parse_values(line[0][len('* QUOTA '):])
    assert values[0] == root, values
    items = values[1]
    return {items[i].upper(): (int(items[i + 1]), int(items[i + 2]))
            for i in range(0, len(items), 3)}


def messages_in(r, mailbox):
    untagged, _ = r.ok('STATUS %s (MESSAGES)' % mailbox)
    return int(untagged[0].rsplit('MESSAGES ', 1)[1].rstrip(')'))


def test_capabilities_list_quota_and_its_resources_but_not_quotaset():
    r = server().raw(USERS[0])
    caps = r.ok('CAPABILITY')[0][0].split()
    assert 'QUOTA' in caps and 'QUOTA=RES-STORAGE' in caps and 'QUOTA=RES-MESSAGE' in caps
    assert 'QUOTASET' not in caps
    r.close()


def test_getquotaroot_names_the_account_root_with_the_configured_default():
    r = server().raw(USERS[0])
    untagged, _ = r.ok('GETQUOTAROOT INBOX')
    assert untagged[0] == '* QUOTAROOT "INBOX" ""', untagged
    assert untagged[1] == '* QUOTA "" (STORAGE 0 %d MESSAGE 0 %d)' % (
        DEFAULT_KIB, DEFAULT_MESSAGES), untagged
    # RFC 9208 §4.1.2: the mailbox need not exist.
    untagged, _ = r.ok('GETQUOTAROOT "Not/There"')
    assert untagged[0] == '* QUOTAROOT "Not/There" ""', untagged
    tagged = r.cmd('GETQUOTA "someone else"')[1]
    assert harness.status(tagged) == 'NO' and '[NONEXISTENT]' in tagged, tagged
    r.close()


def test_usage_is_exact_through_append_copy_expunge_and_delete():
    s = server()
    user = USERS[1]
    r = s.raw(user)
    r.append('INBOX', message(1000))
    r.append('INBOX', message(1500))
    assert quota_of(r) == {'STORAGE': (3, DEFAULT_KIB), 'MESSAGE': (2, DEFAULT_MESSAGES)}
    r.ok('CREATE Keep')
    r.ok('SELECT INBOX')
    r.ok('COPY 1:2 Keep')
    assert quota_of(r)['MESSAGE'][0] == 4
    assert quota_of(r)['STORAGE'][0] == 5  # 5000 bytes, rounded up to KiB
    r.ok('STORE 1 +FLAGS (\\Deleted)')
    untagged, _ = r.ok('STATUS INBOX (DELETED DELETED-STORAGE)')
    assert untagged[0] == '* STATUS "INBOX" (DELETED 1 DELETED-STORAGE 1)', untagged
    r.ok('EXPUNGE')
    assert quota_of(r)['MESSAGE'][0] == 3
    r.ok('DELETE Keep')
    assert quota_of(r) == {'STORAGE': (2, DEFAULT_KIB), 'MESSAGE': (1, DEFAULT_MESSAGES)}
    # The command line prints the same usage.
    assert set_quota(s, user, 'default', 'default') == \
        'STORAGE 2 %d\nMESSAGE 1 %d\n' % (DEFAULT_KIB, DEFAULT_MESSAGES)
    r.close()


def test_admin_sets_and_removes_limits_and_clients_see_them():
    s = server()
    user = USERS[2]
    r = s.raw(user)
    assert set_quota(s, user, 100, 'none') == 'STORAGE 0 100\nMESSAGE 0 none\n'
    assert quota_of(r) == {'STORAGE': (0, 100)}
    set_quota(s, user, 'none', 'none')
    untagged, _ = r.ok('GETQUOTA ""')
    assert untagged == ['* QUOTA "" ()'], untagged  # §4.2.1: nothing limited
    bad = s.cli('user', 'quota', user, 'lots', '5')
    assert bad.returncode != 0 and 'number' in bad.stderr
    missing = s.cli('user', 'quota', 'nobody@example.test', '1', '1')
    assert missing.returncode != 0
    r.close()


def test_setquota_is_refused_politely_and_malformed_is_bad():
    r = server().raw(USERS[0])
    tagged = r.cmd('SETQUOTA "" (STORAGE 512)')[1]
    assert harness.status(tagged) == 'NO' and '[NOPERM]' in tagged, tagged
    tagged = r.cmd('SETQUOTA "" ()')[1]
    assert harness.status(tagged) == 'NO', tagged
    for bad in ('SETQUOTA "" (STORAGE)', 'SETQUOTA "" STORAGE 5', 'SETQUOTA',
                'SETQUOTA "" (STORAGE -1)', 'GETQUOTA', 'GETQUOTAROOT'):
        assert harness.status(r.cmd(bad)[1]) == 'BAD', bad
    r.close()


def test_append_over_message_limit_is_overquota_and_all_or_nothing():
    s = server()
    user = USERS[3]
    set_quota(s, user, 'none', 2)
    r = s.raw(user)
    r.append('INBOX', message(200))
    # MULTIAPPEND of two where one fits: none is stored (RFC 3502).
    tag = r.next_tag()
    m = message(200)
    r.send(b'%s APPEND INBOX {%d+}\r\n%s {%d+}\r\n%s\r\n'
           % (tag.encode(), len(m), m, len(m), m))
    tagged = r.read_until(tag)[1]
    assert harness.status(tagged) == 'NO' and '[OVERQUOTA]' in tagged, tagged
    assert messages_in(r, 'INBOX') == 1
    r.append('INBOX', message(200))
    _, tagged = r.append('INBOX', message(200), check=False)
    assert harness.status(tagged) == 'NO' and '[OVERQUOTA]' in tagged, tagged
    assert messages_in(r, 'INBOX') == 2
    # REPLACE (RFC 8508) frees the old message first: the same size fits,
    # a larger one over the storage limit does not, and the old one stays.
    set_quota(s, user, 1, 'none')
    r.ok('SELECT INBOX')
    tag = r.next_tag()
    big = message(900)
    r.send(b'%s REPLACE 1 INBOX {%d+}\r\n%s\r\n' % (tag.encode(), len(big), big))
    tagged = r.read_until(tag)[1]
    assert harness.status(tagged) == 'NO' and '[OVERQUOTA]' in tagged, tagged
    tag = r.next_tag()
    same = message(200)
    r.send(b'%s REPLACE 1 INBOX {%d+}\r\n%s\r\n' % (tag.encode(), len(same), same))
    assert harness.status(r.read_until(tag)[1]) == 'OK'
    assert messages_in(r, 'INBOX') == 2
    r.close()


def test_append_over_storage_limit_is_overquota():
    s = server()
    user = USERS[4]
    set_quota(s, user, 2, 'none')  # 2048 bytes
    r = s.raw(user)
    r.append('INBOX', message(1500))
    _, tagged = r.append('Sent', message(600), check=False)
    assert harness.status(tagged) == 'NO' and '[OVERQUOTA]' in tagged, tagged
    r.append('Sent', message(548))  # exactly 2048 bytes in all
    assert quota_of(r)['STORAGE'] == (2, 2)
    r.close()


def test_copy_over_quota_is_refused_but_move_inside_the_account_is_not():
    s = server()
    user = USERS[5]
    r = s.raw(user)
    for _ in range(3):
        r.append('INBOX', message(300))
    set_quota(s, user, 'none', 3)
    r.ok('SELECT INBOX')
    tagged = r.cmd('COPY 1 Archive')[1]
    assert harness.status(tagged) == 'NO' and '[OVERQUOTA]' in tagged, tagged
    assert messages_in(r, 'Archive') == 0
    tagged = r.cmd('UID COPY 1:* Archive')[1]
    assert '[OVERQUOTA]' in tagged, tagged
    # Moving keeps usage equal: allowed at the limit.
    untagged, tagged = r.ok('MOVE 1:2 Archive')
    assert messages_in(r, 'Archive') == 2 and messages_in(r, 'INBOX') == 1
    assert quota_of(r)['MESSAGE'] == (3, 3)
    # Lowering the limit below usage refuses growth but keeps the mail.
    set_quota(s, user, 'none', 1)
    r.ok('SELECT Archive')
    assert '[OVERQUOTA]' in r.cmd('COPY 1 INBOX')[1]
    r.ok('MOVE 1 INBOX')
    assert quota_of(r)['MESSAGE'] == (3, 1)
    r.close()


def test_smtp_rcpt_refuses_a_full_mailbox_with_552_5_2_2():
    s = server()
    user = USERS[6]
    set_quota(s, user, 'none', 0)
    c = SmtpRaw(s.connect('smtp'))
    c.cmd('EHLO client.test')
    assert c.code('MAIL FROM:<x@remote.test>') == 250
    reply = c.cmd('RCPT TO:<%s>' % user)[-1]
    assert reply.startswith('552 5.2.2'), reply
    c.cmd('RSET')
    # SIZE= larger than the room left is refused at RCPT too (RFC 1870).
    set_quota(s, user, 4, 'none')
    assert c.code('MAIL FROM:<x@remote.test> SIZE=10000') == 250
    reply = c.cmd('RCPT TO:<%s>' % user)[-1]
    assert reply.startswith('552 5.2.2'), reply
    c.cmd('RSET')
    assert c.code('MAIL FROM:<x@remote.test> SIZE=1000') == 250
    assert c.code('RCPT TO:<%s>' % user) == 250
    c.cmd('QUIT')


def test_smtp_data_too_big_for_the_only_recipient_is_552():
    s = server()
    user = USERS[7]
    set_quota(s, user, 1, 'none')
    c = smtplib.SMTP(s.host, s.ports['smtp'], timeout=harness.CLIENT_TIMEOUT)
    # mail()/rcpt()/data() by hand: sendmail() would declare SIZE= and be
    # refused at RCPT already.
    c.ehlo('client.test')
    assert c.mail('x@remote.test')[0] == 250
    assert c.rcpt(user)[0] == 250
    code, text = c.data(message(3000))
    assert code == 552 and text.startswith(b'5.2.2'), (code, text)
    c.quit()
    assert inbox(s, user) == []


def test_submission_to_two_local_users_one_full_delivers_one_and_bounces():
    s = server()
    sender, roomy, full = USERS[8], USERS[9], USERS[10]
    set_quota(s, full, 1, 'none')  # room at RCPT, none for 3000 bytes
    c = smtplib.SMTP(s.host, s.ports['submission'], timeout=harness.CLIENT_TIMEOUT)
    c.login(sender, ACCOUNTS[sender])
    assert c.mail(sender)[0] == 250  # no SIZE=, so both pass RCPT
    assert c.rcpt(roomy)[0] == 250 and c.rcpt(full)[0] == 250
    assert c.data(message(3000, 'to two'))[0] == 250
    c.quit()
    assert [m for m in inbox(s, roomy) if b'Subject: to two' in m]
    assert inbox(s, full) == []
    bounces = inbox(s, sender)
    assert len(bounces) == 1, bounces
    assert b'multipart/report' in bounces[0] and b'5.2.2' in bounces[0], bounces[0]
    assert full.encode() in bounces[0] and roomy.encode() not in bounces[0]


def test_submission_rcpt_to_a_full_local_user_is_refused():
    s = server()
    sender, full = USERS[8], USERS[11]
    set_quota(s, full, 'none', 0)
    c = smtplib.SMTP(s.host, s.ports['submission'], timeout=harness.CLIENT_TIMEOUT)
    c.login(sender, ACCOUNTS[sender])
    try:
        c.sendmail(sender, [full], b'Subject: no room\r\n\r\nx\r\n')
        assert False, 'accepted'
    except smtplib.SMTPRecipientsRefused as e:
        code, text = e.recipients[full]
        assert code == 552 and text.startswith(b'5.2.2'), e.recipients
    c.quit()


def test_lmtp_answers_552_per_recipient_over_quota():
    s = server()
    ok_user, full, tiny = USERS[12], USERS[13], USERS[14]
    set_quota(s, full, 'none', 0)
    set_quota(s, tiny, 1, 'none')
    c = SmtpRaw(s.connect('lmtp'))
    c.cmd('LHLO mta.test')
    assert c.code('MAIL FROM:<x@remote.test>') == 250
    assert c.code('RCPT TO:<%s>' % ok_user) == 250
    assert c.cmd('RCPT TO:<%s>' % full)[-1].startswith('552 5.2.2')
    assert c.code('RCPT TO:<%s>' % tiny) == 250
    assert c.code('DATA') == 354
    c.send(message(2000, 'lmtp quota') + b'\r\n.\r\n')
    replies = [c.reply()[-1] for _ in range(2)]
    assert replies[0].startswith('250 ') and ok_user in replies[0], replies
    assert replies[1].startswith('552 5.2.2') and tiny in replies[1], replies
    c.cmd('QUIT')
    assert [m for m in inbox(s, ok_user) if b'Subject: lmtp quota' in m]
    assert inbox(s, tiny) == []


def test_deliver_command_refuses_everyone_when_one_is_full():
    s = server()
    ok_user, full = USERS[12], USERS[13]
    before = len(inbox(s, ok_user))
    r = subprocess.run([s.buzon, '-c', s.config_path, 'deliver', ok_user, full],
                       input=b'Subject: cli\r\n\r\nx\r\n', capture_output=True,
                       env=harness.sanitizer_env(), timeout=harness.CLI_TIMEOUT)
    assert r.returncode == 73, (r.returncode, r.stderr)  # EX_CANTCREAT
    assert b'over quota' in r.stderr and full.encode() in r.stderr
    assert len(inbox(s, ok_user)) == before


def test_config_rejects_bad_quota_values():
    for key, value in (('quota_storage', '0'), ('quota_storage', 'big'),
                       ('quota_messages', '0'), ('quota_messages', '-3')):
        with harness.Server(config={key: value}, serve=False) as s:
            r = s.cli('user', 'list')
            assert r.returncode == 1 and key in r.stderr, (key, value, r.stderr)


def test_server_stops_cleanly():
    server()
    server.stop()


if __name__ == '__main__':
    harness.main()
