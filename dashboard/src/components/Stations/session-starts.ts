import type { ComputedRef, InjectionKey } from 'vue'

/** Start time (UTC ms) of each running session by id, provided by the view that polls sessions. */
export const SESSION_STARTS: InjectionKey<ComputedRef<ReadonlyMap<string, number>>> = Symbol('session-starts')
