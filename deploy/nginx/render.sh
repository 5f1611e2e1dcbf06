#!/usr/bin/env bash
# Renders pick.conf.template into an nginx `http {}`-level file, from environment variables:
#   UPSTREAMS        required: app servers, "host:port host:port" (e.g. "10.0.0.11:3000 10.0.0.12:3000")
#   UPSTREAM_FILE    default /etc/nginx/pick-upstreams.conf: the upstream's server lines live in
#                    their own file, included by the site, because deploys switch them
#                    (deploy/lb.sh); `render.sh --upstreams` prints that file's first content
#   LISTEN           default 80            (e.g. "127.0.0.1:8080")
#   SERVER_NAME      default _
#   BODY_LIMIT       default: the app's upload limit, UPLOAD_MAX_FILES x UPLOAD_MAX_BYTES (same
#                    defaults as config/env.ts: 10 x 10 MiB) + 1 MiB of multipart overhead = 101m
#   MAX_FAILS        default 3             passive health check: failures within FAIL_TIMEOUT...
#   FAIL_TIMEOUT     default 5s            ...that take a server out for FAIL_TIMEOUT
#   CONNECT_TIMEOUT  default 2s            short: a dead server is skipped quickly
#   READ_TIMEOUT     default 30s
#   ACCESS_LOG       default /var/log/nginx/pick.access.log
# Usage: UPSTREAMS="10.0.0.11:3000 10.0.0.12:3000" deploy/nginx/render.sh [OUTPUT]   (stdout without OUTPUT)
#        UPSTREAMS="..." deploy/nginx/render.sh --upstreams [OUTPUT]                   (the server lines)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

: "${UPSTREAMS:?UPSTREAMS is required, e.g. UPSTREAMS=\"10.0.0.11:3000 10.0.0.12:3000\"}"
export LISTEN=${LISTEN:-80}
export SERVER_NAME=${SERVER_NAME:-_}
upload_mib=$(( (${UPLOAD_MAX_FILES:-10} * ${UPLOAD_MAX_BYTES:-10485760} + 1048575) / 1048576 + 1 ))
export BODY_LIMIT=${BODY_LIMIT:-${upload_mib}m}
export CONNECT_TIMEOUT=${CONNECT_TIMEOUT:-2s}
export READ_TIMEOUT=${READ_TIMEOUT:-30s}
export ACCESS_LOG=${ACCESS_LOG:-/var/log/nginx/pick.access.log}
export UPSTREAM_FILE=${UPSTREAM_FILE:-/etc/nginx/pick-upstreams.conf}
max_fails=${MAX_FAILS:-3}
fail_timeout=${FAIL_TIMEOUT:-5s}

servers=""
for upstream in $UPSTREAMS; do
  if ! [[ $upstream =~ ^[A-Za-z0-9.-]+:[0-9]{1,5}$ ]]; then
    echo "render.sh: bad upstream '$upstream' (expected host:port)" >&2
    exit 1
  fi
  servers+="    server $upstream max_fails=$max_fails fail_timeout=$fail_timeout;"$'\n'
done
[ -n "$servers" ] || { echo "render.sh: UPSTREAMS is empty" >&2; exit 1; }
if [ "${1:-}" = --upstreams ]; then
  content="# Servers of upstream pick_app: written once by provisioning, then switched by deploys (deploy/lb.sh)."$'\n'$servers
  if [ $# -ge 2 ]; then printf '%s' "$content" >"$2.tmp" && mv "$2.tmp" "$2"; else printf '%s' "$content"; fi
  exit 0
fi
export PICK_RENDERED_FROM="deploy/nginx/pick.conf.template"

# Only our variables are substituted: nginx's own $variables stay as they are.
# shellcheck disable=SC2016 # literal ${VAR} names for envsubst
vars='${PICK_RENDERED_FROM} ${UPSTREAM_FILE} ${LISTEN} ${SERVER_NAME} ${BODY_LIMIT} ${CONNECT_TIMEOUT} ${READ_TIMEOUT} ${ACCESS_LOG}'
if [ $# -ge 1 ]; then
  envsubst "$vars" <"$here/pick.conf.template" >"$1.tmp"
  mv "$1.tmp" "$1"
else
  envsubst "$vars" <"$here/pick.conf.template"
fi
