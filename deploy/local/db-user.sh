#!/usr/bin/env bash
# The app's own MariaDB login for `npm run up` and `npm test`, made once (safe to re-run):
#   - the login already works (DB_USER/DB_PASSWORD from the environment or .env, else root with an
#     empty password over TCP, as on a developer machine set up that way): nothing to do;
#   - else (a fresh Debian/Ubuntu, whose MariaDB root logs in only over the unix socket): as root
#     over the socket (or sudo), create `pick`@localhost and @127.0.0.1 with a random password and
#     every privilege with GRANT OPTION (a local development login: the tests create databases
#     pick_test*/pick_bench*, and deploy/provision/security.e2e.ts creates users and grants them the
#     production rights on pick_test, which MariaDB refused to a grantor holding them only through
#     a `pick\_test%` wildcard grant), and keep
#     DB_USER/DB_PASSWORD in .env (git-ignored) for up.sh, services.sh and the tests.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
cd "$(dirname "$0")/../.."
. deploy/local/db-login.sh

if db_client mysql -e 'select 1' >/dev/null 2>&1; then
  echo "db-user: MariaDB login $DB_USER works"
  exit 0
fi

user=$DB_USER
[ "$user" != root ] || user=pick
password=$DB_PASSWORD
[ -n "$password" ] || password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
[[ $user =~ ^[A-Za-z0-9_]+$ && $password =~ ^[A-Za-z0-9_.-]+$ ]] ||
  { echo "db-user: DB_USER / DB_PASSWORD in .env: letters, digits, _ . - only" >&2; exit 1; }

sql=""
for host in localhost 127.0.0.1; do
  sql+="CREATE USER IF NOT EXISTS '$user'@'$host' IDENTIFIED BY '$password';
ALTER USER '$user'@'$host' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO '$user'@'$host' WITH GRANT OPTION;
"
done
client=mysql
command -v mariadb >/dev/null && client=mariadb
echo "db-user: MariaDB login $DB_USER refused: creating user $user (as root over the unix socket)"
if [ "$(id -u)" -eq 0 ]; then
  $client --protocol=socket -uroot <<<"$sql"
elif command -v sudo >/dev/null && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then
  sudo $client --protocol=socket -uroot <<<"$sql"
else
  echo "db-user: creating the MariaDB user needs root. Run this, then npm run up again:" >&2
  echo "  su -c \"$client -uroot -e \\\"CREATE USER '$user'@'localhost' IDENTIFIED BY '$password'; CREATE USER '$user'@'127.0.0.1' IDENTIFIED BY '$password'; GRANT ALL PRIVILEGES ON *.* TO '$user'@'localhost', '$user'@'127.0.0.1' WITH GRANT OPTION\\\"\"" >&2
  echo "  and put DB_USER=$user DB_PASSWORD=$password in .env" >&2
  exit 1
fi

# .env keeps every other line; DB_USER/DB_PASSWORD are replaced. Readable by its owner only.
(
  umask 077
  touch .env
  {
    grep -v -E '^[[:space:]]*DB_(USER|PASSWORD)=' .env || true
    echo "DB_USER=$user"
    echo "DB_PASSWORD=$password"
  } >.env.new
  mv .env.new .env
)
DB_USER=$user DB_PASSWORD=$password
db_client mysql -e 'select 1' >/dev/null
echo "db-user: MariaDB login $user works; DB_USER/DB_PASSWORD kept in .env"
