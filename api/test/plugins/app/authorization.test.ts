import { createHash } from 'node:crypto'
import { expect, test } from 'vitest'
import { tokenHasher } from '../../../src/plugins/app/authorization.ts'

const sha256 = (t: string) => createHash('sha256').update(t).digest('hex')

test('the token hasher gives every token its SHA-256 and remembers configured tokens only', () => {
  const hasher = tokenHasher(new Map([[sha256('operator-token'), 'operator']]))
  expect(hasher.hash('operator-token')).toBe(sha256('operator-token'))
  expect(hasher.hash('operator-token')).toBe(sha256('operator-token'))
  expect(hasher.size).toBe(1)
  // Invented tokens are hashed (and refused) every time, without growing what is held.
  for (let i = 0; i < 1_000; i++) expect(hasher.hash(`invented-${i}`)).toBe(sha256(`invented-${i}`))
  expect(hasher.size).toBe(1)
})
