import { authHeaders, signOut } from '../stores/auth.ts'

// The one way the views call the REST API: JSON in, JSON out, the bearer token attached, and a 401
// turned into a sign-out so that the router sends the viewer back to the login page.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export type Query = Readonly<Record<string, string | number | boolean | null | undefined>>

/** `path` with the defined entries of `query` as its search string. */
export function apiUrl(path: string, query: Query = {}): string {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value))
  }
  const text = search.toString()
  return text ? `${path}?${text}` : path
}

/** The message of an API error body (`{ message }`), else the HTTP status text. */
async function errorMessage(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { message?: unknown }
    if (typeof body.message === 'string') return body.message
  } catch {
    // Not JSON: fall through to the status line.
  }
  return `HTTP ${response.status} ${response.statusText}`.trim()
}

/** The response if it is a 2xx; a 401 signs out first; any other answer throws ApiError. */
async function checked(response: Response): Promise<Response> {
  if (response.status === 401) signOut()
  if (!response.ok) throw new ApiError(response.status, await errorMessage(response))
  return response
}

/** GET a JSON resource; throws ApiError on any non-2xx answer. */
export async function getJson<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
  const response = await fetch(apiUrl(path, query), {
    signal,
    cache: 'no-store',
    headers: { accept: 'application/json', ...authHeaders() },
  })
  return (await (await checked(response)).json()) as T
}

/** POST to an action route (no body) and read its JSON answer, by getJson's rules. */
export async function postJson<T>(path: string): Promise<T> {
  const response = await fetch(path, {
    method: 'POST',
    headers: { accept: 'application/json', ...authHeaders() },
  })
  return (await (await checked(response)).json()) as T
}

/** GET a resource as a Blob (exports), by getJson's rules. */
export async function getBlob(path: string, query?: Query, signal?: AbortSignal): Promise<Blob> {
  const response = await fetch(apiUrl(path, query), { signal, headers: authHeaders() })
  return (await checked(response)).blob()
}
