#!/usr/bin/env bash
# Helpers shared by the provisioning scripts. Every step checks before it changes anything,
# so a script can be re-run on a provisioned server (and is, to change a setting).

log() { echo "[provision $(hostname)] $*"; }
die() { echo "[provision $(hostname)] ERROR: $*" >&2; exit 1; }

require_root() { [ "$(id -u)" -eq 0 ] || die "run as root (sudo bash $0)"; }

check_ubuntu() {
  # shellcheck disable=SC1091
  . /etc/os-release
  case "${ID}:${VERSION_ID}" in
    ubuntu:20.04 | ubuntu:22.04) ;;
    *) log "warning: tested on Ubuntu 20.04/22.04, this is ${PRETTY_NAME:-unknown}" ;;
  esac
}

apt_updated=0
apt_install() { # packages... (installs only the missing ones)
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  if [ $apt_updated = 0 ]; then apt-get update -qq; apt_updated=1; fi
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

# Writes content (stdin) to a file only when it differs; returns 0 if it changed, 1 if not.
write_if_changed() { # path [mode]
  local path=$1 mode=${2:-644} tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [ -f "$path" ] && cmp -s "$tmp" "$path"; then rm -f "$tmp"; return 1; fi
  install -D -m "$mode" "$tmp" "$path"
  rm -f "$tmp"
  log "wrote $path"
  return 0
}

# Redis >= 6.2 (ACL channel rules, Sentinel's own ACL users): Ubuntu 20.04 ships 5.0 and 22.04 6.0, so
# older than that comes from Redis' own signed apt repository (its packages carry a higher epoch than
# Ubuntu's, so apt takes them). redis-server and redis-sentinel come from the same place, same version.
install_redis_package() { # redis-server | redis-sentinel
  local package=$1 binary=$1
  if ! "$binary" --version 2>/dev/null | grep -Eq 'v=(6\.[2-9]|[7-9]\.)'; then
    apt_install ca-certificates curl gnupg lsb-release
    install -d -m 755 /etc/apt/keyrings
    if [ ! -s /etc/apt/keyrings/redis.gpg ]; then
      curl -fsSL https://packages.redis.io/gpg | gpg --dearmor -o /etc/apt/keyrings/redis.gpg
    fi
    echo "deb [signed-by=/etc/apt/keyrings/redis.gpg] https://packages.redis.io/deb $(lsb_release -cs) main" |
      write_if_changed /etc/apt/sources.list.d/redis.list || true
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package"
  fi
  "$binary" --version | grep -Eq 'v=(6\.[2-9]|[7-9]\.)' || die "$package: need Redis >= 6.2, have $("$binary" --version)"
}

sysctl_set() { # file, then "key = value" lines on stdin
  if write_if_changed "/etc/sysctl.d/$1"; then sysctl -q -p "/etc/sysctl.d/$1"; fi
}

# The user CI deploys as (deploy.sh over SSH): key-only login with the CI key (DEPLOY_KEY, the
# public half of the SSH_PRIVATE_KEY secret). Prints this host's key for SSH_KNOWN_HOSTS.
ensure_deploy_user() { # user
  local user=$1 home
  if ! id "$user" >/dev/null 2>&1; then
    log "creating user $user"
    useradd --create-home --shell /bin/bash "$user"
  fi
  home=$(getent passwd "$user" | cut -d: -f6)
  install -d -o "$user" -g "$user" -m 700 "$home/.ssh"
  if [ -n "${DEPLOY_KEY:-}" ]; then
    printf '%s\n' "$DEPLOY_KEY" | write_if_changed "$home/.ssh/authorized_keys" 600 || true
    chown "$user:$user" "$home/.ssh/authorized_keys"
  elif [ ! -s "$home/.ssh/authorized_keys" ]; then
    log "warning: no DEPLOY_KEY given and $home/.ssh/authorized_keys is empty: CI cannot log in"
  fi
  log "host key for the SSH_KNOWN_HOSTS secret (or: ssh-keyscan -t ed25519 <this address>):"
  for key in /etc/ssh/ssh_host_ed25519_key.pub /etc/ssh/ssh_host_ecdsa_key.pub; do
    [ -f "$key" ] && echo "  <this address> $(cut -d' ' -f1-2 "$key")"
  done
  return 0
}
