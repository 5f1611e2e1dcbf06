#!/usr/bin/env bash
# One command from a fresh clone to a running Pick: services checked or started, dependencies,
# build, local object storage, migrations, demo data, PM2 cluster, URLs printed. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

bash deploy/local/services.sh

if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "up: installing dependencies"
  npm install --no-audit --no-fund
fi
export PATH="$root/node_modules/.bin:$PATH"   # the project's Node 24 for everything below

set -a
# shellcheck disable=SC1091
. config/local.env
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
