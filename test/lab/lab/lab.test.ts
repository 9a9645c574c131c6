import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import {parse} from 'yaml'
import {labDown, labStatus, labUp, sshAnswers} from '../../../src/lab/lab.js'
import {aptMirror} from '../../../src/lab/rootfs.js'
import {labDir, type LabState} from '../../../src/lab/state.js'
import {tool} from '../../../src/lab/tools.js'
import {ExitCode, InputError, MetalplaneError, MissingDependencyError} from '../../../src/errors.js'
import {ClusterSpec} from '../../../src/spec/schema.js'
import {labSshArgs, TEST_LAB_STATE_DIR, withLab} from '../helpers/lab.js'

const repoRoot = new URL('../../..', import.meta.url).pathname

async function netnsList(): Promise<string[]> {
  const r = await execa('ip', ['netns', 'list'])
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0])
    .filter(Boolean)
}

function ownNetns(all: string[], name: string): string[] {
  return all.filter((n) => n === `mpl-${name}` || n.startsWith(`mpl-${name}-h`))
}

function mountsMentioning(path: string): string[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter((l) => l.includes(path))
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return !/\) [ZX] /.test(stat)
  } catch {
    return false
  }
}

async function readState(name: string): Promise<LabState | undefined> {
  try {
    return JSON.parse(await readFile(join(labDir(name, TEST_LAB_STATE_DIR), 'lab.json'), 'utf8')) as LabState
  } catch {
    return undefined
  }
}

