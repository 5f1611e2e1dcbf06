#!/usr/bin/env bash
# Renders pick.conf.template into an nginx `http {}`-level file, from environment variables:
#   UPSTREAMS        required: app servers, "host:port host:port" (e.g. "10.0.0.11:3000 10.0.0.12:3000")
#   UPSTREAM_FILE    default /etc/nginx/pick-upstreams.conf: the upstream's server lines live in
#                    their own file, included by the site, because deploys switch them
#                    (deploy/lb.sh); `render.sh --upstreams` prints that file's first content
#   ADMIN_UPSTREAM_FILE default /etc/nginx/pick-admin-upstreams.conf: the admin processes' upstream
#                    (/api/admin/), derived from UPSTREAM_FILE by deploy/lb.sh (`lb.sh sync`)
#   SERVER_NAME      default _
#   TLS              default on: HTTPS on TLS_LISTEN with HSTS, and LISTEN only redirects to it (301);
#                    off: the site on plain HTTP on LISTEN (TLS terminated in front of nginx)
#   LISTEN           default 80            (e.g. "127.0.0.1:8080")
#   TLS_LISTEN       default 443           (e.g. "127.0.0.1:8443")
#   TLS_CERT         default /etc/letsencrypt/live/$SERVER_NAME/fullchain.pem (with SERVER_NAME=_:
#   TLS_KEY          /etc/nginx/tls/pick.crt and .key)  certificate chain and its key, PEM
#   HSTS_MAX_AGE     default 31536000      seconds (one year); 0 tells browsers to forget it
#   ACME_ROOT        default /var/www/letsencrypt  certbot's webroot (served on LISTEN)
#   BODY_LIMIT       default 1m            largest request body (the app's BODY_LIMIT_BYTES, 1 MiB)
#   UPLOAD_BODY_LIMIT default: the app's upload limit, UPLOAD_MAX_FILES x UPLOAD_MAX_BYTES (same
#                    defaults as config/env.ts: 10 x 10 MiB) + 1 MiB of multipart overhead = 101m
#   AUTH_RATE        default 10r/s         per client address on /api/auth/ (login, signup, refresh)...
#   AUTH_BURST       default 20            ...with bursts of this many answered at once; beyond: 429
#   CLAIM_RATE       default 10r/s         per client address for coupon claims (POST .../issue)...
#   CLAIM_BURST      default 20            ...and their burst
#   CONN_LIMIT       default 100           requests in progress per client address; beyond: 429
#   RETRY_AFTER      default 1             Retry-After (seconds) of nginx's 429
#   MAX_FAILS        default 3             passive health check: failures within FAIL_TIMEOUT...
#   FAIL_TIMEOUT     default 5s            ...that take a server out for FAIL_TIMEOUT
#   CONNECT_TIMEOUT  default 2s            short: a dead server is skipped quickly
#   READ_TIMEOUT     default 30s
#   ACCESS_LOG       default /var/log/nginx/pick.access.log
# Usage: UPSTREAMS="10.0.0.11:3000 10.0.0.12:3000" deploy/nginx/render.sh [OUTPUT]   (stdout without OUTPUT)
#        UPSTREAMS="..." deploy/nginx/render.sh --upstreams [OUTPUT]                   (the server lines)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

die() {
  echo "render.sh: $*" >&2
  exit 1
}

: "${UPSTREAMS:?UPSTREAMS is required, e.g. UPSTREAMS=\"10.0.0.11:3000 10.0.0.12:3000\"}"
max_fails=${MAX_FAILS:-3}
fail_timeout=${FAIL_TIMEOUT:-5s}

servers=""
for upstream in $UPSTREAMS; do
  if ! [[ $upstream =~ ^[A-Za-z0-9.-]+:[0-9]{1,5}$ ]]; then
    die "bad upstream '$upstream' (expected host:port)"
  fi
  servers+="    server $upstream max_fails=$max_fails fail_timeout=$fail_timeout;"$'\n'
