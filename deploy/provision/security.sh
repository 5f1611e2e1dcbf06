#!/usr/bin/env bash
# Renders the security settings of each tier; the provisioning scripts apply them, and
# deploy/provision/security.e2e.ts applies them to a throwaway Redis and MySQL user to prove them.
# Print without applying anything (no root needed):
#   bash deploy/provision/security.sh ufw app|nginx|mysql|redis|sentinel
#   bash deploy/provision/security.sh redis-acl
#   bash deploy/provision/security.sh sentinel-acl
#   bash deploy/provision/security.sh mysql-grants
# Settings (environment):
#   OPS_SSH_RANGE   CIDR that may reach SSH on every server (required for ufw), e.g. 203.0.113.0/24
#   APP_SERVERS     private addresses of the app servers, e.g. "10.0.0.11 10.0.0.12" (required for ufw)
#   NGINX_SERVERS   private address(es) of the Nginx load balancer(s) (required for ufw app)
#   MONITORING_SERVERS  optional: address(es) of Prometheus, let in to every worker's metrics port
#                   (ufw app: OPS_PORT=9464 .. OPS_PORT+OPS_WORKERS-1, OPS_WORKERS=32; src/metrics/ops-server.ts)
#   APP_PORT=3000  ADMIN_PORT_OFFSET=100 (the slots' admin processes, deploy/server.sh)  MYSQL_PORT=3306  REDIS_PORT=6379
#   REDIS_PREFIX=pick  REDIS_APP_USER=pick  REDIS_PASSWORD (required for redis-acl)
#   REDIS_ADMIN_PASSWORD (required for redis-acl and sentinel-acl): the `admin` user, for ops with redis-cli
#   Redis with replicas and Sentinel (deploy/provision/redis-sentinel.sh, deploy/README.md "Redis with replicas"):
#   REDIS_PEERS     private addresses of every Redis and sentinel host (ufw redis, sentinel: replication
#                   and the sentinels reach every node, and the sentinels each other)
#   SENTINEL_PORT=26379
#   REDIS_REPLICATION_PASSWORD  redis-acl: user `replica` (PSYNC, REPLCONF, PING: what a replica sends its primary)
#   SENTINEL_AUTH_PASSWORD      redis-acl: user `sentinel` (what Sentinel sends a data node; no key)
#   REDIS_SENTINEL_USERNAME=pick  REDIS_SENTINEL_PASSWORD  sentinel-acl: the app's user on the sentinels
#   SENTINEL_PEER_PASSWORD      sentinel-acl: user `sentinel-peer`, the sentinels' logins to each other
#   DB_NAME=pick  DB_USER=pick  DB_PASSWORD  DB_MIGRATION_USER=pick_migrate  DB_MIGRATION_PASSWORD
#   APP_HOSTS       MySQL host patterns the two users may connect from (default: APP_SERVERS)
#   BROADCAST_CHANNELS  the app's broadcast transport channels (default: the events in
#                   src/common/broadcast.ts; the e2e test checks the two lists match)

sec_die() { echo "security.sh: $*" >&2; exit 1; }

# An IPv4 address, or a CIDR range of them.
sec_check_address() { # value name
  [[ $1 =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}(/[0-9]{1,2})?$ ]] || sec_die "$2: not an IPv4 address or CIDR range: '$1'"
}

