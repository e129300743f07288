"""test_cli: the command line as users and scripts see it (DESIGN.md
"Command line"): exit status 0 / 1 (failure) / 2 (usage), messages on
stderr, config errors naming FILE:LINE, and the user verbs end to end."""

import imaplib
import os

import harness


def cli_only(**kwargs):
    """A config and data dir, no running server."""
    return harness.Server(serve=False, **kwargs)


def write_config(s, text):
    """Replace the server's config file with text; returns its path."""
    with open(s.config_path, 'w') as f:
        f.write(text)
    return s.config_path


# ---- user add / list / passwd / del -------------------------------------------

def test_user_add_then_list_shows_the_account():
    with cli_only() as s:
        r = s.cli('user', 'add', 'alice@example.test', input='secret\n')
        assert r.returncode == 0, r.stderr
        r = s.cli('user', 'list')
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines() == ['alice@example.test'], r.stdout


def test_user_list_prints_one_address_per_line():
    with cli_only(accounts={'bob@example.test': 'b', 'alice@example.test': 'a',
                            'carol@example.test': 'c'}) as s:
        r = s.cli('user', 'list')
        assert r.returncode == 0, r.stderr
        assert sorted(r.stdout.splitlines()) == ['alice@example.test', 'bob@example.test',
                                                 'carol@example.test'], r.stdout


def test_user_list_when_empty_prints_nothing():
    with cli_only() as s:
        r = s.cli('user', 'list')
        assert r.returncode == 0, r.stderr
        assert r.stdout == '', r.stdout


def test_user_add_lowercases_the_address():
    with cli_only() as s:
        r = s.cli('user', 'add', 'Bob@Example.TEST', input='pw\n')
        assert r.returncode == 0, r.stderr
        assert s.cli('user', 'list').stdout.splitlines() == ['bob@example.test']


def test_user_add_twice_says_the_account_exists():
    with cli_only(accounts={'alice@example.test': 'pw'}) as s:
        r = s.cli('user', 'add', 'ALICE@example.test', input='other\n')
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert 'already exists' in r.stderr, r.stderr


def test_user_add_refuses_an_empty_password():
    with cli_only() as s:
        r = s.cli('user', 'add', 'alice@example.test', input='\n')
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert 'password' in r.stderr, r.stderr
        r = s.cli('user', 'add', 'alice@example.test', input='')
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert s.cli('user', 'list').stdout == ''


def test_user_add_accepts_crlf_and_no_final_newline():
    with cli_only() as s:
        assert s.cli('user', 'add', 'a@example.test', input='pw\r\n').returncode == 0
        assert s.cli('user', 'add', 'b@example.test', input='pw').returncode == 0


def test_user_add_refuses_a_non_address():
    with cli_only() as s:
        for bad in ('alice', '@example.test', 'alice@', 'al ice@example.test'):
            r = s.cli('user', 'add', bad, input='pw\n')
            assert r.returncode == 1, (bad, r.returncode, r.stderr)
            assert r.stderr.startswith('buzon: '), r.stderr
        assert s.cli('user', 'list').stdout == ''


def test_user_add_refuses_a_domain_that_is_not_local():
    with cli_only() as s:
        r = s.cli('user', 'add', 'alice@elsewhere.example', input='pw\n')
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert 'elsewhere.example' in r.stderr and 'local domains' in r.stderr, r.stderr


def test_user_add_takes_any_domain_without_domains_key():
    with cli_only(config={'domains': None}) as s:
        r = s.cli('user', 'add', 'x@anywhere.example', input='pw\n')
        assert r.returncode == 0, r.stderr


def test_user_passwd_changes_an_existing_account():
    with cli_only(accounts={'alice@example.test': 'old'}) as s:
        r = s.cli('user', 'passwd', 'alice@example.test', input='new\n')
        assert r.returncode == 0, r.stderr


def test_user_passwd_of_a_missing_account_fails():
    with cli_only() as s:
        r = s.cli('user', 'passwd', 'nobody@example.test', input='pw\n')
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert 'no such account' in r.stderr, r.stderr


def test_user_del_removes_the_account():
    with cli_only(accounts={'alice@example.test': 'a', 'bob@example.test': 'b'}) as s:
        r = s.cli('user', 'del', 'alice@example.test')
        assert r.returncode == 0, r.stderr
        assert s.cli('user', 'list').stdout.splitlines() == ['bob@example.test']


def test_user_del_of_a_missing_account_fails():
    with cli_only() as s:
        r = s.cli('user', 'del', 'nobody@example.test')
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert 'no such account' in r.stderr, r.stderr


def test_user_sub_command_errors_are_usage_errors():
    with cli_only() as s:
        for args in (['user'], ['user', 'frobnicate'], ['user', 'add'],
                     ['user', 'del', 'a@example.test', 'extra'], ['user', 'list', 'x']):
            r = s.cli(*args)
            assert r.returncode == 2, (args, r.returncode, r.stderr)
            assert 'usage:' in r.stderr, (args, r.stderr)


