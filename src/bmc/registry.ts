/**
 * BMC records in the state dir: `bmc/<name>.json` (no secret in it) and the password in
 * `bmc/<name>.password`, mode 0600, in a 0700 directory.
 */
import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {z} from 'zod'
import {ExitCode, InputError, MetalplaneError} from '../errors.js'
import {writeFileAtomic} from '../util/fs.js'
import {stateDir} from '../util/paths.js'
import {registerSecret} from '../util/redact.js'
import type {BmcRecord} from './types.js'

const NAME_RE = /^[a-z0-9]([-a-z0-9._]{0,61}[a-z0-9])?$/

const RecordSchema = z
  .object({
    name: z.string().regex(NAME_RE),
    protocol: z.enum(['ipmi', 'redfish']),
    address: z.string().min(1).max(253).regex(/^[A-Za-z0-9.:\-[\]]+$/, 'a hostname or IP address'),
    port: z.number().int().min(1).max(65535).optional(),
    user: z.string().min(1).max(64),
    insecure: z.boolean().optional(),
    caFile: z.string().min(1).optional(),
    systemPath: z.string().regex(/^\/redfish\/v1\/Systems\/[^/]+$/, 'a path such as /redfish/v1/Systems/1').optional(),
    addedAt: z.string(),
  })
  .strict()

export function bmcDir(): string {
  return join(stateDir(), 'bmc')
}

export class BmcNotFoundError extends MetalplaneError {
  constructor(name: string) {
    super(`no BMC named "${name}"`, {exitCode: ExitCode.BAD_INPUT, code: 'NOT_FOUND', hint: 'List them with `metalplane bmc list`; add one with `metalplane bmc add`.'})
  }
}

function paths(name: string): {json: string; password: string} {
  if (!NAME_RE.test(name)) throw new InputError(`"${name}" is not a valid BMC name`, [{path: 'NAME', message: 'lowercase letters, digits, "-", "." and "_", at most 63 characters'}])
  return {json: join(bmcDir(), `${name}.json`), password: join(bmcDir(), `${name}.password`)}
}

export function validateBmcRecord(r: BmcRecord): BmcRecord {
  const parsed = RecordSchema.safeParse(r)
  if (!parsed.success)
    throw new InputError(
      `BMC "${r.name}" is not valid`,
      parsed.error.issues.map((i) => ({path: i.path.join('.') === 'name' ? 'NAME' : `--${String(i.path[0]).replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`, message: i.message})),
    )
  return parsed.data
}

export async function saveBmc(record: BmcRecord, password: string): Promise<BmcRecord> {
  registerSecret(password)
  const r = validateBmcRecord(record)
  const p = paths(r.name)
  mkdirSync(bmcDir(), {recursive: true, mode: 0o700})
  chmodSync(bmcDir(), 0o700)
  await writeFileAtomic(p.password, password, 0o600)
  await writeFileAtomic(p.json, JSON.stringify(r, null, 2) + '\n', 0o600)
  return r
}

export function bmcExists(name: string): boolean {
  return existsSync(paths(name).json)
}

export function loadBmc(name: string): BmcRecord {
  const p = paths(name)
  if (!existsSync(p.json)) throw new BmcNotFoundError(name)
  return RecordSchema.parse(JSON.parse(readFileSync(p.json, 'utf8'))) as BmcRecord
}

/** Reads the stored password and registers it as a secret. */
export function loadBmcPassword(name: string): string {
  const p = paths(name)
  if (!existsSync(p.password)) throw new MetalplaneError(`BMC "${name}" has no stored password`, {hint: `Re-add it: metalplane bmc add ${name} ...`})
  const mode = statSync(p.password).mode & 0o077
  if (mode !== 0) chmodSync(p.password, 0o600)
  const pw = readFileSync(p.password, 'utf8')
  registerSecret(pw)
  return pw
}

export function listBmcs(): BmcRecord[] {
  if (!existsSync(bmcDir())) return []
  return readdirSync(bmcDir())
    .filter((f) => f.endsWith('.json'))
    .map((f) => loadBmc(f.slice(0, -'.json'.length)))
    .sort((a, b) => a.name.localeCompare(b.name))
}

export function removeBmc(name: string): BmcRecord {
  const r = loadBmc(name)
  const p = paths(name)
  rmSync(p.password, {force: true})
  rmSync(p.json, {force: true})
  return r
}
