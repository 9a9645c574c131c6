import {randomUUID} from 'node:crypto'
import {Etcd3, type Lease} from 'etcd3'
import {MetalplaneError} from '../errors.js'
import {parseReport} from './hardware.js'
import {
  applyLabels,
  InventoryLockedError,
  lockOwner,
  MachineNotFoundError,
  matchesFilter,
  mergeReport,
  resolveRef,
  sortMachines,
  type HistoryEntry,
  type InventoryLock,
  type InventoryStore,
  type LabelChange,
  type LockHolderInfo,
  type MachineFilter,
  type MachineRecord,
  type ReportMeta,
  type UpsertResult,
} from './store.js'

const MAX_RETRIES = 20

/**
 * The shared store: the same records in etcd so a team works on one inventory. Writes are
 * transactions that compare the record's mod revision (optimistic concurrency, retried);
 * locks are keys bound to a lease.
 *
 * Layout under the prefix: machines/<id>, history/<id>/<time>-<seq>, locks/<name>.
 */
export class EtcdStore implements InventoryStore {
  readonly location: string
  /** Leases of the locks this client holds; their keep-alives must stop when the client closes. */
  private readonly leases = new Set<Lease>()

  private constructor(
    private readonly client: Etcd3,
    readonly endpoints: string[],
    readonly prefix: string,
  ) {
    this.location = `etcd://${endpoints.map((e) => e.replace(/^https?:\/\//, '')).join(',')}${prefix === '/metalplane/inventory/' ? '' : prefix}`
  }

  static async connect(endpoints: string[], prefix = '/metalplane/inventory/'): Promise<EtcdStore> {
    const client = new Etcd3({hosts: endpoints, dialTimeout: 3000})
    const store = new EtcdStore(client, endpoints, prefix)
    try {
      await client.get(`${prefix}ping`).options({deadline: Date.now() + 5000}).string()
    } catch (error) {
      client.close()
      throw new MetalplaneError(`cannot reach the inventory store at ${store.location}: ${(error as Error).message}`, {
        hint: 'Check that etcd is running there and the address is right, or use the local store by leaving out --store.',
      })
    }
    return store
  }

  private mkey(id: string): string {
    return `${this.prefix}machines/${id}`
  }

  private hkey(e: HistoryEntry): string {
    return `${this.prefix}history/${e.machineId}/${e.at}-${randomUUID().slice(0, 8)}`
  }

  private async all(): Promise<MachineRecord[]> {
    const kv = await this.client.getAll().prefix(`${this.prefix}machines/`).strings()
    return Object.values(kv).map((v) => JSON.parse(v) as MachineRecord)
  }

  private async fetch(id: string): Promise<{record?: MachineRecord; modRevision: string}> {
    const res = await this.client.get(this.mkey(id)).exec()
    const kv = res.kvs[0]
    if (!kv) return {modRevision: '0'}
    return {record: JSON.parse(kv.value.toString()) as MachineRecord, modRevision: kv.mod_revision}
  }

