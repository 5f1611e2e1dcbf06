#!/usr/bin/env bash
# Renders the replication settings of a Redis data node and the configuration of a sentinel: what
# redis-server.sh (REDIS_ROLE=primary|replica) and redis-sentinel.sh apply, and what
# deploy/provision/security.e2e.ts runs a real primary, two replicas and three sentinels with.
# Print without applying anything (no root needed):
#   bash deploy/provision/redis-ha.sh replication
#   bash deploy/provision/redis-ha.sh sentinel-conf   (a new sentinel's file)
#   bash deploy/provision/redis-ha.sh sentinel-set    (the same settings, for a running sentinel)
# Settings (environment):
#   PRIVATE_ADDRESS            this host's private address: what it announces to the others
#   REDIS_REPLICATION_PASSWORD the `replica` user's password (security.sh redis-acl), in clear here
#   REDIS_REPLICA_PRIORITY=100 0: never promoted by Sentinel (see deploy/README.md before: it ranks replicas by
#                              priority before data, so a claim only that replica held could be lost)
#   REDIS_MIN_REPLICAS=1  REDIS_MIN_REPLICAS_MAX_LAG=3 (seconds)  REDIS_REPL_BACKLOG=64mb
#   REDIS_SENTINEL_MASTER=pick  the name the sentinels monitor the primary under (the app's setting)
#   REDIS_PRIMARY_ADDRESS, REDIS_PRIMARY_PORT=6379  the primary a new sentinel starts watching
#   SENTINEL_PORT=26379  SENTINEL_QUORUM=2  SENTINEL_DOWN_AFTER_MS=5000  SENTINEL_FAILOVER_TIMEOUT_MS=30000
#   SENTINEL_PARALLEL_SYNCS=1
#   SENTINEL_AUTH_PASSWORD     the data nodes' `sentinel` user (security.sh redis-acl), in clear here
#   SENTINEL_PEER_PASSWORD     the sentinels' `sentinel-peer` user (security.sh sentinel-acl), in clear here

# shellcheck source=deploy/provision/security.sh
. "$(dirname "${BASH_SOURCE[0]}")/security.sh"

ha_check_number() { # value name
  [[ $1 =~ ^[0-9]+$ ]] || sec_die "$2 must be a number: '$1'"
}

# The replication directives of pick.conf. The same on every node: any node may be the primary after a
# failover, and a primary may be demoted to a replica.
render_redis_replication() {
  local priority=${REDIS_REPLICA_PRIORITY:-100} min=${REDIS_MIN_REPLICAS:-1} lag=${REDIS_MIN_REPLICAS_MAX_LAG:-3}
  local backlog=${REDIS_REPL_BACKLOG:-64mb}
  : "${REDIS_REPLICATION_PASSWORD:?REDIS_REPLICATION_PASSWORD is required (the replica user)}"
  sec_check_secret "$REDIS_REPLICATION_PASSWORD" REDIS_REPLICATION_PASSWORD
  ha_check_number "$priority" REDIS_REPLICA_PRIORITY
  ha_check_number "$min" REDIS_MIN_REPLICAS
  ha_check_number "$lag" REDIS_MIN_REPLICAS_MAX_LAG
  [[ $backlog =~ ^[0-9]+[kmgKMG]?[bB]?$ ]] || sec_die "REDIS_REPL_BACKLOG: a size such as 64mb: '$backlog'"
  # Split brain: a primary cut off from every replica refuses writes (NOREPLICAS) once no replica has
  # acknowledged for more than `lag` seconds. Replicas acknowledge every second, so 3 s never trips on
  # a healthy replica, and an isolated primary stops taking writes after 3-4 s: before the sentinels,
  # which need SENTINEL_DOWN_AFTER_MS (5 s) and a vote, can have promoted another node. Keep it below
  # that. (The app's WAIT is what keeps a 202 from being given for a write no replica holds; this
  # bounds what an old primary accepts at all.)
  echo "min-replicas-to-write $min"
  echo "min-replicas-max-lag $lag"
  # Replicas log in to whichever node is the primary as `replica`; masterauth is necessarily in clear.
  echo "masteruser replica"
  echo "masterauth $REDIS_REPLICATION_PASSWORD"
  echo "replica-priority $priority"
  # What this node tells its primary (and so the sentinels, which learn replicas from the primary's
  # INFO) to reach it at: the private address, whatever the source address of its connection.
  if [ -n "${PRIVATE_ADDRESS:-}" ]; then
    sec_check_address "$PRIVATE_ADDRESS" PRIVATE_ADDRESS
    echo "replica-announce-ip $PRIVATE_ADDRESS"
  fi
  # A replica that reconnects (a blip, the failover's reconfiguration, an old primary rejoining) resumes
  # with a partial sync when what it missed is still in the backlog; 1mb (the default) is a fraction of
  # a second of a rush, and a full sync forks the primary and ships the whole data set mid-rush.
  echo "repl-backlog-size $backlog"
  # A replica that cannot resume (after a failover that split the brain, the other replica holds writes
  # the new primary never had) needs a full sync, and until it is online the new primary has no good
  # replica: min-replicas-to-write refuses every claim. Redis waits 5 s by default before a diskless
  # full sync, for more replicas to share it; with one replica resyncing at a time (parallel-syncs 1)
  # nothing shares it, so start at once (the failover drill: claims back ~9 s after a freeze -> ~4 s).
  echo "repl-diskless-sync-delay 0"
}

