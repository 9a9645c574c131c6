import {access, constants} from 'node:fs/promises'
import {delimiter, join} from 'node:path'
import {ExitCode, MetalplaneError, MissingDependencyError} from '../errors.js'

/** Tools the lab runs, each with the Debian package that provides it. */
export const LAB_TOOLS = {
  ip: {pkg: 'iproute2', why: 'the lab creates network namespaces, a bridge and veth pairs'},
  'systemd-nspawn': {pkg: 'systemd-container', why: 'each lab host is a booted systemd-nspawn machine'},
  debootstrap: {pkg: 'debootstrap', why: 'the lab hosts run on a Debian bookworm tree built with debootstrap'},
  'ssh-keygen': {pkg: 'openssh-client', why: 'the lab generates its SSH key pair and per-host host keys'},
  mount: {pkg: 'mount', why: 'each lab host runs on an overlay mount'},
  umount: {pkg: 'mount', why: 'lab down unmounts the host overlays'},
} as const

export type LabTool = keyof typeof LAB_TOOLS

function defaultSearchPath(): string[] {
  // root's tools live in sbin, which a non-login PATH may lack
  return [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin']
}

async function findInPath(tool: string, dirs: string[]): Promise<string | undefined> {
  for (const d of dirs) {
    const p = join(d, tool)
    try {
      await access(p, constants.X_OK)
      return p
    } catch {
      // next
    }
  }
  return undefined
}

const resolved = new Map<string, string>()

/** Absolute path of a lab tool; throws MissingDependencyError naming the apt package. */
export async function tool(name: LabTool, searchPath?: string[]): Promise<string> {
  const hit = searchPath ? undefined : resolved.get(name)
  if (hit) return hit
  const p = await findInPath(name, searchPath ?? defaultSearchPath())
  if (!p) throw new MissingDependencyError(name, LAB_TOOLS[name].pkg, LAB_TOOLS[name].why)
  if (!searchPath) resolved.set(name, p)
  return p
}

/** Checks every tool the given lab operation needs, failing on the first missing one. */
export async function requireTools(names: LabTool[]): Promise<void> {
  for (const n of names) await tool(n)
}

/** Throws unless running as root (namespaces, mounts and nspawn need it). */
export function requireRoot(what: string): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new MetalplaneError(`${what} needs root: it creates network namespaces, mounts and systemd-nspawn machines`, {
      exitCode: ExitCode.PREFLIGHT,
      code: 'NEEDS_ROOT',
      hint: 'Run it as root (sudo).',
    })
  }
}
