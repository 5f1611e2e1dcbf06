# syntax=docker/dockerfile:1
# Pick: one image per commit. Build stage compiles; the runtime stage holds dist/ and production
# dependencies only, runs as a non-root user, and starts the PM2 cluster (pm2-runtime keeps PM2
# in the foreground as PID 1's child and forwards signals, so `docker stop` drains workers).
# The deploy workflow also copies /app out of this image as the release it rolls onto the
# PM2 app servers: the same bits run in a container and on the hosts.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# `npm install` with the lock file, as CI does (`npm ci` rejects this lock file's optional packages).
RUN npm install --no-audit --no-fund
COPY tsconfig.json nest-cli.json ./
COPY config ./config
COPY migrations ./migrations
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    PICK_INSTANCES=2
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ecosystem.config.js ./
COPY --chown=node:node deploy/server.sh ./deploy/server.sh
ARG REVISION=dev
RUN echo "$REVISION" > REVISION
USER node
EXPOSE 3000
# Liveness only: a MySQL or Redis outage must not get the container restarted (readiness is
# /health/ready, which nginx and deploy.sh use).
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node_modules/.bin/pm2-runtime", "ecosystem.config.js"]
