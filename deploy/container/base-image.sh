#!/usr/bin/env bash
# Builds the local stand-in for the production base image (node:24-bookworm-slim), where Docker
# Hub cannot be reached: a Debian bookworm root from Debian's archive (mmdebstrap, minbase), the
# project's own Node 24 (the npm `node` package's binary, node_modules/node/bin/node), npm from
# the npm registry, and the `node` user (uid 1000) of the official image. Prints the image name.
#
#   deploy/container/base-image.sh        -> localhost/pick-image-test-base:<key>
#
# Cached by content: the key hashes this script, the Node binary and the npm version, so a
# re-run with the same inputs reuses the image (seconds) and a change rebuilds it. The Debian
# root is cached on its own ($PICK_PODMAN_DIR/base/debian-*.tar): the slow part, a minute or more.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=deploy/container/podman-env.sh
. "$here/podman-env.sh"

suite=${DEBIAN_SUITE:-bookworm}
# npm 11.6.x dies with "Exit handler never called!" on Node 24 (npm/cli#8873, #8766).
npm_version=${NPM_VERSION:-11.19.1}
node_bin=$root/node_modules/node/bin/node
[ -x "$node_bin" ] || { echo "base-image.sh: $node_bin missing: npm install first" >&2; exit 1; }

# The machine's CA bundle: where egress goes through a TLS-inspecting proxy (as on the CI box),
# npm inside the build trusts what npm on the host trusts (Node reads its own CA store, plus
# NODE_EXTRA_CA_CERTS). Only this local stand-in gets it.
ca_bundle=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
key=$( { cat "$0"; sha256sum <"$node_bin"; sha256sum <"$ca_bundle"; echo "$suite $npm_version"; } | sha256sum | cut -c1-16)
image=localhost/pick-image-test-base:$key
if pick_podman image exists "$image"; then echo "$image"; exit 0; fi

cache=$PICK_PODMAN_DIR/base
mkdir -p "$cache"
work=$(mktemp -d "$cache/work.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The Debian root, cached by what makes it (the suite and the hooks below), not by Node or npm.
# shellcheck disable=SC2016 # "$1" is the hook's argument, expanded by mmdebstrap
debian_hooks=(
  'chroot "$1" groupadd --gid 1000 node'
  'chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
  'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/usr/share/doc/* "$1"/usr/share/man/*'
)
debian_key=$(printf '%s\n' "$suite" "${debian_hooks[@]}" | sha256sum | cut -c1-16)
debian_tar=$cache/debian-$suite-$debian_key.tar
if [ ! -f "$debian_tar" ] || [ ! -s "$debian_tar" ]; then
  echo "base-image: mmdebstrap $suite (minbase) from Debian's archive" >&2
  hooks=()
  for hook in "${debian_hooks[@]}"; do hooks+=("--customize-hook=$hook"); done
  # --format=tar: mmdebstrap picks the format from the target's extension, and ".partial" has none it
  # knows, so without it the root became a directory (a fresh machine's build then failed at `cp`).
  rm -rf "$debian_tar" "$debian_tar.partial"
  mmdebstrap --quiet --variant=minbase --format=tar --include=ca-certificates "${hooks[@]}" "$suite" "$debian_tar.partial" >&2
  mv "$debian_tar.partial" "$debian_tar"
fi

# Node and npm on top, laid out as in the official image (/usr/local/bin, /usr/local/lib/node_modules).
echo "base-image: Node $("$node_bin" --version) from node_modules/node, npm $npm_version from the npm registry" >&2
mkdir -p "$work/add/usr/local/bin" "$work/add/usr/local/lib/node_modules/npm"
install -m 755 "$node_bin" "$work/add/usr/local/bin/node"
(cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null)
tar -C "$work/add/usr/local/lib/node_modules/npm" --strip-components=1 -xzf "$work/npm-$npm_version.tgz"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/add/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/add/usr/local/bin/npx"
install -D -m 644 "$ca_bundle" "$work/add/etc/ssl/certs/ca-certificates.crt"
cp "$debian_tar" "$work/rootfs.tar"
tar --delete -f "$work/rootfs.tar" ./etc/ssl/certs/ca-certificates.crt 2>/dev/null || true # replaced below
tar --numeric-owner --owner=0 --group=0 -rf "$work/rootfs.tar" -C "$work/add" ./usr/local/bin/node ./usr/local/bin/npm ./usr/local/bin/npx ./usr/local/lib/node_modules/npm \
  ./etc/ssl/certs/ca-certificates.crt

node_version=$("$node_bin" --version)
pick_podman import --quiet \
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV NODE_VERSION=${node_version#v}" \
  --change "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" \
  --change 'CMD ["node"]' \
  "$work/rootfs.tar" "$image" >/dev/null
echo "$image"
