import { parseArgs } from 'node:util'
import { Chargers } from './chargers.ts'

export const CLI_USAGE = `usage: npm run gateway -- [command]

  (no command)                                  run the gateway (configured by EVMON_* variables, see README)
  add-charger <site>/<identity> [--station ID]  add a charger, or rotate its password; prints it once
  remove <site>/<identity>                      remove a charger (a running gateway closes its connection)
  list                                          list the chargers: site/identity -> station id

<identity> is the charger's own OCPP identity, case-sensitive, as it connects to
ws://HOST:9220/ocpp/<site>/<identity>. Its evmon station id is the identity lower-cased with
* = : + | @ . replaced by _ unless --station gives one; two identities of a site never share one.
The chargers file is EVMON_GATEWAY_CHARGERS (default var/gateway/chargers.json); it holds only salted
scrypt hashes, so a password cannot be recovered later — rotate it instead. A running gateway applies
every change at once.`

/** Splits `site/identity`; identities cannot contain `/`, so the first `/` is the only one. */
function splitName(name: string | undefined): { site: string; identity: string } | null {
  const at = name?.indexOf('/') ?? -1
  if (!name || at < 1) return null
  return { site: name.slice(0, at), identity: name.slice(at + 1) }
}

/** Runs a charger-management command; returns the process exit code. */
export async function runCli(args: string[], file: string, print: (line: string) => void): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { station: { type: 'string' } } })
  } catch (err) {
    print((err as Error).message)
    return 2
  }
  const [command, name] = parsed.positionals
  const chargers = Chargers.load(file)
  if (command === 'list') {
    for (const c of chargers.list()) print(`${c.site}/${c.identity} -> ${c.site}/${c.station}`)
    return 0
  }
  const target = splitName(name)
  if (command === 'remove' && target) {
    if (!chargers.remove(target.site, target.identity)) {
      print(`no charger ${name} in ${file}`)
      return 1
    }
    await chargers.save(file)
    print(`removed ${name}`)
    return 0
  }
  if (command === 'add-charger' && target) {
    try {
      const { charger, password } = await chargers.add(target.site, target.identity, parsed.values.station)
      await chargers.save(file)
      print(`charger:  ${charger.site}/${charger.identity} (station ${charger.site}/${charger.station})`)
      print(`username: ${charger.identity}`)
      print(`password: ${password}`)
      print(`(stored as a salted hash in ${file}; this is the only time the password is shown)`)
      return 0
    } catch (err) {
      print((err as Error).message)
      return 2
    }
  }
  print(CLI_USAGE)
  return command === undefined || command === 'help' || command === '--help' ? 0 : 2
}
