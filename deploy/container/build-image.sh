#!/usr/bin/env bash
# Builds the project's Dockerfile with buildah on this machine (no Docker Hub): against the local
# base image of deploy/container/base-image.sh, in Docker format (an OCI image would drop the
# HEALTHCHECK and STOPSIGNAL). Layers are cached: a rebuild with an unchanged lock file skips
# `npm install`.
#   deploy/container/build-image.sh TAG [REVISION]     e.g. localhost/pick-image-test:v1 v1
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/podman-env.sh"
tag=${1:?TAG} revision=${2:-dev}
pick_podman_install
base=$(bash "$here/base-image.sh")
started=$SECONDS
buildah build --quiet --layers --format docker \
  --build-arg NODE_IMAGE="$base" --build-arg REVISION="$revision" \
  --tag "$tag" --file "$root/Dockerfile" "$root" >/dev/null
echo "build-image: $tag ($revision) on $base in $((SECONDS - started))s" >&2
