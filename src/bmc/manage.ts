import {ExitCode, InputError, MetalplaneError} from '../errors.js'
import {driverFor} from './control.js'
import {readBmcPassword} from './password.js'
import {bmcExists, saveBmc, validateBmcRecord} from './registry.js'
import type {BmcRecord, PowerState} from './types.js'

/** A BMC record as the user gives it (addedAt is set on save), and how to add it. */
export interface AddBmcInput extends Omit<BmcRecord, 'addedAt'> {
  passwordFile?: string
  /** Read the power state once before saving. */
  verify?: boolean
  force?: boolean
}

export interface AddBmcResult {
  bmc: BmcRecord
  /** Power state read while verifying (absent with verify off). */
  power?: PowerState
}

/** Validates, reads the password, checks it against the BMC, then stores record and password. */
export async function addBmc(input: AddBmcInput): Promise<AddBmcResult> {
  const record = validateBmcRecord({
    name: input.name,
    protocol: input.protocol,
    address: input.address,
    ...(input.port ? {port: input.port} : {}),
    user: input.user,
    ...(input.insecure ? {insecure: true} : {}),
    ...(input.caFile ? {caFile: input.caFile} : {}),
    ...(input.systemPath ? {systemPath: input.systemPath} : {}),
    addedAt: new Date().toISOString(),
  })
  if (bmcExists(record.name) && !input.force)
    throw new MetalplaneError(`BMC "${record.name}" already exists`, {exitCode: ExitCode.BAD_INPUT, code: 'BAD_INPUT', hint: 'Pass --force to replace it, or choose another name.'})
  const password = await readBmcPassword({passwordFile: input.passwordFile, bmc: record.name})
  if (record.protocol === 'ipmi' && Buffer.byteLength(password) > 20)
    throw new InputError(`the password for BMC "${record.name}" is longer than IPMI allows`, [{path: 'password', message: 'IPMI v2 passwords are at most 20 bytes'}])
  let power: PowerState | undefined
  if (input.verify !== false) power = await driverFor(record, password).powerStatus()
  await saveBmc(record, password)
  return {bmc: record, power}
}
