#!/usr/bin/env node
// PXE discovery: power-on to inventory record, for 1 VM and for 3 VMs in parallel, against the
// raw boot of the same VM (qemu -kernel/-initrd with the same discovery kernel, initramfs and
// agent, posting to the same server) measured in the same run. The difference is what network
// boot (firmware PXE, DHCP, iPXE, boot.ipxe, HTTP download of kernel+initrd) adds.
// Usage (root, after `npm run build`): node bench/pxe.mjs [runs=1] [bios|uefi]
// Creates network namespace mpp-bench-<pid> (10.78.0.0/24, fd78::1/64) and removes it at the end.
import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {median} from './lib.mjs'

const runs = Number(process.argv[2] ?? 1)
const firmware = process.argv[3] ?? 'bios'
if (process.getuid() !== 0) {
  console.error('bench/pxe.mjs needs root (network namespace, taps, DHCP)')
  process.exit(6)
}
const dist = new URL('../dist/', import.meta.url)
const {buildImage} = await import(new URL('image/build.js', dist))
const {createPxeNet, startVm} = await import(new URL('lab/qemu.js', dist))
const {kernelCmdline} = await import(new URL('pxe/config.js', dist))

const NETNS = `mpp-bench-${process.pid}`
const dir = mkdtempSync(join(tmpdir(), 'mp-bench-pxe-'))
const image = await buildImage({log: (m) => console.error(m)})
let net
let child
const vms = new Set()
const events = []
const cleanup = async () => {
  await Promise.all([...vms].map((v) => v.stop()))
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r))
    process.kill(child.pid, 'SIGTERM')
    await exited
  }
  await net?.destroy()
  rmSync(dir, {recursive: true, force: true})
}
process.on('SIGINT', () => cleanup().then(() => process.exit(130)))

try {
  net = await createPxeNet({netns: NETNS, ipv4: '10.78.0.1/24', ipv6: 'fd78::1/64'})
  for (let i = 0; i < 3; i++) await net.addTap(`tap${i}`)
  child = spawn('ip', ['netns', 'exec', NETNS, process.execPath, new URL('pxe-serve.mjs', import.meta.url).pathname, net.bridge, '10.78.0.100,10.78.0.250', image.kernel, image.initrd, join(dir, 'inventory.db')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  createInterface({input: child.stdout}).on('line', (l) => events.push(JSON.parse(l)))
  const t0 = Date.now()
  while (!events.some((e) => e.event === 'ready')) {
    if (child.exitCode !== null || Date.now() - t0 > 30_000) throw new Error('the PXE service did not start')
    await new Promise((r) => setTimeout(r, 50))
  }
  const baseUrl = events.find((e) => e.event === 'ready').baseUrl
  let seq = 0

  /** Boots n VMs at once; returns seconds from each qemu start to its report, and when the last arrived. */
  async function round(n, mode) {
    const started = []
    for (let i = 0; i < n; i++) {
      seq++
      const mac = `52:54:00:78:${(seq >> 8).toString(16).padStart(2, '0')}:${(seq & 255).toString(16).padStart(2, '0')}`
      const opts = {name: `mpp-b${seq}`, netns: NETNS, tap: `tap${i}`, mac, firmware, nvme: [{serial: `BENCH${seq}`, sizeBytes: 64 * 2 ** 20}], memoryMb: 512, cpus: 1, consoleLog: join(dir, `mpp-b${seq}.log`)}
      if (mode === 'raw') Object.assign(opts, {kernel: image.kernel, initrd: image.initrd, append: kernelCmdline(baseUrl, 'poweroff')})
      const vm = await startVm(opts)
      vms.add(vm)
      started.push({vm, mac})
    }
    const secs = []
    for (const {vm, mac} of started) {
      const deadline = Date.now() + 300_000
      let ev
      while (!(ev = events.find((e) => e.event === 'report' && e.macs.includes(mac)))) {
        if (Date.now() > deadline) {
          const tail = readFileSync(join(dir, `${vm.name}.log`), 'utf8').split('\n').slice(-15).join('\n')
          throw new Error(`no report from ${mac} (${mode}) within 300 s; console:\n${tail}`)
        }
        await new Promise((r) => setTimeout(r, 50))
      }
      secs.push((ev.at - vm.startedAt) / 1000)
    }
    for (const {vm} of started) {
      await Promise.race([vm.exited, new Promise((r) => setTimeout(r, 30_000))])
      await vm.stop()
      vms.delete(vm)
    }
    const first = Math.min(...started.map((s) => s.vm.startedAt))
    const lastReport = Math.max(...started.map((s, i) => s.vm.startedAt + secs[i] * 1000))
    return {each: secs, all: (lastReport - first) / 1000}
  }

  const res = {pxe1: [], raw1: [], pxe3: [], raw3: []}
  for (let r = 0; r < runs; r++) {
    res.raw1.push((await round(1, 'raw')).all)
    res.pxe1.push((await round(1, 'pxe')).all)
    res.raw3.push((await round(3, 'raw')).all)
    res.pxe3.push((await round(3, 'pxe')).all)
  }
  const m = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, median(v)]))
  console.log(`\nPXE discovery, ${firmware.toUpperCase()}, qemu TCG -m 512, median of ${runs} (power-on to inventory record)`)
  const row = (label, pxe, raw) => console.log(`  ${label.padEnd(18)} PXE ${pxe.toFixed(1)} s   raw boot ${raw.toFixed(1)} s   overhead ${(pxe - raw).toFixed(1)} s (${(pxe / raw).toFixed(2)}x raw)`)
  row('1 VM', m.pxe1, m.raw1)
  row('3 VMs in parallel', m.pxe3, m.raw3)
  if (process.env.BENCH_JSON) console.log(JSON.stringify({bench: 'pxe', firmware, runs, medians: m, samples: res}))
} finally {
  await cleanup()
}
