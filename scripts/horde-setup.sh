#!/usr/bin/env bash
# Install, configure and start a real Horde Groupware 5 (Debian 12 packages) on
# 127.0.0.1 for the integration tests and the benchmarks:
#   - Turba (contacts, shares on), Kronolith (calendar), Nag (tasks), Mnemo (notes)
#     behind rpc.php JSON-RPC, which the Horde backend talks to;
#   - the project's optional Horde extension (horde/: a hidden app 'activesync');
#   - Horde's own PHP ActiveSync server at /Microsoft-Server-ActiveSync on the same
#     Apache, the reference the benchmarks compare against.
# SQLite DB, Horde 'sql' auth, a private Apache+mod_php instance (own config, loopback
# only; the system apache service is never started).
#
# Idempotent: rerun at will (regenerates config, graceful reload). Exits 0 once
# rpc.php answers an authenticated call. Run as root. Stop with horde-stop.sh.
#   HORDE_PORT=18080        port on 127.0.0.1
#   HORDE_USERS="alice:alicepass bob:bobpass"   users created/updated (user:password)
#   HORDE_RESET=1           wipe DB, logs and generated config first (fresh install)
#   HORDE_AS_LOG=1          Horde ActiveSync WBXML log in /var/log/horde/activesync.log (0 = off)
#   HORDE_MAIL=1            opt-in: install IMP (php-horde-imp), point it at an IMAP server and
#                           SMTP submission, turn on ActiveSync email sync (emailsync). Default 0:
#                           emailsync stays off and an installed IMP is switched off in the registry.
#     HORDE_IMAP_HOST=127.0.0.1 HORDE_IMAP_PORT=10143   IMAP, plain (no TLS), Horde credentials
#     HORDE_SMTP_HOST=127.0.0.1 HORDE_SMTP_PORT=10587   SMTP submission, plain, AUTH with Horde credentials
#     HORDE_MAIL_DOMAIN=example.test                    maildomain (user@domain identities)
#   (a Dovecot + Postfix test setup on loopback serving these defaults is assumed.)
set -euo pipefail

PORT="${HORDE_PORT:-18080}"
USERS="${HORDE_USERS:-alice:alicepass bob:bobpass}"
AS_LOG="${HORDE_AS_LOG:-1}"
MAIL="${HORDE_MAIL:-0}"
IMAP_HOST="${HORDE_IMAP_HOST:-127.0.0.1}"; IMAP_PORT="${HORDE_IMAP_PORT:-10143}"
SMTP_HOST="${HORDE_SMTP_HOST:-127.0.0.1}"; SMTP_PORT="${HORDE_SMTP_PORT:-10587}"
MAIL_DOMAIN="${HORDE_MAIL_DOMAIN:-example.test}"
DATA=/var/lib/horde                 # sqlite DB + tools + apache runtime
RUN="$DATA/apache"                  # httpd.conf, httpd.pid, error.log, access.log
LOG=/var/log/horde
DB="$DATA/horde.sqlite"
APPS="turba kronolith nag mnemo trean gollem"
export SERVER_NAME=127.0.0.1        # Horde CLI scripts read $_SERVER['SERVER_NAME']
PHP=(php -d error_reporting=22519 -d display_errors=stderr)   # E_ALL & ~E_NOTICE & ~E_DEPRECATED & ~E_STRICT
t0=$(date +%s)
say() { echo "[horde-setup +$(( $(date +%s) - t0 ))s] $*"; }
quiet_php() { # run php CLI as www-data, drop PHP 8.2 deprecation noise from Horde 5
  runuser -u www-data -- "${PHP[@]}" "$@" 2> >(grep -v -E 'Deprecated|^\s*$' >&2)
}

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }

# ---------------------------------------------------------------- 0. stop/reset
if [ -f "$RUN/httpd.pid" ] && kill -0 "$(cat "$RUN/httpd.pid")" 2>/dev/null; then
  RUNNING=1
else
  RUNNING=0
fi
if [ "${HORDE_RESET:-0}" = 1 ]; then
  say "HORDE_RESET=1: stopping server, wiping $DATA $LOG and generated conf.php files"
  if [ "$RUNNING" = 1 ]; then
    pid=$(cat "$RUN/httpd.pid"); kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    RUNNING=0
  fi
  rm -rf "$DATA" "$LOG"
  for a in horde imp $APPS; do rm -f "/etc/horde/$a/conf.php" "/etc/horde/$a/conf.bak.php"; done
  rm -f /etc/horde/turba/backends.local.php /etc/horde/imp/backends.local.php /etc/horde/imp/prefs.local.php
