/** oclif flags shared by the inventory commands. */
import {Flags} from '@oclif/core'

export const storeFlag = {
  store: Flags.string({
    summary: 'Inventory store: a SQLite file path (default: inventory.db in the state dir) or etcd://HOST:PORT[,HOST:PORT] for a shared one.',
    env: 'METALPLANE_INVENTORY_STORE',
    helpValue: 'etcd://HOST:PORT',
  }),
}

export const filterFlags = {
  'has-gpu': Flags.boolean({allowNo: true, summary: 'Only machines with (--no-has-gpu: without) a GPU.'}),
  nvme: Flags.boolean({allowNo: true, summary: 'Only machines with (--no-nvme: without) NVMe disks.'}),
  'min-memory': Flags.string({summary: 'Only machines with at least this much memory, e.g. 64GiB.'}),
  label: Flags.string({multiple: true, summary: 'Only machines with this label (KEY=VALUE); repeat to require several.'}),
}
