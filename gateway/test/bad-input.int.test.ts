import type { SessionEvent, StatusEvent, Telemetry } from '@evmon/contracts'
import { afterEach, describe, expect, test } from 'vitest'
import WebSocket from 'ws'
import type { GatewayConfig } from '../src/config.ts'
import { Stack } from './harness.ts'

let stack: Stack
afterEach(async () => {
  await stack.close()
  // Whatever a test sent, nothing that reached the broker breaks the contract.
  expect(stack.rejected).toEqual([])
})

/** A raw WebSocket charger, to send frames no OCPP library would. */
class RawCharger {
  private readonly frames: unknown[] = []
  private waiters: (() => void)[] = []
  closed?: { code: number }
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()))
      for (const w of this.waiters.splice(0)) w()
    })
    ws.on('close', (code) => {
      this.closed = { code }
      for (const w of this.waiters.splice(0)) w()
    })
  }

  static async open(identity: string, password: string, protocol = 'ocpp1.6'): Promise<RawCharger> {
    const ws = new WebSocket(`${stack.gateway.ocppUrl}/beibei/${identity}`, [protocol], {
      headers: { authorization: `Basic ${Buffer.from(`${identity}:${password}`).toString('base64')}` },
    })
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    return new RawCharger(ws)
  }

  /** Sends a frame and resolves with the next frame the gateway answers. */
  async send(frame: string): Promise<unknown[]> {
    const before = this.frames.length
    this.ws.send(frame)
    return this.next(before)
  }

  /** Sends frames back to back and resolves with the next `count` answers. */
  async burst(frames: string[]): Promise<unknown[][]> {
    const before = this.frames.length
    for (const frame of frames) this.ws.send(frame)
    await this.next(before + frames.length - 1)
    return this.frames.slice(before, before + frames.length) as unknown[][]
  }

  async call(id: string, action: string, payload: unknown): Promise<unknown[]> {
    return this.send(JSON.stringify([2, id, action, payload]))
  }

  private async next(index: number): Promise<unknown[]> {
    const deadline = Date.now() + 5_000
    while (this.frames.length <= index) {
      if (this.closed) throw new Error(`closed (${this.closed.code})`)
      if (Date.now() > deadline) throw new Error('no answer')
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve)
        setTimeout(resolve, 100)
      })
    }
    return this.frames[index] as unknown[]
  }

  close(): void {
    this.ws.close()
  }
}

/** CS-1's password in the running test. */
let password = ''

async function booted(overrides: Partial<GatewayConfig> = {}): Promise<RawCharger> {
  stack = await Stack.start(overrides)
  password = await stack.addCharger('beibei', 'CS-1')
  const cp = await RawCharger.open('CS-1', password)
  expect(
    await cp.call('boot', 'BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' }),
  ).toMatchObject([3, 'boot', { status: 'Accepted' }])
  return cp
}

const counter = (name: Parameters<Stack['gateway']['metrics']['get']>[0], labels = {}) =>
  stack.gateway.metrics.get(name, labels)
const iso = (ms: number) => new Date(ms).toISOString()
/** A CALLERROR's type, message id and error code (its description and details vary). */
const head = (frame: unknown[]) => frame.slice(0, 3)

describe('frames that are not OCPP', () => {
  test('malformed JSON and non-array frames get RpcFrameworkError and are counted', async () => {
    const cp = await booted()
    expect(head(await cp.send('{"not json'))).toEqual([4, '-1', 'RpcFrameworkError'])
    expect(head(await cp.send('{"an":"object"}'))).toEqual([4, '-1', 'RpcFrameworkError'])
    expect(head(await cp.send('[2]'))).toEqual([4, '-1', 'RpcFrameworkError'])
    expect(await counter('evmon_gateway_bad_frames_total')).toBe(3)
    // The connection still works.
    expect(await cp.call('hb', 'Heartbeat', {})).toMatchObject([3, 'hb', { currentTime: expect.any(String) }])
    cp.close()
  })

  test('an unknown action is NotImplemented', async () => {
    const cp = await booted()
    expect(head(await cp.call('x', 'MakeCoffee', {}))).toEqual([4, 'x', 'NotImplemented'])
    expect(await counter('evmon_gateway_call_errors_total', { code: 'NotImplemented' })).toBe(1)
    cp.close()
  })

  test('payloads failing the OCPP schema get the spec error code, and nothing is published', async () => {
    const cp = await booted()
    const wrongType = await cp.call('t', 'StatusNotification', {
      connectorId: 'one',
      errorCode: 'NoError',
      status: 'Available',
    })
    expect(head(wrongType)).toEqual([4, 't', 'TypeConstraintViolation'])
    const badEnum = await cp.call('e', 'StatusNotification', {
      connectorId: 1,
      errorCode: 'NoError',
      status: 'Exploded',
    })
    expect(head(badEnum)).toEqual([4, 'e', 'FormationViolation'])
    const tooLong = await cp.call('l', 'Authorize', { idTag: 'X'.repeat(21) })
    expect(head(tooLong)).toEqual([4, 'l', 'FormationViolation'])
    expect(await counter('evmon_gateway_call_errors_total', { code: 'TypeConstraintViolation' })).toBe(1)
    expect(await counter('evmon_gateway_call_errors_total', { code: 'FormationViolation' })).toBe(2)
    expect(stack.messages.filter((m) => m.kind === 'status')).toEqual([])
    cp.close()
  })

  test('an oversized frame closes the connection (1009), counted; the station goes offline', async () => {
    const cp = await booted({ maxFrameBytes: 4096 })
    cp.ws.send(JSON.stringify([2, 'big', 'DataTransfer', { vendorId: 'v', data: 'x'.repeat(10_000) }]))
    await stack.until('close', () => cp.closed)
    expect(cp.closed?.code).toBe(1009)
    expect(await counter('evmon_gateway_oversized_frames_total')).toBe(1)
    await stack.until('offline', () =>
      stack.of('cs-1', 'online').find((m) => !(m.payload as { online: boolean }).online),
    )
  })
})

