import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {buildImage, parseBuiltin, parseModulesDep, resolveModules} from '../../../src/image/build.js'
import {hasGpu, parseReport} from '../../../src/inventory/hardware.js'
import {DiscoveryReport} from '../../../src/inventory/report.js'
import {acceleratorName, isAccelerator} from '../../../src/inventory/pci-ids.js'
import {enrichReport} from '../../../src/pxe/http.js'
import {render} from '../../../src/render/index.js'

const fixtures = new URL('../../fixtures/gpu/', import.meta.url).pathname
const BUSYBOX = '/bin/busybox'

function put(root: string, rel: string, text: string): void {
  mkdirSync(dirname(join(root, rel)), {recursive: true})
  writeFileSync(join(root, rel), text)
}

/** Runs the rendered agent with busybox sh against a sysfs/proc tree; returns the parsed JSON. */
function runAgent(dir: string, sysfs: string, procfs: string): Record<string, unknown> {
  const script = join(dir, 'discover.sh')
  writeFileSync(script, render('agent/discover.sh', {version: 'test'}))
  const out = execFileSync(BUSYBOX, ['sh', script], {env: {PATH: process.env.PATH, SYSFS: sysfs, PROCFS: procfs, NO_IP: '1', POLICY: 'wait'}, encoding: 'utf8'})
  return JSON.parse(out) as Record<string, unknown>
}

