#!/usr/bin/env bash
# Podman and buildah for the container tests on this kind of machine (a container itself, on
# hybrid cgroups, without CAP_SYS_RESOURCE), kept apart from the machine's own configuration:
# every setting and every image lives under PICK_PODMAN_DIR (default ~/.cache/pick-podman: a
# dedicated directory outside the checkout, so a fresh clone on the same machine reuses the
# content-keyed base image and build layers; delete it to start from nothing).
#
#   . deploy/container/podman-env.sh        (sourced: exports CONTAINERS_* and defines functions)
#   pick_podman_install                     installs podman, buildah, runc, catatonit, mmdebstrap
#                                           from Debian when missing (apt-get; root or sudo)
#   pick_podman ARGS...                     podman with this configuration
#   pick_buildah ARGS...                    buildah with this configuration
#
# What the configuration says, and why:
#   runtime runc, cgroup_manager cgroupfs   crun fails on this machine's hybrid cgroup layout;
#                                           there is no systemd to manage cgroups
#   default_ulimits = []                    podman's default nofile/nproc ulimits need
#                                           CAP_SYS_RESOURCE; a container gets an explicit
#                                           --ulimit (deploy/server.sh: NOFILE) or the host's
#   storage driver vfs                      overlay is not available inside this container
#   events_logger file                      no journald
#   short names refused                     an image is always named in full (localhost/...)
# Another user of the same script (test:fresh-machine) may pass its own PICK_PODMAN_DIR; images
# and containers of the image test are all named pick-image-test*.

export PICK_PODMAN_DIR=${PICK_PODMAN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pick-podman}
mkdir -p "$PICK_PODMAN_DIR/storage" "$PICK_PODMAN_DIR/run" "$PICK_PODMAN_DIR/tmp"

pick_podman_write() { # path, content on stdin: rewritten only when it differs
  local tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [ -f "$1" ] && cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}

pick_podman_write "$PICK_PODMAN_DIR/containers.conf" <<CONF
[containers]
default_ulimits = []
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$PICK_PODMAN_DIR/tmp"
CONF
pick_podman_write "$PICK_PODMAN_DIR/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$PICK_PODMAN_DIR/storage"
runroot = "$PICK_PODMAN_DIR/run"
CONF
pick_podman_write "$PICK_PODMAN_DIR/registries.conf" <<'CONF'
unqualified-search-registries = []
short-name-mode = "enforcing"
CONF

export CONTAINERS_CONF=$PICK_PODMAN_DIR/containers.conf
export CONTAINERS_STORAGE_CONF=$PICK_PODMAN_DIR/storage.conf
export CONTAINERS_REGISTRIES_CONF=$PICK_PODMAN_DIR/registries.conf
export TMPDIR=${TMPDIR:-$PICK_PODMAN_DIR/tmp}
# buildah runs RUN steps in a chroot: no second OCI runtime set-up for the build.
export BUILDAH_ISOLATION=chroot

pick_podman() { podman "$@"; }
pick_buildah() { buildah "$@"; }

pick_podman_install() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v buildah >/dev/null || missing+=(buildah)
  command -v runc >/dev/null || [ -x /usr/sbin/runc ] || missing+=(runc)
  [ -x /usr/libexec/podman/catatonit ] || [ -x /usr/bin/catatonit ] || missing+=(catatonit)
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  [ ${#missing[@]} -gt 0 ] || return 0
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "podman-env: installing ${missing[*]} from Debian"
  # Other jobs on the machine may hold the dpkg lock for a while: wait for it.
  "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq &&
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
}
