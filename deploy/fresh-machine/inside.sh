#!/usr/bin/env bash
# Runs inside the fresh machine (deploy/fresh-machine/run.sh) as the newcomer: clone the bundle,
# then each of the README's commands, given as arguments, exactly as written, each timed.
set -uo pipefail
say() { echo "fresh-machine: $*"; }
say "$(. /etc/os-release && echo "$PRETTY_NAME"), node $(node --version), npm $(npm --version), $(git --version), user $(id -un)"
git -c advice.detachedHead=false clone --quiet /src/pick.bundle pick || exit 1
cd pick || exit 1
timings=()
for command in "$@"; do
  say "\$ $command"
  begun=$(date +%s)
  bash -c "$command"
  status=$?
  took=$(($(date +%s) - begun))
  timings+=("\`$command\` ${took} s")
  if [ $status -ne 0 ]; then
    say "\`$command\` failed (exit $status) after ${took} s"
    exit $status
  fi
  say "\`$command\` passed in ${took} s"
done
say "timings: ${timings[*]}"
