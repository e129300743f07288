"""test_dsn: delivery status notifications (RFC 3461 parameters, RFC 3464
reports) end to end. Mail goes in over SMTP submission, MX or LMTP with
MAIL ... RET= ENVID= and RCPT ... NOTIFY= ORCPT=; the outbound queue hands it
to a loopback SMTP server written in the test (test_queue.Sink), with or
without the DSN extension; the reports arrive in the sender's INBOX (local
sender) or at the sink (remote sender)."""

import base64
import os
import sqlite3
import time

import harness
from test_queue import Sink, inbox_messages, queue_list, wait_for
from test_smtp import Raw

ALICE = 'alice@example.test'
BOB = 'bob@example.test'
ACCOUNTS = {ALICE: 'alice-pw', BOB: 'bob-pw'}
LISTENERS = ('imap', 'smtp', 'submission', 'lmtp')


def submit(s, mail_from, rcpts, subject, body=b'hello\r\n'):
    """Send one message over submission as alice: mail_from and each rcpt
    are the whole argument text (path and parameters). Returns the reply
    lines of MAIL, each RCPT and the end of data."""
    r = Raw(s.connect('submission'))
    r.cmd('EHLO client.test')
    plain = base64.b64encode(b'\0' + ALICE.encode() + b'\0' + ACCOUNTS[ALICE].encode())
    assert r.cmd('AUTH PLAIN ' + plain.decode())[0].startswith('235')
    replies = [r.cmd('MAIL FROM:' + mail_from)[0]]
    replies += [r.cmd('RCPT TO:' + rcpt)[0] for rcpt in rcpts]
    assert r.code('DATA') == 354
    r.send(b'From: <alice@example.test>\r\nSubject: ' + subject.encode() +
           b'\r\n\r\n' + body + b'.\r\n')
    replies.append(r.reply()[0])
    r.cmd('QUIT')
    r.close()
    return replies


def reports(s):
    return [m for m in inbox_messages(s) if b'multipart/report' in m]


def relay(sink, **extra):
    config = {'relay_host': '127.0.0.1:%d' % sink.port, 'queue_retry_base': '1s',
              'relay_tls_insecure': 'yes'}  # a plain loopback sink
    config.update(extra)
    return config


def test_parameters_are_stored_and_passed_to_a_peer_that_offers_dsn():
    # bob first gets a 451: the parameters must survive in queue.db and go
    # out, unchanged, on the retry (RFC 3461 §5.2.1); carol had no ORCPT,
    # so we add one with her address as xtext; no DSN comes from us (the
    # next hop is responsible now).
    sink = Sink(dsn=True, replies={'bob@remote.test': '451 4.3.0 later'})
    try:
        with harness.Server(accounts=ACCOUNTS, listeners=LISTENERS,
                            config=relay(sink, queue_retry_base='1h')) as s:
            replies = submit(s, '<alice@example.test> RET=HDRS ENVID=QQ314159',
                             ['<bob@remote.test> NOTIFY=SUCCESS,FAILURE '
                              'ORCPT=rfc822;Bob+40Remote.test',
                              '<carol+x@remote.test>'], 'passed on')
            assert all(x.startswith('250') for x in replies), replies
            wait_for(lambda: '451 4.3.0' in queue_list(s), 'the 451')
            db = sqlite3.connect(os.path.join(s.data_dir, 'queue.db'))
            row = db.execute('SELECT envid, ret FROM message').fetchone()
            rcpt = db.execute("SELECT notify, orcpt FROM recipient "
                              "WHERE address = 'bob@remote.test'").fetchone()
            db.close()
            assert row == ('QQ314159', 2), row
            assert rcpt == (2 | 4, 'rfc822;Bob+40Remote.test'), rcpt
            sink.replies.clear()
            s.cli('queue', 'flush')
            sink.wait_messages(2)
            lines = list(sink.transcript)
            assert 'MAIL FROM:<alice@example.test> RET=HDRS ENVID=QQ314159' in lines, lines
            assert ('RCPT TO:<bob@remote.test> NOTIFY=SUCCESS,FAILURE '
                    'ORCPT=rfc822;Bob+40Remote.test') in lines, lines
            assert 'RCPT TO:<carol+x@remote.test> ORCPT=rfc822;carol+2Bx@remote.test' in lines, lines
            wait_for(lambda: 'queue is empty' in queue_list(s), 'the entry to go')
            assert reports(s) == []
    finally:
        sink.close()


