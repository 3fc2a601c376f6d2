import { DEFAULT_TIME_ZONE } from '@evmon/contracts/site'
import fastifyWebsocket from '@fastify/websocket'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import type { ApiConfig } from './config.ts'
import { LiveStream } from './live/live-stream.ts'
import { createMqttFeed, type MessageFeed } from './live/mqtt-feed.ts'
import { ApiMetrics } from './metrics.ts'
import { setupDashboard } from './plugins/dashboard.ts'
import { setupErrorHandler } from './plugins/error-handler.ts'
import { createInfluxClient, setupInflux, type InfluxClient } from './influx/client.ts'
import { setupLiveState } from './plugins/live-state.ts'
import { setupRequestMetrics } from './plugins/request-metrics.ts'
import { healthRoutes } from './routes/health/index.ts'
import { liveRoutes, liveStreamRoutes } from './routes/live/index.ts'
import { meRoutes } from './routes/me/index.ts'
import { metricsRoutes } from './routes/metrics/index.ts'
import { formatValidationErrors } from './routes/schemas.ts'
import { stationRoutes } from './routes/stations/index.ts'
import { AlertEngine } from './alerts/alert-engine.ts'
import { AlertFileWriter, loadAlertEngine } from './alerts/alert-file.ts'
import { createLiveViews, LIVE_PERIOD_MS } from './live/live-view.ts'
import { auxLoadByHour } from './live/site-totals.ts'
import { createAuthorization } from './plugins/app/authorization.ts'
import { corsPolicy } from './plugins/external/cors.ts'
import { setupHelmet } from './plugins/external/helmet.ts'
import { setupRateLimit } from './plugins/external/rate-limit.ts'
import { setupSwagger } from './plugins/external/swagger.ts'
import { alertRoutes } from './routes/alerts/index.ts'
import { analyticsRoutes } from './routes/analytics/index.ts'
import { availabilityRoutes } from './routes/availability/index.ts'
import { exportRoutes } from './routes/export/index.ts'
import { sessionRoutes } from './routes/sessions/index.ts'
import { siteDescriptionRoutes } from './routes/sites/description.ts'
import { siteRoutes } from './routes/sites/index.ts'
import { loadCatalogue } from './sites/site-catalogue.ts'
import type { Services } from './services.ts'

/** A client's username and password options, each left out when not configured. */
const credentials = (username: string | undefined, password: string | undefined) => ({
  ...(username !== undefined && { username }),
  ...(password !== undefined && { password }),
})

/** Stand-ins for the app's upstreams; unit tests pass in-memory ones, the service uses the defaults. */
export interface AppDeps {
  /** Station messages; default: an MQTT client on `config.mqttUrl`. */
  feed?: MessageFeed
  /** InfluxQL; default: HTTP against `config.influxUrl`. */
  influx?: InfluxClient
  /** Milliseconds since the epoch; default: `Date.now`. */
  clock?: () => number
}

const appDefaults = {
  wsMaxPayloadBytes: 4_096, // clients only listen or send small control frames; anything larger is abuse
  alertCheckIntervalMs: 1_000, // stale stations and site load are checked once per sample period
  alertSaveDebounceMs: 250, // alerts come in bursts (a site going offline opens one per station): one write each
} as const

/**
 * Builds the API without listening (tests use `inject` or listen on port 0 themselves). Upstream
 * clients start when the app is ready and are closed with it; a broker or InfluxDB that is down
 * shows in `/healthz`, it does not stop the app.
 */
