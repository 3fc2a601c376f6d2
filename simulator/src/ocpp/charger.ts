import {
  STOPPED_REASONS_201,
  type ConnectorSample,
  type ConnectorStatus,
  type MeterSample,
  type OcppProtocol,
  type SessionEvent,
  type StatusEvent,
} from '@evmon/contracts'
import { RPCClient } from 'ocpp-rpc'
import type { SimMessage } from '../messages.ts'
import type { Logger } from '../publisher.ts'

// One simulated station acting as an OCPP charge point: what the model publishes on the MQTT contract
// is said the way a charger says it to its central system (here evmon's gateway). Calls go out one at a
// time, in order, as OCPP-J requires. Transaction messages (start, stop, meter values inside a
// transaction) are kept while the connection is down and sent after the next boot, as chargers queue
// them; status and idle meter values are not, because the charger reports its status again at boot.

export interface ChargerOptions {
  /** Gateway endpoint without the identity, e.g. `ws://127.0.0.1:9220/ocpp/beibei`. */
  endpoint: string
  identity: string
  password?: string
  protocol: OcppProtocol
  /** Simulated seconds between meter values (OCPP 1.6 MeterValueSampleInterval). */
  meterIntervalS: number
  /** Transaction messages kept while disconnected; beyond this the oldest meter values are dropped. */
  maxQueued: number
  reconnectDelayMs: number
  log: Logger
}

interface Job {
  method: string
  /** Built when the call goes out, so a 1.6 transaction id issued meanwhile is used. */
  params: () => Record<string, unknown> | null
  /** Kept across a lost connection (transaction messages). */
  durable: boolean
  onResult?: (result: Record<string, unknown>) => void
}

interface Transaction {
  session: string
  /** 1.6: issued by the central system in the StartTransaction answer. */
  id?: number
  /** 2.0.1: TransactionEvent sequence number. */
  seqNo: number
  chargingState?: string
}

type Status201 = 'Available' | 'Occupied' | 'Reserved' | 'Unavailable' | 'Faulted'
const STATUS_201: Record<ConnectorStatus, Status201> = {
  Available: 'Available',
  Preparing: 'Occupied',
  Charging: 'Occupied',
  SuspendedEVSE: 'Occupied',
  SuspendedEV: 'Occupied',
  Finishing: 'Occupied',
  Reserved: 'Reserved',
  Unavailable: 'Unavailable',
  Faulted: 'Faulted',
}
// The 2.0.1 chargingState of a connector in a transaction, from the model's (1.6) status.
const CHARGING_STATE: Partial<Record<ConnectorStatus, string>> = {
  Charging: 'Charging',
  SuspendedEV: 'SuspendedEV',
  SuspendedEVSE: 'SuspendedEVSE',
  Preparing: 'EVConnected',
  Finishing: 'EVConnected',
}

/** OCPP 2.0.1's stoppedReason for the model's 1.6 stop reason: a car ending its charge is StoppedByEV. */
export function stoppedReason201(reason: string | undefined): string {
  if (reason === undefined || reason === 'Local') return 'Local'
  if (reason === 'EVDisconnected') return 'StoppedByEV'
  return (STOPPED_REASONS_201 as readonly string[]).includes(reason) ? reason : 'Other'
}

type ClientOptions = ConstructorParameters<typeof RPCClient>[0]

const iso = (ms: number) => new Date(ms).toISOString()
const ID_TAG = 'EVMON-SIM'

/** 1.6 sampled values: registers in kWh and power in kW, as strings (the schema's type). */
function sampled16(c: Partial<ConnectorSample>, context: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  const add = (value: number | undefined, measurand: string, unit: string, extra = {}) => {
    if (value !== undefined) out.push({ value: String(value), context, measurand, unit, ...extra })
  }
  add(
    c.energy_wh === undefined ? undefined : round(c.energy_wh / 1000, 4),
    'Energy.Active.Import.Register',
    'kWh',
  )
  add(c.power_w === undefined ? undefined : round(c.power_w / 1000, 3), 'Power.Active.Import', 'kW')
  add(c.offered_w === undefined ? undefined : round(c.offered_w / 1000, 3), 'Power.Offered', 'kW')
  add(c.current_a, 'Current.Import', 'A')
  add(c.voltage_v, 'Voltage', 'V')
  add(c.soc_pct, 'SoC', 'Percent', { location: 'EV' })
  add(c.temp_c, 'Temperature', 'Celsius', { location: 'Outlet' })
  return out
}

