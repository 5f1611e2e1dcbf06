#!/usr/bin/env bash
# The app server's side of a deploy: runs ON one app server (deploy.sh pipes it over SSH, so
# nothing but Docker has to be installed there), or locally with DOCKER pointing at podman
# (the image test). Every step is one call, so deploy.sh decides the order.
#
# Two slots per server, blue and green, on two host ports (PORTS, default "3000 3001"): the new
# release starts in the idle slot while the live one keeps serving, and nginx is switched from
# one port to the other (deploy/lb.sh) before the old container is stopped.
#
# State, in PICK_STATE (default /srv/pick; written by provision/app-server.sh):
#   .env            the server's settings and secrets (mode 600); passed with --env-file, never
#                   baked into an image
#   live            slot that nginx sends traffic to (blue|green)
#   current-image   image reference running in the live slot
#   previous-image  the one before it (what --rollback goes back to)
#
# Each slot also runs the admin process (ecosystem.config.js's PICK_ADMIN_PORT) on its port +
# ADMIN_PORT_OFFSET (100: 3100 and 3101), where nginx sends /api/admin/ (deploy/lb.sh derives that
# upstream with the same offset); ADMIN_PORT_OFFSET=0: none.
#
# Environment: DOCKER (docker), PICK_NAME (container name prefix, pick), PORTS, ADMIN_PORT_OFFSET, NOFILE (65535; "host"),
# STOP_TIMEOUT (s, 45: above PM2's kill_timeout of 15 s plus the drain), READY_TIMEOUT (s, 120),
# LOG_MAX_SIZE (50m), LOG_MAX_FILE (5).
#
#   server.sh pull IMAGE           pull unless present (tags are immutable: commit SHAs)
#   server.sh migrate IMAGE        migrations from IMAGE (a one-off container; MySQL named lock)
#   server.sh live                 "SLOT PORT IMAGE" of the live slot, or "none"
#   server.sh start IMAGE          start IMAGE in the idle slot; prints "SLOT PORT"
#   server.sh ready SLOT           readiness gate: running, every PM2 process online, 3 x 200 (and
#                                  from the admin process)
#   server.sh retire SLOT          graceful stop (drain) and removal of that slot's container
#   server.sh commit SLOT IMAGE    record SLOT as live with IMAGE (previous-image moves)
#   server.sh discard SLOT         remove a container that failed its gate (logs first)
set -euo pipefail

docker_cmd=${DOCKER:-docker}
name=${PICK_NAME:-pick}
state=${PICK_STATE:-/srv/pick}
read -r -a ports <<<"${PORTS:-3000 3001}"
stop_timeout=${STOP_TIMEOUT:-45}
admin_offset=${ADMIN_PORT_OFFSET:-100}
[[ $admin_offset =~ ^[0-9]{1,5}$ ]] || { echo "server.sh: ADMIN_PORT_OFFSET must be a number, not '$admin_offset'" >&2; exit 2; }
ready_timeout=${READY_TIMEOUT:-120}

log() { echo "[$(date -u +%H:%M:%S)] $(hostname -s) $name: $*" >&2; }
docker() { $docker_cmd "$@"; }
port_of() { case $1 in blue) echo "${ports[0]}" ;; green) echo "${ports[1]}" ;; *) echo "bad slot $1" >&2; exit 2 ;; esac; }
# The admin process's port of a slot port, or nothing when there is none.
admin_port_of() { if [ "$admin_offset" -gt 0 ]; then echo $(($1 + admin_offset)); fi; }
other() { if [ "$1" = blue ]; then echo green; else echo blue; fi; }
live_slot() { cat "$state/live" 2>/dev/null || echo none; }

