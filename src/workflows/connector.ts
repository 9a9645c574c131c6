import {connectHosts} from '../hosts/connect.js'
import type {Host} from '../hosts/host.js'
import type {Connector} from '../phases/connect.js'
import type {ClusterSpec} from '../spec/schema.js'
import type {Logger} from '../ui/log.js'

export interface SshConnectOptions {
  knownHosts?: string
  acceptNewHostKeys?: boolean
  concurrency: number
  log: Logger
}

/**
 * SSH connections for the hosts of a run (src/hosts/connect.ts): host keys checked against
 * known_hosts (unknown keys refused unless accepted explicitly). Failures name every host; a
 * refused host key keeps exit code 4.
 */
export function sshConnector(spec: ClusterSpec, o: SshConnectOptions): Connector {
  return async (hosts: Host[]) => {
    if (hosts.length === 0) return
    const connected = await connectHosts(spec, {
      knownHostsFile: o.knownHosts,
      acceptNewHostKeys: o.acceptNewHostKeys,
      concurrency: o.concurrency,
      hosts: hosts.map((h) => h.name),
      log: o.log,
    })
    const byName = new Map(connected.map((h) => [h.name, h]))
    for (const h of hosts) h.executor = byName.get(h.name)!.executor
  }
}
