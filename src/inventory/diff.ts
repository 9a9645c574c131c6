/**
 * What changed between two discoveries of the same machine. Both stores record these
 * changes as history; nothing here touches storage.
 */
import type {Accelerator, Disk, Hardware, Nic} from './hardware.js'
import {formatBytes} from './size.js'

export type ChangeKind = 'label' | 'name' | 'system' | 'cpu' | 'memory' | 'nic' | 'disk' | 'accelerator' | 'pci' | 'bmc' | 'address'
export interface Change {
  kind: ChangeKind
  op: 'added' | 'removed' | 'changed' | 'replaced'
  /** What the change is about: disk slot, MAC, PCI address, field name. */
  key: string
  before?: unknown
  after?: unknown
  summary: string
}

function diskId(d: Disk): string {
  return d.wwn || d.eui || d.serial || `name:${d.name}`
}
function diskLabel(d: Disk): string {
  return `${d.name} (${[d.type, d.model, d.serial ? `serial ${d.serial}` : undefined, formatBytes(d.sizeBytes)].filter(Boolean).join(', ')})`
}
function accId(a: Accelerator): string {
  return `${a.pciAddress ?? ''}|${a.vendor}|${a.model ?? ''}`
}
function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

export function diffHardware(before: Hardware, after: Hardware): Change[] {
  const changes: Change[] = []
  for (const f of ['vendor', 'product', 'serial', 'uuid'] as const) {
    if (before.system[f] !== after.system[f])
      changes.push({kind: 'system', op: 'changed', key: f, before: before.system[f], after: after.system[f], summary: `system ${f}: ${before.system[f] ?? '-'} -> ${after.system[f] ?? '-'}`})
  }
  if (!same(before.cpu, after.cpu))
    changes.push({kind: 'cpu', op: 'changed', key: 'cpu', before: before.cpu, after: after.cpu, summary: `cpu: ${before.cpu.model ?? '?'} ${before.cpu.sockets}x${before.cpu.cores}c/${before.cpu.threads}t -> ${after.cpu.model ?? '?'} ${after.cpu.sockets}x${after.cpu.cores}c/${after.cpu.threads}t`})
  if (before.memoryBytes !== after.memoryBytes)
    changes.push({kind: 'memory', op: 'changed', key: 'memory', before: before.memoryBytes, after: after.memoryBytes, summary: `memory: ${formatBytes(before.memoryBytes)} -> ${formatBytes(after.memoryBytes)}`})

  // NICs are identified by MAC.
  const nb = new Map(before.nics.map((n) => [n.mac, n]))
  const na = new Map(after.nics.map((n) => [n.mac, n]))
  const removedNics: Nic[] = []
  const addedNics: Nic[] = []
  for (const [mac, n] of nb) if (!na.has(mac)) removedNics.push(n)
  for (const [mac, n] of na) {
    const old = nb.get(mac)
    if (!old) addedNics.push(n)
    else if (old.name !== n.name || old.driver !== n.driver || old.speedMbps !== n.speedMbps)
      changes.push({kind: 'nic', op: 'changed', key: mac, before: old, after: n, summary: `nic ${mac}: ${old.name}/${old.driver ?? '?'}/${old.speedMbps ?? '?'}Mb/s -> ${n.name}/${n.driver ?? '?'}/${n.speedMbps ?? '?'}Mb/s`})
  }
  for (const n of addedNics) {
    const slot = removedNics.findIndex((r) => r.name === n.name)
    if (slot >= 0) {
      const old = removedNics.splice(slot, 1)[0]
      changes.push({kind: 'nic', op: 'replaced', key: n.name, before: old, after: n, summary: `nic ${n.name} replaced: ${old.mac} -> ${n.mac}`})
    } else changes.push({kind: 'nic', op: 'added', key: n.mac, after: n, summary: `nic added: ${n.name} ${n.mac}`})
  }
  for (const n of removedNics) changes.push({kind: 'nic', op: 'removed', key: n.mac, before: n, summary: `nic removed: ${n.name} ${n.mac}`})

  // Disks are identified by WWN/EUI/serial; a different disk in the same slot is a replacement.
  const db = new Map(before.disks.map((d) => [diskId(d), d]))
  const da = new Map(after.disks.map((d) => [diskId(d), d]))
  const removedDisks: Disk[] = []
  const addedDisks: Disk[] = []
  for (const [id, d] of db) if (!da.has(id)) removedDisks.push(d)
  for (const [id, d] of da) {
    const old = db.get(id)
    if (!old) addedDisks.push(d)
    else if (old.sizeBytes !== d.sizeBytes || old.name !== d.name || old.model !== d.model)
      changes.push({kind: 'disk', op: 'changed', key: d.name, before: old, after: d, summary: `disk ${diskLabel(old)} -> ${diskLabel(d)}`})
  }
  for (const d of addedDisks) {
    const slot = removedDisks.findIndex((r) => r.name === d.name)
    if (slot >= 0) {
      const old = removedDisks.splice(slot, 1)[0]
      changes.push({kind: 'disk', op: 'replaced', key: d.name, before: old, after: d, summary: `disk ${d.name} replaced: ${diskLabel(old)} -> ${diskLabel(d)}`})
    } else changes.push({kind: 'disk', op: 'added', key: d.name, after: d, summary: `disk added: ${diskLabel(d)}`})
  }
  for (const d of removedDisks) changes.push({kind: 'disk', op: 'removed', key: d.name, before: d, summary: `disk removed: ${diskLabel(d)}`})

  const ab = new Map(before.accelerators.map((a) => [accId(a), a]))
  const aa = new Map(after.accelerators.map((a) => [accId(a), a]))
  for (const [id, a] of aa) if (!ab.has(id)) changes.push({kind: 'accelerator', op: 'added', key: a.pciAddress ?? id, after: a, summary: `${a.kind} added: ${a.vendor} ${a.model ?? ''} ${a.pciAddress ?? ''}`.trim()})
  for (const [id, a] of ab) if (!aa.has(id)) changes.push({kind: 'accelerator', op: 'removed', key: a.pciAddress ?? id, before: a, summary: `${a.kind} removed: ${a.vendor} ${a.model ?? ''} ${a.pciAddress ?? ''}`.trim()})

  const pb = new Map(before.pci.map((p) => [p.address, `${p.vendor}:${p.device}`]))
  const pa = new Map(after.pci.map((p) => [p.address, `${p.vendor}:${p.device}`]))
  for (const [addr, id] of pa) {
    const old = pb.get(addr)
    if (old === undefined) changes.push({kind: 'pci', op: 'added', key: addr, after: id, summary: `pci ${addr} added: ${id}`})
    else if (old !== id) changes.push({kind: 'pci', op: 'replaced', key: addr, before: old, after: id, summary: `pci ${addr}: ${old} -> ${id}`})
  }
  for (const [addr, id] of pb) if (!pa.has(addr)) changes.push({kind: 'pci', op: 'removed', key: addr, before: id, summary: `pci ${addr} removed: ${id}`})

  if (!same(before.bmc ?? null, after.bmc ?? null))
    changes.push({kind: 'bmc', op: 'changed', key: 'bmc', before: before.bmc, after: after.bmc, summary: `bmc: ${before.bmc?.ip ?? '-'} -> ${after.bmc?.ip ?? '-'}`})
  return changes
}
