import { ID_PATTERN, isValidId } from '@evmon/contracts'
import {
  newSecret,
  readSecretsFile,
  SCRYPT_PARAMS,
  SecretChecker,
  writeFileAtomicallySync,
  type ScryptParams,
} from '@evmon/runtime'

/** Service roles; stations are identified by their site and station ids instead. */
export const SERVICE_ROLES = ['ingest', 'api', 'simulator', 'gateway'] as const
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
  scrypt: ScryptParams
  accounts: Account[]
}

// Secrets are checked with the shared SecretChecker (@evmon/runtime): salted scrypt, ~30 ms a
// check, and a secret that passed once is remembered as a salted digest, so a reconnect storm after a
// network blip does not pay scrypt again.

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
  private readonly checker: SecretChecker
  constructor(private readonly file: CredentialsFile) {
    this.byName = new Map(file.accounts.map((a) => [a.username, a]))
    this.checker = new SecretChecker(file.scrypt)
  }

  /** How many presented secrets needed the slow scrypt check (the rest were remembered). */
  get slowChecks(): number {
    return this.checker.slowChecks
  }

  set slowChecks(count: number) {
    this.checker.slowChecks = count
  }

  static empty(): Credentials {
    return new Credentials({ version: 1, scrypt: { ...SCRYPT_PARAMS }, accounts: [] })
  }

  /** Loads and validates a credentials file; throws with the file name and what is wrong. */
  static load(path: string): Credentials {
    const file = readSecretsFile<CredentialsFile>(path, 'credentials file', 'accounts')
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
    return new Credentials(file)
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
      await this.checker.matchesNothing(secret)
      return null
    }
    // A secret remembered for an account that was rotated meanwhile never matches the new one.
    return (await this.checker.matches(username, account, secret)) ? account.identity : null
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
    this.checker.forget(username)
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
    const { secret, salt, hash } = await newSecret(this.file.scrypt)
    const account = { username, identity, salt, hash }
    this.file.accounts = this.file.accounts.filter((a) => a.username !== username).concat(account)
    this.byName.set(username, account)
    this.checker.forget(username)
    return secret
  }

  /** Writes the file atomically with owner-only permissions. */
  save(path: string): void {
    const accounts = this.file.accounts.map(({ username, salt, hash }) => ({ username, salt, hash }))
    writeFileAtomicallySync(path, `${JSON.stringify({ ...this.file, accounts }, null, 2)}\n`, 0o600)
  }
}
