#!/usr/bin/env bash
# Real mail server on 127.0.0.1 for testing an Exchange ActiveSync server's email
# support: Dovecot (IMAP + LMTP) and Postfix (SMTP submission -> LMTP -> Dovecot),
# Debian 12 packages, run from their OWN config files under $EAS_MAIL_ROOT
# (default /var/lib/eas-mail); the system-wide services are never configured or
# started, and nothing listens beyond 127.0.0.1.
#
#   bash setup.sh [--reset] [--seed N] [--seed-user U] [--seed-folder F]
#
#   --reset          delete ALL mail of ALL users (fresh UIDVALIDITY; open IMAP
#                    sessions are kicked first) and flush the Postfix queue.
#                    Config, cert and users stay; the daemons keep running.
#   --seed N         make sure seed messages 1..N exist in the seed folder of the seed
#                    user (IMAP APPEND; messages already there, found by their
#                    X-EAS-Seed header, are not added again). "--reset --seed N"
#                    always ends with exactly N messages.
#   --seed-user U    whose mailbox to seed (default: first user, alice)
#   --seed-folder F  which folder (default INBOX; created if missing)
#
# Environment (all optional):
#   EAS_MAIL_ROOT=/var/lib/eas-mail      config, TLS, run files, queue, mail, logs
#   EAS_MAIL_DOMAIN=example.test
#   EAS_MAIL_USERS="alice:alicepass bob:bobpass"
#   EAS_MAIL_EXTERNAL=sink               mail to other domains: sink (delivered to
#                                        user sink/sinkpass), discard (accepted, dropped)
#                                        or reject (550 5.1.2 at RCPT TO)
#   EAS_IMAP_PORT=10143 EAS_IMAPS_PORT=10993 EAS_SUBMISSION_PORT=10587
#   EAS_IMAP_PLAIN_PORT=10144 (a second Dovecot on the same mailboxes that offers
#                        no CONDSTORE/QRESYNC: clients' fallback change detection)
#   EAS_SUBMISSIONS_PORT=10465 EAS_SMTP_PORT=10025 (unauthenticated, local domain only)
#
# Idempotent: rerun at will; a daemon is restarted only when its generated config
# changed (or it is not running). Exits 0 once IMAP, IMAPS, submission and SMTP
# answer. Stop with mail-stop.sh (same folder).
set -euo pipefail
shopt -s lastpipe      # "... | write_if_changed" must set CHANGED in this shell

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${EAS_MAIL_ROOT:-/var/lib/eas-mail}"
DOMAIN="${EAS_MAIL_DOMAIN:-example.test}"
USERS="${EAS_MAIL_USERS:-alice:alicepass bob:bobpass}"
EXTERNAL="${EAS_MAIL_EXTERNAL:-sink}"
IMAP_PORT="${EAS_IMAP_PORT:-10143}"
IMAPS_PORT="${EAS_IMAPS_PORT:-10993}"
IMAP_PLAIN_PORT="${EAS_IMAP_PLAIN_PORT:-10144}"
SUB_PORT="${EAS_SUBMISSION_PORT:-10587}"
SUBS_PORT="${EAS_SUBMISSIONS_PORT:-10465}"
SMTP_PORT="${EAS_SMTP_PORT:-10025}"
HOSTNAME_FQDN="mail.$DOMAIN"
MAILUSER=easmail                      # system user that owns all Maildirs

DOVECOT_CONF="$ROOT/dovecot.conf"
USERDB="$ROOT/users"                  # Dovecot passwd-file
PFDIR="$ROOT/postfix"                 # Postfix config_directory (main.cf, master.cf, maps)
SPOOL="$ROOT/spool"                   # Postfix queue_directory (pid/master.pid)
RUN="$ROOT/run"                       # Dovecot base_dir = $RUN/dovecot (master.pid, sockets)
DOVECOT_PID="$RUN/dovecot/master.pid"
PLAIN_CONF="$ROOT/dovecot-plain.conf"    # the second instance (no CONDSTORE/QRESYNC)
PLAIN_PID="$RUN/dovecot-plain/master.pid"
POSTFIX_PID="$SPOOL/pid/master.pid"
TLS="$ROOT/tls"
VMAIL="$ROOT/vmail"
LOG="$ROOT/log"

