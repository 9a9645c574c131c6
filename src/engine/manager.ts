import {createHash} from 'node:crypto'
import {Listr, PRESET_TIMESTAMP, type ListrTask} from 'listr2'
import {ExitCode, HostsFailedError, MetalplaneError, type ExitCodeValue} from '../errors.js'
import type {Host} from '../hosts/host.js'
import type {ClusterSpec} from '../spec/schema.js'
import type {Logger} from '../ui/log.js'
import {redact} from '../util/redact.js'
import type {Journal} from './journal.js'
import type {Phase, PlannedAction, RunContext} from './phase.js'

export type StepStatus = 'done' | 'up-to-date' | 'resumed' | 'planned' | 'failed' | 'not-run'

export interface StepResult {
  host: string
  status: StepStatus
  error?: string
  seconds?: number
}

export interface PhaseResult {
  name: string
  title: string
  steps: StepResult[]
}

export interface WorkflowResult {
  workflow: string
  cluster: string
  run?: string
  dryRun: boolean
  /** Set when this run continued one that was killed. */
  resumedFrom?: {run: string; at: string; done: number}
  phases: PhaseResult[]
  /** What would change (dry-run) or what changed (real run). */
  actions: PlannedAction[]
  /** Host steps that made changes in this run. */
  changed: number
  ok: boolean
}

export class WorkflowFailedError extends HostsFailedError {
  constructor(
    phase: string,
    failures: {host: string; error: string}[],
    readonly result: WorkflowResult,
    exitCode: (typeof ExitCode)[keyof typeof ExitCode] = ExitCode.FAILURE,
  ) {
    super(`phase "${phase}"`, failures, exitCode)
  }
}

export type Renderer = 'default' | 'simple' | 'silent'

export interface WorkflowOptions {
  workflow: string
  spec: ClusterSpec
  hosts: Host[]
  dryRun: boolean
  concurrency: number
  log: Logger
  journal?: Journal
  renderer: Renderer
  /** Phase names to leave out (like kubeadm's --skip-phases). */
  skipPhases?: string[]
  shared?: Record<string, unknown>
  /** Exit code for a failure in a named phase (e.g. preflight -> 5). */
  exitCodeFor?: Record<string, (typeof ExitCode)[keyof typeof ExitCode]>
}

export function specDigest(spec: ClusterSpec): string {
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16)
}

/** Runs `fn` over items with at most `limit` at once; never rejects. */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const workers = Array.from({length: Math.max(1, Math.min(limit, items.length))}, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i])
    }
  })
  await Promise.all(workers)
  return out
}

/**
 * Runs phases in order. Per phase: prepare (read-only, also in dry-run), then for each target
 * host, in parallel up to `concurrency` (or one by one for serial phases): skip what a killed
 * run already finished (journal), skip what is already as wanted (needsRun), else run. A phase
 * with failures stops the workflow after all its hosts finished, so every failure is shown.
 */
