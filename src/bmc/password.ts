import {readFileSync} from 'node:fs'
import {InputError} from '../errors.js'
import {promptSecret} from '../ui/tty.js'
import {registerSecret} from '../util/redact.js'

export const PASSWORD_ENV = 'METALPLANE_BMC_PASSWORD'

/**
 * The BMC password from --password-file, else $METALPLANE_BMC_PASSWORD, else a prompt on a
 * terminal (not echoed). Registered as a secret as soon as it is read.
 */
export async function readBmcPassword(opts: {passwordFile?: string; bmc: string}): Promise<string> {
  let pw: string | undefined
  if (opts.passwordFile) {
    try {
      pw = readFileSync(opts.passwordFile, 'utf8').replace(/\r?\n$/, '')
    } catch (error) {
      throw new InputError(`cannot read --password-file ${opts.passwordFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, [{path: '--password-file', message: 'a readable file holding the password'}])
    }
  } else if (process.env[PASSWORD_ENV]) {
    pw = process.env[PASSWORD_ENV]
  } else {
    pw = await promptSecret(`Password for BMC "${opts.bmc}"`, `--password-file FILE or set ${PASSWORD_ENV}`)
  }
  registerSecret(pw)
  if (!pw) throw new InputError(`empty password for BMC "${opts.bmc}"`, [{path: '--password-file', message: 'must not be empty'}])
  if (pw.length > 128 || /[\0\n]/.test(pw)) throw new InputError(`the password for BMC "${opts.bmc}" is not usable`, [{path: 'password', message: 'at most 128 characters, no NUL or newline'}])
  return pw
}
