#!/usr/bin/env bash
# App server: Node 24, PM2 (boot start-up through systemd, pm2-logrotate), the `pick` user and
# the release layout deploy/deploy.sh expects (/srv/pick/{releases,shared,current}).
#   NODE_MAJOR=24          Node major version (NodeSource apt repository, signed)
#   PM2_VERSION=7.0.4      same version as package.json, so the CLI and the daemon match
#   APP_USER=pick  APP_BASE=/srv/pick
#   OPS_SSH_RANGE, NGINX_SERVERS, APP_PORT=3000   firewall (required; see security.sh)
# Run as root: sudo bash deploy/provision/app-server.sh   (idempotent: re-run to change a setting)
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
check_ubuntu

node_major=${NODE_MAJOR:-24}
pm2_version=${PM2_VERSION:-7.0.4}
app_user=${APP_USER:-pick}
app_base=${APP_BASE:-/srv/pick}

apt_install ca-certificates curl gnupg tar gzip

# Node from NodeSource's apt repository (signed, pinned major): no npm-registry binary download.
if ! node --version 2>/dev/null | grep -q "^v${node_major}\."; then
  install -d -m 755 /etc/apt/keyrings
  if [ ! -s /etc/apt/keyrings/nodesource.gpg ]; then
    curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor -o /etc/apt/keyrings/nodesource.gpg
  fi
  echo "deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_${node_major}.x nodistro main" |
    write_if_changed /etc/apt/sources.list.d/nodesource.list || true
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs
fi
node --version | grep -q "^v${node_major}\." || die "Node ${node_major} not installed: $(node --version)"

if ! id "$app_user" >/dev/null 2>&1; then
  log "creating user $app_user"
  useradd --system --create-home --shell /bin/bash "$app_user"
fi
app_home=$(getent passwd "$app_user" | cut -d: -f6)
install -d -o "$app_user" -g "$app_user" -m 755 "$app_base" "$app_base/releases"
install -d -o "$app_user" -g "$app_user" -m 700 "$app_base/shared"
if [ ! -f "$app_base/shared/.env" ]; then
  # Filled in by the operator (see deploy/README.md); never inside a release or the image.
  install -o "$app_user" -g "$app_user" -m 600 /dev/null "$app_base/shared/.env"
  printf '%s\n' 'NODE_ENV=production' 'PORT=3000' 'PICK_INSTANCES=max' '# DB_HOST=… DB_PASSWORD=… REDIS_HOST=… REDIS_PASSWORD=… JWT_ACCESS_SECRET=… (see .env.example)' >"$app_base/shared/.env"
  log "created $app_base/shared/.env: fill it in before the first deploy"
fi

if [ "$(pm2 --version 2>/dev/null | tail -1)" != "$pm2_version" ]; then
  log "installing pm2@$pm2_version"
  npm install -g --no-audit --no-fund "pm2@$pm2_version"
fi

# Boot start-up: a systemd unit that resurrects the processes saved by `pm2 save` (deploy.sh saves).
if [ ! -f "/etc/systemd/system/pm2-${app_user}.service" ]; then
  env PATH="$PATH:/usr/bin" pm2 startup systemd -u "$app_user" --hp "$app_home" >/dev/null
fi
if write_if_changed "/etc/systemd/system/pm2-${app_user}.service.d/limits.conf" <<'UNIT'; then
[Service]
LimitNOFILE=65535
UNIT
  systemctl daemon-reload
fi
systemctl enable "pm2-${app_user}" >/dev/null 2>&1

# Log rotation of PM2's logs (a PM2 module, in the user's daemon).
as_app() { sudo -u "$app_user" -H env PM2_HOME="$app_home/.pm2" "$@"; }
if ! as_app pm2 jlist 2>/dev/null | grep -q '"name":"pm2-logrotate"'; then
  as_app pm2 install pm2-logrotate >/dev/null
fi
as_app pm2 set pm2-logrotate:max_size 50M >/dev/null
as_app pm2 set pm2-logrotate:retain 14 >/dev/null
as_app pm2 set pm2-logrotate:compress true >/dev/null

sysctl_set 60-pick-app.conf <<'SYSCTL'
net.core.somaxconn = 4096
net.ipv4.tcp_max_syn_backlog = 4096
net.ipv4.ip_local_port_range = 10240 65000
SYSCTL

# Firewall: SSH from OPS_SSH_RANGE, the app port from NGINX_SERVERS only (deploy/provision/security.sh).
. "$(dirname "$0")/security.sh" && apply_ufw app

log "app server ready: node $(node --version), pm2 $pm2_version, user $app_user, releases in $app_base"
