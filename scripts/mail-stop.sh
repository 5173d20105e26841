#!/usr/bin/env bash
# Stop the Dovecot and Postfix instances started by setup.sh, by their PID files
# only (never by process name). Safe to run when nothing is running.
#   bash mail-stop.sh            stop both
#   bash mail-stop.sh --purge    stop both, then delete $EAS_MAIL_ROOT (config, TLS,
#                           queue, all mail, logs) -- the next setup.sh starts
#                           from scratch (packages stay installed)
set -u
ROOT="${EAS_MAIL_ROOT:-/var/lib/eas-mail}"
PURGE=0
case "${1:-}" in
  --purge) PURGE=1 ;;
  "") ;;
  *) echo "usage: mail-stop.sh [--purge]" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }

rc=0
# stop NAME PIDFILE COMM: TERM the pid if it is alive AND its /proc comm is COMM
# (guards against a stale pid file pointing at a recycled pid).
stop() {
  local name="$1" pidfile="$2" comm="$3" pid
  if [ ! -s "$pidfile" ]; then echo "$name: not running (no $pidfile)"; return 0; fi
  pid=$(tr -dc '0-9' < "$pidfile")
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
    echo "$name: not running (stale pid ${pid:-?})"; rm -f "$pidfile"; return 0
  fi
  if [ "$(cat /proc/"$pid"/comm 2>/dev/null)" != "$comm" ]; then
    echo "$name: pid $pid is '$(cat /proc/"$pid"/comm 2>/dev/null)', not $comm: left alone" >&2
    rm -f "$pidfile"; return 0
  fi
  kill -TERM "$pid"      # the master process stops its own children
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then echo "$name: pid $pid still alive after 10 s" >&2; rc=1; return; fi
  rm -f "$pidfile"
  echo "$name: stopped (pid $pid)"
}

stop postfix "$ROOT/spool/pid/master.pid" master
stop dovecot "$ROOT/run/dovecot/master.pid" dovecot
stop dovecot-plain "$ROOT/run/dovecot-plain/master.pid" dovecot

if [ "$PURGE" = 1 ]; then
  if [ "$rc" = 0 ]; then
    rm -rf "${ROOT:?}" "$ROOT.setup.lock"
    echo "purged $ROOT"
  else
    echo "not purging $ROOT: a daemon did not stop" >&2
  fi
fi
exit $rc
