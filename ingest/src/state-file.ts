import { readFile } from 'node:fs/promises'

/** The parsed JSON in `path`, or undefined when there is no such file. */
export async function readJsonFile(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  return text === undefined ? undefined : (JSON.parse(text) as unknown)
}
