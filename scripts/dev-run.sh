#!/bin/bash
# dev-run.sh: `make run` — the development server on loopback.
#
# Uses etc/dev.conf (data in dev/data). On the first run it creates the demo
# account demo@example.test with a random password, kept in dev/demo-password
# (mode 0600) so every later run prints the same one. Then it says how to
# connect and replaces itself with the server (Ctrl-C stops it).
set -euo pipefail

cd "$(dirname "$0")/.."

BUZON=${BUZON:-bin/buzon}
CONFIG=etc/dev.conf
ADDRESS=demo@example.test
PASSWORD_FILE=dev/demo-password

if [ ! -x "$BUZON" ]; then
	echo "dev-run.sh: $BUZON is not built; run 'make run' (or 'make' first)" >&2
	exit 1
fi

mkdir -p dev/data
if [ ! -s "$PASSWORD_FILE" ]; then
	(umask 077 && openssl rand -hex 8 > "$PASSWORD_FILE")
fi
chmod 0600 "$PASSWORD_FILE"
PASSWORD=$(cat "$PASSWORD_FILE")

# The account may be gone (dev/data wiped) while the password file stayed.
if ! accounts=$("$BUZON" -c "$CONFIG" user list); then
	echo "dev-run.sh: '$BUZON -c $CONFIG user list' failed" >&2
	exit 1
fi
if ! printf '%s\n' "$accounts" | grep -qxF "$ADDRESS"; then
	printf '%s\n' "$PASSWORD" | "$BUZON" -c "$CONFIG" user add "$ADDRESS"
	echo "dev-run.sh: created $ADDRESS"
fi

cat <<EOF

buzon dev server — account $ADDRESS, password $PASSWORD
  (the password is kept in $PASSWORD_FILE)

  IMAP  127.0.0.1:1143 (STARTTLS)    IMAPS 127.0.0.1:1993 (TLS)
  POP3  127.0.0.1:1110 (STLS)        POP3S 127.0.0.1:1995 (TLS)
  SMTP  127.0.0.1:2525 (MX)          LMTP  127.0.0.1:2424
  Submission 127.0.0.1:1587 (STARTTLS), 127.0.0.1:1465 (TLS)

Try it:
  python3 -c 'import imaplib,ssl; c=imaplib.IMAP4_SSL("127.0.0.1",1993,ssl_context=ssl._create_unverified_context()); c.login("$ADDRESS","$PASSWORD"); print(c.list())'
  curl -k imaps://127.0.0.1:1993/ -u $ADDRESS:$PASSWORD
  swaks --server 127.0.0.1:2525 --to $ADDRESS --from someone@example.org   (mail arrives)
  curl -k pop3s://127.0.0.1:1995/ -u $ADDRESS:$PASSWORD

Thunderbird: add a mail account, choose "Configure manually":
  incoming IMAP, server 127.0.0.1, port 1993, SSL/TLS, normal password,
  outgoing SMTP, server 127.0.0.1, port 1465, SSL/TLS, normal password,
  user name $ADDRESS for both; accept the self-signed certificate when asked.

Stop with Ctrl-C.

EOF

exec "$BUZON" -c "$CONFIG" serve