/** 2.0.1 sampled values: numbers with their unit of measure, in W and Wh. */
function sampled201(c: Partial<ConnectorSample>, context: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  const add = (value: number | undefined, measurand: string, unit: string, extra = {}) => {
    if (value !== undefined) out.push({ value, context, measurand, unitOfMeasure: { unit }, ...extra })
  }
  add(c.energy_wh, 'Energy.Active.Import.Register', 'Wh')
  add(c.power_w, 'Power.Active.Import', 'W')
  add(c.offered_w, 'Power.Offered', 'W')
  add(c.current_a, 'Current.Import', 'A')
  add(c.voltage_v, 'Voltage', 'V')
  add(c.soc_pct, 'SoC', 'Percent', { location: 'EV' })
  add(c.temp_c, 'Temperature', 'Celsius', { location: 'Outlet' })
  return out
}

const round = (value: number, decimals: number) => Number(value.toFixed(decimals))

/** The station's own meter, as connector 0 (1.6) or EVSE 0 (2.0.1) reports it. */
const mainMeter = (m: MeterSample): Partial<ConnectorSample> => ({
  ...(m.grid_energy_wh !== undefined && { energy_wh: m.grid_energy_wh }),
  ...(m.grid_power_w !== undefined && { power_w: m.grid_power_w }),
})

export class OcppCharger {
  private readonly client: RPCClient
  private readonly jobs: Job[] = []
  private ready = false
  private wake: (() => void) | undefined
  private closed = false
  private heartbeat: NodeJS.Timeout | undefined
  private reconnectTimer: NodeJS.Timeout | undefined
  /** Latest status per connector, reported again at every boot. */
  private readonly statuses = new Map<number, StatusEvent>()
  private readonly status201 = new Map<number, Status201>()
  private readonly samples = new Map<number, ConnectorSample>()
  private readonly transactions = new Map<number, Transaction>()
  private lastMeterAt = Number.NEGATIVE_INFINITY
  private meterIntervalS: number
  private bootedOnce = false
  private connectError = ''
  private everBooted: () => void = () => {}
  /** Resolves at the first accepted BootNotification. */
  readonly booted = new Promise<void>((resolve) => (this.everBooted = resolve))
  inFlight = 0
  acknowledged = 0

  constructor(private readonly options: ChargerOptions) {
    this.meterIntervalS = options.meterIntervalS
    this.client = new RPCClient({
      endpoint: options.endpoint,
      identity: options.identity,
      protocols: [options.protocol],
      ...(options.password !== undefined && { password: options.password }),
      strictMode: true,
      reconnect: true,
      backoff: {
        initialDelay: options.reconnectDelayMs,
        maxDelay: 30_000,
        factor: 2,
        randomisationFactor: 0.25,
      },
      // ocpp-rpc's typings mark every option required; the rest keep their documented defaults.
    } as Partial<ClientOptions> as ClientOptions)
    this.client.on('open', () => void this.boot())
    this.client.on('disconnect', () => this.setDown())
    this.handleCentralSystemCalls()
    void this.work()
  }

  /** Connects, retrying until the gateway answers (a charger keeps trying). */
  connect(): void {
    if (this.closed) return
    this.client.connect().then(
      () => {
        if (this.connectError) this.options.log.info(`${this.options.identity}: connected again`)
        this.connectError = ''
      },
      (err: Error) => {
        // Said once, not on every retry, like the MQTT stations.
        if (err.message !== this.connectError)
          this.options.log.warn(
            `${this.options.identity}: ${err.message}; retrying every ${this.options.reconnectDelayMs} ms`,
          )
        this.connectError = err.message
        this.reconnectTimer = setTimeout(() => this.connect(), this.options.reconnectDelayMs)
      },
    )
  }

  /** Acts out one message of the model. */
  handle(message: SimMessage): void {
    switch (message.kind) {
      case 'status':
        this.onStatus(message.payload)
        break
      case 'session':
        this.onSession(message.payload)
        break
      case 'telemetry': {
        const t = message.payload
        for (const c of t.connectors) this.samples.set(c.id, c)
        if (t.ts - this.lastMeterAt >= this.meterIntervalS * 1000) {
          this.lastMeterAt = t.ts
          this.sendMeterValues(t.ts, t.meter)
        }
        break
      }
      // The description is the gateway's (its sites file); the online flag is the connection itself.
      case 'meta':
      case 'online':
        break
    }
  }

