import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {ExitCode, InputError} from '../../../src/errors.js'
import {EtcdStore} from '../../../src/inventory/etcd-store.js'
import {exportHosts} from '../../../src/inventory/export.js'
import {openInventoryStore} from '../../../src/inventory/open.js'
import {InventoryLockedError, type InventoryStore} from '../../../src/inventory/store.js'
import {HostSpec} from '../../../src/spec/schema.js'
import {mp} from '../bmc/cli.js'
import {makeReport} from '../../unit/inventory/reports.js'
import {startEtcd, type Etcd} from './etcd.js'

describe('EtcdStore against a real etcd', function () {
  this.timeout(60_000)
  let dir: string
  let etcd: Etcd
  let prefixN = 0
  const open: InventoryStore[] = []
  async function store(prefix = `/t${prefixN}/`): Promise<EtcdStore> {
    const s = await EtcdStore.connect([`http://${etcd.endpoint}`], prefix)
    open.push(s)
    return s
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mp-etcd-'))
    etcd = await startEtcd(dir)
  })
  beforeEach(() => prefixN++)
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close()
  })
  after(async () => {
    await etcd?.stop()
    rmSync(dir, {recursive: true, force: true})
  })

  it('stores, re-discovers with a history of changes, filters, labels and removes', async () => {
    const s = await store()
    const a = await s.upsertFromReport(makeReport({macs: ['52:54:00:00:00:01', '52:54:00:00:00:02'], gpu: true}), {peer: '10.0.0.21', receivedAt: new Date('2026-01-01T00:00:00Z')})
    assert.equal(a.created, true)
    const b = await s.upsertFromReport(
      makeReport({macs: ['52:54:00:00:00:01', '52:54:00:00:00:03'], gpu: true, nvme: [{model: 'Samsung SSD 980 PRO 1TB', serial: 'S5GXNF0R999999', sizeGiB: 931}]}),
      {peer: '10.0.0.21', receivedAt: new Date('2026-01-02T00:00:00Z')},
    )
    assert.equal(b.created, false)
    assert.deepEqual(b.changes.map((c) => `${c.kind}:${c.op}`).sort(), ['disk:replaced', 'nic:replaced'])
    await s.upsertFromReport(makeReport({uuid: '03000200-0400-0500-0006-000700080009', serial: 'Default string', macs: ['52:54:00:00:0c:01'], memoryGiB: 16, nvme: []}), {peer: '10.0.0.22'})
    const all = await s.list()
    assert.deepEqual(all.map((m) => m.id).sort(), ['mac-525400000c01', 'uuid-4a1c2d3e-5f60-4718-9a2b-3c4d5e6f7081'])
    assert.deepEqual((await s.list({hasGpu: true})).map((m) => m.id), [a.id])
    assert.deepEqual((await s.list({nvme: false})).map((m) => m.id), ['mac-525400000c01'])
    assert.deepEqual((await s.list({minMemoryBytes: 64 * 2 ** 30})).map((m) => m.id), [a.id])
    const labeled = await s.label(a.machine.name, {set: {rack: 'r2'}, rename: 'gpu-1'})
    assert.equal(labeled.name, 'gpu-1')
    assert.equal((await s.get('gpu-1'))?.labels.rack, 'r2')
    assert.equal((await s.get('52:54:00:00:0c:01'))?.id, 'mac-525400000c01')
    await s.remove('gpu-1')
    assert.equal(await s.get('gpu-1'), undefined)
    assert.deepEqual((await s.history(a.id)).map((e) => e.event), ['removed', 'renamed', 'rediscovered', 'discovered'])
  })

  it('rejects a malformed or oversized report and stores nothing', async () => {
    const s = await store()
    await assert.rejects(s.upsertFromReport({dmi: {uuid: 'x'}, nics: [{name: 'eth0', mac: 'nope'}]}), InputError)
    await assert.rejects(s.upsertFromReport({...makeReport(), padding: 'x'.repeat(2 * 1024 * 1024)}), InputError)
    assert.deepEqual(await s.list(), [])
    assert.deepEqual(await s.history(), [])
  })

  it('two clients upserting the same machine at once lose no update', async () => {
    const s1 = await store()
    const s2 = await store(`/t${prefixN}/`)
    await Promise.all(Array.from({length: 10}, (_, i) => (i % 2 ? s1 : s2).upsertFromReport(makeReport(), {peer: `10.0.0.${i + 1}`})))
    const [m] = await s1.list()
    assert.equal(m.discoveries, 10)
    assert.equal((await s2.history(m.id)).length, 10)
  })

  it('a lock is exclusive across clients and expires with its lease when the holder is gone', async () => {
    const s1 = await store()
    const s2 = await store(`/t${prefixN}/`)
    const l = await s1.lock('discover', 2)
    await assert.rejects(s2.lock('discover', 2), (e: unknown) => e instanceof InventoryLockedError && e.exitCode === ExitCode.LOCKED && /held by .*pid \d+/.test(e.message))
    await l.release()
    const l2 = await s2.lock('discover', 2)
    await l2.release()
    // Holder vanishes without releasing: closing its client stops the keep-alives.
    await s1.lock('discover', 2)
    await s1.close()
    await assert.rejects(s2.lock('discover', 2), InventoryLockedError)
    const end = Date.now() + 10_000
    for (;;) {
      try {
        const l3 = await s2.lock('discover', 2)
        await l3.release()
        break
      } catch (error) {
        if (!(error instanceof InventoryLockedError) || Date.now() > end) throw error
        await new Promise((r) => setTimeout(r, 250))
      }
    }
  })

  it('--store etcd://HOST:PORT serves the same inventory to the commands; export gives valid hosts', async () => {
    const loc = `etcd://${etcd.endpoint}/shared${prefixN}`
    const s = await openInventoryStore(loc)
    open.push(s)
    await s.upsertFromReport(makeReport(), {peer: '10.0.0.31'})
    const r = mp(['inventory', 'list', '--store', loc, '--json'], {METALPLANE_STATE_DIR: join(dir, 'state')})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.machines.length, 1)
    assert.equal(r.json.machines[0].address, '10.0.0.31')
    const e = mp(['inventory', 'export', '--store', loc, '--controllers', '1', '--json'], {METALPLANE_STATE_DIR: join(dir, 'state')})
    assert.equal(e.code, 0, e.stderr)
    HostSpec.parse(e.json.hosts[0])
    assert.equal(e.json.hosts[0].role, 'controller')
    assert.deepEqual(exportHosts(await s.list(), {controllers: 1}), e.json.hosts)
  })

  it('an unreachable etcd is a clear error', async () => {
    await assert.rejects(openInventoryStore('etcd://127.0.0.1:9'), /cannot reach the inventory store at etcd:\/\/127\.0\.0\.1:9/)
  })
})
