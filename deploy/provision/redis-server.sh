#!/usr/bin/env bash
# Redis for claims, refresh tokens, the Bull queue and broadcasts: AOF on (an accepted claim
# survives a restart), maxmemory-policy noeviction (evicting a queue key would lose jobs: Redis
# refuses writes instead, and the app answers 503).
#   REDIS_PASSWORD (required)  REDIS_MAXMEMORY=2gb  BIND_ADDRESS=0.0.0.0
# Run as root: sudo REDIS_PASSWORD=… bash deploy/provision/redis-server.sh
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
check_ubuntu
: "${REDIS_PASSWORD:?REDIS_PASSWORD is required}"

apt_install redis-server

changed=0
write_if_changed /etc/redis/pick.conf 640 <<CONF && changed=1
bind ${BIND_ADDRESS:-0.0.0.0}
protected-mode yes
requirepass ${REDIS_PASSWORD}
appendonly yes
appendfsync everysec
maxmemory ${REDIS_MAXMEMORY:-2gb}
maxmemory-policy noeviction
tcp-backlog 4096
supervised systemd
CONF
chown redis:redis /etc/redis/pick.conf
# Our file is included last, so its settings win over the packaged redis.conf.
if ! grep -q '^include /etc/redis/pick.conf' /etc/redis/redis.conf; then
  echo 'include /etc/redis/pick.conf' >>/etc/redis/redis.conf
  changed=1
fi

# Redis' own advice for background saves and AOF rewrites.
sysctl_set 60-pick-redis.conf <<'SYSCTL'
vm.overcommit_memory = 1
net.core.somaxconn = 4096
SYSCTL
if [ -w /sys/kernel/mm/transparent_hugepage/enabled ]; then echo never >/sys/kernel/mm/transparent_hugepage/enabled; fi

systemctl enable redis-server >/dev/null 2>&1
if [ $changed = 1 ] || ! systemctl is-active --quiet redis-server; then systemctl restart redis-server; fi
REDISCLI_AUTH=$REDIS_PASSWORD redis-cli config get maxmemory-policy | grep -q noeviction || die "maxmemory-policy is not noeviction"
log "redis ready: AOF on, noeviction"
