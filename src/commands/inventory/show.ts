import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base/command.js'
import {storeFlag} from '../../inventory/flags.js'
import {showMachine} from '../../inventory/ops.js'
import {formatBytes} from '../../inventory/size.js'
import type {HistoryEntry, MachineRecord} from '../../inventory/store.js'

export default class InventoryShow extends BaseCommand<typeof InventoryShow> {
  static override summary = 'Show one machine: hardware, labels and the history of changes.'
  static override examples = ['<%= config.bin %> inventory show m-3fa9c2', '<%= config.bin %> inventory show 52:54:00:12:34:56 --json']
  static override args = {machine: Args.string({required: true, description: 'Name, id, unique id prefix or a MAC address.'})}
  static override flags = {...storeFlag, history: Flags.integer({default: 20, min: 0, summary: 'How many history entries to show.'})}

  async run(): Promise<{machine: MachineRecord; history: HistoryEntry[]}> {
    const r = await showMachine(this.flags.store, this.args.machine, this.flags.history)
    if (!this.jsonEnabled()) {
      const m = r.machine
      const h = m.hardware
      this.log(`${m.name}  (${m.id}, identity by ${m.identity.kind})`)
      this.log(`  address     ${m.address ?? '-'}${m.reportedIp && m.reportedIp !== m.address ? ` (agent reported ${m.reportedIp})` : ''}`)
      this.log(`  system      ${[h.system.vendor, h.system.product].filter(Boolean).join(' ') || '-'}, serial ${h.system.serial ?? '-'}, uuid ${h.system.uuid ?? '-'}`)
      this.log(`  cpu         ${h.cpu.model ?? '-'}: ${h.cpu.sockets} socket(s), ${h.cpu.cores} cores, ${h.cpu.threads} threads`)
      this.log(`  memory      ${formatBytes(h.memoryBytes)}`)
      const line = (label: string, parts: (string | undefined | false)[]) => this.log(`  ${label.padEnd(11)} ${parts.filter(Boolean).join(' ')}`)
      for (const n of h.nics) line('nic', [n.name, n.mac, n.driver, n.speedMbps ? `${n.speedMbps}Mb/s` : undefined, n.link ? 'link up' : 'no link'])
      for (const d of h.disks) line('disk', [d.name, d.type, formatBytes(d.sizeBytes), d.model, d.serial && `serial ${d.serial}`])
      for (const a of h.accelerators) line(a.kind, [a.vendor, a.model, a.pciAddress])
      if (h.bmc?.ip) this.log(`  bmc         ${h.bmc.ip}`)
      this.log(`  labels      ${Object.entries(m.labels).map(([k, v]) => `${k}=${v}`).join(', ') || '-'}`)
      this.log(`  seen        first ${m.firstSeen}, last ${m.lastSeen}, ${m.discoveries} discover${m.discoveries === 1 ? 'y' : 'ies'}`)
      if (r.history.length > 0) this.log('History (newest first):')
      for (const e of r.history) {
        this.log(`  ${e.at} ${e.event}${e.changes.length === 0 ? (e.event === 'rediscovered' ? ' (no change)' : '') : ':'}`)
        for (const c of e.changes) this.log(`      ${c.summary}`)
      }
    }
    return r
  }
}
