import {ExitCode, MetalplaneError} from '../errors.js'

export type BmcProtocol = 'ipmi' | 'redfish'
export type PowerState = 'on' | 'off' | 'unknown'
export type PowerAction = 'on' | 'off' | 'cycle'

/** What is kept about a BMC in the state dir. The password is kept apart, in a 0600 file. */
export interface BmcRecord {
  name: string
  protocol: BmcProtocol
  address: string
  /** 623 for IPMI, 443 for Redfish unless set. */
  port?: number
  user: string
  /** Redfish: skip TLS verification (self-signed BMC certificates). */
  insecure?: boolean
  /** Redfish: a CA bundle (PEM) to verify the BMC certificate with. */
  caFile?: string
  /** Redfish: the ComputerSystem path; discovered from /redfish/v1/Systems when absent. */
  systemPath?: string
  addedAt: string
}

export interface BootOptions {
  persistent?: boolean
  uefi?: boolean
}

/** One BMC, one protocol. Every method names the BMC in its errors and never the password. */
export interface BmcDriver {
  readonly name: string
  powerStatus(): Promise<PowerState>
  power(action: PowerAction): Promise<void>
  bootPxe(opts: BootOptions): Promise<void>
}

export function bmcLabel(r: Pick<BmcRecord, 'name' | 'address' | 'port'>): string {
  return `BMC "${r.name}" (${r.address}${r.port ? `:${r.port}` : ''})`
}

export class BmcError extends MetalplaneError {
  constructor(
    readonly bmc: string,
    message: string,
    opts: {code?: string; hint?: string; exitCode?: (typeof ExitCode)[keyof typeof ExitCode]} = {},
  ) {
    super(message, {code: opts.code ?? 'BMC_ERROR', hint: opts.hint, exitCode: opts.exitCode ?? ExitCode.FAILURE})
  }
}

export class BmcAuthError extends BmcError {
  constructor(r: Pick<BmcRecord, 'name' | 'address' | 'port' | 'user'>, detail: string) {
    super(r.name, `${bmcLabel(r)}: authentication failed for user "${r.user}": ${detail}`, {
      code: 'BMC_AUTH',
      hint: `Check the user and password, then re-add it: metalplane bmc add ${r.name} --address ${r.address} --user USER (password from METALPLANE_BMC_PASSWORD, --password-file or the prompt).`,
    })
  }
}

export class BmcUnreachableError extends BmcError {
  constructor(r: Pick<BmcRecord, 'name' | 'address' | 'port'>, detail: string) {
    super(r.name, `${bmcLabel(r)} is unreachable: ${detail}`, {
      code: 'BMC_UNREACHABLE',
      hint: 'Check the address and port, that the BMC network is reachable from here, and that IPMI over LAN / Redfish is enabled on the BMC.',
    })
  }
}
