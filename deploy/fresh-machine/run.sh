#!/usr/bin/env bash
# `npm run test:fresh-machine`: the README's promise, kept honest. A fresh Debian 12, Ubuntu 20.04 or
# Ubuntu 22.04 machine with only the distribution's nodejs, npm, git (and sudo for its non-root user,
# like a newcomer's VM) clones this checkout's committed HEAD and runs the README's "Two commands"
# block exactly as written, timing each. Last line: "fresh-machine: PASS ..." or "fresh-machine: FAIL ...".
#
#   PICK_FRESH_DISTRO=bookworm (default) | focal (Ubuntu 20.04) | jammy (Ubuntu 22.04)
#
# The machine is a podman container of a Debian root made with mmdebstrap (minbase) from Debian's
# archive, cached by content under PICK_PODMAN_DIR (default ~/.cache/pick-fresh-machine: its own
# storage, so it never waits for the image test's locks). It has its own network namespace
# (slirp4netns: user-mode networking, nothing changed on this machine), so its MariaDB and Redis
# never meet this machine's on 3306/6379, while apt and npm still reach Debian's archive and the
# npm registry. It runs --privileged: the suite's bullseye test bootstraps and chroots into a root
# of its own (mount, chroot), as it does on a real machine.
#
# Nothing but the bootstrap packages is preinstalled: `npm run up` installs MariaDB, Redis and the
# rest with sudo, as it would for a newcomer. The machine trusts this machine's CA bundle (egress
# here may go through a TLS-inspecting proxy), the way a machine on such a network would.
#
#   npm run test:fresh-machine      PICK_FRESH_KEEP=1 keeps the container afterwards (podman logs, inspect);
#                                   PICK_FRESH_BUILD_ONLY=1 only builds the machine image and prints its name
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export PICK_PODMAN_DIR=${PICK_FRESH_PODMAN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pick-fresh-machine}
# shellcheck source=deploy/container/podman-env.sh
. "$root/deploy/container/podman-env.sh"

say() { echo "fresh-machine: $*" >&2; }
started=$(date +%s)

pick_podman_install
if ! command -v slirp4netns >/dev/null; then
  say "installing slirp4netns from Debian (the container's own user-mode network)"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends slirp4netns >/dev/null
fi

