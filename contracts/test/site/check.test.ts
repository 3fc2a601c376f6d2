import { describe, expect, test } from 'vitest'
import { siteFileProblems } from '../../src/site/check.ts'
import { SiteFileSchema, siteDescription, type Site } from '../../src/site/schema.ts'

describe('site file checks', () => {
  test('a file of the wrong shape lists the path of every missing or malformed section', () => {
    const problems = siteFileProblems(SiteFileSchema, {
      id: 'x',
      name: 'X',
      timezone: 'Asia/Shanghai',
      tariff: {},
    })
    for (const path of ['/grid', '/stations', '/vehicles', '/tariff/hours', '/tariff/currency']) {
      expect(
        problems.some((p) => p.startsWith(`${path}: `)),
        path,
      ).toBe(true)
    }
  })

  test('the extension’s own rules run only on a file of the right shape', () => {
    let ran = false
    siteFileProblems(SiteFileSchema, {}, () => {
      ran = true
      return []
    })
    expect(ran).toBe(false)
  })

  test('the description leaves out the sections a simulator adds', () => {
    const file = { id: 'x', name: 'X', timezone: 'UTC', faults: {}, arrivalClasses: [] } as unknown as Site
    expect(siteDescription(file)).toEqual({ id: 'x', name: 'X', timezone: 'UTC' })
  })
})
