import { mkdir, open, rename } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * Replaces `path` with `text` so that a crash leaves either the old or the new content, never a mix:
 * write a temporary file, fsync it, rename it over the old one. Creates the directory if need be.
 * `mode` sets the new file's permissions from its creation on (0o600 for files holding password hashes).
 */
export async function writeFileAtomically(path: string, text: string, mode = 0o666): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const temporary = `${path}.tmp`
  const handle = await open(temporary, 'w', mode)
  try {
    await handle.writeFile(text)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(temporary, path)
}
