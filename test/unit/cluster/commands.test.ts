// The cluster and node commands as a user runs them (built CLI, no terminal): bad input exits 2
// before any host is contacted, confirmations need --yes, unlock removes a stale lock.
import assert from 'node:assert/strict'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execFileSync} from 'node:child_process'
import {cli} from '../../helpers/cli.js'

describe('cluster commands (CLI)', function () {
  this.timeout(60_000)
  let dir: string
  let env: Record<string, string>
  const spec = (extra = '') => {
    const f = join(dir, 'c.yaml')
    writeFileSync(
      f,
      `apiVersion: metalplane.io/v1alpha1
kind: Cluster
metadata: {name: cmd}
spec:
  kubernetes: {version: 1.31.4}
  ssh: {knownHosts: ${join(dir, 'known_hosts')}, connectTimeoutSeconds: 1}
${extra}
  hosts:
    - {name: c1, address: 127.0.0.1, port: 1, keyFile: ${join(dir, 'id_ed25519')}, role: controller}
`,
    )
    return f
  }
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mp-cmd-'))
    env = {METALPLANE_STATE_DIR: join(dir, 'state')}
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('plan/apply with an invalid spec exit 2 and list the field', () => {
    const f = readFileSync(spec(), 'utf8').replace('role: controller', 'role: boss')
    writeFileSync(join(dir, 'bad.yaml'), f)
    for (const cmd of ['plan', 'apply']) {
      const r = cli(['cluster', cmd, '-c', join(dir, 'bad.yaml'), '--json'], {env})
      assert.equal(r.code, 2, r.stdout + r.stderr)
      assert.equal(r.json.error.code, 'BAD_INPUT')
      assert.match(r.json.error.message, /spec.hosts\[0\].role/)
    }
  })

  it('apply without a bundle exits 2 naming spec.bundle, before connecting', () => {
    const r = cli(['cluster', 'apply', '-c', spec(), '--json'], {env})
    assert.equal(r.code, 2)
    assert.match(r.json.error.message, /spec.bundle/)
  })

  it('an unknown phase in --skip-phases exits 2 and lists the phases', () => {
    mkdirSync(join(dir, 'b', 'bin'), {recursive: true})
    for (const b of ['kubeadm', 'kubelet', 'kubectl']) writeFileSync(join(dir, 'b', 'bin', b), '')
    const r = cli(['cluster', 'apply', '-c', spec(`  bundle: ${join(dir, 'b')}`), '--skip-phases', 'kubeadm-init,nope', '--json'], {env})
    assert.equal(r.code, 2)
    assert.match(r.json.error.message, /unknown phase\(s\) in --skip-phases: nope/)
    assert.match(r.json.error.hint, /connect, facts, preflight, local-volumes, os, containerd, gpu-runtime, kubernetes/)
  })

  it('reset and node remove ask for --yes without a terminal; nothing is contacted', () => {
    const r = cli(['cluster', 'reset', '-c', spec(), '--json'], {env})
    assert.equal(r.code, 2)
    assert.match(r.json.error.hint, /--yes/)
    const n = cli(['node', 'remove', 'c1', '-c', spec(), '--json'], {env})
    assert.equal(n.code, 2)
  })

  it('unlock: nothing to do when unlocked; a stale lock needs --yes, then is removed', () => {
    const f = spec()
    const none = cli(['cluster', 'unlock', '-c', f, '--json'], {env})
    assert.equal(none.code, 0)
    assert.equal(none.json.removed, false)
    const lock = join(dir, 'state', 'clusters', 'cmd', 'lock')
    mkdirSync(join(dir, 'state', 'clusters', 'cmd'), {recursive: true})
    writeFileSync(lock, JSON.stringify({pid: 999999, host: 'elsewhere', user: 'ops', command: 'metalplane cluster apply', since: '2026-01-01T00:00:00Z'}))
    // Held by a run on another machine: apply refuses with exit code 3.
    mkdirSync(join(dir, 'b', 'bin'), {recursive: true})
    for (const b of ['kubeadm', 'kubelet', 'kubectl']) writeFileSync(join(dir, 'b', 'bin', b), '')
    const locked = cli(['cluster', 'apply', '-c', spec(`  bundle: ${join(dir, 'b')}`), '--json'], {env})
    assert.equal(locked.code, 3, locked.stdout)
    assert.match(locked.json.error.message, /locked by another run: pid 999999 on elsewhere/)
    const ask = cli(['cluster', 'unlock', '-c', f, '--json'], {env})
    assert.equal(ask.code, 2)
    assert.ok(existsSync(lock))
    const ok = cli(['cluster', 'unlock', '-c', f, '--yes', '--json'], {env})
    assert.equal(ok.code, 0)
    assert.equal(ok.json.removed, true)
    assert.ok(!existsSync(lock))
  })

  it('an unreachable host fails connect with exit 1 naming it', () => {
    // Loopback port 1: nothing listens there, so the connection is refused (no traffic leaves the machine).
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id_ed25519')])
    mkdirSync(join(dir, 'b', 'bin'), {recursive: true})
    for (const b of ['kubeadm', 'kubelet', 'kubectl']) writeFileSync(join(dir, 'b', 'bin', b), '')
    const r = cli(['cluster', 'plan', '-c', spec(`  bundle: ${join(dir, 'b')}`), '--json'], {env, timeoutMs: 60_000})
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.json.error.message, /c1/)
  })
})
