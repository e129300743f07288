"""mbsync (isync) against buzon: a 1,000-message folder synced down to a
local Maildir and back up, with nothing lost or duplicated (issue 2, "How
we will know").

1. INBOX gets 1,000 distinct messages (pipelined LITERAL+ APPENDs).
2. `mbsync -a` over STARTTLS (the server's generated certificate given as
   CertificateFile) brings them all down: 1,000 files, each with the bytes
   that were appended.
3. Locally: 10 new messages are added (new/), 5 deleted, 5 flagged (:2,F).
   `mbsync -a` again; the server then holds 1,005 messages: the 5 gone, the
   5 \\Flagged, the 10 new ones each exactly once.
4. A third `mbsync -a` changes nothing on either side.
"""

import collections
import os
import re
import shutil
import subprocess
import tempfile
import time

import harness
from test_imap_sync import Imap

USER = 'alice@example.test'
PASSWORD = 'mbsync-secret'
COUNT = 1000
MBSYNC_TIMEOUT = 300


def original(n):
    """Message n as appended: distinct subject, Message-ID and body; sizes vary."""
    lines = ['From: Sender %d <sender%d@example.test>' % (n % 17, n % 17),
             'To: alice@example.test',
             'Subject: mbsync message %d' % n,
             'Date: Mon, 6 Jan 2025 10:%02d:%02d +0000' % (n // 60 % 60, n % 60),
             'Message-ID: <mbsync-%d@example.test>' % n,
             'MIME-Version: 1.0',
             'Content-Type: text/plain; charset=utf-8',
             '',
             'This is mbsync message %d.' % n]
    lines += ['Line %d of message %d: the quick brown fox.' % (i, n) for i in range(n % 40)]
    return ('\r\n'.join(lines) + '\r\n').encode()


def local_new(n):
    """A message written by a local client: LF line ends, as in a Maildir."""
    return ('From: alice@example.test\n'
            'To: bob@example.test\n'
            'Subject: mbsync local %d\n'
            'Message-ID: <mbsync-local-%d@example.test>\n'
            'Date: Tue, 7 Jan 2025 09:00:%02d +0000\n'
            '\n'
            'Written locally, number %d.\n' % (n, n, n, n)).encode()


def subject_of(data):
    m = re.search(rb'^Subject: (mbsync (?:message|local) \d+)\r?$', data, re.M)
    return m.group(1).decode() if m else None


def fill_inbox(s):
    """COUNT messages, APPENDed 100 at a time without waiting (LITERAL+)."""
    c = Imap(s, USER, timeout=60)
    for start in range(1, COUNT + 1, 100):
        tags = []
        batch = b''
        for n in range(start, min(start + 100, COUNT + 1)):
            tag = c.next_tag()
            data = original(n)
            batch += b'%s APPEND INBOX {%d+}\r\n' % (tag.encode(), len(data)) + data + b'\r\n'
            tags.append(tag)
        c.send(batch)
        for tag in tags:
            tagged, _ = c.finish(tag)
            assert tagged.startswith(tag + ' OK'), tagged
    status = c.ok('STATUS INBOX (MESSAGES)')
    assert any('MESSAGES %d' % COUNT in l for l in status), status
    c.ok('LOGOUT')
    c.close()


def server_inbox(s):
    """[(uid, subject, set of flags)] of INBOX, in sequence order."""
    c = Imap(s, USER, timeout=60)
    untagged = c.ok('SELECT INBOX')
    exists = [int(m.group(1)) for m in (re.match(r'\* (\d+) EXISTS$', l) for l in untagged) if m]
    rows = []
    if exists and exists[-1] > 0:
        untagged = c.ok('FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])', timeout=60)
        for line in untagged:
            if not re.match(r'\* \d+ FETCH ', line):
                continue
            uid = int(re.search(r'\bUID (\d+)', line).group(1))
            flags = set(re.search(r'\bFLAGS \(([^)]*)\)', line).group(1).split())
            subject = re.search(r'Subject: ([^\r\n]*)', line)
            rows.append((uid, subject.group(1) if subject else None, flags))
        assert len(rows) == exists[-1], (len(rows), exists)
    c.ok('LOGOUT')
    c.close()
    return rows


class Maildir:
    def __init__(self, path):
        self.path = path

    def files(self):
        """{path: bytes} of every message file (new/ and cur/)."""
        out = {}
        for sub in ('new', 'cur'):
            d = os.path.join(self.path, sub)
            if not os.path.isdir(d):
                continue
            for name in os.listdir(d):
                p = os.path.join(d, name)
                with open(p, 'rb') as f:
                    out[p] = f.read()
        return out

    def by_subject(self):
        found = collections.defaultdict(list)
        for p, data in self.files().items():
            found[subject_of(data)].append(p)
        return found

    @staticmethod
    def flags_of(path):
        name = os.path.basename(path)
        return set(name.split(':2,', 1)[1]) if ':2,' in name else set()

    def set_flag(self, path, flag):
        name = os.path.basename(path)
        base, _, flags = name.partition(':2,')
        flags = ''.join(sorted(set(flags) | {flag}))
        dest = os.path.join(self.path, 'cur', '%s:2,%s' % (base, flags))
        os.rename(path, dest)
        return dest

    def add_new(self, n, data):
        name = '%d.M%dP%d.buzontest' % (int(time.time()), n, os.getpid())
        tmp = os.path.join(self.path, 'tmp', name)
        with open(tmp, 'wb') as f:
            f.write(data)
        os.rename(tmp, os.path.join(self.path, 'new', name))


def write_rc(s, top):
    mail = os.path.join(top, 'mail')
    os.makedirs(mail)
    rc = os.path.join(top, 'mbsyncrc')
    cert = os.path.join(s.data_dir, 'tls', 'cert.pem')
    assert os.path.exists(cert), 'no generated certificate at %s' % cert
    with open(rc, 'w') as f:
        f.write('IMAPAccount buzon\n'
                'Host 127.0.0.1\n'
                'Port %d\n'
                'User %s\n'
                'Pass %s\n'
                'SSLType STARTTLS\n'
                'CertificateFile %s\n'
                'AuthMechs PLAIN LOGIN\n'
                'Timeout 120\n'
                '\n'
                'IMAPStore remote\n'
                'Account buzon\n'
                '\n'
                'MaildirStore local\n'
                'Path %s/\n'
                'Inbox %s/INBOX\n'
                'SubFolders Verbatim\n'
                '\n'
                'Channel buzon\n'
                'Far :remote:\n'
                'Near :local:\n'
                'Patterns *\n'
                'Sync All\n'
                'Create Both\n'
                'Expunge Both\n'
                'SyncState *\n'
                % (s.ports['imap'], USER, PASSWORD, cert, mail, mail))
    return rc, os.path.join(mail, 'INBOX')


def run_mbsync(rc, home):
    env = dict(os.environ, HOME=home)
    r = subprocess.run(['mbsync', '-c', rc, '-a'], capture_output=True, text=True,
                       timeout=MBSYNC_TIMEOUT, env=env)
    assert r.returncode == 0, 'mbsync exited %d:\n%s\n%s' % (r.returncode, r.stdout, r.stderr)
    return r


def test_mbsync_1000_down_and_up():
    if shutil.which('mbsync') is None:
        raise __import__('unittest').SkipTest('mbsync is not installed (Debian package isync)')
    top = tempfile.mkdtemp(prefix='buzon-mbsync-')
    try:
        with harness.Server(accounts={USER: PASSWORD}) as s:
            fill_inbox(s)
            before = server_inbox(s)
            rc, inbox = write_rc(s, top)
            box = Maildir(inbox)

            # ---- 1. down --------------------------------------------------
            run_mbsync(rc, top)
            files = box.files()
            assert len(files) == COUNT, 'Maildir holds %d files, not %d' % (len(files), COUNT)
            subjects = box.by_subject()
            dup = [k for k, v in subjects.items() if len(v) != 1]
            assert not dup, 'duplicated or unrecognised in the Maildir: %r' % dup[:5]
            for n in range(1, COUNT + 1):
                paths = subjects.get('mbsync message %d' % n)
                assert paths, 'message %d missing from the Maildir' % n
                # mbsync adds its own X-TUID: header to what it stores.
                got = re.sub(rb'(?m)^X-TUID: .*\n', b'', files[paths[0]].replace(b'\r\n', b'\n'))
                want = original(n).replace(b'\r\n', b'\n')
                assert got == want, 'message %d differs in the Maildir:\n%r\n%r' % (n, got, want)
            # The other default folders came down too (Create Both).
            for folder in ('Sent', 'Drafts', 'Trash', 'Junk', 'Archive'):
                assert os.path.isdir(os.path.join(top, 'mail', folder, 'cur')), folder
            # Nothing changed on the server by pulling.
            assert [(u, subj) for u, subj, _ in server_inbox(s)] == \
                [(u, subj) for u, subj, _ in before]

            # ---- 2. local changes, up ------------------------------------
            deleted = ['mbsync message %d' % n for n in (3, 100, 101, 500, 1000)]
            flagged = ['mbsync message %d' % n for n in (1, 250, 251, 777, 999)]
            added = ['mbsync local %d' % n for n in range(1, 11)]
            for subject in deleted:
                os.unlink(subjects[subject][0])
            for subject in flagged:
                box.set_flag(subjects[subject][0], 'F')
            for n in range(1, 11):
                box.add_new(n, local_new(n))
            run_mbsync(rc, top)

            rows = server_inbox(s)
            assert len(rows) == COUNT + 5, 'server INBOX holds %d, not %d' % (len(rows), COUNT + 5)
            on_server = collections.Counter(subj for _, subj, _ in rows)
            twice = [k for k, v in on_server.items() if v > 1]
            assert not twice, 'duplicated on the server: %r' % twice
            for subject in deleted:
                assert subject not in on_server, '%s was deleted locally but is still there' \
                    % subject
            flags = {subj: f for _, subj, f in rows}
            for subject in flagged:
                assert '\\Flagged' in flags[subject], '%s: %r' % (subject, flags[subject])
            for subject in added:
                assert on_server[subject] == 1, '%s: %d copies' % (subject, on_server[subject])
            others = set(on_server) - set(flagged) - set(added)
            assert not [x for x in others if '\\Flagged' in flags[x]]
            assert not [x for x in others if '\\Deleted' in flags[x]]
            uids = [u for u, _, _ in rows]
            assert uids == sorted(uids) and len(set(uids)) == len(uids)
            kept = {u for u, subj, _ in before if subj not in deleted}
            assert kept <= set(uids), 'messages that were not deleted got new UIDs'
            assert len(box.files()) == COUNT + 5

            # ---- 3. again: nothing changes ---------------------------------
            local_before = sorted(box.files())
            run_mbsync(rc, top)
            assert server_inbox(s) == rows
            after = box.files()
            assert sorted(after) == local_before, 'the third sync changed the Maildir'
            assert len(after) == COUNT + 5
            assert all(len(v) == 1 for v in box.by_subject().values())
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == '__main__':
    harness.main()
