#!/usr/bin/env bash
# App server: Docker Engine (Ubuntu's docker.io) with log rotation, and the deploy user CI logs
# in as. No Node, no PM2 on the host: the release is the image (Node 24 and the PM2 cluster are
# inside it), run by deploy/deploy.sh with `docker run` (deploy/server.sh).
#   DEPLOY_USER=deploy     SSH login of CI (deploy.sh); member of the docker group
#   DEPLOY_KEY="ssh-ed25519 AAAA… ci-deploy"   public half of the SSH_PRIVATE_KEY secret
#   PICK_STATE=/srv/pick   holds .env (the server's settings and secrets) and the deploy state
#   LOG_MAX_SIZE=50m LOG_MAX_FILE=5   Docker's json-file rotation, per container
#   REGISTRY_USER / REGISTRY_TOKEN    optional: `docker login` for a private repository
#   OPS_SSH_RANGE, NGINX_SERVERS   firewall (required; see security.sh); the app's blue and green
#       ports (APP_PORT, default 3000, and APP_PORT+1) and their admin processes' (+100) open to
#       NGINX_SERVERS only
#   MONITORING_SERVERS   optional: Prometheus, let in to the workers' metrics ports (OPS_PORT, 9464, and up)
# Run as root: sudo DEPLOY_KEY="…" bash deploy/provision/app-server.sh   (idempotent: re-run to change a setting)
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=deploy/provision/lib.sh
. "$(dirname "$0")/lib.sh"
require_root
check_ubuntu

deploy_user=${DEPLOY_USER:-deploy}
state=${PICK_STATE:-/srv/pick}

apt_install docker.io curl ca-certificates

# Defaults for every container: rotated json-file logs (docker logs keeps working), live-restore
# (an upgrade of the docker package restarts dockerd, not the app), and the open-file limit the
# workers need under flash traffic. deploy/server.sh also passes them explicitly per container.
if write_if_changed /etc/docker/daemon.json <<JSON; then
{
  "log-driver": "json-file",
  "log-opts": { "max-size": "${LOG_MAX_SIZE:-50m}", "max-file": "${LOG_MAX_FILE:-5}" },
  "live-restore": true,
  "default-ulimits": { "nofile": { "Name": "nofile", "Soft": 65535, "Hard": 65535 } }
}
JSON
  systemctl restart docker
fi
systemctl enable --now docker >/dev/null 2>&1

# The docker group is root-equivalent on this host: only the deploy user is in it.
ensure_deploy_user "$deploy_user"
if ! id -nG "$deploy_user" | tr ' ' '\n' | grep -qx docker; then
  usermod -aG docker "$deploy_user"
  log "$deploy_user added to the docker group"
fi
if [ -n "${REGISTRY_USER:-}" ] && [ -n "${REGISTRY_TOKEN:-}" ]; then
  printf '%s' "$REGISTRY_TOKEN" | sudo -u "$deploy_user" -H docker login -u "$REGISTRY_USER" --password-stdin >/dev/null
  log "$deploy_user logged in to the registry as $REGISTRY_USER"
fi

install -d -o "$deploy_user" -g "$deploy_user" -m 700 "$state"
if [ ! -f "$state/.env" ]; then
  # Filled in by the operator (deploy/README.md); passed to containers with --env-file, never in an image.
  install -o "$deploy_user" -g "$deploy_user" -m 600 /dev/null "$state/.env"
  printf '%s\n' 'NODE_ENV=production' 'PICK_INSTANCES=max' \
    '# DB_HOST=… DB_PASSWORD=… REDIS_HOST=… REDIS_PASSWORD=… JWT_ACCESS_SECRET=… OPS_TOKEN=… (see .env.example)' \
    '# TRUSTED_PROXIES=<the nginx server private address> (only its X-Forwarded-For is believed)' >"$state/.env"
  log "created $state/.env: fill it in before the first deploy"
fi

# A server provisioned for the old host-Node release: its PM2 unit would hold port 3000.
if systemctl list-unit-files 'pm2-*.service' 2>/dev/null | grep -q '^pm2-'; then
  log "disabling the old PM2 boot unit(s): the app now runs in containers"
  systemctl disable --now 'pm2-*.service' >/dev/null 2>&1 || true
fi

sysctl_set 60-pick-app.conf <<'SYSCTL'
net.core.somaxconn = 4096
net.ipv4.tcp_max_syn_backlog = 4096
net.ipv4.ip_local_port_range = 10240 65000
SYSCTL

# Firewall: SSH from OPS_SSH_RANGE, the app's ports from NGINX_SERVERS only (deploy/provision/security.sh).
# shellcheck source=deploy/provision/security.sh
. "$(dirname "$0")/security.sh" && apply_ufw app

log "app server ready: $(docker --version), deploy user $deploy_user, state in $state"
