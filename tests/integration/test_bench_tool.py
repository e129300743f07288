"""test_bench_tool: bin/buzon-bench (bench/tool/, issue 7) against a real
buzon, briefly: every scenario runs for a second or two and must report zero
protocol errors and non-zero operation counts; a run with a wrong password
must report its errors and exit 1. No timing is asserted (the machine is
shared); this checks that the tool speaks IMAP, SMTP and LMTP correctly and
counts what it does, so the benchmark figures can be trusted.
"""

import os
import subprocess

import harness

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.environ.get('BUZON_BENCH', os.path.join(ROOT, 'bin', 'buzon-bench'))
ACCOUNTS = {'bench%d@example.test' % i: 'bench' for i in range(3)}

server = harness.ModuleServer(accounts=ACCOUNTS, listeners=('imap', 'imaps', 'smtp', 'lmtp'),
                              config={'log_level': 'warn'})


def bench(scenario, *args, expect_status=0, stdin=None):
    """Run the tool; return {figure: value} of its result lines."""
    argv = [TOOL, scenario, '--label', 'buzon', '--accounts', '3'] + [str(a) for a in args]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120, input=stdin)
    figures = {}
    for line in r.stdout.splitlines():
        if not line.startswith('result '):
            continue
        fields = dict(f.split('=', 1) for f in line.split()[1:])
        assert fields['scenario'] == scenario and fields['target'] == 'buzon', line
        figures[fields['figure']] = float(fields['value'])
    assert r.returncode == expect_status, (
        'buzon-bench %s exited %d, expected %d:\n%s\n%s'
        % (scenario, r.returncode, expect_status, r.stdout, r.stderr[-3000:]))
    return figures


def inbox_count(s, user):
    c = s.imap(user)
    typ, data = c.status('INBOX', '(MESSAGES)')
    c.logout()
    return int(data[0].decode().split('MESSAGES ')[1].rstrip(')'))


def test_deliver_lmtp_stores_every_message():
    s = server()
    before = sum(inbox_count(s, u) for u in ACCOUNTS)
    f = bench('deliver', '--lmtp', '--port', s.ports['lmtp'], '--clients', 2,
              '--messages', 30, '--size', 5120)
    assert f['deliver.errors'] == 0 and f['deliver.messages'] == 30, f
    assert f['deliver.p99_ms'] >= f['deliver.p50_ms'] > 0, f
    assert sum(inbox_count(s, u) for u in ACCOUNTS) == before + 30


def test_deliver_smtp_large_messages():
    s = server()
    before = inbox_count(s, 'bench1@example.test')
    f = bench('deliver', '--port', s.ports['smtp'], '--clients', 3, '--messages', 6,
              '--size', 100000)
    assert f['deliver.errors'] == 0 and f['deliver.messages'] == 6, f
    # Messages go round the accounts: 2 each.
    assert inbox_count(s, 'bench1@example.test') == before + 2
    c = s.imap('bench1@example.test')
    c.select('INBOX')
    typ, data = c.fetch('*', '(RFC822.SIZE)')
    c.logout()
    assert int(data[0].decode().split('RFC822.SIZE ')[1].rstrip(')')) > 100000


def test_imap_mix_runs_every_operation_without_errors():
    s = server()
    f = bench('imap-mix', '--port', s.ports['imap'], '--clients', 4, '--duration', 2)
    assert f['errors'] == 0 and f['mix.all.errors'] == 0, f
    assert f['mix.clients'] == 4, f
    assert f['mix.all.ops'] > 0 and f['mix.all.ops_per_s'] > 0, f
    kinds = [k for k in ('select', 'fetch-headers', 'fetch-body', 'store', 'search', 'append',
                         'expunge', 'idle') if f['mix.%s.ops' % k] > 0]
    assert 'fetch-headers' in kinds and len(kinds) >= 3, f


def test_imap_mix_one_operation_at_a_time():
    s = server()
    for op in ('append', 'expunge', 'search', 'idle'):
        weights = ','.join('%s=%d' % (k, 1 if k == op else 0)
                           for k in ('select', 'fetch-headers', 'fetch-body', 'store',
                                     'search', 'append', 'expunge', 'idle'))
        if op == 'expunge':
            weights = weights.replace('append=0', 'append=1')
        f = bench('imap-mix', '--port', s.ports['imap'], '--clients', 2, '--duration', 1,
                  '--weights', weights)
        assert f['errors'] == 0 and f['mix.%s.ops' % op] > 0, (op, f)


def test_idle_clients_all_see_new_mail():
    s = server()
    f = bench('idle', '--port', s.ports['imap'], '--deliver-port', s.ports['lmtp'], '--lmtp',
              '--clients', 6, '--rounds', 2)
    assert f['errors'] == 0 and f['idle.missed'] == 0, f
    assert f['idle.clients'] == 6 and f['idle.rounds'] == 2, f
    assert f['idle.wakeups'] == 12, f


def test_connections_over_tls_held_until_stdin():
    s = server()
    f = bench('connections', '--port', s.ports['imaps'], '--tls', '--clients', 20,
              '--hold-stdin', stdin='go\n')
    assert f['errors'] == 0, f
    assert f['connections.open'] == 20 and f['connections.failed'] == 0, f


def test_mailbox_figures_match_the_mailbox():
    s = server()
    user = 'bench0@example.test'
    count = inbox_count(s, user)
    f = bench('mailbox', '--port', s.ports['imap'], '--rounds', 1, '--accounts', 1)
    assert f['errors'] == 0, f
    assert count > 0 and f['mailbox.select.results'] == count, (count, f)
    assert f['mailbox.fetch_flags.results'] == count, (count, f)
    # The SEARCH answers are counted whole, however long the line.
    c = s.imap(user)
    c.select('INBOX')
    for key, criteria in (('search_header', ('HEADER', 'SUBJECT', '"review"')),
                          ('search_body', ('BODY', '"zyxquorbital"'))):
        typ, data = c.search(None, *criteria)
        assert f['mailbox.%s.results' % key] == len(data[0].split()), (key, data, f)
    c.logout()


def test_wrong_password_is_reported_as_errors():
    s = server()
    f = bench('imap-mix', '--port', s.ports['imap'], '--clients', 2, '--duration', 1,
              '--password', 'wrong', expect_status=1)
    assert f['errors'] >= 2, f
    f = bench('deliver', '--port', s.ports['smtp'], '--clients', 1, '--messages', 2,
              '--user', 'nobody%u@example.test', expect_status=1)
    assert f['deliver.errors'] >= 2 and f['deliver.messages'] == 0, f


def test_server_stops_cleanly():
    server()
    server.stop()


if __name__ == '__main__':
    harness.main()