describe('discovery agent (busybox sh) on captured and built sysfs trees', () => {
  let dir: string
  let emptyProc: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mp-agent-'))
    emptyProc = join(dir, 'emptyproc')
    mkdirSync(emptyProc)
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  const cases: [string, {address: string; model: string}[]][] = [
    ['hgx-h100', ['18', '2a', '3a', '62', '9a', 'ab', 'ba', 'db'].map((b) => ({address: `0000:${b}:00.0`, model: 'H100 SXM5 80GB'}))],
    ['dgx-a100', ['07', '0f', '47', '4e', '87', '90', 'b7', 'bd'].map((b) => ({address: `0000:${b}:00.0`, model: 'A100 SXM4 40GB'}))],
    ['workstation-a6000', [{address: '0000:65:00.0', model: 'RTX A6000'}]],
    ['server-no-gpu', []],
  ]
  for (const [machine, want] of cases) {
    it(`${machine}: finds exactly the GPUs (not BMC VGA, NVSwitch, NICs, HD audio)`, () => {
      const raw = runAgent(dir, join(fixtures, machine, 'sys'), emptyProc)
      const parsed = DiscoveryReport.safeParse(raw)
      assert.ok(parsed.success, JSON.stringify(parsed.success ? '' : parsed.error.issues))
      const report = enrichReport(parsed.data)
      const got = report.accelerators.map((a) => ({address: a.pciAddress, model: a.model})).sort((a, b) => String(a.address).localeCompare(String(b.address)))
      assert.deepEqual(got, want)
      for (const a of report.accelerators) assert.equal(a.kind, 'gpu')
      // every PCI function is listed with 4-digit class
      const n = execFileSync('sh', ['-c', `ls ${join(fixtures, machine, 'sys/bus/pci/devices')} | wc -l`], {encoding: 'utf8'}).trim()
      assert.equal(report.pci.length, Number(n))
      assert.ok(report.pci.every((p) => /^[0-9a-f]{4}$/.test(p.class ?? '')))
    })
  }

  it('the inventory sees GPUs in the agent output of a GPU server and none on a plain one', () => {
    const withNic = (sys: string): Record<string, unknown> => ({...runAgent(dir, sys, emptyProc), nics: [{name: 'eno1', mac: '3c:ec:ef:00:00:01'}]})
    assert.equal(hasGpu(parseReport(enrichReport(DiscoveryReport.parse(withNic(join(fixtures, 'hgx-h100', 'sys'))))).hardware), true)
    assert.equal(hasGpu(parseReport(enrichReport(DiscoveryReport.parse(withNic(join(fixtures, 'server-no-gpu', 'sys'))))).hardware), false)
  })

  it('reads DMI, CPU topology and flags, memory, NICs, NVMe and SATA disks', () => {
    const sys = join(dir, 'sys')
    const proc = join(dir, 'proc')
    put(sys, 'class/dmi/id/sys_vendor', 'Supermicro\n')
    put(sys, 'class/dmi/id/product_name', 'SYS-221H-TNR\n')
    put(sys, 'class/dmi/id/product_serial', 'S123"456\n')
    put(sys, 'class/dmi/id/product_uuid', '4a1c2d3e-5f60-4718-9a2b-3c4d5e6f7081\n')
    put(sys, 'bus/pci/drivers/ixgbe/.keep', '')
    put(sys, 'devices/pci0000:00/0000:18:00.0/net/eno1/x', '')
    put(sys, 'class/net/eno1/address', '3c:ec:ef:12:34:56\n')
    put(sys, 'class/net/eno1/carrier', '1\n')
    put(sys, 'class/net/eno1/speed', '10000\n')
    mkdirSync(join(sys, 'class/net/eno1/device'))
    symlinkSync('../../../../bus/pci/drivers/ixgbe', join(sys, 'class/net/eno1/device/driver'))
    put(sys, 'class/net/eno2/address', '3c:ec:ef:12:34:57\n')
    put(sys, 'class/net/eno2/carrier', '0\n')
    mkdirSync(join(sys, 'class/net/eno2/device'))
    put(sys, 'class/net/br0/address', '3c:ec:ef:99:99:99\n') // a bridge: no device, not a NIC
    put(sys, 'block/nvme0n1/size', '3750748848\n')
    put(sys, 'block/nvme0n1/device/serial', 'S6B0NL0T123456      \n')
    put(sys, 'block/nvme0n1/device/model', 'SAMSUNG MZQL21T9HCJR-00A07\n')
    put(sys, 'block/nvme0n1/wwid', 'eui.36344830526012340025384500000001\n')
    put(sys, 'block/nvme0n1/queue/rotational', '0\n')
    put(sys, 'block/sda/size', '1953525168\n')
    put(sys, 'block/sda/device/vendor', 'ATA\n')
    put(sys, 'block/sda/device/model', 'ST1000NM0055\n')
    put(sys, 'block/sda/device/wwid', 'naa.5000c500a1b2c3d4\n')
    put(sys, 'block/sda/queue/rotational', '1\n')
    put(sys, 'block/loop0/size', '100\n')
    put(sys, 'firmware/efi/.keep', '')
    const cpu = []
    for (let p = 0; p < 2; p++) for (let t = 0; t < 4; t++) cpu.push(`processor\t: ${p * 4 + t}\nmodel name\t: Intel(R) Xeon(R) Gold 6430\nphysical id\t: ${p}\ncpu cores\t: 2\nflags\t\t: fpu vme vmx sse\n`)
    put(proc, 'cpuinfo', cpu.join('\n'))
    put(proc, 'meminfo', 'MemTotal:       263842544 kB\nMemFree: 1 kB\n')
    const r = DiscoveryReport.parse(runAgent(dir, sys, proc))
    assert.deepEqual(r.dmi, {vendor: 'Supermicro', product: 'SYS-221H-TNR', serial: 'S123"456', uuid: '4a1c2d3e-5f60-4718-9a2b-3c4d5e6f7081', boardSerial: undefined})
    assert.deepEqual(r.cpu, {model: 'Intel(R) Xeon(R) Gold 6430', sockets: 2, cores: 4, threads: 8, virtualization: ['vmx']})
    assert.equal(r.memory?.totalBytes, 263842544 * 1024)
    assert.equal(r.bootMode, 'uefi')
    assert.deepEqual(
      r.nics.map((n) => [n.name, n.mac, n.driver, n.speedMbps, n.link]),
      [
        ['eno1', '3c:ec:ef:12:34:56', 'ixgbe', 10000, true],
        ['eno2', '3c:ec:ef:12:34:57', undefined, null, false],
      ],
    )
    const nvme = r.disks.find((d) => d.name === 'nvme0n1')!
    assert.deepEqual([nvme.type, nvme.sizeBytes, nvme.serial, nvme.model, nvme.eui, nvme.rotational], ['nvme', 3750748848 * 512, 'S6B0NL0T123456', 'SAMSUNG MZQL21T9HCJR-00A07', '36344830526012340025384500000001', false])
    const sda = r.disks.find((d) => d.name === 'sda')!
    assert.deepEqual([sda.type, sda.wwn, sda.rotational], ['sata', '5000c500a1b2c3d4', true])
    assert.ok(!r.disks.some((d) => d.name === 'loop0'))
    assert.equal(r.agent?.policy, 'wait')
    // and the inventory takes it
    const parsed = parseReport(r)
    assert.equal(parsed.identity.kind, 'uuid')
  })

  it('the init script and udhcpc script parse under busybox sh', () => {
    for (const t of ['agent/init', 'agent/udhcpc.script', 'agent/discover.sh']) {
      const f = join(dir, t.replace('/', '-'))
      writeFileSync(f, render(t, {version: 'test'}))
      execFileSync(BUSYBOX, ['sh', '-n', f])
    }
  })
})

