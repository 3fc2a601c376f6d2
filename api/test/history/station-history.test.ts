import { describe, expect, test } from 'vitest'
import type { ApiError } from '../../src/errors.ts'
import { CONNECTOR_FIELDS, STATION_FIELDS, selectFields } from '../../src/history/history-fields.ts'
import { buildHistoryQuery, buildStationSitesQuery } from '../../src/history/station-history.ts'

const query = {
  site: 'beibei',
  station: 'zn-super',
  fromMs: 1_742_869_800_000,
  toMs: 1_742_873_400_000,
  everyMs: 60_000,
  fields: { station: ['grid_power_w'], connector: ['power_w', 'soc_pct'] },
}

describe('history query', () => {
  test('reads the mean of each field per bucket for one station and its connectors', () => {
    const built = buildHistoryQuery(query)
    expect(built.measurements).toEqual(['station', 'connector'])
    const [station, connector] = built.text.split('; ')
    expect(station).toBe(
      `SELECT mean("grid_power_w") AS "grid_power_w" FROM "station" WHERE "site" = 'beibei' AND "station" = 'zn-super' AND time >= 1742869800000ms AND time < 1742873400000ms GROUP BY time(60000ms) fill(none)`,
    )
    expect(connector).toContain('mean("power_w") AS "power_w", mean("soc_pct") AS "soc_pct" FROM "connector"')
    expect(connector).toContain('GROUP BY time(60000ms), "connector" fill(none)')
  })

  test('only the measurements with requested fields are queried', () => {
    expect(
      buildHistoryQuery({ ...query, fields: { station: [], connector: ['power_w'] } }).measurements,
    ).toEqual(['connector'])
  })

  test('ids breaking the id pattern never reach the query text', () => {
    for (const hostile of [`x' OR 1=1 --`, 'x; DROP DATABASE evmon', 'x"', '/.*/']) {
      expect(() => buildHistoryQuery({ ...query, station: hostile })).toThrow(/not a valid id/)
      expect(() => buildHistoryQuery({ ...query, site: hostile })).toThrow(/not a valid id/)
      expect(() => buildStationSitesQuery(hostile)).toThrow(/not a valid id/)
    }
  })

  test('times must be non-negative integers', () => {
    expect(() => buildHistoryQuery({ ...query, fromMs: 1.5 })).toThrow(/from/)
    expect(() => buildHistoryQuery({ ...query, everyMs: Number.NaN })).toThrow(/every/)
  })

  test('sites of a station come from the station measurement tags', () => {
    expect(buildStationSitesQuery('zn-super')).toBe(
      `SHOW TAG VALUES FROM "station" WITH KEY = "site" WHERE "station" = 'zn-super'`,
    )
  })
})

describe('history fields', () => {
  test('every numeric field is selected by default', () => {
    expect(selectFields(undefined)).toEqual({
      station: [...STATION_FIELDS],
      connector: [...CONNECTOR_FIELDS],
    })
  })

  test('a list is split by measurement, repeats dropped', () => {
    expect(selectFields('power_w,grid_power_w,power_w')).toEqual({
      station: ['grid_power_w'],
      connector: ['power_w'],
    })
  })

  test('unknown names are refused by name', () => {
    try {
      selectFields('power_w,status,time')
      expect.unreachable()
    } catch (err) {
      expect((err as ApiError).statusCode).toBe(400)
      expect((err as ApiError).message).toMatch(/^unknown field status, time; known: grid_power_w/)
    }
  })
})