fi

# ---------------------------------------------------------------- 1. packages
PKGS=(php-horde-groupware php-horde-mnemo php-horde-activesync php-horde-db php-sqlite3 php-cli
      apache2 libapache2-mod-php curl jq libwbxml2-utils)
[ "$MAIL" = 1 ] && PKGS+=(php-horde-imp)   # IMP pulls php-net-dns2 (patched below)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing: ${missing[*]}"
  # Never let the package scripts start the system apache on 0.0.0.0:80.
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  say "packages installed"
fi

# ---------------------------------------------------------------- 2. PHP 8.2 patches
# (a) Horde_Rpc_{Jsonrpc,Xmlrpc,Phpgw}::request() has a signature incompatible with
#     Horde_Rpc::request() -> PHP 8 fatal error (empty HTTP 500) on every JSON-RPC
#     request. Add an optional 5th parameter (compatible override, same behaviour).
for f in Jsonrpc Xmlrpc Phpgw; do
  sed -i 's/public static function request(\$url, \$method, \$client, \$params = null)$/public static function request($url, $method, $client, $params = null, $_compat = null)/' \
    "/usr/share/php/Horde/Rpc/$f.php"
done
# (b) Net_DNS2's file cache calls fread($fp, 0) on an empty cache file -> PHP 8
#     ValueError in a destructor -> every rpc.php reply becomes HTTP 500. Only
#     present when php-net-dns2 got installed (a Recommends, or pulled by IMP).
DNS2=/usr/share/php/Net/DNS2/Cache/File.php
if [ -f "$DNS2" ]; then
  sed -i 's/\$data = @fread(\$fp, filesize(\$this->cache_file));/$data = (filesize($this->cache_file) > 0) ? @fread($fp, filesize($this->cache_file)) : false;/;
          s/\$data = fread(\$fp, filesize(\$this->cache_file));/$data = (filesize($this->cache_file) > 0) ? fread($fp, filesize($this->cache_file)) : "";/' \
    "$DNS2"
fi
# (c) The collection-management API (what ActiveSync FolderCreate/Update/Delete
#     needs) is broken in these Debian versions; each call dies with a PHP fatal
#     error that Horde answers as an HTTP 200 HTML page. Fix the typos in place:
#     Turba update/deleteAddressbook build a driver where they need the share;
#     Kronolith deleteCalendar reads an unset $calendar and updateCalendar passes
#     the id as the second argument of getCalendar($id) (so it found nothing);
#     Mnemo addNotepad creates the share object but never stores it.
#     The backend reports these failures as errors on an unpatched Horde.
sed -i "/function updateAddressbook/,/->save()/ s/getInstance('Turba_Factory_Driver')->create(\$id)/getInstance('Turba_Shares')->getShare(\$id)/;
        /function deleteAddressbook/,/removeShare/ { s/->getInstance('Turba_Factory_Driver')/->getInstance('Turba_Shares')/; s/->create(\$id);/->getShare(\$id);/ }" \
  /usr/share/horde/turba/lib/Api.php
sed -i '/function deleteCalendar/,/deleteShare/ s/->getShare(\$calendar);/->getShare($id);/;
        s/\$calendar = \$this->getCalendar(null, \$id);/$calendar = $this->getCalendar($id);/' \
  /usr/share/horde/kronolith/lib/Api.php
if ! grep -q "mnemo_shares'\]->addShare(\$notepad)" /usr/share/horde/mnemo/lib/Api.php; then
  sed -i "/function addNotepad/,/return \$name;/ s/^\(\s*\)\$name = \$notepad->getName();/\1\$GLOBALS['mnemo_shares']->addShare(\$notepad);\n\1\$name = \$notepad->getName();/" \
    /usr/share/horde/mnemo/lib/Api.php
