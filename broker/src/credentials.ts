import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { ID_PATTERN, isValidId } from '@evmon/contracts'

/** Service roles; stations are identified by their site and station ids instead. */
export const SERVICE_ROLES = ['ingest', 'api', 'simulator', 'replay', 'gateway'] as const
export type ServiceRole = (typeof SERVICE_ROLES)[number]

export type Identity = { role: 'station'; site: string; station: string } | { role: ServiceRole }

/** One account in the credentials file: only a salted scrypt hash, never the secret itself. */
export interface Account {
  username: string
  identity: Identity
  salt: string
  hash: string
}

interface CredentialsFile {
  version: 1
  scrypt: { N: number; r: number; p: number; keylen: number }
  accounts: Account[]
}

// scrypt cost: ~30 ms per check on this class of machine. A secret that passed once is remembered per
// account as a salted SHA-256 digest (the secrets are 192-bit random, so a fast digest is as safe to hold
// as the scrypt hash), so a reconnect storm after a network blip does not pay scrypt again.
const SCRYPT = { N: 16_384, r: 8, p: 1, keylen: 32 } as const

function scryptAsync(secret: string, salt: Buffer, params: CredentialsFile['scrypt']): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 64 * 1024 * 1024 }
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, params.keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
  )
}

/** Parses an account name: `site/station` for a station, a role name for a service. */
export function identityFor(username: string): Identity | null {
  const parts = username.split('/')
  if (parts.length === 2 && isValidId(parts[0]) && isValidId(parts[1])) {
    return { role: 'station', site: parts[0], station: parts[1] }
  }
  return (SERVICE_ROLES as readonly string[]).includes(username) ? { role: username as ServiceRole } : null
}

/** The accounts of a credentials file, with the check of a presented secret. */
export class Credentials {
  private readonly byName: Map<string, Account>
  /** Salted SHA-256 of the last secret that passed scrypt, per account; at most one per account. */
  private readonly verified = new Map<string, Buffer>()
  /** How many presented secrets needed the slow scrypt check (the rest matched `verified`). */
  slowChecks = 0
  /** What an unknown username is checked against; a salt of the same length as real ones. */
  private readonly dummy = { salt: randomBytes(16) }
  constructor(private readonly file: CredentialsFile) {
    this.byName = new Map(file.accounts.map((a) => [a.username, a]))
  }

  static empty(): Credentials {
    return new Credentials({ version: 1, scrypt: { ...SCRYPT }, accounts: [] })
  }

  /** Loads and validates a credentials file; throws with the file name and what is wrong. */
  static load(path: string): Credentials {
    let parsed: unknown
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'))
    } catch (err) {
      throw new Error(`credentials file ${path}: ${(err as Error).message}`)
    }
    const file = parsed as Partial<CredentialsFile>
    if (file.version !== 1 || !Array.isArray(file.accounts) || typeof file.scrypt?.N !== 'number') {
      throw new Error(`credentials file ${path}: not an evmon credentials file (version 1)`)
    }
    for (const account of file.accounts) {
      if (
        !identityFor(account.username) ||
        typeof account.salt !== 'string' ||
        typeof account.hash !== 'string'
      ) {
        throw new Error(`credentials file ${path}: bad account ${JSON.stringify(account.username)}`)
      }
      account.identity = identityFor(account.username) as Identity
    }
    return new Credentials(file as CredentialsFile)
  }

  get size(): number {
    return this.byName.size
  }

  usernames(): string[] {
    return [...this.byName.keys()].sort()
  }

  /**
   * The identity behind `username` when `secret` is right, else null. Constant-time comparison, and
   * the same cost for an unknown username as for a wrong secret: both pay scrypt (an unknown one
   * against a dummy hash), so the time to a refusal does not tell which station ids exist.
   */
  async verify(username: string, secret: string): Promise<Identity | null> {
    const account = this.byName.get(username)
    if (!account) {
      this.slowChecks++
      await scryptAsync(secret, this.dummy.salt, this.file.scrypt)
      return null
    }
    const digest = createHash('sha256').update(account.salt).update(secret).digest()
    const known = this.verified.get(username)
    if (known && timingSafeEqual(known, digest)) return account.identity
    this.slowChecks++
    const expected = Buffer.from(account.hash, 'base64')
    const actual = await scryptAsync(secret, Buffer.from(account.salt, 'base64'), this.file.scrypt)
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return null
    // Only if the account was not rotated while scrypt ran.
    if (this.byName.get(username) === account) this.verified.set(username, digest)
    return account.identity
  }

  /**
   * Whether `username` still has the secret it had in `earlier`: false once the account is removed or
   * rotated, which is when the broker ends the sessions opened with the old secret.
   */
  sameSecret(username: string, earlier: Credentials): boolean {
    const now = this.byName.get(username)
    const then = earlier.byName.get(username)
    return now !== undefined && then !== undefined && now.salt === then.salt && now.hash === then.hash
  }

  /** Removes an account; false when there was none. */
  remove(username: string): boolean {
    if (!this.byName.delete(username)) return false
    this.file.accounts = this.file.accounts.filter((a) => a.username !== username)
    this.verified.delete(username)
    return true
  }

  /** Adds or replaces an account with a new random secret, which is returned once and never stored. */
  async issue(username: string): Promise<string> {
    const identity = identityFor(username)
    if (!identity) {
      throw new Error(
        `"${username}" is neither site/station (ids ${ID_PATTERN}) nor one of ${SERVICE_ROLES.join(', ')}`,
      )
    }
    const secret = randomBytes(24).toString('base64url')
    const salt = randomBytes(16)
    const hash = await scryptAsync(secret, salt, this.file.scrypt)
    const account = { username, identity, salt: salt.toString('base64'), hash: hash.toString('base64') }
    this.file.accounts = this.file.accounts.filter((a) => a.username !== username).concat(account)
    this.byName.set(username, account)
    this.verified.delete(username)
    return secret
  }

  /** Writes the file atomically with owner-only permissions. */
  save(path: string): void {
    mkdirSync(dirname(path), { recursive: true })
    const tmp = `${path}.${process.pid}.tmp`
    const accounts = this.file.accounts.map(({ username, salt, hash }) => ({ username, salt, hash }))
    writeFileSync(tmp, `${JSON.stringify({ ...this.file, accounts }, null, 2)}\n`, { mode: 0o600 })
    renameSync(tmp, path)
  }
}