# ---- config errors -------------------------------------------------------------

def test_unknown_key_names_file_and_line():
    with cli_only() as s:
        path = write_config(s, 'data_dir = %s\n# comment\n\nimap_port = 143\n' % s.data_dir)
        r = s.cli('user', 'list')
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert "%s:4: unknown key 'imap_port'" % path in r.stderr, r.stderr


def test_bad_value_names_file_and_line():
    with cli_only() as s:
        path = write_config(s, 'data_dir = %s\nthreads = many\n' % s.data_dir)
        r = s.cli('user', 'list')
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert '%s:2: threads must be' % path in r.stderr, r.stderr
        write_config(s, 'data_dir = %s\nimap = 127.0.0.1:99999\n' % s.data_dir)
        r = s.cli('serve')
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert '%s:2: bad port' % path in r.stderr, r.stderr


def test_missing_data_dir_is_named():
    with cli_only() as s:
        path = write_config(s, 'hostname = localhost\n')
        r = s.cli('user', 'list')
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert '%s: data_dir is required' % path in r.stderr, r.stderr


def test_missing_config_file_fails():
    with cli_only() as s:
        r = s.cli('-c', os.path.join(s.dir, 'nope.conf'), 'user', 'list', config=False)
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert 'nope.conf: No such file or directory' in r.stderr, r.stderr


# ---- usage -------------------------------------------------------------------

def test_no_arguments_is_a_usage_error():
    with cli_only() as s:
        r = s.cli(config=False)
        assert r.returncode == 2, (r.returncode, r.stderr)
        assert 'usage: buzon -c FILE' in r.stderr, r.stderr


def test_unknown_command_or_option_is_a_usage_error():
    with cli_only() as s:
        for args in (['frobnicate'], ['--frobnicate', 'serve'], ['-x', 'serve']):
            r = s.cli(*args)
            assert r.returncode == 2, (args, r.returncode, r.stderr)
            assert 'usage:' in r.stderr, r.stderr


def test_missing_config_option_is_a_usage_error():
    with cli_only() as s:
        r = s.cli('user', 'list', config=False)
        assert r.returncode == 2, (r.returncode, r.stderr)
        assert '-c FILE' in r.stderr, r.stderr
        r = s.cli('-c', config=False)
        assert r.returncode == 2, (r.returncode, r.stderr)


def test_serve_takes_no_arguments():
    with cli_only() as s:
        r = s.cli('serve', 'now')
        assert r.returncode == 2, (r.returncode, r.stderr)


def test_help_and_version():
    with cli_only() as s:
        for flag in ('-h', '--help'):
            r = s.cli(flag, config=False)
            assert r.returncode == 0, r.stderr
            assert 'usage: buzon -c FILE' in r.stdout and 'user add ADDRESS' in r.stdout
        r = s.cli('--version', config=False)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith('buzon '), r.stdout


# ---- serve -----------------------------------------------------------------------

def test_serve_accepts_imap_and_imaps_and_stops_cleanly():
    with harness.Server(accounts={'alice@example.test': 'pw'}) as s:
        for tls in ('plain', 'implicit'):
            c = s.imap(tls=tls)
            assert 'IMAP4REV' in ' '.join(c.capabilities).upper(), c.capabilities
            c.logout()



def test_serve_login_over_plain_starttls_and_implicit_tls():
    with harness.Server(accounts={'alice@example.test': 'pw'}) as s:
        for tls in ('plain', 'starttls', 'implicit'):
            c = s.imap('alice@example.test', tls=tls)
            typ, _ = c.select('INBOX')
            assert typ == 'OK', (tls, typ)
            c.logout()


def login_fails(s, user, password):
    """True when the IMAP server refuses user/password."""
    c = s.imap()
    try:
        c.login(user, password)
    except imaplib.IMAP4.error:
        return True
    finally:
        c.shutdown()
    return False


def test_user_passwd_and_del_take_effect_on_a_running_server():
    with harness.Server(accounts={'alice@example.test': 'old'}) as s:
        r = s.cli('user', 'passwd', 'alice@example.test', input='new\n')
        assert r.returncode == 0, r.stderr
        assert login_fails(s, 'alice@example.test', 'old')
        s.imap('alice@example.test', 'new').logout()
        r = s.cli('user', 'del', 'alice@example.test')
        assert r.returncode == 0, r.stderr
        assert login_fails(s, 'alice@example.test', 'new')


def test_user_added_while_serving_can_log_in():
    with harness.Server() as s:
        s.add_account('bob@example.test', 'bobpw')
        s.imap('bob@example.test').logout()


if __name__ == '__main__':
    harness.main()
