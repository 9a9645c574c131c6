import {ExitCode, HostsFailedError, InputError, MetalplaneError, type ExitCodeValue} from '../errors.js'
import type {ClusterSpec, HostSpec} from '../spec/schema.js'
import {silentLogger, type Logger} from '../ui/log.js'
import {Host} from './host.js'
import {defaultKnownHostsFile, KnownHosts} from './known-hosts.js'
import {BastionPool, SshExecutor} from './ssh.js'

export type HostOutcome<I, T> = {item: I; name: string; ok: true; value: T} | {item: I; name: string; ok: false; error: unknown}

/**
 * Bounded parallel map over hosts (or host specs): at most `concurrency` run at once, every
 * item gets an outcome (value or error), in input order. Never rejects.
 */
export async function runOnHosts<I extends {name: string}, T>(items: I[], concurrency: number, fn: (item: I) => Promise<T>): Promise<HostOutcome<I, T>[]> {
  const out: HostOutcome<I, T>[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      const item = items[i]
      try {
        out[i] = {item, name: item.name, ok: true, value: await fn(item)}
      } catch (error) {
        out[i] = {item, name: item.name, ok: false, error}
      }
    }
  }
  const n = Math.max(1, Math.min(concurrency || 1, items.length))
  await Promise.all(Array.from({length: n}, worker))
  return out
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** The exit code for a set of failures: theirs when they all agree (e.g. all host-key refusals), else FAILURE. */
export function failureExitCode(errors: unknown[]): ExitCodeValue {
  const codes = new Set(errors.map((e) => (e instanceof MetalplaneError ? e.exitCode : ExitCode.FAILURE)))
  return codes.size === 1 ? [...codes][0] : ExitCode.FAILURE
}

/** HostsFailedError for the failed outcomes (undefined when none failed); hints are kept, deduplicated. */
export function hostsFailedError(what: string, outcomes: HostOutcome<unknown, unknown>[]): HostsFailedError | undefined {
  const failed = outcomes.filter((o): o is Extract<typeof o, {ok: false}> => !o.ok)
  if (failed.length === 0) return undefined
  const hints = [...new Set(failed.map((f) => (f.error instanceof MetalplaneError ? f.error.hint : undefined)).filter((h): h is string => Boolean(h)))]
  return new HostsFailedError(
    what,
    failed.map((f) => ({host: f.name, error: errorText(f.error)})),
    failureExitCode(failed.map((f) => f.error)),
    hints.length === 0 ? undefined : hints.length <= 3 ? hints.join('\n') : hints.slice(0, 3).join('\n') + `\n(and ${hints.length - 3} more)`,
  )
}

/** The spec's hosts named in `names` (all when empty); an unknown name is bad input. */
export function selectHosts(spec: ClusterSpec, names?: string[]): HostSpec[] {
  const all = spec.spec.hosts
  if (!names || names.length === 0) return all
  const wanted = names.map((n) => n.trim()).filter(Boolean)
  const unknown = wanted.filter((n) => !all.some((h) => h.name === n))
  if (unknown.length > 0) {
    throw new InputError(`no host named ${unknown.map((n) => `"${n}"`).join(', ')} in the spec`, [], `Hosts in the spec: ${all.map((h) => h.name).join(', ')}`)
  }
  return all.filter((h) => wanted.includes(h.name))
}

export interface ConnectOptions {
  /** known_hosts file; default spec.spec.ssh.knownHosts, else ~/.ssh/known_hosts. */
  knownHostsFile?: string
  /** Record unknown host keys (changed keys are always refused). */
  acceptNewHostKeys?: boolean
  /** Hosts connected in parallel; default spec.spec.ssh.concurrency. */
  concurrency?: number
  /** Only these hosts (names); default all. */
  hosts?: string[]
  log?: Logger
}

export interface ConnectResult {
  hosts: Host[]
  /** Hosts that could not be reached, with their errors. */
  failures: HostOutcome<HostSpec, Host>[]
}

function executorsFor(spec: ClusterSpec, opts: ConnectOptions): (h: HostSpec) => SshExecutor {
  const log = opts.log ?? silentLogger
  const knownHosts = new KnownHosts(opts.knownHostsFile ?? spec.spec.ssh.knownHosts ?? defaultKnownHostsFile())
  const sshOpts = {
    knownHosts,
    acceptNewHostKeys: opts.acceptNewHostKeys,
    connectTimeoutMs: spec.spec.ssh.connectTimeoutSeconds * 1000,
    log,
  }
  const bastions = new BastionPool(sshOpts)
  return (h) => new SshExecutor(h.name, h, {...sshOpts, bastions})
}

/**
 * Connects to the spec's hosts (bounded parallel) and returns the reachable ones and the
 * failures. Callers that can go on with part of the hosts use this; others use connectHosts.
 */
export async function connectSome(spec: ClusterSpec, opts: ConnectOptions = {}): Promise<ConnectResult> {
  const log = opts.log ?? silentLogger
  const make = executorsFor(spec, opts)
  const specs = selectHosts(spec, opts.hosts)
  const outcomes = await runOnHosts(specs, opts.concurrency ?? spec.spec.ssh.concurrency, async (h) => {
    const ex = make(h)
    try {
      await ex.connect()
    } catch (error) {
      await ex.close()
      throw error
    }
    log.debug(`${h.name}: connected to ${h.user}@${h.address}:${h.port}${h.bastion ? ` through ${h.bastion.address}` : ''}`)
    return new Host(h, ex)
  })
  return {
    hosts: outcomes.flatMap((o) => (o.ok ? [o.value] : [])),
    failures: outcomes.filter((o) => !o.ok),
  }
}

/**
 * Connects to every (selected) host of the spec. When any host fails, the others are closed and
 * HostsFailedError lists each failure (exit code HOST_KEY when all were host-key refusals).
 */
export async function connectHosts(spec: ClusterSpec, opts: ConnectOptions = {}): Promise<Host[]> {
  const {hosts, failures} = await connectSome(spec, opts)
  if (failures.length > 0) {
    await closeHosts(hosts)
    throw hostsFailedError('connecting', failures)!
  }
  return hosts
}

/** Closes every host's connection; never throws. */
export async function closeHosts(hosts: Host[]): Promise<void> {
  await Promise.allSettled(hosts.map((h) => h.executor.close()))
}
