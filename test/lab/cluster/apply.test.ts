// cluster plan/apply on real SSH hosts (nspawn, systemd inside): containerd really installed
// from Debian's .debs and running under systemd; kubeadm/kubelet/kubectl are the project's
// stand-ins (test/standins: strict config checks, real PKI, an apiserver behind kubelet.service;
// no registry here serves the real ones). runc cannot start containers inside nspawn (LAB.md), so
// containerd is checked up to "service active, ctr answers, config as expected".
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {cli} from '../../helpers/cli.js'
import {withLab} from '../helpers/lab.js'
import {standinBundle} from './bundle.js'
import {componentPhases, hostInitPid, presetSysctls, writeSpec} from './helpers.js'
import {execFileSync} from 'node:child_process'

let tmp: string
let bundle: string
let skip: string
let env: Record<string, string>

before(async function () {
  this.timeout(600_000)
  tmp = mkdtempSync(join(tmpdir(), 'mp-cluster-lab-'))
  bundle = await standinBundle(tmp, '1.31.4')
  skip = (await componentPhases()).join(',')
  env = {METALPLANE_STATE_DIR: join(tmp, 'state')}
})
after(() => rmSync(tmp, {recursive: true, force: true}))

function apply(spec: string, extra: string[] = []) {
  return cli(['cluster', 'apply', '-c', spec, ...(skip ? ['--skip-phases', skip] : []), '--json', ...extra], {env, timeoutMs: 600_000})
}
const statuses = (json: any) => Object.fromEntries(json.phases.map((p: any) => [p.name, p.steps.map((s: any) => `${s.host}:${s.status}`).join(',')]))

