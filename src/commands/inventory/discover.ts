import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base/command.js'
import {discover, type DiscoverResult} from '../../inventory/discover.js'
import {storeFlag} from '../../inventory/flags.js'
import {withStore} from '../../inventory/ops.js'
import {parseDuration} from '../../inventory/size.js'
import {InputError} from '../../errors.js'

export default class InventoryDiscover extends BaseCommand<typeof InventoryDiscover> {
  static override summary = 'Power machines on through their BMCs to boot the discovery image, and wait for their reports.'
  static override description =
    'Needs the PXE service running (`metalplane pxe serve`) and the BMCs registered (`metalplane bmc add`). ' +
    'In batches, each machine is set to boot from the network once and powered on (power-cycled if it is on); ' +
    'then the inventory is polled for new or updated machines until each BMC has its report or --timeout passes.'
  static override examples = [
    '<%= config.bin %> inventory discover --bmc r1-n1,r1-n2,r1-n3',
    '<%= config.bin %> inventory discover --bmc r1-n1,r1-n2 --batch 10 --timeout 20m --uefi --store etcd://10.0.0.5:2379',
  ]
  static override flags = {
    ...storeFlag,
    bmc: Flags.string({required: true, multiple: true, delimiter: ',', summary: 'BMC names (comma-separated or repeated).'}),
    batch: Flags.integer({default: 10, min: 1, summary: 'Machines powered on at once.'}),
    timeout: Flags.string({default: '15m', summary: 'How long to wait for all reports, e.g. 90s, 15m.'}),
    uefi: Flags.boolean({default: false, summary: 'PXE boot in UEFI mode (default: legacy BIOS).'}),
    poll: Flags.string({default: '2s', summary: 'How often to look for new reports.', hidden: true}),
  }

  async run(): Promise<DiscoverResult> {
    const f = this.flags
    const bmcs = f.bmc.map((b) => b.trim()).filter(Boolean)
    if (bmcs.length === 0) throw new InputError('no BMC given', [{path: '--bmc', message: 'one or more BMC names'}])
    const timeoutMs = parseDuration(f.timeout, '--timeout')
    const pollMs = parseDuration(f.poll, '--poll')
    const r = await withStore(f.store, (store) => discover(store, {bmcs, batch: f.batch, timeoutMs, pollMs, boot: {uefi: f.uefi}, log: this.log_}))
    if (!this.jsonEnabled()) for (const b of r.bmcs) this.log(`${b.bmc.padEnd(20)} ${b.machine?.name ?? '-'}  ${b.machine?.address ?? ''}`)
    return r
  }
}