export async function runWorkflow(phases: Phase[], opts: WorkflowOptions): Promise<WorkflowResult> {
  const skip = new Set(opts.skipPhases ?? [])
  const unknown = [...skip].filter((s) => !phases.some((p) => p.name === s))
  if (unknown.length > 0) throw new Error(`unknown phase(s) to skip: ${unknown.join(', ')}; phases are: ${phases.map((p) => p.name).join(', ')}`)
  const selected = phases.filter((p) => !skip.has(p.name))
  const actions: PlannedAction[] = []
  const result: WorkflowResult = {
    workflow: opts.workflow,
    cluster: opts.spec.metadata.name,
    run: opts.journal?.run,
    dryRun: opts.dryRun,
    resumedFrom: opts.journal?.resumedFrom,
    phases: [],
    actions,
    changed: 0,
    ok: true,
  }
  if (opts.journal?.resumedFrom) {
    opts.log.info(`resuming run ${opts.journal.resumedFrom.run} started ${opts.journal.resumedFrom.at} (${opts.journal.resumedFrom.done} steps already done)`)
  }
  const shared = opts.shared ?? {}
  let failed: {phase: string; failures: {host: string; error: string}[]; codes: ExitCodeValue[]} | undefined
  // The exit code a step's error asks for (e.g. a refused disk: PREFLIGHT, nothing changed).
  const codeOf = (error: unknown): ExitCodeValue => (error instanceof MetalplaneError ? error.exitCode : ExitCode.FAILURE)
  const ran: Phase[] = []

  const makeCtx = (phase: Phase, onAction?: (a: string) => void): RunContext => ({
    spec: opts.spec,
    hosts: opts.hosts,
    dryRun: opts.dryRun,
    log: opts.log,
    concurrency: opts.concurrency,
    shared,
    async wet<T>(host: Host | string, action: string, fn: () => Promise<T>, o?: {diff?: string}): Promise<T | undefined> {
      const name = typeof host === 'string' ? host : host.name
      actions.push({phase: phase.name, host: name, action: redact(action), diff: o?.diff === undefined ? undefined : redact(o.diff)})
      onAction?.(action)
      if (opts.dryRun) return undefined
      opts.log.debug(`[${name}] ${phase.name}: ${action}`)
      return fn()
    },
  })

  const tasks: ListrTask[] = selected.map((phase) => ({
    title: phase.title,
    skip: () => (failed ? `not run: phase "${failed.phase}" failed` : false),
    task: async (_ctx, task) => {
      const phaseResult: PhaseResult = {name: phase.name, title: phase.title, steps: []}
      result.phases.push(phaseResult)
      const ctx = makeCtx(phase)
      ran.push(phase)
      try {
        await phase.prepare?.(ctx)
      } catch (error) {
        const msg = redact((error as Error).message)
        phaseResult.steps.push({host: '*', status: 'failed', error: msg})
        failed = {phase: phase.name, failures: [{host: '*', error: msg}], codes: [codeOf(error)]}
        throw error
      }
      const targets = phase.targets ? phase.targets(ctx) : opts.hosts
      if (targets.length === 0) {
        // A phase that did its work in prepare (connect, facts, checks) completes; one with no
        // host to act on is shown as skipped.
        if (!phase.prepare) task.skip('no host to act on')
        return
      }
      const failures: {host: string; error: string}[] = []
      const codes: ExitCodeValue[] = []
      return task.newListr(
        targets.map((host) => ({
          title: host.name,
          task: async (_c: unknown, t) => {
            const started = Date.now()
            const step: StepResult = {host: host.name, status: 'not-run'}
            phaseResult.steps.push(step)
            if (opts.journal?.isDone(phase.name, host.name)) {
              step.status = 'resumed'
              t.skip('done before the interruption')
              return
            }
            const hctx = makeCtx(phase, (a) => {
              t.output = a
            })
            try {
              if (phase.needsRun && !(await phase.needsRun(hctx, host))) {
                step.status = 'up-to-date'
                opts.journal?.markDone(phase.name, host.name)
                t.skip('up to date')
                return
              }
              const before = actions.length
              await phase.run(hctx, host)
              const acted = actions.slice(before).some((a) => a.host === host.name && a.phase === phase.name)
              step.status = opts.dryRun ? (acted ? 'planned' : 'up-to-date') : 'done'
              if (!opts.dryRun) {
                opts.journal?.markDone(phase.name, host.name)
                result.changed++
              }
              step.seconds = Math.round((Date.now() - started) / 100) / 10
            } catch (error) {
              const msg = redact((error as Error).message)
              step.status = 'failed'
              step.error = msg
              failures.push({host: host.name, error: msg})
              codes.push(codeOf(error))
              failed = {phase: phase.name, failures, codes}
              opts.journal?.markFailed(phase.name, host.name, msg)
              throw new Error(msg)
            }
          },
        })),
        {
          concurrent: phase.serial ? false : opts.concurrency,
          exitOnError: false,
          rendererOptions: {collapseSubtasks: false, collapseErrors: false},
        },
      )
    },
  }))

  const list = new Listr(tasks, {
    concurrent: false,
    exitOnError: true,
    renderer: opts.renderer,
    fallbackRenderer: 'simple',
    rendererOptions: {collapseSubtasks: false, collapseErrors: false, showErrorMessage: true},
    ...(opts.renderer === 'simple' ? {rendererOptions: {timestamp: PRESET_TIMESTAMP}} : {}),
    registerSignalListeners: false,
  } as ConstructorParameters<typeof Listr>[1])

  try {
    await list.run()
  } catch {
    // failures are recorded in `failed`
  }
  if (failed) {
    result.ok = false
    for (const p of [...ran].reverse()) {
      try {
        await p.cleanUp?.(makeCtx(p))
      } catch (error) {
        opts.log.warn(`clean-up of phase ${p.name} failed: ${redact((error as Error).message)}`)
      }
    }
    // The journal's run stays open: the next run with the same spec resumes it.
    // A phase-wide code wins; else the code every failed step agrees on; else FAILURE.
    const agreed = failed.codes.every((c) => c === failed!.codes[0]) ? failed.codes[0] : ExitCode.FAILURE
    throw new WorkflowFailedError(failed.phase, failed.failures, result, opts.exitCodeFor?.[failed.phase] ?? agreed)
  }
  if (!opts.dryRun) opts.journal?.finish(true)
  return result
}
