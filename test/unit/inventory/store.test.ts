import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {ExitCode, InputError} from '../../../src/errors.js'
import {exportHosts, nvmeById} from '../../../src/inventory/export.js'
import {isBogusSerial, isBogusUuid, machineIdentity} from '../../../src/inventory/identity.js'
import {openInventoryStore} from '../../../src/inventory/open.js'
import {DiscoveryReport, type ReportSink} from '../../../src/inventory/report.js'
import {parseSize} from '../../../src/inventory/size.js'
import {SqliteStore} from '../../../src/inventory/sqlite-store.js'
import {InventoryLockedError} from '../../../src/inventory/store.js'
import {ClusterSpec, HostSpec} from '../../../src/spec/schema.js'
import {makeReport} from './reports.js'

describe('inventory identity', () => {
  it('treats placeholder UUIDs and serials as absent', () => {
    for (const u of ['03000200-0400-0500-0006-000700080009', '00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', 'not-a-uuid', ''])
      assert.ok(isBogusUuid(u), u)
    assert.ok(!isBogusUuid('4a1c2d3e-5f60-4718-9a2b-3c4d5e6f7081'))
    for (const s of ['To Be Filled By O.E.M.', 'Default string', '0123456789', 'System Serial Number', '   ', '00000000', 'Not Specified'])
      assert.ok(isBogusSerial(s), s)
    assert.ok(!isBogusSerial('SM123456789'))
  })

  it('falls back from UUID to serial to the lowest MAC', () => {
    assert.equal(machineIdentity({uuid: '4A1C2D3E-5F60-4718-9A2B-3C4D5E6F7081', serial: 'X1', macs: []})?.id, 'uuid-4a1c2d3e-5f60-4718-9a2b-3c4d5e6f7081')
    assert.equal(machineIdentity({uuid: '03000200-0400-0500-0006-000700080009', serial: 'SM123456789', macs: []})?.id, 'serial-SM123456789')
    assert.equal(
      machineIdentity({uuid: '03000200-0400-0500-0006-000700080009', serial: 'To Be Filled By O.E.M.', macs: ['52:54:00:00:00:02', '52:54:00:00:00:01']})?.id,
      'mac-525400000001',
    )
    assert.equal(machineIdentity({uuid: undefined, serial: 'Default string', macs: []}), undefined)
  })
})

