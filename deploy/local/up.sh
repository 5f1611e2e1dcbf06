#!/usr/bin/env bash
# One command from a fresh clone to a running Pick: machine packages installed when missing (with
# sudo), services checked or started, the app's MariaDB login, dependencies,
# build, local object storage, migrations, demo data, PM2 cluster, URLs printed. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

bash deploy/local/packages.sh   # MariaDB, Redis, curl and the tests' tools, when missing (sudo)
bash deploy/local/services.sh
bash deploy/local/db-user.sh    # the app's MariaDB login (made, and kept in .env, when root's is refused)

if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "up: installing dependencies"
  npm install --no-audit --no-fund
fi
export PATH="$root/node_modules/.bin:$PATH"   # the project's Node 24 for everything below
# An old npm can leave out native packages without a word (Debian 12's npm 9.2 on its Node 18
# skipped @rolldown/binding-linux-x64-gnu, so vitest could not start): then install again with a
# known npm on the project's Node 24, fetched from the npm registry into .local/ once.
if ! node deploy/local/check-install.mjs; then
  npm_version=11.19.1   # the npm of the project's container images (deploy/container/base-image.sh)
  npm_dir=$root/.local/npm-$npm_version
  if [ ! -f "$npm_dir/bin/npm-cli.js" ]; then
    mkdir -p "$npm_dir"
    (cd "$root/.local" && npm pack --silent "npm@$npm_version" >/dev/null)
    tar -C "$npm_dir" --strip-components=1 -xzf "$root/.local/npm-$npm_version.tgz"
    rm -f "$root/.local/npm-$npm_version.tgz"
  fi
  echo "up: installing dependencies again with npm $npm_version on Node $(node --version)"
  node "$npm_dir/bin/npm-cli.js" install --no-audit --no-fund
  node deploy/local/check-install.mjs
fi

set -a
# shellcheck disable=SC1091
. config/local.env
# shellcheck disable=SC1091 # git-ignored; db-user.sh writes DB_USER/DB_PASSWORD there when needed
[ -f .env ] && . ./.env
set +a
export PM2_HOME="$root/.pm2/local"

echo "up: building"
npm run --silent build
if [ -f deploy/local/s3.sh ]; then bash deploy/local/s3.sh start; fi
echo "up: migrating"
npm run --silent migration:up
echo "up: seeding demo data"
npm run --silent seed

echo "up: starting the PM2 cluster ($PICK_INSTANCES workers)"
pm2 startOrReload ecosystem.config.js --update-env >/dev/null
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1; then break; fi
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$PORT/health/ready" >/dev/null || { pm2 logs --nostream --lines 50; echo "up: Pick did not become ready" >&2; exit 1; }
pm2 ls
cat <<MSG

Pick is up (PM2 cluster "pick", PM2_HOME=$PM2_HOME):
  API       http://127.0.0.1:$PORT/api/general/products
  Docs      http://127.0.0.1:$PORT/docs
  Health    http://127.0.0.1:$PORT/health/ready
  Metrics   http://127.0.0.1:$PORT/metrics (one worker a request); each worker: http://${OPS_HOST:-127.0.0.1}:${OPS_PORT:-9464}/metrics, the next port for the next
  Accounts  customer@email.com / seller@email.com / admin@email.com, password "password"
  Logs      npm run pm2 -- logs        Stop   npm run down
MSG
