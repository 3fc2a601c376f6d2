import { randomBytes } from 'node:crypto'
import { beforeAll, expect, inject, test } from 'vitest'
import { toLine } from '../src/index.ts'

// The unit tests pin the escaping rules; this proves a real InfluxDB 1.x reads them back unchanged.
const url = inject('influxUrl')
const db = `evmon_lp_${randomBytes(4).toString('hex')}`

async function query(q: string): Promise<unknown[][]> {
  const res = await fetch(`${url}/query?db=${db}&epoch=ms&q=${encodeURIComponent(q)}`)
  const body = (await res.json()) as { results: { series?: { values: unknown[][] }[] }[] }
  return body.results[0]?.series?.[0]?.values ?? []
}

beforeAll(async () => {
  await fetch(`${url}/query?q=${encodeURIComponent(`CREATE DATABASE ${db}`)}`, { method: 'POST' })
})

test.each([
  ['spaces', 'a b  c'],
  ['commas', 'a,b,,c'],
  ['equals signs', 'a=b=='],
  ['double quotes', 'say "hi"'],
  ['backslashes', 'C:\\path\\to'],
  ['unicode', '北碚液冷超充站 ⚡ ü'],
  ['everything at once', 'x "y",z=1 \\ 超'],
])('string fields and tags with %s round-trip through InfluxDB', async (_what, text) => {
  const time = 1_700_000_000_000 + Math.floor(Math.random() * 1e6)
  const tag = text.replace(/\\$/, '')
  const res = await fetch(`${url}/write?db=${db}&precision=ms`, {
    method: 'POST',
    body: toLine({ measurement: 'm x,y', tags: { 'tag key': tag }, fields: { 'f,=': text }, time }),
  })
  expect(res.status).toBe(204)
  const rows = await query(`SELECT "f,=", "tag key" FROM "m x,y" WHERE time = ${time}ms`)
  expect(rows).toEqual([[time, text, tag]])
})

test('a newline in a string field is stored as the two characters \\n, on one line', async () => {
  const time = 1_700_100_000_000
  const res = await fetch(`${url}/write?db=${db}&precision=ms`, {
    method: 'POST',
    body: `${toLine({ measurement: 'nl', tags: {}, fields: { f: 'a\nb' }, time })}\n`,
  })
  expect(res.status).toBe(204)
  expect(await query('SELECT f FROM nl')).toEqual([[time, 'a\\nb']])
})