export async function buildApp(config: Readonly<ApiConfig>, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: config.logLevel },
    // One line per request floods the terminal of `npm start`; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    // Behind no proxy by default: the client address is the socket's, so rate limits cannot be dodged by a header.
    trustProxy: false,
    schemaErrorFormatter: formatValidationErrors,
  }).withTypeProvider<TypeBoxTypeProvider>()
  const clock = deps.clock ?? Date.now
  const metrics = new ApiMetrics()
  setupErrorHandler(app)
  setupRequestMetrics(app, metrics)
  // Order matters: helmet's hook comes first so that every answer carries its headers; the rate limit
  // and the OpenAPI document cover only the routes registered after them.
  const { requireRole, validTokenHash } = createAuthorization(config)
  await setupHelmet(app, corsPolicy(config.corsOrigins))
  setupRateLimit(app, config, validTokenHash)
  await setupSwagger(app)
  const catalogue = loadCatalogue(config.sitesDir)
  const { alertsFile } = config
  const alerts =
    alertsFile === undefined ? new AlertEngine() : await loadAlertEngine(alertsFile, app.log, clock())
  if (alertsFile !== undefined) {
    const writer = new AlertFileWriter(alertsFile, alerts, app.log, appDefaults.alertSaveDebounceMs)
    alerts.subscribe(() => writer.schedule())
    // Registered before the feed's hook, so it runs after it (onClose hooks run last-in first-out):
    // the final save sees every message the feed delivered.
    app.addHook('onClose', () => writer.close())
  }

  const feed =
    deps.feed ??
    createMqttFeed({
      url: config.mqttUrl,
      log: app.log,
      ...credentials(config.mqttUsername, config.mqttPassword),
    })
  const live = setupLiveState(app, {
    feed,
    metrics,
    clock,
    sampleIntervalMs: config.sampleIntervalMs,
    onDecoded: (message, receivedAt) => alerts.observe(message, receivedAt),
  })
  const gridLimitW = (site: string): number | null => catalogue.sites.get(site)?.gridLimitW ?? null
  const auxLoadW = auxLoadByHour(
    (site) => catalogue.sites.get(site)?.auxKwByHour ?? null,
    (site) => catalogue.sites.get(site)?.timezone ?? DEFAULT_TIME_ZONE,
  )
  const views = createLiveViews(live, clock, gridLimitW, LIVE_PERIOD_MS, auxLoadW)
  const influx = setupInflux(
    app,
    deps.influx ??
      createInfluxClient({
        url: config.influxUrl,
        database: config.influxDb,
        ...credentials(config.influxUsername, config.influxPassword),
      }),
  )
  const stream = new LiveStream({
    periodMs: LIVE_PERIOD_MS,
    clock,
    frame: (filter) => views.frame(filter),
    changeKey: () => `${live.version}:${live.staleCount(clock())}`,
  })
  metrics.gauge('evmon_api_ws_clients', 'Connected live-stream WebSocket clients.', () => stream.size)
  app.addHook('onClose', async () => stream.close())
  // Staleness and site load change with time alone, so the alert rules also run on a clock.
  const alertTimer = setInterval(() => {
    const now = clock()
    const { stale, sitePowerW } = live.scan(now)
    const sites = [...sitePowerW].map(([site, power_w]) => ({
      site,
      power_w,
      grid_limit_w: gridLimitW(site),
    }))
    alerts.check(now, stale, sites)
  }, appDefaults.alertCheckIntervalMs)
  alertTimer.unref()
  app.addHook('onClose', async () => clearInterval(alertTimer))

  const services: Services = {
    clock,
    excludedTime: config.excludedTime,
    metrics,
    feed,
    live,
    views,
    stream,
    influx,
    catalogue,
    alerts,
    requireRole,
  }
  await app.register(healthRoutes, { services })
  await app.register(metricsRoutes, { services })
  await app.register(meRoutes, { prefix: '/api/v1', services })
  await app.register(liveRoutes, { prefix: '/api/v1', services })
  await app.register(stationRoutes, { prefix: '/api/v1', services })
  await app.register(availabilityRoutes, { prefix: '/api/v1', services })
  await app.register(siteRoutes, { prefix: '/api/v1', services })
  await app.register(siteDescriptionRoutes, { prefix: '/api/v1', services })
  await app.register(analyticsRoutes, { prefix: '/api/v1', services })
  await app.register(sessionRoutes, { prefix: '/api/v1', services })
  // @fastify/websocket adds an onRequest and an onResponse hook and wraps the handler of every route in
  // its context; kept in a context of its own, it costs nothing on the other routes. Alerts and export
  // each have a WebSocket route next to plain ones, so those plain routes pay it (they are not hot).
  // Upgrade requests for routes outside this context are answered over HTTP, and their socket closed.
  await app.register(async (streams) => {
    await streams.register(fastifyWebsocket, { options: { maxPayload: appDefaults.wsMaxPayloadBytes } })
    await streams.register(liveStreamRoutes, { prefix: '/api/v1', services })
    await streams.register(alertRoutes, { prefix: '/api/v1', services })
    await streams.register(exportRoutes, { prefix: '/api/v1', services })
  })
  await setupDashboard(app, config.dashboardDir)
  return app
}
