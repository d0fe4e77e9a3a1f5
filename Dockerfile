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
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["serve"]
