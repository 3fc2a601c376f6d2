import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs'
import { mkdir, open, rename } from 'node:fs/promises'
import { dirname } from 'node:path'

// One recipe, in an async and a sync form (the sync one for exit handlers and CLI commands): write a
// temporary file beside the target, fsync it, rename it over the target, fsync the directory so the
// rename itself survives a power cut. A crash leaves either the old or the new content, never a mix.
// The temporary name carries the process id, so two processes saving the same file never share one.

/**
 * Replaces `path` with `text` atomically and durably; creates the directory if need be. `mode` sets
 * the new file's permissions from its creation on (0o600 for files holding password hashes).
 */
export async function writeFileAtomically(path: string, text: string, mode = 0o666): Promise<void> {
  const dir = dirname(path)
  await mkdir(dir, { recursive: true })
  const temporary = `${path}.${process.pid}.tmp`
  const file = await open(temporary, 'w', mode)
  try {
    await file.writeFile(text)
    await file.sync()
  } finally {
    await file.close()
  }
  await rename(temporary, path)
  await fsyncDirectory(dir)
}

/**
 * Fsyncs a directory, so that a file created, renamed or deleted in it is still there (or gone) after
 * a power cut: fsyncing a file makes its content durable, not its directory entry.
 */
export async function fsyncDirectory(dir: string): Promise<void> {
  const directory = await open(dir, 'r')
  try {
    await directory.sync()
  } finally {
    await directory.close()
  }
}

/** {@link writeFileAtomically}, blocking: for exit handlers and command-line tools. */
export function writeFileAtomicallySync(path: string, text: string, mode = 0o666): void {
  const dir = dirname(path)
  mkdirSync(dir, { recursive: true })
  const temporary = `${path}.${process.pid}.tmp`
  const file = openSync(temporary, 'w', mode)
  try {
    writeSync(file, text)
    fsyncSync(file)
  } finally {
    closeSync(file)
  }
  renameSync(temporary, path)
  const directory = openSync(dir, 'r')
  try {
    fsyncSync(directory)
  } finally {
    closeSync(directory)
  }
}
