#!/usr/bin/env bash
# Nginx load balancer: Debian's nginx, the Pick site rendered from deploy/nginx/pick.conf.template.
#   UPSTREAMS="10.0.0.11:3000 10.0.0.12:3000"  (required) and the other render.sh variables
#   OPS_SSH_RANGE   (required) CIDR that may reach SSH (firewall: see security.sh)
# Run as root: sudo UPSTREAMS="…" bash deploy/provision/nginx-server.sh   (re-run to add a server)
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
require_root
check_ubuntu
: "${UPSTREAMS:?UPSTREAMS is required, e.g. UPSTREAMS=\"10.0.0.11:3000 10.0.0.12:3000\"}"

apt_install nginx

# Flash traffic: more connections per worker than Debian's 768, and the files to hold them.
conf=/etc/nginx/nginx.conf
if grep -q 'worker_connections 768;' "$conf"; then
  sed -i 's/worker_connections 768;/worker_connections 8192;/' "$conf"
  log "worker_connections 8192"
fi
if ! grep -q '^worker_rlimit_nofile' "$conf"; then
  sed -i '1i worker_rlimit_nofile 65535;' "$conf"
fi

rendered=$(mktemp)
bash "$here/../nginx/render.sh" "$rendered"
changed=0
write_if_changed /etc/nginx/sites-available/pick.conf <"$rendered" && changed=1
rm -f "$rendered"
ln -sfn /etc/nginx/sites-available/pick.conf /etc/nginx/sites-enabled/pick.conf
if [ -e /etc/nginx/sites-enabled/default ]; then rm -f /etc/nginx/sites-enabled/default; changed=1; fi

nginx -t -q
systemctl enable nginx >/dev/null 2>&1
if ! systemctl is-active --quiet nginx; then
  systemctl start nginx
elif [ $changed = 1 ]; then
  systemctl reload nginx # graceful: old workers finish their requests
fi
# Firewall: 80/443 from anywhere, SSH from OPS_SSH_RANGE (deploy/provision/security.sh).
. "$here/security.sh" && apply_ufw nginx

log "nginx ready: upstreams $UPSTREAMS"
