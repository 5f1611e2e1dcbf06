#!/usr/bin/env bash
# Rolls a release onto the app servers one at a time, with readiness gating and rollback.
#
#   deploy/deploy.sh --release DIR|TARBALL [--id ID] TARGET...
#   deploy/deploy.sh --rollback TARGET...          (each target back to its previous release)
#
# TARGET is either an SSH destination (`pick@10.0.0.11`; the app lives in $PICK_BASE, default
# /srv/pick, its PM2 daemon is the login user's, its port $APP_PORT, default 3000) or a local
# stand-in `local:DIR:PORT` (the app in DIR, PM2_HOME=DIR/.pm2): the topology test uses those.
#
# Steps: upload the release to every target (releases/<id>, nothing live changes yet); run the
# migrations once, from the first target (`migrate.js up` takes a MySQL named lock, so a second
# concurrent deploy waits); then for each target in turn: switch `current`, `pm2 reload` (PM2
# replaces workers one at a time, each new one must send `ready`), wait until every worker runs
# the new release and /health/ready answers; only then move on. If a target fails, it and every
# target already switched in this run go back to their previous release, and the script exits 1.
# SETTLE_SECONDS (default 6) waits between servers: above nginx's fail_timeout (5 s).
# Migrations must be backward compatible with the previous release (expand, then contract later).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

release="" id="" rollback=0 targets=()
while [ $# -gt 0 ]; do
  case $1 in
    --release) release=${2:?}; shift 2 ;;
    --id) id=${2:?}; shift 2 ;;
    --rollback) rollback=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || { echo "deploy.sh: no target given" >&2; exit 2; }

log() { echo "[$(date -u +%H:%M:%S)] deploy: $*"; }

# Splits a target into: kind, destination/dir, base dir, port.
parse_target() {
  local target=$1
  if [[ $target == local:* ]]; then
    IFS=: read -r _ t_dir t_port <<<"$target"
    t_kind=local t_base=$(mkdir -p "$t_dir" && cd "$t_dir" && pwd) t_port=${t_port:?port in local:DIR:PORT}
  else
    t_kind=ssh t_base=${PICK_BASE:-/srv/pick} t_port=${APP_PORT:-3000} t_dir=$target
  fi
}

# Runs a shell command on the target: over SSH, or locally with that server's PM2_HOME.
on_target() {
  local command=$1
  if [ "$t_kind" = local ]; then
    PM2_HOME="$t_base/.pm2" PICK_PORT=$t_port bash -c "$command"
  else
    # shellcheck disable=SC2029 # expanded here on purpose: the remote side gets literal values
    ssh -o BatchMode=yes "$t_dir" "PICK_PORT=$t_port bash -lc $(printf '%q' "$command")"
  fi
}

server() { # server.sh subcommand with arguments, from the release being rolled out
  on_target "bash $(printf '%q' "$t_base/releases/$1/deploy/server.sh") $(printf '%q' "$t_base") ${*:2}"
}

upload() { # id
  if on_target "test -f $(printf '%q' "$t_base/releases/$1/ecosystem.config.js")"; then
    log "$target already has release $1"
    return
  fi
  log "uploading release $1 to $target"
  local staging="$t_base/releases/.$1.partial"
  local source_cmd=(tar -C "$release_dir" -cf - .)
  if [ "$t_kind" = local ]; then
    mkdir -p "$t_base/releases" "$t_base/shared"
    rm -rf "$staging" && mkdir -p "$staging"
    "${source_cmd[@]}" | tar -C "$staging" -xf -
    mv -T "$staging" "$t_base/releases/$1"
  else
    "${source_cmd[@]}" | gzip -1 | ssh -o BatchMode=yes "$t_dir" \
      "mkdir -p '$t_base/releases' '$t_base/shared' && rm -rf '$staging' && mkdir -p '$staging' && tar -C '$staging' -xzf - && mv -T '$staging' '$t_base/releases/$1'"
  fi
}

if [ $rollback = 1 ]; then
  for target in "${targets[@]}"; do
    parse_target "$target"
    current=$(on_target "basename \"\$(readlink $(printf '%q' "$t_base/current"))\"")
    previous=$(on_target "cat $(printf '%q' "$t_base/previous") 2>/dev/null || echo none")
    [ "$previous" != none ] || { log "$target has no previous release"; exit 1; }
    log "$target: rolling back $current -> $previous"
    server "$previous" activate "$previous"
    if [ "$target" != "${targets[-1]}" ]; then sleep "${SETTLE_SECONDS:-6}"; fi
  done
  exit 0
fi

[ -n "$release" ] || { echo "deploy.sh: --release DIR|TARBALL is required" >&2; exit 2; }
cleanup_dir=""
trap '[ -z "$cleanup_dir" ] || rm -rf "$cleanup_dir"' EXIT
if [ -d "$release" ]; then
  release_dir=$(cd "$release" && pwd)
else
  cleanup_dir=$(mktemp -d) release_dir=$cleanup_dir
  tar -C "$release_dir" -xzf "$release"
fi
[ -f "$release_dir/dist/src/main.js" ] || { echo "deploy.sh: $release has no dist/src/main.js" >&2; exit 2; }
if [ ! -f "$release_dir/deploy/server.sh" ]; then
  mkdir -p "$release_dir/deploy" && cp "$here/server.sh" "$release_dir/deploy/server.sh"
fi
if [ -z "$id" ]; then id=$(cat "$release_dir/REVISION" 2>/dev/null || date -u +%Y%m%d%H%M%S); fi
[[ $id =~ ^[A-Za-z0-9._-]+$ ]] || { echo "deploy.sh: bad release id '$id'" >&2; exit 2; }

log "release $id to ${#targets[@]} server(s): ${targets[*]}"
for target in "${targets[@]}"; do parse_target "$target"; upload "$id"; done

parse_target "${targets[0]}"
log "migrations (once, from ${targets[0]})"
server "$id" migrate "$id"

switched=()
for target in "${targets[@]}"; do
  parse_target "$target"
  previous=$(on_target "basename \"\$(readlink $(printf '%q' "$t_base/current") || echo none)\"")
  log "$target: $previous -> $id"
  if server "$id" activate "$id"; then
    switched+=("$target|$previous")
    log "$target: ready on $id"
    # nginx disables a server for fail_timeout after the 503s of its draining workers: let it
    # come back before the next server goes through its own reload.
    if [ "$target" != "${targets[-1]}" ]; then sleep "${SETTLE_SECONDS:-6}"; fi
    continue
  fi
  log "$target: FAILED; rolling back"
  switched+=("$target|$previous")
  for ((i = ${#switched[@]} - 1; i >= 0; i--)); do
    target=${switched[$i]%|*} previous=${switched[$i]#*|}
    parse_target "$target"
    if [ "$previous" = none ]; then log "$target: no previous release to go back to"; continue; fi
    log "$target: back to $previous"
    server "$previous" activate "$previous" || log "$target: rollback to $previous FAILED too: act by hand"
  done
  exit 1
done
for target in "${targets[@]}"; do parse_target "$target"; server "$id" prune 5 || true; done
log "release $id is live on every server"