# Checks the sentinel settings and sets ha_master, ha_quorum, ha_down, ha_timeout, ha_syncs, ha_port.
ha_sentinel_settings() {
  ha_master=${REDIS_SENTINEL_MASTER:-pick} ha_quorum=${SENTINEL_QUORUM:-2} ha_down=${SENTINEL_DOWN_AFTER_MS:-5000}
  ha_timeout=${SENTINEL_FAILOVER_TIMEOUT_MS:-30000} ha_syncs=${SENTINEL_PARALLEL_SYNCS:-1} ha_port=${SENTINEL_PORT:-26379}
  : "${SENTINEL_AUTH_PASSWORD:?SENTINEL_AUTH_PASSWORD is required (the data nodes sentinel user)}"
  : "${SENTINEL_PEER_PASSWORD:?SENTINEL_PEER_PASSWORD is required}"
  sec_check_secret "$SENTINEL_AUTH_PASSWORD" SENTINEL_AUTH_PASSWORD
  sec_check_secret "$SENTINEL_PEER_PASSWORD" SENTINEL_PEER_PASSWORD
  [[ $ha_master =~ ^[A-Za-z0-9._-]{1,64}$ ]] || sec_die "REDIS_SENTINEL_MASTER: 1-64 letters, digits, . _ -: '$ha_master'"
  ha_check_number "$ha_quorum" SENTINEL_QUORUM
  ha_check_number "$ha_down" SENTINEL_DOWN_AFTER_MS
  ha_check_number "$ha_timeout" SENTINEL_FAILOVER_TIMEOUT_MS
  ha_check_number "$ha_syncs" SENTINEL_PARALLEL_SYNCS
  ha_check_number "$ha_port" SENTINEL_PORT
  [ -z "${PRIVATE_ADDRESS:-}" ] || sec_check_address "$PRIVATE_ADDRESS" PRIVATE_ADDRESS
}

# A sentinel's configuration as first written (redis-sentinel.sh adds the host's bind, files and ACL
# file). After its first start the file is Sentinel's own: it records there what it learns (the current
# primary, the replicas, the other sentinels, epochs), so a re-run never writes it again; it changes
# the settings of a running sentinel with render_sentinel_set's commands instead.
render_sentinel_conf() {
  local primary_port=${REDIS_PRIMARY_PORT:-6379}
  ha_sentinel_settings
  : "${REDIS_PRIMARY_ADDRESS:?REDIS_PRIMARY_ADDRESS is required (the current primary)}"
  sec_check_address "$REDIS_PRIMARY_ADDRESS" REDIS_PRIMARY_ADDRESS
  ha_check_number "$primary_port" REDIS_PRIMARY_PORT
  echo "port $ha_port"
  # Addresses only: nothing depends on DNS while a failover is decided.
  echo "sentinel resolve-hostnames no"
  echo "sentinel announce-hostnames no"
  # What this sentinel tells the others to reach it at (its hellos): the private address.
  [ -z "${PRIVATE_ADDRESS:-}" ] || echo "sentinel announce-ip $PRIVATE_ADDRESS"
  # How this sentinel logs in to the others (their ACL: security.sh sentinel-acl). In clear: it presents it.
  echo "sentinel sentinel-user sentinel-peer"
  echo "sentinel sentinel-pass $SENTINEL_PEER_PASSWORD"
  # Quorum 2 of 3: two sentinels must find the primary down, and a majority (2) must elect the one that
  # fails over; a sentinel cut off from the other two can do neither.
  echo "sentinel monitor $ha_master $REDIS_PRIMARY_ADDRESS $primary_port $ha_quorum"
  # 5 s without a valid reply: long enough that a stall of a second or two (an AOF rewrite's fork under
  # memory pressure, a long reconciliation script, a VM pause) is no failover, short enough that claims
  # are back within ~10 s of a dead primary (detection + vote + promotion + the clients moving).
  echo "sentinel down-after-milliseconds $ha_master $ha_down"
  # A failover that has not promoted a replica within 30 s is abandoned, and another sentinel retries
  # after 2 x 30 s (the default 180 s would leave claims refused for 6 minutes); promoting a replica of
  # Pick's data set takes about a second.
  echo "sentinel failover-timeout $ha_master $ha_timeout"
  # One replica at a time resyncs with the new primary.
  echo "sentinel parallel-syncs $ha_master $ha_syncs"
  # The data nodes' `sentinel` user (security.sh redis-acl). In clear: Sentinel presents it.
  echo "sentinel auth-user $ha_master sentinel"
  echo "sentinel auth-pass $ha_master $SENTINEL_AUTH_PASSWORD"
  # SENTINEL SET cannot point notification-script/client-reconfig-script at an arbitrary program.
  echo "sentinel deny-scripts-reconfig yes"
}

