import { existsSync } from 'node:fs'
import { isValidId, ID_PATTERN, OCPP_IDENTITY_PATTERN } from '@evmon/contracts'
import { writeFileAtomically } from '@evmon/runtime'
import { newSecret, readSecretsFile, SCRYPT_PARAMS, type SaltedHash, type ScryptParams } from '@evmon/runtime'

const identityRegExp = new RegExp(OCPP_IDENTITY_PATTERN)

/** True when `value` is an OCPP charge point identity (case-sensitive, up to 48 characters). */
export function isOcppIdentity(value: unknown): value is string {
  return typeof value === 'string' && identityRegExp.test(value)
}

/**
 * The contract station id of an OCPP identity, by rule: lower-cased, every character the id pattern
 * does not allow (`* = : + | @ .`) becomes `_`, and an identity that would then start with `_` or `-`
 * gets an `x` in front (`CS-ABB-00001` → `cs-abb-00001`, `ABB:12.3` → `abb_12_3`). The rule loses case
 * and those characters, so it is made reversible by the chargers file: `add-charger` refuses a second
 * identity that maps to a station id already taken (`CS-1` and `cs-1`), and an alias can be given
 * instead. Each station id therefore belongs to exactly one identity.
 */
export function stationIdFor(identity: string): string {
  const id = identity.toLowerCase().replace(/[^a-z0-9_-]/g, '_')
  return /^[a-z0-9]/.test(id) ? id : `x${id}`
}

/** One charger account: only a salted scrypt hash of its password, never the password itself. */
export interface Charger extends SaltedHash {
  site: string
  /** The charger's own OCPP identity, exactly as it connects. */
  identity: string
  /** Its contract station id: {@link stationIdFor} of the identity, or the alias it was added with. */
  station: string
}

interface ChargersFile {
  version: 1
  scrypt: ScryptParams
  chargers: Charger[]
}

/** `site/identity`: how chargers are named on the command line and in logs. */
export const chargerKey = (site: string, identity: string): string => `${site}/${identity}`

/** The charger accounts of a chargers file. Immutable once loaded: a reload builds a new one. */
export class Chargers {
  private readonly byKey: Map<string, Charger>
  private constructor(private readonly file: ChargersFile) {
    this.byKey = new Map(file.chargers.map((c) => [chargerKey(c.site, c.identity), c]))
  }

  static empty(): Chargers {
    return new Chargers({ version: 1, scrypt: { ...SCRYPT_PARAMS }, chargers: [] })
  }

  /** Loads and validates a chargers file (empty if absent); throws with the file name and what is wrong. */
  static load(path: string): Chargers {
    if (!existsSync(path)) return Chargers.empty()
    const file = readSecretsFile<ChargersFile>(path, 'chargers file', 'chargers')
    const stations = new Set<string>()
    for (const c of file.chargers) {
      const name = JSON.stringify(`${c?.site}/${c?.identity}`)
      if (!isValidId(c?.site) || !isOcppIdentity(c.identity) || !isValidId(c.station)) {
        throw new Error(`chargers file ${path}: bad charger ${name}`)
      }
      if (typeof c.salt !== 'string' || typeof c.hash !== 'string') {
        throw new Error(`chargers file ${path}: charger ${name} has no password hash`)
      }
      const station = `${c.site}/${c.station}`
      if (stations.has(station)) throw new Error(`chargers file ${path}: two chargers are station ${station}`)
      stations.add(station)
    }
    return new Chargers(file)
  }

  get scrypt(): ScryptParams {
    return this.file.scrypt
  }

  get(site: string, identity: string): Charger | undefined {
    return this.byKey.get(chargerKey(site, identity))
  }

  list(): Charger[] {
    return [...this.byKey.values()].sort((a, b) =>
      chargerKey(a.site, a.identity).localeCompare(chargerKey(b.site, b.identity)),
    )
  }

  /**
   * Adds a charger (or rotates its password) with a new random password, returned once and never
   * stored. The station id is the identity's by rule unless `alias` is given; a station id another
   * identity of the site already has is refused, so the mapping stays one-to-one.
   */
  async add(site: string, identity: string, alias?: string): Promise<{ charger: Charger; password: string }> {
    if (!isValidId(site)) throw new Error(`site ${JSON.stringify(site)} is not a valid id (${ID_PATTERN})`)
    if (!isOcppIdentity(identity)) {
      throw new Error(`${JSON.stringify(identity)} is not an OCPP identity (${OCPP_IDENTITY_PATTERN})`)
    }
    const previous = this.get(site, identity)
    const station = alias ?? previous?.station ?? stationIdFor(identity)
    if (!isValidId(station)) throw new Error(`station id ${JSON.stringify(station)} breaks ${ID_PATTERN}`)
    const holder = this.file.chargers.find(
      (c) => c.site === site && c.station === station && c.identity !== identity,
    )
    if (holder) {
      throw new Error(
        `station id ${site}/${station} already belongs to charger ${JSON.stringify(holder.identity)}; ` +
          'give this one another with --station <id>',
      )
    }
    const { secret, salt, hash } = await newSecret(this.file.scrypt)
    const charger: Charger = { site, identity, station, salt, hash }
    this.file.chargers = this.file.chargers.filter((c) => c !== previous).concat(charger)
    this.byKey.set(chargerKey(site, identity), charger)
    return { charger, password: secret }
  }

  /** Removes a charger; false when there was none. */
  remove(site: string, identity: string): boolean {
    const charger = this.get(site, identity)
    if (!charger) return false
    this.file.chargers = this.file.chargers.filter((c) => c !== charger)
    this.byKey.delete(chargerKey(site, identity))
    return true
  }

  /** Writes the file atomically (a running gateway reloads it), readable by its owner only. */
  async save(path: string): Promise<void> {
    await writeFileAtomically(path, `${JSON.stringify(this.file, null, 2)}\n`, 0o600)
  }
}