RESET=0; SEED=""; SEED_USER=""; SEED_FOLDER="INBOX"
while [ $# -gt 0 ]; do
  case "$1" in
    --reset) RESET=1 ;;
    --seed) SEED="${2:?--seed needs a number}"; shift ;;
    --seed=*) SEED="${1#*=}" ;;
    --seed-user) SEED_USER="${2:?}"; shift ;;
    --seed-folder) SEED_FOLDER="${2:?}"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -z "$SEED" ] || [[ "$SEED" =~ ^[0-9]+$ ]] || { echo "--seed needs a number" >&2; exit 2; }
[ "$EXTERNAL" = bounce ] && EXTERNAL=reject
case "$EXTERNAL" in sink|discard|reject) ;; *) echo "EAS_MAIL_EXTERNAL must be sink, discard or reject" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
# one setup.sh at a time (parallel test runners): lock file next to $ROOT
install -d -m 0755 "$(dirname "$ROOT")"
exec 9>"$ROOT.setup.lock"
flock -w 120 9 || { echo "another setup.sh holds $ROOT.setup.lock" >&2; exit 1; }

t0=$EPOCHREALTIME
elapsed() { awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "[eas-mail +$(elapsed)s] $*"; }

# ---------------------------------------------------------------- 1. packages
PKGS=(dovecot-imapd dovecot-lmtpd postfix openssl)
command -v python3 >/dev/null 2>&1 || [ -x /usr/bin/python3 ] || PKGS+=(python3)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing: ${missing[*]}"
  # The package scripts must not start the system dovecot/postfix on 143/993/25:
  # a temporary policy-rc.d (exit 101 = "action forbidden") for the duration of
  # apt-get; whatever policy-rc.d existed before is put back afterwards.
  POLICY=/usr/sbin/policy-rc.d
  POLICY_SAVE=""
  if [ -e "$POLICY" ]; then POLICY_SAVE=$(mktemp); cp -p "$POLICY" "$POLICY_SAVE"; fi
  restore_policy() {
    if [ -n "$POLICY_SAVE" ]; then cp -p "$POLICY_SAVE" "$POLICY"; rm -f "$POLICY_SAVE"; else rm -f "$POLICY"; fi
  }
  trap restore_policy EXIT
  printf '#!/bin/sh\n# temporary, eas-mail setup.sh: no service starts during apt-get\nexit 101\n' > "$POLICY"
  chmod 0755 "$POLICY"
  export DEBIAN_FRONTEND=noninteractive
  # Postfix: "No configuration" = the package writes no /etc/postfix/main.cf, so
  # the system instance stays unconfigured (we run our own config_directory).
  debconf-set-selections <<EOF
postfix postfix/main_mailer_type select No configuration
postfix postfix/mailname string $HOSTNAME_FQDN
EOF
  apt-get update -qq -o DPkg::Lock::Timeout=300
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
  restore_policy; trap - EXIT
  say "packages installed"
fi
PY=/usr/bin/python3; [ -x "$PY" ] || PY=$(command -v python3)

# ---------------------------------------------------------------- 2. users, dirs, TLS
getent group "$MAILUSER" >/dev/null || groupadd --system "$MAILUSER"
getent passwd "$MAILUSER" >/dev/null || useradd --system -g "$MAILUSER" -d "$VMAIL" -M -s /usr/sbin/nologin "$MAILUSER"
MUID=$(id -u "$MAILUSER"); MGID=$(id -g "$MAILUSER")

install -d -m 0755 "$ROOT" "$PFDIR" "$RUN" "$LOG"
install -d -m 0755 -o root -g root "$SPOOL"
install -d -m 0700 -o postfix -g postfix "$ROOT/postfix-data"
install -d -m 0750 "$TLS"
install -d -m 0750 -o "$MAILUSER" -g "$MAILUSER" "$VMAIL"

