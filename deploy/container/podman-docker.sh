#!/usr/bin/env bash
# A `docker` command for this machine: podman with deploy/container/podman-env.sh's settings.
# deploy.sh and server.sh take it as DOCKER=deploy/container/podman-docker.sh in the image test,
# so the very commands production runs with Docker Engine run here with podman.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=deploy/container/podman-env.sh
. "$(dirname "$0")/podman-env.sh"
exec podman "$@"
