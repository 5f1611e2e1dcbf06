#!/usr/bin/env bash
# Rolling deploy of one image onto the app servers, one at a time, with a readiness gate, an
# nginx switch before any container is stopped, and rollback on failure.
#
#   deploy/deploy.sh --image IMAGE --lb LB TARGET...     e.g. --image acme/pick:<commit sha>
#   deploy/deploy.sh --rollback --lb LB TARGET...        each server back to its previous image
#   deploy/deploy.sh --restart --lb LB TARGET...         each server's live image in a new container
#                                                        (same gate and switch: after editing .env)
#
# TARGET: an SSH destination (`deploy@10.0.0.11`: Docker Engine there, state in /srv/pick, the
#   slots on ports BLUE_PORT/GREEN_PORT, 3000/3001, reached by nginx at the host after the @), or
#   `local:DIR:BLUE:GREEN`, a stand-in on this machine (state in DIR, containers named after DIR's
#   last part, nginx reaches 127.0.0.1; the image test drives podman through DOCKER).
# LB: the nginx host's SSH destination (runs `sudo pick-upstream`, i.e. deploy/lb.sh), or `local`
#   (deploy/lb.sh here, with UPSTREAM_FILE/NGINX/NGINX_PID from the environment).
#
# Order, and why:
#  1. every server pulls the image (nothing live changes; a registry problem stops us here);
#  2. migrations run ONCE, from the new image, on the first server (`migrate.js up` takes a MySQL
#     named lock). They must work with the previous release too: old containers serve until
#     step 3 has gone through every server (expand now, contract in a later release);
#  3. one server at a time: start the new image in the idle slot (blue/green port) next to the
#     live one; readiness gate (deploy/server.sh ready: container running, every PM2 worker
#     online, /health/ready 200 three times); switch nginx from the old port to the new one
#     (deploy/lb.sh: graceful reload, returns when old nginx workers are gone); stop the old
#     container (SIGTERM, PM2 drains its workers, --stop-timeout above kill_timeout);
#  4. a server that fails its gate: its new container is removed (nginx never saw it), and every
#     server already switched in this run goes back to its previous image the same way; exit 1;
#  5. only when every server is ready: PRODUCTION_TAG (e.g. acme/pick:production) is moved to the
#     image (`docker tag`, and `docker push` with PUSH_PRODUCTION=1).
#
# Environment: DOCKER (local docker CLI, for local targets and the tag), BLUE_PORT, GREEN_PORT,
# PICK_STATE (/srv/pick), and passed to the servers: READY_TIMEOUT, STOP_TIMEOUT, NOFILE, ADMIN_PORT_OFFSET,
# LOG_MAX_SIZE, LOG_MAX_FILE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

image="" lb="" rollback=0 restart=0 targets=()
while [ $# -gt 0 ]; do
  case $1 in
    --image) image=${2:?}; shift 2 ;;
    --lb) lb=${2:?}; shift 2 ;;
    --rollback) rollback=1; shift ;;
    --restart) restart=1; shift ;;
    -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || { echo "deploy.sh: no target given" >&2; exit 2; }
[ -n "$lb" ] || { echo "deploy.sh: --lb (the nginx host) is required" >&2; exit 2; }
[ $rollback = 1 ] || [ $restart = 1 ] || [ -n "$image" ] || { echo "deploy.sh: --image is required" >&2; exit 2; }

log() { echo "[$(date -u +%H:%M:%S)] deploy: $*"; }
docker_local() { ${DOCKER:-docker} "$@"; }

