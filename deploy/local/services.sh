#!/usr/bin/env bash
# Makes sure the local MariaDB and Redis answer; starts them where they are installed but stopped.
# Used by `npm run up`, `npm test` and .ci/run. Never stops anything.
set -euo pipefail

wait_for() { # name, command...
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then echo "services: $name is up"; return 0; fi
    sleep 0.5
  done
  echo "services: $name did not come up" >&2
  return 1
}

mysql_ok() { mysqladmin --protocol=tcp -h 127.0.0.1 -P 3306 -uroot ping --silent; }
redis_ok() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

if ! mysql_ok 2>/dev/null; then
  if [ -x /usr/sbin/mariadbd ]; then
    echo "services: starting MariaDB"
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  else
    echo "services: MySQL/MariaDB is not running on 127.0.0.1:3306 and mariadbd is not installed (apt-get install mariadb-server)" >&2
    exit 1
  fi
fi
wait_for "MariaDB (127.0.0.1:3306)" mysql_ok

if ! redis_ok; then
  if command -v redis-server >/dev/null; then
    echo "services: starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379
  else
    echo "services: Redis is not running on 127.0.0.1:6379 and redis-server is not installed (apt-get install redis-server)" >&2
    exit 1
  fi
fi
wait_for "Redis (127.0.0.1:6379)" redis_ok
