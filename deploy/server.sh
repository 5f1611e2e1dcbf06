#!/usr/bin/env bash
# Runs ON one app server (or a local stand-in), called by deploy/deploy.sh. Layout under BASE:
#   releases/<id>/   one directory per release (dist/, node_modules/, package.json, ecosystem.config.js)
#   current          symlink to the live release; PM2 runs from it (PICK_APP_DIR), so a reload
#                    starts the new release's code
#   previous         id of the release that was live before the last activation
#   shared/.env      the server's settings (secrets), never inside a release
# Environment: PM2_HOME (the daemon to talk to), PICK_PORT (the app port for health checks),
#              PM2 (pm2 binary, default "pm2"), READY_TIMEOUT (s, default 90).
# Usage: server.sh BASE migrate ID | activate ID | current | previous | prune KEEP
set -euo pipefail

base=${1:?BASE}
command=${2:?command}
cd "$base"
pm2_bin=${PM2:-pm2}
ready_timeout=${READY_TIMEOUT:-90}

log() { echo "[$(date -u +%H:%M:%S)] server $base: $*"; }

load_env() {
  if [ -f shared/.env ]; then
    set -a
    # shellcheck disable=SC1091
    . shared/.env
    set +a
  fi
  if [ -n "${PICK_PORT:-}" ]; then export PORT=$PICK_PORT; fi
  export PORT=${PORT:-3000}
  export PICK_APP_NAME=${PICK_APP_NAME:-pick}
}

require_release() {
  if [ ! -f "releases/$1/ecosystem.config.js" ] || [ ! -f "releases/$1/dist/src/main.js" ]; then
    echo "server.sh: releases/$1 is not a complete release" >&2
    exit 2
  fi
}

# Prints "pid cwd" for each process of the app as PM2 sees it.
app_processes() {
  "$pm2_bin" jlist 2>/dev/null | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      for (const p of JSON.parse(s || "[]")) if (p.name === process.argv[1]) console.log(p.pid, p.pm2_env.status);
    });' "$PICK_APP_NAME"
}

# Ready = every PM2 worker online and running the wanted release (its cwd resolves into it),
# and /health/ready answers 200 three times in a row.
wait_ready() {
  local want deadline ok=0 pid status cwd all
  want=$(cd "releases/$1" && pwd -P)
  deadline=$((SECONDS + ready_timeout))
  while [ $SECONDS -lt $deadline ]; do
    all=1
    local count=0
    while read -r pid status; do
      count=$((count + 1))
      cwd=$(readlink -f "/proc/$pid/cwd" 2>/dev/null || true)
      if [ "$status" != online ] || [ "$cwd" != "$want" ]; then all=0; fi
    done < <(app_processes)
    [ "$count" -gt 0 ] || all=0
    if [ $all = 1 ] && curl -fsS -m 3 "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1; then
      ok=$((ok + 1))
      if [ $ok -ge 3 ]; then return 0; fi
    else
      ok=0
    fi
    sleep 1
  done
  return 1
}

case $command in
  migrate)
    id=${3:?ID}
    require_release "$id"
    load_env
    log "migrating with release $id"
    (cd "releases/$id" && node dist/src/cli/migrate.js up)
    ;;
  activate)
    id=${3:?ID}
    require_release "$id"
    load_env
    old=$(basename "$(readlink current 2>/dev/null || echo none)")
    ln -sfn "releases/$id" current.new && mv -T current.new current
    export PICK_APP_DIR="$base/current" PICK_RELEASE="$id"
    log "activating $id (was $old): pm2 reload, one worker at a time, each waits for ready"
    if ! "$pm2_bin" startOrReload current/ecosystem.config.js --update-env >/dev/null; then
      log "pm2 reload failed"
      exit 1
    fi
    if ! wait_ready "$id"; then
      log "release $id did not become ready within ${ready_timeout}s"
      "$pm2_bin" logs "$PICK_APP_NAME" --nostream --lines 30 2>&1 | tail -30 >&2 || true
      exit 1
    fi
    "$pm2_bin" save --force >/dev/null 2>&1 || true
    touch "releases/$id/.ready"
    # `previous` names the last release that was live and ready (never one that failed).
    if [ "$old" != "$id" ] && [ -f "releases/$old/.ready" ]; then echo "$old" >previous; fi
    log "release $id is live and ready"
    ;;
  current) basename "$(readlink current 2>/dev/null || echo none)" ;;
  previous) cat previous 2>/dev/null || echo none ;;
  prune)
    keep=${3:-5}
    live=$(basename "$(readlink current 2>/dev/null || echo none)")
    prev=$(cat previous 2>/dev/null || echo none)
    # shellcheck disable=SC2012 # release ids are plain names
    ls -1t releases | tail -n +"$((keep + 1))" | while read -r old_release; do
      if [ "$old_release" != "$live" ] && [ "$old_release" != "$prev" ]; then rm -rf "releases/${old_release:?}"; fi
    done
    ;;
  *) echo "server.sh: unknown command $command" >&2; exit 2 ;;
esac
