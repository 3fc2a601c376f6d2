import { existsSync } from 'node:fs'
import { Credentials, SERVICE_ROLES } from './credentials.ts'

export const CLI_USAGE = `usage: npm run broker -- [command]

  (no command)                    run the broker (configured by EVMON_* variables, see README)
  add-station <site>/<station>    create or rotate a station's secret; prints it once
  add-service <role>              create or rotate a service account (${SERVICE_ROLES.join(', ')})
  remove <username>               remove a station or service account
  list                            list the accounts in the credentials file

A running broker picks the change up at once (it watches the file; SIGHUP also reloads it): a new
account can connect straight away, and the sessions of a removed or rotated account are closed.
The credentials file is EVMON_BROKER_CREDENTIALS (default var/broker/credentials.json); it holds only
salted scrypt hashes, so the secret printed by add-* cannot be recovered later — rotate it instead.`

/** Runs an account-management command; returns the process exit code. */
export async function runCli(args: string[], file: string, print: (line: string) => void): Promise<number> {
  const [command, name] = args
  const credentials = existsSync(file) ? Credentials.load(file) : Credentials.empty()
  if (command === 'list') {
    for (const username of credentials.usernames()) print(username)
    return 0
  }
  if (command === 'remove' && name) {
    if (!credentials.remove(name)) {
      print(`no account ${JSON.stringify(name)} in ${file}`)
      return 1
    }
    credentials.save(file)
    print(`removed ${name} from ${file}`)
    return 0
  }
  if ((command === 'add-station' || command === 'add-service') && name) {
    if ((command === 'add-station') !== name.includes('/')) {
      print(
        command === 'add-station' ? 'add-station takes <site>/<station>' : 'add-service takes a role name',
      )
      return 2
    }
    const secret = await credentials.issue(name)
    credentials.save(file)
    print(`username: ${name}`)
    print(`password: ${secret}`)
    print(`(stored as a salted hash in ${file}; this is the only time the password is shown)`)
    return 0
  }
  print(CLI_USAGE)
  return command === undefined || command === 'help' || command === '--help' ? 0 : 2
}
