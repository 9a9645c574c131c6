import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {runWorkflow} from '../../../src/engine/manager.js'
import {Host} from '../../../src/hosts/host.js'
import {LocalExecutor} from '../../../src/hosts/local.js'
import {
  bundleToolkitDebs,
  containerdConfigVersion,
  containerdDropIn,
  createGpuObjectsPhase,
  createGpuRuntimePhase,
  detectGpus,
  gpuLabels,
  gpuObjects,
  importsDropIns,
  nvidiaGpus,
  parseNvidiaSmi,
  parsePciListing,
} from '../../../src/phases/gpu.js'
import {parseSpec} from '../../../src/spec/load.js'
import {Logger} from '../../../src/ui/log.js'

const fixtures = new URL('../../fixtures/gpu-nodes/', import.meta.url).pathname
const local = (name: string) =>
  new Host({name, address: '127.0.0.1', port: 22, user: 'root', role: 'worker', labels: {}, taints: [], localVolumes: [], gpu: 'auto'}, new LocalExecutor(name))
const opts = {sysRoot: (h: Host) => join(fixtures, h.name), nvidiaSmi: (h: Host) => `sh ${join(fixtures, h.name, 'nvidia-smi')}`}

describe('GPU detection on captured sysfs layouts', () => {
  it('DGX A100: 8 GPUs (NVSwitches and the BMC VGA do not count), driver 535', async () => {
    const f = await detectGpus(local('dgx-a100'), opts)
    assert.equal(f.gpus.length, 8)
    assert.ok(f.gpus.every((g) => g.device === '20b2' && g.class === '030200'))
    assert.equal(f.model, 'A100-SXM4-80GB')
    assert.equal(f.driverVersion, '535.129.03')
    assert.deepEqual(gpuLabels(f), {
      'metalplane.io/gpu': 'nvidia',
      'metalplane.io/gpu.model': 'A100-SXM4-80GB',
      'metalplane.io/gpu.count': '8',
      'metalplane.io/gpu.driver': '535.129.03',
    })
  })

  it('HGX H100: 8 GPUs, 4 NVSwitches ignored', async () => {
    const f = await detectGpus(local('hgx-h100'), opts)
    assert.equal(f.gpus.length, 8)
    assert.equal(f.model, 'H100-SXM5-80GB')
    assert.equal(f.driverVersion, '550.54.15')
    assert.equal(f.smiNames[0], 'NVIDIA H100 80GB HBM3')
  })

  it('a node whose driver does not work: GPUs found, driver missing, no gpu=nvidia label', async () => {
    const f = await detectGpus(local('l4-nodriver'), opts)
    assert.equal(f.gpus.length, 2)
    assert.equal(f.driverVersion, undefined)
    assert.match(f.driverProblem!, /couldn't communicate with the NVIDIA driver/)
    assert.deepEqual(gpuLabels(f), {
      'metalplane.io/gpu': null,
      'metalplane.io/gpu.model': 'L4',
      'metalplane.io/gpu.count': '2',
      'metalplane.io/gpu.driver': 'missing',
    })
  })

  it('nvidia-smi not installed at all counts as a missing driver', async () => {
    const f = await detectGpus(local('l4-nodriver'), {sysRoot: opts.sysRoot, nvidiaSmi: 'metalplane-no-such-nvidia-smi'})
    assert.equal(f.driverProblem, 'not installed')
  })

  it('a workstation card: the HDMI audio function is not a GPU', async () => {
    const f = await detectGpus(local('rtx-a6000'), opts)
    assert.equal(f.gpus.length, 1)
    assert.equal(f.model, 'RTX-A6000')
  })

  it('a CPU-only node has no GPUs and nvidia-smi is not even asked', async () => {
    const f = await detectGpus(local('cpu-only'), {sysRoot: opts.sysRoot, nvidiaSmi: 'false'})
    assert.equal(f.gpus.length, 0)
    assert.equal(f.driverProblem, undefined)
  })

  it('unknown device ids are labelled by id', () => {
    const devs = parsePciListing('0000:01:00.0 0x10de 0x2999 0x030200\n0000:02:00.0 0x10de 0x2999 0x030000\n')
    assert.equal(nvidiaGpus(devs).length, 2)
    assert.equal(gpuLabels({gpus: devs, model: '10de-2999', smiNames: []})['metalplane.io/gpu.model'], '10de-2999')
  })

  it('parses nvidia-smi CSV and rejects anything else', () => {
    assert.deepEqual(parseNvidiaSmi('NVIDIA A100-SXM4-80GB, 535.129.03\nNVIDIA A100-SXM4-80GB, 535.129.03\n'), {
      names: ['NVIDIA A100-SXM4-80GB', 'NVIDIA A100-SXM4-80GB'],
      driverVersion: '535.129.03',
    })
    assert.deepEqual(parseNvidiaSmi('No devices were found\n'), {names: []})
  })
})

// The shape of templates/containerd/config.toml (the core containerd phase), plus the imports line.
const MAIN_V2 = `# Managed by metalplane (cluster apply); local changes are overwritten.
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
imports = ["/etc/containerd/conf.d/*.toml"]

[grpc]
  address = "/run/containerd/containerd.sock"

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:3.10"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          # cgroup v2 with systemd
          SystemdCgroup = true
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/opt/cni/bin"
      conf_dir = "/etc/cni/net.d"
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "/etc/containerd/certs.d"
  [plugins."io.containerd.internal.v1.opt"]
    path = "/opt/containerd"
`

describe('containerd drop-in for the nvidia runtime', () => {
  it('carries the CRI tables of the main config and adds the runtime with the same cgroup driver', () => {
    const d = containerdDropIn(MAIN_V2)
    assert.match(d, /^version = 2$/m)
    assert.match(d, /sandbox_image = "registry.k8s.io\/pause:3.10"/)
    assert.match(d, /config_path = "\/etc\/containerd\/certs.d"/)
    assert.doesNotMatch(d, /internal.v1.opt|\[grpc\]|^imports/m)
    assert.match(d, /\[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia\]\n {2}runtime_type = "io.containerd.runc.v2"/)
    assert.match(d, /BinaryName = "\/usr\/bin\/nvidia-container-runtime"\n {2}SystemdCgroup = true/)
    assert.equal(containerdDropIn(MAIN_V2), d, 'deterministic')
    assert.notEqual(containerdDropIn(MAIN_V2.replace('pause:3.10', 'pause:3.9')), d, 'follows the main config')
  })

  it('a version 3 config gets the runtime tables alone', () => {
    const d = containerdDropIn('version = 3\nimports = ["/etc/containerd/conf.d/*.toml"]\n[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]\n  SystemdCgroup = false\n')
    assert.match(d, /^version = 3$/m)
    assert.match(d, /\[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.nvidia\]/)
    assert.match(d, /SystemdCgroup = false/)
    assert.doesNotMatch(d, /grpc.v1.cri/)
  })

  it('checks the imports line and the version', () => {
    assert.equal(importsDropIns(MAIN_V2), true)
    assert.equal(importsDropIns(MAIN_V2.replace(/^imports.*$/m, '')), false)
    assert.equal(importsDropIns('imports = ["/etc/containerd/conf.d/99-nvidia.toml"]'), true)
    assert.equal(containerdConfigVersion('root = "/x"'), 1)
    assert.throws(() => containerdDropIn('root = "/x"\n'), /version 1 is not supported/)
  })

  describe('merged by the real containerd (config dump)', function () {
    let dir: string
    let have = true
    before(() => {
      try {
        execFileSync('containerd', ['--version'], {stdio: 'ignore'})
      } catch {
        have = false
      }
      dir = mkdtempSync(join(tmpdir(), 'mp-ctd-'))
      mkdirSync(join(dir, 'conf.d'))
    })
    after(() => rmSync(dir, {recursive: true, force: true}))
    const dump = (dropIn: string) => {
      const main = MAIN_V2.replace('/etc/containerd/conf.d/*.toml', join(dir, 'conf.d/*.toml'))
      writeFileSync(join(dir, 'config.toml'), main)
      writeFileSync(join(dir, 'conf.d/99-nvidia.toml'), dropIn)
      return execFileSync('containerd', ['--config', join(dir, 'config.toml'), 'config', 'dump'], {encoding: 'utf8'})
    }

    it('a drop-in with only the runtime table wipes the main CRI settings (why the drop-in carries them)', function () {
      if (!have) this.skip()
      const out = dump('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia]\n  runtime_type = "io.containerd.runc.v2"\n')
      assert.match(out, /runtimes.nvidia\]/)
      assert.doesNotMatch(out, /pause:3.10/)
      assert.doesNotMatch(out, /SystemdCgroup = true/)
    })

    it('our drop-in keeps every main CRI setting and adds the nvidia runtime', function () {
      if (!have) this.skip()
      const out = dump(containerdDropIn(MAIN_V2))
      assert.match(out, /sandbox_image = "registry.k8s.io\/pause:3.10"/)
      assert.match(out, /config_path = "\/etc\/containerd\/certs.d"/)
      assert.match(out, /runtimes.runc.options\]\n(\s+\w+ = .*\n)*?\s+SystemdCgroup = true/)
      assert.match(out, /runtimes.nvidia.options\]\n(\s+\w+ = .*\n)*?\s+BinaryName = "\/usr\/bin\/nvidia-container-runtime"/)
      assert.match(out, /default_runtime_name = "runc"/)
      assert.match(out, /conf_dir = "\/etc\/cni\/net.d"/)
      assert.match(out, /path = "\/opt\/containerd"/)
    })
  })
})

