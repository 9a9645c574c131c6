import assert from 'node:assert/strict'
import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {SqliteStore} from '../../../src/inventory/sqlite-store.js'
import {mp, repoRoot} from '../bmc/cli.js'
import {startIpmiSim, type IpmiSim} from '../bmc/ipmi-sim.js'
import {makeReport} from '../../unit/inventory/reports.js'

const PASSWORD = 'Disc-ipmi-4411'

describe('inventory discover through ipmi_sim BMCs', function () {
  this.timeout(180_000)
  let dir: string
  let env: Record<string, string>
  let db: string
  const sims: IpmiSim[] = []

  /** A BMC whose machine, once powered on, "boots" and posts its report after delayMs. */
  async function machine(i: number, opts: {reports: boolean; delayMs?: number; poweredOn?: boolean}): Promise<IpmiSim> {
    const host = `127.0.0.${10 + i}`
    const mdir = join(dir, `m${i}`)
    const report = join(dir, `report${i}.json`)
    writeFileSync(report, JSON.stringify(makeReport({uuid: `22222222-3333-4444-8555-66666666660${i}`, macs: [`52:54:00:00:10:0${i}`], bmcIp: host})))
    const hook = join(dir, `hook${i}.sh`)
    writeFileSync(
      hook,
      `#!/bin/sh\n[ "$1" = 1 ] || exit 0\n${opts.reports ? `cd '${repoRoot}' && '${process.execPath}' --import tsx test/lab/inventory/post-report.ts '${db}' '${report}' ${opts.delayMs ?? 0} >> '${join(dir, 'hooks.log')}' 2>&1 </dev/null &` : 'true'}\n`,
    )
    chmodSync(hook, 0o755)
    const sim = await startIpmiSim({dir: mdir, password: PASSWORD, powerHook: hook, host})
    sims.push(sim)
    if (opts.poweredOn) writeFileSync(join(mdir, 'power'), '1\n')
    const r = mp(['bmc', 'add', `n${i}`, '--address', host, '--port', String(sim.port), '--user', 'admin'], {...env, METALPLANE_BMC_PASSWORD: PASSWORD})
    assert.equal(r.code, 0, r.stderr)
    return sim
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mp-discover-'))
    env = {METALPLANE_STATE_DIR: join(dir, 'state')}
    db = join(dir, 'state', 'inventory.db')
  })
  after(async () => {
    for (const s of sims) await s.stop()
    rmSync(dir, {recursive: true, force: true})
  })

  it('sets PXE boot, powers machines on in batches (cycling one that is on) and waits for every report', async () => {
    const m1 = await machine(1, {reports: true, delayMs: 1500})
    const m2 = await machine(2, {reports: true, delayMs: 200, poweredOn: true})
    const m3 = await machine(3, {reports: true, delayMs: 200})
    const r = mp(['inventory', 'discover', '--bmc', 'n1,n2', '--bmc', 'n3', '--batch', '2', '--timeout', '60s', '--poll', '300ms', '--no-progress'], env)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /batch 1\/2: n1, n2/)
    assert.match(r.stderr, /batch 2\/2: n3/)
    assert.match(r.stderr, /n2: PXE boot set, power cycled/)
    assert.match(r.stderr, /n1: machine m-[0-9a-f]{6} reported from 127\.0\.0\.1 \(new\)/)
    for (const s of [m1, m2, m3]) {
      const calls = s.calls()
      assert.ok(calls.includes('set boot pxe'), calls.join('|'))
      assert.ok(calls.indexOf('set boot pxe') < calls.lastIndexOf('set power 1'), 'boot device set before power-on')
    }
    assert.ok(m2.calls().includes('set power 0'), 'a machine that was on is cycled')
    // Batches: n3 is powered on only after n1 and n2 reported.
    const store = new SqliteStore(db)
    try {
      const ms = await store.list()
      assert.equal(ms.length, 3)
      const byBmc = new Map(ms.map((m) => [m.hardware.bmc?.ip, m]))
      const m3first = byBmc.get('127.0.0.13')!.firstSeen
      assert.ok(byBmc.get('127.0.0.11')!.firstSeen < m3first && byBmc.get('127.0.0.12')!.firstSeen < m3first)
    } finally {
      await store.close()
    }
  })

  it('--json: each BMC tied to its machine by the BMC IP in the report; re-discovery updates the records', () => {
    const r = mp(['inventory', 'discover', '--bmc', 'n1,n2,n3', '--batch', '3', '--timeout', '60s', '--poll', '300ms', '--json'], env)
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(
      r.json.bmcs.map((b: {bmc: string; status: string; matchedBy: string; machine: {id: string}}) => [b.bmc, b.status, b.matchedBy, b.machine.id]),
      [1, 2, 3].map((i) => [`n${i}`, 'reported', 'bmc-ip', `uuid-22222222-3333-4444-8555-66666666660${i}`]),
    )
    const list = mp(['inventory', 'list', '--json'], env)
    assert.ok(list.json.machines.every((m: {discoveries: number}) => m.discoveries === 2))
  })

  it('names the BMC whose machine never reports, after --timeout', async () => {
    await machine(4, {reports: false})
    const r = mp(['inventory', 'discover', '--bmc', 'n4', '--timeout', '3s', '--poll', '300ms', '--no-progress'], env)
    assert.equal(r.code, 1)
    assert.match(r.stderr, /discovery failed on 1 host:\n\s+- BMC n4: no report within 3s after power-on/)
  })

  it('refuses unknown BMCs before powering anything on, and a second concurrent run', async () => {
    const before = sims[0].calls().length
    let r = mp(['inventory', 'discover', '--bmc', 'n1,nope', '--timeout', '5s'], env)
    assert.equal(r.code, 2)
    assert.match(r.stderr, /no BMC named "nope"/)
    assert.equal(sims[0].calls().length, before)
    const store = new SqliteStore(db)
    const lock = await store.lock('discover', 60)
    try {
      r = mp(['inventory', 'discover', '--bmc', 'n1', '--timeout', '5s', '--json'], env)
      assert.equal(r.code, 3)
      assert.equal(r.json.error.code, 'LOCKED')
      assert.equal(sims[0].calls().length, before)
    } finally {
      await lock.release()
      await store.close()
    }
  })
})
