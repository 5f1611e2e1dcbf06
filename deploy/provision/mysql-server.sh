#!/usr/bin/env bash
# MySQL 8 (Ubuntu's mysql-server-8.0): utf8mb4, UTC, a `pick` database and user for the app servers.
#   DB_PASSWORD (required)   password of the `pick` user
#   APP_NETWORK=10.0.0.%     hosts the `pick` user may connect from (the app servers' subnet)
#   BIND_ADDRESS=0.0.0.0     restrict to the private interface where possible
#   MAX_CONNECTIONS=500      >= servers x workers x DB_POOL_MAX (2 x 4 x 10 = 80) + migrations + ops
#   BUFFER_POOL=1G           innodb_buffer_pool_size (about 60% of the machine's memory)
# Run as root: sudo DB_PASSWORD=… bash deploy/provision/mysql-server.sh
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
check_ubuntu
: "${DB_PASSWORD:?DB_PASSWORD is required}"
app_network=${APP_NETWORK:-10.0.0.%}

apt_install mysql-server

changed=0
write_if_changed /etc/mysql/mysql.conf.d/zz-pick.cnf <<CNF && changed=1
[mysqld]
bind-address = ${BIND_ADDRESS:-0.0.0.0}
max_connections = ${MAX_CONNECTIONS:-500}
innodb_buffer_pool_size = ${BUFFER_POOL:-1G}
character-set-server = utf8mb4
collation-server = utf8mb4_0900_ai_ci
default-time-zone = '+00:00'
innodb_flush_log_at_trx_commit = 1
sync_binlog = 1
CNF
systemctl enable mysql >/dev/null 2>&1
if [ $changed = 1 ] || ! systemctl is-active --quiet mysql; then systemctl restart mysql; fi

# Root logs in through the unix socket (auth_socket): no password in this script's arguments.
mysql --protocol=socket -uroot <<SQL
CREATE DATABASE IF NOT EXISTS pick CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci;
CREATE USER IF NOT EXISTS 'pick'@'${app_network}' IDENTIFIED BY '${DB_PASSWORD//\'/\'\'}';
ALTER USER 'pick'@'${app_network}' IDENTIFIED BY '${DB_PASSWORD//\'/\'\'}';
GRANT ALL PRIVILEGES ON pick.* TO 'pick'@'${app_network}';
FLUSH PRIVILEGES;
SQL
log "mysql ready: database pick, user pick@${app_network}"
