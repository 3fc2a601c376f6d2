import { existsSync, readFileSync } from 'node:fs'
import { writeFileAtomically } from '@evmon/runtime'
import type { OcppProtocol } from '@evmon/contracts'

/** What a charger said in its last accepted BootNotification. */
export interface BootRecord {
  protocol: OcppProtocol
  vendor: string
  model: string
  serialNumber?: string
  firmwareVersion?: string
  ts: number
}

/** A transaction the gateway knows to be open, under its OCPP transaction id. */
export interface OpenTransaction {
  /** Contract connector id (1.6 connectorId, 2.0.1 EVSE id). */
  connector: number
  /** Contract session id. */
  session: string
  startedAt: number
  /** Energy register at the start (1.6 meterStart, 2.0.1 the Transaction.Begin reading), Wh. */
  meterStartWh?: number
  /** False when the id tag was refused: the charger will stop it, and no session was published. */
  accepted: boolean
}

interface StateFile {
  version: 1
  /** Next OCPP 1.6 transaction id to issue: integers, unique for as long as this file lives. */
  nextTransactionId: number
  /** By `site/identity`. */
  boots: Record<string, BootRecord>
  /** By `site/identity`, then OCPP transaction id (1.6 integers as text, 2.0.1 strings). */
  transactions: Record<string, Record<string, OpenTransaction>>
}

/**
 * The gateway's memory across restarts: boot records (so a charger that reconnects without booting
 * again, as OCPP allows, is still known), the transaction id counter and the open transactions (so a
 * charger that stops a transaction after a gateway restart is matched to its session). Every change is
 * written atomically; writes are chained so the file always holds the latest state.
 */
export class GatewayState {
  private writing: Promise<void> = Promise.resolve()
  private dirty = false
  private constructor(
    private readonly path: string,
    private readonly file: StateFile,
    private readonly onWriteError: (err: Error) => void,
  ) {}

  static load(path: string, onWriteError: (err: Error) => void): GatewayState {
    if (!existsSync(path)) {
      return new GatewayState(
        path,
        { version: 1, nextTransactionId: 1, boots: {}, transactions: {} },
        onWriteError,
      )
    }
    let file: StateFile
    try {
      file = JSON.parse(readFileSync(path, 'utf8')) as StateFile
    } catch (err) {
      throw new Error(`gateway state file ${path}: ${(err as Error).message}`)
    }
    if (
      file.version !== 1 ||
      !Number.isSafeInteger(file.nextTransactionId) ||
      typeof file.boots !== 'object' ||
      typeof file.transactions !== 'object'
    ) {
      throw new Error(`gateway state file ${path}: not an evmon gateway state file (version 1)`)
    }
    return new GatewayState(path, file, onWriteError)
  }

  boot(key: string): BootRecord | undefined {
    return this.file.boots[key]
  }

  setBoot(key: string, record: BootRecord): void {
    this.file.boots[key] = record
    this.save()
  }

  issueTransactionId(): number {
    const id = this.file.nextTransactionId
    // OCPP 1.6 transaction ids are 32-bit signed integers.
    this.file.nextTransactionId = id >= 2_147_483_647 ? 1 : id + 1
    this.save()
    return id
  }

  transaction(key: string, id: string): OpenTransaction | undefined {
    return this.file.transactions[key]?.[id]
  }

  /** Open transactions of one charger, by OCPP transaction id. */
  transactions(key: string): Readonly<Record<string, OpenTransaction>> {
    return this.file.transactions[key] ?? {}
  }

  openTransaction(key: string, id: string, tx: OpenTransaction): void {
    this.file.transactions[key] = { ...this.file.transactions[key], [id]: tx }
    this.save()
  }

  closeTransaction(key: string, id: string): void {
    const open = this.file.transactions[key]
    if (!open?.[id]) return
    delete open[id]
    if (Object.keys(open).length === 0) delete this.file.transactions[key]
    this.save()
  }

  /** Forgets a removed charger. */
  forget(key: string): void {
    delete this.file.boots[key]
    delete this.file.transactions[key]
    this.save()
  }

  /** Resolves once everything changed so far is on disk. */
  flushed(): Promise<void> {
    return this.writing
  }

  private save(): void {
    if (this.dirty) return
    this.dirty = true
    this.writing = this.writing.then(async () => {
      this.dirty = false
      try {
        await writeFileAtomically(this.path, `${JSON.stringify(this.file)}\n`)
      } catch (err) {
        this.onWriteError(err as Error)
      }
    })
  }
}