# ufw commands for one tier, one per line: default deny in, SSH from the ops range only, and the
# tier's own port only from the tier that talks to it.
render_ufw_rules() { # tier
  local tier=$1 address
  : "${OPS_SSH_RANGE:?OPS_SSH_RANGE is required (CIDR allowed to reach SSH)}"
  sec_check_address "$OPS_SSH_RANGE" OPS_SSH_RANGE
  echo "ufw default deny incoming"
  echo "ufw default allow outgoing"
  echo "ufw allow proto tcp from $OPS_SSH_RANGE to any port 22 comment 'ssh from ops'"
  case "$tier" in
    nginx)
      echo "ufw allow proto tcp from any to any port 80 comment 'http'"
      echo "ufw allow proto tcp from any to any port 443 comment 'https'"
      ;;
    app)
      : "${NGINX_SERVERS:?NGINX_SERVERS is required for the app tier}"
      local app_port=${APP_PORT:-3000} admin_offset=${ADMIN_PORT_OFFSET:-100}
      [[ $app_port =~ ^[0-9]+$ && $admin_offset =~ ^[0-9]+$ ]] || sec_die "APP_PORT and ADMIN_PORT_OFFSET must be numbers"
      for address in $NGINX_SERVERS; do
        sec_check_address "$address" NGINX_SERVERS
        # Two ports: the blue and green slots of a container deploy (deploy/server.sh), and their
        # admin processes' (+ ADMIN_PORT_OFFSET, 100; 0: none).
        echo "ufw allow proto tcp from $address to any port $app_port:$((app_port + 1)) comment 'app from nginx'"
        if [ "$admin_offset" -gt 0 ]; then
          echo "ufw allow proto tcp from $address to any port $((app_port + admin_offset)):$((app_port + admin_offset + 1)) comment 'app admin from nginx'"
        fi
      done
      for address in ${MONITORING_SERVERS:-}; do
        sec_check_address "$address" MONITORING_SERVERS
        [[ ${OPS_PORT:-9464} =~ ^[0-9]+$ && ${OPS_WORKERS:-32} =~ ^[0-9]+$ ]] || sec_die "OPS_PORT and OPS_WORKERS must be numbers"
        # One port per PM2 worker (OPS_PORT + NODE_APP_INSTANCE): Prometheus scrapes each worker.
        echo "ufw allow proto tcp from $address to any port ${OPS_PORT:-9464}:$((${OPS_PORT:-9464} + ${OPS_WORKERS:-32} - 1)) comment 'metrics from prometheus'"
      done
      ;;
    mysql | redis | sentinel)
      local port=${MYSQL_PORT:-3306}
      [ "$tier" = redis ] && port=${REDIS_PORT:-6379}
      [ "$tier" = sentinel ] && port=${SENTINEL_PORT:-26379}
      [[ $port =~ ^[0-9]+$ ]] || sec_die "the $tier port must be a number: '$port'"
      : "${APP_SERVERS:?APP_SERVERS is required for the $tier tier}"
      for address in $APP_SERVERS; do
        sec_check_address "$address" APP_SERVERS
        echo "ufw allow proto tcp from $address to any port $port comment '$tier from app'"
      done
      # Redis with replicas: every data node may be the primary after a failover, so each lets the
      # others in (replication) and every sentinel (monitoring, reconfiguration); the sentinels talk
      # to each other (votes, hellos). Not needed from this host itself (loopback is not filtered).
      if [ "$tier" != mysql ]; then
        [ "$tier" = sentinel ] && [ -z "${REDIS_PEERS:-}" ] && sec_die "REDIS_PEERS is required for the sentinel tier"
        for address in ${REDIS_PEERS:-}; do
          sec_check_address "$address" REDIS_PEERS
          [ "$address" = "${PRIVATE_ADDRESS:-}" ] && continue
          echo "ufw allow proto tcp from $address to any port $port comment '$tier from redis peers'"
        done
      fi
      ;;
    *) sec_die "unknown tier '$tier' (app, nginx, mysql, redis or sentinel)" ;;
  esac
}

