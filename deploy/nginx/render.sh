#!/usr/bin/env bash
# Renders pick.conf.template into an nginx `http {}`-level file, from environment variables:
#   UPSTREAMS        required: app servers, "host:port host:port" (e.g. "10.0.0.11:3000 10.0.0.12:3000")
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
export PICK_UPSTREAM_SERVERS=${servers%$'\n'}
export PICK_RENDERED_FROM="deploy/nginx/pick.conf.template, UPSTREAMS=\"$UPSTREAMS\""

# Only our variables are substituted: nginx's own $variables stay as they are.
# shellcheck disable=SC2016 # literal ${VAR} names for envsubst
vars='${PICK_RENDERED_FROM} ${PICK_UPSTREAM_SERVERS} ${LISTEN} ${SERVER_NAME} ${BODY_LIMIT} ${CONNECT_TIMEOUT} ${READ_TIMEOUT} ${ACCESS_LOG}'
if [ $# -ge 1 ]; then
  envsubst "$vars" <"$here/pick.conf.template" >"$1.tmp"
  mv "$1.tmp" "$1"
else
  envsubst "$vars" <"$here/pick.conf.template"
fi
