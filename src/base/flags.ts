import {Flags} from '@oclif/core'
import type {ConnectOptions} from '../hosts/connect.js'
import type {Logger} from '../ui/log.js'

/** Flags of every command that reaches the hosts of a cluster spec over SSH. */
export const sshFlags = {
  config: Flags.string({char: 'c', default: 'cluster.yaml', summary: 'Cluster spec file.'}),
  'known-hosts': Flags.string({
    summary: 'known_hosts file that host keys are checked against.',
    description: 'Default: spec.ssh.knownHosts, else ~/.ssh/known_hosts.',
  }),
  'accept-new-host-keys': Flags.boolean({
    default: false,
    summary: 'Record host keys that are not in known_hosts yet. A changed key is always refused.',
  }),
  concurrency: Flags.integer({min: 1, max: 500, summary: 'Hosts worked on at once (default: spec.ssh.concurrency, 30).'}),
}

/** `--hosts a,b`: limit a command to some hosts of the spec. */
export const hostsFilterFlag = {
  hosts: Flags.string({summary: 'Only these hosts: comma-separated names from the spec.'}),
}

export interface SshFlagValues {
  'known-hosts'?: string
  'accept-new-host-keys'?: boolean
  concurrency?: number
  hosts?: string
}

/** ConnectOptions from the shared flags (spec defaults apply where a flag is not given). */
export function connectOptions(flags: SshFlagValues, log?: Logger): ConnectOptions {
  return {
    knownHostsFile: flags['known-hosts'],
    acceptNewHostKeys: flags['accept-new-host-keys'],
    concurrency: flags.concurrency,
    hosts: flags.hosts ? flags.hosts.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
    log,
  }
}