# The same settings as commands for a running sentinel (Sentinel saves them into its own file).
render_sentinel_set() {
  ha_sentinel_settings
  echo "SENTINEL CONFIG SET resolve-hostnames no"
  echo "SENTINEL CONFIG SET announce-hostnames no"
  [ -z "${PRIVATE_ADDRESS:-}" ] || echo "SENTINEL CONFIG SET announce-ip $PRIVATE_ADDRESS"
  echo "SENTINEL CONFIG SET sentinel-user sentinel-peer"
  echo "SENTINEL CONFIG SET sentinel-pass $SENTINEL_PEER_PASSWORD"
  echo "SENTINEL SET $ha_master quorum $ha_quorum"
  echo "SENTINEL SET $ha_master down-after-milliseconds $ha_down"
  echo "SENTINEL SET $ha_master failover-timeout $ha_timeout"
  echo "SENTINEL SET $ha_master parallel-syncs $ha_syncs"
  echo "SENTINEL SET $ha_master auth-user sentinel"
  echo "SENTINEL SET $ha_master auth-pass $SENTINEL_AUTH_PASSWORD"
}

# Whether a sentinel config file already monitors MASTER (Sentinel rewrites the file, keeping that line).
ha_sentinel_monitors() { # FILE MASTER
  [ -f "$1" ] && awk -v m="$2" 'tolower($1) == "sentinel" && tolower($2) == "monitor" && $3 == m { found = 1 } END { exit !found }' "$1"
}

# The main config (stdin) with `include FILE` moved to its end (stdout). Sentinel rewrites redis.conf
# (CONFIG REWRITE) on every role change, appending every non-default setting after the include line;
# with the include last again, the included file wins at the next start (one place to change a
# setting), while the role (`replicaof`, which the included file never sets) stays as Sentinel wrote it.
ha_include_last() { # FILE
  local line="include $1"
  grep -vxF "$line" || true
  echo "$line"
}

# What a running node can take without a restart, from the old and the new pick.conf: one
# `CONFIG SET key value` line per changed setting Redis changes live (stdout); returns 1 if any change
# needs a restart (bind, aclfile, a setting removed, which only a restart puts back to its default).
ha_live_settings() { # OLD_FILE NEW_FILE
  local mark key value restart=0
  while read -r mark key value; do
    case "$mark:$key" in
      "<:" | ">:") ;; # a blank line
      ">:min-replicas-to-write" | ">:min-replicas-max-lag" | ">:maxmemory" | ">:maxmemory-policy" | ">:masteruser" | \
        ">:masterauth" | ">:replica-priority" | ">:replica-announce-ip" | ">:repl-backlog-size" | ">:appendfsync" | \
        ">:repl-diskless-sync-delay")
        echo "CONFIG SET $key $value"
        ;;
      "<:"*) grep -q "^$key " "$2" || restart=1 ;;
      *) restart=1 ;;
    esac
  done < <(diff "$1" "$2" | sed -n 's/^\([<>]\) \([a-z-]*\) \{0,1\}\(.*\)$/\1 \2 \3/p')
  return $restart
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    replication) render_redis_replication ;;
    sentinel-conf) render_sentinel_conf ;;
    sentinel-set) render_sentinel_set ;;
    *) sec_die "usage: redis-ha.sh replication | sentinel-conf | sentinel-set" ;;
  esac
fi