describe('GPU phases (dry-run on fixture hosts)', () => {
  const specText = (bundle?: string) =>
    JSON.stringify({
      apiVersion: 'metalplane.io/v1alpha1',
      kind: 'Cluster',
      metadata: {name: 'gpus'},
      spec: {
        kubernetes: {version: '1.31.4'},
        gpu: {devicePluginVersion: 'v0.17.0'},
        ...(bundle ? {bundle} : {}),
        hosts: [
          {name: 'cp1', address: '10.0.0.1', role: 'controller'},
          {name: 'dgx-a100', address: '10.0.0.2', role: 'worker'},
          {name: 'l4-nodriver', address: '10.0.0.3', role: 'worker'},
          {name: 'cpu-only', address: '10.0.0.4', role: 'worker', gpu: 'nvidia'},
        ],
      },
    })
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mp-gpu-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  async function plan(bundle?: string) {
    const spec = parseSpec(specText(bundle))
    const hosts = spec.spec.hosts.map((h) => new Host(h, new LocalExecutor(h.name)))
    const warnings: string[] = []
    const log = new Logger('warn', (l) => warnings.push(l), false)
    writeFileSync(join(dir, 'config.toml'), MAIN_V2.replace('/etc/containerd/conf.d/*.toml', join(dir, 'conf.d/*.toml')))
    const o = {
      sysRoot: (h: Host) => join(fixtures, h.name === 'cp1' ? 'cpu-only' : h.name),
      nvidiaSmi: (h: Host) => `sh ${join(fixtures, h.name, 'nvidia-smi')}`,
      containerdConfig: join(dir, 'config.toml'),
      dropInPath: join(dir, 'conf.d/99-nvidia.toml'),
      systemd: 'never' as const,
    }
    const r = await runWorkflow([createGpuRuntimePhase(o), createGpuObjectsPhase(o)], {
      workflow: 'apply', spec, hosts, dryRun: true, concurrency: 4, log, renderer: 'silent',
    })
    return {r, warnings}
  }

  it('gives the runtime only to the node with a driver; warns about the one without; the run succeeds', async () => {
    const {r, warnings} = await plan()
    assert.ok(r.ok)
    const runtime = r.phases.find((p) => p.name === 'gpu-runtime')!
    assert.deepEqual(runtime.steps.map((s) => s.host), ['dgx-a100'])
    const acts = r.actions.map((a) => `${a.phase} ${a.host}: ${a.action}`)
    assert.ok(acts.some((a) => /^gpu-runtime dgx-a100: apt-get install nvidia-container-toolkit/.test(a)), acts.join('\n'))
    assert.ok(acts.some((a) => a.startsWith('gpu-runtime dgx-a100: write ') && a.includes('99-nvidia.toml')), acts.join('\n'))
    assert.ok(!acts.some((a) => a.startsWith('gpu-runtime l4-nodriver')))
    assert.ok(acts.some((a) => a === 'gpu-objects cp1: kubectl apply RuntimeClass nvidia and DaemonSet nvidia-device-plugin (v0.17.0)'))
    assert.ok(acts.includes('gpu-objects dgx-a100: label node dgx-a100: metalplane.io/gpu=nvidia metalplane.io/gpu.model=A100-SXM4-80GB metalplane.io/gpu.count=8 metalplane.io/gpu.driver=535.129.03'), acts.join('\n'))
    assert.ok(acts.includes('gpu-objects l4-nodriver: label node l4-nodriver: metalplane.io/gpu- metalplane.io/gpu.model=L4 metalplane.io/gpu.count=2 metalplane.io/gpu.driver=missing'), acts.join('\n'))
    const w = warnings.join('\n')
    assert.match(w, /l4-nodriver: 2 NVIDIA GPU\(s\) \(L4\) but no working NVIDIA driver .*Install the NVIDIA data-centre driver/)
    assert.match(w, /cpu-only: the spec says gpu: nvidia but no NVIDIA GPU/)
  })

  it('installs the toolkit from the bundle when its debs are there', async () => {
    const bundle = join(dir, 'bundle')
    mkdirSync(join(bundle, 'debs', 'nvidia'), {recursive: true})
    for (const f of ['libnvidia-container1_1.17.8-1_amd64.deb', 'libnvidia-container-tools_1.17.8-1_amd64.deb', 'nvidia-container-toolkit-base_1.17.8-1_amd64.deb', 'nvidia-container-toolkit_1.17.8-1_amd64.deb']) {
      writeFileSync(join(bundle, 'debs', 'nvidia', f), '')
    }
    assert.equal(bundleToolkitDebs(bundle, 'amd64').length, 4)
    assert.deepEqual(bundleToolkitDebs(bundle, 'arm64'), [])
    const arch = execFileSync('/bin/sh', ['-c', 'dpkg --print-architecture 2>/dev/null || uname -m'], {encoding: 'utf8'}).trim()
    const {r} = await plan(bundle)
    const a = r.actions.find((x) => x.phase === 'gpu-runtime' && /install nvidia-container-toolkit/.test(x.action))!
    if (arch === 'amd64') assert.match(a.action, /^install nvidia-container-toolkit from the bundle \(libnvidia-container1_1.17.8-1_amd64.deb, .*nvidia-container-toolkit_1.17.8-1_amd64.deb\)$/)
  })

  it('cluster objects: RuntimeClass and device plugin select usable GPU nodes', () => {
    const [rc, ds] = gpuObjects('v0.17.0') as any[]
    assert.deepEqual(rc.scheduling.nodeSelector, {'metalplane.io/gpu': 'nvidia'})
    assert.deepEqual(ds.spec.template.spec.nodeSelector, {'metalplane.io/gpu': 'nvidia'})
    assert.equal(ds.spec.template.spec.containers[0].image, 'nvcr.io/nvidia/k8s-device-plugin:v0.17.0')
  })
})

