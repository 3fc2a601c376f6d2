import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { readSecretsFile, SCRYPT_PARAMS, type ScryptParams } from '../src/index.ts'

const dir = await mkdtemp(join(tmpdir(), 'evmon-runtime-secrets-'))
afterAll(() => rm(dir, { recursive: true, force: true }))

interface AccountsFile {
  version: 1
  scrypt: ScryptParams
  accounts: { name: string }[]
}

const write = async (name: string, text: string) => {
  const path = join(dir, name)
  await writeFile(path, text)
  return path
}

test('reads a version 1 file of salted secrets with its entry list', async () => {
  const content = { version: 1, scrypt: SCRYPT_PARAMS, accounts: [{ name: 'a' }] }
  const path = await write('good.json', JSON.stringify(content))
  expect(readSecretsFile<AccountsFile>(path, 'accounts file', 'accounts')).toEqual(content)
})

test('names the file and what is wrong: unreadable, not JSON, another version, no list, no scrypt', async () => {
  expect(() => readSecretsFile<AccountsFile>(join(dir, 'absent.json'), 'accounts file', 'accounts')).toThrow(
    /^accounts file .*absent\.json: ENOENT/,
  )
  const bad = {
    'not-json.json': '{',
    'version-2.json': JSON.stringify({ version: 2, scrypt: SCRYPT_PARAMS, accounts: [] }),
    'no-list.json': JSON.stringify({ version: 1, scrypt: SCRYPT_PARAMS }),
    'no-scrypt.json': JSON.stringify({ version: 1, accounts: [] }),
    'null.json': 'null',
  }
  for (const [name, text] of Object.entries(bad)) {
    const path = await write(name, text)
    expect(() => readSecretsFile<AccountsFile>(path, 'accounts file', 'accounts'), name).toThrow(
      name === 'not-json.json'
        ? new RegExp(`^accounts file ${path}: .*JSON`)
        : `accounts file ${path}: not an evmon accounts file (version 1)`,
    )
  }
})
