#!/usr/bin/env bash
# Stop the Apache instance started by horde-setup.sh (by its PID only).
set -u
PIDFILE=/var/lib/horde/apache/httpd.pid
if [ ! -f "$PIDFILE" ]; then echo "horde: not running (no $PIDFILE)"; exit 0; fi
pid=$(cat "$PIDFILE")
if ! kill -0 "$pid" 2>/dev/null; then echo "horde: stale pid $pid"; rm -f "$PIDFILE"; exit 0; fi
kill -TERM "$pid"                 # apache parent stops its own children
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
if kill -0 "$pid" 2>/dev/null; then echo "horde: pid $pid still alive" >&2; exit 1; fi
rm -f "$PIDFILE"
echo "horde: stopped (pid $pid)"
