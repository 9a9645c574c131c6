/**
 * The inventory store contract and the logic both implementations share: how a report is
 * merged into a machine record, how changes become history, how filters and machine
 * references are resolved. SqliteStore and EtcdStore only persist what this module decides.
 */
import {createHash} from 'node:crypto'
import {hostname as osHostname, userInfo} from 'node:os'
import {ExitCode, InputError, MetalplaneError} from '../errors.js'
import {diffHardware, type Change} from './diff.js'
import {hasGpu, nvmeDisks, parseReport, type Hardware, type ParsedReport} from './hardware.js'
import type {IdentityKind} from './identity.js'
import type {ReportSink} from './report.js'

export interface MachineRecord {
  /** Stable key derived from the identity: `uuid-…`, `serial-…` or `mac-…`. */
  id: string
  identity: {kind: IdentityKind; value: string}
  /** Short, DNS-safe name used by commands and exported as the host name; can be changed. */
  name: string
  /** The IP the machine reported from: the HTTP peer when known, else the IP the agent reported. */
  address?: string
  reportedIp?: string
  hostname?: string
  labels: Record<string, string>
  hardware: Hardware
  firstSeen: string
  lastSeen: string
  /** Last time the hardware, address, labels or name changed. */
  updatedAt: string
  discoveries: number
}

export type HistoryEvent = 'discovered' | 'rediscovered' | 'labeled' | 'renamed' | 'removed'
export interface HistoryEntry {
  machineId: string
  at: string
  event: HistoryEvent
  changes: Change[]
}

export interface MachineFilter {
  hasGpu?: boolean
  nvme?: boolean
  minMemoryBytes?: number
  /** Every label must match (key=value). */
  labels?: Record<string, string>
  /** Only machines that reported at or after this instant (ISO 8601). */
  seenSince?: string
}

export interface ReportMeta {
  /** The address of the HTTP peer that posted the report. */
  peer?: string
  receivedAt?: Date
}

export interface UpsertResult {
  id: string
  created: boolean
  changes: Change[]
  machine: MachineRecord
}

export interface LockHolderInfo {
  owner: string
  since: string
  expiresAt: string
}
export interface InventoryLock {
  readonly name: string
  release(): Promise<void>
}

/** The PXE service posts discovery reports into the store through ReportSink.record. */
export interface InventoryStore extends ReportSink {
  /** Where the data lives, e.g. `sqlite:///…/inventory.db` or `etcd://127.0.0.1:2379`. */
  readonly location: string
  /** By id, name, unique id prefix or MAC address. */
  get(ref: string): Promise<MachineRecord | undefined>
  list(filter?: MachineFilter): Promise<MachineRecord[]>
  /** Validates the report (InputError and nothing stored when bad), then creates or updates the machine. */
  upsertFromReport(report: unknown, meta?: ReportMeta): Promise<UpsertResult>
  /** Sets and unsets labels, optionally renames. */
  label(ref: string, change: LabelChange): Promise<MachineRecord>
  remove(ref: string): Promise<MachineRecord>
  /** Newest first; all machines when ref is undefined. */
  history(ref?: string, limit?: number): Promise<HistoryEntry[]>
  /**
   * An exclusive named lock. It is renewed while this process holds it and expires
   * ttlSeconds after the holder dies without releasing it. Throws InventoryLockedError when held.
   */
  lock(name: string, ttlSeconds: number): Promise<InventoryLock>
  close(): Promise<void>
}

export interface LabelChange {
  set?: Record<string, string>
  unset?: string[]
  rename?: string
}

export class MachineNotFoundError extends MetalplaneError {
  constructor(ref: string, location: string) {
    super(`no machine "${ref}" in the inventory at ${location}`, {exitCode: ExitCode.BAD_INPUT, code: 'NOT_FOUND', hint: 'List machines with `metalplane inventory list`.'})
  }
}

export class InventoryLockedError extends MetalplaneError {
  constructor(
    readonly lockName: string,
    readonly holder: LockHolderInfo | undefined,
  ) {
    super(
      `inventory lock "${lockName}" is held` + (holder ? ` by ${holder.owner} since ${holder.since} (expires ${holder.expiresAt})` : ''),
      {exitCode: ExitCode.LOCKED, code: 'LOCKED', hint: 'Wait for the other run to finish; the lock expires on its own if that run is gone.'},
    )
  }
}

export function lockOwner(): string {
  return `${userInfo().username}@${osHostname()} pid ${process.pid}`
}

const NAME_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/
const LABEL_KEY_RE = /^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/
const LABEL_VALUE_RE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/

/** A default name: `m-` and 6 hex digits of the id's hash (more when taken). */
export function defaultName(id: string, taken: (name: string) => boolean = () => false): string {
  const h = createHash('sha256').update(id).digest('hex')
  for (let len = 6; len <= 20; len += 2) {
    const n = `m-${h.slice(0, len)}`
    if (!taken(n)) return n
  }
  return `m-${h.slice(0, 32)}`
}

/** "::ffff:10.0.0.5" -> "10.0.0.5"; strips a zone id. */
export function cleanPeer(peer: string | undefined): string | undefined {
  if (!peer) return undefined
  return peer.replace(/^::ffff:/i, '').replace(/%.*$/, '') || undefined
}

export interface MergeOutcome {
  record: MachineRecord
  created: boolean
  changes: Change[]
  entry: HistoryEntry
}

