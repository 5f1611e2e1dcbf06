#!/usr/bin/env bash
# MySQL 8 (Ubuntu's mysql-server-8.0): utf8mb4, UTC, bound to the private address, the `pick`
# database, two users, and a firewall that lets only the app servers in.
#   PRIVATE_ADDRESS (required)  this server's private address: MySQL listens there (and on 127.0.0.1)
#   APP_SERVERS (required)      the app servers' private addresses, e.g. "10.0.0.11 10.0.0.12"
#   OPS_SSH_RANGE (required)    CIDR that may reach SSH
#   DB_PASSWORD (required)            the app's user `pick`: SELECT, INSERT, UPDATE, DELETE only
#   DB_MIGRATION_PASSWORD (required)  the migration user `pick_migrate`: schema changes (DDL)
#   DB_USER=pick  DB_MIGRATION_USER=pick_migrate  DB_NAME=pick
#   APP_HOSTS       host patterns of both users (default: APP_SERVERS, e.g. "10.0.0.%")
#   MAX_CONNECTIONS=500      >= servers x workers x DB_POOL_MAX (2 x 4 x 10 = 80) + migrations + ops
#   BUFFER_POOL=1G           innodb_buffer_pool_size (about 60% of the machine's memory)
# Run as root: sudo PRIVATE_ADDRESS=… APP_SERVERS=… OPS_SSH_RANGE=… DB_PASSWORD=… DB_MIGRATION_PASSWORD=… \
#   bash deploy/provision/mysql-server.sh
# The app servers' .env: DB_USER=pick, DB_MIGRATION_USER=pick_migrate (+ passwords): see deploy/README.md.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=deploy/provision/lib.sh
. "$here/lib.sh"
# shellcheck source=deploy/provision/security.sh
. "$here/security.sh"
require_root
check_ubuntu
: "${PRIVATE_ADDRESS:?PRIVATE_ADDRESS is required (MySQL listens on the private interface only)}"
sec_check_address "$PRIVATE_ADDRESS" PRIVATE_ADDRESS
grants=$(render_mysql_grants)
db_name=${DB_NAME:-pick}

apt_install mysql-server

changed=0
write_if_changed /etc/mysql/mysql.conf.d/zz-pick.cnf <<CNF && changed=1
[mysqld]
bind-address = 127.0.0.1,${PRIVATE_ADDRESS}
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
CREATE DATABASE IF NOT EXISTS \`${db_name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci;
${grants}
SQL

apply_ufw mysql
log "mysql ready on ${PRIVATE_ADDRESS}: database ${db_name}, app user ${DB_USER:-pick} (data only), migration user ${DB_MIGRATION_USER:-pick_migrate}"
