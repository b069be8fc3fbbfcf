#!/usr/bin/env bash
# postern-sut.sh — Postern from this checkout as a server under test (SUT) of the peer lab's
# bench-e2e.sh (../shared/lab). Used by bench/lab/postern.env; also usable by hand.
#
#   postern-sut.sh start    write the config, provision once, start `postern serve` in the
#                           background (pidfile), wait until its ports listen (idempotent)
#   postern-sut.sh stop     stop exactly the process in the pidfile (SIGTERM, SIGKILL after 20 s)
#   postern-sut.sh queue    print the number of queued messages (postern queue list --json)
#   postern-sut.sh status   pid, ports, queue
#   postern-sut.sh reset    stop, then delete the data folder (a fresh queue and store)
#
# Like Postfix in the lab: 127.0.0.1 only; 20587 submission (STARTTLS + AUTH), 20465
# submissions (implicit TLS), 20025 mx (inbound for hosted.test, relaying only after AUTH);
# the lab's certificate; user alice@example.test / alice-lab-pass; everything is delivered to
# the lab's smtp-sink (smarthost 127.0.0.1:10026 without TLS, and an inbound route for
# hosted.test to the same sink). No DNS lookups: the smarthost and the route are addresses.
#
# Knobs (environment): POSTERN_LAB_DIR [$TMPDIR/postern-lab], POSTERN_LAB_TLS [$PEER_DIR/tls, PEER_DIR as in postfix-peer.sh]
# (cert.pem + key.pem), POSTERN_LAB_SINK [127.0.0.1:10026], POSTERN_LAB_SUBMISSION_PORT [20587],
# POSTERN_LAB_SMTPS_PORT [20465], POSTERN_LAB_MX_PORT [20025], POSTERN_LAB_DELIVERY_CONCURRENCY
# [Postern's defaults: 100 in total, 20 per destination], POSTERN_LAB_LOG_LEVEL [warn],
# POSTERN_LAB_DKIM [off; rsa: the sender's domain signs with an activated RSA-2048 key],
# POSTERN_LAB_WORKERS [1: Postern's default; workers: N processes],
# LAB_USER / LAB_PASS (as in postfix-peer.sh) [alice@example.test / alice-lab-pass].
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CLI=$ROOT/bin/postern.js
DIR=${POSTERN_LAB_DIR:-${TMPDIR:-/tmp}/postern-lab}
TLS_DIR=${POSTERN_LAB_TLS:-${PEER_DIR:-/tmp/peerlab}/tls}  # the lab's PEER_DIR, as postfix-peer.sh
SINK=${POSTERN_LAB_SINK:-127.0.0.1:10026}
SUBMISSION_PORT=${POSTERN_LAB_SUBMISSION_PORT:-20587}
SMTPS_PORT=${POSTERN_LAB_SMTPS_PORT:-20465}
MX_PORT=${POSTERN_LAB_MX_PORT:-20025}
CONCURRENCY=${POSTERN_LAB_DELIVERY_CONCURRENCY:-}
LOG_LEVEL=${POSTERN_LAB_LOG_LEVEL:-warn}
DKIM=${POSTERN_LAB_DKIM:-off}
WORKERS=${POSTERN_LAB_WORKERS:-1}
USER_ADDR=${LAB_USER:-alice@example.test}
USER_PASS=${LAB_PASS:-alice-lab-pass}
CONFIG=$DIR/postern.yaml
PIDFILE=$DIR/postern.pid
LOG=$DIR/serve.log

say() { printf '[postern-sut] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

case ${SINK%:*} in 127.*|localhost|'[::1]') ;; *) die "POSTERN_LAB_SINK must be a loopback HOST:PORT, not $SINK" ;; esac
case $DIR in /tmp/?*) ;; *) die "POSTERN_LAB_DIR must be under /tmp (reset deletes it), not $DIR" ;; esac
case $DKIM in off|rsa) ;; *) die "POSTERN_LAB_DKIM must be off or rsa, not $DKIM" ;; esac
case $WORKERS in auto|[1-9]|[1-9][0-9]) ;; *) die "POSTERN_LAB_WORKERS must be a number or auto, not $WORKERS" ;; esac

postern() { POSTERN_CONFIG=$CONFIG node "$CLI" "$@"; }
port_listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# the pid from the pidfile, only if that process is `postern.js serve` (never signal anything else)
our_pid() {
  local pid
  [ -s "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE")
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'postern\.js serve' || return 1
  echo "$pid"
}