# The README's two commands, read from its "Two commands" block so this test cannot drift from it:
# the lines of the first ```bash block after the heading, comments and continuation lines dropped.
mapfile -t commands < <(awk '
  /^## Two commands/ { section = 1; next }
  section && /^## / { exit }
  section && /^```bash/ { block = 1; next }
  block && /^```/ { exit }
  block { sub(/[[:space:]]*#.*/, ""); if ($0 ~ /[^[:space:]]/) print }
' "$root/README.md")
[ ${#commands[@]} -eq 2 ] || { say "FAIL: expected two commands in README.md's \"Two commands\" block, found ${#commands[@]}: ${commands[*]:-none}"; exit 1; }
say "the README's commands: $(printf '"%s" ' "${commands[@]}")"

# --- the machine: the distribution's minbase + nodejs, npm, git, ca-certificates, sudo; user `newcomer` ---
suite=${PICK_FRESH_DISTRO:-bookworm}
packages=nodejs,npm,git,ca-certificates,sudo
keyring_args=()
case $suite in
  bookworm)
    # What a fresh Debian 12 has in sources.list: the release, its updates and its security archive.
    mirrors=(
      "deb http://deb.debian.org/debian $suite main"
      "deb http://deb.debian.org/debian $suite-updates main"
      "deb http://deb.debian.org/debian-security $suite-security main"
    )
    ;;
  focal | jammy)
    # What a fresh Ubuntu server has: main and universe (nodejs and npm are in universe), with the
    # release's updates and security pockets.
    mirrors=(
      "deb http://archive.ubuntu.com/ubuntu $suite main universe"
      "deb http://archive.ubuntu.com/ubuntu $suite-updates main universe"
      "deb http://archive.ubuntu.com/ubuntu $suite-security main universe"
    )
    packages+=,ubuntu-keyring,apt   # mmdebstrap's Ubuntu minbase leaves apt out; every Ubuntu install has it
    # Debian has no package of Ubuntu's archive keys: take them from Ubuntu's own ubuntu-keyring
    # package, pinned by its SHA-256 (Ubuntu's Packages index for jammy lists the same hash).
    keyring_deb=ubuntu-keyring_2021.03.26_all.deb
    keyring_sha256=0d0e7ed6b112f5d03eabf3c7eb01ebdacf9c57714b279e90495cfc58c8c4520f
    keyring_dir=$PICK_PODMAN_DIR/ubuntu-keyring-$keyring_sha256
    if [ ! -f "$keyring_dir/usr/share/keyrings/ubuntu-archive-keyring.gpg" ]; then
      mkdir -p "$PICK_PODMAN_DIR/tmp"
      curl -fsS -o "$PICK_PODMAN_DIR/tmp/$keyring_deb" "http://archive.ubuntu.com/ubuntu/pool/main/u/ubuntu-keyring/$keyring_deb"
      echo "$keyring_sha256  $PICK_PODMAN_DIR/tmp/$keyring_deb" | sha256sum --check --quiet
      dpkg-deb -x "$PICK_PODMAN_DIR/tmp/$keyring_deb" "$keyring_dir"
      rm -f "$PICK_PODMAN_DIR/tmp/$keyring_deb"
    fi
    keyring_args=("--keyring=$keyring_dir/usr/share/keyrings/ubuntu-archive-keyring.gpg")
    ;;
  *)
    say "FAIL: PICK_FRESH_DISTRO=$suite: expected bookworm, focal or jammy"
    exit 1
    ;;
esac
ca_bundle=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
# shellcheck disable=SC2016 # "$1" is the hook's argument, expanded by mmdebstrap
hooks=(
  'chroot "$1" useradd --create-home --shell /bin/bash newcomer'
  'echo "newcomer ALL=(ALL) NOPASSWD:ALL" >"$1/etc/sudoers.d/newcomer" && chmod 440 "$1/etc/sudoers.d/newcomer"'
  # This machine's CA bundle (copied in below, one certificate a file) joins the machine's trust store.
  'chroot "$1" update-ca-certificates >/dev/null'
  'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin'
)
key=$({ printf '%s\n' "$suite" "$packages" "${mirrors[@]}" "${hooks[@]}"; sha256sum <"$ca_bundle"; } | sha256sum | cut -c1-16)
image=localhost/pick-fresh-machine:$key
if ! pick_podman image exists "$image"; then
  work=$(mktemp -d "$PICK_PODMAN_DIR/tmp/base.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  say "building the machine: mmdebstrap --variant=minbase $suite + $packages (a few minutes, once)"
  mkdir -p "$work/host-ca"
  awk -v dir="$work/host-ca" '/BEGIN CERTIFICATE/ { if (f) close(f); f = dir "/host-" ++n ".crt" } f { print > f }' "$ca_bundle"
  hook_args=("--customize-hook=copy-in $work/host-ca /usr/local/share/ca-certificates")
  for hook in "${hooks[@]}"; do hook_args+=("--customize-hook=$hook"); done
  mmdebstrap --quiet --variant=minbase --format=tar --include="$packages" "${keyring_args[@]}" "${hook_args[@]}" \
    "$suite" "$work/rootfs.tar" "${mirrors[@]}" >&2
  pick_podman import --quiet \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" \
    --change "USER newcomer" --change "WORKDIR /home/newcomer" \
    "$work/rootfs.tar" "$image" >/dev/null
  rm -rf "$work"
  trap - EXIT
fi
say "machine image $image ($(($(date +%s) - started)) s so far)"
[ "${PICK_FRESH_BUILD_ONLY:-0}" != 1 ] || { echo "$image"; exit 0; }

# --- the repository: the committed HEAD, as a bundle the machine clones ---
share=$(mktemp -d "$PICK_PODMAN_DIR/tmp/share.XXXXXX")
name=pick-fresh-machine-$suite-$$
# shellcheck disable=SC2317 # run by the trap
cleanup() {
  [ "${PICK_FRESH_KEEP:-0}" = 1 ] || pick_podman rm -f --ignore "$name" >/dev/null 2>&1 || true
  rm -rf "$share"
}
trap cleanup EXIT
git -C "$root" bundle create --quiet "$share/pick.bundle" HEAD
say "cloning $(git -C "$root" rev-parse --short HEAD) (committed HEAD; uncommitted changes are not part of the test)"
cp "$here/inside.sh" "$share/inside.sh"
chmod -R a+rX "$share"

set +e
pick_podman run --name "$name" --init --privileged --ulimit host --network slirp4netns \
  --volume "$share:/src:ro" "$image" bash /src/inside.sh "${commands[@]}"
status=$?
set -e
total=$(($(date +%s) - started))
if [ $status -eq 0 ]; then say "PASS (total ${total} s)"; else say "FAIL (exit $status, total ${total} s)"; fi
exit $status
