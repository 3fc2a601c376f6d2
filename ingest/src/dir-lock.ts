import { open, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'

/** Ownership of a state directory by this process. */
export interface DirLock {
  release(): Promise<void>
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes `<dir>/LOCK` for this process. Two ingest instances sharing a spool would each drain and delete
 * the other's segments, so a second one fails to start instead. A lock left by a process that died
 * (SIGKILL, power loss) is taken over.
 */
export async function acquireDirLock(dir: string): Promise<DirLock> {
  const path = join(dir, 'LOCK')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx')
      await handle.writeFile(String(process.pid))
      await handle.close()
      return { release: () => unlink(path).catch(() => undefined) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const owner = Number(await readFile(path, 'utf8').catch(() => ''))
    // Our own pid: another spool in this process (a test) holds it; a recycled pid after a reboot is
    // the one case this refuses wrongly, and the message says what to delete.
    if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
      throw new Error(`${dir} is in use by process ${owner} (delete ${path} if that is not an ingest)`)
    }
    await unlink(path).catch(() => undefined)
  }
  throw new Error(`could not lock ${dir}`)
}
