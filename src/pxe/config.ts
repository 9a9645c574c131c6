/**
 * What `pxe serve` renders: the dnsmasq configuration and the iPXE boot script.
 */
import {isIPv4} from 'node:net'
import {InputError, type FieldIssue} from '../errors.js'
import {render} from '../render/index.js'

export const BIOS_BOOT_FILE = 'undionly.kpxe'
export const EFI_BOOT_FILE = 'ipxe.efi'
export const IPXE_DIR = '/usr/lib/ipxe'
export const DEFAULT_HTTP_PORT = 8067

export type DiscoveryPolicy = 'poweroff' | 'wait'

export interface DhcpRange {
  start: string
  end: string
}

export interface DnsmasqConfigInput {
  interface: string
  /** Full DHCP with this range; proxyDHCP when undefined. */
  dhcpRange?: DhcpRange
  /** The interface's network for proxyDHCP, e.g. 10.78.0.0. */
  network?: string
  leaseTime?: string
  ipv6Ra?: boolean
  tftpRoot: string
  leaseFile: string
  pidFile: string
  bootScriptUrl: string
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((a, b) => a * 256 + Number(b), 0)
}
function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.')
}

/** The network address of ip/prefix. */
export function networkOf(ip: string, prefix: number): string {
  const size = 2 ** (32 - prefix)
  return intToIp(Math.floor(ipToInt(ip) / size) * size)
}

/** Parses `--dhcp-range START,END`; both in the interface's subnet when one is given. */
export function parseDhcpRange(text: string, subnet?: {address: string; prefix: number}): DhcpRange {
  const parts = text.split(',').map((s) => s.trim())
  const issues: FieldIssue[] = []
  if (parts.length !== 2) issues.push({path: '--dhcp-range', message: `"${text}": expected START,END (two IPv4 addresses)`})
  else {
    for (const p of parts) if (!isIPv4(p)) issues.push({path: '--dhcp-range', message: `"${p}" is not an IPv4 address`})
    if (issues.length === 0) {
      if (ipToInt(parts[0]) > ipToInt(parts[1])) issues.push({path: '--dhcp-range', message: `start ${parts[0]} is after end ${parts[1]}`})
      if (subnet) {
        const net = networkOf(subnet.address, subnet.prefix)
        for (const p of parts)
          if (networkOf(p, subnet.prefix) !== net) issues.push({path: '--dhcp-range', message: `${p} is outside the interface's network ${net}/${subnet.prefix}`})
        if (ipToInt(subnet.address) >= ipToInt(parts[0]) && ipToInt(subnet.address) <= ipToInt(parts[1]))
          issues.push({path: '--dhcp-range', message: `the range holds the server's own address ${subnet.address}`})
      }
    }
  }
  if (issues.length > 0) throw new InputError('bad DHCP range', issues)
  return {start: parts[0], end: parts[1]}
}

export function renderDnsmasqConfig(c: DnsmasqConfigInput): string {
  const proxy = c.dhcpRange === undefined
  if (proxy && !c.network) throw new InputError('proxyDHCP needs the network of the interface', [{path: '--interface', message: `${c.interface} has no IPv4 address`}])
  return render('pxe/dnsmasq.conf', {
    interface: c.interface,
    proxy,
    proxyNetwork: c.network ?? '',
    rangeStart: c.dhcpRange?.start ?? '',
    rangeEnd: c.dhcpRange?.end ?? '',
    leaseTime: c.leaseTime ?? '1h',
    ipv6Ra: Boolean(c.ipv6Ra),
    tftpRoot: c.tftpRoot,
    leaseFile: c.leaseFile,
    pidFile: c.pidFile,
    biosBootFile: BIOS_BOOT_FILE,
    efiBootFile: EFI_BOOT_FILE,
    bootScriptUrl: c.bootScriptUrl,
  })
}

export interface BootScriptInput {
  /** http://SERVER:PORT */
  baseUrl: string
  policy: DiscoveryPolicy
  /** Extra kernel arguments. */
  extraArgs?: string
}

/** The kernel command line of the discovery image. */
export function kernelCmdline(baseUrl: string, policy: DiscoveryPolicy, extra = ''): string {
  return `console=tty0 console=ttyS0,115200 panic=10 metalplane.server=${baseUrl} metalplane.policy=${policy}${extra ? ' ' + extra : ''}`
}

export function renderBootScript(b: BootScriptInput): string {
  return render('pxe/boot.ipxe', {baseUrl: b.baseUrl, cmdline: kernelCmdline(b.baseUrl, b.policy, b.extraArgs)})
}
