import { computed, ref } from 'vue'
import { readStored, writeStored } from '../storage.ts'

// The API token that opens the operator and engineer views. It is kept in localStorage so that a wall
// screen stays signed in across reloads; the API stays the judge of every request, so a token that has
// been revoked signs the dashboard out on the first 401.

/** The API's roles that the dashboard knows; an engineer may also open every operator view. */
export type Role = 'operator' | 'engineer'

const TOKEN_KEY = 'evmon.token'
const ROLE_KEY = 'evmon.role'

function asRole(value: string | null): Role | null {
  return value === 'operator' || value === 'engineer' ? value : null
}

export const token = ref<string | null>(readStored(TOKEN_KEY))
export const role = ref<Role | null>(token.value ? asRole(readStored(ROLE_KEY)) : null)
export const signedIn = computed(() => token.value !== null && role.value !== null)

/** True when a session with role `held` may open a view that needs `needed`. */
export function roleAllows(held: Role | null, needed: Role): boolean {
  if (held === null) return false
  return held === 'engineer' || held === needed
}

export function signIn(newToken: string, newRole: Role): void {
  token.value = newToken
  role.value = newRole
  writeStored(TOKEN_KEY, newToken)
  writeStored(ROLE_KEY, newRole)
}

export function signOut(): void {
  token.value = null
  role.value = null
  writeStored(TOKEN_KEY, null)
  writeStored(ROLE_KEY, null)
}

/** The Authorization header for API requests, empty when signed out. */
export function authHeaders(): Record<string, string> {
  return token.value ? { authorization: `Bearer ${token.value}` } : {}
}
