/**
 * proxyDHCP beside an existing DHCP server: a busybox udhcpd in a second network namespace
 * (joined to the bridge by a veth) hands out addresses; the PXE service runs in proxy mode and
 * only adds the boot file. A BIOS VM must boot into discovery and report. Needs root.
 */
import assert from 'node:assert/strict'
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {buildImage, type BootImage} from '../../../src/image/build.js'
import {createPxeNet, startVm, type PxeNet, type VmHandle} from '../../../src/lab/qemu.js'

const repoRoot = new URL('../../..', import.meta.url).pathname
const NETNS = `mpp-proxy-${process.pid}`
const DHCPNS = `mpp-dhcp-${process.pid}`

function stopChild(c: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!c?.pid || c.exitCode !== null || c.signalCode !== null) return Promise.resolve()
  const exited = new Promise<void>((r) => c.once('exit', () => r()))
  process.kill(c.pid, signal)
  const t = setTimeout(() => c.pid && c.exitCode === null && process.kill(c.pid, 'SIGKILL'), 10_000)
  return exited.finally(() => clearTimeout(t))
}

describe('pxe: proxyDHCP beside an existing DHCP server', function () {
  this.timeout(300_000)
  let dir: string
  let ownCache = false
  let image: BootImage
  let net: PxeNet | undefined
  let dhcpd: ChildProcess | undefined
  let svc: ChildProcess | undefined
  let vm: VmHandle | undefined
  let dhcpnsMade = false
  const events: {event: string; [k: string]: unknown}[] = []
  let svcLog = ''

  before(async function () {
    if (process.getuid?.() !== 0) this.skip()
    dir = mkdtempSync(join(tmpdir(), 'mp-pxe-proxy-'))
    // Set only for this file and unset in after(): a later file must not write into this (removed) dir.
    ownCache = !process.env.METALPLANE_CACHE_DIR
    if (ownCache) process.env.METALPLANE_CACHE_DIR = join(dir, 'cache')
    image = await buildImage()
    net = await createPxeNet({netns: NETNS, ipv4: '10.78.0.1/24', ipv6: 'fd78::1/64'})
    await net.addTap('tap0')
    // The network's own DHCP server, in its own namespace, on the same L2 segment.
    const ip = (...a: string[]) => execFileSync('ip', a, {stdio: 'pipe'})
    ip('netns', 'add', DHCPNS)
    dhcpnsMade = true
    ip('-n', NETNS, 'link', 'add', 'vdhcp', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', DHCPNS)
    ip('-n', NETNS, 'link', 'set', 'vdhcp', 'master', net.bridge, 'up')
    ip('-n', DHCPNS, 'addr', 'add', '10.78.0.2/24', 'dev', 'eth0')
    ip('-n', DHCPNS, 'link', 'set', 'eth0', 'up')
    ip('-n', DHCPNS, 'link', 'set', 'lo', 'up')
    writeFileSync(
      join(dir, 'udhcpd.conf'),
      `start 10.78.0.50\nend 10.78.0.60\ninterface eth0\nlease_file ${join(dir, 'udhcpd.leases')}\npidfile ${join(dir, 'udhcpd.pid')}\noption subnet 255.255.255.0\noption lease 600\n`,
    )
    writeFileSync(join(dir, 'udhcpd.leases'), '')
    dhcpd = spawn('ip', ['netns', 'exec', DHCPNS, '/bin/busybox', 'udhcpd', '-f', join(dir, 'udhcpd.conf')], {stdio: 'ignore'})
    svc = spawn('ip', ['netns', 'exec', NETNS, process.execPath, '--import', 'tsx', join(repoRoot, 'test/lab/pxe/serve-child.ts'), net.bridge, 'proxy', image.kernel, image.initrd, join(dir, 'inventory.db'), 'ipv6ra'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {...process.env, PXE_LOG_LEVEL: 'debug'},
    })
    svc.stderr!.on('data', (d) => (svcLog += d.toString()))
    createInterface({input: svc.stdout!}).on('line', (l) => events.push(JSON.parse(l)))
    const t0 = Date.now()
    while (!events.some((e) => e.event === 'ready')) {
      if (svc.exitCode !== null || Date.now() - t0 > 60_000) throw new Error(`PXE service did not start: ${svcLog}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  })
  after(async () => {
    await vm?.stop()
    await stopChild(svc)
    await stopChild(dhcpd)
    await net?.destroy()
    if (dhcpnsMade) execFileSync('ip', ['netns', 'del', DHCPNS])
    if (ownCache) delete process.env.METALPLANE_CACHE_DIR
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('the VM gets its address from the other DHCP server and the boot file from us, then reports', async () => {
    assert.equal(events.find((e) => e.event === 'ready')?.mode, 'proxy')
    const mac = '52:54:00:78:02:01'
    vm = await startVm({name: 'mpp-proxy-bios', netns: NETNS, tap: 'tap0', mac, firmware: 'bios', nvme: [{serial: 'PROXYSERIAL', sizeBytes: 32 * 2 ** 20}], memoryMb: 512, cpus: 1})
    const t0 = Date.now()
    let ev
    while (!(ev = events.find((e) => e.event === 'report'))) {
      if (Date.now() - t0 > 240_000) throw new Error(`no report within 240 s; service log:\n${svcLog.split('\n').slice(-30).join('\n')}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    const r = ev.report as {ip: string; nics: {mac: string}[]; disks: {serial?: string}[]}
    assert.deepEqual(r.nics.map((n) => n.mac), [mac])
    assert.match(r.ip, /^10\.78\.0\.(5\d|60)$/, 'address from the network DHCP server, not from us')
    assert.ok(r.disks.some((d) => d.serial === 'PROXYSERIAL'))
    assert.match(svcLog, /proxy/i)
    console.log(`      proxyDHCP boot to report: ${(((ev.at as number) - vm.startedAt) / 1000).toFixed(1)} s`)
  })
})
