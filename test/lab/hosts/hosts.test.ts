/**
 * The SSH host layer on real lab hosts (nspawn, one network namespace each, own sshd and host key):
 * facts, exec fan-out, sudo for a non-root login, uploads, and host keys refused.
 */
import assert from 'node:assert/strict'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {stringify} from 'yaml'
import {ExitCode, HostsFailedError, MetalplaneError} from '../../../src/errors.js'
import {closeHosts, connectHosts} from '../../../src/hosts/connect.js'
import {gatherFacts} from '../../../src/hosts/facts.js'
import {execOnHosts} from '../../../src/hosts/fanout.js'
import {fingerprint, parseKnownHosts} from '../../../src/hosts/known-hosts.js'
import {loadSpec} from '../../../src/spec/load.js'
import type {ClusterSpec} from '../../../src/spec/schema.js'
import {cli} from '../../helpers/cli.js'
import {withLab} from '../helpers/lab.js'

describe('hosts on the lab', function () {
  this.timeout(300_000)
  const lab = withLab('hosts', 3)
  let spec: ClusterSpec
  let dir: string

  before(async () => {
    spec = (await loadSpec(lab.info.clusterYaml)).spec
    dir = await mkdtemp(join(tmpdir(), 'mp-lab-hosts-'))
  })
  after(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('gathers facts from every host', async () => {
    const hosts = await connectHosts(spec)
    try {
      assert.equal(hosts.length, 3)
      const facts = await Promise.all(hosts.map((h) => gatherFacts(h)))
      for (const [i, f] of facts.entries()) {
        const h = lab.hosts[i]
        assert.equal(f.hostname, h.name)
        assert.equal(f.os.id, 'debian')
        assert.ok(f.kernel.length > 0)
        assert.ok(f.cpu.count >= 1)
        assert.ok(f.memory.totalBytes > 0)
        assert.ok(f.cgroupVersion === 1 || f.cgroupVersion === 2)
        const eth0 = f.nics.find((n) => n.name === 'eth0')
        assert.ok(eth0, JSON.stringify(f.nics))
        assert.ok(eth0.addresses.some((a) => a.address === h.address), JSON.stringify(eth0))
        assert.ok(f.listeningTcpPorts.includes(22))
      }
      const macs = new Set(facts.map((f) => f.nics.find((n) => n.name === 'eth0')!.mac))
      assert.equal(macs.size, 3, 'each host has its own NIC')
    } finally {
      await closeHosts(hosts)
    }
  })

  it('fans a command out: per-host output and the worst exit code', async () => {
    const lines: string[] = []
    const r = await execOnHosts(spec, 'hostname; [ "$(hostname)" = node2 ] && exit 5; exit 0', {onLine: (h, s, l) => lines.push(`${h}|${s}|${l}`)})
    assert.equal(r.exitCode, 5)
    assert.deepEqual(r.hosts.map((h) => [h.host, h.code, h.stdout]), [['node1', 0, 'node1\n'], ['node2', 5, 'node2\n'], ['node3', 0, 'node3\n']])
    assert.deepEqual(lines.sort(), ['node1|stdout|node1', 'node2|stdout|node2', 'node3|stdout|node3'])
    const c = cli(['hosts', 'exec', '-c', lab.info.clusterYaml, '--json', '--', 'cat /etc/hostname'])
    assert.equal(c.code, 0, c.stderr)
    assert.deepEqual(c.json.hosts.map((h: {stdout: string}) => h.stdout.trim()), ['node1', 'node2', 'node3'])
  })

  it('as a non-root user: commands run through sudo -n, uploads land root-owned with the mode, timeouts kill the command', async () => {
    const sudoSpec: ClusterSpec = {...spec, spec: {...spec.spec, hosts: spec.spec.hosts.map((h) => ({...h, user: lab.info.sudoUser}))}}
    const [host] = await connectHosts(sudoSpec, {hosts: ['node1']})
    try {
      assert.equal((await host.exec('id -u')).stdout.trim(), '0')
      assert.equal((await host.executor.exec('id -un')).stdout.trim(), lab.info.sudoUser, 'without sudo: the login user')
      await host.executor.upload('secret: 1\n', '/etc/metalplane-test/conf.yaml', {mode: 0o640, sudo: true})
      assert.equal((await host.exec('stat -c "%U %a" /etc/metalplane-test/conf.yaml')).stdout.trim(), 'root 640')
      assert.equal((await host.executor.download('/etc/metalplane-test/conf.yaml', {sudo: true}))?.toString(), 'secret: 1\n')
      assert.equal(await host.executor.download('/etc/metalplane-test/missing', {sudo: true}), undefined)
      assert.equal((await host.exec('ls -A /tmp | grep -c metalplane-upload || true')).stdout.trim(), '0', 'staged copy removed')
      const r = await host.exec('sleep 47.25', {timeoutMs: 500, allowFail: true})
      assert.equal(r.code, null)
      await new Promise((res) => setTimeout(res, 2500))
      assert.equal((await host.exec('pgrep -f "[s]leep 47.25" || true')).stdout.trim(), '')
      await host.exec('rm -rf /etc/metalplane-test')
    } finally {
      await closeHosts([host])
    }
  })

  it('says so clearly when sudo wants a password', async () => {
    const h3 = lab.hosts[2]
    const user = lab.info.sudoUser
    const set = await lab.ssh(h3, `echo '${user} ALL=(ALL) ALL' > /etc/sudoers.d/${user}`)
    assert.equal(set.exitCode, 0, String(set.stderr))
    const sudoSpec: ClusterSpec = {...spec, spec: {...spec.spec, hosts: spec.spec.hosts.map((h) => ({...h, user}))}}
    const [host] = await connectHosts(sudoSpec, {hosts: ['node3']})
    try {
      await assert.rejects(host.exec('true', {allowFail: true}), (err: unknown) => {
        assert.ok(err instanceof MetalplaneError)
        assert.equal(err.code, 'SUDO_PASSWORD')
        assert.match(err.message, new RegExp(`node3: sudo asks user ${user} for a password`))
        assert.match(err.hint ?? '', /NOPASSWD/)
        return true
      })
    } finally {
      await closeHosts([host])
      await lab.ssh(h3, `echo '${user} ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/${user}`)
    }
  })

  it('refuses unknown host keys (exit 4, fingerprint) and changed ones even with accept-new', async () => {
    const known = parseKnownHosts(await readFile(lab.info.knownHosts, 'utf8'))
    const empty = join(dir, 'known_hosts_empty')
    await assert.rejects(connectHosts(spec, {knownHostsFile: empty}), (err: unknown) => {
      assert.ok(err instanceof HostsFailedError)
      assert.equal(err.exitCode, ExitCode.HOST_KEY)
      assert.equal(err.failures.length, 3)
      for (const e of known) assert.ok(err.message.includes(fingerprint(e.key)), err.message)
      return true
    })
    // node1's entry holds node2's key: a changed key for node1
    const swapped = join(dir, 'known_hosts_swapped')
    const h1 = lab.hosts[0]
    const other = known.find((e) => !e.patterns.includes(h1.address))!
    await writeFile(swapped, `${h1.address} ${other.keyType} ${other.key.toString('base64')}\n`)
    const hosts = await connectHosts(spec, {knownHostsFile: swapped, acceptNewHostKeys: true, hosts: ['node1']}).catch((e: unknown) => e)
    assert.ok(hosts instanceof HostsFailedError, String(hosts))
    assert.equal(hosts.exitCode, ExitCode.HOST_KEY)
    assert.match(hosts.message, /CHANGED/)
    assert.equal(await readFile(swapped, 'utf8'), `${h1.address} ${other.keyType} ${other.key.toString('base64')}\n`)
    // the CLI says the same with exit code 4
    await writeFile(join(dir, 'c.yaml'), stringify({...spec, spec: {...spec.spec, ssh: {...spec.spec.ssh, knownHosts: swapped}}}))
    const c = cli(['hosts', 'facts', '-c', join(dir, 'c.yaml'), '--hosts', 'node1', '--accept-new-host-keys'])
    assert.equal(c.code, 4, c.stderr)
    assert.match(c.stderr, /CHANGED/)
  })
})
