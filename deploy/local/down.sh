#!/usr/bin/env bash
# Stops what `npm run up` started (PM2 cluster and local object storage). Leaves MariaDB and Redis running.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH" PM2_HOME="$PWD/.pm2/local"
if [ -d "$PM2_HOME" ]; then pm2 kill >/dev/null 2>&1 || true; fi
if [ -f deploy/local/s3.sh ]; then bash deploy/local/s3.sh stop; fi
echo "down: Pick stopped"
