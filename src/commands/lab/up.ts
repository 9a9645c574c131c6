import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base/command.js'
import {DEFAULT_LAB_HOSTS, DEFAULT_LAB_NAME, labUp, MAX_LAB_HOSTS, type LabInfo} from '../../lab/lab.js'

export default class LabUp extends BaseCommand<typeof LabUp> {
  static override summary = 'Start a lab: SSH hosts in network namespaces on this machine.'
  static override description =
    'Each host is a booted systemd-nspawn machine (Debian bookworm) with its own network namespace, address on 10.77.<k>.0/24 and SSH host key. ' +
    'This machine reaches the hosts directly. Writes cluster.yaml, known_hosts and the lab key into the lab dir. Needs root. ' +
    'The first run builds the host tree with debootstrap (about a minute); later runs start in seconds.'
  static override examples = [
    '<%= config.bin %> lab up',
    '<%= config.bin %> lab up --name rack1 --hosts 10 --subnet 10.77.5.0/24',
    '<%= config.bin %> lab up --json',
  ]
  static override flags = {
    name: Flags.string({default: DEFAULT_LAB_NAME, summary: 'Lab name (a DNS label).'}),
    hosts: Flags.integer({default: DEFAULT_LAB_HOSTS, min: 1, max: MAX_LAB_HOSTS, summary: 'Number of SSH hosts.'}),
    subnet: Flags.string({summary: 'Lab network, 10.77.<k>.0/24 (default: derived from the name).'}),
  }

  async run(): Promise<LabInfo> {
    const lab = await labUp({name: this.flags.name, hosts: this.flags.hosts, subnet: this.flags.subnet, log: this.log_})
    if (!this.jsonEnabled()) {
      this.log(`Lab ${lab.name} is up on ${lab.subnet} (${(lab.elapsedMs / 1000).toFixed(1)} s):`)
      for (const h of lab.hosts) this.log(`  ${h.name.padEnd(8)} ${h.address}:${h.port}`)
      this.log(`Cluster spec: ${lab.clusterYaml}`)
      this.log(`Known hosts:  ${lab.knownHosts}`)
      this.log(`SSH key:      ${lab.keyFile} (users ${lab.user}, ${lab.sudoUser} with sudo)`)
      this.log(`Stop it with: ${this.config.bin} lab down --name ${lab.name}`)
    }
    return lab
  }
}
