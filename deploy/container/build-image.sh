#!/usr/bin/env bash
# Builds the project's Dockerfile with buildah on this machine (no Docker Hub): against the local
# base image of deploy/container/base-image.sh, in Docker format (an OCI image would drop the
# HEALTHCHECK and STOPSIGNAL). One layer per stage (--layers=false, unless BUILD_LAYERS=true): with
# the vfs storage driver, every cached intermediate layer is a full copy of the root file system,
# and the Dockerfile's 22 steps made the build 3-4x slower than the copies it saved.
#   deploy/container/build-image.sh TAG [REVISION]     e.g. localhost/pick-image-test:v1 v1
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=deploy/container/podman-env.sh
. "$here/podman-env.sh"
tag=${1:?TAG} revision=${2:-dev}
pick_podman_install
base=$(bash "$here/base-image.sh")
started=$SECONDS
buildah build --quiet --layers="${BUILD_LAYERS:-false}" --format docker \
  --build-arg NODE_IMAGE="$base" --build-arg REVISION="$revision" \
  --tag "$tag" --file "$root/Dockerfile" "$root" >/dev/null
echo "build-image: $tag ($revision) on $base in $((SECONDS - started))s" >&2
