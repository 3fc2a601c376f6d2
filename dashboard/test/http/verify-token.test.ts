import { describe, expect, test } from 'vitest'
import { verifyToken } from '../../src/http/verify-token.ts'

let calls: { url: string; auth: string | null }[] = []

// The answers of GET /api/v1/me as the login form reads them; the e2e login test runs the real route.
const answer =
  (status: number, body: unknown = null) =>
  async (url: string, init: RequestInit) => {
    calls.push({ url, auth: new Headers(init.headers).get('authorization') })
    return { status, json: async () => body }
  }

describe('verifyToken', () => {
  test('asks the who-am-I route once with the token and takes the role it names', async () => {
    calls = []
    expect(await verifyToken('tok', answer(200, { role: 'engineer' }))).toEqual({
      ok: true,
      role: 'engineer',
    })
    expect(calls).toEqual([{ url: '/api/v1/me', auth: 'Bearer tok' }])
    expect(await verifyToken('tok', answer(200, { role: 'operator' }))).toEqual({
      ok: true,
      role: 'operator',
    })
  })

  test('a 401 or 403 is a refused token', async () => {
    expect(await verifyToken('bad', answer(401))).toEqual({ ok: false, reason: 'refused' })
    expect(await verifyToken('bad', answer(403))).toEqual({ ok: false, reason: 'refused' })
  })

  test('server errors, unknown roles, bad bodies and network failures are "unreachable", never a role', async () => {
    expect(await verifyToken('t', answer(500))).toEqual({ ok: false, reason: 'unreachable' })
    expect(await verifyToken('t', answer(200, { role: 'admin' }))).toEqual({
      ok: false,
      reason: 'unreachable',
    })
    expect(await verifyToken('t', answer(200, null))).toEqual({ ok: false, reason: 'unreachable' })
    const broken = async () => ({
      status: 200,
      json: async () => {
        throw new SyntaxError('Unexpected token <')
      },
    })
    expect(await verifyToken('t', broken)).toEqual({ ok: false, reason: 'unreachable' })
    const offline = async () => {
      throw new TypeError('Failed to fetch')
    }
    expect(await verifyToken('t', offline)).toEqual({ ok: false, reason: 'unreachable' })
  })
})