write_config() {
  local delivery="\"smarthost\": \"$SINK\", \"smarthostTls\": \"none\", \"allowLoopback\": true"
  [ -n "$CONCURRENCY" ] && delivery="$delivery, \"concurrency\": $CONCURRENCY, \"perDestinationConcurrency\": $CONCURRENCY"
  # JSON is YAML. mx: no greeting delay (Postfix's smtpd on 10025 has none either; smtp-source
  # would wait 1 s per connection). allowLoopback: the smarthost and the route are 127.0.0.1.
  cat >"$CONFIG" <<JSON
{
  "hostname": "postern.lab.test",
  "dataDir": "$DIR/data",
  "listeners": [
    { "role": "submission", "port": $SUBMISSION_PORT, "host": "127.0.0.1", "maxConnectionsPerIp": 500 },
    { "role": "submissions", "port": $SMTPS_PORT, "host": "127.0.0.1", "maxConnectionsPerIp": 500 },
    { "role": "mx", "port": $MX_PORT, "host": "127.0.0.1", "maxConnectionsPerIp": 500, "greetingDelayMs": 0 }
  ],
  "tls": { "cert": "$TLS_DIR/cert.pem", "key": "$TLS_DIR/key.pem" },
  "delivery": { $delivery },
  "containment": { "enabled": false },
  "web": { "enabled": false },
  "dkim": { "enabled": $([ "$DKIM" = rsa ] && echo true || echo false) },
  "workers": $([ "$WORKERS" = auto ] && echo '"auto"' || echo "$WORKERS"),
  "log": { "level": "$LOG_LEVEL" }
}
JSON
}

provision() {
  local domain=${USER_ADDR#*@}
  if [ ! -e "$DIR/provisioned" ]; then
    say "provisioning $USER_ADDR and hosted.test in $DIR"
    postern migrate >/dev/null # other commands refuse a store that does not exist
    postern customer add lab >/dev/null
    postern domain add "$domain" --customer lab >/dev/null
    printf '%s\n' "$USER_PASS" | postern mailbox add "$USER_ADDR" --password-stdin >/dev/null
    # the default sending limits (1,000 recipients an hour per mailbox) would hold the load
    postern limits clear mailbox '*' >/dev/null
    postern domain add hosted.test --customer lab >/dev/null
    touch "$DIR/provisioned"
  fi
  postern route add hosted.test "$SINK" --tls none >/dev/null # replaces: follows POSTERN_LAB_SINK
  # signing follows POSTERN_LAB_DKIM: an activated key signs when dkim.enabled is true
  if [ "$DKIM" = rsa ] && ! postern dkim show "$domain" 2>/dev/null | grep -q active; then
    postern dkim activate "$domain" --force >/dev/null
  fi
}

cmd_start() {
  local pid p
  if pid=$(our_pid); then say "already running (pid $pid)"; return 0; fi
  [ -r "$TLS_DIR/cert.pem" ] && [ -r "$TLS_DIR/key.pem" ] \
    || die "no certificate in $TLS_DIR (lab/postfix-peer.sh start makes it; or set POSTERN_LAB_TLS)"
  for p in "$SUBMISSION_PORT" "$SMTPS_PORT" "$MX_PORT"; do
    port_listening "$p" && die "port $p is already taken by another process"
  done
  mkdir -p "$DIR"
  write_config
  provision
  cd "$ROOT"
  POSTERN_CONFIG=$CONFIG setsid node "$CLI" serve >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 300); do
    our_pid >/dev/null || { tail -n 20 "$LOG" >&2; die "postern exited; log $LOG"; }
    port_listening "$SUBMISSION_PORT" && port_listening "$SMTPS_PORT" && port_listening "$MX_PORT" && break
    sleep 0.1
  done
  port_listening "$SUBMISSION_PORT" || die "postern did not listen within 30 s; log $LOG"
  say "postern running (pid $(cat "$PIDFILE")) on 127.0.0.1:$SUBMISSION_PORT/$SMTPS_PORT/$MX_PORT, delivering to $SINK; log $LOG"
}

cmd_stop() {
  local pid
  if ! pid=$(our_pid); then say "not running"; rm -f "$PIDFILE"; return 0; fi
  kill -TERM "$pid"
  for _ in $(seq 200); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
  if [ -d "/proc/$pid" ]; then say "pid $pid still there 20 s after SIGTERM: SIGKILL"; kill -KILL "$pid"; fi
  rm -f "$PIDFILE"
  say "stopped (pid $pid)"
}

cmd_queue() {
  postern queue list --json --limit 1000000 | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).length));'
}

cmd_status() {
  local pid
  if pid=$(our_pid); then echo "postern : running (pid $pid), config $CONFIG, log $LOG"; else echo "postern : stopped"; fi
  ss -Hltn 2>/dev/null | awk -v p="$SUBMISSION_PORT|$SMTPS_PORT|$MX_PORT" '{ n = split($4, a, ":"); if (a[n] ~ "^(" p ")$") print "  listening " $4 }'
  [ -e "$CONFIG" ] && echo "queue   : $(cmd_queue) message(s)"
  return 0
}

cmd_reset() {
  cmd_stop
  rm -rf "$DIR"
  say "removed $DIR"
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  queue) cmd_queue ;;
  status) cmd_status ;;
  reset) cmd_reset ;;
  *) echo "usage: $0 start|stop|queue|status|reset" >&2; exit 64 ;;
esac