fi
# (d) PEAR Date_Calc (php-date) declares its helpers as PHP 4 instance
#     methods and Kronolith calls them statically: on PHP 8 that is a fatal
#     error, so importing or saving any recurring event with a reminder dies
#     (Kronolith_Event::setAlarm -> Date_Calc::dateDiff). Declare the ones on
#     that path static; none of them uses $this.
DATE_CALC=/usr/share/php/Date/Calc.php
[ -f "$DATE_CALC" ] && sed -i -E 's/^    function (dateDiff|isValidDate|dateToDays|isLeapYear|daysInMonth|dateNow)\(/    static function \1(/' "$DATE_CALC"
# ---------------------------------------------------------------- 3. config
install -d -o www-data -g www-data -m 0750 "$DATA" "$LOG"
install -d -m 0755 "$DATA/tools" "$RUN"; install -d -o www-data -g www-data -m 0750 "$DATA/cache"
[ -s "$DATA/secret_key" ] || head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$DATA/secret_key"
SECRET=$(cat "$DATA/secret_key")

cat > "$DATA/tools/genconf.php" <<'EOF'
<?php
// php genconf.php APP key=value ...  -> prints a complete conf.php for APP, built
// from APP's conf.xml defaults (the current conf.php is ignored) plus the given
// form values (keys as in Horde's admin config form: section__sub__key).
$app = $argv[1];
$kv = array();
foreach (array_slice($argv, 2) as $a) { list($k, $v) = explode('=', $a, 2); $kv[$k] = $v; }
require_once '/usr/share/horde/lib/Application.php';
Horde_Registry::appInit('horde', array('authentication' => 'none', 'cli' => true));
// Ignore the existing conf.php completely: Horde_Config omits every key that
// the current file already sets unless it is posted as a form value.
class Setup_Config extends Horde_Config {
    public function getPHPConfig() { $this->_oldConfig = ''; return ''; }
}
$config = new Setup_Config($app);
echo $config->generatePHPConfig(new Horde_Variables($kv), array('__ignore_current__' => true));
EOF
cat > "$DATA/tools/adduser.php" <<'EOF'
<?php
// php adduser.php user password [user password ...]   (create or reset password)
require_once '/usr/share/horde/lib/Application.php';
Horde_Registry::appInit('horde', array('authentication' => 'none', 'cli' => true));
$auth = $GLOBALS['injector']->getInstance('Horde_Core_Factory_Auth')->create();
$args = array_slice($argv, 1);
for ($i = 0; $i + 1 < count($args); $i += 2) {
    if ($auth->exists($args[$i])) {
        $auth->updateUser($args[$i], $args[$i], array('password' => $args[$i + 1]));
        echo "updated user {$args[$i]}\n";
    } else {
        $auth->addUser($args[$i], array('password' => $args[$i + 1]));
        echo "added user {$args[$i]}\n";
    }
}
EOF
chmod 0644 "$DATA/tools/"*.php

# Horde needs *some* conf.php to boot the generator.
[ -f /etc/horde/horde/conf.php ] || cp /etc/horde/horde/conf.php.dist /etc/horde/horde/conf.php
chmod 0644 /etc/horde/horde/conf.php

gen() { # gen APP key=value ...  (atomic replace of /etc/horde/APP/conf.php)
  local app=$1; shift
  local out="/etc/horde/$app/conf.php"
  quiet_php "$DATA/tools/genconf.php" "$app" "$@" > "$out.new"
  grep -q 'CONFIG END' "$out.new" || { echo "config generation failed for $app" >&2; exit 1; }
  chmod 0644 "$out.new"; mv "$out.new" "$out"
}
# HORDE_MAIL=1: ActiveSync email through IMP, and Horde's mailer (used by EAS
# SendMail/SmartReply/SmartForward) = SMTP submission with the user's own
# Horde credentials (username_auth/password_auth), no TLS (secure=none).
mail_conf=(activesync__emailsync=false)
[ "$MAIL" = 1 ] && mail_conf=(activesync__emailsync=on
  mailer__type=smtp "mailer__params__host=$SMTP_HOST" "mailer__params__port=$SMTP_PORT"
  mailer__params__secure=none mailer__params__localhost=127.0.0.1
  mailer__params__auth=true mailer__params__username_auth=on mailer__params__password_auth=on)
as_log=(activesync__logging__type=false)
[ "$AS_LOG" = 1 ] && as_log=(activesync__logging__type=onefile "activesync__logging__path=$LOG/activesync.log")
say "generating /etc/horde/*/conf.php"
gen horde \
  "debug_level=E_ALL & ~E_NOTICE & ~E_DEPRECATED & ~E_STRICT" \
  "secret_key=$SECRET" umask=022 use_ssl=0 testdisable=on \
  sql__phptype=sqlite "sql__database=$DB" \
  auth__driver=sql auth__admins=admin auth__checkip=false auth__checkbrowser=false \
  log__enabled=true log__type=file "log__name=$LOG/horde.log" log__priority=WARNING log__ident=HORDE \
  cache__driver=File "cache__params__dir=$DATA/cache" \
  activesync__enabled=true activesync__version=14.1 \
  activesync__auth__type=basic "${as_log[@]}" "${mail_conf[@]}"
