/**
 * End to end through a BMC: ipmi_sim's chassis power drives a real qemu VM (power on starts
 * it, power off stops it, the VM powering itself off reads back as off), the VM PXE-boots the
 * discovery image from the PXE service in a network namespace, and `inventory discover`
 * waits for its report in the inventory. Needs root, qemu, dnsmasq and the discovery image
 * (built from Debian packages into the cache on first use).
 */
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {buildImage} from '../../../src/image/build.js'
import {createPxeNet, startVm, type PxeNet, type VmHandle} from '../../../src/lab/qemu.js'
import {mp, repoRoot, type Run} from './cli.js'
import {startIpmiSim, type IpmiSim} from './ipmi-sim.js'

const PASSWORD = 'E2e-ipmi-2207'
const NETNS = `mpb-e2e-${process.pid}`
const MAC = '52:54:00:79:00:01'
const MiB = 2 ** 20

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Like mp() but without blocking the event loop (the power bridge must keep running). */
function mpAsync(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['--import', 'tsx', `${repoRoot}/test/lab/bmc/run-src.ts`, ...args], {cwd: repoRoot, env: {...process.env, NO_COLOR: '1', ...env}, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    c.stdout.on('data', (d) => (stdout += d))
    c.stderr.on('data', (d) => (stderr += d))
    c.on('exit', (code) => {
      let json: unknown
      try {
        json = args.includes('--json') ? JSON.parse(stdout) : undefined
      } catch {
        json = undefined
      }
      resolve({code: code ?? -1, stdout, stderr, json})
    })
  })
}

