import { readEnv } from '@evmon/runtime'
import { afterAll, expect, test } from 'vitest'
import { startTestStack, type TestStack } from './e2e/stack.ts'
import { stackEnv } from '../scripts/stack-env.ts'
import { FIRST_START_BACKFILL_S } from '../scripts/stack.ts'

// `npm start`'s first start: the site's recent past is simulated and written over MQTT, then the stack
// goes live with two of its stations played as OCPP chargers (1.6J and 2.0.1) through the gateway. The
// hand-over of a station from one path to the other must refuse nothing and raise nothing: the same
// energy register arrives rounded two ways (Wh with 3 decimals over MQTT, kWh with 4 decimals over OCPP
// 1.6J), and with the seed `npm start` uses, kc-fast-1's second gun reads 524,128.104 Wh at the end of the
// past and 524.1281 kWh on its charger's first MeterValues.
let stack: TestStack | undefined
afterAll(async () => {
  await stack?.stop()
})

async function influxCount(q: string): Promise<number> {
  const { influxUrl, influxDb } = stack as TestStack
  const res = await fetch(`${influxUrl}/query?db=${influxDb}&epoch=ms&q=${encodeURIComponent(q)}`)
  const body = (await res.json()) as { results: Array<{ series?: Array<{ values: unknown[][] }> }> }
  return Number(body.results[0]?.series?.[0]?.values[0]?.[1] ?? 0)
}

test("the first start's hand-over from the MQTT past to the OCPP chargers refuses nothing and raises nothing", async () => {
  // As npm start runs it: its default seed and its week of past.
  stack = await startTestStack({
    simSeed: readEnv(stackEnv, {}).values.simSeed,
    firstStartBackfillS: FIRST_START_BACKFILL_S,
  })
  const live = Date.now()
  // Both OCPP stations' live telemetry stored: each charger's MeterValues went through the gateway,
  // the broker and ingest's register guard.
  const stored = (station: string) =>
    influxCount(`SELECT count(energy_wh) FROM connector WHERE station = '${station}' AND time >= ${live}ms`)
  const deadline = Date.now() + 60_000
  while ((await stored('kc-fast-1')) === 0 || (await stored('kc-fast-2')) === 0) {
    if (Date.now() > deadline)
      throw new Error(
        `no live kc-fast-1/kc-fast-2 energy stored within 60 s\n${stack.logs.slice(-40).join('\n')}`,
      )
    await new Promise((resolve) => setTimeout(resolve, 1_000))
  }
  const metrics = await (await fetch(stack.ingestMetricsUrl)).text()
  const rejected = [...metrics.matchAll(/^evmon_ingest_messages_rejected_total\{reason="(\w+)"\} (\d+)$/gm)]
  expect(rejected.length).toBeGreaterThan(0)
  expect(rejected.filter(([, , n]) => n !== '0').map(([line]) => line)).toEqual([])
  const res = await fetch(new URL('/api/v1/alerts', stack.dashboardUrl), {
    headers: { authorization: `Bearer ${stack.devToken}` },
  })
  expect(res.status).toBe(200)
  const { alerts } = (await res.json()) as { alerts: Array<{ type: string; message: string }> }
  expect(alerts.filter((a) => a.type === 'register_backwards')).toEqual([])
}, 300_000)
