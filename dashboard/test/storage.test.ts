// @vitest-environment happy-dom
import { afterEach, describe, expect, test } from 'vitest'
import { readStored, writeStored } from '../src/storage.ts'

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
    // As Chromium does with site data blocked: touching localStorage at all throws.
    const own = Object.getOwnPropertyDescriptor(globalThis, 'localStorage')!
    Object.defineProperty(globalThis, 'localStorage', {
      configurable: true,
      get: () => {
        throw new DOMException('The operation is insecure.', 'SecurityError')
      },
    })
    try {
      expect(() => globalThis.localStorage).toThrow('insecure')
      expect(readStored(KEY)).toBeNull()
      expect(() => writeStored(KEY, 'light')).not.toThrow()
      expect(() => writeStored(KEY, null)).not.toThrow()
    } finally {
      Object.defineProperty(globalThis, 'localStorage', own)
    }
  })
})
