#!/usr/bin/env bash
# The load balancer's side of a deploy: changes which app-server ports nginx sends traffic to.
# Installed by provision/nginx-server.sh as /usr/local/sbin/pick-upstream (the deploy user may
# run it with sudo, nothing else); deploy.sh calls it over SSH, the image test runs it locally.
#
#   lb.sh switch OLD NEW   replace upstream OLD (host:port; "" or "none" to add) by NEW, reload
#   lb.sh remove OLD       take OLD out of the upstream, reload
#   lb.sh list             the upstream's servers
#   lb.sh sync             write the admin upstream from the upstream (no reload; provisioning)
#
# The admin upstream (ADMIN_UPSTREAM_FILE, upstream pick_admin: /api/admin/) is derived from the
# upstream at every change, never edited: for each app server host:port, its admin process on
# host:(port + ADMIN_PORT_OFFSET) (ecosystem.config.js's PICK_ADMIN_PORT, which deploy/server.sh sets
# with the same offset), and host:port itself as a backup, so /api/admin/ is answered by the workers
# while admin processes are down or not there (an older release). ADMIN_PORT_OFFSET=0: no admin
# processes, pick_admin is the upstream itself.
#
# How a server stops getting new requests: the upstream lives in its own file (UPSTREAM_FILE,
# included by the site rendered from pick.conf.template); the line is changed, `nginx -t`, then
# `nginx -s reload`. New nginx workers start with the new list; old workers stop accepting,
# finish the requests they have, close their keep-alive connections and exit. This script
# returns only once they are gone (bounded by DRAIN_TIMEOUT), so when deploy.sh stops the old
# container, no nginx connection to it is left, and nothing reaches a draining server: no GET
# and no POST fails, nothing needs a retry. (A refused connection would be retried by nginx even
# for a POST, but a request already written to a pooled keep-alive connection of a closing
# server would not be: that is why the switch happens here, before the container is stopped.)
#
# Environment: UPSTREAM_FILE (/etc/nginx/pick-upstreams.conf), ADMIN_UPSTREAM_FILE
# (/etc/nginx/pick-admin-upstreams.conf), ADMIN_PORT_OFFSET (100), NGINX ("nginx"; the test adds
# -p/-c), NGINX_PID (/run/nginx.pid), DRAIN_TIMEOUT (s, 60), SERVER_OPTIONS for added lines
# ("max_fails=3 fail_timeout=5s").
set -euo pipefail

upstream_file=${UPSTREAM_FILE:-/etc/nginx/pick-upstreams.conf}
admin_file=${ADMIN_UPSTREAM_FILE:-/etc/nginx/pick-admin-upstreams.conf}
admin_offset=${ADMIN_PORT_OFFSET:-100}
[[ $admin_offset =~ ^[0-9]{1,5}$ ]] || { echo "lb.sh: ADMIN_PORT_OFFSET must be a number, not '$admin_offset'" >&2; exit 2; }
read -r -a nginx_cmd <<<"${NGINX:-nginx}"
pid_file=${NGINX_PID:-/run/nginx.pid}
drain_timeout=${DRAIN_TIMEOUT:-60}

log() { echo "[$(date -u +%H:%M:%S)] lb: $*" >&2; }
valid() { [[ $1 =~ ^[A-Za-z0-9.-]+:[0-9]{1,5}$ ]] || { echo "lb.sh: bad upstream '$1' (host:port)" >&2; exit 2; }; }

# Workers of the old generation still finishing their requests after a reload.
old_workers() {
  local master
  master=$(cat "$pid_file" 2>/dev/null) || { echo 0; return; }
  pgrep -P "$master" -f 'worker process is shutting down' | wc -l
}

# The admin upstream's content, from the upstream's content on stdin.
admin_upstream() {
  local address options port
  echo "# Servers of upstream pick_admin: derived from $upstream_file by deploy/lb.sh at every change; never edit."
  sed -n 's/^ *server \([^ ;]*\) *\([^;]*\);.*/\1 \2/p' | while read -r address options; do
    port=${address##*:}
    if [ "$admin_offset" -gt 0 ]; then
      echo "    server ${address%:*}:$((port + admin_offset))${options:+ $options};"
      echo "    server $address${options:+ $options} backup;"
    else
      echo "    server $address${options:+ $options};"
    fi
  done
}

# Writes the admin upstream from the upstream as it is (atomically).
sync_admin() {
  admin_upstream <"$upstream_file" >"$admin_file.new"
  mv "$admin_file.new" "$admin_file"
}

apply() { # new file content on stdin
  local tmp=$upstream_file.new started=$SECONDS
  cat >"$tmp"
  cp -p "$upstream_file" "$upstream_file.bak"
  if [ -f "$admin_file" ]; then cp -p "$admin_file" "$admin_file.bak"; else : >"$admin_file.bak"; fi
  mv "$tmp" "$upstream_file"
  sync_admin
  if ! "${nginx_cmd[@]}" -t -q 2>/dev/null; then
    mv "$upstream_file.bak" "$upstream_file"
    mv "$admin_file.bak" "$admin_file"
    echo "lb.sh: nginx -t refused the new upstream; left unchanged" >&2
    exit 1
  fi
  "${nginx_cmd[@]}" -s reload
  # The reload is asynchronous: give the master a moment to start the new workers.
  sleep 1
  while [ "$(old_workers)" -gt 0 ] && [ $((SECONDS - started)) -lt "$drain_timeout" ]; do sleep 0.2; done
  log "nginx reloaded; old workers gone after $((SECONDS - started))s ($(old_workers) left)"
}

command=${1:?command}
case $command in
  switch)
    old=${2:-none} new=${3:?NEW}
    valid "$new"
    if [ "$old" = none ] || [ -z "$old" ] || ! grep -q "^ *server $old " "$upstream_file"; then
      if grep -q "^ *server $new " "$upstream_file"; then log "$new already in the upstream"; exit 0; fi
      log "adding $new"
      { cat "$upstream_file"; echo "    server $new ${SERVER_OPTIONS:-max_fails=3 fail_timeout=5s};"; } | apply
    else
      valid "$old"
      log "switching $old -> $new"
      sed "s/^\( *server \)$old /\1$new /" "$upstream_file" | apply
    fi
    ;;
  remove)
    old=${2:?OLD}
    valid "$old"
    others=$(grep "^ *server " "$upstream_file" | grep -vc "^ *server $old " || true)
    [ "$others" -gt 0 ] || { echo "lb.sh: $old is the last server" >&2; exit 1; }
    log "removing $old"
    grep -v "^ *server $old " "$upstream_file" | apply
    ;;
  list) sed -n 's/^ *server \([^ ;]*\).*/\1/p' "$upstream_file" ;;
  sync) sync_admin ;;
  *) echo "lb.sh: unknown command $command" >&2; exit 2 ;;
esac