for a in $APPS; do
  if [ "$a" = turba ] && [ "$MAIL" = 1 ]; then gen turba gal__addressbook=gal; else gen "$a"; fi
done

# Turba: Debian ships the 'localsql' source with use_shares=false (one flat book per
# user). Turn shares on so address books behave like calendars/task lists (per-user
# share ids, default book auto-created, addAddressbook works); drop the IMP-only
# 'favourites' source.
cat > /etc/horde/turba/backends.local.php <<'EOF'
<?php
$cfgSources['localsql']['use_shares'] = true;
$cfgSources['localsql']['title'] = 'Address Books';
$cfgSources['favourites']['disabled'] = true;
// Turba's schema has these columns, Debian's map leaves them out: with them a
// phone's second and third e-mail address (Email2Address, Email3Address) are kept.
$cfgSources['localsql']['map']['homeEmail'] = 'object_homeemail';
$cfgSources['localsql']['map']['workEmail'] = 'object_workemail';
EOF
if [ "$MAIL" = 1 ]; then
  # HORDE_MAIL=1: a company directory for EAS GAL searches (Search Store=GAL,
  # ResolveRecipients): Turba source 'gal' = a flat SQL address book in its own
  # table turba_gal (same columns as turba_objects) with no __owner field, so every
  # user sees the same entries (a Turba SQL source with __owner only shows the
  # caller's own rows). Filled with one entry per Horde user (user@HORDE_MAIL_DOMAIN)
  # further down. Turba conf gal.addressbook=gal.
  cat >> /etc/horde/turba/backends.local.php <<'EOF'
// HORDE_MAIL=1: company directory used as the ActiveSync GAL.
$cfgSources['gal'] = $cfgSources['localsql'];
$cfgSources['gal']['title'] = 'Directory';
$cfgSources['gal']['use_shares'] = false;
$cfgSources['gal']['params']['table'] = 'turba_gal';
unset($cfgSources['gal']['map']['__owner']);
EOF
fi
chmod 0644 /etc/horde/turba/backends.local.php

# IMP (webmail; Horde's 'mail' API that ActiveSync email uses). Only with HORDE_MAIL=1.
# Otherwise an IMP left installed by an earlier HORDE_MAIL=1 run is set inactive,
# so the registry has no 'mail' API and the server behaves as without IMP.
IMP_OFF=/etc/horde/horde/registry.d/zz-setup-imp-off.php
if [ "$MAIL" = 1 ]; then
  rm -f "$IMP_OFF"
  gen imp
  # Debian's backends.php entry 'imap' (localhost:143, STARTTLS) -> our server.
  # hordeauth=true: log in to IMAP with the Horde user name and password (same
  # users/passwords as Dovecot's). secure=false: plain IMAP, no STARTTLS.
  cat > /etc/horde/imp/backends.local.php <<EOF
<?php
// Generated by horde-setup.sh (HORDE_MAIL=1).
\$servers['imap'] = array_merge(\$servers['imap'], array(
    'disabled' => false,
    'name' => 'Test IMAP ($IMAP_HOST:$IMAP_PORT)',
    'hostspec' => '$IMAP_HOST',
    'port' => $IMAP_PORT,
    'protocol' => 'imap',
    'secure' => false,
    'hordeauth' => true,
    'maildomain' => '$MAIL_DOMAIN',
    'smtp' => array(
        'host' => '$SMTP_HOST',
        'port' => $SMTP_PORT,
        'secure' => 'none',
        'auth' => true,
    ),
    'cache' => false,
));
EOF
  # Debian's IMP default use_trash=0 (a delete only sets \Deleted) means EAS has no
  # Deleted Items folder: Trash is reported as type 12. Turn the Trash folder on
  # (type 4). spam_folder is left alone: IMP relabels its spam mailbox "Spam", which
  # would hide the server's real folder name Junk.
  cat > /etc/horde/imp/prefs.local.php <<'EOF'
