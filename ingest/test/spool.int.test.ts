import { mkdtempSync } from 'node:fs'
import { appendFile, readdir, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { silentLogger } from '../src/log.ts'
import { openSpool, SpoolFullError } from '../src/spool.ts'

const dir = () => join(mkdtempSync(join(tmpdir(), 'evmon-spool-')), 'spool')
const record = (i: number) => ({ lines: [`m,s=${i} f=${i} ${i}`, `m,s=${i} g=1 ${i}`], oldestTs: i })

async function drainAll(spool: Awaited<ReturnType<typeof openSpool>>) {
  const out = []
  for (let r = await spool.peek(); r; r = await spool.peek()) {
    out.push(r)
    await spool.shift()
  }
  return out
}

test('records survive a reopen, drain in order, and a drained spool leaves no segment files', async () => {
  const path = dir()
  const first = await openSpool({ dir: path, maxBytes: 1024 * 1024, logger: silentLogger })
  await Promise.all(Array.from({ length: 200 }, (_, i) => first.append(record(i))))
  expect(first.stats()).toMatchObject({ records: 200, full: false })
  // Small quota → 128 KiB segments: the 200 records span several files.
  await first.close()

  const second = await openSpool({ dir: path, maxBytes: 1024 * 1024, logger: silentLogger })
  expect(second.stats().records).toBe(200)
  expect(await drainAll(second)).toEqual(Array.from({ length: 200 }, (_, i) => record(i)))
  expect(second.stats()).toMatchObject({ records: 0, bytes: 0 })
  expect((await readdir(path)).filter((f) => f.endsWith('.seg'))).toEqual([])
  await second.close()
})

test('a record torn by a crash is cut on reopen and the intact ones are kept', async () => {
  const path = dir()
  const spool = await openSpool({ dir: path, maxBytes: 1024 * 1024, logger: silentLogger })
  for (let i = 0; i < 3; i++) await spool.append(record(i))
  await spool.close()
  const [segment] = (await readdir(path)).filter((f) => f.endsWith('.seg'))
  const intact = (await stat(join(path, segment!))).size
  await appendFile(join(path, segment!), Buffer.from([200, 0, 0, 0, 1, 2, 3]))

  const reopened = await openSpool({ dir: path, maxBytes: 1024 * 1024, logger: silentLogger })
  expect((await stat(join(path, segment!))).size).toBe(intact)
  expect(await drainAll(reopened)).toEqual([record(0), record(1), record(2)])
  await reopened.close()
})

test('a full spool refuses appends and takes them again once drained records free a segment', async () => {
  const path = dir()
  const spool = await openSpool({ dir: path, maxBytes: 1024 * 1024, logger: silentLogger })
  const big = { lines: ['x'.repeat(100_000)], oldestTs: 1 }
  let accepted = 0
  for (;;) {
    try {
      await spool.append(big)
      accepted++
    } catch (err) {
      expect(err).toBeInstanceOf(SpoolFullError)
      break
    }
  }
  expect(accepted).toBe(10)
  expect(spool.stats()).toMatchObject({ full: true })
  expect(spool.stats().bytes).toBeLessThanOrEqual(1024 * 1024)
  const room = spool.roomFreed()
  await spool.shift()
  await spool.shift()
  await room
  expect(spool.stats().full).toBe(false)
  await spool.append(big)
  await spool.close()
})

test('a second spool on the same directory is refused while the first is open', async () => {
  const path = dir()
  const spool = await openSpool({ dir: path, maxBytes: 1024 * 1024, logger: silentLogger })
  await expect(openSpool({ dir: path, maxBytes: 1024 * 1024, logger: silentLogger })).rejects.toThrow(
    /in use/,
  )
  await spool.close()
  await (await openSpool({ dir: path, maxBytes: 1024 * 1024, logger: silentLogger })).close()
})