  /** Read-modify-write of one machine, retried when another writer got there first. */
  private async update<T>(id: string, fn: (current: MachineRecord | undefined, names: Set<string>) => {record?: MachineRecord; remove?: boolean; entry?: HistoryEntry; result: T}): Promise<T> {
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const {record: current, modRevision} = await this.fetch(id)
      const names = new Set((await this.all()).filter((m) => m.id !== id).map((m) => m.name))
      const out = fn(current, names)
      const ops = []
      if (out.remove) ops.push(this.client.delete().key(this.mkey(id)))
      else if (out.record) ops.push(this.client.put(this.mkey(id)).value(JSON.stringify(out.record)))
      if (out.entry) ops.push(this.client.put(this.hkey(out.entry)).value(JSON.stringify(out.entry)))
      const cmp = current ? this.client.if(this.mkey(id), 'Mod', '==', modRevision) : this.client.if(this.mkey(id), 'Create', '==', 0)
      const res = await cmp.then(...ops).commit()
      if (res.succeeded) return out.result
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 40))
    }
    throw new MetalplaneError(`machine ${id}: too many concurrent writers in ${this.location}; try again`)
  }

  async get(ref: string): Promise<MachineRecord | undefined> {
    const direct = await this.fetch(ref).catch(() => ({record: undefined}))
    if (direct.record) return direct.record
    return resolveRef(await this.all(), ref)
  }

  async list(filter: MachineFilter = {}): Promise<MachineRecord[]> {
    return sortMachines((await this.all()).filter((m) => matchesFilter(m, filter)))
  }

  async upsertFromReport(report: unknown, meta: ReportMeta = {}): Promise<UpsertResult> {
    const parsed = parseReport(report) // throws before anything is written
    const receivedAt = meta.receivedAt ?? new Date()
    return this.update(parsed.identity.id, (current, names) => {
      const out = mergeReport(current, parsed, {...meta, receivedAt}, (n) => names.has(n))
      return {record: out.record, entry: out.entry, result: {id: out.record.id, created: out.created, changes: out.changes, machine: out.record}}
    })
  }

  async record(report: unknown, meta?: ReportMeta): Promise<{id: string; created: boolean}> {
    const r = await this.upsertFromReport(report, meta)
    return {id: r.id, created: r.created}
  }

  private async require(ref: string): Promise<MachineRecord> {
    const m = await this.get(ref)
    if (!m) throw new MachineNotFoundError(ref, this.location)
    return m
  }

  async label(ref: string, change: LabelChange): Promise<MachineRecord> {
    const m = await this.require(ref)
    return this.update(m.id, (current, names) => {
      if (!current) throw new MachineNotFoundError(ref, this.location)
      const {record, entry} = applyLabels(current, change, (n) => names.has(n))
      return {record, entry: entry.changes.length > 0 ? entry : undefined, result: record}
    })
  }

  async remove(ref: string): Promise<MachineRecord> {
    const m = await this.require(ref)
    return this.update(m.id, (current) => {
      if (!current) throw new MachineNotFoundError(ref, this.location)
      return {remove: true, entry: {machineId: current.id, at: new Date().toISOString(), event: 'removed', changes: []}, result: current}
    })
  }

  async history(ref?: string, limit = 1000): Promise<HistoryEntry[]> {
    let prefix = `${this.prefix}history/`
    if (ref !== undefined) {
      const m = await this.get(ref)
      const id = m?.id ?? ref
      prefix += `${id}/`
      if (!m) {
        const n = await this.client.getAll().prefix(prefix).count()
        if (n === 0) throw new MachineNotFoundError(ref, this.location)
      }
    }
    const kv = await this.client.getAll().prefix(prefix).strings()
    return Object.values(kv)
      .map((v) => JSON.parse(v) as HistoryEntry)
      .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0))
      .slice(0, limit)
  }

  /**
   * A lock key bound to a lease of ttlSeconds. The lease is kept alive while this process
   * runs and the lock is held; if the process dies the lock expires ttlSeconds later.
   */
  async lock(name: string, ttlSeconds: number): Promise<InventoryLock> {
    const key = `${this.prefix}locks/${name}`
    const lease: Lease = this.client.lease(Math.max(2, Math.ceil(ttlSeconds)))
    const leaseId = await lease.grant()
    const info: LockHolderInfo = {owner: lockOwner(), since: new Date().toISOString(), expiresAt: new Date(Date.now() + ttlSeconds * 1000).toISOString()}
    const res = await this.client
      .if(key, 'Create', '==', 0)
      .then(this.client.put(key).value(JSON.stringify({...info, lease: leaseId})).lease(leaseId))
      .else(this.client.get(key))
      .commit()
    if (!res.succeeded) {
      await lease.revoke().catch(() => {})
      const raw = res.responses[0]?.response_range?.kvs?.[0]?.value?.toString()
      let holder: LockHolderInfo | undefined
      try {
        holder = raw ? (JSON.parse(raw) as LockHolderInfo) : undefined
      } catch {
        holder = undefined
      }
      throw new InventoryLockedError(name, holder)
    }
    lease.on('lost', () => {})
    this.leases.add(lease)
    return {
      name,
      release: async () => {
        this.leases.delete(lease)
        await lease.revoke().catch(() => {})
      },
    }
  }

  /** Locks still held stop being renewed and expire after their TTL. */
  async close(): Promise<void> {
    for (const lease of this.leases) lease.release()
    this.leases.clear()
    this.client.close()
  }
}
