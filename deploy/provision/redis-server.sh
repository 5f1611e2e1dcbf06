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
# Redis with replicas and automatic failover (deploy/README.md, "Redis with replicas and Sentinel"): run
# this on every data node (primary first), then redis-sentinel.sh on the three sentinel hosts.
#   REDIS_ROLE            unset: a single Redis, no replicas (the app then needs REDIS_CLAIM_REPLICAS=0).
#                         primary | replica: a node of the replicated set. Applied on the node's FIRST run
#                         only; after that the role is Sentinel's (a failover promotes a replica and
#                         demotes the old primary, and Redis records it in /etc/redis/redis.conf), and
#                         a re-run never changes it.
#   REDIS_PRIMARY_ADDRESS (replica) the primary to replicate from at first: the current one
#                         (redis-cli -p 26379 … sentinel get-master-addr-by-name pick once sentinels run)
#   REDIS_REPLICA_PRIORITY=100  the same on every node (deploy/README.md: why not 0 on the MySQL host)
#   REDIS_PEERS (required with a role)  private addresses of every Redis and sentinel host (firewall)
#   REDIS_REPLICATION_PASSWORD (required with a role)  user `replica`, and every node's masterauth
#   SENTINEL_AUTH_PASSWORD (required with a role)      user `sentinel`, what the sentinels log in as
#   REDIS_MIN_REPLICAS=1  REDIS_MIN_REPLICAS_MAX_LAG=3  REDIS_REPL_BACKLOG=64mb  (see redis-ha.sh)
# Run as root: sudo PRIVATE_ADDRESS=… APP_SERVERS=… OPS_SSH_RANGE=… REDIS_PASSWORD=… REDIS_ADMIN_PASSWORD=… \
#   bash deploy/provision/redis-server.sh
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=deploy/provision/lib.sh
. "$here/lib.sh"
# shellcheck source=deploy/provision/security.sh
. "$here/security.sh"
# shellcheck source=deploy/provision/redis-ha.sh
. "$here/redis-ha.sh"
require_root
check_ubuntu
: "${PRIVATE_ADDRESS:?PRIVATE_ADDRESS is required (Redis listens on the private interface only)}"
sec_check_address "$PRIVATE_ADDRESS" PRIVATE_ADDRESS
role=${REDIS_ROLE:-}
replication=""
case "$role" in
  "") ;;
  primary | replica)
    : "${REDIS_PEERS:?REDIS_PEERS is required with REDIS_ROLE (every Redis and sentinel host)}"
    : "${SENTINEL_AUTH_PASSWORD:?SENTINEL_AUTH_PASSWORD is required with REDIS_ROLE (the sentinels log in with it)}"
    replication=$(render_redis_replication)
    if [ "$role" = replica ]; then
      : "${REDIS_PRIMARY_ADDRESS:?REDIS_PRIMARY_ADDRESS is required for a replica (the current primary)}"
      sec_check_address "$REDIS_PRIMARY_ADDRESS" REDIS_PRIMARY_ADDRESS
      [ "$REDIS_PRIMARY_ADDRESS" != "$PRIVATE_ADDRESS" ] || die "REDIS_PRIMARY_ADDRESS is this host"
    fi
    ;;
  *) die "REDIS_ROLE: primary, replica or unset (a single Redis), not '$role'" ;;
esac
acl=$(render_redis_acl)

install_redis_package redis-server

conf=/etc/redis/pick.conf
old_conf=$(mktemp)
cp "$conf" "$old_conf" 2>/dev/null || true
acl_changed=0
write_if_changed /etc/redis/users.acl 640 <<<"$acl" && acl_changed=1
chown redis:redis /etc/redis/users.acl
write_if_changed "$conf" 640 <<CONF || true
bind 127.0.0.1 ${PRIVATE_ADDRESS}
protected-mode yes
aclfile /etc/redis/users.acl
appendonly yes
appendfsync everysec
maxmemory ${REDIS_MAXMEMORY:-2gb}
maxmemory-policy noeviction
tcp-backlog 4096
supervised systemd
${replication}
CONF
chown redis:redis "$conf"

# Our file is included last, so its settings win over the packaged redis.conf and over what CONFIG
# REWRITE (Sentinel, at each role change) writes there (redis-ha.sh ha_include_last).
main=/etc/redis/redis.conf
if [ "$(grep -v '^[[:space:]]*$' "$main" | tail -n 1)" != "include $conf" ]; then
  moved=$(ha_include_last "$conf" <"$main")
  write_if_changed "$main" 640 <<<"$moved" || true
  chown redis:redis "$main"
fi

# Redis' own advice for background saves and AOF rewrites.
sysctl_set 60-pick-redis.conf <<'SYSCTL'
vm.overcommit_memory = 1
net.core.somaxconn = 4096
SYSCTL
if [ -w /sys/kernel/mm/transparent_hugepage/enabled ]; then echo never >/sys/kernel/mm/transparent_hugepage/enabled; fi

