#!/usr/bin/env bash
# The Debian/Ubuntu packages the README's two commands need, installed when missing (apt-get: as
# root, else with sudo). A machine that has them all is left alone (no apt, no sudo).
#   for `npm run up`: mariadb-server, redis-server (started by services.sh), curl (readiness wait),
#                     procps and gettext-base where the machine is more minimal than a standard install
#   for `npm test`:   nginx-light (nginx-core on Ubuntu), openssl, shellcheck (deploy/*.e2e.ts), mmdebstrap (bullseye.e2e.ts),
#                     prometheus (promtool and the server: deploy/monitoring), nftables (the Redis failover
#                     drill cuts its own replication links: src/testing/own-redis-ha.ts)
# Without root and without sudo it prints the one command to run, and fails.
set -euo pipefail

missing=()
need() { # package, then the commands that tell it is installed (all of them, on PATH or absolute)
  local package=$1 command
  shift
  for command in "$@"; do
    if ! command -v "$command" >/dev/null 2>&1 && [ ! -x "$command" ]; then
      missing+=("$package")
      return
    fi
  done
}
[ -x /usr/sbin/mariadbd ] || [ -x /usr/sbin/mysqld ] || missing+=(mariadb-server)
need mariadb-client mysql mysqladmin
need redis-server redis-server redis-cli
# Pick needs Redis >= 6.2 (src/redis/redis-version.ts). Ubuntu 20.04 ships 5.0 and 22.04 ships 6.0:
# there redis-server comes from Redis' own signed apt repository, as production's does
# (deploy/provision/redis-server.sh).
redis_from_redis_io=0
# shellcheck disable=SC1091
os_codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
if command -v redis-server >/dev/null 2>&1; then
  if ! redis-server --version | grep -Eq 'v=(6\.[2-9]|[7-9]\.|[1-9][0-9]+\.)'; then
    missing+=(redis-server)
    redis_from_redis_io=1
  fi
elif [ "$os_codename" = focal ] || [ "$os_codename" = jammy ]; then
  redis_from_redis_io=1
fi
need curl curl
# In every standard Debian/Ubuntu install, not in a minimal root: PM2 and the tests run ps and kill;
# deploy/nginx/render.sh runs envsubst.
need procps ps kill pgrep
need gettext-base envsubst
# Ubuntu's nginx-light is built without limit_req and limit_conn, which the site uses (Debian's has
# them); nginx-core is what production's `nginx` package brings there.
nginx_package=nginx-light
[ "$os_codename" = focal ] || [ "$os_codename" = jammy ] && nginx_package=nginx-core
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || missing+=("$nginx_package")
need openssl openssl
need shellcheck shellcheck
need mmdebstrap mmdebstrap
need prometheus promtool prometheus
need nftables /usr/sbin/nft
[ ${#missing[@]} -gt 0 ] || exit 0

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  # sudo -n: no password needed (CI runners, cloud images); else sudo asks when there is a terminal.
  if command -v sudo >/dev/null && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then
    as_root=(sudo)
  else
    echo "packages: ${missing[*]} missing, and installing them needs root. Run this, then npm run up again:" >&2
    echo "  su -c 'apt-get update && apt-get install -y ${missing[*]}'" >&2
    exit 1
  fi
fi
echo "packages: installing ${missing[*]}${as_root[*]:+ (with sudo)}"
# Other jobs may hold the dpkg lock for a while: wait for it. `env`: sudo drops DEBIAN_FRONTEND.
if [ "$redis_from_redis_io" = 1 ]; then
  echo "packages: Redis >= 6.2 from packages.redis.io (the distribution's is older)"
  "${as_root[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    ca-certificates curl gnupg >/dev/null
  if ! redis_key=$(curl -fsSL --max-time 30 https://packages.redis.io/gpg); then
    echo "packages: packages.redis.io is not reachable from here, and Pick needs Redis >= 6.2 (this distribution's is older)." >&2
    echo "  Install Redis 6.2 or later another way (https://redis.io/docs/latest/operate/oss_and_stack/install/), then run npm run up again." >&2
    exit 1
  fi
  printf '%s\n' "$redis_key" | "${as_root[@]}" gpg --dearmor --yes -o /usr/share/keyrings/redis-archive-keyring.gpg
  echo "deb [signed-by=/usr/share/keyrings/redis-archive-keyring.gpg] https://packages.redis.io/deb $os_codename main" |
    "${as_root[@]}" tee /etc/apt/sources.list.d/redis.list >/dev/null
fi
"${as_root[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
