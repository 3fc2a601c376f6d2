# One image for every evmon service; the compose file picks the entrypoint per service.
# Services run from TypeScript through tsx's loader, exactly as `npm start` runs them.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY contracts/package.json contracts/
COPY broker/package.json broker/
COPY ingest/package.json ingest/
COPY api/package.json api/
COPY dashboard/package.json dashboard/
COPY simulator/package.json simulator/
RUN npm ci --no-audit --no-fund

FROM deps AS build
COPY . .
RUN npm run build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app /app
USER node
# Overridden per service in docker-compose.yml, e.g. ["node", "--import", "tsx", "broker/src/main.ts"].
CMD ["node", "--import", "tsx", "api/src/main.ts"]
