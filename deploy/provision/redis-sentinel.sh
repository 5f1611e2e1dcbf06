#!/usr/bin/env bash
# Redis Sentinel: one of the three that watch the Redis primary, fail over to a replica when it dies,
# and tell the app where the primary is (deploy/README.md, "Redis with replicas and Sentinel": on
# redis-1, redis-2 and the MySQL host). The redis-sentinel package (>= 6.2: Redis' apt repository
# where Ubuntu's is older), bound to the private address, its own ACL users (no default user), and a
# firewall that lets in only the app servers and the other Redis/sentinel hosts.
#   PRIVATE_ADDRESS (required)  this host's private address: the sentinel listens there (and on 127.0.0.1)
#   APP_SERVERS, OPS_SSH_RANGE (required)  firewall, as for the other scripts
#   REDIS_PEERS (required)      private addresses of every Redis and sentinel host
#   REDIS_PRIMARY_ADDRESS (required on the first run)  the primary to watch: the current one
#   REDIS_ADMIN_PASSWORD (required)     user `admin` on the sentinels too (SENTINEL FAILOVER, SET, RESET)
#   REDIS_SENTINEL_PASSWORD (required)  the app's user on the sentinels (REDIS_SENTINEL_USERNAME=pick):
#                                       the app's REDIS_SENTINEL_USERNAME/REDIS_SENTINEL_PASSWORD
#   SENTINEL_PEER_PASSWORD (required)   user `sentinel-peer`: how the sentinels log in to each other
#   SENTINEL_AUTH_PASSWORD (required)   the data nodes' user `sentinel` (redis-server.sh)
#   REDIS_SENTINEL_MASTER=pick  SENTINEL_QUORUM=2  SENTINEL_DOWN_AFTER_MS=5000
#   SENTINEL_FAILOVER_TIMEOUT_MS=30000  SENTINEL_PARALLEL_SYNCS=1  SENTINEL_PORT=26379  (why: redis-ha.sh)
# The first run writes /etc/redis/sentinel.conf; from then on the file is Sentinel's (the current primary,
# the replicas and sentinels it found, epochs): a re-run changes the settings above with SENTINEL SET and
# SENTINEL CONFIG SET, and the users by rewriting /etc/redis/sentinel-users.acl. Its bind address and port
# are set once.
# Run as root: sudo PRIVATE_ADDRESS=… APP_SERVERS=… OPS_SSH_RANGE=… REDIS_PEERS=… REDIS_PRIMARY_ADDRESS=… \
#   REDIS_ADMIN_PASSWORD=… REDIS_SENTINEL_PASSWORD=… SENTINEL_PEER_PASSWORD=… SENTINEL_AUTH_PASSWORD=… \
#   bash deploy/provision/redis-sentinel.sh
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
: "${PRIVATE_ADDRESS:?PRIVATE_ADDRESS is required (the sentinel listens on the private interface only)}"
sec_check_address "$PRIVATE_ADDRESS" PRIVATE_ADDRESS
: "${REDIS_PEERS:?REDIS_PEERS is required (every Redis and sentinel host)}"
users=$(render_sentinel_acl)
settings=$(render_sentinel_set) # checks every setting before anything changes
master=${REDIS_SENTINEL_MASTER:-pick}
port=${SENTINEL_PORT:-26379}

install_redis_package redis-sentinel

conf=/etc/redis/sentinel.conf
acl=/etc/redis/sentinel-users.acl
restart=0
write_if_changed "$acl" 640 <<<"$users" && restart=1
chown redis:redis "$acl"
if ! ha_sentinel_monitors "$conf" "$master"; then
  monitor=$(render_sentinel_conf)
  # The package's example (it watches `mymaster` on 127.0.0.1), kept for reference.
  if [ -f "$conf" ] && [ ! -f "$conf.dist" ]; then cp -p "$conf" "$conf.dist"; fi
  # Both units (Debian's, Redis' repository's) run it as `redis` with /etc/redis writable: Sentinel
  # saves its state into this file.
  write_if_changed "$conf" 640 <<CONF || true
bind 127.0.0.1 ${PRIVATE_ADDRESS}
daemonize no
supervised systemd
pidfile /run/sentinel/redis-sentinel.pid
logfile /var/log/redis/redis-sentinel.log
dir /var/lib/redis
aclfile ${acl}
${monitor}
CONF
  restart=1
  log "sentinel.conf written: watching $master at ${REDIS_PRIMARY_ADDRESS}:${REDIS_PRIMARY_PORT:-6379}"
else
  log "sentinel.conf is Sentinel's own since the first run: settings applied with SENTINEL SET"
fi
chown redis:redis "$conf"

systemctl enable redis-sentinel >/dev/null 2>&1
# A sentinel's restart never starts a failover (its state is in its file); the other two keep watching.
if [ $restart = 1 ] || ! systemctl is-active --quiet redis-sentinel; then systemctl restart redis-sentinel; fi
sadmin() { REDISCLI_AUTH=$REDIS_ADMIN_PASSWORD redis-cli -p "$port" --user admin --no-auth-warning "$@"; }
for _ in $(seq 1 30); do
  [ "$(sadmin ping 2>&1)" = PONG ] && break
  sleep 1
done
[ "$(sadmin ping 2>&1)" = PONG ] || die "the sentinel does not answer the admin user on $port: /var/log/redis/redis-sentinel.log"
while read -r setting; do
  # On stdin, so that the passwords never show in the process list.
  [ "$(sadmin <<<"$setting")" = OK ] || die "refused: ${setting% *} …"
done <<<"$settings"

state=$(sadmin sentinel master "$master" | tr -d '\r' | paste - -)
field() { awk -v k="$1" '$1 == k { print $2 }' <<<"$state"; }
log "sentinel watching $master: primary $(field ip):$(field port) ($(field flags)), $(field num-slaves) replica(s), $(field num-other-sentinels) other sentinel(s), quorum $(field quorum)"
# With fewer than three sentinels up (the first and second hosts), this says so: not an error yet.
log "$(sadmin sentinel ckquorum "$master" | tr -d '\r')"

apply_ufw sentinel
log "sentinel ready on ${PRIVATE_ADDRESS}:${port}"
