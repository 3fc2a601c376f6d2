// localStorage, which a browser may lack or refuse (private mode, kiosk policies): a read then finds
// nothing and a write is dropped, so the dashboard falls back to its defaults for this page only.

export function readStored(key: string): string | null {
  try {
    return globalThis.localStorage?.getItem(key) ?? null
  } catch {
    return null
  }
}

/** Keeps `value` under `key`; null removes the key. */
export function writeStored(key: string, value: string | null): void {
  try {
    if (value === null) globalThis.localStorage?.removeItem(key)
    else globalThis.localStorage?.setItem(key, value)
  } catch {
    // See readStored: without storage the choice lasts for this page only.
  }
}
