#!/usr/bin/env bash
# Nginx load balancer: Debian's nginx, the Pick site rendered from deploy/nginx/pick.conf.template,
# and what deploys need here: /usr/local/sbin/pick-upstream (deploy/lb.sh, switches an app
# server between its blue and green port) which the deploy user may run with sudo, nothing else.
#   UPSTREAMS="10.0.0.11:3000 10.0.0.12:3000"  (required) and the other render.sh variables;
#       written to /etc/nginx/pick-upstreams.conf only when that file does not exist yet: after
#       that, deploys own it (`pick-upstream list`; add or remove a server with pick-upstream)
#   TLS (on by default): the certificate and key (TLS_CERT, TLS_KEY; with SERVER_NAME=shop.example.com
#       certbot's /etc/letsencrypt/live/shop.example.com/...) must exist; the first run on a new
#       server: TLS=off, then `certbot certonly --webroot -w /var/www/letsencrypt -d shop.example.com`,
#       then again without TLS=off (certbot renews into the same paths; its hook: `systemctl reload nginx`)
#   DEPLOY_USER=deploy  DEPLOY_KEY="ssh-ed25519 AAAA… ci-deploy"
#   OPS_SSH_RANGE   (required) CIDR that may reach SSH (firewall: see security.sh)
# Run as root: sudo UPSTREAMS="…" DEPLOY_KEY="…" bash deploy/provision/nginx-server.sh
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=deploy/provision/lib.sh
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

export UPSTREAM_FILE=/etc/nginx/pick-upstreams.conf ADMIN_UPSTREAM_FILE=/etc/nginx/pick-admin-upstreams.conf
changed=0
if [ ! -f "$UPSTREAM_FILE" ]; then
  bash "$here/../nginx/render.sh" --upstreams "$UPSTREAM_FILE"
  changed=1
fi
# The admin processes' upstream (/api/admin/), derived from it as every deploy does.
admin_before=$(cat "$ADMIN_UPSTREAM_FILE" 2>/dev/null || true)
bash "$here/../lb.sh" sync
[ "$admin_before" = "$(cat "$ADMIN_UPSTREAM_FILE")" ] || changed=1
rendered=$(mktemp)
bash "$here/../nginx/render.sh" "$rendered"
# TLS on: refuse to install a site whose certificate is missing (nginx would not start).
while read -r pem; do
  [ -r "$pem" ] || { rm -f "$rendered"; die "TLS: $pem does not exist (set TLS_CERT/TLS_KEY, or TLS=off to get a certificate first)"; }
done < <(sed -n 's/^ *ssl_certificate\(_key\)\{0,1\} \([^;]*\);$/\2/p' "$rendered")
mkdir -p "${ACME_ROOT:-/var/www/letsencrypt}"
write_if_changed /etc/nginx/sites-available/pick.conf <"$rendered" && changed=1
rm -f "$rendered"

# Deploys switch the upstream through this one command (graceful reload; see deploy/lb.sh).
write_if_changed /usr/local/sbin/pick-upstream 755 <"$here/../lb.sh" || true
deploy_user=${DEPLOY_USER:-deploy}
ensure_deploy_user "$deploy_user"
sudoers=$(mktemp)
echo "$deploy_user ALL=(root) NOPASSWD: /usr/local/sbin/pick-upstream" >"$sudoers"
visudo -cqf "$sudoers" || die "sudoers line refused"
write_if_changed /etc/sudoers.d/pick-upstream 440 <"$sudoers" || true
rm -f "$sudoers"
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
# shellcheck source=deploy/provision/security.sh
. "$here/security.sh" && apply_ufw nginx

log "nginx ready: upstreams $(/usr/local/sbin/pick-upstream list | tr '\n' ' ')"