# A test CA (ca.pem, for clients to trust) and a server certificate it signed:
# strict verifiers (rustls/webpki) refuse a self-signed CA:TRUE certificate
# as the server's own ("CaUsedAsEndEntity").
CERT_NEW=0
if [ ! -s "$TLS/ca.pem" ] || [ ! -s "$TLS/key.pem" ] || [ ! -s "$TLS/cert.pem" ]; then
  say "generating a test CA and the TLS certificate for $HOSTNAME_FQDN"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
    -keyout "$TLS/ca.key" -out "$TLS/ca.pem" -subj "/CN=eas-mail test CA" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$TLS/key.pem" -out "$TLS/cert.csr" \
    -subj "/CN=$HOSTNAME_FQDN" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' \
    "$HOSTNAME_FQDN" > "$TLS/cert.ext"
  openssl x509 -req -in "$TLS/cert.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$TLS/cert.ext" -out "$TLS/cert.pem" 2>/dev/null
  rm -f "$TLS/cert.csr" "$TLS/cert.ext"
  chmod 0600 "$TLS/ca.key"; chmod 0644 "$TLS/ca.pem"
  CERT_NEW=1
fi
chmod 0600 "$TLS/key.pem"; chmod 0644 "$TLS/cert.pem"

# user list: name:pass ... (+ sink when EXTERNAL=sink)
declare -a UNAMES=() UPASS=()
for up in $USERS; do UNAMES+=("${up%%:*}"); UPASS+=("${up#*:}"); done
[ "$EXTERNAL" = sink ] && { UNAMES+=(sink); UPASS+=(sinkpass); }
[ -n "$SEED_USER" ] || SEED_USER="${UNAMES[0]}"

# S/MIME certificates (self-signed, emailProtection) for the first two users: used
# by seed.py for a really signed and a really encrypted message.
for u in "${UNAMES[@]:0:2}"; do
  if [ ! -s "$TLS/smime-$u.key" ] || [ ! -s "$TLS/smime-$u.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
      -keyout "$TLS/smime-$u.key" -out "$TLS/smime-$u.pem" \
      -subj "/CN=$u/emailAddress=$u@$DOMAIN" \
      -addext "subjectAltName=email:$u@$DOMAIN" \
      -addext "keyUsage=critical,digitalSignature,keyEncipherment" \
      -addext "extendedKeyUsage=emailProtection" 2>/dev/null
    chmod 0600 "$TLS/smime-$u.key"
  fi
done

# write_if_changed FILE MODE OWNER  (content on stdin); sets CHANGED=1 if it differs
write_if_changed() {
  local f="$1" mode="$2" owner="$3" tmp
  tmp=$(mktemp "$f.XXXXXX")
  cat > "$tmp"; chmod "$mode" "$tmp"; chown "$owner" "$tmp"
  if [ -f "$f" ] && cmp -s "$tmp" "$f"; then rm -f "$tmp"; else mv -f "$tmp" "$f"; CHANGED=1; fi
}

# ---------------------------------------------------------------- 3. Dovecot config
CHANGED=0
{
  for i in "${!UNAMES[@]}"; do
    u="${UNAMES[$i]}"
    printf '%s:{PLAIN}%s:%s:%s::%s/%s::\n' "$u" "${UPASS[$i]}" "$MUID" "$MGID" "$VMAIL" "$u"
  done
} | write_if_changed "$USERDB" 0640 root:dovecot     # re-read by Dovecot on change, no restart

CHANGED=0
DH_LINE="# ssl_dh not set (no /usr/share/dovecot/dh.pem)"
[ -f /usr/share/dovecot/dh.pem ] && DH_LINE="ssl_dh = </usr/share/dovecot/dh.pem"
write_if_changed "$DOVECOT_CONF" 0644 root:root <<EOF
# Generated by eas-mail setup.sh -- do not edit, rerun setup.sh instead.
# Standalone config: /etc/dovecot is not read.   doveconf -c $DOVECOT_CONF -n
instance_name = eas-mail
base_dir = $RUN/dovecot
protocols = imap lmtp
listen = 127.0.0.1
hostname = $HOSTNAME_FQDN
login_greeting = Dovecot (eas-mail test server) ready.
log_path = $LOG/dovecot.log
info_log_path = $LOG/dovecot.log
auth_verbose = yes
verbose_proctitle = yes

ssl = yes
ssl_cert = <$TLS/cert.pem
ssl_key = <$TLS/key.pem
$DH_LINE
# loopback test server: plaintext LOGIN/AUTH PLAIN allowed without TLS
disable_plaintext_auth = no
auth_mechanisms = plain login
# "alice", "Alice" and "alice@$DOMAIN" are the same user; LMTP RCPT bob@$DOMAIN -> bob
auth_username_format = %Ln
# test server: answer a wrong password at once (default 2 s)
auth_failure_delay = 0
recipient_delimiter = +
postmaster_address = postmaster@$DOMAIN

passdb {
  driver = passwd-file
  args = scheme=PLAIN $USERDB
}
userdb {
  driver = passwd-file
  args = $USERDB
}
first_valid_uid = $MUID
last_valid_uid = $MUID
first_valid_gid = $MGID
last_valid_gid = $MGID

mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = /
  prefix =
  mailbox INBOX {
    auto = subscribe
  }
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
}

