import Database from 'better-sqlite3'
import {randomUUID} from 'node:crypto'
import {mkdirSync} from 'node:fs'
import {dirname} from 'node:path'
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

/**
 * The default store: one SQLite file (WAL mode) in the state dir. Safe for several processes
 * on one machine (the PXE service writing, the CLI reading) through SQLite's own locking.
 */
export class SqliteStore implements InventoryStore {
  readonly location: string
  private readonly db: Database.Database

  constructor(readonly file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), {recursive: true, mode: 0o700})
    this.location = `sqlite://${file}`
    this.db = new Database(file)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('busy_timeout = 5000')
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS machines (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        last_seen TEXT NOT NULL,
        data TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS history (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        machine_id TEXT NOT NULL,
        at TEXT NOT NULL,
        event TEXT NOT NULL,
        changes TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS history_machine ON history(machine_id, seq);
      CREATE TABLE IF NOT EXISTS locks (
        name TEXT PRIMARY KEY,
        token TEXT NOT NULL,
        owner TEXT NOT NULL,
        since TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
    `)
  }

  private all(): MachineRecord[] {
    return (this.db.prepare('SELECT data FROM machines').all() as {data: string}[]).map((r) => JSON.parse(r.data) as MachineRecord)
  }

  private nameTaken = (name: string): boolean => this.db.prepare('SELECT 1 FROM machines WHERE name = ?').get(name) !== undefined

  private find(ref: string): MachineRecord | undefined {
    const row = this.db.prepare('SELECT data FROM machines WHERE id = ? OR name = ?').get(ref, ref) as {data: string} | undefined
    if (row) return JSON.parse(row.data) as MachineRecord
    return resolveRef(this.all(), ref)
  }

  private save(m: MachineRecord): void {
    this.db
      .prepare('INSERT INTO machines (id, name, last_seen, data) VALUES (@id, @name, @lastSeen, @data) ON CONFLICT(id) DO UPDATE SET name = excluded.name, last_seen = excluded.last_seen, data = excluded.data')
      .run({id: m.id, name: m.name, lastSeen: m.lastSeen, data: JSON.stringify(m)})
  }

  private addHistory(e: HistoryEntry): void {
    this.db.prepare('INSERT INTO history (machine_id, at, event, changes) VALUES (?, ?, ?, ?)').run(e.machineId, e.at, e.event, JSON.stringify(e.changes))
  }

  async get(ref: string): Promise<MachineRecord | undefined> {
    return this.find(ref)
  }

  async list(filter: MachineFilter = {}): Promise<MachineRecord[]> {
    return sortMachines(this.all().filter((m) => matchesFilter(m, filter)))
  }

  async upsertFromReport(report: unknown, meta: ReportMeta = {}): Promise<UpsertResult> {
    const parsed = parseReport(report) // throws before anything is written
    const tx = this.db.transaction(() => {
      const row = this.db.prepare('SELECT data FROM machines WHERE id = ?').get(parsed.identity.id) as {data: string} | undefined
      const existing = row ? (JSON.parse(row.data) as MachineRecord) : undefined
      const out = mergeReport(existing, parsed, meta, this.nameTaken)
      this.save(out.record)
      this.addHistory(out.entry)
      return out
    })
    const out = tx.immediate()
    return {id: out.record.id, created: out.created, changes: out.changes, machine: out.record}
  }

  async record(report: unknown, meta?: ReportMeta): Promise<{id: string; created: boolean}> {
    const r = await this.upsertFromReport(report, meta)
    return {id: r.id, created: r.created}
  }

  async label(ref: string, change: LabelChange): Promise<MachineRecord> {
    const tx = this.db.transaction(() => {
      const m = this.find(ref)
      if (!m) throw new MachineNotFoundError(ref, this.location)
      const {record, entry} = applyLabels(m, change, this.nameTaken)
      this.save(record)
      if (entry.changes.length > 0) this.addHistory(entry)
      return record
    })
    return tx.immediate()
  }

  async remove(ref: string): Promise<MachineRecord> {
    const tx = this.db.transaction(() => {
      const m = this.find(ref)
      if (!m) throw new MachineNotFoundError(ref, this.location)
      this.db.prepare('DELETE FROM machines WHERE id = ?').run(m.id)
      this.addHistory({machineId: m.id, at: new Date().toISOString(), event: 'removed', changes: []})
      return m
    })
    return tx.immediate()
  }

  async history(ref?: string, limit = 1000): Promise<HistoryEntry[]> {
    let id: string | undefined
    if (ref !== undefined) {
      id = this.find(ref)?.id
      if (!id) {
        // A removed machine keeps its history: accept its full id.
        const known = this.db.prepare('SELECT 1 FROM history WHERE machine_id = ? LIMIT 1').get(ref)
        if (!known) throw new MachineNotFoundError(ref, this.location)
        id = ref
      }
    }
    const rows = (
      id === undefined
        ? this.db.prepare('SELECT * FROM history ORDER BY seq DESC LIMIT ?').all(limit)
        : this.db.prepare('SELECT * FROM history WHERE machine_id = ? ORDER BY seq DESC LIMIT ?').all(id, limit)
    ) as {machine_id: string; at: string; event: HistoryEntry['event']; changes: string}[]
    return rows.map((r) => ({machineId: r.machine_id, at: r.at, event: r.event, changes: JSON.parse(r.changes)}))
  }

  async lock(name: string, ttlSeconds: number): Promise<InventoryLock> {
    const token = randomUUID()
    const owner = lockOwner()
    const now = Date.now()
    const tx = this.db.transaction(() => {
      const held = this.db.prepare('SELECT owner, since, expires_at FROM locks WHERE name = ?').get(name) as {owner: string; since: string; expires_at: number} | undefined
      if (held && held.expires_at > now) {
        const info: LockHolderInfo = {owner: held.owner, since: held.since, expiresAt: new Date(held.expires_at).toISOString()}
        throw new InventoryLockedError(name, info)
      }
      this.db
        .prepare('INSERT INTO locks (name, token, owner, since, expires_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET token = excluded.token, owner = excluded.owner, since = excluded.since, expires_at = excluded.expires_at')
        .run(name, token, owner, new Date(now).toISOString(), now + ttlSeconds * 1000)
    })
    tx.immediate()
    // Renewed while this process holds it, like an etcd lease; expires ttlSeconds after the holder dies.
    const renew = setInterval(() => {
      if (this.db.open) this.db.prepare('UPDATE locks SET expires_at = ? WHERE name = ? AND token = ?').run(Date.now() + ttlSeconds * 1000, name, token)
    }, Math.max(500, (ttlSeconds * 1000) / 3))
    renew.unref()
    return {
      name,
      release: async () => {
        clearInterval(renew)
        if (this.db.open) this.db.prepare('DELETE FROM locks WHERE name = ? AND token = ?').run(name, token)
      },
    }
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close()
  }
}
