import type { MessageFeed } from '../src/live/mqtt-feed.ts'
import type { InfluxClient, InfluxStatementResult } from '../src/influx/client.ts'

/** Messages pushed straight into the app, as raw bytes, so they go through the contract decoder. */
export class MemoryFeed implements MessageFeed {
  isConnected = true
  private deliver: ((topic: string, payload: Buffer) => void) | null = null
  start(onMessage: (topic: string, payload: Buffer) => void): void {
    this.deliver = onMessage
  }
  connected(): boolean {
    return this.isConnected
  }
  async close(): Promise<void> {
    this.deliver = null
  }
  publish(topic: string, payload: Buffer | string): void {
    this.deliver?.(topic, Buffer.from(payload))
  }
}

/** Answers each statement with `answer`; records what was asked. */
export class FakeInflux implements InfluxClient {
  readonly queries: string[] = []
  reachable = true
  answer: (statement: string) => InfluxStatementResult = () => ({ statement_id: 0 })
  async query(influxql: string): Promise<InfluxStatementResult[]> {
    this.queries.push(influxql)
    return influxql.split('; ').map((s, i) => ({ ...this.answer(s), statement_id: i }))
  }
  async ping(): Promise<boolean> {
    return this.reachable
  }
  close(): void {}
}
