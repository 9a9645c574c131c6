import {BaseCommand} from '../../base/command.js'
import {filterFlags, storeFlag} from '../../inventory/flags.js'
import {hasGpu, nvmeDisks} from '../../inventory/hardware.js'
import {buildFilter, listMachines} from '../../inventory/ops.js'
import {formatBytes} from '../../inventory/size.js'
import type {MachineRecord} from '../../inventory/store.js'

export default class InventoryList extends BaseCommand<typeof InventoryList> {
  static override summary = 'List discovered machines.'
  static override examples = [
    '<%= config.bin %> inventory list',
    '<%= config.bin %> inventory list --has-gpu --min-memory 256GiB',
    '<%= config.bin %> inventory list --nvme --label rack=r12 --json',
    '<%= config.bin %> inventory list --store etcd://10.0.0.5:2379',
  ]
  static override flags = {...storeFlag, ...filterFlags}

  async run(): Promise<{store: string; machines: MachineRecord[]}> {
    const f = this.flags
    const r = await listMachines(f.store, buildFilter({hasGpu: f['has-gpu'], nvme: f.nvme, minMemory: f['min-memory'], labels: f.label}))
    if (!this.jsonEnabled()) {
      if (r.machines.length === 0) this.log(`No machines in ${r.store} match.`)
      else {
        const rows = r.machines.map((m) => [
          m.name,
          m.address ?? '-',
          [m.hardware.system.vendor, m.hardware.system.product].filter(Boolean).join(' ') || '-',
          `${m.hardware.cpu.sockets}x${m.hardware.cpu.cores / Math.max(1, m.hardware.cpu.sockets)}c/${m.hardware.cpu.threads}t`,
          formatBytes(m.hardware.memoryBytes),
          `${nvmeDisks(m.hardware).length}/${m.hardware.disks.length}`,
          hasGpu(m.hardware) ? `${m.hardware.accelerators.length}x ${m.hardware.accelerators[0].model ?? m.hardware.accelerators[0].vendor}` : '-',
          m.lastSeen.replace(/\.\d+Z$/, 'Z'),
          Object.entries(m.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-',
        ])
        const head = ['NAME', 'ADDRESS', 'SYSTEM', 'CPU', 'MEMORY', 'NVME/DISKS', 'GPU', 'LAST SEEN', 'LABELS']
        const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
        for (const row of [head, ...rows]) this.log(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  '))
      }
    }
    return r
  }
}
