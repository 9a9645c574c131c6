import assert from 'node:assert/strict'
import {kernelCmdline, networkOf, parseDhcpRange, renderBootScript, renderDnsmasqConfig} from '../../../src/pxe/config.js'

const base = {interface: 'br0', tftpRoot: '/run/x/tftp', leaseFile: '/run/x/leases', pidFile: '/run/x/pid', bootScriptUrl: 'http://10.78.0.1:8067/boot.ipxe'}
const lines = (s: string) => s.split('\n').filter((l) => l && !l.startsWith('#'))

describe('pxe: dnsmasq config', () => {
  it('proxyDHCP by default: proxy range, pxe-service per architecture, no address pool', () => {
    const l = lines(renderDnsmasqConfig({...base, network: '10.78.0.0'}))
    assert.ok(l.includes('dhcp-range=10.78.0.0,proxy'))
    assert.ok(!l.some((x) => /^dhcp-range=\d+\.\d+\.\d+\.\d+,\d/.test(x)), 'no address range in proxy mode')
    assert.ok(l.includes('pxe-service=tag:!ipxe,x86PC,"metalplane: chainload iPXE",undionly.kpxe'))
    assert.ok(l.includes('pxe-service=tag:!ipxe,X86-64_EFI,"metalplane: chainload iPXE",ipxe.efi'))
    assert.ok(l.includes('pxe-service=tag:ipxe,x86PC,"metalplane discovery",http://10.78.0.1:8067/boot.ipxe'))
    assert.ok(l.includes('dhcp-userclass=set:ipxe,iPXE'))
    assert.ok(l.includes('port=0'), 'DNS off')
    assert.ok(l.includes('interface=br0') && l.includes('bind-interfaces'))
    assert.ok(!l.includes('enable-ra'), 'no router advertisements unless asked')
  })
  it('full DHCP with a range: boot file by client architecture (option 93) and by iPXE user class', () => {
    const l = lines(renderDnsmasqConfig({...base, dhcpRange: {start: '10.78.0.100', end: '10.78.0.200'}, ipv6Ra: true}))
    assert.ok(l.includes('dhcp-range=10.78.0.100,10.78.0.200,1h'))
    assert.ok(!l.some((x) => x.endsWith(',proxy')))
    assert.ok(l.includes('dhcp-match=set:efi64,option:client-arch,7'))
    assert.ok(l.includes('dhcp-match=set:efi64,option:client-arch,9'))
    assert.ok(l.includes('dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe'))
    assert.ok(l.includes('dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi'))
    assert.ok(l.includes('dhcp-boot=tag:ipxe,http://10.78.0.1:8067/boot.ipxe'))
    assert.ok(l.includes('enable-ra') && l.includes('dhcp-range=::,constructor:br0,ra-only'))
    assert.ok(l.includes('dhcp-leasefile=/run/x/leases') && l.includes('pid-file=/run/x/pid') && l.includes('tftp-root=/run/x/tftp'))
  })
  it('parses and checks --dhcp-range', () => {
    assert.deepEqual(parseDhcpRange('10.78.0.100,10.78.0.200', {address: '10.78.0.1', prefix: 24}), {start: '10.78.0.100', end: '10.78.0.200'})
    assert.throws(() => parseDhcpRange('10.78.0.100'), /expected START,END/)
    assert.throws(() => parseDhcpRange('10.78.0.200,10.78.0.100'), /after end/)
    assert.throws(() => parseDhcpRange('10.78.0.100,10.79.0.5', {address: '10.78.0.1', prefix: 24}), /outside the interface's network 10.78.0.0\/24/)
    assert.throws(() => parseDhcpRange('10.78.0.1,10.78.0.9', {address: '10.78.0.5', prefix: 24}), /server's own address/)
    assert.throws(() => parseDhcpRange('a,b'), /not an IPv4 address/)
    assert.equal(networkOf('192.168.7.77', 20), '192.168.0.0')
  })
})

describe('pxe: boot.ipxe', () => {
  it('names the initrd on the kernel line (UEFI iPXE needs it) and passes server and policy', () => {
    const s = renderBootScript({baseUrl: 'http://10.78.0.1:8067', policy: 'wait'})
    assert.match(s, /^#!ipxe\n/)
    assert.match(s, /^kernel http:\/\/10\.78\.0\.1:8067\/vmlinuz initrd=initrd\.gz .*metalplane\.server=http:\/\/10\.78\.0\.1:8067 metalplane\.policy=wait/m)
    assert.match(s, /^initrd http:\/\/10\.78\.0\.1:8067\/initrd\.gz/m)
    assert.match(s, /^boot/m)
    assert.match(kernelCmdline('http://s', 'poweroff', 'x=1'), /metalplane\.policy=poweroff x=1$/)
  })
})
