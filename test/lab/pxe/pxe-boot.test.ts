/**
 * PXE boot of real VMs into the discovery image, on real parts: a network namespace with a
 * bridge, dnsmasq (full DHCP + TFTP) started by the PXE service library inside it, iPXE from
 * qemu's NIC ROM, the Debian cloud kernel, the busybox initramfs and its agent, and the SQLite
 * inventory store as the sink. One BIOS VM and one UEFI (OVMF) VM. Needs root.
 */
import assert from 'node:assert/strict'
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {buildImage, type BootImage} from '../../../src/image/build.js'
import {createPxeNet, startVm, type PxeNet, type VmHandle} from '../../../src/lab/qemu.js'

const repoRoot = new URL('../../..', import.meta.url).pathname
const NETNS = `mpp-boot-${process.pid}`
const MiB = 2 ** 20

interface ChildEvent {
  event: string
  [k: string]: unknown
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('pxe: BIOS and UEFI VMs network-boot the discovery image and report', function () {
  this.timeout(600_000)
  let dir: string
  let ownCache = false
  let image: BootImage
  let net: PxeNet | undefined
  let child: ChildProcess | undefined
  const events: ChildEvent[] = []
  const vms: VmHandle[] = []
  let ready: ChildEvent

  before(async function () {
    if (process.getuid?.() !== 0) this.skip()
    for (const f of ['/usr/sbin/dnsmasq', '/usr/bin/qemu-system-x86_64', '/usr/share/OVMF/OVMF_CODE.fd', '/usr/lib/ipxe/undionly.kpxe']) assert.ok(existsSync(f), `${f} is needed`)
    dir = mkdtempSync(join(tmpdir(), 'mp-pxe-lab-'))
    // The image cache may be shared through METALPLANE_CACHE_DIR (it is keyed by the hash of its inputs).
    // Set only for this file and unset in after(): a later file must not write into this (removed) dir.
    ownCache = !process.env.METALPLANE_CACHE_DIR
    if (ownCache) process.env.METALPLANE_CACHE_DIR = join(dir, 'cache')
    image = await buildImage()
    net = await createPxeNet({netns: NETNS, ipv4: '10.78.0.1/24', ipv6: 'fd78::1/64'})
    await net.addTap('tapbios')
    await net.addTap('tapuefi')
    child = spawn('ip', ['netns', 'exec', NETNS, process.execPath, '--import', 'tsx', join(repoRoot, 'test/lab/pxe/serve-child.ts'), net.bridge, '10.78.0.100,10.78.0.200', image.kernel, image.initrd, join(dir, 'inventory.db'), 'ipv6ra'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {...process.env, PXE_LOG_LEVEL: 'info'},
    })
    let log = ''
    child.stderr!.on('data', (d) => (log += d.toString()))
    createInterface({input: child.stdout!}).on('line', (line) => {
      try {
        events.push(JSON.parse(line) as ChildEvent)
      } catch {
        /* not ours */
      }
    })
    const t0 = Date.now()
    while (!events.some((e) => e.event === 'ready')) {
      if (child.exitCode !== null || Date.now() - t0 > 60_000) throw new Error(`PXE service did not start: ${log}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    ready = events.find((e) => e.event === 'ready')!
  })

  after(async () => {
    await Promise.all(vms.map((v) => v.stop()))
    if (child?.pid && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r))
      process.kill(child.pid, 'SIGTERM')
      const t = setTimeout(() => child?.pid && alive(child.pid) && process.kill(child.pid, 'SIGKILL'), 10_000)
      await exited
      clearTimeout(t)
    }
    // dnsmasq is the service's child: make sure it is gone even if the service was killed.
    const dpid = ready?.dnsmasqPid as number | undefined
    if (dpid && alive(dpid)) process.kill(dpid, 'SIGKILL')
    await net?.destroy()
    if (ownCache) delete process.env.METALPLANE_CACHE_DIR
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  async function reportFor(mac: string, ms: number): Promise<ChildEvent> {
    const t0 = Date.now()
    for (;;) {
      const e = events.find((x) => x.event === 'report' && (x.macs as string[]).includes(mac))
      if (e) return e
      if (Date.now() - t0 > ms) throw new Error(`no report from ${mac} within ${ms / 1000} s`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  it('both VMs report the right MAC, NVMe serial and size, memory and CPU count, then power off', async () => {
    const specs = [
      {name: 'mpp-bios', tap: 'tapbios', mac: '52:54:00:78:00:0b', firmware: 'bios' as const, serial: 'KNOWNSERIALBIOS', size: 96 * MiB, cpus: 2},
      {name: 'mpp-uefi', tap: 'tapuefi', mac: '52:54:00:78:00:0e', firmware: 'uefi' as const, serial: 'KNOWNSERIALUEFI', size: 80 * MiB, cpus: 1},
    ]
    for (const s of specs)
      vms.push(await startVm({name: s.name, netns: NETNS, tap: s.tap, mac: s.mac, firmware: s.firmware, nvme: [{serial: s.serial, sizeBytes: s.size}], memoryMb: 512, cpus: s.cpus}))
    const seconds: Record<string, number> = {}
    for (const [i, s] of specs.entries()) {
      const ev = await reportFor(s.mac, 240_000)
      seconds[s.firmware] = ((ev.at as number) - vms[i].startedAt) / 1000
      const r = ev.report as {
        nics: {mac: string; driver?: string}[]
        disks: {name: string; type?: string; serial?: string; sizeBytes: number}[]
        memory: {totalBytes: number}
        cpu: {threads: number; cores: number}
        bootMode: string
        agent: {policy: string}
      }
      assert.deepEqual(r.nics.map((n) => [n.mac, n.driver]), [[s.mac, 'virtio_net']], s.name)
      const nvme = r.disks.filter((d) => d.type === 'nvme')
      assert.deepEqual(nvme.map((d) => [d.serial, d.sizeBytes]), [[s.serial, s.size]], s.name)
      assert.ok(r.memory.totalBytes > 400 * MiB && r.memory.totalBytes <= 512 * MiB, `${s.name} memory ${r.memory.totalBytes}`)
      assert.equal(r.cpu.threads, s.cpus, s.name)
      assert.equal(r.bootMode, s.firmware, s.name)
      assert.equal(r.agent.policy, 'poweroff')
      // the inventory store behind the sink holds the machine
      const m = ev.machine as {id: string; address?: string; hardware: {disks: {serial?: string}[]; nics: {mac: string}[]}}
      assert.equal(m.id, ev.id)
      assert.deepEqual(m.hardware.nics.map((n) => n.mac), [s.mac])
      assert.ok(m.hardware.disks.some((d) => d.serial === s.serial))
      assert.match(String(m.address), /^10\.78\.0\.(1\d\d|200)$/)
    }
    // policy poweroff: both guests power off on their own
    const codes = await Promise.all(vms.map((v) => Promise.race([v.exited, new Promise((r) => setTimeout(() => r('still running'), 60_000))])))
    assert.deepEqual(codes, [0, 0])
    console.log(`      boot to report: BIOS ${seconds.bios.toFixed(1)} s, UEFI ${seconds.uefi.toFixed(1)} s (TCG, two VMs at once)`)
  })

  it('DHCP hands firmware PXE clients the iPXE build for their architecture (option 93), served over TFTP', async () => {
    // A plain DHCP client on the bridge plays the firmware: no iPXE user class, client-arch 0 (BIOS) or 7 (x86-64 UEFI).
    const ip = (...a: string[]) => execFileSync('ip', ['-n', NETNS, ...a], {stdio: 'pipe'})
    ip('link', 'add', 'vfw', 'type', 'veth', 'peer', 'name', 'vfwbr')
    ip('link', 'set', 'vfwbr', 'master', net!.bridge, 'up')
    ip('link', 'set', 'vfw', 'address', '52:54:00:78:00:fa', 'up')
    const script = join(dir, 'udhcpc.sh')
    writeFileSync(script, `#!/bin/sh\n[ "$1" = bound ] && env > "${join(dir, 'dhcp-env')}.$ARCH"\nexit 0\n`)
    chmodSync(script, 0o755)
    const nsx = (args: string[], env: Record<string, string> = {}) => execFileSync('ip', ['netns', 'exec', NETNS, ...args], {stdio: 'pipe', env: {...process.env, ...env}, timeout: 30_000})
    for (const [arch, hex, file] of [['bios', '0000', 'undionly.kpxe'], ['uefi', '0007', 'ipxe.efi']] as const) {
      nsx(['/bin/busybox', 'udhcpc', '-i', 'vfw', '-n', '-q', '-t', '5', '-T', '2', '-s', script, '-x', `0x5d:${hex}`], {ARCH: arch})
      const env = readFileSync(`${join(dir, 'dhcp-env')}.${arch}`, 'utf8')
      assert.match(env, new RegExp(`^boot_file=${file.replace('.', '\\.')}$`, 'm'), `${arch}: ${env}`)
      assert.match(env, /^siaddr=10\.78\.0\.1$/m)
      const got = join(dir, `tftp-${file}`)
      nsx(['/bin/busybox', 'tftp', '-g', '-r', file, '-l', got, '10.78.0.1'])
      assert.ok(readFileSync(got).equals(readFileSync(`/usr/lib/ipxe/${file}`)), `${file} over TFTP matches the ipxe package`)
    }
    ip('link', 'del', 'vfw')
  })

  it('stopping the service stops dnsmasq by its pid and removes its run dir (config, leases, pid file)', async () => {
    const runDir = ready.runDir as string
    const dpid = ready.dnsmasqPid as number
    assert.ok(existsSync(join(runDir, 'dnsmasq.leases')), 'leases live in the run dir')
    assert.match(readFileSync(join(runDir, 'dnsmasq.pid'), 'utf8'), new RegExp(`^${dpid}\\b`))
    const exited = new Promise<number | null>((r) => child!.once('exit', (c) => r(c)))
    process.kill(child!.pid!, 'SIGTERM')
    assert.equal(await exited, 0)
    assert.ok(events.some((e) => e.event === 'stopped'))
    assert.equal(alive(dpid), false, 'dnsmasq is gone')
    assert.equal(existsSync(runDir), false, 'run dir removed')
  })
})
