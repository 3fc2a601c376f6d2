import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { writeFileAtomically, writeFileAtomicallySync } from '../src/index.ts'

const dir = await mkdtemp(join(tmpdir(), 'evmon-runtime-files-'))
afterAll(() => rm(dir, { recursive: true, force: true }))

for (const [name, write] of [
  ['async', writeFileAtomically],
  ['sync', async (path: string, text: string, mode?: number) => writeFileAtomicallySync(path, text, mode)],
] as const) {
  test(`${name}: replaces the file, creates its directory, keeps the mode, leaves no temporary`, async () => {
    const path = join(dir, name, 'nested', 'state.json')
    await write(path, 'old')
    await write(path, 'new', 0o600)
    expect(await readFile(path, 'utf8')).toBe('new')
    expect(await readdir(join(dir, name, 'nested'))).toEqual(['state.json'])
    const secret = join(dir, name, 'secret.json')
    await write(secret, '{}', 0o600)
    expect((await stat(secret)).mode & 0o777).toBe(0o600)
  })
}
