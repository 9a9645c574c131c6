import type {Phase} from '../engine/phase.js'
import {ExitCode, MetalplaneError} from '../errors.js'
import type {ExecResult, Executor} from '../hosts/executor.js'
import type {Host} from '../hosts/host.js'

/** Opens connections for hosts (sets host.executor). Failures carry the host names. */
export type Connector = (hosts: Host[]) => Promise<void>

/** Executor of a host not connected yet: any use is a bug in the phase order. */
export class NotConnectedExecutor implements Executor {
  constructor(readonly name: string) {}
  private fail(): never {
    throw new Error(`host ${this.name} is not connected (the connect phase did not run for it)`)
  }
  async exec(): Promise<ExecResult> {
    this.fail()
  }
  async upload(): Promise<void> {
    this.fail()
  }
  async download(): Promise<Buffer | undefined> {
    this.fail()
  }
  async close(): Promise<void> {}
}

/**
 * Connects every host of the run (read-only, also for plan). A refused host key keeps its own
 * exit code (4) through `exitCodeFor`, which the workflow passes in `shared.exitCodeFor`.
 */
export function connectPhase(connector: Connector): Phase {
  return {
    name: 'connect',
    title: 'Connect to hosts',
    async prepare(ctx) {
      const pending = ctx.hosts.filter((h) => h.executor instanceof NotConnectedExecutor)
      try {
        await connector(pending)
      } catch (error) {
        const exitCodeFor = ctx.shared.exitCodeFor as Record<string, number> | undefined
        if (exitCodeFor && error instanceof MetalplaneError && error.exitCode === ExitCode.HOST_KEY) exitCodeFor.connect = ExitCode.HOST_KEY
        throw error
      }
    },
    targets: () => [],
    async run() {},
  }
}