# Sets t_kind (ssh|local), t_dest, t_host (as nginx reaches it), t_ports, t_state, t_name.
parse_target() {
  local target=$1 dir
  if [[ $target == local:* ]]; then
    IFS=: read -r _ dir blue green <<<"$target"
    mkdir -p "$dir"
    t_kind=local t_dest="" t_host=127.0.0.1 t_state=$(cd "$dir" && pwd) t_ports="${blue:?} ${green:?}"
    t_name=$(basename "$t_state")
  else
    t_kind=ssh t_dest=$target t_host=${target#*@} t_state=${PICK_STATE:-/srv/pick} t_name=pick
    t_ports="${BLUE_PORT:-3000} ${GREEN_PORT:-3001}"
  fi
}

# deploy/server.sh on the target: piped over SSH (nothing to install there but Docker), or run here.
server() {
  local settings=("PICK_STATE=$t_state" "PICK_NAME=$t_name" "PORTS=$t_ports")
  local name
  for name in READY_TIMEOUT STOP_TIMEOUT NOFILE LOG_MAX_SIZE LOG_MAX_FILE ADMIN_PORT_OFFSET; do
    if [ -n "${!name:-}" ]; then settings+=("$name=${!name}"); fi
  done
  if [ "$t_kind" = local ]; then
    env "${settings[@]}" DOCKER="${DOCKER:-docker}" bash "$here/server.sh" "$@"
  else
    # shellcheck disable=SC2029 # expanded here on purpose: the remote side gets quoted literals
    ssh -o BatchMode=yes "$t_dest" "env $(printf '%q ' "${settings[@]}") bash -s -- $(printf '%q ' "$@")" <"$here/server.sh"
  fi
}

load_balancer() { # lb.sh arguments
  if [ "$lb" = local ]; then
    bash "$here/lb.sh" "$@"
  else
    # shellcheck disable=SC2029
    ssh -o BatchMode=yes "$lb" "sudo /usr/local/sbin/pick-upstream $(printf '%q ' "$@")"
  fi
}

# One server onto an image: start in the idle slot, gate, switch nginx, retire the old slot.
roll_to() { # target image
  local target=$1 want=$2 live old_slot="" old_port="" old_image="" new_slot="" new_port="" started=$SECONDS
  parse_target "$target"
  live=$(server live)
  if [ "$live" != none ]; then read -r old_slot old_port old_image <<<"$live"; fi
  if [ "$live" != none ] && [ "$old_image" = "$want" ] && [ $restart = 0 ]; then log "$target already runs $want"; return 0; fi
  log "$target: ${old_image:-nothing} -> $want"
  # Explicit checks: errexit does not apply inside a function called as an `if` condition.
  server pull "$want" || return 1
  read -r new_slot new_port < <(server start "$want" || true)
  if [ -z "${new_port:-}" ] || ! server ready "$new_slot"; then
    [ -z "${new_slot:-}" ] || server discard "$new_slot"
    log "$target: FAILED the readiness gate; nginx still sends it to ${old_slot:-nothing}"
    return 1
  fi
  if ! load_balancer switch "${old_port:+$t_host:$old_port}" "$t_host:$new_port"; then
    server discard "$new_slot"
    log "$target: nginx switch FAILED; still on ${old_image:-nothing}"
    return 1
  fi
  if [ "$live" != none ]; then server retire "$old_slot" || log "$target: stopping slot $old_slot failed: check it"; fi
  server commit "$new_slot" "$want" || return 1
  log "$target: ready on $want (slot $new_slot, port $new_port) in $((SECONDS - started))s"
}

if [ $restart = 1 ]; then
  for target in "${targets[@]}"; do
    parse_target "$target"
    read -r _ _ live_image <<<"$(server live)"
    [ -n "${live_image:-}" ] || { log "$target runs nothing"; exit 1; }
    roll_to "$target" "$live_image" || { log "$target: restart FAILED; the old container still serves"; exit 1; }
  done
  exit 0
fi

if [ $rollback = 1 ]; then
  for target in "${targets[@]}"; do
    parse_target "$target"
    previous=$(server previous)
    [ "$previous" != none ] || { log "$target has no previous image"; exit 1; }
    roll_to "$target" "$previous" || { log "$target: rollback to $previous FAILED: act by hand"; exit 1; }
  done
  exit 0
fi

started=$SECONDS
log "image $image to ${#targets[@]} server(s): ${targets[*]}"
for target in "${targets[@]}"; do parse_target "$target"; server pull "$image"; done
parse_target "${targets[0]}"
log "migrations (once, from ${targets[0]})"
server migrate "$image"

switched=()
for target in "${targets[@]}"; do
  parse_target "$target"
  read -r _ _ previous <<<"$(server live)"
  if roll_to "$target" "$image"; then
    switched+=("$target|${previous:-none}")
    continue
  fi
  for ((i = ${#switched[@]} - 1; i >= 0; i--)); do
    target=${switched[$i]%|*} previous=${switched[$i]#*|}
    if [ "$previous" = none ]; then log "$target: no previous image to go back to"; continue; fi
    log "$target: back to $previous"
    roll_to "$target" "$previous" || log "$target: rollback to $previous FAILED too: act by hand"
  done
  log "release $image FAILED; every server is back on its previous image"
  exit 1
done

if [ -n "${PRODUCTION_TAG:-}" ]; then
  docker_local image inspect "$image" >/dev/null 2>&1 || docker_local pull -q "$image" >/dev/null
  docker_local tag "$image" "$PRODUCTION_TAG"
  if [ "${PUSH_PRODUCTION:-0}" = 1 ]; then docker_local push -q "$PRODUCTION_TAG" >/dev/null; fi
  log "$PRODUCTION_TAG -> $image"
fi
log "release $image is live on every server ($((SECONDS - started))s)"
