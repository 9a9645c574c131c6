import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {ExitCode, HostsFailedError, InputError} from '../../../src/errors.js'
import {closeHosts, connectHosts, runOnHosts, selectHosts} from '../../../src/hosts/connect.js'
import {parseSpec} from '../../../src/spec/load.js'
import {startSshd, type TestSshd} from './sshd.js'

describe('runOnHosts', () => {
  it('keeps at most `concurrency` running, returns every outcome in order', async () => {
    let running = 0
    let peak = 0
    const items = Array.from({length: 9}, (_, i) => ({name: `n${i}`}))
    const out = await runOnHosts(items, 3, async (h) => {
      running++
      peak = Math.max(peak, running)
      await new Promise((r) => setTimeout(r, 20))
      running--
      if (h.name === 'n4') throw new Error('boom')
      return h.name.toUpperCase()
    })
    assert.equal(peak, 3)
    assert.deepEqual(out.map((o) => o.name), items.map((i) => i.name))
    assert.deepEqual(out.filter((o) => o.ok).map((o) => (o as {value: string}).value), ['N0', 'N1', 'N2', 'N3', 'N5', 'N6', 'N7', 'N8'])
    const failed = out.find((o) => !o.ok) as {error: Error}
    assert.equal(failed.error.message, 'boom')
    assert.deepEqual(await runOnHosts([], 5, async () => 1), [])
  })
})

describe('connectHosts against real sshd', function () {
  this.timeout(30_000)
  let a: TestSshd
  let b: TestSshd
  let dir: string
  const specText = (ka: string) =>
    `apiVersion: metalplane.io/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  kubernetes: {version: 1.31.4}
  ssh: {knownHosts: ${ka}, connectTimeoutSeconds: 5}
  hosts:
    - {name: cp1, address: 127.0.0.1, port: ${a.port}, user: ${a.user}, keyFile: ${a.clientKey}, role: controller}
    - {name: w1, address: 127.0.0.1, port: ${b.port}, user: ${a.user}, keyFile: ${a.clientKey}, role: worker}
`
  before(async () => {
    a = await startSshd()
    b = await startSshd({clientKey: a.clientKey})
    dir = mkdtempSync(join(tmpdir(), 'mp-connect-'))
  })
  after(async () => {
    await a?.stop()
    await b?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('connects every host (known_hosts from the spec) and closes them', async () => {
    const kh = join(dir, 'kh-ok')
    writeFileSync(kh, `[127.0.0.1]:${a.port} ${a.hostKeyLine}\n[127.0.0.1]:${b.port} ${b.hostKeyLine}\n`)
    const spec = parseSpec(specText(kh))
    const hosts = await connectHosts(spec)
    try {
      assert.deepEqual(hosts.map((h) => h.name), ['cp1', 'w1'])
      const r = await Promise.all(hosts.map((h) => h.exec('echo ${SSH_CONNECTION##* }')))
      assert.deepEqual(r.map((x) => x.stdout.trim()), [String(a.port), String(b.port)])
      assert.deepEqual(selectHosts(spec, ['w1']).map((h) => h.name), ['w1'])
      assert.throws(() => selectHosts(spec, ['w9']), InputError)
    } finally {
      await closeHosts(hosts)
    }
  })

  it('collects per-host failures; exit code HOST_KEY when all are host-key refusals, FAILURE when mixed', async () => {
    const empty = join(dir, 'kh-empty')
    const spec = parseSpec(specText(empty))
    await assert.rejects(connectHosts(spec), (err: unknown) => {
      assert.ok(err instanceof HostsFailedError)
      assert.equal(err.exitCode, ExitCode.HOST_KEY)
      assert.deepEqual(err.failures.map((f) => f.host), ['cp1', 'w1'])
      assert.match(err.hint ?? '', /--accept-new-host-keys/)
      return true
    })
    const half = join(dir, 'kh-half')
    writeFileSync(half, `[127.0.0.1]:${a.port} ${a.hostKeyLine}\n`)
    const spec2 = parseSpec(specText(half).replace(`port: ${b.port}`, 'port: 1'))
    await assert.rejects(connectHosts(spec2, {knownHostsFile: half}), (err: unknown) => {
      assert.ok(err instanceof HostsFailedError)
      assert.equal(err.exitCode, ExitCode.FAILURE)
      assert.deepEqual(err.failures.map((f) => f.host), ['w1'])
      assert.match(err.failures[0].error, /connection refused/)
      return true
    })
  })
})