sec_sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# Redis ACL file: no `default` user; the app's user reaches only its prefix (its own keys, Bull's
# `<prefix>:bull:*`, the sessions stream), its prefix's channels (Bull's events) and the broadcast
# transport's channels, and none of the commands that read or wipe everything or reconfigure the
# server; `admin` is for ops. Passwords are stored as SHA-256 (#...), never in clear.
render_redis_acl() {
  local prefix=${REDIS_PREFIX:-pick} user=${REDIS_APP_USER:-pick} channels="" channel
  : "${REDIS_PASSWORD:?REDIS_PASSWORD is required}"
  : "${REDIS_ADMIN_PASSWORD:?REDIS_ADMIN_PASSWORD is required}"
  [[ $prefix =~ ^[A-Za-z0-9_.-]+$ ]] || sec_die "REDIS_PREFIX: letters, digits, _ . - only: '$prefix'"
  [[ $user =~ ^[A-Za-z0-9_.-]+$ ]] || sec_die "REDIS_APP_USER: letters, digits, _ . - only: '$user'"
  for channel in ${BROADCAST_CHANNELS:-product.changed coupon.changed}; do
    [[ $channel =~ ^[A-Za-z0-9_.-]+$ ]] || sec_die "BROADCAST_CHANNELS: bad channel '$channel'"
    channels+=" &$channel"
  done
  echo "user default off resetkeys resetchannels -@all"
  echo "user $user on #$(sec_sha256 "$REDIS_PASSWORD") resetkeys ~$prefix:* resetchannels &$prefix:*$channels" \
    "+@all -@dangerous -@admin +info +client|setname +client|getname +client|id -keys -flushall -flushdb -config -debug"
  echo "user admin on #$(sec_sha256 "$REDIS_ADMIN_PASSWORD") ~* &* +@all"
  # Redis with replicas (each user only when its password is given). What Redis' docs list, no key, and
  # only Sentinel's own channel: a replica authenticates to its primary with `replica` (masteruser);
  # the sentinels log in as `sentinel` to watch (INFO, ROLE, PING, hellos on __sentinel__:hello) and
  # to fail over (MULTI; SLAVEOF; CONFIG REWRITE; CLIENT KILL; EXEC).
  if [ -n "${REDIS_REPLICATION_PASSWORD:-}" ]; then
    echo "user replica on #$(sec_sha256 "$REDIS_REPLICATION_PASSWORD") resetkeys resetchannels -@all +psync +replconf +ping"
  fi
  if [ -n "${SENTINEL_AUTH_PASSWORD:-}" ]; then
    echo "user sentinel on #$(sec_sha256 "$SENTINEL_AUTH_PASSWORD") resetkeys resetchannels &__sentinel__:hello -@all" \
      "+multi +exec +slaveof +config|rewrite +role +ping +info +subscribe +publish +client|setname +client|kill +script|kill"
  fi
}

# A secret that must be written in clear into a Redis or Sentinel config file (masterauth, sentinel
# auth-pass, sentinel-pass: a client presents it, so no hash will do): long, and nothing to quote.
sec_check_secret() { # value name
  [[ $1 =~ ^[A-Za-z0-9._+/=-]{16,}$ ]] ||
    sec_die "$2: at least 16 characters, letters, digits and . _ + / = - only (e.g. openssl rand -hex 24)"
}

# The sentinels' ACL file (every sentinel has the same): no `default` user; `admin` for ops (SENTINEL
# FAILOVER, SET, RESET); the app's user may only ask where the primary is and follow failovers (the
# commands Redis' docs list for a Sentinel client, +switch-master, which ioredis' failoverDetector
# subscribes to, and the events of src/redis/failover-fence.ts: SENTINEL_CHANNELS); `sentinel-peer` is what the sentinels log in to each other as (sentinel-user): PING,
# their hellos and the failover vote. Hashed, as on the data nodes.
render_sentinel_acl() {
  local user=${REDIS_SENTINEL_USERNAME:-pick}
  : "${REDIS_ADMIN_PASSWORD:?REDIS_ADMIN_PASSWORD is required}"
  : "${REDIS_SENTINEL_PASSWORD:?REDIS_SENTINEL_PASSWORD is required (the app setting of that name)}"
  : "${SENTINEL_PEER_PASSWORD:?SENTINEL_PEER_PASSWORD is required}"
  sec_check_secret "$SENTINEL_PEER_PASSWORD" SENTINEL_PEER_PASSWORD
  [[ $user =~ ^[A-Za-z0-9_.-]+$ ]] || sec_die "REDIS_SENTINEL_USERNAME: letters, digits, _ . - only: '$user'"
  case "$user" in admin | sentinel-peer | default) sec_die "REDIS_SENTINEL_USERNAME: '$user' is taken" ;; esac
  echo "user default off resetkeys resetchannels -@all"
  echo "user admin on #$(sec_sha256 "$REDIS_ADMIN_PASSWORD") ~* &* +@all"
  echo "user $user on #$(sec_sha256 "$REDIS_SENTINEL_PASSWORD") resetkeys resetchannels &+switch-master &+odown &-odown &+try-failover &+new-epoch -@all" \
    "+auth +hello +ping +command +role +client|getname +client|id +client|setname +subscribe" \
    "+sentinel|get-master-addr-by-name +sentinel|master +sentinel|myid +sentinel|replicas +sentinel|sentinels"
  echo "user sentinel-peer on #$(sec_sha256 "$SENTINEL_PEER_PASSWORD") resetkeys resetchannels &__sentinel__:hello -@all" \
    "+ping +publish +client|setname +sentinel|is-master-down-by-addr"
}