describe('gpu-objects against a recorded kubectl', () => {
  it('applies the objects, labels nodes, and is up to date on the next run', async () => {
    const {RecordingExecutor} = await import('../kube/recording.js')
    const spec = parseSpec(JSON.stringify({
      apiVersion: 'metalplane.io/v1alpha1', kind: 'Cluster', metadata: {name: 'g'},
      spec: {kubernetes: {version: '1.31.4'}, hosts: [
        {name: 'cp1', address: '10.0.0.1', role: 'controller'},
        {name: 'hgx-h100', address: '10.0.0.2', role: 'worker'},
        {name: 'l4-nodriver', address: '10.0.0.3', role: 'worker'},
      ]},
    }))
    const labels: Record<string, Record<string, string>> = {'hgx-h100': {'kubernetes.io/hostname': 'hgx-h100'}, 'l4-nodriver': {'metalplane.io/gpu': 'nvidia'}}
    let applied = false
    const cp = new RecordingExecutor('cp1', (cmd) => {
      if (cmd.includes(' diff ')) return {code: applied ? 0 : 1}
      if (cmd.includes(' apply ')) {
        applied = true
        return {}
      }
      const get = /get node (\S+) -o json/.exec(cmd)
      if (get) return {stdout: JSON.stringify({metadata: {labels: labels[get[1]]}})}
      const lab = /label node (\S+) --overwrite (.*)$/.exec(cmd)
      if (lab) {
        for (const kv of lab[2].split(' ')) {
          if (kv.endsWith('-')) delete labels[lab[1]][kv.slice(0, -1)]
          else labels[lab[1]][kv.split('=')[0]] = kv.split('=')[1]
        }
      }
      return {}
    })
    const hosts = spec.spec.hosts.map((h) => new Host(h, h.name === 'cp1' ? cp : new LocalExecutor(h.name)))
    const o = {sysRoot: (h: Host) => join(fixtures, h.name === 'cp1' ? 'cpu-only' : h.name), nvidiaSmi: (h: Host) => `sh ${join(fixtures, h.name, 'nvidia-smi')}`}
    const log = new Logger('error', () => {}, false)
    const run = () => runWorkflow([createGpuObjectsPhase(o)], {workflow: 'apply', spec, hosts, dryRun: false, concurrency: 2, log, renderer: 'silent'})
    const first = await run()
    assert.equal(first.changed, 1)
    assert.deepEqual(labels['hgx-h100'], {
      'kubernetes.io/hostname': 'hgx-h100',
      'metalplane.io/gpu': 'nvidia',
      'metalplane.io/gpu.model': 'H100-SXM5-80GB',
      'metalplane.io/gpu.count': '8',
      'metalplane.io/gpu.driver': '550.54.15',
    })
    assert.deepEqual(labels['l4-nodriver'], {'metalplane.io/gpu.model': 'L4', 'metalplane.io/gpu.count': '2', 'metalplane.io/gpu.driver': 'missing'}, 'a stale gpu=nvidia is removed')
    const apply = cp.calls.find((c) => c.cmd.endsWith(' apply -f -'))!
    assert.match(apply.input!, /kind: RuntimeClass/)
    assert.match(apply.input!, /image: nvcr.io\/nvidia\/k8s-device-plugin:v0.17.0/)
    for (const h of hosts) h.facts = {}
    const second = await run()
    assert.equal(second.changed, 0)
    assert.deepEqual(second.actions, [])
  })
})

