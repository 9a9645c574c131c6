#!/usr/bin/env node
// The PXE service for bench/pxe.mjs, run inside the bench's network namespace (`ip netns exec`).
// Prints one JSON line per event: ready, report (with its arrival time), stopped.
// Usage: ip netns exec NS node bench/pxe-serve.mjs IFACE DHCP_RANGE KERNEL INITRD DB
const dist = new URL('../dist/', import.meta.url)
const {startPxeService} = await import(new URL('pxe/service.js', dist))
const {openInventoryStore} = await import(new URL('inventory/open.js', dist))
const {Logger} = await import(new URL('ui/log.js', dist))
const [iface, range, kernel, initrd, db] = process.argv.slice(2)
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const store = await openInventoryStore(`sqlite://${db}`)
const svc = await startPxeService({interface: iface, dhcpRange: range, kernel, initrd, sink: store, policy: 'poweroff', ipv6Ra: true, httpPort: 0, log: new Logger('warn')})
svc.on('report', (r) => out({event: 'report', at: Date.now(), id: r.id, macs: r.macs}))
out({event: 'ready', baseUrl: svc.baseUrl, dnsmasqPid: svc.dnsmasqPid})
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
  process.exit(1)
}