describe('BMC power drives a qemu VM that PXE-boots and reports (inventory discover end to end)', function () {
  this.timeout(600_000)
  let dir: string
  let env: Record<string, string>
  let net: PxeNet | undefined
  let child: ChildProcess | undefined
  let dnsmasqPid: number | undefined
  let sim: IpmiSim | undefined
  let vm: VmHandle | undefined
  let bridge: NodeJS.Timeout | undefined
  const vmStarts: number[] = []

  before(async function () {
    if (process.getuid?.() !== 0) this.skip()
    for (const f of ['/usr/sbin/dnsmasq', '/usr/bin/qemu-system-x86_64', '/usr/bin/ipmi_sim', '/usr/bin/ipmitool']) if (!existsSync(f)) this.skip()
    dir = mkdtempSync(join(tmpdir(), 'mp-bmc-e2e-'))
    env = {METALPLANE_STATE_DIR: join(dir, 'state')}
    const image = await buildImage()
    net = await createPxeNet({netns: NETNS, ipv4: '10.79.0.1/24', ipv6: 'fd79::1/64'})
    await net.addTap('tapm1')
    const db = join(dir, 'state', 'inventory.db')
    child = spawn('ip', ['netns', 'exec', NETNS, process.execPath, '--import', 'tsx', join(repoRoot, 'test/lab/pxe/serve-child.ts'), net.bridge, '10.79.0.100,10.79.0.200', image.kernel, image.initrd, db, 'ipv6ra'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {...process.env, PXE_LOG_LEVEL: 'warn'},
    })
    let log = ''
    child.stderr!.on('data', (d) => (log += d))
    let ready = false
    createInterface({input: child.stdout!}).on('line', (line) => {
      try {
        const e = JSON.parse(line) as {event: string; dnsmasqPid?: number}
        if (e.event === 'ready') {
          ready = true
          dnsmasqPid = e.dnsmasqPid
        }
      } catch {
        /* not an event line */
      }
    })
    const t0 = Date.now()
    while (!ready) {
      if (child.exitCode !== null || Date.now() - t0 > 60_000) throw new Error(`PXE service did not start: ${log}`)
      await new Promise((r) => setTimeout(r, 100))
    }

    sim = await startIpmiSim({dir: join(dir, 'sim'), password: PASSWORD, host: '127.0.0.21'})
    const powerFile = join(sim.dir, 'power')
    // The chassis: `set power 1` starts the VM, `set power 0` stops it; a guest poweroff reads back as off.
    let seen = 0
    let busy = false
    bridge = setInterval(async () => {
      if (busy) return
      busy = true
      try {
        const calls = sim!.calls()
        for (const c of calls.slice(seen)) {
          if (c === 'set power 1' && !vm) {
            const v = await startVm({name: 'mpb-m1', netns: NETNS, tap: 'tapm1', mac: MAC, firmware: 'bios', memoryMb: 512, nvme: [{serial: 'E2EBOOT1', sizeBytes: 32 * MiB}, {serial: 'E2EDATA1', sizeBytes: 96 * MiB}]})
            vm = v
            vmStarts.push(Date.now())
            writeFileSync(powerFile, '1\n')
            void v.exited.then(() => {
              if (vm === v) vm = undefined
              writeFileSync(powerFile, '0\n')
            })
          } else if (c === 'set power 0' && vm) {
            const v = vm
            vm = undefined
            await v.stop()
          }
        }
        seen = calls.length
      } finally {
        busy = false
      }
    }, 100)
    const r = mp(['bmc', 'add', 'm1', '--address', sim.host, '--port', String(sim.port), '--user', 'admin'], {...env, METALPLANE_BMC_PASSWORD: PASSWORD})
    assert.equal(r.code, 0, r.stderr)
  })

  after(async () => {
    if (bridge) clearInterval(bridge)
    await vm?.stop()
    if (child?.pid && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r))
      process.kill(child.pid, 'SIGTERM')
      const t = setTimeout(() => child?.pid && alive(child.pid) && process.kill(child.pid, 'SIGKILL'), 10_000)
      await exited
      clearTimeout(t)
    }
    if (dnsmasqPid && alive(dnsmasqPid)) process.kill(dnsmasqPid, 'SIGKILL')
    await net?.destroy()
    await sim?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('discover sets PXE, powers the VM on, gets its report; export uses its NVMe data disk and reported address', async () => {
    const r = await mpAsync(['inventory', 'discover', '--bmc', 'm1', '--timeout', '240s', '--poll', '500ms', '--json'], env)
    assert.equal(r.code, 0, r.stderr + r.stdout)
    const res = r.json as {bmcs: {bmc: string; status: string; machine: {id: string; address: string}}[]}
    assert.equal(res.bmcs[0].status, 'reported')
    assert.match(res.bmcs[0].machine.address, /^10\.79\.0\.(1\d\d|200)$/)
    assert.equal(vmStarts.length, 1, 'powered on once')
    const calls = sim!.calls()
    assert.ok(calls.indexOf('set boot pxe') >= 0 && calls.indexOf('set boot pxe') < calls.indexOf('set power 1'), calls.join('|'))
    const show = mp(['inventory', 'show', res.bmcs[0].machine.id, '--json'], env)
    assert.deepEqual(show.json.machine.hardware.nics.map((n: {mac: string}) => n.mac), [MAC])
    assert.deepEqual(show.json.machine.hardware.disks.map((d: {serial: string}) => d.serial).sort(), ['E2EBOOT1', 'E2EDATA1'])
    const exp = mp(['inventory', 'export', '--controllers', '1', '--json'], env)
    assert.equal(exp.code, 0, exp.stderr)
    assert.equal(exp.json.hosts[0].address, res.bmcs[0].machine.address)
    assert.equal(exp.json.hosts[0].localVolumes.length, 1)
    assert.match(exp.json.hosts[0].localVolumes[0].disk, /^\/dev\/disk\/by-id\/nvme-.+_E2EDATA1$/)
    // The agent powers the VM off after reporting: the BMC reads it back as off.
    const t0 = Date.now()
    for (;;) {
      const s = await mpAsync(['bmc', 'power', 'status', 'm1', '--json'], env)
      if ((s.json as {power: string}).power === 'off') break
      if (Date.now() - t0 > 90_000) assert.fail('the VM did not power off after reporting')
      await new Promise((res2) => setTimeout(res2, 1000))
    }
  })
})