done
[ -n "$servers" ] || die "UPSTREAMS is empty"
if [ "${1:-}" = --upstreams ]; then
  content="# Servers of upstream pick_app: written once by provisioning, then switched by deploys (deploy/lb.sh)."$'\n'$servers
  if [ $# -ge 2 ]; then printf '%s' "$content" >"$2.tmp" && mv "$2.tmp" "$2"; else printf '%s' "$content"; fi
  exit 0
fi

export SERVER_NAME=${SERVER_NAME:-_}
tls=${TLS:-on}
[[ $tls =~ ^(on|off)$ ]] || die "TLS must be on or off, not '$tls'"
export LISTEN=${LISTEN:-80}
export TLS_LISTEN=${TLS_LISTEN:-443}
if [ "$SERVER_NAME" = _ ]; then
  export TLS_CERT=${TLS_CERT:-/etc/nginx/tls/pick.crt} TLS_KEY=${TLS_KEY:-/etc/nginx/tls/pick.key}
else
  first_name=${SERVER_NAME%% *}
  export TLS_CERT=${TLS_CERT:-/etc/letsencrypt/live/$first_name/fullchain.pem} TLS_KEY=${TLS_KEY:-/etc/letsencrypt/live/$first_name/privkey.pem}
fi
export HSTS_MAX_AGE=${HSTS_MAX_AGE:-31536000}
export ACME_ROOT=${ACME_ROOT:-/var/www/letsencrypt}
# The redirect keeps a non-standard HTTPS port (the loopback tests); 443 is left implicit.
tls_port=${TLS_LISTEN##*:}
if [ "$tls_port" = 443 ]; then export HTTPS_PORT_SUFFIX=""; else export HTTPS_PORT_SUFFIX=":$tls_port"; fi
export BODY_LIMIT=${BODY_LIMIT:-1m}
upload_mib=$(( (${UPLOAD_MAX_FILES:-10} * ${UPLOAD_MAX_BYTES:-10485760} + 1048575) / 1048576 + 1 ))
export UPLOAD_BODY_LIMIT=${UPLOAD_BODY_LIMIT:-${upload_mib}m}
export AUTH_RATE=${AUTH_RATE:-10r/s} AUTH_BURST=${AUTH_BURST:-20}
export CLAIM_RATE=${CLAIM_RATE:-10r/s} CLAIM_BURST=${CLAIM_BURST:-20}
export CONN_LIMIT=${CONN_LIMIT:-100} RETRY_AFTER=${RETRY_AFTER:-1}
export CONNECT_TIMEOUT=${CONNECT_TIMEOUT:-2s}
export READ_TIMEOUT=${READ_TIMEOUT:-30s}
export ACCESS_LOG=${ACCESS_LOG:-/var/log/nginx/pick.access.log}
export UPSTREAM_FILE=${UPSTREAM_FILE:-/etc/nginx/pick-upstreams.conf}
export ADMIN_UPSTREAM_FILE=${ADMIN_UPSTREAM_FILE:-/etc/nginx/pick-admin-upstreams.conf}

for rate in "$AUTH_RATE" "$CLAIM_RATE"; do
  [[ $rate =~ ^[1-9][0-9]*r/[sm]$ ]] || die "bad rate '$rate' (expected e.g. 10r/s or 300r/m)"
done
for number in "$AUTH_BURST" "$CLAIM_BURST" "$CONN_LIMIT" "$RETRY_AFTER" "$HSTS_MAX_AGE"; do
  [[ $number =~ ^[0-9]+$ ]] || die "bad number '$number' (AUTH_BURST, CLAIM_BURST, CONN_LIMIT, RETRY_AFTER, HSTS_MAX_AGE)"
done
for size in "$BODY_LIMIT" "$UPLOAD_BODY_LIMIT"; do
  [[ $size =~ ^[1-9][0-9]*[kKmMgG]?$ ]] || die "bad body size '$size' (expected e.g. 1m)"
done
export PICK_RENDERED_FROM="deploy/nginx/pick.conf.template"

# Only our variables are substituted: nginx's own $variables stay as they are.
# shellcheck disable=SC2016 # literal ${VAR} names for envsubst
vars='${PICK_RENDERED_FROM} ${UPSTREAM_FILE} ${ADMIN_UPSTREAM_FILE} ${LISTEN} ${TLS_LISTEN} ${TLS_CERT} ${TLS_KEY} ${HSTS_MAX_AGE} ${ACME_ROOT}
${HTTPS_PORT_SUFFIX} ${SERVER_NAME} ${BODY_LIMIT} ${UPLOAD_BODY_LIMIT} ${AUTH_RATE} ${AUTH_BURST} ${CLAIM_RATE}
${CLAIM_BURST} ${CONN_LIMIT} ${RETRY_AFTER} ${CONNECT_TIMEOUT} ${READ_TIMEOUT} ${ACCESS_LOG}'
# Keep the sections of this mode (#@tls or #@plain ... #@end), drop the other's and the markers.
if [ "$tls" = on ]; then drop='#@plain'; else drop='#@tls'; fi
render() {
  awk -v drop="$drop" '$1 == drop { skip = 1; next } $1 == "#@end" { skip = 0; next } $1 ~ /^#@/ { next } !skip' \
    "$here/pick.conf.template" | envsubst "$vars"
}
if [ $# -ge 1 ]; then
  render >"$1.tmp"
  mv "$1.tmp" "$1"
else
  render
fi