describe('calls out of order or too many', () => {
  test('a call before any accepted BootNotification is a SecurityError', async () => {
    stack = await Stack.start()
    password = await stack.addCharger('beibei', 'CS-1')
    const cp = await RawCharger.open('CS-1', password)
    const answer = await cp.call('s', 'StatusNotification', {
      connectorId: 1,
      errorCode: 'NoError',
      status: 'Available',
    })
    expect(head(answer)).toEqual([4, 's', 'SecurityError'])
    expect(await counter('evmon_gateway_before_boot_total')).toBe(1)
    expect(stack.messages.filter((m) => m.kind === 'status')).toEqual([])
    // Booting makes the same call work.
    await cp.call('b', 'BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' })
    expect(
      await cp.call('s2', 'StatusNotification', {
        connectorId: 1,
        errorCode: 'NoError',
        status: 'Available',
      }),
    ).toEqual([3, 's2', {}])
    cp.close()
  })

  test('a call flood is answered with errors beyond the burst, and counted', async () => {
    const cp = await booted({ callRatePerS: 1, callBurst: 5 })
    const answers = await cp.burst(
      Array.from({ length: 20 }, (_, i) => JSON.stringify([2, `h${i}`, 'Heartbeat', {}])),
    )
    // The boot took one token: four more heartbeats pass, the rest are refused.
    const refused = answers.filter((a) => a[0] === 4)
    expect(refused.length).toBeGreaterThanOrEqual(15)
    expect(refused[0]?.slice(2, 4)).toEqual(['GenericError', expect.stringContaining('calls/s')])
    expect(await counter('evmon_gateway_rate_limited_total')).toBe(refused.length)
    cp.close()
  })
})

