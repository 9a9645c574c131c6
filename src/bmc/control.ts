/** Operations on registered BMCs, by name. */
import {IpmiDriver, type IpmiOptions} from './ipmi.js'
import {RedfishDriver, type RedfishOptions} from './redfish.js'
import {loadBmc, loadBmcPassword} from './registry.js'
import type {BmcDriver, BmcRecord, BootOptions, PowerAction, PowerState} from './types.js'

export interface DriverOptions {
  ipmi?: IpmiOptions
  redfish?: RedfishOptions
}

export function driverFor(record: BmcRecord, password: string, opts: DriverOptions = {}): BmcDriver {
  return record.protocol === 'redfish' ? new RedfishDriver(record, password, opts.redfish) : new IpmiDriver(record, password, opts.ipmi)
}

export function openBmc(name: string, opts: DriverOptions = {}): BmcDriver {
  const record = loadBmc(name)
  return driverFor(record, loadBmcPassword(name), opts)
}

export interface PowerResult {
  bmc: string
  action: PowerAction | 'status'
  /** Power state after the action (or the current state for status). */
  power: PowerState
}

export async function bmcPower(name: string, action: PowerAction | 'status', opts: DriverOptions = {}): Promise<PowerResult> {
  const d = openBmc(name, opts)
  if (action !== 'status') await d.power(action)
  const power = action === 'status' ? await d.powerStatus() : action === 'off' ? 'off' : 'on'
  return {bmc: name, action, power}
}

export interface BootResult {
  bmc: string
  device: 'pxe'
  persistent: boolean
  uefi: boolean
}

export async function bmcBootPxe(name: string, boot: BootOptions, opts: DriverOptions = {}): Promise<BootResult> {
  await openBmc(name, opts).bootPxe(boot)
  return {bmc: name, device: 'pxe', persistent: Boolean(boot.persistent), uefi: Boolean(boot.uefi)}
}
