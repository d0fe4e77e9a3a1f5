# syntax=docker/dockerfile:1
# gatehouse: docker build -t ghcr.io/gatehouse/gatehouse:0.1.0 .
# Pin the base by digest for releases (node:24-slim@sha256:…); both stages must share it.
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts run here as they do in CI: the `node` devDependency pins the Node that npm
# scripts (the build) run on.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Runtime dependencies only; none needs its install script (protobufjs's only checks its CLI).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY proto ./proto
COPY policies ./policies
# Everything above is root's and read-only to the server. A numeric user, so that Kubernetes'
# runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE 9191 9192
# No NODE_OPTIONS: `serve` sizes itself from the container's cgroup limits (docs/deploy.md,
# "Sizing"): as many workers as the CPU limit and 80% of the memory limit allow (400 MiB with no
# limit), then node started again, same pid, with --max-semi-space-size=16 and an old space of
# half each process's share, at least 256 MiB. Other commands keep Node's defaults. A --max-semi-space-size or
# --max-old-space-size given in NODE_OPTIONS (`docker run -e NODE_OPTIONS=…`) stands instead.
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["serve"]
