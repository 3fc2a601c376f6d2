import { describe, expect, test } from 'vitest'
import { quoteIdentifier, quoteString } from '../../src/influx/influxql.ts'

describe('InfluxQL quoting', () => {
  test('string literals escape quotes and backslashes', () => {
    expect(quoteString(`it's`)).toBe(`'it\\'s'`)
    expect(quoteString('a\\')).toBe(`'a\\\\'`)
  })

  test('identifiers escape double quotes and backslashes', () => {
    expect(quoteIdentifier('a"b')).toBe('"a\\"b"')
  })
})
