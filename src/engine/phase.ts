import type {Host} from '../hosts/host.js'
import type {ClusterSpec} from '../spec/schema.js'
import type {Logger} from '../ui/log.js'

/** One state-changing action, as recorded for `plan`/`--dry-run` output. */
export interface PlannedAction {
  phase: string
  host: string
  action: string
  /** Unified diff for file changes, when known. */
  diff?: string
}

export interface RunContext {
  spec: ClusterSpec
  /** All hosts of the cluster (connected by the connect phase). */
  hosts: Host[]
  dryRun: boolean
  log: Logger
  concurrency: number
  /** Per-run shared values (e.g. the join command found by init), typed by the phases that use them. */
  shared: Record<string, unknown>
  /**
   * Every state-changing action goes through `wet`. In dry-run it records `action` for the plan
   * and returns undefined without calling `fn`; otherwise it runs `fn`.
   */
  wet<T>(host: Host | string, action: string, fn: () => Promise<T>, opts?: {diff?: string}): Promise<T | undefined>
}

/**
 * A step of a workflow. Per-host: `run(ctx, host)` is called for each target host, in parallel
 * (bounded by --concurrency). Idempotency: `needsRun(ctx, host)` looks at the host as it is and
 * returns false when nothing is left to do, so a re-run is a no-op. The journal additionally skips
 * hosts a killed run already finished.
 */
export interface Phase {
  /** Stable id used in the journal and in --skip-phases, e.g. "containerd". */
  readonly name: string
  /** Human title for progress output. */
  readonly title: string
  /** Run hosts one at a time (e.g. joins of controllers, rolling upgrades). */
  readonly serial?: boolean
  /** Gather what the phase needs (read-only, also in dry-run). */
  prepare?(ctx: RunContext): Promise<void>
  /** The hosts this phase acts on; default: all. */
  targets?(ctx: RunContext): Host[]
  /** False when the host already is as wanted (read-only check). Default: true. */
  needsRun?(ctx: RunContext, host: Host): Promise<boolean>
  /** Do the work (state changes only through ctx.wet). */
  run(ctx: RunContext, host: Host): Promise<void>
  /** Undo partial work after a failure of this phase (best effort). */
  cleanUp?(ctx: RunContext): Promise<void>
}
