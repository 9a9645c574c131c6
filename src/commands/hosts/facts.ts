import {BaseCommand} from '../../base/command.js'
import {connectOptions, hostsFilterFlag, sshFlags} from '../../base/flags.js'
import {factsOnHosts, type HostFactsResult} from '../../hosts/fanout.js'
import type {HostFacts} from '../../hosts/facts.js'
import {loadSpec} from '../../spec/load.js'

function gib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(bytes >= 100 * 1024 ** 3 ? 0 : 1)}G` : `${Math.round(bytes / 1024 ** 2)}M`
}

function row(host: string, f: HostFacts): string[] {
  const disks = f.disks.map((d) => `${d.name}:${gib(d.sizeBytes)}`).join(',') || '-'
  const ntp = f.timeSync.synchronized === null ? (f.timeSync.service ?? '-') : f.timeSync.synchronized ? 'synced' : 'NOT synced'
  return [host, f.os.prettyName ?? f.os.id ?? '?', f.kernel, f.arch, f.cgroupVersion ? `v${f.cgroupVersion}` : '?', String(f.cpu.count), gib(f.memory.totalBytes), f.swap.totalBytes > 0 ? gib(f.swap.totalBytes) : 'off', disks, ntp]
}

export default class HostsFacts extends BaseCommand<typeof HostsFacts> {
  static override summary = 'Show what each host of a cluster spec is: OS, kernel, CPU, memory, disks, NICs, time sync.'
  static override description =
    'Connects over SSH (host keys checked against known_hosts) and runs one read-only script per host. ' +
    'Hosts that cannot be reached are reported and make the exit code non-zero (4 when all were host-key refusals).'
  static override examples = [
    '<%= config.bin %> hosts facts -c cluster.yaml',
    '<%= config.bin %> hosts facts -c cluster.yaml --hosts cp1,cp2 --json',
    '<%= config.bin %> hosts facts -c cluster.yaml --accept-new-host-keys',
  ]
  static override flags = {...sshFlags, ...hostsFilterFlag}

  async run(): Promise<HostFactsResult> {
    const {spec} = await loadSpec(this.flags.config)
    const result = await factsOnHosts(spec, connectOptions(this.flags, this.log_))
    if (!this.jsonEnabled()) {
      if (result.hosts.length > 0) {
        const rows = [['HOST', 'OS', 'KERNEL', 'ARCH', 'CGROUP', 'CPUS', 'MEMORY', 'SWAP', 'DISKS', 'TIME'], ...result.hosts.map((h) => row(h.host, h.facts))]
        const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
        for (const r of rows) this.log(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  '))
      }
      for (const f of result.failures) this.logToStderr(`Error: ${f.host}: ${f.error}${f.hint ? `\nHint: ${f.hint}` : ''}`)
    }
    if (result.exitCode !== 0) process.exitCode = result.exitCode
    return result
  }
}
