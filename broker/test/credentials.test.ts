import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { Credentials } from '../src/index.ts'

describe('Credentials.verify', () => {
  test('a secret that passed scrypt once is accepted again without scrypt', async () => {
    const credentials = Credentials.empty()
    const secret = await credentials.issue('beibei/zn-super')
    expect(await credentials.verify('beibei/zn-super', secret)).toEqual({
      role: 'station',
      site: 'beibei',
      station: 'zn-super',
    })
    expect(credentials.slowChecks).toBe(1)
    for (let i = 0; i < 3; i++) expect(await credentials.verify('beibei/zn-super', secret)).not.toBeNull()
    expect(credentials.slowChecks).toBe(1)
  })

  test('a wrong secret after a remembered one is refused, and pays scrypt', async () => {
    const credentials = Credentials.empty()
    const secret = await credentials.issue('ingest')
    await credentials.verify('ingest', secret)
    expect(await credentials.verify('ingest', `${secret}x`)).toBeNull()
    expect(await credentials.verify('ingest', '')).toBeNull()
    expect(credentials.slowChecks).toBe(3)
    expect(await credentials.verify('ingest', secret)).toEqual({ role: 'ingest' })
    expect(credentials.slowChecks).toBe(3)
  })

  test('rotating an account forgets the remembered secret', async () => {
    const credentials = Credentials.empty()
    const old = await credentials.issue('beibei/kc-ac')
    await credentials.verify('beibei/kc-ac', old)
    const rotated = await credentials.issue('beibei/kc-ac')
    expect(await credentials.verify('beibei/kc-ac', old)).toBeNull()
    expect(await credentials.verify('beibei/kc-ac', rotated)).not.toBeNull()
  })

  test('a remembered secret of one account does not open another', async () => {
    const credentials = Credentials.empty()
    const a = await credentials.issue('beibei/a')
    await credentials.issue('beibei/b')
    await credentials.verify('beibei/a', a)
    expect(await credentials.verify('beibei/b', a)).toBeNull()
    expect(await credentials.verify('nobody', a)).toBeNull()
  })
})

describe('changes between two loads of the file', () => {
  test('an account keeps its secret until it is rotated or removed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evmon-cred-'))
    const file = join(dir, 'credentials.json')
    const before = Credentials.empty()
    await before.issue('beibei/a')
    await before.issue('beibei/b')
    await before.issue('beibei/c')
    before.save(file)
    const after = Credentials.load(file)
    await after.issue('beibei/b')
    expect(after.remove('beibei/c')).toBe(true)
    expect(after.remove('beibei/c')).toBe(false)
    await after.issue('beibei/d')
    expect(after.sameSecret('beibei/a', before)).toBe(true)
    expect(after.sameSecret('beibei/b', before)).toBe(false)
    expect(after.sameSecret('beibei/c', before)).toBe(false)
    expect(after.sameSecret('beibei/d', before)).toBe(false)
    after.save(file)
    expect(Credentials.load(file).usernames()).toEqual(['beibei/a', 'beibei/b', 'beibei/d'])
    rmSync(dir, { recursive: true, force: true })
  })
})
