import type { ExcludedWindow } from '@evmon/contracts'
import type { AlertEngine } from './alerts/alert-engine.ts'
import type { LiveState } from './live/live-state.ts'
import type { LiveStream } from './live/live-stream.ts'
import type { LiveViews } from './live/live-view.ts'
import type { MessageFeed } from './live/mqtt-feed.ts'
import type { ApiMetrics } from './metrics.ts'
import type { InfluxClient } from './influx/client.ts'
import type { RequireRole } from './plugins/app/authorization.ts'
import type { SiteCatalogue } from './sites/site-catalogue.ts'

/** What route plugins receive: passed explicitly as plugin options rather than decorated onto the app. */
export interface Services {
  clock: () => number
  /** Declared excluded time for uptime (EVMON_API_EXCLUDED_TIME_FILE). */
  excludedTime: readonly ExcludedWindow[]
  metrics: ApiMetrics
  feed: MessageFeed
  live: LiveState
  views: LiveViews
  stream: LiveStream
  influx: InfluxClient
  catalogue: SiteCatalogue
  alerts: AlertEngine
  requireRole: RequireRole
}
