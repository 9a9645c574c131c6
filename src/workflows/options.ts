import type {Renderer} from '../engine/manager.js'
import {loadSpec} from '../spec/load.js'
import type {ClusterSpec} from '../spec/schema.js'
import type {Logger} from '../ui/log.js'
import {sshConnector} from './connector.js'
import type {ClusterRunOptions} from './run.js'

export interface CommonFlags {
  config: string
  'known-hosts'?: string
  'accept-new-host-keys'?: boolean
  concurrency?: number
  'skip-phases'?: string[]
}

/** Spec, connector and run options from the shared flags (commands stay thin). */
export async function runOptions(flags: CommonFlags, o: {log: Logger; renderer: Renderer; dryRun: boolean; command: string}): Promise<ClusterRunOptions & {spec: ClusterSpec; file: string}> {
  const {spec, file} = await loadSpec(flags.config)
  const concurrency = flags.concurrency ?? spec.spec.ssh.concurrency
  return {
    spec,
    file,
    dryRun: o.dryRun,
    concurrency,
    log: o.log,
    renderer: o.renderer,
    command: o.command,
    skipPhases: (flags['skip-phases'] ?? []).map((s) => s.trim()).filter(Boolean),
    connector: sshConnector(spec, {knownHosts: flags['known-hosts'], acceptNewHostKeys: flags['accept-new-host-keys'], concurrency, log: o.log}),
  }
}
