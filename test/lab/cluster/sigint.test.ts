// Ctrl-C during cluster apply: the run stops with exit code 130 and releases the cluster lock;
// the next apply resumes from the journal and finishes.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {cli, repoRoot} from '../../helpers/cli.js'
import {withLab} from '../helpers/lab.js'
import {standinBundle} from './bundle.js'
import {componentPhases, presetSysctls, writeSpec} from './helpers.js'

describe('cluster apply: SIGINT', function () {
  this.timeout(600_000)
  const lab = withLab('cl-sigint', 2)
  let tmp: string
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'mp-cluster-sigint-'))
  })
  after(() => rmSync(tmp, {recursive: true, force: true}))

  it('exits 130, releases the lock; the next apply resumes and finishes', async () => {
    presetSysctls(lab.hosts)
    const bundle = await standinBundle(tmp, '1.31.4')
    const skip = (await componentPhases()).join(',')
    const env = {METALPLANE_STATE_DIR: join(tmp, 'state')}
    const spec = writeSpec(lab, tmp, 'sig', ['controller', 'worker'], {bundle})
    const dir = join(env.METALPLANE_STATE_DIR, 'clusters', 'sig')
    const child = spawn(process.execPath, [`${repoRoot}/bin/run.js`, 'cluster', 'apply', '-c', spec, '--skip-phases', skip], {env: {...process.env, ...env}, stdio: 'ignore'})
    const code = await new Promise<number | null>((resolve) => {
      const t = setInterval(() => {
        const j = join(dir, 'journal-apply.jsonl')
        if (existsSync(j) && readFileSync(j, 'utf8').includes('"phase":"os"')) {
          clearInterval(t)
          assert.ok(existsSync(join(dir, 'lock')), 'the running apply holds the lock')
          child.kill('SIGINT')
        }
      }, 20)
      child.on('exit', (c) => {
        clearInterval(t)
        resolve(c)
      })
    })
    assert.equal(code, 130)
    assert.ok(!existsSync(join(dir, 'lock')), 'lock released')
    const r = cli(['cluster', 'apply', '-c', spec, '--skip-phases', skip, '--json'], {env, timeoutMs: 600_000})
    assert.equal(r.code, 0, r.stderr)
    assert.ok(r.json.resumedFrom, 'resumed the interrupted run')
    const again = cli(['cluster', 'apply', '-c', spec, '--skip-phases', skip, '--json'], {env})
    assert.equal(again.json.changed, 0)
  })
})
