import { open, readFile, rename } from 'node:fs/promises'

/**
 * Replaces `path` with `text` so that a crash leaves either the old or the new content, never a mix:
 * write a temporary file, fsync it, rename it over the old one.
 */
export async function writeFileAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.tmp`
  const handle = await open(temporary, 'w')
  try {
    await handle.writeFile(text)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(temporary, path)
}

/** The parsed JSON in `path`, or undefined when there is no such file. */
export async function readJsonFile(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  return text === undefined ? undefined : (JSON.parse(text) as unknown)
}