describe('SqliteStore', () => {
  let dir: string
  let store: SqliteStore
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mp-inventory-'))
    store = new SqliteStore(join(dir, 'inventory.db'))
  })
  afterEach(async () => {
    await store.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('creates a machine from a report and records the HTTP peer as its address', async () => {
    const r = await store.upsertFromReport(makeReport({ip: '10.0.0.99'}), {peer: '::ffff:10.0.0.21'})
    assert.equal(r.created, true)
    assert.equal(r.id, 'uuid-4a1c2d3e-5f60-4718-9a2b-3c4d5e6f7081')
    const m = await store.get(r.machine.name)
    assert.ok(m)
    assert.equal(m.address, '10.0.0.21')
    assert.equal(m.reportedIp, '10.0.0.99')
    assert.equal(m.hardware.memoryBytes, 128 * 2 ** 30)
    assert.match(m.name, /^m-[0-9a-f]{6}$/)
    assert.equal((await store.get('52:54:00:12:34:56'))?.id, m.id, 'found by MAC')
    assert.equal((await store.get('4a1c2d3e'))?.id, m.id, 'found by id prefix')
    // ReportSink
    assert.deepEqual(await store.record(makeReport(), {peer: '10.0.0.21'}), {id: m.id, created: false})
  })

  it('re-discovery updates the record and keeps a history of what changed (disk replaced, NIC changed)', async () => {
    const first = await store.upsertFromReport(makeReport({macs: ['52:54:00:00:00:01', '52:54:00:00:00:02']}), {peer: '10.0.0.21', receivedAt: new Date('2026-01-01T00:00:00Z')})
    const same = await store.upsertFromReport(makeReport({macs: ['52:54:00:00:00:01', '52:54:00:00:00:02']}), {peer: '10.0.0.21', receivedAt: new Date('2026-01-02T00:00:00Z')})
    assert.equal(same.created, false)
    assert.deepEqual(same.changes, [])
    const again = await store.upsertFromReport(
      makeReport({macs: ['52:54:00:00:00:01', '52:54:00:00:00:03'], nvme: [{model: 'Samsung SSD 980 PRO 1TB', serial: 'S5GXNF0R999999', sizeGiB: 931}], memoryGiB: 256}),
      {peer: '10.0.0.22', receivedAt: new Date('2026-01-03T00:00:00Z')},
    )
    assert.equal(again.created, false)
    assert.equal(again.id, first.id)
    const kinds = again.changes.map((c) => `${c.kind}:${c.op}`).sort()
    assert.deepEqual(kinds, ['address:changed', 'disk:replaced', 'memory:changed', 'nic:replaced'])
    const disk = again.changes.find((c) => c.kind === 'disk')!
    assert.match(disk.summary, /nvme0n1 replaced: .*S5GXNF0R123456.* -> .*S5GXNF0R999999/)
    const m = (await store.get(first.id))!
    assert.equal(m.discoveries, 3)
    assert.equal(m.firstSeen, '2026-01-01T00:00:00.000Z')
    assert.equal(m.lastSeen, '2026-01-03T00:00:00.000Z')
    assert.equal(m.address, '10.0.0.22')
    assert.equal(m.hardware.disks[0].serial, 'S5GXNF0R999999')
    const h = await store.history(first.id)
    assert.deepEqual(h.map((e) => [e.event, e.at]), [
      ['rediscovered', '2026-01-03T00:00:00.000Z'],
      ['rediscovered', '2026-01-02T00:00:00.000Z'],
      ['discovered', '2026-01-01T00:00:00.000Z'],
    ])
    assert.equal(h[0].changes.length, 4)
  })

  it('keys boards with a placeholder UUID by serial, then by MAC, so they stay distinct', async () => {
    const bogus = '03000200-0400-0500-0006-000700080009'
    const a = await store.upsertFromReport(makeReport({uuid: bogus, serial: 'SN-A-0001', macs: ['52:54:00:00:0a:01']}))
    const b = await store.upsertFromReport(makeReport({uuid: bogus, serial: 'SN-B-0002', macs: ['52:54:00:00:0b:01']}))
    const c = await store.upsertFromReport(makeReport({uuid: '00000000-0000-0000-0000-000000000000', serial: 'To Be Filled By O.E.M.', macs: ['52:54:00:00:0c:01']}))
    const d = await store.upsertFromReport(makeReport({uuid: bogus, serial: 'Default string', macs: ['52:54:00:00:0d:01']}))
    assert.deepEqual([a.id, b.id, c.id, d.id], ['serial-SN-A-0001', 'serial-SN-B-0002', 'mac-525400000c01', 'mac-525400000d01'])
    assert.equal(c.machine.hardware.system.uuid, undefined, 'a placeholder UUID is not kept as the UUID')
    assert.equal(c.machine.hardware.system.serial, undefined)
    assert.equal((await store.list()).length, 4)
  })

  it('rejects malformed and oversized reports and stores nothing', async () => {
    const bad: unknown[] = [
      'not json{',
      {dmi: {uuid: 5}},
      {...makeReport(), nics: [{name: 'eth0', mac: 'zz:zz'}]},
      {...makeReport(), disks: [{name: 'nvme0n1', sizeBytes: -1}]},
      {...makeReport(), memory: {totalBytes: 'lots'}},
      {dmi: {uuid: '03000200-0400-0500-0006-000700080009', serial: '0123456789'}, nics: []},
      {...makeReport(), pci: Array.from({length: 5000}, (_, i) => ({address: `0000:00:${i}`, vendor: '8086', device: '0001'}))},
      JSON.stringify({...makeReport(), hostname: 'x'.repeat(2 * 1024 * 1024)}),
      {...makeReport(), padding: 'x'.repeat(2 * 1024 * 1024)},
    ]
    for (const r of bad) {
      await assert.rejects(store.upsertFromReport(r), (e: unknown) => e instanceof InputError && e.exitCode === ExitCode.BAD_INPUT)
    }
    assert.deepEqual(await store.list(), [])
    assert.deepEqual(await store.history(), [])
  })

  it('keeps InfiniBand NICs (20-byte addresses) out of the identity, skips NICs without an address, ignores an unset BMC IP', async () => {
    const ib = '80:00:02:08:fe:80:00:00:00:00:00:00:0c:42:a1:03:00:7d:2e:10'
    const rep = makeReport({uuid: '00000000-0000-0000-0000-000000000000', serial: 'Default string', macs: ['52:54:00:00:0e:02'], bmcIp: '0.0.0.0'}) as {nics: unknown[]}
    rep.nics.unshift({name: 'ib0', mac: ib, driver: 'mlx5_core', speedMbps: 200000, link: true}, {name: 'eno9', mac: '00:00:00:00:00:00', driver: 'igb'})
    const r = await store.upsertFromReport(rep)
    assert.equal(r.id, 'mac-525400000e02')
    assert.deepEqual(r.machine.hardware.nics.map((n) => n.mac), ['52:54:00:00:0e:02', ib])
    assert.equal(r.machine.hardware.bmc, undefined)
  })

  it('filters by GPU, NVMe, memory and labels', async () => {
    await store.upsertFromReport(makeReport({uuid: '11111111-2222-4333-8444-555555555501', macs: ['52:54:00:00:01:01'], gpu: true, memoryGiB: 512}))
    await store.upsertFromReport(makeReport({uuid: '11111111-2222-4333-8444-555555555502', macs: ['52:54:00:00:01:02'], memoryGiB: 32, nvme: [], sata: [{model: 'ST1000', serial: 'Z1', sizeGiB: 931}]}))
    await store.upsertFromReport(makeReport({uuid: '11111111-2222-4333-8444-555555555503', macs: ['52:54:00:00:01:03'], memoryGiB: 64}))
    const ids = async (f: Parameters<SqliteStore['list']>[0]) => (await store.list(f)).map((m) => m.id.slice(-2)).sort()
    assert.deepEqual(await ids({hasGpu: true}), ['01'])
    assert.deepEqual(await ids({hasGpu: false}), ['02', '03'])
    assert.deepEqual(await ids({nvme: true}), ['01', '03'])
    assert.deepEqual(await ids({minMemoryBytes: parseSize('64GiB')}), ['01', '03'])
    assert.deepEqual(await ids({minMemoryBytes: parseSize('64GiB'), hasGpu: false}), ['03'])
    await store.label('11111111-2222-4333-8444-555555555502', {set: {rack: 'r12'}})
    assert.deepEqual(await ids({labels: {rack: 'r12'}}), ['02'])
    const gpu = (await store.list({hasGpu: true}))[0]
    assert.equal(gpu.hardware.accelerators[0].vendor, 'nvidia', 'GPU found from PCI class and vendor')
  })

  it('labels, renames and removes, keeping history of removed machines', async () => {
    const r = await store.upsertFromReport(makeReport())
    const m = await store.label(r.machine.name, {set: {rack: 'r1', zone: 'a'}, rename: 'node-1'})
    assert.equal(m.name, 'node-1')
    assert.deepEqual(m.labels, {rack: 'r1', zone: 'a'})
    const m2 = await store.label('node-1', {unset: ['zone']})
    assert.deepEqual(m2.labels, {rack: 'r1'})
    await assert.rejects(store.label('node-1', {set: {'bad key!': 'x'}}), InputError)
    await assert.rejects(store.label('node-1', {rename: 'Not_A_Name'}), InputError)
    await store.remove('node-1')
    assert.equal(await store.get('node-1'), undefined)
    assert.deepEqual((await store.history(r.id)).map((e) => e.event), ['removed', 'labeled', 'renamed', 'discovered'])
    await assert.rejects(store.remove('node-1'), /no machine "node-1"/)
  })

  it('is the ReportSink the PXE service posts agent reports to (DiscoveryReport wire format)', async () => {
    const wire = DiscoveryReport.parse({
      ...makeReport({uuid: '03000200-0400-0500-0006-000700080009', serial: 'To Be Filled By O.E.M.', macs: ['52:54:00:aa:00:01'], nvme: []}),
      agent: {version: '1', policy: 'report'},
      bootMode: 'uefi',
      cpu: {model: 'QEMU Virtual CPU', sockets: 1, cores: 1, threads: 1, virtualization: ['vmx']},
      accelerators: [{kind: 'gpu', vendor: 'nvidia', model: 'H100 PCIe', pciAddress: '0000:47:00.0'}],
    })
    const sink: ReportSink = store
    assert.deepEqual(await sink.record(wire, {peer: '::ffff:10.99.0.50', receivedAt: new Date()}), {id: 'mac-525400aa0001', created: true})
    const m = (await store.get('mac-525400aa0001'))!
    assert.equal(m.address, '10.99.0.50')
    assert.deepEqual(m.hardware.accelerators, [{kind: 'gpu', vendor: 'nvidia', model: 'H100 PCIe', pciAddress: '0000:47:00.0'}])
  })

  it('locks exclusively until released, also across store handles', async () => {
    const other = new SqliteStore(join(dir, 'inventory.db'))
    try {
      const l = await store.lock('discover', 30)
      await assert.rejects(other.lock('discover', 30), (e: unknown) => e instanceof InventoryLockedError && e.exitCode === ExitCode.LOCKED && /held by .*pid/.test(e.message))
      await l.release()
      const l2 = await other.lock('discover', 30)
      await l2.release()
    } finally {
      await other.close()
    }
  })

  it('opens the default store in the state dir', async () => {
    const prev = process.env.METALPLANE_STATE_DIR
    process.env.METALPLANE_STATE_DIR = dir
    try {
      const s = await openInventoryStore()
      assert.equal(s.location, `sqlite://${join(dir, 'inventory.db')}`)
      await s.close()
      await assert.rejects(openInventoryStore('etcd://'), InputError)
      await assert.rejects(openInventoryStore('ftp://x'), InputError)
    } finally {
      if (prev === undefined) delete process.env.METALPLANE_STATE_DIR
      else process.env.METALPLANE_STATE_DIR = prev
    }
  })
})