/** Everything a lab may leave behind is gone. */
async function assertNoTrace(name: string, pids: number[]): Promise<void> {
  const dir = labDir(name, TEST_LAB_STATE_DIR)
  assert.deepEqual(ownNetns(await netnsList(), name), [], 'no namespaces of the lab')
  assert.deepEqual(mountsMentioning(dir), [], 'no mounts under the lab dir')
  for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} is gone`)
  assert.equal(existsSync(dir), false, 'lab dir removed')
  const links = await execa('ip', ['-o', 'link', 'show'])
  assert.equal(links.stdout.includes(`mpl-${name}:`) || links.stdout.includes(`mpl-${name}@`), false, 'no root-side veth')
  const ps = await execa('ps', ['-eo', 'pid,stat,args'])
  const left = ps.stdout.split('\n').filter((l) => l.includes(`/run/netns/mpl-${name}-h`) && !/\s[ZX]\S*\s/.test(l))
  assert.deepEqual(left, [], 'no nspawn of the lab')
}

describe('lab: SSH hosts in network namespaces', function () {
  describe('a 3-host lab', function () {
    const lab = withLab('labt-main', 3)

    it('describes 3 hosts and writes a valid cluster spec', async () => {
      const info = lab.info
      assert.equal(info.hosts.length, 3)
      assert.deepEqual(
        info.hosts.map((h) => h.name),
        ['node1', 'node2', 'node3'],
      )
      assert.match(info.subnet, /^10\.77\.\d+\.0\/24$/)
      const prefix = info.subnet.replace(/\.0\/24$/, '')
      assert.deepEqual(
        info.hosts.map((h) => h.address),
        [`${prefix}.11`, `${prefix}.12`, `${prefix}.13`],
      )
      const doc = parse(await readFile(info.clusterYaml, 'utf8'))
      const spec = ClusterSpec.parse(doc)
      assert.equal(spec.metadata.name, 'labt-main')
      assert.equal(spec.spec.kubernetes.version, '1.31.4')
      assert.equal(spec.spec.ssh.knownHosts, info.knownHosts)
      assert.deepEqual(
        spec.spec.hosts.map((h) => [h.name, h.address, h.user, h.keyFile, h.role]),
        info.hosts.map((h, i) => [h.name, h.address, 'root', info.keyFile, i === 0 ? 'controller' : 'worker']),
      )
      const mode = (await execa('stat', ['-c', '%a', info.keyFile])).stdout.trim()
      assert.equal(mode, '600')
    })

    it('each host answers with its own host key, the one in known_hosts', async () => {
      const info = lab.info
      const lines = (await readFile(info.knownHosts, 'utf8')).trim().split('\n')
      assert.equal(lines.length, 3)
      const keys = lines.map((l) => l.split(' ').slice(1).join(' '))
      assert.equal(new Set(keys).size, 3, 'host keys differ')
      for (const [i, h] of info.hosts.entries()) {
        assert.ok(lines[i].startsWith(`${h.address} ssh-ed25519 `))
        const r = await lab.ssh(h, 'hostname')
        assert.equal(r.exitCode, 0, String(r.stderr))
        assert.equal(String(r.stdout).trim(), h.name)
      }
    })

    it('refuses a host whose key does not match known_hosts', async () => {
      const info = lab.info
      const lines = (await readFile(info.knownHosts, 'utf8')).trim().split('\n')
      // host 1's key filed under host 2's address
      const wrong = join(info.dir, 'known_hosts.wrong')
      await writeFile(wrong, `${info.hosts[1].address} ${lines[0].split(' ').slice(1).join(' ')}\n`)
      const args = labSshArgs({...info, knownHosts: wrong}, info.hosts[1])
      const r = await execa('ssh', [...args, 'true'], {reject: false})
      assert.notEqual(r.exitCode, 0)
      assert.match(String(r.stderr), /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/)
    })

    it('has a non-root user with passwordless sudo and the lab key', async () => {
      const h = lab.hosts[0]
      const r = await lab.ssh(h, 'id -un && sudo -n true && sudo -n id -u', {user: lab.info.sudoUser})
      assert.equal(r.exitCode, 0, String(r.stderr))
      assert.deepEqual(String(r.stdout).trim().split('\n'), ['metal', '0'])
    })

    it('hosts run systemd with full python3 and reach each other by name', async () => {
      const h = lab.hosts[0]
      const r = await lab.ssh(h, 'test "$(ps -o comm= -p 1)" = systemd && python3 -c "import json, ssl; print(42)" && getent hosts node3 && ip -4 -o addr show dev eth0')
      assert.equal(r.exitCode, 0, String(r.stderr))
      assert.match(String(r.stdout), /^42$/m)
      assert.match(String(r.stdout), new RegExp(`${lab.hosts[2].address.replace(/\./g, '\\.')}\\s+node3`))
    })

    it('refuses a second lab on the same subnet and a lab that already exists, leaving the first alone', async () => {
      await assert.rejects(labUp({name: 'labt-clash', subnet: lab.info.subnet, stateDir: TEST_LAB_STATE_DIR}), (e: unknown) => {
        assert.ok(e instanceof InputError)
        assert.match(e.message, /already used by lab "labt-main"/)
        return true
      })
      assert.equal(existsSync(labDir('labt-clash', TEST_LAB_STATE_DIR)), false)
      await assert.rejects(labUp({name: 'labt-main', stateDir: TEST_LAB_STATE_DIR}), /already exists/)
      assert.ok(await sshAnswers(lab.hosts[0].address))
    })

    it('status shows every host running with ssh up', async () => {
      const s = await labStatus('labt-main', {stateDir: TEST_LAB_STATE_DIR})
      assert.equal(s.exists, true)
      assert.equal(s.phase, 'up')
      assert.deepEqual(
        s.hosts.map((h) => [h.name, h.running, h.ssh]),
        [
          ['node1', true, true],
          ['node2', true, true],
          ['node3', true, true],
        ],
      )
    })
  })

  describe('inputs and dependencies', function () {
    it('names the apt package of a missing tool', async () => {
      await assert.rejects(tool('debootstrap', ['/nonexistent']), (e: unknown) => {
        assert.ok(e instanceof MissingDependencyError)
        assert.equal(e.exitCode, ExitCode.MISSING_DEPENDENCY)
        assert.equal(e.hint, 'Install it with: apt-get install -y debootstrap')
        return true
      })
      for (const [t, pkg] of [['systemd-nspawn', 'systemd-container'], ['ip', 'iproute2'], ['ssh-keygen', 'openssh-client']] as const)
        await assert.rejects(tool(t, ['/nonexistent']), (e: unknown) => e instanceof MissingDependencyError && e.hint === `Install it with: apt-get install -y ${pkg}`)
    })

    it('takes the Debian mirror from apt sources (deb822 and one-line)', async () => {
      const etc = await mkdtemp(join(tmpdir(), 'mpl-apt-'))
      try {
        await mkdir(join(etc, 'sources.list.d'))
        await writeFile(
          join(etc, 'sources.list.d/debian.sources'),
          'Types: deb\n# a comment\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n\n' +
            'Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n',
        )
        assert.equal(await aptMirror('bookworm', etc), 'http://mirror.example/debian')
        await rm(join(etc, 'sources.list.d/debian.sources'))
        await writeFile(join(etc, 'sources.list'), '# deb http://old/ bookworm main\ndeb [arch=amd64] http://other.example/debian bookworm main\n')
        assert.equal(await aptMirror('bookworm', etc), 'http://other.example/debian')
        await rm(join(etc, 'sources.list'))
        await assert.rejects(aptMirror('bookworm', etc), (e: unknown) => e instanceof MetalplaneError && /no Debian mirror/.test(e.message))
      } finally {
        await rm(etc, {recursive: true, force: true})
      }
    })

    it('rejects bad names, subnets and host counts before touching anything', async () => {
      await assert.rejects(labUp({name: 'Bad_Name'}), InputError)
      await assert.rejects(labUp({name: 'x-h1'}), InputError)
      await assert.rejects(labUp({name: 'ok', subnet: '10.78.1.0/24'}), InputError)
      await assert.rejects(labUp({name: 'ok', hosts: 0}), InputError)
      assert.equal(existsSync(labDir('ok', TEST_LAB_STATE_DIR)), false)
    })
  })

  describe('lab down', function () {
    const name = 'labt-down'
    after(async () => {
      await labDown(name, {stateDir: TEST_LAB_STATE_DIR})
    })

    it('removes processes, mounts, namespaces, veths and the lab dir', async function () {
      this.timeout(10 * 60_000)
      await labDown(name, {stateDir: TEST_LAB_STATE_DIR})
      const info = await labUp({name, hosts: 2, subnet: '10.77.251.0/24', stateDir: TEST_LAB_STATE_DIR})
      assert.equal(info.subnet, '10.77.251.0/24')
      assert.equal(info.hosts[0].address, '10.77.251.11')
      assert.ok(await sshAnswers('10.77.251.12'))
      const state = (await readState(name))!
      assert.equal(state.pids.length, 2)
      assert.equal(state.mounts.length, 2)
      assert.deepEqual(ownNetns(await netnsList(), name).sort(), [`mpl-${name}`, `mpl-${name}-h1`, `mpl-${name}-h2`])
      assert.equal(mountsMentioning(state.dir).length, 2)

      const r = await labDown(name, {stateDir: TEST_LAB_STATE_DIR})
      assert.equal(r.existed, true)
      await assertNoTrace(name, state.pids.map((p) => p.pid))
      assert.equal(await sshAnswers('10.77.251.12', 22, 300), false)
      const status = await labStatus(name, {stateDir: TEST_LAB_STATE_DIR})
      assert.equal(status.exists, false)
    })

    it('runs by itself when lab up fails', async function () {
      this.timeout(120_000)
      const failing = 'labt-fail'
      await labDown(failing, {stateDir: TEST_LAB_STATE_DIR})
      // no time for sshd to answer
      await assert.rejects(labUp({name: failing, hosts: 2, timeoutSeconds: 0, stateDir: TEST_LAB_STATE_DIR}), /did not answer in time/)
      await assertNoTrace(failing, [])
    })

    it('of a lab that does not exist is a no-op', async () => {
      const r = await labDown('labt-never', {stateDir: TEST_LAB_STATE_DIR})
      assert.equal(r.existed, false)
      assert.deepEqual(r.stopped, [])
    })
  })

  describe('lab down after a crash', function () {
    const killed = 'labt-killed'
    const partial = 'labt-partial'
    after(async () => {
      await labDown(killed, {stateDir: TEST_LAB_STATE_DIR})
      await labDown(partial, {stateDir: TEST_LAB_STATE_DIR})
      await execa('ip', ['netns', 'del', `mpl-${partial}-h2`], {reject: false})
    })

    it('cleans up after `lab up` is killed mid-way', async function () {
      this.timeout(10 * 60_000)
      await labDown(killed, {stateDir: TEST_LAB_STATE_DIR})
      const script = `import {labUp} from ${JSON.stringify(join(repoRoot, 'src/lab/lab.ts'))}
        await labUp({name: ${JSON.stringify(killed)}, hosts: 6, stateDir: ${JSON.stringify(TEST_LAB_STATE_DIR)}})`
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {cwd: repoRoot, stdio: 'ignore'})
      let state: LabState | undefined
      try {
        // kill it once some hosts are booting but before it finished
        const deadline = Date.now() + 5 * 60_000
        for (;;) {
          state = await readState(killed)
          if (state && state.pids.length >= 1) break
          if (child.exitCode !== null) assert.fail(`lab up exited (${child.exitCode}) before it could be killed`)
          assert.ok(Date.now() < deadline, 'lab up did not start hosts in time')
          await new Promise((r) => setTimeout(r, 2))
        }
        child.kill('SIGKILL')
        await new Promise((r) => (child.exitCode === null && child.signalCode === null ? child.once('exit', r) : r(null)))
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      }
      state = (await readState(killed))!
      assert.equal(state.phase, 'creating', 'killed before it finished')
      assert.ok(ownNetns(await netnsList(), killed).length > 0, 'left namespaces behind')
      const pids = state.pids.map((p) => p.pid)
      // give the orphaned hosts a moment: they keep running without the CLI
      assert.ok(pids.some(alive), 'hosts outlive the killed CLI')

      const r = await labDown(killed, {stateDir: TEST_LAB_STATE_DIR})
      assert.equal(r.existed, true)
      await assertNoTrace(killed, pids)
    })

    it('cleans up from a partial lab.json and unrecorded namespaces', async function () {
      this.timeout(120_000)
      await labDown(partial, {stateDir: TEST_LAB_STATE_DIR})
      const dir = labDir(partial, TEST_LAB_STATE_DIR)
      const merged = join(dir, 'hosts/node1/merged')
      await mkdir(merged, {recursive: true})
      // what a crash right after these steps leaves: lab.json knows mpl-<name> and h1 and the mount,
      // not h2 (created after the last write)
      await execa('ip', ['netns', 'add', `mpl-${partial}`])
      await execa('ip', ['netns', 'add', `mpl-${partial}-h1`])
      await execa('ip', ['netns', 'add', `mpl-${partial}-h2`])
      await execa('mount', ['-t', 'tmpfs', 'tmpfs', merged])
      const state: Partial<LabState> = {
        version: 1,
        name: partial,
        subnet: '10.77.252.0/24',
        dir,
        phase: 'creating',
        netns: [`mpl-${partial}`, `mpl-${partial}-h1`],
        veths: [],
        mounts: [merged],
        pids: [],
        dirs: [dir],
        hosts: [],
      }
      await writeFile(join(dir, 'lab.json'), JSON.stringify(state))
      const r = await labDown(partial, {stateDir: TEST_LAB_STATE_DIR})
      assert.equal(r.existed, true)
      assert.deepEqual(r.unmounted, [merged])
      await assertNoTrace(partial, [])
    })
  })
})
