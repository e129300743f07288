"""`buzon user import`: accounts from a Dovecot passwd-file keep their
passwords (issue 2, point 5: SHA512-CRYPT and bcrypt hashes are accepted so a
Dovecot passwd file can be imported)."""
import os
import subprocess

import harness


# bcrypt of "bert-pw" (cost 5), in the $2y$ spelling Dovecot's BLF-CRYPT writes.
BCRYPT_BERT = '$2y$05$FjHMzGu409rqK7tkPlutcOoSP4Yiz2qAOXuK/2w.JB4IBwYkgVYrS'


def passwd_file(s, lines):
    path = os.path.join(s.dir, 'users.passwd')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def openssl_sha512(password):
    return subprocess.run(['openssl', 'passwd', '-6', password], check=True,
                          capture_output=True, text=True).stdout.strip()


def test_import_keeps_dovecot_hashes_and_logins_work():
    with harness.Server(accounts={'old@example.test': 'before'}) as s:
        path = passwd_file(s, [
            '# a Dovecot passwd-file',
            'anna@example.test:{SHA512-CRYPT}%s:1000:1000::/home/anna::' % openssl_sha512('anna-pw'),
            'bert@example.test:{BLF-CRYPT}%s' % BCRYPT_BERT,
            'carl@example.test:%s' % openssl_sha512('carl-pw'),
            'dora@example.test:{PLAIN}dora-pw',
            'old@example.test:{SHA512-CRYPT}%s' % openssl_sha512('after'),
        ])
        r = s.cli('user', 'import', path)
        assert r.returncode == 0, r.stderr
        assert 'imported 5 accounts (4 new, 1 updated), 0 lines skipped' in r.stdout, r.stdout
        for user, password in (('anna', 'anna-pw'), ('bert', 'bert-pw'), ('carl', 'carl-pw'),
                               ('dora', 'dora-pw'), ('old', 'after')):
            c = s.imap('%s@example.test' % user, password)
            assert c.select('Sent')[0] == 'OK'  # default folders were made
            c.logout()


def test_import_names_bad_lines_and_imports_the_rest():
    with harness.Server() as s:
        path = passwd_file(s, [
            'nodomain:{PLAIN}x',
            'eve@elsewhere.test:{PLAIN}x',
            'fred@example.test:{SSHA}c2FsdA==',
            'gina@example.test:{PLAIN}gina-pw',
            'garbage line',
        ])
        r = s.cli('user', 'import', path)
        assert r.returncode == 1
        for n in (1, 2, 3, 5):
            assert '%s:%d:' % (path, n) in r.stderr, r.stderr
        assert 'imported 1 accounts (1 new, 0 updated), 4 lines skipped' in r.stdout, r.stdout
        c = s.imap('gina@example.test', 'gina-pw')
        c.logout()


if __name__ == '__main__':
    harness.main()
