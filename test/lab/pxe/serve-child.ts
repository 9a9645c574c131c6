/**
 * Runs the PXE service library inside a network namespace (started with `ip netns exec`), with
 * the SQLite inventory store as the sink. Prints one JSON line per event on stdout:
 * {"event":"ready",...}, {"event":"report",...}, {"event":"stopped"}. Stops on SIGTERM/SIGINT.
 * Usage: ip netns exec NS node --import tsx serve-child.ts IFACE DHCP_RANGE|proxy KERNEL INITRD DB [ipv6ra]
 */
import {openInventoryStore} from '../../../src/inventory/open.js'
import {startPxeService} from '../../../src/pxe/service.js'
import {Logger} from '../../../src/ui/log.js'

const [iface, range, kernel, initrd, db, ra] = process.argv.slice(2)
const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n')
const store = await openInventoryStore(`sqlite://${db}`)
const svc = await startPxeService({
  interface: iface,
  dhcpRange: range === 'proxy' ? undefined : range,
  kernel,
  initrd,
  sink: store,
  policy: 'poweroff',
  ipv6Ra: ra === 'ipv6ra',
  httpPort: 0,
  log: new Logger((process.env.PXE_LOG_LEVEL as 'info') ?? 'info'),
})
out({event: 'ready', baseUrl: svc.baseUrl, dnsmasqPid: svc.dnsmasqPid, runDir: svc.runDir, mode: svc.mode})
svc.on('report', async (r) => {
  const machine = await store.get(r.id)
  out({event: 'report', at: Date.now(), ...r, machine})
})
const stop = async () => {
  await svc.stop()
  await store.close()
  out({event: 'stopped'})
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
const {error} = await svc.done
if (error) {
  out({event: 'stopped', error: error.message})
  await store.close()
  process.exit(1)
}
