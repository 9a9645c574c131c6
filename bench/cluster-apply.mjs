#!/usr/bin/env node
// `metalplane cluster apply` wall time on 1 host against 6 hosts (1 controller + 5 workers), each
// run on fresh lab hosts, median of R runs; also a re-apply (nothing to do) on 6 hosts. The
// figure is the ratio 6 hosts / 1 host (1.0 = perfectly parallel). containerd and runc are
// Debian's packages, really installed; kubeadm/kubelet/kubectl are the project's stand-ins (test/standins) unless
// BUNDLE points at a real bundle (bin/, debs/). Needs root (it starts labs).
// Usage: node bench/cluster-apply.mjs [runs=3]   (after npm run build)
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {median} from './lib.mjs'

const runs = Number(process.argv[2] ?? 3)
const root = new URL('..', import.meta.url).pathname
const bin = join(root, 'bin/run.js')
const work = mkdtempSync(join(tmpdir(), 'mp-bench-apply-'))
const env = {...process.env, METALPLANE_STATE_DIR: join(work, 'state')}

function cli(args, opts = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {encoding: 'utf8', env, stdio: ['ignore', 'pipe', opts.quiet ? 'pipe' : 'inherit'], timeout: 900_000})
  if (r.status !== 0) throw new Error(`metalplane ${args.join(' ')} exited ${r.status}: ${r.stderr ?? ''}${r.stdout.slice(0, 500)}`)
  return JSON.parse(r.stdout)
}

const bundle =
  process.env.BUNDLE ??
  execFileSync(process.execPath, ['--import', 'tsx', '-e', `import('./test/lab/cluster/bundle.ts').then(async (m) => console.log(await m.standinBundle(${JSON.stringify(work)}, '1.31.4')))`], {cwd: root, encoding: 'utf8'}).trim()
const skip = execFileSync(process.execPath, ['--import', 'tsx', '-e', "import('./test/lab/cluster/helpers.ts').then(async (m) => console.log((await m.componentPhases()).join(',')))"], {cwd: root, encoding: 'utf8'}).trim()

function specFor(lab, n) {
  const lines = [
    'apiVersion: metalplane.io/v1alpha1',
    'kind: Cluster',
    `metadata: {name: ${lab.name}}`,
    'spec:',
    '  kubernetes: {version: 1.31.4}',
    `  bundle: ${bundle}`,
    `  ssh: {knownHosts: ${lab.knownHosts}}`,
    '  hosts:',
    ...lab.hosts.slice(0, n).map((h, i) => `    - {name: ${h.name}, address: ${h.address}, user: root, keyFile: ${lab.keyFile}, role: ${i === 0 ? 'controller' : 'worker'}}`),
  ]
  const f = join(work, `${lab.name}.yaml`)
  writeFileSync(f, lines.join('\n') + '\n')
  return f
}

/** One apply on fresh hosts: lab up, apply (timed), optionally a timed re-apply, lab down. */
function once(n) {
  const name = `bench-apply${n}`
  const lab = cli(['lab', 'up', '--name', name, '--hosts', String(n), '--json'], {quiet: true})
  try {
    // nspawn mounts /proc/sys read-only in the hosts: set the sysctls in their namespaces.
    for (const h of lab.hosts) execFileSync('ip', ['netns', 'exec', h.netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.bridge.bridge-nf-call-iptables=1', 'net.bridge.bridge-nf-call-ip6tables=1'])
    const spec = specFor(lab, n)
    const args = ['cluster', 'apply', '-c', spec, ...(skip ? ['--skip-phases', skip] : []), '--json']
    let t = process.hrtime.bigint()
    const r = cli(args, {quiet: true})
    const apply = Number(process.hrtime.bigint() - t) / 1e9
    if (!r.ok || r.changed === 0) throw new Error('apply did not change anything')
    t = process.hrtime.bigint()
    const r2 = cli(args, {quiet: true})
    const reapply = Number(process.hrtime.bigint() - t) / 1e9
    if (r2.changed !== 0) throw new Error(`re-apply changed ${r2.changed} steps`)
    const phases = Object.fromEntries(r.phases.map((p) => [p.name, Math.max(0, ...p.steps.map((x) => x.seconds ?? 0))]))
    return {apply, reapply, phases}
  } finally {
    spawnSync(process.execPath, [bin, 'lab', 'down', '--name', name], {env, stdio: 'ignore'})
  }
}

try {
  const one = []
  const six = []
  for (let i = 0; i < runs; i++) {
    one.push(once(1))
    six.push(once(6))
  }
  const m1 = median(one.map((x) => x.apply))
  const m6 = median(six.map((x) => x.apply))
  const r6 = median(six.map((x) => x.reapply))
  console.log(`\ncluster apply on fresh lab hosts, median of ${runs} (containerd from .debs; Kubernetes binaries: ${process.env.BUNDLE ? 'BUNDLE' : 'stand-ins'})`)
  console.log(`  apply, 1 host (controller)                   ${m1.toFixed(2)} s`)
  console.log(`  apply, 6 hosts (1 controller + 5 workers)    ${m6.toFixed(2)} s  ${(m6 / m1).toFixed(2)}x 1 host`)
  console.log(`  re-apply, 6 hosts (nothing to do)            ${r6.toFixed(2)} s  ${(r6 / m6).toFixed(2)}x apply`)
  const slow = Object.entries(six.at(-1).phases).sort((a, b) => b[1] - a[1]).slice(0, 3)
  console.log(`  slowest phases on 6 hosts (longest host step): ${slow.map(([n, t]) => `${n} ${t.toFixed(1)} s`).join(', ')}`)
  if (process.env.BENCH_JSON) console.log(JSON.stringify({bench: 'cluster-apply', runs, apply1: m1, apply6: m6, reapply6: r6}))
} finally {
  rmSync(work, {recursive: true, force: true})
}
