import { expect, test } from 'vitest'
import { formatDeadLetter } from '../src/dead-letter.ts'

const message = (payload: Uint8Array) =>
  ({
    kind: 'message',
    reason: 'json',
    detail: 'Unexpected end of JSON input',
    topic: 'evmon/v1/beibei/zn-super/telemetry',
    receivedAt: 1_742_869_800_000,
    payload,
  }) as const

test('a UTF-8 payload is kept as text on one NDJSON line, with its id, site and station', () => {
  const payload = '{"v":1,\n"note":"北碚"'
  const text = formatDeadLetter(message(Buffer.from(payload)), 'id-1')
  expect(text.endsWith('\n')).toBe(true)
  expect(text.slice(0, -1)).not.toContain('\n')
  expect(JSON.parse(text)).toEqual({
    kind: 'message',
    id: 'id-1',
    reason: 'json',
    detail: 'Unexpected end of JSON input',
    site: 'beibei',
    station: 'zn-super',
    topic: 'evmon/v1/beibei/zn-super/telemetry',
    receivedAt: 1_742_869_800_000,
    payload,
    payload_bytes: Buffer.byteLength(payload),
    truncated: false,
  })
})

test('a binary payload is kept as base64', () => {
  const bytes = Uint8Array.from([0xff, 0x00, 0xc3])
  const entry = JSON.parse(formatDeadLetter(message(bytes), 'id-2'))
  expect(entry.payload).toBeUndefined()
  expect(Buffer.from(entry.payload_base64, 'base64')).toEqual(Buffer.from(bytes))
})

test('a long payload is cut without splitting a character', () => {
  const entry = JSON.parse(formatDeadLetter(message(Buffer.from('é'.repeat(100))), 'id-3', 51))
  expect(entry).toMatchObject({ payload: 'é'.repeat(25), payload_bytes: 200, truncated: true })
})

test('a refused line is recorded with its status and the station of its tags', () => {
  const entry = JSON.parse(
    formatDeadLetter(
      {
        kind: 'line',
        reason: 'write_rejected',
        detail: 'field type conflict',
        line: 'event,site=a,station=b f="x" 1',
        status: 400,
        rejectedAt: 5,
      },
      'id-4',
    ),
  )
  expect(entry).toEqual({
    kind: 'line',
    id: 'id-4',
    reason: 'write_rejected',
    detail: 'field type conflict',
    site: 'a',
    station: 'b',
    line: 'event,site=a,station=b f="x" 1',
    status: 400,
    rejectedAt: 5,
    truncated: false,
  })
})

test("a payload up to the contract's limit is kept whole, so it can be redriven", () => {
  const payload = Buffer.from('x'.repeat(64 * 1024))
  expect(JSON.parse(formatDeadLetter(message(payload), 'id-5'))).toMatchObject({
    truncated: false,
    payload_bytes: 65_536,
  })
  expect(JSON.parse(formatDeadLetter(message(Buffer.concat([payload, payload])), 'id-6'))).toMatchObject({
    truncated: true,
  })
})
