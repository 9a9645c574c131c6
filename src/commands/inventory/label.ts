import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base/command.js'
import {storeFlag} from '../../inventory/flags.js'
import {labelMachine, parseLabelArgs} from '../../inventory/ops.js'
import type {MachineRecord} from '../../inventory/store.js'

export default class InventoryLabel extends BaseCommand<typeof InventoryLabel> {
  static override summary = 'Set (KEY=VALUE) or remove (KEY-) labels on a machine, or rename it.'
  static override description = 'Labels are exported as Kubernetes node labels by `inventory export`; the label role=controller makes a machine preferred as a controller.'
  static override examples = ['<%= config.bin %> inventory label m-3fa9c2 rack=r12 zone=a', '<%= config.bin %> inventory label m-3fa9c2 zone- --name gpu-07']
  static override strict = false
  static override args = {machine: Args.string({required: true, description: 'Name, id, unique id prefix or a MAC address.'})}
  static override flags = {...storeFlag, name: Flags.string({summary: 'New name (a lowercase DNS label); becomes the host name in exports.'})}

  async run(): Promise<{machine: MachineRecord}> {
    const {argv} = await this.parse(InventoryLabel)
    const labels = (argv as string[]).slice(1)
    const machine = await labelMachine(this.flags.store, this.args.machine, {...parseLabelArgs(labels), rename: this.flags.name})
    if (!this.jsonEnabled()) this.log(`${machine.name}: ${Object.entries(machine.labels).map(([k, v]) => `${k}=${v}`).join(', ') || 'no labels'}`)
    return {machine}
  }
}
