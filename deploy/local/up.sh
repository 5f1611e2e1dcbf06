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

# Dependencies from package-lock.json. The machine's npm does it when it reads the lock file (npm 7
# and later); `pinned_npm_install` uses a known npm on the project's Node instead, fetched from the
# npm registry into .local/ once.
npm_version=11.19.1   # the npm of the project's container images (deploy/container/base-image.sh)
npm_dir=$root/.local/npm-$npm_version
machine_path=$PATH   # the machine's own node and npm: `npm pack` below runs on them
pinned_npm_install() {
  local node_bin=$root/node_modules/.bin/node
  if [ ! -x "$node_bin" ]; then
    # No project Node yet: the npm registry's build of the version package.json pins (the `node`
    # package's own binary package), fetched with the machine's npm, which any version can do.
    local version arch
    version=$(grep -oE '"node": "[0-9]+\.[0-9]+\.[0-9]+"' package.json | head -1 | grep -oE '[0-9.]+"$' | tr -d '"')
    case $(uname -m) in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
    node_bin=$root/.local/node-$version/bin/node
    if [ ! -x "$node_bin" ]; then
      echo "up: fetching Node $version (node-linux-$arch) from the npm registry"
      mkdir -p "$root/.local/node-$version"
      (cd "$root/.local" && PATH=$machine_path npm pack --silent "node-linux-$arch@$version" >/dev/null)
      tar -C "$root/.local/node-$version" --strip-components=1 -xzf "$root/.local/node-linux-$arch-$version.tgz"
      rm -f "$root/.local/node-linux-$arch-$version.tgz"
    fi
  fi
  if [ ! -x "$npm_dir/shim/npm" ]; then
    mkdir -p "$npm_dir"
    (cd "$root/.local" && PATH=$machine_path npm pack --silent "npm@$npm_version" >/dev/null)
    tar -C "$npm_dir" --strip-components=1 -xzf "$root/.local/npm-$npm_version.tgz"
    rm -f "$root/.local/npm-$npm_version.tgz"
    # A plain `npm` for PATH (the package's bin/npm looks for npm beside a global Node).
    mkdir -p "$npm_dir/shim"
    printf '#!/bin/sh\nexec node "%s/bin/npm-cli.js" "$@"\n' "$npm_dir" >"$npm_dir/shim/npm"
    chmod +x "$npm_dir/shim/npm"
  fi
  echo "up: installing dependencies with npm $npm_version on Node $("$node_bin" --version)"
  # Both first on PATH: install scripts run `node` and `npm` (the `node` package's own runs `npm
  # install` of its binary package), and the machine's may be too old for the project's Node.
  PATH="$(dirname "$node_bin"):$npm_dir/shim:$PATH" npm install --no-audit --no-fund
}
mkdir -p "$root/.local"
machine_npm_major=$(npm --version | cut -d. -f1)
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  if [ "$machine_npm_major" -ge 7 ]; then
    machine_node=$(node --version)
    machine_node_major=${machine_node#v}
    machine_node_major=${machine_node_major%%.*}
    if [ "$machine_node_major" -lt 24 ]; then
      # npm checks every package's engines against the Node it runs on, this machine's, and warned
      # about each that needs Node 22 or 24 (22 warnings, ~135 lines), which reads as a failure. They
      # are for the project's own Node 24, which it installs and runs everything below on.
      echo "up: installing dependencies with this machine's npm on Node $machine_node; the project runs on its own Node 24 (installed with them), so npm's engine warnings for it are not shown"
      npm install --no-audit --no-fund --loglevel=error
    else
      echo "up: installing dependencies"
      npm install --no-audit --no-fund
    fi
  else
    # npm 6 (Ubuntu 20.04's) cannot read a version 3 lock file: it resolves every range afresh and
    # rewrites package-lock.json as version 1.
    pinned_npm_install
  fi
fi
export PATH="$root/node_modules/.bin:$PATH"   # the project's Node 24 for everything below
# An old npm can leave out native packages without a word (Debian 12's npm 9.2 on its Node 18
# skipped @rolldown/binding-linux-x64-gnu, so vitest could not start): then install again.
if ! node deploy/local/check-install.mjs; then
  pinned_npm_install
  node deploy/local/check-install.mjs
fi
# The npm scripts below run on the project's Node. A distribution's npm may not run there (Ubuntu
# 20.04's npm 6 loads its modules from its own Node's global paths: "Cannot find module 'semver'"):
# then the pinned one runs them.
if ! npm --version >/dev/null 2>&1; then
  [ -x "$npm_dir/shim/npm" ] || pinned_npm_install
  export PATH="$root/node_modules/.bin:$npm_dir/shim:$PATH"
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
# What the readiness check found of Redis' persistence (production runs AOF, appendfsync everysec).
redis_detail=$(curl -fsS "http://127.0.0.1:$PORT/health/ready" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    try { console.log(JSON.parse(s).checks.redis.detail ?? "unknown"); } catch { console.log("unknown"); }
  });')
cat <<MSG

Pick is up (PM2 cluster "pick", PM2_HOME=$PM2_HOME):
  API       http://127.0.0.1:$PORT/api/general/products
  Docs      http://127.0.0.1:$PORT/docs
  Health    http://127.0.0.1:$PORT/health/ready
  Metrics   http://127.0.0.1:$PORT/metrics (one worker a request); each worker: http://${OPS_HOST:-127.0.0.1}:${OPS_PORT:-9464}/metrics, the next port for the next
  Accounts  customer@email.com / seller@email.com / admin@email.com, password "password"
  Redis     $redis_detail (production: AOF on, appendfsync everysec; claims refused without AOF there)
  Logs      npm run pm2 -- logs        Stop   npm run down
MSG
