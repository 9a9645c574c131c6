/**
 * `metalplane pxe serve` as a library call: the discovery image (built or cached, or the
 * user's own), the inventory store as the report sink, the PXE service until a signal or
 * until enough reports arrived.
 */
import {buildImage} from '../image/build.js'
import {openInventoryStore} from '../inventory/open.js'
import {silentLogger, type Logger} from '../ui/log.js'
import type {DiscoveryPolicy} from './config.js'
import {startPxeService} from './service.js'

export interface ServeOptions {
  interface: string
  dhcpRange?: string
  address?: string
  httpPort?: number
  policy?: DiscoveryPolicy
  kernel?: string
  initrd?: string
  /** Inventory store location (sqlite path or etcd://); default: the default store. */
  store?: string
  ipv6Ra?: boolean
  kernelArgs?: string
  /** Stop after this many reports (0: run until SIGINT/SIGTERM). */
  exitAfter?: number
  log?: Logger
}

export interface ServeResult {
  interface: string
  mode: 'proxy' | 'dhcp'
  baseUrl: string
  store: string
  image: {kernel: string; initrd: string; hash?: string}
  reports: {id: string; created: boolean; macs: string[]; peer?: string; receivedAt: string}[]
  stoppedBy: 'signal' | 'exit-after'
}

export async function servePxe(o: ServeOptions): Promise<ServeResult> {
  const log = o.log ?? silentLogger
  const image = await buildImage({kernel: o.kernel, initrd: o.initrd, log: (m) => log.info(m)})
  const store = await openInventoryStore(o.store)
  try {
    const svc = await startPxeService({
      interface: o.interface,
      dhcpRange: o.dhcpRange,
      address: o.address,
      httpPort: o.httpPort,
      policy: o.policy,
      kernel: image.kernel,
      initrd: image.initrd,
      sink: store,
      ipv6Ra: o.ipv6Ra,
      kernelArgs: o.kernelArgs,
      log,
    })
    let stoppedBy: ServeResult['stoppedBy'] = 'signal'
    const onSignal = (sig: string): void => {
      log.info(`${sig}: stopping the PXE service`)
      void svc.stop()
    }
    const onInt = () => onSignal('SIGINT')
    const onTerm = () => onSignal('SIGTERM')
    process.on('SIGINT', onInt)
    process.on('SIGTERM', onTerm)
    if (o.exitAfter && o.exitAfter > 0) {
      svc.on('report', () => {
        if (svc.reports.length >= o.exitAfter!) {
          stoppedBy = 'exit-after'
          void svc.stop()
        }
      })
    }
    const {error} = await svc.done
    process.off('SIGINT', onInt)
    process.off('SIGTERM', onTerm)
    if (error) throw error
    return {
      interface: o.interface,
      mode: svc.mode,
      baseUrl: svc.baseUrl,
      store: store.location,
      image: {kernel: image.kernel, initrd: image.initrd, hash: image.hash},
      reports: svc.reports.map((r) => ({id: r.id, created: r.created, macs: r.macs, peer: r.peer, receivedAt: r.receivedAt})),
      stoppedBy,
    }
  } finally {
    await store.close()
  }
}
