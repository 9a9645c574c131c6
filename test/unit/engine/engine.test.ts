import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Journal} from '../../../src/engine/journal.js'
import {ClusterLock, LockedError} from '../../../src/engine/lock.js'
import {runWorkflow, specDigest, WorkflowFailedError, type WorkflowOptions} from '../../../src/engine/manager.js'
import type {Phase} from '../../../src/engine/phase.js'
import {ExitCode} from '../../../src/errors.js'
import {parseSpec} from '../../../src/spec/load.js'
import {silentLogger} from '../../../src/ui/log.js'
import {makeHosts, makeJournalOnlyPhases, makePhases, ranLog, specText} from '../../fixtures/engine/workflow.js'

const spec = parseSpec(specText)

function opts(extra: Partial<WorkflowOptions> = {}): WorkflowOptions {
  return {workflow: 'apply', spec, hosts: makeHosts(), dryRun: false, concurrency: 3, log: silentLogger, renderer: 'silent', ...extra}
}

describe('workflow engine', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mp-engine-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('runs phases in order, each on its target hosts', async () => {
    const r = await runWorkflow(makePhases(dir), opts())
    const log = ranLog(dir)
    assert.equal(log.length, 7)
    const idx = (s: string) => log.indexOf(s)
    for (const h of ['a', 'b', 'c']) assert.ok(idx(`one ${h}`) < idx('two a') && idx(`two ${h}`) < idx('three a'), log.join(','))
    assert.deepEqual(log.filter((l) => l.startsWith('two')), ['two a', 'two b', 'two c'], 'serial phase runs hosts in order')
    assert.deepEqual(log.filter((l) => l.startsWith('three')), ['three a'])
    assert.equal(r.changed, 7)
    assert.ok(r.ok)
  })

  it('a second run is a no-op: needsRun says up to date', async () => {
    await runWorkflow(makePhases(dir), opts())
    const r = await runWorkflow(makePhases(dir), opts())
    assert.equal(ranLog(dir).length, 7)
    assert.equal(r.changed, 0)
    assert.ok(r.phases.every((p) => p.steps.every((s) => s.status === 'up-to-date')))
  })

  it('dry-run records the plan and changes nothing', async () => {
    const r = await runWorkflow(makePhases(dir), opts({dryRun: true}))
    assert.equal(ranLog(dir).length, 0)
    assert.equal(r.actions.length, 7)
    assert.deepEqual(r.actions[0], {phase: 'one', host: 'a', action: 'write marker one', diff: undefined})
    assert.ok(r.phases.every((p) => p.steps.every((s) => s.status === 'planned')))
  })

  it('collects failures of every host of a phase, stops before the next phase', async () => {
    const failing: Phase = {
      name: 'boom',
      title: 'Boom',
      async run(_ctx, host) {
        if (host.name !== 'a') throw new Error(`disk on ${host.name} is on fire`)
      },
    }
    const phases = [makePhases(dir)[0], failing, makePhases(dir)[2]]
    await assert.rejects(runWorkflow(phases, opts()), (e: unknown) => {
      assert.ok(e instanceof WorkflowFailedError)
      assert.equal(e.exitCode, ExitCode.FAILURE)
      assert.match(e.message, /phase "boom" failed on 2 hosts/)
      assert.match(e.message, /b: disk on b is on fire/)
      assert.match(e.message, /c: disk on c is on fire/)
      assert.equal(e.result.phases.length, 2, 'third phase did not start')
      return true
    })
    assert.ok(!ranLog(dir).some((l) => l.startsWith('three')))
  })

  it('maps a failure in a named phase to its exit code', async () => {
    const pre: Phase = {name: 'preflight', title: 'Preflight', async run() { throw new Error('swap is on') }}
    await assert.rejects(runWorkflow([pre], opts({exitCodeFor: {preflight: ExitCode.PREFLIGHT}})), (e: WorkflowFailedError) => e.exitCode === ExitCode.PREFLIGHT)
  })

  it('takes the exit code the failed steps agree on (e.g. a refusal that changed nothing)', async () => {
    const {MetalplaneError} = await import('../../../src/errors.js')
    const refuse = (codes: Record<string, number>): Phase => ({
      name: 'disks',
      title: 'Disks',
      async run(_ctx, host) {
        if (codes[host.name] !== undefined) throw new MetalplaneError(`no on ${host.name}`, {exitCode: codes[host.name] as 1 | 5})
      },
    })
    await assert.rejects(runWorkflow([refuse({b: 5, c: 5})], opts()), (e: WorkflowFailedError) => e.exitCode === ExitCode.PREFLIGHT)
    await assert.rejects(runWorkflow([refuse({b: 5, c: 1})], opts()), (e: WorkflowFailedError) => e.exitCode === ExitCode.FAILURE)
    const prep: Phase = {name: 'p', title: 'P', async prepare() { throw new MetalplaneError('refused', {exitCode: 5}) }, async run() {}}
    await assert.rejects(runWorkflow([prep], opts()), (e: WorkflowFailedError) => e.exitCode === ExitCode.PREFLIGHT)
  })

  it('refuses unknown phases to skip and honours known ones', async () => {
    await assert.rejects(runWorkflow(makePhases(dir), opts({skipPhases: ['nope']})), /unknown phase\(s\) to skip: nope/)
    await runWorkflow(makePhases(dir), opts({skipPhases: ['two']}))
    assert.ok(!ranLog(dir).some((l) => l.startsWith('two')))
  })

  it('resumes a run killed with SIGKILL without repeating finished steps', async function () {
    this.timeout(60_000)
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/engine/crash-run.ts', dir, 'two:b'], {stdio: ['ignore', 'pipe', 'pipe']})
    // wait until step "two a" is journaled, then kill
    const deadline = Date.now() + 30_000
    while (!ranLog(dir).includes('two a')) {
      if (Date.now() > deadline) throw new Error('child did not reach step two:b')
      await new Promise((r) => setTimeout(r, 50))
    }
    await new Promise((r) => setTimeout(r, 200))
    assert.equal(child.exitCode, null, 'the run was still going when killed')
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGKILL')
    await exited
    assert.deepEqual(ranLog(dir).sort(), ['one a', 'one b', 'one c', 'two a'])

    // These phases have no needsRun: only the journal can keep them from running again.
    const journal = Journal.open(join(dir, 'journal.jsonl'), 'apply', specDigest(spec))
    assert.equal(journal.resumedFrom?.done, 4)
    const r = await runWorkflow(makeJournalOnlyPhases(dir), opts({journal}))
    assert.deepEqual(ranLog(dir), ['one a', 'one b', 'one c', 'two a', 'two b', 'two c', 'three a'])
    assert.equal(r.changed, 3)
    assert.deepEqual(r.phases[0].steps.map((s) => s.status), ['resumed', 'resumed', 'resumed'])

    // The run finished: the next one starts fresh (and, without needsRun, would run again).
    const next = Journal.open(join(dir, 'journal.jsonl'), 'apply', specDigest(spec))
    assert.equal(next.resumedFrom, undefined)
    assert.notEqual(next.run, journal.run)
  })

  it('does not resume a killed run when the spec changed', () => {
    const f = join(dir, 'j.jsonl')
    const j1 = Journal.open(f, 'apply', 'aaa')
    j1.markDone('one', 'a')
    const j2 = Journal.open(f, 'apply', 'bbb')
    assert.equal(j2.resumedFrom, undefined)
    assert.equal(j2.isDone('one', 'a'), false)
  })

  it('tolerates a journal line torn by a crash', () => {
    const f = join(dir, 'j.jsonl')
    const j1 = Journal.open(f, 'apply', 'aaa')
    j1.markDone('one', 'a')
    writeFileSync(f, readFileSync(f, 'utf8') + '{"t":"done","run":"x","pha')
    const j2 = Journal.open(f, 'apply', 'aaa')
    assert.ok(j2.isDone('one', 'a'))
  })
})

describe('cluster lock', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mp-lock-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('refuses a second holder and names the first', () => {
    const f = join(dir, 'lock')
    const l = ClusterLock.acquire(f, 'prod', 'cluster apply')
    assert.throws(() => ClusterLock.acquire(f, 'prod', 'cluster upgrade'), (e: unknown) => {
      assert.ok(e instanceof LockedError)
      assert.equal(e.exitCode, ExitCode.LOCKED)
      assert.match(e.message, new RegExp(`pid ${process.pid}`))
      assert.match(e.message, /"cluster apply"/)
      return true
    })
    l.release()
    assert.ok(!existsSync(f))
    ClusterLock.acquire(f, 'prod', 'again').release()
  })

  it('takes over a lock whose process is gone', async () => {
    const f = join(dir, 'lock')
    const child = spawn(process.execPath, ['-e', '0'])
    await new Promise((r) => child.once('exit', r))
    writeFileSync(f, JSON.stringify({pid: child.pid, host: (await import('node:os')).hostname(), user: 'x', command: 'old', since: 'then'}))
    const l = ClusterLock.acquire(f, 'prod', 'new')
    assert.equal(JSON.parse(readFileSync(f, 'utf8')).pid, process.pid)
    l.release()
  })
})
