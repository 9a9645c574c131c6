import {Args} from '@oclif/core'
import {BaseCommand} from '../../base/command.js'
import {removeBmc} from '../../bmc/registry.js'
import type {BmcRecord} from '../../bmc/types.js'

export default class BmcRemove extends BaseCommand<typeof BmcRemove> {
  static override summary = 'Forget a BMC and its stored password.'
  static override examples = ['<%= config.bin %> bmc remove r1-n1']
  static override args = {name: Args.string({required: true, description: 'BMC name.'})}

  async run(): Promise<{removed: BmcRecord}> {
    const removed = removeBmc(this.args.name)
    if (!this.jsonEnabled()) this.log(`Removed BMC ${removed.name}.`)
    return {removed}
  }
}
