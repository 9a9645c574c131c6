/**
 * IPMI over LAN (lanplus) through ipmitool. The password goes to ipmitool in the
 * IPMI_PASSWORD environment variable (`-E`), never on its command line.
 */
import {execFile} from 'node:child_process'
import {MissingDependencyError} from '../errors.js'
import {redact, registerSecret} from '../util/redact.js'
import {BmcAuthError, BmcError, bmcLabel, BmcUnreachableError, type BmcDriver, type BmcRecord, type BootOptions, type PowerAction, type PowerState} from './types.js'

export interface IpmiOptions {
  /** ipmitool -N: seconds per try. */
  timeoutSeconds?: number
  /** ipmitool -R: tries. */
  retries?: number
  ipmitool?: string
}

interface RunResult {
  code: number
  stdout: string
  stderr: string
}

export class IpmiDriver implements BmcDriver {
  readonly name: string
  constructor(
    private readonly record: BmcRecord,
    private readonly password: string,
    private readonly opts: IpmiOptions = {},
  ) {
    this.name = record.name
    registerSecret(password)
  }

  /** The argument list ipmitool gets (no secret in it). */
  args(command: string[]): string[] {
    const r = this.record
    return [
      '-v',
      '-I', 'lanplus',
      '-C', '3',
      '-H', r.address,
      '-p', String(r.port ?? 623),
      '-U', r.user,
      '-E',
      '-N', String(this.opts.timeoutSeconds ?? 2),
      '-R', String(this.opts.retries ?? 2),
      ...command,
    ]
  }

  private run(command: string[]): Promise<RunResult> {
    const bin = this.opts.ipmitool ?? 'ipmitool'
    return new Promise((resolve, reject) => {
      const child = execFile(
        bin,
        this.args(command),
        {env: {...process.env, IPMI_PASSWORD: this.password}, timeout: 60_000, maxBuffer: 1024 * 1024},
        (error, stdout, stderr) => {
          const e = error as (NodeJS.ErrnoException & {code?: string | number}) | null
          if (e && e.code === 'ENOENT') return reject(new MissingDependencyError('ipmitool', 'ipmitool', `needed to talk IPMI to ${bmcLabel(this.record)}`))
          resolve({code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout: String(stdout), stderr: String(stderr)})
        },
      )
      child.stdin?.end()
    })
  }

  private async call(command: string[]): Promise<string> {
    const res = await this.run(command)
    if (res.code === 0) return res.stdout
    const all = `${res.stdout}\n${res.stderr}`
    if (/RAKP 2 HMAC is invalid|RAKP 2 message indicates an error : unauthorized name|unauthorized name|invalid password|Authentication type .* not supported|insufficient privilege|Unauthorized/i.test(all)) {
      const detail = /unauthorized name/i.test(all) ? 'the BMC does not know this user' : 'wrong password (or user)'
      throw new BmcAuthError(this.record, detail)
    }
    if (/Get Auth Capabilities error|Error issuing Get Channel Authentication Capabilities|No response|timeout|Address lookup .* failed|Connection refused|No route|Network is unreachable/i.test(all))
      throw new BmcUnreachableError(this.record, 'no answer over IPMI (UDP) at that address and port')
    const last = res.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^Loading IANA|^Running Get VSO|^Invalid completion code received: Invalid command|^Discovered IPMB/.test(l)).slice(-3).join('; ')
    throw new BmcError(this.record.name, redact(`${bmcLabel(this.record)}: ipmitool ${command.join(' ')} failed: ${last || `exit ${res.code}`}`))
  }

  async powerStatus(): Promise<PowerState> {
    const out = await this.call(['chassis', 'power', 'status'])
    const m = /Chassis Power is (on|off)/i.exec(out)
    return m ? (m[1].toLowerCase() as PowerState) : 'unknown'
  }

  async power(action: PowerAction): Promise<void> {
    await this.call(['chassis', 'power', action])
  }

  async bootPxe(opts: BootOptions): Promise<void> {
    const options = [opts.persistent ? 'persistent' : undefined, opts.uefi ? 'efiboot' : undefined].filter(Boolean)
    await this.call(['chassis', 'bootdev', 'pxe', ...(options.length > 0 ? [`options=${options.join(',')}`] : [])])
  }
}