describe('inventory export', () => {
  let dir: string
  let store: SqliteStore
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mp-inventory-'))
    store = new SqliteStore(join(dir, 'inventory.db'))
  })
  afterEach(async () => {
    await store.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('writes hosts that HostSpec and ClusterSpec accept: roles, NVMe volumes by id, GPUs', async () => {
    for (let i = 1; i <= 5; i++) {
      await store.upsertFromReport(
        makeReport({
          uuid: `11111111-2222-4333-8444-55555555550${i}`,
          macs: [`52:54:00:00:02:0${i}`],
          gpu: i === 1,
          nvme: [
            {model: 'SAMSUNG MZQL23T8HCLS-00A07', serial: `S64HNE0T50000${i}`, sizeGiB: 3576},
            {model: 'SAMSUNG MZQL23T8HCLS-00A07', serial: `S64HNE0T60000${i}`, sizeGiB: 3576},
          ],
          sata: [{model: 'Micron_5300', serial: `OS${i}`, sizeGiB: 447}],
        }),
        {peer: `10.0.0.${20 + i}`},
      )
    }
    const ms = await store.list()
    await store.label(ms[0].name, {set: {rack: 'r1'}})
    const hosts = exportHosts(await store.list(), {controllers: 3, user: 'ubuntu'})
    assert.equal(hosts.length, 5)
    for (const h of hosts) HostSpec.parse(h)
    assert.equal(hosts.filter((h) => h.role === 'controller').length, 3)
    const gpuHost = hosts.find((h) => h.gpu === 'nvidia')!
    assert.equal(gpuHost.role, 'worker', 'GPU machines are left for workloads')
    assert.equal(gpuHost.address.startsWith('10.0.0.'), true)
    const h1 = hosts.find((h) => h.address === '10.0.0.22')!
    assert.deepEqual(h1.localVolumes.map((v) => v.disk), ['/dev/disk/by-id/nvme-SAMSUNG_MZQL23T8HCLS-00A07_S64HNE0T500002', '/dev/disk/by-id/nvme-SAMSUNG_MZQL23T8HCLS-00A07_S64HNE0T600002'])
    assert.equal(h1.user, 'ubuntu')
    const spec = ClusterSpec.safeParse({
      apiVersion: 'metalplane.io/v1alpha1',
      kind: 'Cluster',
      metadata: {name: 'lab'},
      spec: {kubernetes: {version: '1.31.4'}, controlPlane: {vip: '10.0.0.10'}, hosts},
    })
    assert.ok(spec.success, JSON.stringify(spec.error?.issues))
  })

  it('leaves the OS disk out when a machine has only NVMe disks, and refuses an even controller count', async () => {
    await store.upsertFromReport(
      makeReport({nvme: [{model: 'Small Boot', serial: 'B1', sizeGiB: 240}, {model: 'Big Data', serial: 'D1', sizeGiB: 3800}]}),
      {peer: '10.0.0.5'},
    )
    const [h] = exportHosts(await store.list(), {controllers: 1})
    assert.deepEqual(h.localVolumes.map((v) => v.disk), ['/dev/disk/by-id/nvme-Big_Data_D1'])
    assert.equal(exportHosts(await store.list(), {controllers: 1, osDisk: 'none'})[0].localVolumes.length, 2)
    await store.upsertFromReport(makeReport({uuid: '11111111-2222-4333-8444-555555555509', macs: ['52:54:00:00:09:01']}), {peer: '10.0.0.6'})
    const ms2 = await store.list()
    assert.equal(ms2.length, 2)
    assert.throws(() => exportHosts(ms2, {controllers: 2}), /etcd needs an odd number/)
    assert.equal(nvmeById({name: 'nvme0n1', type: 'nvme', sizeBytes: 1, model: ' INTEL  SSDPE2KX040T8 ', serial: 'BTLJ/123'}), '/dev/disk/by-id/nvme-INTEL_SSDPE2KX040T8_BTLJ_123')
  })
})
