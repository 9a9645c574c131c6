import {createHash} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {InputError} from '../errors.js'
import {writeFileAtomic} from '../util/fs.js'
import {stateDir} from '../util/paths.js'

export const LAB_STATE_FILE = 'lab.json'

export interface LabHostState {
  index: number
  /** DNS label, also the machine's hostname and the spec host name. */
  name: string
  address: string
  netns: string
  /** MAC of the host's eth0 (fixed, derived from lab name and index). */
  mac: string
  dir: string
  merged: string
  log: string
  pid?: number
  hostKey?: string
}

/**
 * Everything `lab up` made, written after each step (and before each resource is created),
 * so `lab down` can remove all of it also after a crash.
 */
export interface LabState {
  version: 1
  name: string
  subnet: string
  /** First three octets, e.g. "10.77.5". */
  prefix: string
  bridgeAddress: string
  /** Address of this machine on the lab network (root side of the uplink veth). */
  gatewayAddress: string
  labNetns: string
  rootVeth: string
  dir: string
  keyFile: string
  knownHosts: string
  clusterYaml: string
  rootfs?: string
  phase: 'creating' | 'up' | 'failed'
  createdAt: string
  netns: string[]
  veths: string[]
  mounts: string[]
  pids: {host: string; pid: number}[]
  dirs: string[]
  hosts: LabHostState[]
}

const NAME_RE = /^[a-z]([a-z0-9-]{0,22}[a-z0-9])?$/

/** Lab names become parts of namespace names (`mpl-<name>-h<i>`): a DNS label without `-h<digits>` parts. */
export function validateLabName(name: string): void {
  if (!NAME_RE.test(name) || /-h\d+(-|$)/.test(name) || name.includes('--'))
    throw new InputError('Invalid lab name', [
      {path: 'name', message: `"${name}" must be 1-24 lowercase letters, digits and single "-", start with a letter, and not contain "-h<digits>"`},
    ])
}

export function labsRoot(base = stateDir()): string {
  return join(base, 'labs')
}

export function labDir(name: string, base = stateDir()): string {
  return join(labsRoot(base), name)
}

export function labNetnsName(name: string): string {
  return `mpl-${name}`
}

export function hostNetnsName(name: string, index: number): string {
  return `mpl-${name}-h${index}`
}

/** Root-namespace end of the uplink veth; interface names are at most 15 characters. */
export function rootVethName(name: string): string {
  if (name.length <= 11) return `mpl-${name}`
  return `mpl-${name.slice(0, 5)}${createHash('sha256').update(name).digest('hex').slice(0, 6)}`
}

/** A locally administered unicast MAC, stable for the lab name, index and side. */
export function labMac(name: string, index: number, side: string): string {
  const h = createHash('sha256').update(`${name}/${index}/${side}`).digest()
  const b = [0x02, h[0], h[1], h[2], h[3], h[4]]
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':')
}

export async function readLabState(dir: string): Promise<LabState | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, LAB_STATE_FILE), 'utf8')) as LabState
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    if (error instanceof SyntaxError) return undefined
    throw error
  }
}

/** Serialises writes of one lab's state: every change is on disk before the next step runs. */
export class LabStateWriter {
  private chain: Promise<void> = Promise.resolve()
  constructor(readonly state: LabState) {}

  save(): Promise<void> {
    const snapshot = JSON.stringify(this.state, null, 2) + '\n'
    this.chain = this.chain.then(() => writeFileAtomic(join(this.state.dir, LAB_STATE_FILE), snapshot, 0o600))
    return this.chain
  }

  /** Applies a change and writes it. */
  async update(fn: (s: LabState) => void): Promise<void> {
    fn(this.state)
    await this.save()
  }
}
