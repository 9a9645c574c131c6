import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'
import {cli} from '../helpers/cli.js'
import {fingerprint} from '../../src/hosts/known-hosts.js'
import {startSshd, type TestSshd} from '../unit/hosts/sshd.js'

/** `metalplane hosts exec` and `hosts facts` (built CLI) against two real sshd on loopback. */
describe('hosts exec / hosts facts (CLI)', function () {
  this.timeout(120_000)
  let a: TestSshd
  let b: TestSshd
  let dir: string
  let spec: string
  let kh: string

  before(async () => {
    a = await startSshd()
    b = await startSshd({clientKey: a.clientKey})
    dir = mkdtempSync(join(tmpdir(), 'mp-hosts-cli-'))
    spec = join(dir, 'cluster.yaml')
    kh = join(dir, 'known_hosts')
    writeFileSync(kh, `[127.0.0.1]:${a.port} ${a.hostKeyLine}\n[127.0.0.1]:${b.port} ${b.hostKeyLine}\n`)
    const host = (name: string, port: number, role: string) =>
      `    - name: ${name}\n      address: 127.0.0.1\n      port: ${port}\n      user: ${a.user}\n      keyFile: ${a.clientKey}\n      role: ${role}\n`
    writeFileSync(
      spec,
      'apiVersion: metalplane.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: test\nspec:\n  kubernetes:\n    version: 1.31.4\n  ssh:\n    connectTimeoutSeconds: 5\n  hosts:\n' +
        host('node1', a.port, 'controller') +
        host('node2', b.port, 'worker') +
        host('node3', 1, 'worker'), // nothing listens on port 1
    )
  })
  after(async () => {
    await a?.stop()
    await b?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('streams "host | line" output and exits 0 when every host does', () => {
    const r = cli(['hosts', 'exec', '-c', spec, '--known-hosts', kh, '--hosts', 'node1,node2', '--', 'echo', 'hello;', 'echo warn >&2'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.stdout.split('\n').filter(Boolean).sort(), ['node1 | hello', 'node2 | hello'])
    assert.match(r.stderr, /node1 \| warn/)
    assert.match(r.stderr, /2\/2 hosts exited 0/)
  })

  it('exits with the worst exit code; --json gives each host code, stdout and stderr', () => {
    const cmd = `p=\${SSH_CONNECTION##* }; echo "port $p"; [ "$p" = ${b.port} ] && { echo bad >&2; exit 3; }; exit 0`
    const r = cli(['hosts', 'exec', '-c', spec, '--known-hosts', kh, '--hosts', 'node1,node2', '--json', '--', cmd])
    assert.equal(r.code, 3, r.stderr)
    assert.ok(r.json, r.stdout)
    assert.equal(r.json.exitCode, 3)
    assert.deepEqual(
      r.json.hosts.map((h: any) => ({host: h.host, code: h.code, stdout: h.stdout, stderr: h.stderr})),
      [
        {host: 'node1', code: 0, stdout: `port ${a.port}\n`, stderr: ''},
        {host: 'node2', code: 3, stdout: `port ${b.port}\n`, stderr: 'bad\n'},
      ],
    )
  })

  it('a host that cannot be reached makes the exit code non-zero and is reported', () => {
    const r = cli(['hosts', 'exec', '-c', spec, '--known-hosts', kh, '--json', '--', 'true'])
    assert.equal(r.code, 1, r.stderr)
    const n3 = r.json.hosts.find((h: any) => h.host === 'node3')
    assert.equal(n3.code, null)
    assert.match(n3.error, /connection refused/)
    assert.deepEqual(r.json.hosts.filter((h: any) => h.code === 0).map((h: any) => h.host), ['node1', 'node2'])
    const plain = cli(['hosts', 'exec', '-c', spec, '--known-hosts', kh, '--', 'true'])
    assert.equal(plain.code, 1)
    assert.match(plain.stderr, /node3=unreachable/)
  })

  it('refuses unknown host keys with exit 4 and the fingerprint; --accept-new-host-keys records them', () => {
    const fresh = join(dir, 'kh-fresh')
    const r = cli(['hosts', 'exec', '-c', spec, '--known-hosts', fresh, '--hosts', 'node1', '--', 'true'])
    assert.equal(r.code, 4, r.stderr)
    assert.ok(r.stderr.includes(fingerprint(a.hostKeyBlob)), r.stderr)
    assert.match(r.stderr, /--accept-new-host-keys/)
    const acc = cli(['hosts', 'exec', '-c', spec, '--known-hosts', fresh, '--hosts', 'node1,node2', '--accept-new-host-keys', '--', 'true'])
    assert.equal(acc.code, 0, acc.stderr)
    assert.equal(readFileSync(fresh, 'utf8').split('\n').filter(Boolean).length, 2)
    const again = cli(['hosts', 'exec', '-c', spec, '--known-hosts', fresh, '--hosts', 'node1,node2', '--', 'true'])
    assert.equal(again.code, 0, again.stderr)
  })

  it('refuses a changed host key with exit 4 even with --accept-new-host-keys', () => {
    const changed = join(dir, 'kh-changed')
    writeFileSync(changed, `[127.0.0.1]:${a.port} ${b.hostKeyLine}\n`)
    const r = cli(['hosts', 'exec', '-c', spec, '--known-hosts', changed, '--hosts', 'node1', '--accept-new-host-keys', '--json', '--', 'true'])
    assert.equal(r.code, 4, r.stderr)
    assert.match(r.json.hosts[0].error, /CHANGED/)
    assert.equal(readFileSync(changed, 'utf8'), `[127.0.0.1]:${a.port} ${b.hostKeyLine}\n`)
  })

  it('bad input: no command, unknown host name', () => {
    const r = cli(['hosts', 'exec', '-c', spec, '--known-hosts', kh])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /no command given/)
    const u = cli(['hosts', 'exec', '-c', spec, '--known-hosts', kh, '--hosts', 'nope', '--', 'true'])
    assert.equal(u.code, 2)
    assert.match(u.stderr, /no host named "nope"/)
  })

  it('hosts facts: a table, and --json with typed facts per host', () => {
    const r = cli(['hosts', 'facts', '-c', spec, '--known-hosts', kh, '--hosts', 'node1,node2', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.json.hosts.map((h: any) => h.host), ['node1', 'node2'])
    const f = r.json.hosts[0].facts
    assert.equal(f.hostname, hostname())
    assert.ok(f.cpu.count >= 1)
    assert.ok(f.memory.totalBytes > 0)
    assert.ok(f.listeningTcpPorts.includes(a.port), `sshd's port ${a.port} is listening`)
    assert.deepEqual(r.json.failures, [])
    const t = cli(['hosts', 'facts', '-c', spec, '--known-hosts', kh])
    assert.equal(t.code, 1)
    assert.match(t.stdout, /^HOST\s+OS\s+KERNEL/)
    assert.match(t.stdout, /\nnode1\s/)
    assert.match(t.stderr, /node3: cannot connect/)
  })
})