describe('gpu-runtime for real on this machine (toolkit stand-in, temp containerd config)', () => {
  let dir: string
  let oldPath: string | undefined
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mp-gpurt-'))
    mkdirSync(join(dir, 'bin'))
    // Stand-ins for the installed toolkit: `command -v nvidia-ctk` and an executable runtime.
    writeFileSync(join(dir, 'bin', 'nvidia-ctk'), '#!/bin/sh\necho "NVIDIA Container Toolkit CLI version 1.17.8"\n', {mode: 0o755})
    writeFileSync(join(dir, 'bin', 'nvidia-container-runtime'), '#!/bin/sh\nexit 0\n', {mode: 0o755})
    oldPath = process.env.PATH
    process.env.PATH = `${join(dir, 'bin')}:${process.env.PATH}`
  })
  after(() => {
    process.env.PATH = oldPath
    rmSync(dir, {recursive: true, force: true})
  })

  it('writes the drop-in once; containerd reads the merged config; a re-run changes nothing', async function () {
    const spec = parseSpec(JSON.stringify({
      apiVersion: 'metalplane.io/v1alpha1', kind: 'Cluster', metadata: {name: 'g'},
      spec: {kubernetes: {version: '1.31.4'}, hosts: [{name: 'cp1', address: '10.0.0.1', role: 'controller'}, {name: 'dgx-a100', address: '10.0.0.2', role: 'worker'}]},
    }))
    const conf = join(dir, 'config.toml')
    writeFileSync(conf, MAIN_V2.replace('/etc/containerd/conf.d/*.toml', join(dir, 'conf.d/*.toml')))
    const o = {
      sysRoot: (h: Host) => join(fixtures, h.name === 'cp1' ? 'cpu-only' : h.name),
      nvidiaSmi: (h: Host) => `sh ${join(fixtures, h.name, 'nvidia-smi')}`,
      containerdConfig: conf,
      dropInPath: join(dir, 'conf.d/99-nvidia.toml'),
      runtimeBinary: join(dir, 'bin', 'nvidia-container-runtime'),
      systemd: 'never' as const,
    }
    const log = new Logger('error', () => {}, false)
    const run = () => {
      const hosts = spec.spec.hosts.map((h) => new Host(h, new LocalExecutor(h.name)))
      return runWorkflow([createGpuRuntimePhase(o)], {workflow: 'apply', spec, hosts, dryRun: false, concurrency: 2, log, renderer: 'silent'})
    }
    const first = await run()
    assert.deepEqual(first.actions.map((a) => `${a.host}: ${a.action}`), [`dgx-a100: write ${o.dropInPath} (containerd runtime "nvidia")`])
    const second = await run()
    assert.equal(second.changed, 0)
    try {
      execFileSync('containerd', ['--version'], {stdio: 'ignore'})
    } catch {
      return
    }
    const dump = execFileSync('containerd', ['--config', conf, 'config', 'dump'], {encoding: 'utf8'})
    assert.match(dump, new RegExp(`BinaryName = "${join(dir, 'bin', 'nvidia-container-runtime')}"`))
    assert.match(dump, /sandbox_image = "registry.k8s.io\/pause:3.10"/)
    // The main config changes (e.g. a new sandbox image): the drop-in follows on the next apply.
    writeFileSync(conf, MAIN_V2.replace('pause:3.10', 'pause:3.11').replace('/etc/containerd/conf.d/*.toml', join(dir, 'conf.d/*.toml')))
    const third = await run()
    assert.equal(third.actions.length, 1)
    assert.match(execFileSync('containerd', ['--config', conf, 'config', 'dump'], {encoding: 'utf8'}), /pause:3.11/)
  })
})
