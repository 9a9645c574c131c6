import {Flags} from '@oclif/core'
import {writeFileSync} from 'node:fs'
import {stringify} from 'yaml'
import {BaseCommand} from '../../base/command.js'
import type {ExportedHost} from '../../inventory/export.js'
import {filterFlags, storeFlag} from '../../inventory/flags.js'
import {buildFilter, exportInventory} from '../../inventory/ops.js'

export default class InventoryExport extends BaseCommand<typeof InventoryExport> {
  static override summary = 'Write the hosts section of a cluster spec from the inventory.'
  static override description =
    'Roles come from --controllers (machines labeled role=controller first, machines without GPUs next); the rest are workers. ' +
    'Local volumes are the NVMe disks by their /dev/disk/by-id path (on machines with only NVMe disks the smallest is left for the OS), ' +
    'gpu is nvidia when an NVIDIA GPU was found, and the address is the IP the machine reported from.'
  static override examples = [
    '<%= config.bin %> inventory export --controllers 3 > hosts.yaml',
    '<%= config.bin %> inventory export --controllers 1 --label rack=r12 --user ubuntu -o hosts.yaml',
  ]
  static override flags = {
    ...storeFlag,
    ...filterFlags,
    controllers: Flags.integer({default: 1, min: 1, summary: 'How many machines become controllers (odd: 1, 3, 5).'}),
    'controllers-schedulable': Flags.boolean({default: false, summary: 'Controllers also run workloads (role controller+worker).'}),
    user: Flags.string({summary: 'SSH user for every host.'}),
    'key-file': Flags.string({summary: 'SSH private key for every host.'}),
    'os-disk': Flags.option({options: ['auto', 'none'] as const, default: 'auto' as const, summary: 'auto: keep the smallest NVMe disk for the OS on machines with only NVMe disks; none: export every NVMe disk.'})(),
    wipe: Flags.boolean({default: false, summary: 'Mark the local volumes to be wiped.'}),
    output: Flags.string({char: 'o', summary: 'Write YAML to this file instead of stdout.'}),
  }

  async run(): Promise<{store: string; hosts: ExportedHost[]}> {
    const f = this.flags
    const r = await exportInventory(f.store, buildFilter({hasGpu: f['has-gpu'], nvme: f.nvme, minMemory: f['min-memory'], labels: f.label}), {
      controllers: f.controllers,
      controllersSchedulable: f['controllers-schedulable'],
      user: f.user,
      keyFile: f['key-file'],
      osDisk: f['os-disk'],
      wipe: f.wipe,
    })
    const yaml = `# hosts exported from ${r.store} on ${new Date().toISOString()}\n` + stringify({hosts: r.hosts})
    if (f.output) {
      writeFileSync(f.output, yaml)
      if (!this.jsonEnabled()) this.logToStderr(`Wrote ${r.hosts.length} hosts to ${f.output}`)
    } else if (!this.jsonEnabled()) process.stdout.write(yaml)
    return r
  }
}
