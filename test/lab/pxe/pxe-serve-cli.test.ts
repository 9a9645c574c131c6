/**
 * `metalplane pxe serve` as a user runs it, inside a network namespace of the test's own:
 * one BIOS VM boots and reports, --exit-after ends the run with the report in --json and the
 * machine in the inventory store; Ctrl-C (SIGINT) stops dnsmasq and leaves nothing behind; a
 * second service whose HTTP port is taken fails cleanly; a missing interface is bad input. Needs root.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {buildImage, type BootImage} from '../../../src/image/build.js'
import {SqliteStore} from '../../../src/inventory/sqlite-store.js'
import {createPxeNet, startVm, type PxeNet, type VmHandle} from '../../../src/lab/qemu.js'

const repoRoot = new URL('../../..', import.meta.url).pathname
const NETNS = `mpp-cli-${process.pid}`

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
/** The run dir the service logged (other runs may have their own at the same time). */
const runDirOf = (log: string): string => /run dir (\S+)/.exec(log)?.[1] ?? ''

interface Running {
  pid: number
  stderr: () => string
  done: Promise<{code: number | null; stdout: string; stderr: string}>
}

describe('pxe serve command in a network namespace', function () {
  this.timeout(300_000)
  let dir: string
  let ownCache = false
  let image: BootImage
  let net: PxeNet | undefined
  const procs: Running[] = []
  const vms: VmHandle[] = []

  function serve(args: string[]): Running {
    const child = spawn('ip', ['netns', 'exec', NETNS, process.execPath, '--import', 'tsx', join(repoRoot, 'test/lab/bmc/run-src.ts'), 'pxe', 'serve', ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {...process.env, NO_COLOR: '1', METALPLANE_STATE_DIR: join(dir, 'state')},
    })
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (d) => (stdout += d.toString()))
    child.stderr!.on('data', (d) => (stderr += d.toString()))
    const r: Running = {pid: child.pid!, stderr: () => stderr, done: new Promise((res) => child.on('exit', (code) => res({code, stdout, stderr})))}
    procs.push(r)
    return r
  }
  async function until(what: string, fn: () => boolean, ms = 60_000): Promise<void> {
    const end = Date.now() + ms
    while (!fn()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  before(async function () {
    if (process.getuid?.() !== 0) this.skip()
    dir = mkdtempSync(join(tmpdir(), 'mp-pxe-cli-'))
    // Set only for this file and unset in after(): a later file must not write into this (removed) dir.
    ownCache = !process.env.METALPLANE_CACHE_DIR
    if (ownCache) process.env.METALPLANE_CACHE_DIR = join(dir, 'cache')
    image = await buildImage()
    net = await createPxeNet({netns: NETNS, ipv4: '10.78.0.1/24', ipv6: 'fd78::1/64'})
    await net.addTap('tap0')
  })
  // Each test ends its own services; a failed one must not leave a dnsmasq holding the interface.
  afterEach(async () => {
    await Promise.all(vms.map((v) => v.stop()))
    for (const p of procs)
      if (alive(p.pid)) {
        process.kill(p.pid, 'SIGTERM')
        await Promise.race([p.done, new Promise((r) => setTimeout(r, 10_000))])
        if (alive(p.pid)) process.kill(p.pid, 'SIGKILL')
      }
  })
  after(async () => {
    await Promise.all(vms.map((v) => v.stop()))
    for (const p of procs) if (alive(p.pid)) process.kill(p.pid, 'SIGKILL')
    await net?.destroy()
    if (ownCache) delete process.env.METALPLANE_CACHE_DIR
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  const common = () => ['--interface', 'br0', '--dhcp-range', '10.78.0.100,10.78.0.200', '--kernel', image.kernel, '--initrd', image.initrd, '--store', join(dir, 'inv.db'), '--ipv6-ra', '--http-port', '0']

  it('boots a VM into discovery, stores it, and stops after --exit-after reports with them in --json', async () => {
    const p = serve([...common(), '--exit-after', '1', '--json', '--log-level', 'debug'])
    await until('the service to start', () => /PXE service on br0/.test(p.stderr()))
    const mac = '52:54:00:78:01:01'
    vms.push(await startVm({name: 'mpp-cli-bios', netns: NETNS, tap: 'tap0', mac, firmware: 'bios', nvme: [{serial: 'CLISERIAL', sizeBytes: 32 * 2 ** 20}], memoryMb: 512, cpus: 1}))
    const r = await Promise.race([p.done, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('no report within 240 s')), 240_000))])
    assert.equal(r.code, 0, r.stderr)
    const json = JSON.parse(r.stdout)
    assert.equal(json.mode, 'dhcp')
    assert.equal(json.stoppedBy, 'exit-after')
    assert.equal(json.reports.length, 1)
    assert.deepEqual(json.reports[0].macs, [mac])
    assert.equal(json.reports[0].created, true)
    const store = new SqliteStore(join(dir, 'inv.db'))
    try {
      const m = await store.get(mac)
      assert.equal(m?.hardware.disks[0]?.serial, 'CLISERIAL')
    } finally {
      await store.close()
    }
    const dpid = Number(/dnsmasq pid (\d+)/.exec(r.stderr)?.[1])
    assert.ok(dpid > 0 && !alive(dpid), 'dnsmasq stopped')
    const rd = runDirOf(r.stderr)
    assert.ok(rd.includes('metalplane-pxe-'), r.stderr)
    assert.equal(existsSync(rd), false, 'no run dir left')
  })

  it('Ctrl-C (SIGINT) stops dnsmasq by its pid and removes its files; exit 0 with the (empty) report list', async () => {
    const p = serve([...common(), '--json', '--log-level', 'debug'])
    await until('the service to start', () => /PXE service on br0/.test(p.stderr()))
    const dpid = Number(/dnsmasq pid (\d+)/.exec(p.stderr())?.[1])
    const rd = runDirOf(p.stderr())
    assert.ok(alive(dpid))
    assert.ok(existsSync(join(rd, 'dnsmasq.conf')) && existsSync(join(rd, 'tftp', 'undionly.kpxe')))
    process.kill(p.pid, 'SIGINT')
    const r = await p.done
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout).reports, [])
    assert.equal(alive(dpid), false)
    assert.equal(existsSync(rd), false)
  })

  it('a second service whose HTTP port is taken fails (exit 1), starts no dnsmasq and leaves nothing behind', async () => {
    const args = [...common().slice(0, -2), '--http-port', '18067', '--json', '--log-level', 'debug']
    const first = serve(args)
    await until('the first service to start', () => /PXE service on br0/.test(first.stderr()))
    const second = await serve(args).done
    assert.equal(second.code, 1, second.stderr)
    assert.match(JSON.parse(second.stdout).error.message, /cannot listen on 10\.78\.0\.1:18067/)
    assert.doesNotMatch(second.stderr, /dnsmasq pid/)
    const rd = runDirOf(first.stderr())
    assert.ok(existsSync(rd))
    process.kill(first.pid, 'SIGTERM')
    assert.equal((await first.done).code, 0)
    assert.equal(existsSync(rd), false)
  })

  it('a missing interface is bad input (exit 2) naming --interface', async () => {
    const r = await serve(['--interface', 'nosuch0', '--kernel', image.kernel, '--initrd', image.initrd, '--store', join(dir, 'inv.db'), '--json']).done
    assert.equal(r.code, 2)
    const err = JSON.parse(r.stdout).error
    assert.equal(err.issues[0].path, '--interface')
  })
})
