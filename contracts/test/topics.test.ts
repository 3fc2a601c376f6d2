import { expect, test } from 'vitest'
import { isValidId, parseStationTopic, stationRoot, stationTopic } from '../src/index.ts'

test('topics are built from ids and parsed back', () => {
  const topic = stationTopic('beibei', 'zn-super', 'telemetry')
  expect(topic).toBe('evmon/v1/beibei/zn-super/telemetry')
  expect(parseStationTopic(topic)).toEqual({
    ok: true,
    topic: { site: 'beibei', station: 'zn-super', kind: 'telemetry' },
  })
  expect(stationRoot('beibei', 'kc-ac')).toBe('evmon/v1/beibei/kc-ac')
})

test.each([
  'Upper',
  '-leading-dash',
  '_leading',
  'has space',
  'a/b',
  'a+b',
  'a#',
  '',
  'x'.repeat(65),
  'é',
  'a,b',
  'a=b',
  'a"b',
])('the id %j is rejected', (id) => {
  expect(isValidId(id)).toBe(false)
  expect(() => stationTopic(id, 'ok', 'meta')).toThrow(/not a valid id/)
  expect(() => stationTopic('ok', id, 'meta')).toThrow(/not a valid id/)
})

test.each(['a', '0', 'zn-super', 'kc_fast-1', 'x'.repeat(64)])('the id %j is accepted', (id) => {
  expect(isValidId(id)).toBe(true)
})

test.each([
  ['evmon/v1/beibei/zn-super', /topic is not/],
  ['evmon/v1/beibei/zn-super/telemetry/extra', /topic is not/],
  ['evmon/v2/beibei/zn-super/telemetry', /topic is not/],
  ['evmon/v1/Beibei/zn-super/telemetry', /site id/],
  ['evmon/v1/beibei/zn super/telemetry', /station id/],
  ['evmon/v1/beibei/zn-super/firmware', /unknown message kind/],
])('the topic %s is rejected with a reason', (topic, reason) => {
  const result = parseStationTopic(topic)
  expect(result.ok).toBe(false)
  if (!result.ok) expect(result.reason).toMatch(reason)
})
