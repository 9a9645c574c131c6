/**
 * Discovery through BMCs: in batches, set each machine to boot from the network once and
 * power it on (or cycle it when it is on), then wait until the machines have posted their
 * reports to the inventory (new or updated records since the start), up to a deadline.
 */
import {openBmc} from '../bmc/control.js'
import {loadBmc} from '../bmc/registry.js'
import type {BmcDriver, BootOptions} from '../bmc/types.js'
import {HostsFailedError} from '../errors.js'
import {silentLogger, type Logger} from '../ui/log.js'
import type {InventoryStore, MachineRecord} from './store.js'

export interface DiscoverOptions {
  bmcs: string[]
  /** How many machines are powered on at once. */
  batch: number
  /** Overall deadline for every report, from the start. */
  timeoutMs: number
  boot?: BootOptions
  pollMs?: number
  log?: Logger
  /** For tests: how to reach a BMC by name (default: the registry). */
  driver?: (name: string) => BmcDriver
  /** For tests: the BMC's address (default: the registry). */
  address?: (name: string) => string
}

export interface DiscoveredBmc {
  bmc: string
  status: 'reported' | 'timeout' | 'failed'
  machine?: {id: string; name: string; address?: string}
  /** How the report was tied to this BMC: the BMC IP in the report, or arrival order within the batch. */
  matchedBy?: 'bmc-ip' | 'order'
  error?: string
}

export interface DiscoverResult {
  store: string
  startedAt: string
  finishedAt: string
  bmcs: DiscoveredBmc[]
}

const LOCK_TTL_SECONDS = 60

export async function discover(store: InventoryStore, opts: DiscoverOptions): Promise<DiscoverResult> {
  const log = opts.log ?? silentLogger
  const driverFor = opts.driver ?? ((n: string) => openBmc(n))
  const addressOf = opts.address ?? ((n: string) => loadBmc(n).address)
  const names = [...new Set(opts.bmcs)]
  // Every BMC must exist before anything is powered on.
  const addresses = new Map(names.map((n) => [n, addressOf(n)]))
  const lock = await store.lock('discover', LOCK_TTL_SECONDS)
  const startedAt = new Date().toISOString()
  const deadline = Date.now() + opts.timeoutMs
  const results = new Map<string, DiscoveredBmc>(names.map((n) => [n, {bmc: n, status: 'timeout'}]))
  const claimed = new Set<string>()
  try {
    const batchSize = Math.max(1, opts.batch)
    for (let i = 0; i < names.length; i += batchSize) {
      const batch = names.slice(i, i + batchSize)
      log.info(`batch ${i / batchSize + 1}/${Math.ceil(names.length / batchSize)}: ${batch.join(', ')}`)
      const started = await Promise.all(
        batch.map(async (name) => {
          try {
            const d = driverFor(name)
            await d.bootPxe(opts.boot ?? {})
            const power = await d.powerStatus()
            await d.power(power === 'on' ? 'cycle' : 'on')
            log.info(`${name}: PXE boot set, ${power === 'on' ? 'power cycled' : 'powered on'}`)
            return name
          } catch (error) {
            const r = results.get(name)!
            r.status = 'failed'
            r.error = (error as Error).message
            log.error(`${name}: ${r.error}`)
            return undefined
          }
        }),
      )
      const pending = started.filter((n): n is string => Boolean(n))
      let lastNote = 0
      while (pending.length > 0) {
        const seen = (await store.list({seenSince: startedAt})).filter((m) => !claimed.has(m.id)).sort((a, b) => a.lastSeen.localeCompare(b.lastSeen))
        const take = (name: string, m: MachineRecord, how: 'bmc-ip' | 'order') => {
          claimed.add(m.id)
          pending.splice(pending.indexOf(name), 1)
          Object.assign(results.get(name)!, {status: 'reported', machine: {id: m.id, name: m.name, address: m.address}, matchedBy: how})
          log.info(`${name}: machine ${m.name} reported from ${m.address ?? 'an unknown address'} (${m.discoveries === 1 ? 'new' : 'updated'})`)
        }
        // First by the BMC IP in the report, where it identifies exactly one pending BMC.
        for (const m of [...seen]) {
          const ip = m.hardware.bmc?.ip
          if (!ip) continue
          const match = pending.filter((n) => addresses.get(n) === ip)
          if (match.length === 1) {
            take(match[0], m, 'bmc-ip')
            seen.splice(seen.indexOf(m), 1)
          }
        }
        // Then reports that name no BMC of this run, in arrival order.
        for (const m of seen) {
          if (pending.length === 0) break
          const ip = m.hardware.bmc?.ip
          if (ip && names.some((n) => addresses.get(n) === ip) && !pending.some((n) => addresses.get(n) === ip)) continue
          take(pending[0], m, 'order')
        }
        if (pending.length === 0) break
        const left = deadline - Date.now()
        if (left <= 0) break
        if (Date.now() - lastNote >= 15_000) {
          log.info(`waiting for ${pending.length} report${pending.length === 1 ? '' : 's'} (${pending.join(', ')}), ${Math.ceil(left / 1000)}s left`)
          lastNote = Date.now()
        }
        await new Promise((r) => setTimeout(r, Math.min(opts.pollMs ?? 2000, left)))
      }
      for (const n of pending) {
        const r = results.get(n)!
        r.error = `no report within ${Math.round(opts.timeoutMs / 1000)}s after power-on`
        log.warn(`${n}: ${r.error}`)
      }
    }
  } finally {
    await lock.release()
  }
  const result: DiscoverResult = {store: store.location, startedAt, finishedAt: new Date().toISOString(), bmcs: names.map((n) => results.get(n)!)}
  const failures = result.bmcs.filter((b) => b.status !== 'reported').map((b) => ({host: `BMC ${b.bmc}`, error: b.error ?? b.status}))
  if (failures.length > 0) throw Object.assign(new HostsFailedError('discovery', failures), {result})
  return result
}
