#!/usr/bin/env bash
# Local object storage for `npm run up` / `npm run down`: s3rver (npm registry) on S3_ENDPOINT
# (default 127.0.0.1:4568), data under .local/s3, bucket S3_BUCKET, demo images uploaded.
# Usage: deploy/local/s3.sh start|stop|status. Needs dist/ (up.sh builds first).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH"
dir=.local/s3
pidfile=.local/s3.pid
log=.local/s3.log
mkdir -p "$dir"

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "${1:-}" in
  start)
    if running; then echo "s3: already running (pid $(cat "$pidfile"))"; exit 0; fi
    LOCAL_S3_DIR="$PWD/$dir" nohup node dist/src/storage/local-s3.js >"$log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 60); do
      if grep -q '^local s3:' "$log" 2>/dev/null; then break; fi
      if ! running; then break; fi
      sleep 0.25
    done
    if running && grep -q '^local s3: http' "$log"; then
      echo "s3: $(grep '^local s3:' "$log" | tail -1) (pid $(cat "$pidfile"))"
    else
      echo "s3: did not start:" >&2; cat "$log" >&2; rm -f "$pidfile"; exit 1
    fi
    ;;
  stop)
    if running; then
      pid=$(cat "$pidfile"); kill "$pid"
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      echo "s3: stopped"
    fi
    rm -f "$pidfile"
    ;;
  status)
    if running; then echo "s3: running (pid $(cat "$pidfile"))"; else echo "s3: stopped"; exit 1; fi
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
