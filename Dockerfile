# syntax=docker/dockerfile:1
# Pick: the image IS the release. CI builds it once per commit, pushes it tagged by the commit
# SHA, and every app server runs exactly that image with Docker Engine (deploy/server.sh:
# `docker run --init --network host --env-file /srv/pick/.env ...`); inside, pm2-runtime runs the
# PM2 cluster, one worker per core unless PICK_INSTANCES says otherwise. There is no other
# release path: no tarball, no Node on the hosts. Operations: deploy/README.md.
#
# Base: node:24-bookworm-slim pinned by digest (linux/amd64 + arm64 index; Node 24.18.0 when
# pinned), so a rebuild of an old commit gets the same bits. To update it: `docker buildx
# imagetools inspect node:24-bookworm-slim` (or Dependabot's docker ecosystem), paste the new
# digest here, and let CI test it like any change. Local builds can pass their own base
# (`--build-arg NODE_IMAGE=...`): the image test builds against a Debian bookworm root with the
# project's own Node 24 (deploy/container/base-image.sh), because Docker Hub is not reachable there.
ARG NODE_IMAGE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Installs exactly the lock file's versions. `npm install` rather than `npm ci`: `npm ci` insists
# that the lock file and package.json agree to the letter and deletes node_modules first; with the
# registry mirror the project uses it fails (see .ci/run), so CI, the tests and this build all use
# the same `npm install` of the committed lock file (it never rewrites it for a valid lock).
# --ignore-scripts: the only install script the project allows (package.json "allowScripts") is
# the `node` devDependency's, which downloads a second Node binary; the base image has Node 24.
RUN --mount=type=cache,target=/root/.npm \
    npm install --no-audit --no-fund --ignore-scripts
COPY tsconfig.json nest-cli.json ./
COPY config ./config
COPY migrations ./migrations
COPY src ./src
# nest's CLI is called directly: `npm run build` would put node_modules/.bin first on PATH, and
# there `node` is the `node` package's placeholder (its install script was skipped above).
RUN node node_modules/@nestjs/cli/bin/nest.js build \
 && npm prune --omit=dev --no-audit --no-fund --ignore-scripts

FROM ${NODE_IMAGE} AS runtime
# App files belong to root and are read-only for the `node` user the processes run as: a
# compromised worker cannot rewrite the code it runs. PM2 writes only under /home/node/.pm2.
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ecosystem.config.js ./
ARG REVISION=dev
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    PICK_RELEASE=${REVISION} \
    PICK_CONTAINER=1 \
    PATH=/app/node_modules/.bin:$PATH
LABEL org.opencontainers.image.revision=${REVISION} \
      org.opencontainers.image.title=pick
USER node
EXPOSE 3000
# PID 1: run with `--init` (Docker's tini; deploy/server.sh does): it reaps zombies and forwards
# the stop signal to pm2-runtime. pm2-runtime handles SIGTERM (and SIGINT) the same way: it
# sends each worker PM2's kill_signal (SIGINT), which closes the listener, finishes in-flight
# requests and active Bull jobs, then waits up to kill_timeout (15 s) before SIGKILL. The
# container's stop timeout (deploy/server.sh STOP_TIMEOUT, 45 s) is longer than that.
STOPSIGNAL SIGTERM
# Liveness, not readiness: Docker acts on this status (restarts under an orchestrator, "unhealthy"
# in `docker ps`), and a MySQL or Redis outage must not get every container killed and
# restarted at once. Readiness (/health/ready: MySQL and Redis answer, not draining) is what
# deploy.sh gates a new container on before nginx is switched to it.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Logs: pm2-runtime prints every worker's lines to stdout/stderr, so they go to Docker's log
# driver (json-file, rotated: deploy/server.sh) and `docker logs`.
CMD ["pm2-runtime", "ecosystem.config.js"]
