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

test('a UTF-8 payload is kept as text on one NDJSON line', () => {
  const payload = '{"v":1,\n"note":"北碚"'
  const text = formatDeadLetter(message(Buffer.from(payload)))
  expect(text.endsWith('\n')).toBe(true)
  expect(text.slice(0, -1)).not.toContain('\n')
  expect(JSON.parse(text)).toEqual({
    kind: 'message',
    reason: 'json',
    detail: 'Unexpected end of JSON input',
    topic: 'evmon/v1/beibei/zn-super/telemetry',
    receivedAt: 1_742_869_800_000,
    payload,
    payload_bytes: Buffer.byteLength(payload),
    truncated: false,
  })
})

test('a binary payload is kept as base64', () => {
  const bytes = Uint8Array.from([0xff, 0x00, 0xc3])
  const entry = JSON.parse(formatDeadLetter(message(bytes)))
  expect(entry.payload).toBeUndefined()
  expect(Buffer.from(entry.payload_base64, 'base64')).toEqual(Buffer.from(bytes))
})

test('a long payload is cut without splitting a character', () => {
  const entry = JSON.parse(formatDeadLetter(message(Buffer.from('é'.repeat(100))), 51))
  expect(entry).toMatchObject({ payload: 'é'.repeat(25), payload_bytes: 200, truncated: true })
})

test('a refused line is recorded with its status', () => {
  const entry = JSON.parse(
    formatDeadLetter({
      kind: 'line',
      reason: 'write_rejected',
      detail: 'field type conflict',
      line: 'event,site=a f="x" 1',
      status: 400,
      rejectedAt: 5,
    }),
  )
  expect(entry).toEqual({
    kind: 'line',
    reason: 'write_rejected',
    detail: 'field type conflict',
    line: 'event,site=a f="x" 1',
    status: 400,
    rejectedAt: 5,
    truncated: false,
  })
})