sec_sql_string() { printf "'%s'" "${1//\'/\'\'}"; }

# MySQL users: the app's with data privileges only (SELECT, INSERT, UPDATE, DELETE: MikroORM's
# reads, writes, SELECT … FOR UPDATE; GET_LOCK needs none; EXECUTE: the claims' write procedure, which
# runs with the caller's privileges), and the migration step's with the schema privileges on the
# database (DDL, indexes, foreign keys, procedures). Re-running revokes what a user had before.
render_mysql_grants() {
  local db=${DB_NAME:-pick} app=${DB_USER:-pick} migrator=${DB_MIGRATION_USER:-pick_migrate} host
  : "${DB_PASSWORD:?DB_PASSWORD is required}"
  : "${DB_MIGRATION_PASSWORD:?DB_MIGRATION_PASSWORD is required}"
  local hosts=${APP_HOSTS:-${APP_SERVERS:?APP_SERVERS (or APP_HOSTS) is required}}
  for name in "$db" "$app" "$migrator"; do
    [[ $name =~ ^[A-Za-z0-9_]+$ ]] || sec_die "database and user names: letters, digits and _ only: '$name'"
  done
  [ "$app" != "$migrator" ] || sec_die "DB_USER and DB_MIGRATION_USER must differ"
  for host in $hosts; do
    [[ $host =~ ^[A-Za-z0-9_.%:-]+$ ]] || sec_die "APP_HOSTS: bad host pattern '$host'"
    echo "CREATE USER IF NOT EXISTS '$app'@'$host' IDENTIFIED BY $(sec_sql_string "$DB_PASSWORD");"
    echo "ALTER USER '$app'@'$host' IDENTIFIED BY $(sec_sql_string "$DB_PASSWORD");"
    echo "REVOKE ALL PRIVILEGES, GRANT OPTION FROM '$app'@'$host';"
    echo "GRANT SELECT, INSERT, UPDATE, DELETE, EXECUTE ON \`$db\`.* TO '$app'@'$host';"
    echo "CREATE USER IF NOT EXISTS '$migrator'@'$host' IDENTIFIED BY $(sec_sql_string "$DB_MIGRATION_PASSWORD");"
    echo "ALTER USER '$migrator'@'$host' IDENTIFIED BY $(sec_sql_string "$DB_MIGRATION_PASSWORD");"
    echo "REVOKE ALL PRIVILEGES, GRANT OPTION FROM '$migrator'@'$host';"
    echo "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES, CREATE ROUTINE, ALTER ROUTINE ON \`$db\`.* TO '$migrator'@'$host';"
  done
  echo "FLUSH PRIVILEGES;"
}

# Applies the tier's rules with ufw (idempotent: ufw skips rules it has). Run as root.
apply_ufw() { # tier
  local rules rule
  rules=$(render_ufw_rules "$1") || exit 1
  command -v ufw >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ufw; }
  while IFS= read -r rule; do
    eval "$rule" >/dev/null
  done <<<"$rules"
  ufw --force enable >/dev/null
  echo "[provision $(hostname)] ufw: $1 tier rules applied (stale rules: ufw status numbered, ufw delete N)"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    ufw) render_ufw_rules "${2:?usage: security.sh ufw app|nginx|mysql|redis|sentinel}" ;;
    redis-acl) render_redis_acl ;;
    sentinel-acl) render_sentinel_acl ;;
    mysql-grants) render_mysql_grants ;;
    *) sec_die "usage: security.sh ufw TIER | redis-acl | sentinel-acl | mysql-grants" ;;
  esac
fi