admin() { REDISCLI_AUTH=$REDIS_ADMIN_PASSWORD redis-cli --user admin --no-auth-warning "$@"; }
systemctl enable redis-server >/dev/null 2>&1
# A running node takes what it can at once (CONFIG SET, ACL LOAD): restarting the primary would cost a
# failover or, at best, a second of refused claims and a reconciliation of every live coupon. Only a
# setting Redis cannot change live (bind, aclfile, a removed line…) restarts it.
restart=0
if ! systemctl is-active --quiet redis-server || [ "$(admin ping 2>&1)" != PONG ]; then
  restart=1
elif ! cmp -s "$old_conf" "$conf"; then
  if live=$(ha_live_settings "$old_conf" "$conf"); then
    while read -r setting; do
      # On stdin, so that masterauth never shows in the process list.
      [ -z "$setting" ] || [ "$(admin <<<"$setting")" = OK ] || restart=1
    done <<<"$live"
  else
    restart=1
  fi
  [ $restart = 1 ] || log "pick.conf applied live (CONFIG SET)"
fi
rm -f "$old_conf"
if [ $restart = 0 ] && [ $acl_changed = 1 ]; then
  # All or nothing: a file Redis refuses leaves the users it has. (A new admin password cannot log in
  # before the load: then restart.)
  if [ "$(admin acl load 2>&1)" = OK ]; then log "users.acl loaded live (ACL LOAD)"; else restart=1; fi
fi
if [ $restart = 1 ]; then systemctl restart redis-server; fi
for _ in $(seq 1 30); do
  [ "$(admin ping 2>&1)" = PONG ] && break
  sleep 1
done
admin config get maxmemory-policy | grep -q noeviction || die "maxmemory-policy is not noeviction"
admin acl whoami | grep -q admin || die "the admin ACL user does not work"

if [ -n "$role" ]; then
  # The role, once: a node that is set up for the first time. Its marker says when and what; remove it
  # only to provision the node again from scratch.
  marker=/etc/redis/pick-role
  if [ ! -f "$marker" ]; then
    if [ "$role" = replica ]; then
      # A replica's data is replaced by its primary's: refuse on a node that holds any (the current
      # primary given the wrong role would be emptied, and its replicas with it).
      if admin info keyspace | grep -q '^db[0-9]*:'; then
        die "this node holds keys; a replica's data is replaced by its primary's (wrong host? REDIS_ROLE=primary?)"
      fi
      [ "$(admin replicaof "$REDIS_PRIMARY_ADDRESS" "${REDIS_PRIMARY_PORT:-6379}")" = OK ] || die "REPLICAOF refused"
      # As Sentinel does it: Redis writes `replicaof` into redis.conf itself, above our include.
      [ "$(admin config rewrite)" = OK ] || die "CONFIG REWRITE failed (can redis write /etc/redis?)"
    fi
    echo "REDIS_ROLE=$role ${REDIS_PRIMARY_ADDRESS:+of $REDIS_PRIMARY_ADDRESS }set $(date -u +%FT%TZ); Sentinel owns the role since" |
      write_if_changed "$marker" 644 || true
  else
    log "the role was set on the first run ($(cat "$marker")); REDIS_ROLE=$role is not applied again"
  fi
  info=$(admin info replication | tr -d '\r')
  if grep -q '^role:slave' <<<"$info"; then
    # Up within 30 s, or say why not (the primary's firewall must list this host in REDIS_PEERS, and
    # it needs the same REDIS_REPLICATION_PASSWORD).
    for _ in $(seq 1 30); do
      grep -q '^master_link_status:up' <<<"$info" && break
      sleep 1
      info=$(admin info replication | tr -d '\r')
    done
    grep -q '^master_link_status:up' <<<"$info" ||
      die "not replicating from $(sed -n 's/^master_host://p' <<<"$info"): see /var/log/redis/redis-server.log (firewall: REDIS_PEERS on the primary; REDIS_REPLICATION_PASSWORD)"
    log "replica of $(sed -n 's/^master_host://p' <<<"$info"), link up, priority ${REDIS_REPLICA_PRIORITY:-100}"
  else
    log "primary with $(sed -n 's/^connected_slaves://p' <<<"$info") replica(s); writes need ${REDIS_MIN_REPLICAS:-1} within ${REDIS_MIN_REPLICAS_MAX_LAG:-3} s"
  fi
fi

apply_ufw redis
log "redis ready on ${PRIVATE_ADDRESS}: AOF on, noeviction, ACL user ${REDIS_APP_USER:-pick} limited to ${REDIS_PREFIX:-pick}:*"
