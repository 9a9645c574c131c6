import {ExitCode, HostsFailedError, MetalplaneError} from '../errors.js'
import type {Host} from '../hosts/host.js'
import {KnownHosts, defaultKnownHostsFile} from '../hosts/known-hosts.js'
import {BastionPool, SshExecutor} from '../hosts/ssh.js'
import type {Connector} from '../phases/connect.js'
import type {ClusterSpec} from '../spec/schema.js'
import type {Logger} from '../ui/log.js'
import {pool} from '../engine/manager.js'

export interface SshConnectOptions {
  knownHosts?: string
  acceptNewHostKeys?: boolean
  concurrency: number
  log: Logger
}

/**
 * SSH connections for the hosts of a run: host keys checked against known_hosts (unknown keys
 * refused unless accepted explicitly), bastions shared. Failures name every host; a refused
 * host key keeps exit code 4.
 */
export function sshConnector(spec: ClusterSpec, o: SshConnectOptions): Connector {
  const knownHosts = new KnownHosts(o.knownHosts ?? spec.spec.ssh.knownHosts ?? defaultKnownHostsFile())
  const sshOpts = {knownHosts, acceptNewHostKeys: o.acceptNewHostKeys, connectTimeoutMs: spec.spec.ssh.connectTimeoutSeconds * 1000, log: o.log}
  const bastions = new BastionPool(sshOpts)
  return async (hosts: Host[]) => {
    const failures: {host: string; error: string; err: unknown}[] = []
    await pool(hosts, o.concurrency, async (h) => {
      const ex = new SshExecutor(h.name, h.spec, {...sshOpts, bastions})
      try {
        await ex.connect()
        h.executor = ex
      } catch (error) {
        await ex.close().catch(() => {})
        failures.push({host: h.name, error: (error as Error).message, err: error})
      }
    })
    if (failures.length > 0) {
      const hostKey = failures.some((f) => f.err instanceof MetalplaneError && f.err.exitCode === ExitCode.HOST_KEY)
      throw new HostsFailedError('connecting', failures.map(({host, error}) => ({host, error})), hostKey ? ExitCode.HOST_KEY : ExitCode.FAILURE)
    }
  }
}