def test_a_peer_without_dsn_gets_no_parameters_and_success_is_reported_relayed():
    sink = Sink(dsn=False)
    try:
        with harness.Server(accounts=ACCOUNTS, listeners=LISTENERS, config=relay(sink)) as s:
            submit(s, '<alice@example.test> ENVID=id+2Bone',
                   ['<bob@remote.test> NOTIFY=SUCCESS ORCPT=rfc822;bob@remote.test',
                    '<dan@remote.test>'], 'relayed')
            sink.wait_messages(1)
            assert not any('NOTIFY' in l or 'ENVID' in l or 'ORCPT' in l or 'RET=' in l
                           for l in sink.transcript), sink.transcript
            dsn = wait_for(lambda: reports(s), 'the relayed DSN')[0]
            assert b'Action: relayed' in dsn and b'Status: 2.0.0' in dsn, dsn
            assert b'Original-Envelope-Id: id+one\r\n' in dsn, dsn
            assert b'Original-Recipient: rfc822;bob@remote.test\r\n' in dsn, dsn
            assert b'Final-Recipient: rfc822; bob@remote.test' in dsn
            assert b'dan@remote.test' not in dsn.split(b'text/rfc822-headers')[0]
            assert b'text/rfc822-headers' in dsn and b'hello' not in dsn  # headers only
            wait_for(lambda: 'queue is empty' in queue_list(s), 'the entry to go')
            assert len(reports(s)) == 1
    finally:
        sink.close()


def test_failure_reports_respect_notify_and_ret():
    sink = Sink(replies={'x@remote.test': '550 5.1.1 no x', 'y@remote.test': '550 5.1.1 no y',
                         'z@remote.test': '550 5.1.1 no z', 'n@remote.test': '550 5.1.1 no n'})
    try:
        with harness.Server(accounts=ACCOUNTS, listeners=LISTENERS, config=relay(sink)) as s:
            # x: NEVER, y: FAILURE with ORCPT, z: no NOTIFY (FAILURE by
            # default); RET=FULL: the whole message comes back.
            submit(s, '<alice@example.test> RET=FULL ENVID=full',
                   ['<x@remote.test> NOTIFY=NEVER',
                    '<y@remote.test> NOTIFY=FAILURE ORCPT=rfc822;y+40remote.test',
                    '<z@remote.test>'], 'full', body=b'the body line\r\n')
            dsn = wait_for(lambda: reports(s), 'the failure DSN')[0]
            part = dsn.split(b'message/delivery-status', 1)[1]
            assert b'Final-Recipient: rfc822; y@remote.test' in part
            assert b'Final-Recipient: rfc822; z@remote.test' in part
            assert b'x@remote.test' not in part.split(b'message/rfc822')[0], part
            assert b'Original-Recipient: rfc822;y@remote.test' in part
            assert b'Original-Envelope-Id: full' in part
            assert b'Action: failed' in part and b'Status: 5.1.1' in part
            assert b'Content-Type: message/rfc822' in dsn and b'the body line' in dsn
            assert b'Subject: Undelivered Mail Returned to Sender' in dsn
            wait_for(lambda: 'queue is empty' in queue_list(s), 'the first entry to go')
            # RET=HDRS: the header alone; NOTIFY=NEVER only: no DSN at all.
            submit(s, '<alice@example.test> RET=HDRS', ['<z@remote.test>'], 'hdrs',
                   body=b'secret body\r\n')
            submit(s, '<alice@example.test>', ['<n@remote.test> NOTIFY=NEVER'], 'never')
            got = wait_for(lambda: (lambda r: r if len(r) >= 2 else None)(reports(s)),
                           'the HDRS DSN')
            assert b'Subject: hdrs' in got[1] and b'secret body' not in got[1]
            assert b'text/rfc822-headers' in got[1]
            wait_for(lambda: 'queue is empty' in queue_list(s), 'the entries to go')
            assert len(reports(s)) == 2
            assert not any(b'Subject: never' in m for m in reports(s))
    finally:
        sink.close()


def test_delay_report_goes_once_to_those_who_allow_it():
    # dsn_delay 2s, retries an hour apart: an attempt is made when the
    # 2 s are up, and bob (NOTIFY=DELAY,FAILURE) and eve (no NOTIFY:
    # FAILURE,DELAY) are reported delayed, carol (NOTIFY=FAILURE) is not;
    # later attempts add no second report.
    sink = Sink(replies={'bob@remote.test': '451 4.2.0 busy', 'carol@remote.test': '451 4.2.0 busy',
                         'eve@remote.test': '451 4.2.0 busy'})
    try:
        with harness.Server(accounts=ACCOUNTS, listeners=LISTENERS,
                            config=relay(sink, dsn_delay='2s', queue_retry_base='1h')) as s:
            submit(s, '<alice@example.test>',
                   ['<bob@remote.test> NOTIFY=DELAY,FAILURE', '<carol@remote.test> NOTIFY=FAILURE',
                    '<eve@remote.test>'], 'slow')
            dsn = wait_for(lambda: reports(s), 'the delay DSN', timeout=30)[0]
            assert b'Action: delayed' in dsn and b'Status: 4.2.0' in dsn, dsn
            assert b'Will-Retry-Until: ' in dsn
            assert b'Subject: Delayed Mail (still being retried)' in dsn
            part = dsn.split(b'message/delivery-status', 1)[1]
            assert b'bob@remote.test' in part and b'eve@remote.test' in part
            assert b'carol@remote.test' not in part
            attempts = lambda: int(queue_list(s).split('attempts ')[1].split()[0])
            n = attempts()
            s.cli('queue', 'flush')
            wait_for(lambda: attempts() > n, 'another attempt')
            s.cli('queue', 'flush')
            wait_for(lambda: attempts() > n + 1, 'a third attempt')
            assert len(reports(s)) == 1
    finally:
        sink.close()