command=${1:?command}
case $command in
  pull)
    image=${2:?IMAGE}
    if docker image inspect "$image" >/dev/null 2>&1; then log "has $image"; else log "pulling $image"; docker pull -q "$image" >/dev/null; fi
    ;;
  migrate)
    image=${2:?IMAGE}
    log "migrations from $image"
    docker run --rm --network host --env-file "$state/.env" --name "$name-migrate" "$image" node dist/src/cli/migrate.js up
    ;;
  live)
    slot=$(live_slot)
    if [ "$slot" = none ]; then echo none; else echo "$slot $(port_of "$slot") $(cat "$state/current-image")"; fi
    ;;
  start)
    image=${2:?IMAGE}
    slot=$(live_slot)
    if [ "$slot" = none ]; then slot=blue; else slot=$(other "$slot"); fi
    port=$(port_of "$slot")
    docker rm -f "$name-$slot" >/dev/null 2>&1 || true
    # NOFILE=host keeps the host's limits: for a test machine without CAP_SYS_RESOURCE, where any
    # explicit --ulimit makes podman set limits it may not (production sets them).
    if [ "${NOFILE:-}" = host ]; then ulimits=(--ulimit host); else ulimits=(--ulimit "nofile=${NOFILE:-65535}:${NOFILE:-65535}"); fi
    log "starting $image in slot $slot (port $port)"
    # --init: tini as PID 1 (reaps, forwards SIGTERM to pm2-runtime). Host network: nginx reaches
    # the slot's port directly, no NAT in the path. The restart policy brings the live container
    # back after a crash or a reboot; `docker stop` (a deploy) is not undone by it.
    docker run -d --name "$name-$slot" --init --restart unless-stopped \
      --network host --env-file "$state/.env" -e PORT="$port" -e PICK_ADMIN_PORT="$(admin_port_of "$port")" \
      --stop-timeout "$stop_timeout" \
      "${ulimits[@]}" \
      --log-driver json-file --log-opt max-size="${LOG_MAX_SIZE:-50m}" --log-opt max-file="${LOG_MAX_FILE:-5}" \
      --label pick.slot="$slot" \
      "$image" >/dev/null
    echo "$slot $port"
    ;;
  ready)
    slot=${2:?SLOT}
    port=$(port_of "$slot")
    admin_port=$(admin_port_of "$port")
    deadline=$((SECONDS + ready_timeout)) ok=0
    while [ $SECONDS -lt $deadline ]; do
      running=$(docker inspect -f '{{.State.Running}}' "$name-$slot" 2>/dev/null || echo false)
      workers=unchecked
      if [ "$running" = true ] && curl -fsS -m 3 "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 &&
        { [ -z "$admin_port" ] || curl -fsS -m 3 "http://127.0.0.1:$admin_port/health/ready" >/dev/null 2>&1; }; then
        ok=$((ok + 1))
      else
        ok=0
      fi
      if [ $ok -ge 3 ]; then
        # Every PM2 worker online (pm2 jlist inside the container), not only the one that answered.
        workers=$(docker exec "$name-$slot" node -e '
          const list = JSON.parse(require("child_process").execSync("pm2 jlist", { encoding: "utf8" }) || "[]");
          const online = list.filter((p) => p.pm2_env.status === "online").length;
          console.log(list.length > 0 && online === list.length ? "ok" : `${online}/${list.length} online`);' 2>/dev/null || echo unknown)
        if [ "$workers" = ok ]; then log "slot $slot ready on port $port"; exit 0; fi
        ok=0
      fi
      sleep 1
    done
    log "slot $slot NOT ready within ${ready_timeout}s (running=$running, workers=$workers)"
    exit 1
    ;;
  retire)
    slot=${2:?SLOT}
    started=$SECONDS
    # SIGTERM to pm2-runtime, which stops every worker gracefully; SIGKILL only after STOP_TIMEOUT.
    if docker inspect "$name-$slot" >/dev/null 2>&1; then
      docker stop -t "$stop_timeout" "$name-$slot" >/dev/null
      code=$(docker inspect -f '{{.State.ExitCode}}' "$name-$slot")
      docker rm "$name-$slot" >/dev/null
      log "slot $slot stopped in $((SECONDS - started))s (exit code $code) and removed"
    fi
    ;;
  commit)
    slot=${2:?SLOT} image=${3:?IMAGE}
    old=$(cat "$state/current-image" 2>/dev/null || true)
    if [ -n "$old" ] && [ "$old" != "$image" ]; then echo "$old" >"$state/previous-image"; fi
    echo "$image" >"$state/current-image"
    echo "$slot" >"$state/live.new" && mv "$state/live.new" "$state/live"
    log "live: slot $slot, $image (previous: $(cat "$state/previous-image" 2>/dev/null || echo none))"
    ;;
  discard)
    slot=${2:?SLOT}
    log "discarding slot $slot; its last log lines:"
    docker logs --tail 30 "$name-$slot" >&2 2>&1 || true
    # It never got traffic: no drain. `kill` first (podman's rm -f would wait the stop timeout).
    docker kill "$name-$slot" >/dev/null 2>&1 || true
    docker rm -f "$name-$slot" >/dev/null 2>&1 || true
    ;;
  previous) cat "$state/previous-image" 2>/dev/null || echo none ;;
  *) echo "server.sh: unknown command $command" >&2; exit 2 ;;
esac
