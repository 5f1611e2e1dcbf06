#!/usr/bin/env bash
# Redis >= 6.2 for claims, sessions, the Bull queue and broadcasts: AOF on (an accepted claim
# survives a restart), maxmemory-policy noeviction (evicting a queue key would lose jobs: Redis
# refuses writes instead, and the app answers 503), bound to the private address, ACL users
# (the app's limited to its prefix and channels, no CONFIG/FLUSHALL/FLUSHDB/KEYS/DEBUG), and a
# firewall that lets only the app servers in.
#   PRIVATE_ADDRESS (required)  this server's private address: Redis listens there (and on 127.0.0.1)
#   APP_SERVERS (required)      the app servers' private addresses
#   OPS_SSH_RANGE (required)    CIDR that may reach SSH
#   REDIS_PASSWORD (required)        the app's ACL user (REDIS_APP_USER=pick; the app's REDIS_USERNAME)
#   REDIS_ADMIN_PASSWORD (required)  user `admin`, for ops (redis-cli --user admin --askpass)
#   REDIS_PREFIX=pick  REDIS_MAXMEMORY=2gb
# Run as root: sudo PRIVATE_ADDRESS=… APP_SERVERS=… OPS_SSH_RANGE=… REDIS_PASSWORD=… REDIS_ADMIN_PASSWORD=… \
#   bash deploy/provision/redis-server.sh
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=deploy/provision/lib.sh
. "$here/lib.sh"
# shellcheck source=deploy/provision/security.sh
. "$here/security.sh"
require_root
check_ubuntu
: "${PRIVATE_ADDRESS:?PRIVATE_ADDRESS is required (Redis listens on the private interface only)}"
sec_check_address "$PRIVATE_ADDRESS" PRIVATE_ADDRESS
acl=$(render_redis_acl)

# ACL channel rules need Redis 6.2 (Ubuntu 20.04 ships 5.0, 22.04 6.0): Redis' own signed apt repository.
if ! redis-server --version 2>/dev/null | grep -Eq 'v=(6\.[2-9]|[7-9]\.)'; then
  apt_install ca-certificates curl gnupg lsb-release
  install -d -m 755 /etc/apt/keyrings
  if [ ! -s /etc/apt/keyrings/redis.gpg ]; then
    curl -fsSL https://packages.redis.io/gpg | gpg --dearmor -o /etc/apt/keyrings/redis.gpg
  fi
  echo "deb [signed-by=/etc/apt/keyrings/redis.gpg] https://packages.redis.io/deb $(lsb_release -cs) main" |
    write_if_changed /etc/apt/sources.list.d/redis.list || true
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server
fi

changed=0
write_if_changed /etc/redis/users.acl 640 <<<"$acl" && changed=1
chown redis:redis /etc/redis/users.acl
write_if_changed /etc/redis/pick.conf 640 <<CONF && changed=1
bind 127.0.0.1 ${PRIVATE_ADDRESS}
protected-mode yes
aclfile /etc/redis/users.acl
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
admin() { REDISCLI_AUTH=$REDIS_ADMIN_PASSWORD redis-cli --user admin --no-auth-warning "$@"; }
admin config get maxmemory-policy | grep -q noeviction || die "maxmemory-policy is not noeviction"
admin acl whoami | grep -q admin || die "the admin ACL user does not work"

apply_ufw redis
log "redis ready on ${PRIVATE_ADDRESS}: AOF on, noeviction, ACL user ${REDIS_APP_USER:-pick} limited to ${REDIS_PREFIX:-pick}:*"
