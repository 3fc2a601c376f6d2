import type { Role } from '../stores/auth.ts'

export type TokenCheck = { ok: true; role: Role } | { ok: false; reason: 'refused' | 'unreachable' }

type Fetch = (url: string, init: RequestInit) => Promise<Pick<Response, 'status' | 'json'>>

/**
 * Which role the API grants `token`, from its "who am I" route: `{ role }` for a valid token, 401 for
 * any other. An answer this dashboard does not understand counts as unreachable, never as a role.
 */
export async function verifyToken(token: string, fetcher: Fetch = fetch): Promise<TokenCheck> {
  try {
    const response = await fetcher('/api/v1/me', {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      cache: 'no-store',
    })
    if (response.status === 401 || response.status === 403) return { ok: false, reason: 'refused' }
    if (response.status !== 200) return { ok: false, reason: 'unreachable' }
    const body: unknown = await response.json()
    const role = typeof body === 'object' && body !== null ? (body as { role?: unknown }).role : undefined
    return role === 'operator' || role === 'engineer'
      ? { ok: true, role }
      : { ok: false, reason: 'unreachable' }
  } catch {
    return { ok: false, reason: 'unreachable' }
  }
}
