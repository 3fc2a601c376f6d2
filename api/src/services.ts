import type { LiveState } from './live/live-state.ts'
import type { LiveStream } from './live/live-stream.ts'
import type { MessageFeed } from './live/mqtt-feed.ts'
import type { ApiMetrics } from './metrics.ts'
import type { InfluxClient } from './plugins/influx.ts'

/** What route plugins receive: passed explicitly as plugin options rather than decorated onto the app. */
export interface Services {
  clock: () => number
  metrics: ApiMetrics
  feed: MessageFeed
  live: LiveState
  stream: LiveStream
  influx: InfluxClient
}
