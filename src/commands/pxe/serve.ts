import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base/command.js'
import {DEFAULT_HTTP_PORT} from '../../pxe/config.js'
import {servePxe, type ServeResult} from '../../pxe/serve.js'

export default class PxeServe extends BaseCommand<typeof PxeServe> {
  static override summary = 'Network-boot machines into the discovery image and record their hardware in the inventory.'
  static override description =
    'Starts dnsmasq on the interface (proxyDHCP beside your DHCP server by default; full DHCP with --dhcp-range) and an HTTP server for ' +
    'boot.ipxe, the discovery kernel/initramfs and the reports. PXE clients chainload iPXE over TFTP (undionly.kpxe for BIOS, ipxe.efi for UEFI); ' +
    'iPXE clients get boot.ipxe. Runs until Ctrl-C (or --exit-after reports); stops dnsmasq and leaves no files behind. Needs root (ports 67, 69).'
  static override examples = [
    '<%= config.bin %> pxe serve --interface eno1',
    '<%= config.bin %> pxe serve --interface br0 --dhcp-range 10.78.0.100,10.78.0.200 --ipv6-ra',
    '<%= config.bin %> pxe serve --interface eno1 --policy wait --exit-after 4 --json',
  ]
  static override flags = {
    interface: Flags.string({char: 'i', required: true, summary: 'Interface to serve on (dnsmasq binds only to it).'}),
    'dhcp-range': Flags.string({summary: 'START,END: hand out addresses (full DHCP) instead of proxyDHCP.'}),
    address: Flags.string({summary: "This server's IPv4 address for clients (default: the interface's)."}),
    'http-port': Flags.integer({default: DEFAULT_HTTP_PORT, min: 0, max: 65535, summary: 'HTTP port for boot.ipxe, the image and reports.'}),
    policy: Flags.option({options: ['poweroff', 'wait'] as const, default: 'poweroff' as const, summary: 'What a machine does after reporting.'})(),
    kernel: Flags.string({summary: 'Your own discovery kernel (with --initrd) instead of the built image.'}),
    initrd: Flags.string({summary: 'Your own discovery initramfs (with --kernel).'}),
    store: Flags.string({summary: 'Inventory store: a SQLite path or etcd://HOST:PORT (default: the state dir).'}),
    'ipv6-ra': Flags.boolean({default: false, summary: 'Send IPv6 router advertisements (only on a network of your own).'}),
    'kernel-args': Flags.string({summary: 'Extra kernel arguments for the discovery image.'}),
    'exit-after': Flags.integer({default: 0, min: 0, summary: 'Stop after this many reports (0: run until Ctrl-C).'}),
  }

  async run(): Promise<ServeResult> {
    const f = this.flags
    const result = await servePxe({
      interface: f.interface,
      dhcpRange: f['dhcp-range'],
      address: f.address,
      httpPort: f['http-port'],
      policy: f.policy,
      kernel: f.kernel,
      initrd: f.initrd,
      store: f.store,
      ipv6Ra: f['ipv6-ra'],
      kernelArgs: f['kernel-args'],
      exitAfter: f['exit-after'],
      log: this.log_,
    })
    if (!this.jsonEnabled()) {
      this.log(`${result.reports.length} report${result.reports.length === 1 ? '' : 's'} received (${result.store}):`)
      for (const r of result.reports) this.log(`  ${r.id.padEnd(24)} ${r.created ? 'new' : 'updated'}  ${r.peer ?? '-'}  ${r.macs.join(', ')}`)
    }
    return result
  }
}
