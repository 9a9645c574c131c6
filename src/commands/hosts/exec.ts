import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base/command.js'
import {connectOptions, hostsFilterFlag, sshFlags} from '../../base/flags.js'
import {InputError} from '../../errors.js'
import {execOnHosts, type ExecOnHostsResult} from '../../hosts/fanout.js'
import {loadSpec} from '../../spec/load.js'

export default class HostsExec extends BaseCommand<typeof HostsExec> {
  static override summary = 'Run a shell command on every host of a cluster spec.'
  static override description =
    'The command after -- runs through sh on each host (as root, with sudo -n when the SSH user is not root, unless --no-sudo). ' +
    'Output is streamed as "host | line". The exit code is the highest exit code over the hosts; a host that cannot be reached counts as failed.'
  static override examples = [
    '<%= config.bin %> hosts exec -c cluster.yaml -- uptime',
    "<%= config.bin %> hosts exec -c cluster.yaml --hosts cp1,cp2 -- 'systemctl is-active kubelet'",
    '<%= config.bin %> hosts exec -c cluster.yaml --json -- cat /etc/machine-id',
  ]
  static override strict = false
  static override flags = {
    ...sshFlags,
    ...hostsFilterFlag,
    sudo: Flags.boolean({default: true, allowNo: true, summary: 'Run as root through sudo -n when the SSH user is not root.'}),
    timeout: Flags.integer({min: 1, summary: 'Kill the command on a host after this many seconds.'}),
  }

  async run(): Promise<ExecOnHostsResult> {
    const {argv} = await this.parse(HostsExec)
    const command = (argv as string[]).join(' ').trim()
    if (!command) throw new InputError('no command given', [], 'Put the command after --: metalplane hosts exec -c cluster.yaml -- uptime')
    const {spec} = await loadSpec(this.flags.config)
    const json = this.jsonEnabled()
    const names = spec.spec.hosts.map((h) => h.name)
    const width = Math.max(...names.map((n) => n.length))
    const result = await execOnHosts(spec, command, {
      ...connectOptions(this.flags, this.log_),
      sudo: this.flags.sudo,
      timeoutMs: this.flags.timeout ? this.flags.timeout * 1000 : undefined,
      onLine: json
        ? undefined
        : (host, stream, line) => {
            const text = `${host.padEnd(width)} | ${line}\n`
            if (stream === 'stdout') process.stdout.write(text)
            else process.stderr.write(text)
          },
    })
    if (!json) {
      const ok = result.hosts.filter((h) => h.code === 0).length
      const parts = result.hosts.map((h) => `${h.host}=${h.error ? 'unreachable' : h.code === null ? (h.signal ?? 'killed') : h.code}`)
      this.logToStderr(`${ok}/${result.hosts.length} hosts exited 0 (${parts.join(' ')})`)
      for (const h of result.hosts) if (h.error) this.logToStderr(`Error: ${h.host}: ${h.error}${h.hint ? `\nHint: ${h.hint}` : ''}`)
    }
    if (result.exitCode !== 0) process.exitCode = result.exitCode
    return result
  }
}
