// @vitest-environment happy-dom
import { afterEach, describe, expect, test } from 'vitest'
import { readStored, writeStored } from './storage.ts'

const KEY = 'evmon.test'

afterEach(() => {
  globalThis.localStorage.removeItem(KEY)
})

describe('storage', () => {
  test('keeps a value across reads and forgets it on null', () => {
    expect(readStored(KEY)).toBeNull()
    writeStored(KEY, 'dark')
    expect(globalThis.localStorage.getItem(KEY)).toBe('dark')
    expect(readStored(KEY)).toBe('dark')
    writeStored(KEY, null)
    expect(globalThis.localStorage.getItem(KEY)).toBeNull()
  })

  test('a browser that refuses storage reads nothing and drops writes without throwing', () => {
    const refuse = (): never => {
      throw new DOMException('The operation is insecure.', 'SecurityError')
    }
    const storage = globalThis.localStorage
    const { getItem, setItem, removeItem } = storage
    Object.assign(storage, { getItem: refuse, setItem: refuse, removeItem: refuse })
    try {
      expect(() => storage.getItem(KEY)).toThrow('insecure')
      expect(readStored(KEY)).toBeNull()
      expect(() => writeStored(KEY, 'light')).not.toThrow()
      expect(() => writeStored(KEY, null)).not.toThrow()
    } finally {
      Object.assign(storage, { getItem, setItem, removeItem })
    }
  })
})
