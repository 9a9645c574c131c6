import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base/command.js'
import {bmcBootPxe, type BootResult} from '../../bmc/control.js'

export default class BmcBootdev extends BaseCommand<typeof BmcBootdev> {
  static override summary = 'Make a machine boot from the network next time (or always, with --persistent).'
  static override examples = ['<%= config.bin %> bmc bootdev pxe r1-n1', '<%= config.bin %> bmc bootdev pxe r1-n1 --persistent --uefi']
  static override args = {
    device: Args.string({required: true, options: ['pxe'], description: 'Boot device: pxe.'}),
    name: Args.string({required: true, description: 'BMC name.'}),
  }
  static override flags = {
    persistent: Flags.boolean({default: false, summary: 'Keep the override for every boot, not only the next one.'}),
    uefi: Flags.boolean({default: false, summary: 'Boot in UEFI mode (default: legacy BIOS).'}),
  }

  async run(): Promise<BootResult> {
    const r = await bmcBootPxe(this.args.name, {persistent: this.flags.persistent, uefi: this.flags.uefi})
    if (!this.jsonEnabled()) this.log(`${r.bmc}: boot device set to PXE (${r.persistent ? 'persistent' : 'next boot only'}, ${r.uefi ? 'UEFI' : 'legacy'})`)
    return r
  }
}
