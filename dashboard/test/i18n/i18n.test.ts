import type { Site } from '@evmon/contracts/site'
import { afterAll, describe, expect, test } from 'vitest'
import { showSite } from '../../src/stores/site.ts'
import { formatters, translate } from '../../src/i18n/index.ts'
import { MESSAGES } from '../../src/i18n/messages.ts'

describe('message catalogue', () => {
  test('both languages have the same keys and no empty message', () => {
    expect(Object.keys(MESSAGES['zh-CN']).sort()).toEqual(Object.keys(MESSAGES.en).sort())
    for (const catalogue of Object.values(MESSAGES)) {
      for (const text of Object.values(catalogue)) expect(text.trim()).not.toBe('')
    }
  })

  test('each translation keeps the parameters of its English message', () => {
    const params = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()
    for (const [key, text] of Object.entries(MESSAGES.en)) {
      expect(params(MESSAGES['zh-CN'][key as keyof typeof MESSAGES.en]), key).toEqual(params(text))
    }
  })

  test('Chinese labels are written in Chinese, not left in English', () => {
    const untranslated = Object.entries(MESSAGES['zh-CN']).filter(
      ([key, text]) => text === MESSAGES.en[key as keyof typeof MESSAGES.en] && /[a-z]{3}/i.test(text),
    )
    expect(untranslated).toEqual([])
  })
})

describe('translate', () => {
  test('fills parameters and leaves unknown ones visible', () => {
    expect(translate('en', 'avail.freeOf', { total: 11 })).toBe('of 11 connectors free')
    expect(translate('zh-CN', 'avail.gun', { n: 2 })).toBe('2 号枪')
    expect(translate('en', 'avail.freeOf')).toBe('of {total} connectors free')
  })
})

describe('formatters by locale', () => {
  const en = formatters('en')
  const zh = formatters('zh-CN')

  test('durations read naturally in each language', () => {
    expect(en.duration(65 * 60)).toBe('1 hr 5 min')
    expect(zh.duration(65 * 60)).toBe('1小时5分钟')
    expect(zh.duration(12 * 60)).toBe('12分钟')
  })

  test('prices carry the yuan sign each locale uses', () => {
    expect(zh.price(1.1435)).toBe('¥1.14/kWh')
    expect(en.price(1.1435)).toBe('CN¥1.14/kWh')
  })

  test('times are the shown site’s wall-clock time whatever the viewer zone', () => {
    const ts = Date.UTC(2025, 2, 25, 2, 30, 5)
    // Only the time zone of the site description matters here.
    showSite({ id: 'beibei', timezone: 'Asia/Shanghai' } as Site)
    expect(en.time(ts)).toBe('10:30:05')
    expect(zh.day(ts)).toBe('3月25日')
    expect(en.day(ts)).toBe('Mar 25')
    showSite({ id: 'elsewhere', timezone: 'America/New_York' } as Site)
    expect(en.time(ts)).toBe('22:30:05')
    expect(en.day(ts)).toBe('Mar 24')
  })
  afterAll(() => showSite(null))
})
