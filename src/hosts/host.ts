import type {HostSpec} from '../spec/schema.js'
import {isController, isWorker} from '../spec/schema.js'
import type {ExecOptions, ExecResult, Executor} from './executor.js'

/** Facts gathered from a host (see hosts/facts.ts). Kept loose so phases can add their own. */
export type Facts = Record<string, unknown>

/** A host of the cluster: its spec, its connection and what we learned about it. */
export class Host {
  facts: Facts = {}
  constructor(
    readonly spec: HostSpec,
    public executor: Executor,
  ) {}

  get name(): string {
    return this.spec.name
  }
  get isController(): boolean {
    return isController(this.spec)
  }
  get isWorker(): boolean {
    return isWorker(this.spec)
  }
  /** Commands run as root: sudo when the SSH user is not root. */
  exec(cmd: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.executor.exec(cmd, {sudo: this.spec.user !== 'root', ...opts})
  }
  toString(): string {
    return this.spec.name
  }
}

export function controllers(hosts: Host[]): Host[] {
  return hosts.filter((h) => h.isController)
}
export function workers(hosts: Host[]): Host[] {
  return hosts.filter((h) => h.isWorker && !h.isController)
}
