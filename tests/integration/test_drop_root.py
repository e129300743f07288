"""test_drop_root: DESIGN rule 8 — started as root with `user` set, buzon
binds its ports and reads its TLS key as root, then runs as that user
(setgroups/setgid/setuid before any thread starts), and refuses to start
when the data directory belongs to someone else. Runs only as root (CI
does); skipped otherwise."""

import os
import pwd
import grp
import subprocess
import time

import harness

ALICE = 'alice@example.test'


def need_root():
    if os.geteuid() != 0:
        raise harness.unittest.SkipTest('needs root (CI runs the suite as root)')
    try:
        pwd.getpwnam('nobody')
    except KeyError:
        raise harness.unittest.SkipTest('no user nobody on this machine')


def ids_of(pid):
    """Real, effective, saved and filesystem uid and gid of every thread."""
    uids, gids = set(), set()
    for tid in os.listdir('/proc/%d/task' % pid):
        with open('/proc/%d/task/%s/status' % (pid, tid)) as f:
            for line in f:
                if line.startswith('Uid:'):
                    uids.update(int(x) for x in line.split()[1:])
                elif line.startswith('Gid:'):
                    gids.update(int(x) for x in line.split()[1:])
                elif line.startswith('Groups:'):
                    gids.update(int(x) for x in line.split()[1:])
    return uids, gids


def chown_tree(path, uid, gid):
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, gid)
        for name in files:
            os.chown(os.path.join(root, name), uid, gid)


def test_root_start_runs_as_user_and_serves():
    need_root()
    nobody = pwd.getpwnam('nobody')
    group = grp.getgrgid(nobody.pw_gid).gr_name
    with harness.Server(accounts={ALICE: 'pencil'}, serve=False,
                        listeners=('imap', 'imaps', 'pop3'),
                        config={'user': 'nobody', 'group': group}) as s:
        # Privileged-port binding is not tested (ports here are free high
        # ones); the key file is root-only and must still be read.
        os.chmod(s.dir, 0o755)
        # (with store = postgres nothing has made data_dir yet)
        os.makedirs(s.data_dir, mode=0o700, exist_ok=True)
        chown_tree(s.data_dir, nobody.pw_uid, nobody.pw_gid)
        s.serve = True
        s.start()
        # The ports accept before the switch (they are bound as root):
        # wait for the server to say it is ready, which comes after.
        deadline = time.monotonic() + 10
        while 'buzon ready' not in s.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        uids, gids = ids_of(s.proc.pid)
        assert uids == {nobody.pw_uid}, uids
        assert gids == {nobody.pw_gid}, gids
        assert 'serve: running as nobody' in s.log()
        c = s.imap(ALICE, 'pencil', tls='implicit')
        c.append('INBOX', None, None, b'Subject: as nobody\r\n\r\nhi\r\n')
        typ, data = c.select('INBOX')
        assert typ == 'OK' and data == [b'1'], data
        c.logout()


def test_root_start_refuses_a_data_dir_of_another_owner():
    need_root()
    with harness.Server(accounts={ALICE: 'pencil'}, serve=False,
                        config={'user': 'nobody'}) as s:
        os.chmod(s.dir, 0o755)
        # data_dir (and buzon.db) still belong to root.
        r = subprocess.run([s.buzon, '-c', s.config_path, 'serve'], capture_output=True,
                           text=True, timeout=30, env=harness.sanitizer_env())
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert 'belongs to uid 0, not to nobody' in r.stderr, r.stderr
        assert 'chown -R nobody' in r.stderr, r.stderr


def test_unknown_user_is_refused():
    need_root()
    with harness.Server(serve=False, config={'user': 'no-such-user-buzon'}) as s:
        r = subprocess.run([s.buzon, '-c', s.config_path, 'serve'], capture_output=True,
                           text=True, timeout=30, env=harness.sanitizer_env())
        assert r.returncode == 1 and 'no-such-user-buzon: no such user' in r.stderr, r.stderr


if __name__ == '__main__':
    harness.main()