protocol imap {
  # an EAS server may open one IMAP connection per request / per held Ping
  mail_max_userip_connections = 500
}
protocol lmtp {
  lmtp_save_to_detail_mailbox = no
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
service imap {
  process_limit = 1024
}
service lmtp {
  unix_listener lmtp {
    mode = 0600
    user = postfix
    group = postfix
  }
}
# No per-IP "auth penalty": by default one failed login from 127.0.0.1 delays
# every later login from 127.0.0.1, good ones too, by 2..15 s. mode 0 = this
# listener is not created; setup.sh removes a stale socket file before start.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth {
  # Postfix smtpd SASL (smtpd_sasl_type = dovecot)
  unix_listener auth-postfix {
    mode = 0600
    user = postfix
    group = postfix
  }
}
EOF
DC_CONF_CHANGED=$CHANGED
[ "$CERT_NEW" = 1 ] && DC_CONF_CHANGED=1   # Dovecot reads the certificate at start

# The second instance: the same users and Maildirs (Dovecot locks its index
# files, so two instances share them safely), IMAP only, on its own port, and
# a capability list without CONDSTORE and QRESYNC -- a server that offers only
# RFC 3501 change detection (UIDVALIDITY, UIDNEXT, FLAGS).
CHANGED=0
write_if_changed "$PLAIN_CONF" 0644 root:root <<EOF
# Generated by eas-mail setup.sh -- do not edit, rerun setup.sh instead.
!include $DOVECOT_CONF
instance_name = eas-mail-plain
base_dir = $RUN/dovecot-plain
protocols = imap
log_path = $LOG/dovecot-plain.log
info_log_path = $LOG/dovecot-plain.log
service imap-login {
  inet_listener imap {
    port = $IMAP_PLAIN_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
protocol imap {
  imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 ESEARCH SEARCHRES WITHIN LIST-STATUS MOVE LITERAL+ SPECIAL-USE
}
EOF
PLAIN_CONF_CHANGED=$CHANGED
[ "$DC_CONF_CHANGED" = 1 ] && PLAIN_CONF_CHANGED=1

# ---------------------------------------------------------------- 4. Postfix config
CHANGED=0
{
  for u in "${UNAMES[@]}"; do printf '%s@%s OK\n' "$u" "$DOMAIN"; done
  printf 'postmaster@%s OK\n' "$DOMAIN"
} | write_if_changed "$PFDIR/vmailbox" 0644 root:root
# postmaster -> first user
printf 'postmaster@%s %s@%s\n' "$DOMAIN" "${UNAMES[0]}" "$DOMAIN" | write_if_changed "$PFDIR/virtual" 0644 root:root
EXT_TRANSPORT="error:5.1.2 external delivery disabled (eas-mail test server)"
[ "$EXTERNAL" = discard ] && EXT_TRANSPORT="discard:external mail discarded by eas-mail test server"
if [ "$EXTERNAL" = sink ]; then   # rewrite every recipient outside $DOMAIN to sink@$DOMAIN
  printf 'if !/@%s$/\n/^/ sink@%s\nendif\n' "${DOMAIN//./\\.}" "$DOMAIN"
else
  printf '# EAS_MAIL_EXTERNAL=%s: no rewriting\n' "$EXTERNAL"
fi | write_if_changed "$PFDIR/external.regexp" 0644 root:root

write_if_changed "$PFDIR/main.cf" 0644 root:root <<EOF
# Generated by eas-mail setup.sh -- do not edit, rerun setup.sh instead.
# Own instance: postfix -c $PFDIR ...   (the system /etc/postfix is not used)
compatibility_level = 3.6
queue_directory = $SPOOL
data_directory = $ROOT/postfix-data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $LOG/postfix.log
myhostname = $HOSTNAME_FQDN
mydomain = $DOMAIN
myorigin = \$mydomain
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
smtp_dns_support_level = disabled
biff = no
append_dot_mydomain = no
alias_maps =
alias_database =
local_recipient_maps =
local_transport = error:5.1.1 no local delivery (eas-mail test server)
recipient_delimiter = +
message_size_limit = 52428800
mailbox_size_limit = 0
delay_warning_time = 0
maximal_queue_lifetime = 1h
bounce_queue_lifetime = 1h

# all users live in Dovecot; delivery over LMTP (unix socket in Dovecot's base_dir)
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_maps = texthash:$PFDIR/vmailbox
virtual_alias_maps = texthash:$PFDIR/virtual, regexp:$PFDIR/external.regexp
# (default \$virtual_alias_maps would make every domain local via the regexp)
virtual_alias_domains =
virtual_transport = lmtp:unix:$RUN/dovecot/lmtp
# mail to other domains (EAS_MAIL_EXTERNAL=$EXTERNAL)
default_transport = $EXT_TRANSPORT
relay_transport = $EXT_TRANSPORT

smtpd_banner = \$myhostname ESMTP Postfix (eas-mail test server)
smtpd_tls_cert_file = $TLS/cert.pem
smtpd_tls_key_file = $TLS/key.pem
smtpd_tls_security_level = may
smtpd_tls_loglevel = 0
smtp_tls_security_level = none
smtpd_sasl_type = dovecot
smtpd_sasl_path = $RUN/dovecot/auth-postfix
smtpd_sasl_auth_enable = no
broken_sasl_auth_clients = yes
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions =
EOF

# chroot column is "n" everywhere: no copies of /etc files into a jail needed.
write_if_changed "$PFDIR/master.cf" 0644 root:root <<EOF
# Generated by eas-mail setup.sh -- do not edit, rerun setup.sh instead.
# service                  type  private unpriv chroot wakeup maxproc command
# submission: AUTH PLAIN/LOGIN (Dovecot SASL) required, STARTTLS optional
127.0.0.1:$SUB_PORT        inet  n       -      n      -      -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_security_level=may
  -o smtpd_tls_auth_only=no
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o milter_macro_daemon_name=ORIGINATING
# submissions: implicit TLS, AUTH required
127.0.0.1:$SUBS_PORT       inet  n       -      n      -      -       smtpd
  -o syslog_name=postfix/submissions
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o milter_macro_daemon_name=ORIGINATING
# "MX" port: no AUTH, accepts mail for @$DOMAIN only (inject "external" mail)
127.0.0.1:$SMTP_PORT       inet  n       -      n      -      -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
PF_CHANGED=$CHANGED
[ "$CERT_NEW" = 1 ] && PF_CHANGED=1

# ---------------------------------------------------------------- 5. (re)start
# is_running PIDFILE COMM -> 0 if the pid in PIDFILE is alive and is COMM
is_running() {
  local pid; [ -s "$1" ] || return 1
  pid=$(tr -dc '0-9' < "$1"); [ -n "$pid" ] || return 1
  [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$2" ]
}
stop_one() { # PIDFILE COMM NAME
  local pid; is_running "$1" "$2" || return 0
  pid=$(tr -dc '0-9' < "$1")
  kill -TERM "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then echo "$3 (pid $pid) did not stop" >&2; exit 1; fi
  say "$3 stopped (pid $pid)"
}

doveconf -c "$DOVECOT_CONF" -n >/dev/null   # fails loudly on a config error
if [ "$RESET" = 1 ]; then
  say "--reset: deleting all mail of all users and the Postfix queue"
  if is_running "$POSTFIX_PID" master; then postsuper -c "$PFDIR" -d ALL >/dev/null 2>&1 || true; fi
  if is_running "$DOVECOT_PID" dovecot; then
    # live (a Dovecot restart costs ~2.5 s): disconnect every session of every
    # user, wait until no process runs as $MAILUSER, then delete the Maildirs
    for d in "$VMAIL"/*/; do
      [ -d "$d" ] && doveadm -c "$DOVECOT_CONF" kick "$(basename "$d")" >/dev/null 2>&1 || true
      if is_running "$PLAIN_PID" dovecot; then
        [ -d "$d" ] && doveadm -c "$PLAIN_CONF" kick "$(basename "$d")" >/dev/null 2>&1 || true
      fi
    done
    for _ in $(seq 50); do pgrep -u "$MAILUSER" >/dev/null || break; sleep 0.1; done
    pgrep -u "$MAILUSER" >/dev/null && stop_one "$DOVECOT_PID" dovecot dovecot   # fallback
  fi
  rm -rf "${VMAIL:?}"/*
fi
for u in "${UNAMES[@]}"; do install -d -m 0700 -o "$MAILUSER" -g "$MAILUSER" "$VMAIL/$u"; done

if is_running "$DOVECOT_PID" dovecot && [ "$DC_CONF_CHANGED" = 1 ]; then
  say "dovecot.conf changed: restarting Dovecot"
  stop_one "$DOVECOT_PID" dovecot dovecot
fi
if ! is_running "$DOVECOT_PID" dovecot; then
  rm -f "$RUN/dovecot/anvil-auth-penalty"   # stale socket: auth would retry it for 5 s
  # own stdio: the daemon keeps fd 2 open, which would hold a caller's pipe open
  # (9>&-: the daemons must not inherit the setup lock)
  if ! dovecot -c "$DOVECOT_CONF" </dev/null >/dev/null 2>"$LOG/dovecot-start.err" 9>&-; then
    cat "$LOG/dovecot-start.err" >&2; echo "dovecot did not start; see $LOG/dovecot.log" >&2; exit 1
  fi
  for _ in $(seq 50); do is_running "$DOVECOT_PID" dovecot && break; sleep 0.1; done
  say "dovecot started (pid $(cat "$DOVECOT_PID"))"
fi

doveconf -c "$PLAIN_CONF" -n >/dev/null
if is_running "$PLAIN_PID" dovecot && [ "$PLAIN_CONF_CHANGED" = 1 ]; then
  say "dovecot-plain.conf changed: restarting the second Dovecot"
  stop_one "$PLAIN_PID" dovecot dovecot-plain
fi
if ! is_running "$PLAIN_PID" dovecot; then
  if ! dovecot -c "$PLAIN_CONF" </dev/null >/dev/null 2>"$LOG/dovecot-plain-start.err" 9>&-; then
    cat "$LOG/dovecot-plain-start.err" >&2; echo "the second dovecot did not start; see $LOG/dovecot-plain.log" >&2; exit 1
  fi
  for _ in $(seq 50); do is_running "$PLAIN_PID" dovecot && break; sleep 0.1; done
  say "dovecot (no CONDSTORE) started (pid $(cat "$PLAIN_PID"))"
fi

postconf -c "$PFDIR" -n >/dev/null
if is_running "$POSTFIX_PID" master && [ "$PF_CHANGED" = 1 ]; then
  say "Postfix config changed: restarting Postfix"
  stop_one "$POSTFIX_PID" master postfix
fi
if ! is_running "$POSTFIX_PID" master; then
  postfix -c "$PFDIR" start </dev/null 9>&- 2>&1 | grep -v -E '^postfix/postfix-script: (starting|warning: symlink leaves directory)' >&2 || true
  is_running "$POSTFIX_PID" master || { echo "postfix did not start; see $LOG/postfix.log" >&2; exit 1; }
  say "postfix started (pid $(tr -dc '0-9' < "$POSTFIX_PID"))"
fi

# ---------------------------------------------------------------- 6. wait until they answer
"$PY" - "$IMAP_PORT" "$IMAPS_PORT" "$SUB_PORT" "$SUBS_PORT" "$SMTP_PORT" "$IMAP_PLAIN_PORT" <<'EOF'
import socket, ssl, sys, time
imap, imaps, sub, subs, smtp, imap_plain = map(int, sys.argv[1:])
want = [(imap, False, b"* OK"), (imaps, True, b"* OK"), (sub, False, b"220 "),
        (subs, True, b"220 "), (smtp, False, b"220 "), (imap_plain, False, b"* OK")]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
deadline = time.time() + 30
for port, tls, prefix in want:
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=3)
            if tls:
                s = ctx.wrap_socket(s)
            line = s.recv(512); s.close()
            if line.startswith(prefix):
                break
        except OSError:
            pass
        if time.time() > deadline:
            sys.exit("port %d does not answer" % port)
        time.sleep(0.1)
EOF
say "IMAP, IMAPS, submission, submissions, SMTP and the second IMAP answer"

# ---------------------------------------------------------------- 7. seed
if [ -n "$SEED" ]; then
  for i in "${!UNAMES[@]}"; do [ "${UNAMES[$i]}" = "$SEED_USER" ] && SEED_PASS="${UPASS[$i]}"; done
  [ -n "${SEED_PASS:-}" ] || { echo "--seed-user $SEED_USER is not a user" >&2; exit 2; }
  # S/MIME: signed by the other user, encrypted to the seed user (certs from step 2)
  SMIME_ARGS=()
  for u in "${UNAMES[@]:0:2}"; do
    if [ "$u" != "$SEED_USER" ] && [ ${#SMIME_ARGS[@]} = 0 ]; then
      SMIME_ARGS+=(--smime-signer "$TLS/smime-$u.pem" --smime-signer-key "$TLS/smime-$u.key")
    fi
  done
  [ -s "$TLS/smime-$SEED_USER.pem" ] && SMIME_ARGS+=(--smime-recipient "$TLS/smime-$SEED_USER.pem")
  "$PY" "$HERE/mail-seed.py" --port "$IMAP_PORT" --user "$SEED_USER" --password "$SEED_PASS" \
    --domain "$DOMAIN" --folder "$SEED_FOLDER" --count "$SEED" "${SMIME_ARGS[@]}"
fi

cat <<EOF
eas-mail ready ($(elapsed) s). All on 127.0.0.1:
  IMAP         $IMAP_PORT   plain, STARTTLS, LOGIN/AUTHENTICATE PLAIN allowed without TLS
  IMAPS        $IMAPS_PORT   implicit TLS
  IMAP (plain) $IMAP_PLAIN_PORT   the same mailboxes, no CONDSTORE/QRESYNC offered
  submission   $SUB_PORT   SMTP AUTH PLAIN/LOGIN required, STARTTLS optional
  submissions  $SUBS_PORT   implicit TLS, AUTH required
  SMTP (MX)    $SMTP_PORT   no AUTH, only recipients @$DOMAIN
  users:$(for i in "${!UNAMES[@]}"; do printf ' %s/%s' "${UNAMES[$i]}" "${UPASS[$i]}"; done)   (address <user>@$DOMAIN; login "user" or "user@$DOMAIN")
  mail to other domains: $EXTERNAL$([ "$EXTERNAL" = sink ] && echo " (lands in sink's INBOX)")
  TLS cert: $TLS/cert.pem (test CA: $TLS/ca.pem)     logs: $LOG/{dovecot,postfix}.log
  pids: dovecot $(cat "$DOVECOT_PID")  postfix $(tr -dc '0-9' < "$POSTFIX_PID")     stop: bash $HERE/mail-stop.sh
EOF
