/**
 * Turns inventory records into the `spec.hosts` section of a cluster spec: roles from the
 * requested controller count, local NVMe volumes and GPU settings from the hardware found,
 * the address the machine reported from.
 */
import type {z} from 'zod'
import {InputError, type FieldIssue} from '../errors.js'
import {HostSpec} from '../spec/schema.js'
import type {Disk} from './hardware.js'
import {nvmeDisks} from './hardware.js'
import type {MachineRecord} from './store.js'

export interface ExportOptions {
  /** How many machines become controllers (the rest are workers). */
  controllers: number
  /** Controllers also run workloads. */
  controllersSchedulable?: boolean
  user?: string
  keyFile?: string
  /**
   * auto: when a machine has only NVMe disks, its smallest NVMe disk is left out of the local
   * volumes (it holds the OS); none: every NVMe disk becomes a local volume.
   */
  osDisk?: 'auto' | 'none'
  wipe?: boolean
}

/** A host entry as written into a spec: only what was decided, defaults left to the spec loader. */
export type ExportedHost = z.input<typeof HostSpec>

/** Characters udev keeps in /dev/disk/by-id names (everything else becomes "_"). */
function udevSafe(s: string): string {
  return s
    .trim()
    .replace(/\s+/g, '_')
    .replace(/[^A-Za-z0-9#+\-.:=@_]/g, '_')
}

/** The by-id path udev creates for an NVMe namespace: nvme-<model>_<serial>. */
export function nvmeById(d: Disk): string | undefined {
  if (!d.model || !d.serial) return undefined
  return `/dev/disk/by-id/nvme-${udevSafe(d.model)}_${udevSafe(d.serial)}`
}

function volumeDisks(m: MachineRecord, osDisk: 'auto' | 'none'): Disk[] {
  const nvme = nvmeDisks(m.hardware)
  if (osDisk === 'none' || nvme.length === 0) return nvme
  const others = m.hardware.disks.filter((d) => !nvme.includes(d))
  if (others.length > 0) return nvme
  const smallest = [...nvme].sort((a, b) => a.sizeBytes - b.sizeBytes || a.name.localeCompare(b.name))[0]
  return nvme.filter((d) => d !== smallest)
}

/** Machines best suited to be controllers first: labeled role=controller, then without GPUs, then by name. */
function controllerOrder(ms: MachineRecord[]): MachineRecord[] {
  const score = (m: MachineRecord) => (m.labels.role === 'controller' ? 0 : 2) + (m.hardware.accelerators.length > 0 ? 1 : 0)
  return [...ms].sort((a, b) => score(a) - score(b) || a.name.localeCompare(b.name))
}

export function exportHosts(machines: MachineRecord[], opts: ExportOptions): ExportedHost[] {
  const issues: FieldIssue[] = []
  if (!Number.isInteger(opts.controllers) || opts.controllers < 1) issues.push({path: '--controllers', message: 'at least 1'})
  else if (opts.controllers > machines.length) issues.push({path: '--controllers', message: `${opts.controllers} requested but only ${machines.length} machines match`})
  else if (opts.controllers % 2 === 0) issues.push({path: '--controllers', message: `${opts.controllers} controllers: etcd needs an odd number (1, 3, 5)`})
  if (issues.length > 0) throw new InputError('cannot export hosts', issues)
  const controllers = new Set(controllerOrder(machines).slice(0, opts.controllers).map((m) => m.id))
  const hosts: ExportedHost[] = []
  for (const m of [...machines].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!m.address) {
      issues.push({path: m.name, message: 'no address recorded (the machine never reported from an IP)'})
      continue
    }
    const volumes: {disk: string; wipe: boolean}[] = []
    for (const d of volumeDisks(m, opts.osDisk ?? 'auto')) {
      const path = nvmeById(d)
      if (path) volumes.push({disk: path, wipe: opts.wipe ?? false})
      else issues.push({path: `${m.name}.disks.${d.name}`, message: 'NVMe disk without model or serial: no stable /dev/disk/by-id path'})
    }
    const gpu: HostSpec['gpu'] = m.hardware.accelerators.some((a) => a.kind === 'gpu' && a.vendor === 'nvidia') ? 'nvidia' : 'none'
    const role: HostSpec['role'] = controllers.has(m.id) ? (opts.controllersSchedulable ? 'controller+worker' : 'controller') : 'worker'
    const labels = Object.fromEntries(Object.entries(m.labels).filter(([k]) => k !== 'role'))
    const candidate = {
      name: m.name,
      address: m.address,
      ...(opts.user ? {user: opts.user} : {}),
      ...(opts.keyFile ? {keyFile: opts.keyFile} : {}),
      role,
      labels,
      localVolumes: volumes,
      gpu,
    }
    const parsed = HostSpec.safeParse(candidate)
    if (!parsed.success) {
      for (const i of parsed.error.issues) issues.push({path: `${m.name}.${i.path.join('.')}`, message: i.message})
      continue
    }
    hosts.push(candidate as ExportedHost)
  }
  if (issues.length > 0) throw new InputError('cannot export hosts', issues)
  return hosts
}
