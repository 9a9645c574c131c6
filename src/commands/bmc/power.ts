import {Args} from '@oclif/core'
import {BaseCommand} from '../../base/command.js'
import {bmcPower, type PowerResult} from '../../bmc/control.js'

export default class BmcPower extends BaseCommand<typeof BmcPower> {
  static override summary = 'Read or change the power state of a machine through its BMC.'
  static override description = 'cycle powers off then on (IPMI chassis power cycle, Redfish ResetType PowerCycle); off is a hard power-off.'
  static override examples = ['<%= config.bin %> bmc power status r1-n1', '<%= config.bin %> bmc power cycle r1-n1 --json']
  static override args = {
    action: Args.string({required: true, options: ['status', 'on', 'off', 'cycle'], description: 'status, on, off or cycle.'}),
    name: Args.string({required: true, description: 'BMC name.'}),
  }

  async run(): Promise<PowerResult> {
    const r = await bmcPower(this.args.name, this.args.action as 'status' | 'on' | 'off' | 'cycle')
    if (!this.jsonEnabled()) this.log(r.action === 'status' ? `${r.bmc}: power ${r.power}` : `${r.bmc}: power ${r.action} sent`)
    return r
  }
}
