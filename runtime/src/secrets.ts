// Node-only: salted scrypt hashes of the random secrets services hand out (the broker's station and
// service accounts, the gateway's chargers).
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import { readFileSync } from 'node:fs'

export interface ScryptParams {
  N: number
  r: number
  p: number
  keylen: number
}

// scrypt cost: ~30 ms per check on this class of machine.
export const SCRYPT_PARAMS: Readonly<ScryptParams> = { N: 16_384, r: 8, p: 1, keylen: 32 }

/** What a credentials file keeps of a secret: a random salt and the scrypt hash, both base64. */
export interface SaltedHash {
  salt: string
  hash: string
}

function scryptAsync(secret: string | Buffer, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 64 * 1024 * 1024 }
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, params.keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
  )
}

/** A new 192-bit random secret (URL-safe text) and its salted hash. */
export async function newSecret(params: ScryptParams): Promise<{ secret: string } & SaltedHash> {
  const secret = randomBytes(24).toString('base64url')
  const salt = randomBytes(16)
  const hash = await scryptAsync(secret, salt, params)
  return { secret, salt: salt.toString('base64'), hash: hash.toString('base64') }
}

/**
 * Checks presented secrets against salted hashes. A secret that passed once is remembered per account
 * as a salted SHA-256 digest (the secrets are 192-bit random, so a fast digest is as safe to hold as
 * the scrypt hash), so a reconnect storm after a network blip does not pay scrypt again. The memory is
 * tied to the stored hash object: rotating an account (a new object) forgets it.
 */
export class SecretChecker {
  private readonly verified = new Map<string, { stored: SaltedHash; digest: Buffer }>()
  /** What a secret for an unknown account is checked against: a salt of the same length as real ones. */
  private readonly dummySalt = randomBytes(16)
  /** How many presented secrets needed the slow scrypt check (the rest matched a remembered one). */
  slowChecks = 0
  constructor(private readonly params: ScryptParams) {}

  /**
   * The check of a secret presented for an account that does not exist: false, at the cost of a real
   * check, so the time to a refusal does not tell which accounts exist.
   */
  async matchesNothing(secret: string | Buffer): Promise<false> {
    this.slowChecks++
    await scryptAsync(secret, this.dummySalt, this.params)
    return false
  }

  /** Forgets the secret remembered for an account (removed or rotated). */
  forget(account: string): void {
    this.verified.delete(account)
  }

  /** True when `secret` is the one `stored` was made from. Constant-time comparisons. */
  async matches(account: string, stored: SaltedHash, secret: string | Buffer): Promise<boolean> {
    const digest = createHash('sha256').update(stored.salt).update(secret).digest()
    const known = this.verified.get(account)
    if (known?.stored === stored && timingSafeEqual(known.digest, digest)) return true
    this.slowChecks++
    const expected = Buffer.from(stored.hash, 'base64')
    const actual = await scryptAsync(secret, Buffer.from(stored.salt, 'base64'), this.params)
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return false
    this.verified.set(account, { stored, digest })
    return true
  }
}

/**
 * Reads a file of salted secret hashes (the broker's credentials, the gateway's chargers): JSON with
 * `version: 1`, the `scrypt` parameters and its entries under `list`. Throws naming the file as `what`;
 * checking each entry is the caller's.
 */
export function readSecretsFile<F extends { version: 1; scrypt: ScryptParams }>(
  path: string,
  what: string,
  list: keyof F & string,
): F {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new Error(`${what} ${path}: ${(err as Error).message}`)
  }
  const file = parsed as Partial<Record<string, unknown>> & { version?: unknown; scrypt?: { N?: unknown } }
  if (file?.version !== 1 || !Array.isArray(file[list]) || typeof file.scrypt?.N !== 'number') {
    throw new Error(`${what} ${path}: not an evmon ${what} (version 1)`)
  }
  return parsed as F
}