def test_success_report_for_local_delivery_over_mx_lmtp_and_submission():
    sink = Sink()
    try:
        with harness.Server(accounts=ACCOUNTS, listeners=LISTENERS, config=relay(sink)) as s:
            # MX from a remote sender: the "delivered" DSN is queued to it
            # with an empty sender.
            r = Raw(s.connect('smtp'))
            r.cmd('EHLO mx.remote.test')
            assert r.code('MAIL FROM:<x@remote.test> ENVID=mx1') == 250
            assert r.code('RCPT TO:<%s> NOTIFY=SUCCESS ORCPT=rfc822;Alice@example.test' % ALICE) == 250
            assert r.code('RCPT TO:<%s>' % BOB) == 250
            assert r.code('DATA') == 354
            r.send('Subject: over mx\r\n\r\nhi\r\n.\r\n')
            assert r.reply()[0].startswith('250')
            # A null sender never gets one.
            assert r.code('MAIL FROM:<>') == 250
            assert r.code('RCPT TO:<%s> NOTIFY=SUCCESS' % ALICE) == 250
            assert r.code('DATA') == 354
            r.send('Subject: from nobody\r\n\r\nhi\r\n.\r\n')
            assert r.reply()[0].startswith('250')
            r.close()
            got = sink.wait_messages(1)
            assert got[0][0] == '' and got[0][1] == ['x@remote.test'], got
            dsn = got[0][2]
            assert b'Action: delivered' in dsn and b'Status: 2.0.0' in dsn, dsn
            assert b'Original-Envelope-Id: mx1' in dsn
            assert b'Original-Recipient: rfc822;Alice@example.test' in dsn
            assert b'Final-Recipient: rfc822; bob@example.test' not in dsn
            assert b'Subject: Successful Mail Delivery Report' in dsn
            # LMTP, from alice: the DSN lands in her INBOX.
            r = Raw(s.connect('lmtp'))
            r.cmd('LHLO mta.test')
            assert r.code('MAIL FROM:<%s>' % ALICE) == 250
            assert r.code('RCPT TO:<%s> NOTIFY=SUCCESS,FAILURE' % BOB) == 250
            assert r.code('DATA') == 354
            r.send('Subject: over lmtp\r\n\r\nhi\r\n.\r\n')
            assert r.reply()[0].startswith('250')
            r.close()
            dsn = wait_for(lambda: reports(s), 'the LMTP success DSN')[0]
            assert b'Final-Recipient: rfc822; bob@example.test' in dsn
            assert b'Action: delivered' in dsn and b'Subject: over lmtp' in dsn
            # Submission to herself.
            submit(s, '<alice@example.test>', ['<alice@example.test> NOTIFY=SUCCESS'], 'to me')
            got = wait_for(lambda: (lambda m: m if len(m) >= 2 else None)(reports(s)),
                           'the submission success DSN')
            assert b'Subject: to me' in got[1] and b'Action: delivered' in got[1]
            time.sleep(1)
            assert len(sink.messages) == 1  # nothing for <>
    finally:
        sink.close()


def test_bad_dsn_parameters_get_501():
    with harness.Server(accounts=ACCOUNTS, listeners=LISTENERS) as s:
        r = Raw(s.connect('smtp'))
        r.cmd('EHLO client.test')
        for bad in ('RET=FOO', 'RET=FULL RET=HDRS', 'ENVID=a ENVID=b', 'ENVID=a+2b',
                    'ENVID=' + 'x' * 101, 'ENVID=+0A'):
            assert r.code('MAIL FROM:<x@remote.test> ' + bad) == 501, bad
        assert r.code('MAIL FROM:<x@remote.test> RET=hdrs ENVID=ok+2B') == 250
        for bad in ('NOTIFY=NEVER,SUCCESS', 'NOTIFY=SOMETIMES', 'NOTIFY=SUCCESS NOTIFY=DELAY',
                    'NOTIFY=', 'ORCPT=nosemicolon', 'ORCPT=rfc822;a+zz', 'ORCPT=;a',
                    'ORCPT=rfc822;a ORCPT=rfc822;b', 'ORCPT=rfc822;' + 'a' * 500):
            assert r.code('RCPT TO:<%s> %s' % (ALICE, bad)) == 501, bad
        assert r.code('RCPT TO:<%s> NOTIFY=success,Delay ORCPT=rfc822;a+40b' % ALICE) == 250
        assert r.code('RCPT TO:<%s> NOTIFY=never' % BOB) == 250
        r.close()


if __name__ == '__main__':
    harness.main()
