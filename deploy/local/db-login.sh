#!/usr/bin/env bash
# Sourced by services.sh and db-user.sh: the MariaDB login of the local app and of the tests.
# DB_USER / DB_PASSWORD from the environment, else from .env (git-ignored; `npm run up` writes them
# there on a machine whose MariaDB root logs in only over its unix socket), else root with an empty
# password over TCP (a developer machine set up that way, and CI). src/testing/test-env.ts reads the
# same two settings the same way.

# The last KEY=value line of .env, quotes removed (the file itself is not run here).
env_file_value() { # key
  [ -f .env ] || return 0
  sed -n "s/^[[:space:]]*$1=//p" .env | tail -n 1 | sed -e 's/[[:space:]]#.*$//' -e 's/[[:space:]]*$//' -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'$/\1/"
}
DB_USER=${DB_USER:-$(env_file_value DB_USER)}
DB_USER=${DB_USER:-root}
DB_PASSWORD=${DB_PASSWORD-$(env_file_value DB_PASSWORD)}
DB_HOST=${DB_HOST:-127.0.0.1}
DB_PORT=${DB_PORT:-3306}

# The client as the app logs in (TCP); the password through the environment, not argv.
db_client() { # client (mysql, mysqladmin), args...
  local client=$1
  shift
  MYSQL_PWD=$DB_PASSWORD "$client" --protocol=tcp -h "$DB_HOST" -P "$DB_PORT" -u"$DB_USER" "$@"
}
