import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base/command.js'
import {storeFlag} from '../../inventory/flags.js'
import {removeMachine} from '../../inventory/ops.js'
import type {MachineRecord} from '../../inventory/store.js'
import {confirm} from '../../ui/tty.js'

export default class InventoryRemove extends BaseCommand<typeof InventoryRemove> {
  static override summary = 'Remove a machine from the inventory (its history is kept).'
  static override examples = ['<%= config.bin %> inventory remove m-3fa9c2 --yes']
  static override args = {machine: Args.string({required: true, description: 'Name, id, unique id prefix or a MAC address.'})}
  static override flags = {...storeFlag, yes: Flags.boolean({char: 'y', default: false, summary: 'Do not ask for confirmation.'})}

  async run(): Promise<{removed: MachineRecord | null}> {
    if (!(await confirm(`Remove machine ${this.args.machine} from the inventory?`, {yes: this.flags.yes, flag: '--yes'}))) {
      this.log('Nothing removed.')
      return {removed: null}
    }
    const removed = await removeMachine(this.flags.store, this.args.machine)
    if (!this.jsonEnabled()) this.log(`Removed ${removed.name} (${removed.id}).`)
    return {removed}
  }
}