/** Merges a parsed report into the existing record (if any). Pure: the caller persists. */
export function mergeReport(existing: MachineRecord | undefined, parsed: ParsedReport, meta: ReportMeta, nameTaken: (n: string) => boolean): MergeOutcome {
  const now = (meta.receivedAt ?? new Date()).toISOString()
  const address = cleanPeer(meta.peer) ?? parsed.reportedIp
  if (!existing) {
    const record: MachineRecord = {
      id: parsed.identity.id,
      identity: {kind: parsed.identity.kind, value: parsed.identity.value},
      name: defaultName(parsed.identity.id, nameTaken),
      address,
      reportedIp: parsed.reportedIp,
      hostname: parsed.hostname,
      labels: {},
      hardware: parsed.hardware,
      firstSeen: now,
      lastSeen: now,
      updatedAt: now,
      discoveries: 1,
    }
    return {record, created: true, changes: [], entry: {machineId: record.id, at: now, event: 'discovered', changes: []}}
  }
  const changes = diffHardware(existing.hardware, parsed.hardware)
  if (address && existing.address !== address)
    changes.push({kind: 'address', op: 'changed', key: 'address', before: existing.address, after: address, summary: `address: ${existing.address ?? '-'} -> ${address}`})
  const record: MachineRecord = {
    ...existing,
    address: address ?? existing.address,
    reportedIp: parsed.reportedIp ?? existing.reportedIp,
    hostname: parsed.hostname ?? existing.hostname,
    hardware: parsed.hardware,
    lastSeen: now,
    updatedAt: changes.length > 0 ? now : existing.updatedAt,
    discoveries: existing.discoveries + 1,
  }
  return {record, created: false, changes, entry: {machineId: record.id, at: now, event: 'rediscovered', changes}}
}

/** Validates and applies a label change. Pure. */
export function applyLabels(existing: MachineRecord, change: LabelChange, nameTaken: (n: string) => boolean, now = new Date()): {record: MachineRecord; entry: HistoryEntry} {
  const issues: {path: string; message: string}[] = []
  for (const [k, v] of Object.entries(change.set ?? {})) {
    if (!LABEL_KEY_RE.test(k)) issues.push({path: `label ${k}`, message: 'not a Kubernetes label key'})
    if (!LABEL_VALUE_RE.test(v)) issues.push({path: `label ${k}`, message: `value "${v}" is not a Kubernetes label value (63 chars of A-Z a-z 0-9 - _ .)`})
  }
  if (change.rename !== undefined) {
    if (!NAME_RE.test(change.rename)) issues.push({path: '--name', message: `"${change.rename}" is not a lowercase DNS label`})
    else if (change.rename !== existing.name && nameTaken(change.rename)) issues.push({path: '--name', message: `"${change.rename}" is already the name of another machine`})
  }
  if (issues.length > 0) throw new InputError(`cannot label machine ${existing.name}`, issues)
  const labels = {...existing.labels}
  const changes: Change[] = []
  for (const k of change.unset ?? []) {
    if (k in labels) {
      changes.push({kind: 'label', op: 'removed', key: `label:${k}`, before: labels[k], summary: `label ${k} removed`})
      delete labels[k]
    }
  }
  for (const [k, v] of Object.entries(change.set ?? {})) {
    if (labels[k] !== v) changes.push({kind: 'label', op: k in labels ? 'changed' : 'added', key: `label:${k}`, before: labels[k], after: v, summary: `label ${k}=${v}`})
    labels[k] = v
  }
  let name = existing.name
  let event: HistoryEvent = 'labeled'
  if (change.rename !== undefined && change.rename !== existing.name) {
    changes.push({kind: 'name', op: 'changed', key: 'name', before: existing.name, after: change.rename, summary: `renamed ${existing.name} -> ${change.rename}`})
    name = change.rename
    event = 'renamed'
  }
  const at = now.toISOString()
  return {record: {...existing, labels, name, updatedAt: changes.length > 0 ? at : existing.updatedAt}, entry: {machineId: existing.id, at, event, changes}}
}

export function matchesFilter(m: MachineRecord, f: MachineFilter = {}): boolean {
  if (f.hasGpu !== undefined && hasGpu(m.hardware) !== f.hasGpu) return false
  if (f.nvme !== undefined && nvmeDisks(m.hardware).length > 0 !== f.nvme) return false
  if (f.minMemoryBytes !== undefined && m.hardware.memoryBytes < f.minMemoryBytes) return false
  if (f.seenSince !== undefined && m.lastSeen < f.seenSince) return false
  for (const [k, v] of Object.entries(f.labels ?? {})) if (m.labels[k] !== v) return false
  return true
}

/** Resolves a reference among records: exact id, exact name, MAC, then a unique id/name prefix. */
export function resolveRef(records: MachineRecord[], ref: string): MachineRecord | undefined {
  const r = ref.trim()
  const exact = records.find((m) => m.id === r || m.name === r)
  if (exact) return exact
  const mac = r.toLowerCase().replace(/-/g, ':')
  const byMac = records.find((m) => m.hardware.nics.some((n) => n.mac === mac))
  if (byMac) return byMac
  if (r.length >= 4) {
    const pre = records.filter((m) => m.id.startsWith(r) || m.id.replace(/^(uuid|serial|mac)-/, '').startsWith(r.toLowerCase()))
    if (pre.length === 1) return pre[0]
    if (pre.length > 1) throw new InputError(`"${ref}" matches ${pre.length} machines: ${pre.map((m) => m.name).join(', ')}`, [], 'Use the full id or the name.')
  }
  return undefined
}

export function sortMachines(list: MachineRecord[]): MachineRecord[] {
  return list.sort((a, b) => a.name.localeCompare(b.name))
}

export {parseReport}
