#!/usr/bin/env bash
# Makes sure the local MariaDB and Redis answer; starts them where they are installed but stopped
# (as root, else with sudo; systemd's units where systemd runs). Used by `npm run up`, `npm test`
# and .ci/run. Never stops anything. deploy/local/packages.sh installs them when missing.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
cd "$(dirname "$0")/../.."
. deploy/local/db-login.sh

wait_for() { # name, command...
  local name=$1
  shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then
      echo "services: $name is up"
      return 0
    fi
    sleep 0.5
  done
  echo "services: $name did not come up" >&2
  return 1
}

# Root runs it; anyone else through sudo (without a password prompt unless there is a terminal).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then
    sudo "$@"
  else
    echo "services: starting it needs root: run  sudo $*" >&2
    return 1
  fi
}

# mysqladmin ping answers 0 for a running server even when the login is refused, so this checks
# the server; db-user.sh checks the login.
mysql_ok() { db_client mysqladmin ping --silent; }
redis_ok() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }
systemd_runs() { [ -d /run/systemd/system ]; }

if ! mysql_ok 2>/dev/null; then
  # mariadbd since MariaDB 10.4; mysqld before (Ubuntu 20.04's 10.3).
  mariadbd=/usr/sbin/mariadbd
  [ -x $mariadbd ] || mariadbd=/usr/sbin/mysqld
  if systemd_runs && [ -x $mariadbd ]; then
    echo "services: starting MariaDB (systemctl start mariadb)"
    as_root systemctl start mariadb
  elif [ -x $mariadbd ]; then
    echo "services: starting MariaDB"
    as_root sh -c 'mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld' 2>/dev/null || true
    # --user: Debian 12's own config leaves `user = mysql` commented out (systemd's unit sets it),
    # and mariadbd started as root without it refuses to run.
    as_root start-stop-daemon --start --oknodo --background --exec $mariadbd -- --user=mysql
  else
    echo "services: MySQL/MariaDB is not running on $DB_HOST:$DB_PORT and mariadbd is not installed (npm run up installs it; or apt-get install mariadb-server)" >&2
    exit 1
  fi
fi
wait_for "MariaDB ($DB_HOST:$DB_PORT)" mysql_ok

if ! redis_ok; then
  if systemd_runs && command -v redis-server >/dev/null; then
    echo "services: starting Redis (systemctl start redis-server)"
    as_root systemctl start redis-server
  elif command -v redis-server >/dev/null; then
    echo "services: starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379
  else
    echo "services: Redis is not running on 127.0.0.1:6379 and redis-server is not installed (npm run up installs it; or apt-get install redis-server)" >&2
    exit 1
  fi
fi
wait_for "Redis (127.0.0.1:6379)" redis_ok