<?php
// Generated by horde-setup.sh (HORDE_MAIL=1). Defaults only; a user's saved prefs win.
$_prefs['use_trash']['value'] = 1;
$_prefs['trash_folder']['value'] = 'Trash';
EOF
  chmod 0644 /etc/horde/imp/backends.local.php /etc/horde/imp/prefs.local.php
else
  rm -f /etc/horde/imp/backends.local.php /etc/horde/imp/prefs.local.php
  if [ -d /usr/share/horde/imp ]; then
    cat > "$IMP_OFF" <<'EOF'
<?php
// Generated by horde-setup.sh: HORDE_MAIL is not 1, so IMP (the 'mail' API) is off.
$this->applications['imp']['status'] = 'inactive';
EOF
    chmod 0644 "$IMP_OFF"
  fi
fi
# horde-activesync's optional Horde extension (the project's horde/ folder): a hidden
# application 'activesync' whose API answers a folder list or the change counters of
# many collections in one JSON-RPC call (README, "Horde extension"). Installed here so
# the tests and the benchmark can turn it on (backend.horde_extension); the server
# does not use it unless configured to.
EXT_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/horde"
EXT_ROOT=/usr/local/share/horde-activesync/activesync   # the snippet's 'fileroot'
install -d -m 0755 "$EXT_ROOT/lib"
install -m 0644 "$EXT_SRC"/activesync/lib/*.php "$EXT_ROOT/lib/"
install -m 0644 "$EXT_SRC/registry.d/activesync.php" /etc/horde/horde/registry.d/activesync.php
touch /etc/horde/horde/registry.d   # drop cached registry

# ---------------------------------------------------------------- 4. DB schema + users
say "migrating DB ($DB)"
# 'content' (rampage_* tables) must exist before turba/kronolith/nag/mnemo migrate.
quiet_php /usr/bin/horde-db-migrate content > "$DATA/migrate.log" 2>&1
quiet_php /usr/bin/horde-db-migrate >> "$DATA/migrate.log" 2>&1
if grep -q SQLSTATE "$DATA/migrate.log"; then
  quiet_php /usr/bin/horde-db-migrate >> "$DATA/migrate.log" 2>&1   # second pass
fi
# A final pass must be clean.
if quiet_php /usr/bin/horde-db-migrate 2>&1 | tee -a "$DATA/migrate.log" | grep -q SQLSTATE; then
  echo "DB migration failed, see $DATA/migrate.log" >&2; exit 1
fi
[ "$MAIL" = 1 ] && php -r '$d = new PDO("sqlite:" . $argv[1]);
  $d->exec("CREATE TABLE IF NOT EXISTS turba_gal AS SELECT * FROM turba_objects WHERE 0");' "$DB"
chown -R www-data:www-data "$DATA"/horde.sqlite* 2>/dev/null || true

pairs=()
for up in $USERS; do pairs+=("${up%%:*}" "${up#*:}"); done
quiet_php "$DATA/tools/adduser.php" "${pairs[@]}"
# Setup-time noise (CLI warnings, "no such table" before the schema existed) goes
# to $DATA/setup-horde.log so $LOG/horde.log only shows what the server logs.
if [ -f "$LOG/horde.log" ]; then cat "$LOG/horde.log" >> "$DATA/setup-horde.log"; : > "$LOG/horde.log"; fi

# ---------------------------------------------------------------- 5. apache
cat > "$RUN/httpd.conf" <<EOF
# Generated by horde-setup.sh - private Apache instance, loopback only.
ServerRoot "/etc/apache2"
ServerName 127.0.0.1
Listen 127.0.0.1:$PORT
PidFile $RUN/httpd.pid
Mutex file:$RUN
DefaultRuntimeDir $RUN
User www-data
Group www-data
ErrorLog $RUN/error.log
LogFormat "%h %t \"%r\" %>s %b %Dus" timed
CustomLog $RUN/access.log timed
LoadModule mpm_prefork_module /usr/lib/apache2/modules/mod_mpm_prefork.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so
LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so
LoadModule php_module /usr/lib/apache2/modules/libphp8.2.so
StartServers 2
MinSpareServers 2
MaxSpareServers 8
MaxRequestWorkers 32
KeepAlive On
Timeout 300
TypesConfig /etc/mime.types
DirectoryIndex index.php
<FilesMatch "\.php\$">
    SetHandler application/x-httpd-php
</FilesMatch>
DocumentRoot /usr/share/horde
Alias /horde /usr/share/horde
# Same aliases as Debian's /etc/apache2/conf-available/php-horde.conf
Alias /Microsoft-Server-ActiveSync /usr/share/horde/rpc.php
Alias /autodiscover/autodiscover.xml /usr/share/horde/rpc.php
Alias /Autodiscover/Autodiscover.xml /usr/share/horde/rpc.php
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory /usr/share/horde>
    AllowOverride None
    Require all granted
    php_admin_value error_reporting 22519
    php_admin_flag display_errors off
    php_admin_flag log_errors on
</Directory>
EOF
apache2 -f "$RUN/httpd.conf" -t 2>&1 | grep -v 'Syntax OK' || true
if [ "$RUNNING" = 1 ]; then
  say "server already running (pid $(cat "$RUN/httpd.pid")), graceful reload"
  apache2 -f "$RUN/httpd.conf" -k graceful
else
  rm -f "$RUN/httpd.pid"
  say "starting apache on 127.0.0.1:$PORT"
  apache2 -f "$RUN/httpd.conf" -k start
fi

# ---------------------------------------------------------------- 6. wait + warm-up
first_user=${USERS%% *}
ok=0
for _ in $(seq 100); do
  if curl -sf -u "${first_user%%:*}:${first_user#*:}" -H 'Content-Type: application/json' \
       --data '{"version":"1.1","method":"calendar.listCalendars","params":[],"id":0}' \
       "http://127.0.0.1:$PORT/rpc.php" 2>/dev/null | grep -q '"result"'; then ok=1; break; fi
  sleep 0.2
done
[ "$ok" = 1 ] || { echo "rpc.php does not answer; see $RUN/error.log $LOG/horde.log" >&2; exit 1; }
# The first authenticated call per user and app auto-creates the default address
# book, calendar, task list and notepad (Horde share auto_create); do it now so
# every test sees them.
for up in $USERS; do
  for m in contacts.sources calendar.sources tasks.sources notes.sources; do
    curl -s -o /dev/null -u "${up%%:*}:${up#*:}" -H 'Content-Type: application/json' \
      --data "{\"version\":\"1.1\",\"method\":\"$m\",\"params\":[],\"id\":0}" "http://127.0.0.1:$PORT/rpc.php"
  done
done
if [ "$MAIL" = 1 ]; then
  # GAL entries: one per user, added once (matched by e-mail address).
  for up in $USERS; do
    u=${up%%:*}; addr="$u@$MAIL_DOMAIN"
    have=$(curl -s -u "${first_user%%:*}:${first_user#*:}" -H 'Content-Type: application/json' \
      --data "{\"version\":\"1.1\",\"method\":\"contacts.search\",\"params\":[\"$addr\",{\"sources\":[\"gal\"],\"fields\":{\"gal\":[\"email\"]},\"forceSource\":true}],\"id\":0}" \
      "http://127.0.0.1:$PORT/rpc.php" | jq -r '[.result[]?[]?] | length' 2>/dev/null || echo 0)
    if [ "${have:-0}" = 0 ]; then
      first="$(tr '[:lower:]' '[:upper:]' <<< "${u:0:1}")${u:1}"
      curl -s -o /dev/null -u "${first_user%%:*}:${first_user#*:}" -H 'Content-Type: application/json' \
        --data "{\"version\":\"1.1\",\"method\":\"contacts.import\",\"params\":[{\"firstname\":\"$first\",\"lastname\":\"Example\",\"email\":\"$addr\",\"company\":\"Example Test\"},\"array\",\"gal\"],\"id\":0}" \
        "http://127.0.0.1:$PORT/rpc.php"
    fi
  done
fi
# Which version of this script set Horde up (tests rerun it when it changed).
sha256sum < "${BASH_SOURCE[0]}" | cut -d' ' -f1 > "$DATA/horde-setup.sha256"
mailmsg="email sync off"
[ "$MAIL" = 1 ] && mailmsg="email sync ON (IMAP $IMAP_HOST:$IMAP_PORT, SMTP $SMTP_HOST:$SMTP_PORT)"
say "Horde is up: http://127.0.0.1:$PORT/rpc.php (JSON-RPC), http://127.0.0.1:$PORT/Microsoft-Server-ActiveSync (EAS); users: $USERS; $mailmsg; pid $(cat "$RUN/httpd.pid")"