describe('discovery image', () => {
  it('resolves module load order from modules.dep, dependencies first, missing optional ones listed', () => {
    const dep = parseModulesDep(
      [
        'kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko',
        'kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko',
        'kernel/net/core/failover.ko:',
        'kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko',
        'kernel/drivers/virtio/virtio_ring.ko:',
        'kernel/drivers/net/ethernet/mellanox/mlx5/core/mlx5_core.ko: kernel/drivers/net/ethernet/mellanox/mlxfw/mlxfw.ko kernel/drivers/pci/controller/pci-hyperv-intf.ko',
        'kernel/drivers/net/ethernet/mellanox/mlxfw/mlxfw.ko:',
        'kernel/drivers/pci/controller/pci-hyperv-intf.ko:',
      ].join('\n'),
    )
    const {order, missing} = resolveModules(dep, ['virtio_net'], ['mlx5_core', 'ixgbe'])
    const names = order.map((p) => p.replace(/.*\//, '').replace('.ko', ''))
    assert.deepEqual(names, ['failover', 'net_failover', 'virtio_ring', 'virtio', 'virtio_net', 'mlxfw', 'pci-hyperv-intf', 'mlx5_core'])
    assert.deepEqual(missing, ['ixgbe'])
    assert.throws(() => resolveModules(dep, ['virtio_pci'], []), /lacks modules the discovery image needs: virtio_pci/)
    // built into the kernel: neither loaded nor missing
    const b = resolveModules(dep, ['virtio_net'], ['nvme', 'ixgbe'], parseBuiltin('kernel/drivers/nvme/host/nvme.ko\nkernel/drivers/nvme/host/nvme-core.ko\n'))
    assert.deepEqual(b.missing, ['ixgbe'])
    assert.ok(!b.order.some((p) => p.includes('nvme')))
  })
  it('takes your own kernel and initrd as they are, and says which flag is missing', async () => {
    const d = mkdtempSync(join(tmpdir(), 'mp-img-'))
    try {
      writeFileSync(join(d, 'k'), 'k')
      writeFileSync(join(d, 'i'), 'ii')
      const img = await buildImage({kernel: join(d, 'k'), initrd: join(d, 'i')})
      assert.deepEqual([img.kernel, img.initrd, img.initrdBytes], [join(d, 'k'), join(d, 'i'), 2])
      await assert.rejects(buildImage({kernel: join(d, 'k')}), (e: Error & {issues?: {path: string}[]}) => e.issues?.[0]?.path === '--initrd')
      await assert.rejects(buildImage({kernel: join(d, 'nope'), initrd: join(d, 'i')}), /does not exist/)
    } finally {
      rmSync(d, {recursive: true, force: true})
    }
  })
  it('names accelerators from the PCI ids, and tells BMC VGA from GPUs', () => {
    assert.equal(acceleratorName('0x10de', '0x20b5'), 'A100 PCIe 80GB')
    assert.equal(acceleratorName('1002', '74a1'), 'Instinct MI300X')
    assert.equal(acceleratorName('10de', 'ffff'), undefined)
    assert.equal(isAccelerator('0x10de', '0x030200'), true)
    assert.equal(isAccelerator('0x1a03', '0x030000'), false)
    assert.equal(isAccelerator('0x1002', '0x120000'), true)
    assert.equal(isAccelerator('0x10de', '0x068000'), false)
  })
})
