import assert from 'node:assert/strict'
import {existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {WorkflowFailedError, type WorkflowResult} from '../../../src/engine/manager.js'
import {ExitCode, InputError} from '../../../src/errors.js'
import {parseSpec} from '../../../src/spec/load.js'
import {silentLogger} from '../../../src/ui/log.js'
import {redact} from '../../../src/util/redact.js'
import {addNodes, applyCluster, applyPhases} from '../../../src/workflows/apply.js'
import {resetCluster} from '../../../src/workflows/lifecycle.js'
import {formatPlan} from '../../../src/workflows/report.js'
import {fakeCluster, makeBundle, type FakeCluster} from './fake-host.js'

const HOSTS = [
  {name: 'c1', role: 'controller', address: '10.30.0.11'},
  {name: 'w1', role: 'worker', address: '10.30.0.21'},
  {name: 'w2', role: 'worker', address: '10.30.0.22'},
]

const CORE = ['connect', 'facts', 'preflight', 'os', 'containerd', 'kubernetes', 'kubeadm-init', 'join-controllers', 'kube-vip', 'join-workers', 'node-labels', 'kubeconfig']
/** Phases of other components (CNI, storage, GPU) have their own tests; these cover the core. */
let componentPhases: string[] = []
before(async () => {
  componentPhases = (await applyPhases({connector: async () => {}})).names.filter((n) => !CORE.includes(n))
})

function run(c: FakeCluster, dryRun: boolean, extra: Record<string, unknown> = {}): Promise<WorkflowResult> {
  return applyCluster({spec: parseSpec(c.specText), dryRun, concurrency: 4, log: silentLogger, renderer: 'silent', connector: c.connector, skipPhases: componentPhases, ...extra})
}

describe('cluster apply on fake hosts', function () {
  this.timeout(60_000)
  let c: FakeCluster
  let prevState: string | undefined
  beforeEach(() => {
    prevState = process.env.METALPLANE_STATE_DIR
  })
  afterEach(() => {
    if (prevState === undefined) delete process.env.METALPLANE_STATE_DIR
    else process.env.METALPLANE_STATE_DIR = prevState
    if (c) rmSync(c.dir, {recursive: true, force: true})
  })
  const setup = (hosts = HOSTS, o: {vip?: string; version?: string} = {}) => {
    c = fakeCluster(hosts, o)
    process.env.METALPLANE_STATE_DIR = join(c.dir, 'state')
  }

  it('the phase list is ordered and editable by name', async () => {
    const list = await applyPhases({connector: async () => {}})
    const names = list.names
    assert.deepEqual(names.filter((n) => CORE.includes(n)), CORE)
    list.remove('kube-vip').insertAfter('os', {name: 'extra', title: 'Extra', async run() {}})
    assert.equal(list.names[list.names.indexOf('os') + 1], 'extra')
    assert.ok(!list.has('kube-vip'))
  })

  it('plan lists the changes per host (files with diffs, kubeadm steps) and changes nothing', async () => {
    setup()
    const r = await run(c, true)
    assert.equal(r.changed, 0)
    const c1 = r.actions.filter((a) => a.host === 'c1').map((a) => `${a.phase}: ${a.action}`)
    assert.ok(c1.includes('os: create /etc/modules-load.d/metalplane-k8s.conf'), c1.join('\n'))
    assert.ok(c1.some((a) => a.startsWith('containerd: install containerd_1.6.20')), c1.join('\n'))
    assert.ok(c1.includes('containerd: create /etc/containerd/config.toml'))
    assert.ok(c1.includes('containerd: create /etc/containerd/certs.d/registry.k8s.io/hosts.toml'))
    assert.ok(c1.some((a) => a.startsWith('kubernetes: install /usr/local/bin/kubeadm (v1.31.4')))
    assert.ok(c1.some((a) => a.startsWith('kubeadm-init: kubeadm init --upload-certs (config kubeadm.k8s.io/v1beta4')))
    assert.ok(r.actions.some((a) => a.host === 'w2' && a.phase === 'join-workers' && a.action.startsWith('kubeadm join 10.30.0.11:6443')))
    const diff = r.actions.find((a) => a.action === 'create /etc/containerd/config.toml')!.diff!
    assert.match(diff, /^\+\s+SystemdCgroup = true$/m)
    assert.match(diff, /^\+\s+sandbox_image = "registry.k8s.io\/pause:3.10"$/m)
    // Nothing on any host changed.
    for (const h of ['c1', 'w1', 'w2']) {
      assert.equal(c.file(h, '/etc/containerd/config.toml'), undefined)
      assert.ok(!existsSync(join(c.executors.get(h)!.root, 'state/kubeadm-calls')))
      assert.ok(!c.executors.get(h)!.commands.some((x) => /dpkg|modprobe|systemctl (enable|restart)|kubeadm (init|join)/.test(x)), c.executors.get(h)!.commands.join('\n'))
    }
    assert.ok(!existsSync(join(c.dir, 'state', 'clusters', 'unit', 'journal-apply.jsonl')), 'plan writes no journal')
    const text = formatPlan(r, parseSpec(c.specText))
    assert.match(text, /^Cluster unit \(Kubernetes 1.31.4\): \d+ changes on 3 hosts/)
    assert.match(text, /^c1 \(controller\)$/m)
    assert.match(text, /^ +\+SystemdCgroup|^ +\+ +SystemdCgroup = true/m)
    assert.match(text, /Nothing was changed/)
  })

  it('apply builds the cluster; a second apply changes nothing', async () => {
    setup()
    const r1 = await run(c, false)
    assert.ok(r1.ok)
    assert.ok(r1.changed > 0)
    // kubeadm init once on c1, joins on the workers, with configs uploaded 0600 and deleted after.
    const calls = (h: string) => (c.file(h, '/state/kubeadm-calls') ?? '').split('\n').filter((l) => /^(init|join)/.test(l))
    assert.deepEqual(calls('c1').map((l) => l.split(' ')[0]), ['init'])
    assert.match(calls('c1')[0], /--upload-certs/)
    assert.deepEqual(calls('w1').map((l) => l.split(' ')[0]), ['join'])
    assert.equal(c.file('c1', '/state/kubeadm-init.mode')?.trim(), '600')
    assert.equal(c.file('w1', '/state/kubeadm-join.mode')?.trim(), '600')
    for (const h of ['c1', 'w1', 'w2']) assert.deepEqual(readdirSync(c.executors.get(h)!.map('/run/metalplane')), [], `${h}: secret files removed`)
    // No secret on any command line.
    const token = /token: "([a-z0-9]{6}\.[a-z0-9]{16})"/.exec(c.file('c1', '/state/kubeadm-init.yaml')!)![1]
    for (const ex of c.executors.values()) assert.ok(!ex.commands.some((x) => x.includes(token)), 'token never on a command line')
    assert.equal(redact(`x ${token} y`), 'x [REDACTED] y')
    // The worker joins with the token of this run and the CA hash.
    const join1 = c.file('w1', '/state/kubeadm-join.yaml')!
    assert.ok(join1.includes(`token: "${token}"`))
    assert.match(join1, /caCertHashes:\n\s+- "sha256:[0-9a-f]{64}"/)
    assert.match(c.file('w1', '/state/systemd/restarts')!, /containerd/)
    // Support files of the bundle's binaries: <bundle>/lib/** -> /usr/lib/** with their modes.
    assert.equal(statSync(c.executors.get('w2')!.map('/usr/lib/kube-support/helper')).mode & 0o777, 0o750)
    assert.equal(c.file('w1', '/state/sysctl/net.ipv4.ip_forward')?.trim(), '1')
    // The admin kubeconfig reached the user with mode 0600.
    const kc = join(c.dir, 'state', 'clusters', 'unit', 'admin.kubeconfig')
    assert.equal(statSync(kc).mode & 0o777, 0o600)
    assert.match(readFileSync(kc, 'utf8'), /server: "https:\/\/10.30.0.11:6443"/)

    const before = new Map([...c.executors].map(([h, ex]) => [h, ex.commands.length]))
    const r2 = await run(c, false)
    assert.equal(r2.changed, 0, JSON.stringify(r2.phases.map((p) => [p.name, p.steps.map((s) => s.status)])))
    assert.ok(r2.phases.every((p) => p.steps.every((s) => s.status === 'up-to-date')))
    for (const [h, ex] of c.executors) {
      const newCmds = ex.commands.slice(before.get(h))
      assert.ok(!newCmds.some((x) => /dpkg -i|modprobe|sysctl --system|systemctl (enable|restart)|kubeadm (init|join)/.test(x)), `${h}: ${newCmds.join('\n')}`)
    }
    const plan = await run(c, true)
    assert.equal(plan.actions.length, 0)
    assert.match(formatPlan(plan, parseSpec(c.specText)), /nothing to do/)
  })

  it('three controllers with a VIP: init with kube-vip first, controllers join one by one with the certificate key', async () => {
    setup(
      [
        {name: 'c1', role: 'controller', address: '10.30.0.11'},
        {name: 'c2', role: 'controller', address: '10.30.0.12'},
        {name: 'c3', role: 'controller', address: '10.30.0.13'},
        {name: 'w1', role: 'worker', address: '10.30.0.21'},
      ],
      {vip: '10.30.0.10'},
    )
    const r = await run(c, false)
    assert.ok(r.ok)
    const init = c.file('c1', '/state/kubeadm-init.yaml')!
    assert.match(init, /controlPlaneEndpoint: "10.30.0.10:6443"/)
    const key = /certificateKey: "([0-9a-f]{64})"/.exec(init)![1]
    for (const h of ['c2', 'c3']) {
      const j = c.file(h, '/state/kubeadm-join.yaml')!
      assert.ok(j.includes(`certificateKey: "${key}"`), h)
      assert.match(j, /apiServerEndpoint: "10.30.0.10:6443"/)
      assert.match(c.file(h, '/etc/kubernetes/manifests/kube-vip.yaml')!, /value: "10.30.0.10"/)
    }
    assert.ok(!c.file('w1', '/state/kubeadm-join.yaml')!.includes('certificateKey'))
    const jc = r.phases.find((p) => p.name === 'join-controllers')!
    assert.deepEqual(jc.steps.map((s) => s.host), ['c2', 'c3'])
    // After init the first controller's kube-vip uses admin.conf (super-admin.conf only during init).
    assert.match(c.file('c1', '/etc/kubernetes/manifests/kube-vip.yaml')!, /path: \/etc\/kubernetes\/admin.conf/)
    const again = await run(c, false)
    assert.equal(again.changed, 0)
  })

  it('a failed preflight stops before any change, names host and check, exit code 5', async () => {
    setup([
      {name: 'c1', role: 'controller', address: '10.30.0.11'},
      {name: 'w1', role: 'worker', address: '10.30.0.21', facts: {swaps: ['/swapfile']}},
    ])
    await assert.rejects(run(c, false), (e: unknown) => {
      assert.ok(e instanceof WorkflowFailedError)
      assert.equal(e.exitCode, ExitCode.PREFLIGHT)
      assert.match(e.message, /w1: \[Swap\] swap is on \(\/swapfile\)/)
      assert.ok(!e.message.includes('c1:'))
      return true
    })
    for (const ex of c.executors.values()) assert.deepEqual(ex.commands, [], `${ex.name} was not touched`)
  })

  it('a refused disk in local-volumes exits 5 like preflight, naming host and disk, before any disk is touched', async () => {
    setup()
    const disk = '/dev/disk/by-id/nvme-metalplane-unit-no-such-disk'
    c.specText = c.specText.replace('{name: w1, address: 10.30.0.21, role: worker}', `{name: w1, address: 10.30.0.21, role: worker, localVolumes: [{disk: ${disk}}]}`)
    await assert.rejects(run(c, false, {skipPhases: componentPhases.filter((p) => p !== 'local-volumes')}), (e: unknown) => {
      assert.ok(e instanceof WorkflowFailedError)
      assert.match(e.message, /phase "local-volumes"/)
      assert.equal(e.exitCode, ExitCode.PREFLIGHT)
      assert.match(e.message, new RegExp(`w1: disk ${disk} does not exist`))
      return true
    })
    for (const ex of c.executors.values()) assert.ok(!ex.commands.some((x) => /sgdisk|wipefs|mkfs|dpkg|kubeadm (init|join)/.test(x)), ex.commands.join('\n'))
  })

  it('bad input (unknown phase, missing bundle) fails with exit code 2 before connecting', async () => {
    setup()
    let connected = false
    const spec = parseSpec(c.specText)
    const o = {spec, dryRun: false, concurrency: 2, log: silentLogger, renderer: 'silent' as const, connector: async () => void (connected = true)}
    await assert.rejects(applyCluster({...o, skipPhases: ['nope']}), (e: unknown) => e instanceof InputError && e.exitCode === ExitCode.BAD_INPUT && /nope/.test(e.message))
    rmSync(join(c.bundle, 'bin', 'kubelet'))
    await assert.rejects(applyCluster(o), (e: unknown) => e instanceof InputError && /kubelet is missing/.test(e.message))
    assert.equal(connected, false)
  })

  it('a run that failed midway resumes: finished steps are not repeated', async () => {
    setup()
    // Break the join of w2 once.
    const w2 = c.executors.get('w2')!
    const orig = w2.exec.bind(w2)
    let broken = true
    w2.exec = async (cmd, opts) => {
      if (broken && cmd.includes('kubeadm join')) throw new Error('network glitch')
      return orig(cmd, opts)
    }
    await assert.rejects(run(c, false), /join-workers.*failed on 1 host/s)
    broken = false
    const r = await run(c, false)
    assert.ok(r.resumedFrom, 'resumed the failed run')
    const statuses = Object.fromEntries(r.phases.map((p) => [p.name, p.steps.map((s) => `${s.host}:${s.status}`).join(',')]))
    assert.equal(statuses['kubeadm-init'], '', 'the cluster is initialised: no init target at all')
    assert.equal(statuses['containerd'], 'c1:resumed,w1:resumed,w2:resumed')
    assert.equal(statuses['join-workers'], 'w1:resumed,w2:done')
    assert.equal((c.file('c1', '/state/kubeadm-calls') ?? '').split('\n').filter((l) => l.startsWith('init ')).length, 1)
    // A new token was created on c1 for the join of the resumed run.
    assert.ok(c.file('c1', '/state/kubeadm-calls')!.includes('token create'))
  })

  it('a bundle of another version is refused before any change; so is a version change of a running cluster', async () => {
    setup()
    const spec132 = c.specText.replace('version: 1.31.4', 'version: 1.32.0')
    await assert.rejects(
      applyCluster({spec: parseSpec(spec132), dryRun: false, concurrency: 4, log: silentLogger, renderer: 'silent', connector: c.connector, skipPhases: componentPhases}),
      (e: unknown) => e instanceof InputError && /the bundle's kubeadm is v1.31.4, the spec wants v1.32.0/.test(e.message),
    )
    for (const ex of c.executors.values()) assert.ok(!ex.commands.some((x) => /dpkg|install|kubeadm/.test(x)), ex.name)
    await run(c, false)
    const b132 = makeBundle(join(c.dir, 'b132'), '1.32.0')
    const upgraded = parseSpec(spec132.replace(c.bundle, b132))
    await assert.rejects(
      applyCluster({spec: upgraded, dryRun: false, concurrency: 4, log: silentLogger, renderer: 'silent', connector: c.connector, skipPhases: componentPhases}),
      /c1 runs Kubernetes v1.31.4 and the spec says v1.32.0: changing the version of a running cluster is an upgrade/,
    )
  })

  it('a bundle whose debs do not bring conntrack/iptables fails naming the packages', async () => {
    setup()
    for (const ex of c.executors.values()) {
      // the fake dpkg brings only containerd and runc
      const dpkg = join(ex.root, 'fakebin', 'dpkg')
      writeFileSync(dpkg, readFileSync(dpkg, 'utf8').replace('for c in containerd runc conntrack iptables', 'for c in containerd runc'))
    }
    await assert.rejects(run(c, false), (e: unknown) => {
      assert.ok(e instanceof WorkflowFailedError)
      assert.match(e.message, /phase "containerd" failed/)
      // (iptables may exist on the machine running the tests; conntrack must be reported)
      assert.match(e.message, /conntrack(, iptables)? (is|are) still missing: add the Debian package\(s\) conntrack(, iptables)? and their dependencies to .*\/debs/)
      return true
    })
  })

  it('a failed kubeadm init is undone with kubeadm reset so the next run retries cleanly', async () => {
    setup()
    const c1 = c.executors.get('c1')!
    const orig = c1.exec.bind(c1)
    let fail = true
    c1.exec = async (cmd, opts) => {
      if (fail && cmd.includes('kubeadm init --config')) {
        await orig(cmd, opts)
        throw new Error('control plane did not come up')
      }
      return orig(cmd, opts)
    }
    await assert.rejects(run(c, false), /c1: control plane did not come up\n\s+\(undone with kubeadm reset/)
    assert.equal(c.file('c1', '/etc/kubernetes/admin.conf'), undefined, 'reset removed the half-initialised state')
    fail = false
    const r = await run(c, false)
    assert.ok(r.ok)
    assert.equal((c.file('c1', '/state/kubeadm-calls') ?? '').split('\n').filter((l) => l.startsWith('init ')).length, 2)
  })

  it('node add joins only the new host; reset tears down and the next apply starts fresh', async () => {
    setup()
    await run(c, false)
    const bigger = fakeCluster([...HOSTS, {name: 'w3', role: 'worker', address: '10.30.0.23'}])
    // Move w3's fake host into this cluster.
    const w3 = bigger.executors.get('w3')!
    c.executors.set('w3', w3)
    const spec = parseSpec(c.specText.replace('    - {name: w2', '    - {name: w3, address: 10.30.0.23, role: worker}\n    - {name: w2'))
    const r = await addNodes({spec, dryRun: false, concurrency: 4, log: silentLogger, renderer: 'silent', connector: c.connector, skipPhases: componentPhases})
    const touched = new Set(r.phases.flatMap((p) => p.steps.filter((s) => s.status === 'done').map((s) => s.host)))
    assert.deepEqual([...touched].sort(), ['w3'])
    assert.match(w3.commands.join('\n'), /kubeadm join/)
    rmSync(bigger.dir, {recursive: true, force: true})

    const rr = await resetCluster({spec: parseSpec(c.specText), dryRun: false, concurrency: 4, log: silentLogger, renderer: 'silent', connector: c.connector})
    assert.ok(rr.ok)
    assert.deepEqual(rr.phases.find((p) => p.name === 'reset-controllers')!.steps.map((s) => s.status), ['done'])
    assert.equal(c.file('c1', '/etc/kubernetes/admin.conf'), undefined)
    const again = await resetCluster({spec: parseSpec(c.specText), dryRun: false, concurrency: 4, log: silentLogger, renderer: 'silent', connector: c.connector})
    assert.equal(again.changed, 0)
  })
})
