/**
 * Inventory operations as the commands use them: open the store, do one thing, close it.
 */
import {InputError} from '../errors.js'
import {exportHosts, type ExportedHost, type ExportOptions} from './export.js'
import {openInventoryStore} from './open.js'
import {parseSize} from './size.js'
import {MachineNotFoundError, type HistoryEntry, type InventoryStore, type LabelChange, type MachineFilter, type MachineRecord} from './store.js'

export async function withStore<T>(location: string | undefined, fn: (s: InventoryStore) => Promise<T>): Promise<T> {
  const store = await openInventoryStore(location)
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

export interface FilterInput {
  hasGpu?: boolean
  nvme?: boolean
  minMemory?: string
  labels?: string[]
}

/** Flags to a filter; `--label k=v` may repeat. */
export function buildFilter(f: FilterInput): MachineFilter {
  const filter: MachineFilter = {}
  if (f.hasGpu !== undefined) filter.hasGpu = f.hasGpu
  if (f.nvme !== undefined) filter.nvme = f.nvme
  if (f.minMemory) filter.minMemoryBytes = parseSize(f.minMemory, '--min-memory')
  if (f.labels && f.labels.length > 0) {
    filter.labels = {}
    for (const l of f.labels) {
      const i = l.indexOf('=')
      if (i <= 0) throw new InputError(`--label ${l}: expected KEY=VALUE`, [{path: '--label', message: 'KEY=VALUE'}])
      filter.labels[l.slice(0, i)] = l.slice(i + 1)
    }
  }
  return filter
}

/** `rack=r1 zone-` -> set {rack: r1}, unset [zone]. */
export function parseLabelArgs(args: string[]): LabelChange {
  const change: Required<Pick<LabelChange, 'set' | 'unset'>> = {set: {}, unset: []}
  const issues: {path: string; message: string}[] = []
  for (const a of args) {
    const i = a.indexOf('=')
    if (i > 0) change.set[a.slice(0, i)] = a.slice(i + 1)
    else if (a.endsWith('-') && a.length > 1) change.unset.push(a.slice(0, -1))
    else issues.push({path: a, message: 'expected KEY=VALUE to set or KEY- to remove'})
  }
  if (issues.length > 0) throw new InputError('bad label arguments', issues)
  return change
}

export async function listMachines(location: string | undefined, filter: MachineFilter): Promise<{store: string; machines: MachineRecord[]}> {
  return withStore(location, async (s) => ({store: s.location, machines: await s.list(filter)}))
}

export async function showMachine(location: string | undefined, ref: string, historyLimit = 20): Promise<{machine: MachineRecord; history: HistoryEntry[]}> {
  return withStore(location, async (s) => {
    const machine = await s.get(ref)
    if (!machine) throw new MachineNotFoundError(ref, s.location)
    return {machine, history: await s.history(machine.id, historyLimit)}
  })
}

export async function labelMachine(location: string | undefined, ref: string, change: LabelChange): Promise<MachineRecord> {
  if (!change.rename && Object.keys(change.set ?? {}).length === 0 && (change.unset ?? []).length === 0)
    throw new InputError('nothing to change', [{path: 'LABELS', message: 'give KEY=VALUE, KEY- or --name NAME'}])
  return withStore(location, (s) => s.label(ref, change))
}

export async function removeMachine(location: string | undefined, ref: string): Promise<MachineRecord> {
  return withStore(location, (s) => s.remove(ref))
}

export async function exportInventory(location: string | undefined, filter: MachineFilter, opts: ExportOptions): Promise<{store: string; hosts: ExportedHost[]}> {
  return withStore(location, async (s) => {
    const machines = await s.list(filter)
    if (machines.length === 0) throw new InputError(`no machines in ${s.location} match`, [], 'Check the filters, or discover machines first: metalplane inventory discover --bmc ...')
    return {store: s.location, hosts: exportHosts(machines, opts)}
  })
}