  /** Cuts the connection without a closing handshake, as a power or network failure does. */
  drop(reconnect: boolean): void {
    clearTimeout(this.reconnectTimer)
    void this.client.close({ force: true, code: 1006 }).then(() => {
      if (reconnect) this.reconnectTimer = setTimeout(() => this.connect(), this.options.reconnectDelayMs)
    })
  }

  /** Waits up to `timeoutMs` for queued calls, then closes cleanly. */
  async close(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (this.jobs.length > 0 && this.ready && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20))
    }
    this.closed = true
    clearTimeout(this.reconnectTimer)
    clearInterval(this.heartbeat)
    this.wake?.()
    await this.client.close({ code: 1000, reason: 'simulator stopping' })
  }

  private onStatus(s: StatusEvent): void {
    this.statuses.set(s.connector, s)
    if (this.options.protocol === 'ocpp1.6') {
      this.enqueue({ method: 'StatusNotification', params: () => this.statusParams16(s), durable: false })
      return
    }
    const tx = this.transactions.get(s.connector)
    const state = CHARGING_STATE[s.status]
    if (tx && state !== undefined && state !== tx.chargingState) {
      tx.chargingState = state
      this.enqueue({
        method: 'TransactionEvent',
        params: () => this.transactionEvent(s.connector, tx, 'Updated', s.ts, 'ChargingStateChanged'),
        durable: true,
      })
    }
    if (this.status201.get(s.connector) !== STATUS_201[s.status]) {
      this.status201.set(s.connector, STATUS_201[s.status])
      this.enqueue({ method: 'StatusNotification', params: () => this.statusParams201(s), durable: false })
    }
  }

  private onSession(e: SessionEvent): void {
    const sample = this.samples.get(e.connector)
    const registerWh = sample?.energy_wh ?? 0
    if (e.event === 'started') {
      const tx: Transaction = { session: e.session, seqNo: 0, chargingState: 'Charging' }
      this.transactions.set(e.connector, tx)
      if (this.options.protocol === 'ocpp1.6') {
        this.enqueue({
          method: 'StartTransaction',
          params: () => ({
            connectorId: e.connector,
            idTag: ID_TAG,
            meterStart: Math.round(registerWh),
            timestamp: iso(e.ts),
          }),
          durable: true,
          onResult: (r) => (tx.id = r.transactionId as number),
        })
      } else {
        const begin = { ...sample, energy_wh: registerWh }
        this.enqueue({
          method: 'TransactionEvent',
          params: () => ({
            ...this.transactionEvent(e.connector, tx, 'Started', e.ts, 'Authorized'),
            idToken: { idToken: ID_TAG, type: 'Central' },
            meterValue: [{ timestamp: iso(e.ts), sampledValue: sampled201(begin, 'Transaction.Begin') }],
          }),
          durable: true,
        })
      }
      return
    }
    const tx = this.transactions.get(e.connector)
    if (!tx || tx.session !== e.session) return
    this.transactions.delete(e.connector)
    // The register at the stop: the start's plus what the session delivered, exactly.
    const stopWh = sample?.energy_wh ?? registerWh
    if (this.options.protocol === 'ocpp1.6') {
      this.enqueue({
        method: 'StopTransaction',
        params: () =>
          tx.id === undefined
            ? null
            : {
                transactionId: tx.id,
                meterStop: Math.round(stopWh),
                timestamp: iso(e.ts),
                ...(e.reason !== undefined && { reason: e.reason }),
              },
        durable: true,
      })
      return
    }
    const reason = stoppedReason201(e.reason)
    const trigger =
      reason === 'Local'
        ? 'StopAuthorized'
        : reason === 'Remote'
          ? 'RemoteStop'
          : reason === 'StoppedByEV'
            ? 'EVDeparted'
            : 'AbnormalCondition'
    const end = { ...sample, energy_wh: stopWh }
    this.enqueue({
      method: 'TransactionEvent',
      params: () => {
        const event = this.transactionEvent(e.connector, tx, 'Ended', e.ts, trigger)
        const info = event.transactionInfo as Record<string, unknown>
        return {
          ...event,
          transactionInfo: { ...info, chargingState: 'EVConnected', stoppedReason: reason },
          meterValue: [{ timestamp: iso(e.ts), sampledValue: sampled201(end, 'Transaction.End') }],
        }
      },
      durable: true,
    })
  }

  private sendMeterValues(ts: number, meter: MeterSample): void {
    const v16 = this.options.protocol === 'ocpp1.6'
    const station = mainMeter(meter)
    if (Object.keys(station).length > 0) {
      this.enqueue({
        method: 'MeterValues',
        params: () =>
          v16
            ? {
                connectorId: 0,
                meterValue: [{ timestamp: iso(ts), sampledValue: sampled16(station, 'Sample.Periodic') }],
              }
            : {
                evseId: 0,
                meterValue: [{ timestamp: iso(ts), sampledValue: sampled201(station, 'Sample.Periodic') }],
              },
        durable: false,
      })
    }
    for (const [id, sample] of this.samples) {
      const tx = this.transactions.get(id)
      if (!v16 && tx) {
        this.enqueue({
          method: 'TransactionEvent',
          params: () => ({
            ...this.transactionEvent(id, tx, 'Updated', ts, 'MeterValuePeriodic'),
            meterValue: [{ timestamp: iso(ts), sampledValue: sampled201(sample, 'Sample.Periodic') }],
          }),
          durable: true,
        })
        continue
      }
      this.enqueue({
        method: 'MeterValues',
        params: () =>
          v16
            ? {
                connectorId: id,
                ...(tx?.id !== undefined && { transactionId: tx.id }),
                meterValue: [{ timestamp: iso(ts), sampledValue: sampled16(sample, 'Sample.Periodic') }],
              }
            : {
                evseId: id,
                meterValue: [{ timestamp: iso(ts), sampledValue: sampled201(sample, 'Sample.Periodic') }],
              },
        durable: tx !== undefined,
      })
    }
  }

  private transactionEvent(
    evse: number,
    tx: Transaction,
    eventType: 'Started' | 'Updated' | 'Ended',
    ts: number,
    triggerReason: string,
  ): Record<string, unknown> {
    return {
      eventType,
      timestamp: iso(ts),
      triggerReason,
      seqNo: tx.seqNo++,
      transactionInfo: {
        transactionId: tx.session.slice(0, 36),
        ...(tx.chargingState !== undefined && { chargingState: tx.chargingState }),
      },
      evse: { id: evse, connectorId: 1 },
    }
  }

  private statusParams16(s: StatusEvent): Record<string, unknown> {
    return {
      connectorId: s.connector,
      errorCode: s.error_code,
      status: s.status,
      timestamp: iso(s.ts),
      ...(s.vendor_error !== undefined && { vendorErrorCode: s.vendor_error.slice(0, 50) }),
    }
  }

  private statusParams201(s: StatusEvent): Record<string, unknown> {
    return {
      timestamp: iso(s.ts),
      connectorStatus: STATUS_201[s.status],
      evseId: s.connector,
      connectorId: 1,
    }
  }

  private enqueue(job: Job): void {
    // Not connected: a status or an idle meter value would be stale by the time it could go.
    if (!this.ready && !job.durable) return
    this.jobs.push(job)
    this.inFlight++
    while (this.jobs.length > this.options.maxQueued) {
      const dropAt = this.jobs.findIndex((j) => j.method === 'MeterValues' || j.method === 'TransactionEvent')
      this.jobs.splice(dropAt === -1 ? 0 : dropAt, 1)
      this.inFlight--
    }
    this.wake?.()
  }

  /** Sends the queued calls in order, one at a time, while the charger is booted. */
  private async work(): Promise<void> {
    while (!this.closed) {
      const job = this.jobs[0]
      if (!this.ready || job === undefined) {
        await new Promise<void>((resolve) => (this.wake = resolve))
        continue
      }
      const params = job.params()
      try {
        if (params !== null) {
          const result = (await this.client.call(job.method, params)) as Record<string, unknown>
          job.onResult?.(result)
          this.acknowledged++
        }
        this.jobs.shift()
        this.inFlight--
      } catch (err) {
        const lost = !this.ready || this.client.state !== RPCClient.OPEN
        if (lost && job.durable) continue
        // Refused (a CALLERROR) or a status the connection took with it: not worth repeating.
        if (!lost)
          this.options.log.warn(`${this.options.identity}: ${job.method} failed: ${(err as Error).message}`)
        this.jobs.shift()
        this.inFlight--
      }
    }
  }

  private setDown(): void {
    this.ready = false
    clearInterval(this.heartbeat)
  }

  /** BootNotification until accepted, then the status of every connector, then the queued calls. */
  private async boot(): Promise<void> {
    const v16 = this.options.protocol === 'ocpp1.6'
    const params = v16
      ? {
          chargePointVendor: 'evmon',
          chargePointModel: 'simulator',
          chargePointSerialNumber: this.options.identity.slice(0, 25),
          firmwareVersion: '1.0',
        }
      : {
          reason: this.bootedOnce ? 'UnknownReset' : 'PowerUp',
          chargingStation: {
            vendorName: 'evmon',
            model: 'simulator',
            serialNumber: this.options.identity.slice(0, 25),
            firmwareVersion: '1.0',
          },
        }
    for (;;) {
      if (this.closed || this.client.state !== RPCClient.OPEN) return
      let answer: { status: string; interval: number }
      try {
        answer = (await this.client.call('BootNotification', params)) as typeof answer
      } catch (err) {
        this.options.log.warn(`${this.options.identity}: BootNotification failed: ${(err as Error).message}`)
        return
      }
      if (answer.status === 'Accepted') {
        const intervalS = answer.interval > 0 ? answer.interval : 300
        clearInterval(this.heartbeat)
        this.heartbeat = setInterval(() => {
          if (this.ready) void this.client.call('Heartbeat', {}).catch(() => {})
        }, intervalS * 1000)
        this.heartbeat.unref()
        break
      }
      await new Promise((r) => setTimeout(r, Math.max(1, answer.interval || 10) * 1000))
    }
    this.bootedOnce = true
    if (v16)
      await this.callQuietly('StatusNotification', {
        connectorId: 0,
        errorCode: 'NoError',
        status: 'Available',
        timestamp: iso(Date.now()),
      })
    for (const s of this.statuses.values()) {
      await this.callQuietly('StatusNotification', v16 ? this.statusParams16(s) : this.statusParams201(s))
    }
    this.ready = true
    this.everBooted()
    this.wake?.()
  }

  private async callQuietly(method: string, params: Record<string, unknown>): Promise<void> {
    try {
      await this.client.call(method, params)
    } catch (err) {
      this.options.log.warn(`${this.options.identity}: ${method} failed: ${(err as Error).message}`)
    }
  }

  /** What a central system may ask: the meter interval is honoured, the rest answered as unknown. */
  private handleCentralSystemCalls(): void {
    const intervalKeys16 = new Set(['MeterValueSampleInterval'])
    this.client.handle('ChangeConfiguration', async ({ params }) => {
      const p = params as { key: string; value: string }
      if (!intervalKeys16.has(p.key)) return { status: 'NotSupported' }
      const seconds = Number(p.value)
      if (!Number.isInteger(seconds) || seconds < 1) return { status: 'Rejected' }
      this.meterIntervalS = seconds
      return { status: 'Accepted' }
    })
    this.client.handle('GetConfiguration', async ({ params }) => {
      const keys = (params as { key?: string[] }).key
      const known = [{ key: 'MeterValueSampleInterval', readonly: false, value: String(this.meterIntervalS) }]
      if (!keys) return { configurationKey: known }
      return {
        configurationKey: known.filter((k) => keys.includes(k.key)),
        unknownKey: keys.filter((k) => !intervalKeys16.has(k)),
      }
    })
    this.client.handle('SetVariables', async ({ params }) => {
      const p = params as {
        setVariableData: { attributeValue: string; component: { name: string }; variable: { name: string } }[]
      }
      return {
        setVariableResult: p.setVariableData.map((d) => {
          const ours = d.component.name === 'SampledDataCtrlr' && d.variable.name === 'TxUpdatedInterval'
          const seconds = Number(d.attributeValue)
          const ok = ours && Number.isInteger(seconds) && seconds >= 1
          if (ok) this.meterIntervalS = seconds
          return {
            attributeStatus: ok ? 'Accepted' : ours ? 'Rejected' : 'UnknownVariable',
            component: d.component,
            variable: d.variable,
          }
        }),
      }
    })
    this.client.handle('GetVariables', async ({ params }) => {
      const p = params as { getVariableData: { component: { name: string }; variable: { name: string } }[] }
      return {
        getVariableResult: p.getVariableData.map((d) => {
          const ours = d.component.name === 'SampledDataCtrlr' && d.variable.name === 'TxUpdatedInterval'
          return {
            attributeStatus: ours ? 'Accepted' : 'UnknownVariable',
            ...(ours && { attributeValue: String(this.meterIntervalS) }),
            component: d.component,
            variable: d.variable,
          }
        }),
      }
    })
  }
}