describe('values and ids that make no sense', () => {
  test('unknown units and absurd values are not carried; the rest of the reading is', async () => {
    const cp = await booted()
    await cp.call('s', 'StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging' })
    const t = Date.now() - 100
    await cp.call('m', 'MeterValues', {
      connectorId: 1,
      meterValue: [
        {
          timestamp: iso(t),
          sampledValue: [
            { value: '12', measurand: 'Energy.Active.Import.Register', unit: 'kvarh' },
            { value: '5000', measurand: 'Power.Active.Import', unit: 'kW' },
            { value: '-3', measurand: 'SoC', unit: 'Percent' },
            { value: 'NaN', measurand: 'Voltage', unit: 'V' },
            { value: '101.5', measurand: 'Current.Import', unit: 'A' },
          ],
        },
      ],
    })
    const sample = await stack.until('telemetry with the current', () =>
      stack
        .of('cs-1', 'telemetry')
        .map((m) => m.payload as Telemetry)
        .find((s) => s.connectors[0]?.current_a !== undefined),
    )
    expect(sample.connectors[0]).toEqual({ id: 1, status: 'Charging', current_a: 101.5, measured_at: t })
    expect(await counter('evmon_gateway_values_rejected_total', { reason: 'unit' })).toBe(1)
    expect(await counter('evmon_gateway_values_rejected_total', { reason: 'absurd' })).toBe(2)
    expect(await counter('evmon_gateway_values_rejected_total', { reason: 'not_a_number' })).toBe(1)
    cp.close()
  })

  test('a transaction id the gateway never issued is refused and publishes nothing', async () => {
    const cp = await booted()
    const answer = await cp.call('x', 'StopTransaction', {
      transactionId: 987654,
      meterStop: 5,
      timestamp: iso(Date.now()),
    })
    expect(answer).toEqual([3, 'x', { idTagInfo: { status: 'Invalid' } }])
    await cp.call('m', 'MeterValues', {
      connectorId: 1,
      transactionId: 987654,
      meterValue: [{ timestamp: iso(Date.now()), sampledValue: [{ value: '5' }] }],
    })
    expect(await counter('evmon_gateway_unknown_transactions_total')).toBe(2)
    expect(stack.messages.filter((m) => m.kind === 'session')).toEqual([])
    cp.close()
  })

  test('time stamps in the future or years in the past are not trusted', async () => {
    const cp = await booted()
    const before = Date.now()
    // A charger whose clock was reset: its status happened now, not in 2001.
    await cp.call('s', 'StatusNotification', {
      connectorId: 1,
      errorCode: 'NoError',
      status: 'Available',
      timestamp: '2001-01-01T00:00:00Z',
    })
    const status = await stack.until('status', () => stack.of('cs-1', 'status').at(0))
    expect((status.payload as StatusEvent).ts).toBeGreaterThanOrEqual(before)
    // Readings dated an hour ahead or years back are dropped.
    await cp.call('m', 'MeterValues', {
      connectorId: 1,
      meterValue: [
        { timestamp: iso(Date.now() + 3_600_000), sampledValue: [{ value: '100' }] },
        { timestamp: '2019-06-01T00:00:00Z', sampledValue: [{ value: '90' }] },
      ],
    })
    expect(await counter('evmon_gateway_values_rejected_total', { reason: 'ts_past' })).toBe(2)
    expect(await counter('evmon_gateway_values_rejected_total', { reason: 'ts_future' })).toBe(1)
    await new Promise((r) => setTimeout(r, 500))
    const carried = stack
      .of('cs-1', 'telemetry')
      .filter((m) => (m.payload as Telemetry).connectors[0]?.energy_wh !== undefined)
    expect(carried).toEqual([])
    cp.close()
  })
})

test('a charger reconnecting mid-transaction sends its queued messages: the session ends right, time never runs back', async () => {
  const cp = await booted()
  await cp.call('s', 'StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging' })
  const t0 = Date.now() - 10_000
  const start = await cp.call('start', 'StartTransaction', {
    connectorId: 1,
    idTag: 'T',
    meterStart: 50_000,
    timestamp: iso(t0),
  })
  const transactionId = (start[2] as { transactionId: number }).transactionId
  await cp.call('m0', 'MeterValues', {
    connectorId: 1,
    transactionId,
    meterValue: [{ timestamp: iso(t0 + 8_000), sampledValue: [{ value: '51.5', unit: 'kWh' }] }],
  })
  // The network drops; the charger queues what it measured meanwhile and reconnects without booting.
  cp.ws.terminate()
  await stack.until('offline', () =>
    stack.of('cs-1', 'online').find((m) => !(m.payload as { online: boolean }).online),
  )
  const again = await RawCharger.open('CS-1', password)
  // Queued: a reading older than the one already held (late), then the stop.
  expect(
    await again.call('q1', 'MeterValues', {
      connectorId: 1,
      transactionId,
      meterValue: [{ timestamp: iso(t0 + 4_000), sampledValue: [{ value: '50.7', unit: 'kWh' }] }],
    }),
  ).toEqual([3, 'q1', {}])
  expect(await counter('evmon_gateway_values_rejected_total', { reason: 'late' })).toBe(1)
  const t1 = t0 + 9_000
  await again.call('q2', 'StopTransaction', {
    transactionId,
    meterStop: 52_000,
    timestamp: iso(t1),
    reason: 'PowerLoss',
  })
  const stopped = await stack.until('stopped', () =>
    stack
      .of('cs-1', 'session')
      .map((m) => m.payload as SessionEvent)
      .find((s) => s.event === 'stopped'),
  )
  expect(stopped).toMatchObject({
    ts: t1,
    energy_wh: 2_000,
    reason: 'PowerLoss',
    session: `cs-1-${transactionId}`,
  })
  await new Promise((r) => setTimeout(r, 400))
  const measured = stack
    .of('cs-1', 'telemetry')
    .map((m) => (m.payload as Telemetry).connectors[0]?.measured_at)
    .filter((t): t is number => t !== undefined)
  expect(measured.length).toBeGreaterThan(0)
  expect(measured).toEqual([...measured].sort((a, b) => a - b))
  again.close()
})
