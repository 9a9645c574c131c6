import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {cli, repoRoot} from '../helpers/cli.js'

describe('CLI basics', () => {
  let dir: string
  before(() => {
    assert.ok(existsSync(join(repoRoot, 'dist/commands')), 'run `npm run build` first')
    dir = mkdtempSync(join(tmpdir(), 'mp-cli-'))
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('--help lists the topics', () => {
    const r = cli(['--help'])
    assert.equal(r.code, 0, r.stderr)
    for (const t of ['cluster', 'hosts', 'lab', 'spec', 'init']) assert.match(r.stdout, new RegExp(`\\b${t}\\b`))
  })

  it('init writes a spec that spec validate accepts; init refuses to overwrite', () => {
    const f = join(dir, 'c.yaml')
    let r = cli(['init', '-o', f, '--controllers', '1', '--workers', '2'])
    assert.equal(r.code, 0, r.stderr)
    r = cli(['spec', 'validate', '-c', f, '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.valid, true)
    assert.deepEqual(r.json.controllers, ['cp1'])
    assert.deepEqual(r.json.workers, ['worker1', 'worker2'])
    r = cli(['init', '-o', f])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /already exists/)
    assert.match(r.stderr, /--force/)
  })

  it('a bad spec exits 2 and lists every bad field by path and line, as text and as JSON', () => {
    const f = join(dir, 'bad.yaml')
    const text = cli(['init', '--stdout', '--controllers', '3']).stdout
    writeFileSync(f, text.replace('name: cp2', 'name: cp1').replace('port: 6443', 'port: "6443"').replace('cni: calico', 'cni: weave'))
    let r = cli(['spec', 'validate', '-c', f])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /3 problems/)
    assert.match(r.stderr, /spec\.hosts\[1\]\.name \(line \d+\): duplicate host name "cp1"/)
    assert.match(r.stderr, /spec\.controlPlane\.port \(line \d+\): expected number, got string/)
    assert.match(r.stderr, /spec\.network\.cni \(line \d+\): expected one of "calico", "cilium", got "weave"/)
    r = cli(['spec', 'validate', '-c', f, '--json'])
    assert.equal(r.code, 2)
    assert.equal(r.json.error.code, 'BAD_INPUT')
    assert.equal(r.json.error.issues.length, 3)
    assert.equal(r.stderr, '', 'with --json, errors go to stdout as JSON only')
  })

  it('a missing spec file exits 2 with a hint', () => {
    const r = cli(['spec', 'validate', '-c', join(dir, 'nope.yaml')])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /cannot read cluster spec .*nope\.yaml: ENOENT/)
    assert.match(r.stderr, /metalplane init/)
  })

  it('an unknown flag is bad input (exit 2)', () => {
    const r = cli(['spec', 'validate', '--nope'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /Nonexistent flag: --nope/)
  })

  it('oclif.manifest.json is in sync with the built commands', function () {
    this.timeout(120_000)
    // Generate a fresh manifest from the same build into a scratch copy and compare.
    const scratch = mkdtempSync(join(tmpdir(), 'mp-manifest-'))
    try {
      cpSync(join(repoRoot, 'package.json'), join(scratch, 'package.json'))
      cpSync(join(repoRoot, 'dist'), join(scratch, 'dist'), {recursive: true})
      spawnSync('ln', ['-s', join(repoRoot, 'node_modules'), join(scratch, 'node_modules')])
      const r = spawnSync(join(repoRoot, 'node_modules/.bin/oclif'), ['manifest', scratch], {encoding: 'utf8', cwd: scratch})
      assert.equal(r.status, 0, r.stderr)
      const fresh = JSON.parse(readFileSync(join(scratch, 'oclif.manifest.json'), 'utf8'))
      const committed = JSON.parse(readFileSync(join(repoRoot, 'oclif.manifest.json'), 'utf8'))
      const strip = (m: any) => ({...m, commands: Object.fromEntries(Object.entries(m.commands).map(([k, v]: [string, any]) => [k, {...v, isESM: undefined, relativePath: undefined}]))})
      assert.deepEqual(Object.keys(committed.commands).sort(), Object.keys(fresh.commands).sort(), 'commands differ: run `npm run build` and commit oclif.manifest.json')
      assert.deepEqual(strip(committed), strip(fresh), 'oclif.manifest.json is stale: run `npm run build` and commit it')
    } finally {
      rmSync(scratch, {recursive: true, force: true})
    }
  })
})
