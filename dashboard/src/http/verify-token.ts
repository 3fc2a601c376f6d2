import type { Role } from '../stores/auth.ts'

export type TokenCheck = { ok: true; role: Role } | { ok: false; reason: 'refused' | 'unreachable' }

type Fetch = (url: string, init: RequestInit) => Promise<Pick<Response, 'status'>>

/**
 * Which role the API grants `token`. The API has no "who am I" route, so this asks two cheap
 * questions: an operator route (401 = a bad token), then the engineer-only export with no parameters,
 * which an engineer's token gets past authorisation to a 400 and an operator's stops at 403.
 */
export async function verifyToken(token: string, fetcher: Fetch = fetch): Promise<TokenCheck> {
  const headers = { authorization: `Bearer ${token}`, accept: 'application/json' }
  try {
    const live = await fetcher('/api/v1/live?detail=sites', { headers, cache: 'no-store' })
    if (live.status === 401 || live.status === 403) return { ok: false, reason: 'refused' }
    if (live.status >= 300) return { ok: false, reason: 'unreachable' }
    const engineer = await fetcher('/api/v1/export', { headers, cache: 'no-store' })
    return { ok: true, role: engineer.status === 401 || engineer.status === 403 ? 'operator' : 'engineer' }
  } catch {
    return { ok: false, reason: 'unreachable' }
  }
}
