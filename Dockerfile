# One image for every evmon service; docker-compose.yml picks the entrypoint per service.
# Services run from TypeScript through tsx's loader, exactly as `npm start` runs them.

# 1. Every dependency, to build the dashboard.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY contracts/package.json contracts/
COPY runtime/package.json runtime/
COPY broker/package.json broker/
COPY ingest/package.json ingest/
COPY api/package.json api/
COPY dashboard/package.json dashboard/
COPY simulator/package.json simulator/
COPY gateway/package.json gateway/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# 2. Production dependencies only (tsx is one: it is the runtime loader).
FROM node:20-bookworm-slim AS prod-deps
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/contracts/package.json contracts/
COPY --from=build /app/runtime/package.json runtime/
COPY --from=build /app/broker/package.json broker/
COPY --from=build /app/ingest/package.json ingest/
COPY --from=build /app/api/package.json api/
COPY --from=build /app/dashboard/package.json dashboard/
COPY --from=build /app/simulator/package.json simulator/
COPY --from=build /app/gateway/package.json gateway/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# 3. Runtime: sources, production modules, the built dashboard; runs as the unprivileged `node` user.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=prod-deps /app/node_modules node_modules
COPY --from=build /app/package.json ./
COPY --from=build /app/contracts contracts
COPY --from=build /app/runtime runtime
COPY --from=build /app/broker broker
COPY --from=build /app/ingest ingest
COPY --from=build /app/api api
COPY --from=build /app/simulator simulator
COPY --from=build /app/gateway gateway
COPY --from=build /app/config config
COPY --from=build /app/scripts/healthcheck.mjs scripts/healthcheck.mjs
COPY --from=build /app/dashboard/dist dashboard/dist
# /data is where docker-compose.yml mounts each service's named volume: a new volume takes the mount
# point's owner from the image, so the unprivileged user can write its spool, state and alerts there.
RUN mkdir -p /app/var /data && chown node:node /app/var /data
USER node
# Each service sets EVMON_HEALTH_URL to its own /healthz (see docker-compose.yml).
HEALTHCHECK --interval=10s --timeout=5s --retries=5 CMD ["node", "scripts/healthcheck.mjs"]
CMD ["node", "--import", "tsx", "api/src/main.ts"]