describe('cluster apply: 1 controller + 2 workers', function () {
  this.timeout(600_000)
  const lab = withLab('cl-basic', 3)

  it('plan changes nothing; apply installs and configures; a second apply changes nothing', async () => {
    presetSysctls(lab.hosts)
    const spec = writeSpec(lab, tmp, 'basic', ['controller', 'worker', 'worker'], {bundle})
    const plan = cli(['cluster', 'plan', '-c', spec, '--skip-phases', skip], {env})
    assert.equal(plan.code, 0, plan.stderr)
    assert.match(plan.stdout, /^node1 \(controller\)$/m)
    assert.match(plan.stdout, /containerd +install .*containerd_.*\.deb.*, runc_.*\.deb \(dpkg -i\)/)
    assert.ok(plan.stdout.indexOf('node1 (controller)') < plan.stdout.indexOf('node2 (worker)'), 'hosts in spec order')
    assert.match(plan.stdout, /^ +\+ +SystemdCgroup = true$/m)
    assert.match(plan.stdout, /kubeadm-init +kubeadm init --upload-certs \(config kubeadm.k8s.io\/v1beta4/)
    for (const h of lab.hosts) {
      const r = await lab.ssh(h, 'test -e /etc/containerd/config.toml || command -v containerd')
      assert.notEqual(r.exitCode, 0, `${h.name} untouched by plan`)
    }

    const t0 = Date.now()
    const r1 = apply(spec)
    assert.equal(r1.code, 0, r1.stderr + r1.stdout)
    assert.ok(r1.json.changed > 0)
    const seconds = (Date.now() - t0) / 1000
    for (const h of lab.hosts) {
      const r = await lab.ssh(h, 'systemctl is-active containerd && ctr version >/dev/null && echo ctr-ok && grep -c "SystemdCgroup = true" /etc/containerd/config.toml && systemctl is-enabled kubelet && /usr/local/bin/kubeadm version -o short && cat /etc/crictl.yaml | grep runtime-endpoint && ls /run/metalplane | wc -l')
      assert.equal(r.exitCode, 0, `${h.name}: ${r.stdout}${r.stderr}`)
      assert.deepEqual(String(r.stdout).split('\n'), ['active', 'ctr-ok', '1', 'enabled', 'v1.31.4', 'runtime-endpoint: unix:///run/containerd/containerd.sock', '0'])
    }
    const nodes = await lab.ssh(lab.hosts[0], 'kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o name | sort')
    assert.equal(String(nodes.stdout), 'node/node1\nnode/node2\nnode/node3', String(nodes.stderr))
    const cp = await lab.ssh(lab.hosts[0], 'kubectl --kubeconfig /etc/kubernetes/admin.conf get node node1 -o jsonpath="{.spec.taints[*].key}"')
    assert.equal(String(cp.stdout), 'node-role.kubernetes.io/control-plane')
    const kc = r1.json.kubeconfig
    assert.equal(statSync(kc).mode & 0o777, 0o600)
    assert.match(readFileSync(kc, 'utf8'), new RegExp(`server: "?https://${lab.hosts[0].address}:6443`))

    const r2 = apply(spec)
    assert.equal(r2.code, 0, r2.stderr)
    assert.equal(r2.json.changed, 0)
    assert.ok(r2.json.phases.every((p: any) => p.steps.every((s: any) => s.status === 'up-to-date')), JSON.stringify(statuses(r2.json)))
    const plan2 = cli(['cluster', 'plan', '-c', spec, '--skip-phases', skip], {env})
    assert.match(plan2.stdout, /nothing to do/)
    console.log(`      apply on 3 hosts: ${seconds.toFixed(1)} s`)
  })

  it('a bad spec exits 2 and touches nothing', async () => {
    const bad = join(tmp, 'bad.yaml')
    const good = readFileSync(writeSpec(lab, tmp, 'bad', ['controller', 'worker', 'worker'], {bundle}), 'utf8')
    writeFileSync(bad, good.replace('role: worker', 'role: wrker'))
    const before = await lab.ssh(lab.hosts[1], 'stat -c %Y /etc/containerd/config.toml')
    const r = cli(['cluster', 'apply', '-c', bad, '--json'], {env})
    assert.equal(r.code, 2)
    assert.match(r.json.error.message, /spec.hosts\[1\].role/)
    const after = await lab.ssh(lab.hosts[1], 'stat -c %Y /etc/containerd/config.toml')
    assert.equal(String(after.stdout), String(before.stdout))
  })

  it('an unknown host key is refused: exit 4, nothing touched', async () => {
    const empty = join(tmp, 'empty_known_hosts')
    writeFileSync(empty, '')
    const spec = writeSpec(lab, join(tmp, 'hk'), 'basic', ['controller', 'worker', 'worker'], {bundle})
    writeFileSync(spec, readFileSync(spec, 'utf8').replace(lab.info.knownHosts, empty))
    const r = apply(spec)
    assert.equal(r.code, 4, r.stdout + r.stderr)
    assert.match(r.json.error.message, /node1/)
    assert.match(r.json.error.message, /SHA256:/)
    assert.equal(readFileSync(empty, 'utf8'), '', 'not recorded without --accept-new-host-keys')
  })

  it('cluster reset tears down, needs --yes without a terminal', async () => {
    const spec = join(tmp, 'basic.yaml')
    const no = cli(['cluster', 'reset', '-c', spec, '--json'], {env})
    assert.equal(no.code, 2)
    assert.match(no.json.error.hint, /--yes/)
    const r = cli(['cluster', 'reset', '-c', spec, '--yes', '--json'], {env, timeoutMs: 300_000})
    assert.equal(r.code, 0, r.stderr)
    const c = await lab.ssh(lab.hosts[0], 'test -e /etc/kubernetes/admin.conf')
    assert.notEqual(c.exitCode, 0)
    const again = cli(['cluster', 'reset', '-c', spec, '--yes', '--json'], {env})
    assert.equal(again.json.changed, 0)
  })
})


describe('cluster apply: 3 controllers with a VIP', function () {
  this.timeout(600_000)
  const lab = withLab('cl-ha', 4)

  it('init on the first, kube-vip on all, controllers join one by one, workers after; re-apply is a no-op', async () => {
    presetSysctls(lab.hosts)
    const vip = lab.info.subnet.replace(/\.0\/24$/, '.100')
    // kube-vip (run by the kubelet stand-in) adds the VIP to eth0: the lab hosts have
    // CAP_NET_ADMIN in their own network namespace.
    const spec = writeSpec(lab, tmp, 'ha', ['controller', 'controller', 'controller', 'worker'], {bundle, vip})
    const r = apply(spec)
    assert.equal(r.code, 0, r.stderr + r.stdout)
    const s = statuses(r.json)
    assert.equal(s['kubeadm-init'], 'node1:done')
    assert.equal(s['join-controllers'], 'node2:done,node3:done')
    assert.equal(s['kube-vip'], 'node1:done,node2:done,node3:done')
    assert.equal(s['join-workers'], 'node4:done')
    for (const h of lab.hosts.slice(0, 3)) {
      const m = await lab.ssh(h, 'grep -A1 "name: vip_interface" /etc/kubernetes/manifests/kube-vip.yaml; grep "path: /etc/kubernetes/admin.conf" /etc/kubernetes/manifests/kube-vip.yaml')
      assert.match(String(m.stdout), /value: "eth0"/, h.name)
      assert.match(String(m.stdout), /admin.conf/, h.name)
    }
    // The joins went through the VIP; their certificate key decrypted the uploaded certificates
    // (the stand-in refuses a wrong key).
    const vipUp = await lab.ssh(lab.hosts[0], `ip -o addr show dev eth0 | grep -c ' ${vip}/32'`)
    assert.equal(String(vipUp.stdout).trim(), '1', `VIP on node1: ${vipUp.stdout}${vipUp.stderr}`)
    for (const h of lab.hosts.slice(1, 3)) {
      const none = await lab.ssh(h, `ip -o addr show dev eth0 | grep -c ' ${vip}/32' || true`)
      assert.equal(String(none.stdout).trim(), '0', `VIP only on the leader, not on ${h.name}`)
    }
    // The API answers through the VIP from the worker (its kubelet.conf points at the VIP).
    const viaVip = await lab.ssh(lab.hosts[3], `grep -cE 'server: "?https://${vip}:6443' /etc/kubernetes/kubelet.conf; kubectl --kubeconfig /etc/kubernetes/kubelet.conf get node node4 -o name`)
    assert.equal(String(viaVip.stdout), '1\nnode/node4', `API through https://${vip}:6443 from node4: ${viaVip.stdout}${viaVip.stderr}`)
    const nodes = await lab.ssh(lab.hosts[1], 'kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o name | sort')
    assert.equal(String(nodes.stdout), 'node/node1\nnode/node2\nnode/node3\nnode/node4', String(nodes.stderr))
    assert.match(readFileSync(r.json.kubeconfig, 'utf8'), new RegExp(`server: "?https://${vip.replace(/\./g, '\\.')}:6443`))
    const again = apply(spec)
    assert.equal(again.json.changed, 0, JSON.stringify(statuses(again.json)))
  })
})

describe('cluster apply: SIGKILL mid-run, then resume', function () {
  this.timeout(600_000)
  const lab = withLab('cl-kill', 3)

  it('the next apply resumes: no finished step is repeated', async () => {
    presetSysctls(lab.hosts)
    const spec = writeSpec(lab, tmp, 'kill', ['controller', 'worker', 'worker'], {bundle})
    const journal = join(env.METALPLANE_STATE_DIR, 'clusters', 'kill', 'journal-apply.jsonl')
    const child = spawn(process.execPath, ['bin/run.js', 'cluster', 'apply', '-c', spec, '--skip-phases', skip, '--json'], {env: {...process.env, ...env}, stdio: 'ignore'})
    // Kill once containerd is installed on at least one host (mid-run, after real changes).
    const killedAt = await new Promise<string>((resolve, reject) => {
      const t = setInterval(() => {
        const lines = existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []
        const done = lines.filter((e) => e.t === 'done' && e.phase === 'containerd')
        if (done.length > 0) {
          clearInterval(t)
          child.kill('SIGKILL')
          resolve(done.map((d) => d.host).join(','))
        }
      }, 50)
      child.on('exit', () => {
        clearInterval(t)
        reject(new Error('apply finished before it could be killed'))
      })
    })
    await new Promise((r) => child.once('exit', r))
    const doneBefore = readFileSync(journal, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.t === 'done')
    assert.ok(existsSync(join(env.METALPLANE_STATE_DIR, 'clusters', 'kill', 'lock')), 'the killed run left its lock')

    const r = apply(spec)
    assert.equal(r.code, 0, r.stderr)
    assert.ok(r.json.resumedFrom, 'resumed')
    assert.equal(r.json.resumedFrom.done, doneBefore.length)
    const steps = r.json.phases.flatMap((p: any) => p.steps.map((s: any) => ({phase: p.name, ...s})))
    for (const d of doneBefore) {
      const s = steps.find((x: any) => x.phase === d.phase && x.host === d.host)
      assert.equal(s?.status, 'resumed', `${d.phase}/${d.host} not repeated`)
    }
    for (const h of lab.hosts) {
      const dpkg = await lab.ssh(h, 'systemctl is-active containerd')
      assert.equal(String(dpkg.stdout).trim(), 'active')
    }
    const nodes = await lab.ssh(lab.hosts[0], 'kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o name | sort')
    assert.equal(String(nodes.stdout), 'node/node1\nnode/node2\nnode/node3', String(nodes.stderr))
    console.log(`      killed after containerd on ${killedAt}; resumed ${doneBefore.length} done steps`)
  })
})

describe('cluster apply: preflight failure', function () {
  this.timeout(300_000)
  const lab = withLab('cl-preflight', 2)

  it('swap on a host: exit 5 naming host and check, before any change', async () => {
    // swapon is not permitted inside nspawn; the host's /proc/swaps shows an active swap file
    // through a bind mount in its mount namespace (what preflight reads on a real host).
    const h = lab.hosts[1]
    const r0 = await lab.ssh(h, 'printf "Filename\\t\\t\\t\\tType\\t\\tSize\\t\\tUsed\\t\\tPriority\\n/swapfile                               file\\t\\t1048572\\t\\t0\\t\\t-2\\n" > /run/fake-swaps')
    assert.equal(r0.exitCode, 0)
    execFileSync('nsenter', ['-t', String(hostInitPid(h)), '-m', 'mount', '--bind', '/run/fake-swaps', '/proc/swaps'])
    const spec = writeSpec(lab, tmp, 'pf', ['controller', 'worker'], {bundle})
    const r = apply(spec)
    assert.equal(r.code, 5, r.stdout + r.stderr)
    assert.match(r.json.error.message, new RegExp(`${h.name}: \\[Swap\\] swap is on \\(/swapfile\\)`))
    for (const x of lab.hosts) {
      const t = await lab.ssh(x, 'ls /etc/modules-load.d/metalplane-k8s.conf /etc/containerd 2>/dev/null; command -v containerd')
      assert.equal(String(t.stdout).trim(), '', `${x.name} untouched`)
    }
  })
})
