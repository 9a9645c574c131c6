import {existsSync, renameSync} from 'node:fs'
import {join} from 'node:path'
import {Journal} from '../engine/journal.js'
import {ClusterLock} from '../engine/lock.js'
import {runWorkflow, specDigest, type Renderer, type WorkflowResult} from '../engine/manager.js'
import type {Phase} from '../engine/phase.js'
import {ExitCode, type ExitCodeValue} from '../errors.js'
import {Host} from '../hosts/host.js'
import type {ClusterSpec} from '../spec/schema.js'
import type {Logger} from '../ui/log.js'
import {stateDir} from '../util/paths.js'
import {NotConnectedExecutor, type Connector} from '../phases/connect.js'

export function clusterStateDir(cluster: string): string {
  return join(stateDir(), 'clusters', cluster)
}
export function lockFile(cluster: string): string {
  return join(clusterStateDir(cluster), 'lock')
}
export function journalFile(cluster: string, workflow: string): string {
  return join(clusterStateDir(cluster), `journal-${workflow}.jsonl`)
}

/** Closes an unfinished journal so the next run of that workflow starts fresh (after reset/remove). */
export function discardJournal(cluster: string, workflow: string): void {
  const f = journalFile(cluster, workflow)
  if (existsSync(f)) renameSync(f, f + '.prev')
}

export interface ClusterRunOptions {
  spec: ClusterSpec
  dryRun: boolean
  concurrency: number
  log: Logger
  renderer: Renderer
  connector: Connector
  skipPhases?: string[]
  /** The command line, recorded in the lock for whoever finds the cluster locked. */
  command?: string
  /** Read-only workflows that only write local files (kubeconfig fetch) run without the lock. */
  noLock?: boolean
  /** Values handed to the phases (ctx.shared). */
  shared?: Record<string, unknown>
}

/**
 * Runs a cluster workflow: the cluster lock (not for plans: they change nothing), the journal
 * at <state>/clusters/<name>/journal-<workflow>.jsonl (not for plans), SIGINT/SIGTERM handling
 * (release the lock, close connections, exit 130; the journal lets the next run resume), and
 * closing every connection at the end.
 */
export async function runClusterWorkflow(workflow: string, phases: Phase[], o: ClusterRunOptions, exitCodeFor: Record<string, ExitCodeValue> = {}): Promise<WorkflowResult> {
  const name = o.spec.metadata.name
  const hosts = o.spec.spec.hosts.map((h) => new Host(h, new NotConnectedExecutor(h.name)))
  let lock: ClusterLock | undefined
  if (!o.dryRun && !o.noLock) lock = ClusterLock.acquire(lockFile(name), name, o.command ?? `metalplane ${workflow}`)
  else {
    const holder = ClusterLock.holder(lockFile(name))
    if (holder) o.log.warn(`cluster ${name} is locked by pid ${holder.pid} on ${holder.host} ("${holder.command}"): this plan may change under that run`)
  }
  const closeAll = async () => {
    await Promise.all(hosts.map((h) => h.executor.close().catch(() => {})))
  }
  const onSignal = (sig: NodeJS.Signals) => {
    // Exit at once: steps in flight fail on the hosts or finish; either way the journal (fsync'd
    // per finished step) lets the next run resume. The OS closes the connections.
    o.log.warn(`${sig}: stopping; the next run resumes where this one stopped`)
    lock?.release()
    lock = undefined
    process.exit(ExitCode.INTERRUPTED)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const journal = o.dryRun || o.noLock ? undefined : Journal.open(journalFile(name, workflow), workflow, specDigest(o.spec))
    const shared: Record<string, unknown> = {...o.shared, exitCodeFor}
    return await runWorkflow(phases, {
      workflow,
      spec: o.spec,
      hosts,
      dryRun: o.dryRun,
      concurrency: o.concurrency,
      log: o.log,
      journal,
      renderer: o.renderer,
      skipPhases: o.skipPhases,
      shared,
      exitCodeFor,
    })
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await closeAll()
    lock?.release()
  }
}
