import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseAllDocuments} from 'yaml'
import {containerdFiles} from '../../../src/phases/containerd.js'
import {CONTAINERD_DROPIN, containerdDropIn, importsDropIns} from '../../../src/phases/gpu.js'
import {modulesConf, sysctlConf} from '../../../src/phases/os.js'
import {Host} from '../../../src/hosts/host.js'
import {LocalExecutor} from '../../../src/hosts/local.js'
import {
  caCertHash,
  cgroupDriver,
  controlPlaneEndpoint,
  generateCertificateKey,
  generateToken,
  kubeadmApiVersion,
  kubeletMaySet,
  renderInitConfig,
  renderJoinConfig,
  renderKubeVip,
  renderUploadCertsConfig,
} from '../../../src/phases/kubeadm-config.js'
import {kubeletUnits} from '../../../src/phases/kubernetes.js'
import {parseSpec} from '../../../src/spec/load.js'
import {loadConfig, validateInit, validateJoin} from '../../standins/kubeadm-config.js'
import {baseFacts, makeCa} from './fake-host.js'

function spec(version: string, extra = '') {
  return parseSpec(`
apiVersion: metalplane.io/v1alpha1
kind: Cluster
metadata: {name: tpl}
spec:
  kubernetes: {version: ${version}}
  controlPlane: {vip: 10.40.0.10, certSANs: [api.example.com]}
  network: {podCIDR: 10.244.0.0/16, serviceCIDR: 10.96.0.0/12}
  ${extra}
  hosts:
    - {name: c1, address: 10.40.0.11, role: controller}
    - {name: c2, address: 10.40.0.12, role: controller}
    - {name: c3, address: 10.40.0.13, role: controller+worker, taints: [{key: dedicated, value: infra, effect: NoSchedule}]}
    - {name: w1, address: 10.40.0.21, role: worker, labels: {rack: r1, node-role.kubernetes.io/gpu: "", node.kubernetes.io/pool: a}}
`)
}

const secrets = {token: 'abcdef.0123456789abcdef', certificateKey: 'a'.repeat(64)}
const docs = (text: string) => parseAllDocuments(text).map((d) => d.toJS())

/** Validate with the kubeadm stand-in's strict loader (kubeadm's own field lists), as that version. */
function standinCheck(text: string, command: 'init' | 'join', version: string) {
  const prev = process.env.STANDIN_KUBERNETES_VERSION
  process.env.STANDIN_KUBERNETES_VERSION = version
  try {
    const cfg = loadConfig(text, 'config.yaml', command)
    if (command === 'init') validateInit(cfg)
    else validateJoin(cfg)
    return cfg
  } finally {
    if (prev === undefined) delete process.env.STANDIN_KUBERNETES_VERSION
    else process.env.STANDIN_KUBERNETES_VERSION = prev
  }
}

describe('cluster templates', () => {
  it('picks kubeadm.k8s.io/v1beta3 before 1.31 and v1beta4 from 1.31', () => {
    assert.equal(kubeadmApiVersion(spec('1.28.15')), 'v1beta3')
    assert.equal(kubeadmApiVersion(spec('1.30.8')), 'v1beta3')
    assert.equal(kubeadmApiVersion(spec('1.31.4')), 'v1beta4')
    assert.equal(kubeadmApiVersion(spec('1.33.1')), 'v1beta4')
  })

  it('1.30: v1beta3 init config with extraArgs maps, valid for kubeadm 1.30', () => {
    const s = spec('1.30.8')
    const text = renderInitConfig(s, s.spec.hosts[0], secrets, 'systemd')
    const [init, cluster, kubelet] = docs(text)
    assert.equal(init.apiVersion, 'kubeadm.k8s.io/v1beta3')
    assert.equal(init.kind, 'InitConfiguration')
    assert.deepEqual(init.nodeRegistration.kubeletExtraArgs, {'node-ip': '10.40.0.11'})
    assert.deepEqual(init.nodeRegistration.taints, [{key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule'}])
    assert.equal(init.nodeRegistration.criSocket, 'unix:///var/run/containerd/containerd.sock')
    assert.equal(init.certificateKey, secrets.certificateKey)
    assert.equal(init.bootstrapTokens[0].token, secrets.token)
    assert.deepEqual(init.localAPIEndpoint, {advertiseAddress: '10.40.0.11', bindPort: 6443})
    assert.equal(cluster.kind, 'ClusterConfiguration')
    assert.equal(cluster.kubernetesVersion, 'v1.30.8')
    assert.equal(cluster.controlPlaneEndpoint, '10.40.0.10:6443')
    assert.deepEqual(cluster.apiServer.certSANs, ['10.40.0.10', 'api.example.com'])
    assert.deepEqual(cluster.networking, {podSubnet: '10.244.0.0/16', serviceSubnet: '10.96.0.0/12', dnsDomain: 'cluster.local'})
    assert.deepEqual(kubelet, {apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', cgroupDriver: 'systemd'})
    standinCheck(text, 'init', 'v1.30.8')
  })

  it('1.31: v1beta4 init config with extraArgs lists, valid for kubeadm 1.31', () => {
    const s = spec('1.31.4')
    const text = renderInitConfig(s, s.spec.hosts[0], secrets, 'systemd')
    const [init, cluster] = docs(text)
    assert.equal(init.apiVersion, 'kubeadm.k8s.io/v1beta4')
    assert.equal(cluster.apiVersion, 'kubeadm.k8s.io/v1beta4')
    assert.deepEqual(init.nodeRegistration.kubeletExtraArgs, [{name: 'node-ip', value: '10.40.0.11'}])
    standinCheck(text, 'init', 'v1.31.4')
    // A v1beta4 document is refused by kubeadm 1.30.
    assert.throws(() => standinCheck(text, 'init', 'v1.30.8'))
  })

  it('join configs: controllers carry the certificate key and their endpoint; workers neither', () => {
    for (const v of ['1.30.8', '1.31.4']) {
      const s = spec(v)
      const m = {token: secrets.token, caCertHash: 'sha256:' + 'b'.repeat(64), certificateKey: secrets.certificateKey}
      const cp = docs(renderJoinConfig(s, s.spec.hosts[1], m))[0]
      assert.equal(cp.kind, 'JoinConfiguration')
      assert.equal(cp.discovery.bootstrapToken.apiServerEndpoint, '10.40.0.10:6443')
      assert.deepEqual(cp.discovery.bootstrapToken.caCertHashes, [m.caCertHash])
      assert.deepEqual(cp.controlPlane, {localAPIEndpoint: {advertiseAddress: '10.40.0.12', bindPort: 6443}, certificateKey: m.certificateKey})
      standinCheck(renderJoinConfig(s, s.spec.hosts[1], m), 'join', `v${v}`)
      // controller+worker: no control-plane taint, the spec's taints.
      const c3 = docs(renderJoinConfig(s, s.spec.hosts[2], m))[0]
      assert.deepEqual(c3.nodeRegistration.taints, [{key: 'dedicated', value: 'infra', effect: 'NoSchedule'}])
      const w = renderJoinConfig(s, s.spec.hosts[3], {token: m.token, caCertHash: m.caCertHash})
      const wd = docs(w)[0]
      assert.equal(wd.controlPlane, undefined)
      assert.deepEqual(wd.nodeRegistration.taints, [])
      // Labels the kubelet may set on itself go through --node-labels; node-role.* may not (NodeRestriction).
      const labels = v === '1.31.4' ? wd.nodeRegistration.kubeletExtraArgs.find((a: any) => a.name === 'node-labels').value : wd.nodeRegistration.kubeletExtraArgs['node-labels']
      assert.equal(labels, 'rack=r1,node.kubernetes.io/pool=a')
      standinCheck(w, 'join', `v${v}`)
    }
    assert.ok(!kubeletMaySet('node-role.kubernetes.io/worker'))
    assert.ok(kubeletMaySet('example.com/x'))
    assert.ok(kubeletMaySet('kubelet.kubernetes.io/x'))
    assert.ok(kubeletMaySet('topology.kubernetes.io/zone'))
    assert.ok(!kubeletMaySet('kubernetes.io/role'))
  })

  it('upload-certs config is a valid init config for the same version', () => {
    for (const v of ['1.29.10', '1.32.0']) standinCheck(renderUploadCertsConfig(spec(v), secrets.certificateKey), 'init', `v${v}`)
  })

  it('control-plane endpoint: the VIP, else the first controller (IPv6 in brackets)', () => {
    assert.equal(controlPlaneEndpoint(spec('1.31.4')), '10.40.0.10:6443')
    const single = parseSpec(`
apiVersion: metalplane.io/v1alpha1
kind: Cluster
metadata: {name: one}
spec:
  kubernetes: {version: 1.31.4}
  hosts: [{name: c1, address: "fd00::11", role: controller}]
`)
    assert.equal(controlPlaneEndpoint(single), '[fd00::11]:6443')
  })

  it('secrets: kubeadm-format tokens, 32-byte certificate keys, CA hash as kubeadm computes it', () => {
    assert.match(generateToken(), /^[a-z0-9]{6}\.[a-z0-9]{16}$/)
    assert.match(generateCertificateKey(), /^[0-9a-f]{64}$/)
    const dir = mkdtempSync(join(tmpdir(), 'mp-ca-'))
    try {
      const crt = makeCa(dir)
      // What kubeadm's docs compute with openssl: sha256 of the DER public key.
      const want = execFileSync('sh', ['-c', `openssl x509 -pubkey -in ${crt} -noout | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1`], {encoding: 'utf8'}).trim()
      assert.equal(caCertHash(execFileSync('cat', [crt], {encoding: 'utf8'})), `sha256:${want}`)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('containerd: SystemdCgroup follows systemd as PID 1 on cgroup v1 and v2; mirrors as hosts.toml; crictl.yaml', () => {
    assert.equal(cgroupDriver({systemd: true, cgroupVersion: 'v1'}).driver, 'systemd')
    assert.equal(cgroupDriver({systemd: true, cgroupVersion: 'v2'}).driver, 'systemd')
    assert.equal(cgroupDriver({systemd: false, cgroupVersion: 'v1'}).driver, 'cgroupfs')
    const s = spec('1.30.8', 'containerd: {sandboxImage: "registry.internal/pause:3.9", registryMirrors: {docker.io: ["https://m1.internal", "https://m2.internal"]}}')
    const h = new Host(s.spec.hosts[0], new LocalExecutor('c1'))
    h.facts.node = baseFacts({cgroupVersion: 'v1'})
    const files = containerdFiles(s, h)
    const cfg = files.get('/etc/containerd/config.toml')!
    assert.match(cfg, /^version = 2$/m)
    assert.match(cfg, /^\s+SystemdCgroup = true$/m)
    assert.match(cfg, /^\s+sandbox_image = "registry.internal\/pause:3.9"$/m)
    assert.match(cfg, /config_path = "\/etc\/containerd\/certs.d"/)
    const hosts = files.get('/etc/containerd/certs.d/docker.io/hosts.toml')!
    assert.match(hosts, /^server = "https:\/\/registry-1.docker.io"$/m)
    assert.match(hosts, /\[host."https:\/\/m1.internal"\]\n  capabilities = \["pull", "resolve"\]/)
    assert.match(hosts, /\[host."https:\/\/m2.internal"\]/)
    assert.match(files.get('/etc/crictl.yaml')!, /^runtime-endpoint: unix:\/\/\/run\/containerd\/containerd.sock$/m)
    h.facts.node = baseFacts({systemd: false})
    assert.match(containerdFiles(s, h).get('/etc/containerd/config.toml')!, /^\s+SystemdCgroup = false$/m)
  })

  it('containerd: the config imports /etc/containerd/conf.d/*.toml; the real containerd reads it alone and with the GPU drop-in', function () {
    const s = spec('1.31.4')
    const h = new Host(s.spec.hosts[0], new LocalExecutor('c1'))
    h.facts.node = baseFacts({cgroupVersion: 'v2'})
    const cfg = containerdFiles(s, h).get('/etc/containerd/config.toml')!
    assert.match(cfg, /^imports = \["\/etc\/containerd\/conf.d\/\*.toml"\]$/m)
    assert.ok(importsDropIns(cfg, CONTAINERD_DROPIN))
    assert.equal(containerdFiles(s, h).get('/etc/containerd/config.toml'), cfg, 'deterministic (the phase compares it byte for byte)')
    try {
      execFileSync('containerd', ['--version'], {stdio: 'ignore'})
    } catch {
      this.skip()
    }
    const dir = mkdtempSync(join(tmpdir(), 'mp-ctd-'))
    try {
      // As rendered: /etc/containerd/conf.d need not exist.
      writeFileSync(join(dir, 'config.toml'), cfg)
      const alone = execFileSync('containerd', ['--config', join(dir, 'config.toml'), 'config', 'dump'], {encoding: 'utf8'})
      assert.match(alone, /sandbox_image = "registry.k8s.io\/pause:3.10"/)
      assert.match(alone, /SystemdCgroup = true/)
      // With the GPU phase's drop-in in the imported directory (here under a temp dir).
      mkdirSync(join(dir, 'conf.d'))
      const main = cfg.replace('/etc/containerd/conf.d/*.toml', join(dir, 'conf.d/*.toml'))
      writeFileSync(join(dir, 'config.toml'), main)
      writeFileSync(join(dir, 'conf.d/99-nvidia.toml'), containerdDropIn(main))
      const merged = execFileSync('containerd', ['--config', join(dir, 'config.toml'), 'config', 'dump'], {encoding: 'utf8'})
      assert.ok(merged.includes(join(dir, 'conf.d/99-nvidia.toml')), 'the drop-in was imported')
      assert.match(merged, /runtimes.nvidia.options\]\n(\s+\w+ = .*\n)*?\s+BinaryName = "\/usr\/bin\/nvidia-container-runtime"/)
      assert.match(merged, /sandbox_image = "registry.k8s.io\/pause:3.10"/)
      assert.match(merged, /runtimes.runc.options\]\n(\s+\w+ = .*\n)*?\s+SystemdCgroup = true/)
      assert.match(merged, /config_path = "\/etc\/containerd\/certs.d"/)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('kube-vip: pinned image, ARP mode, the VIP and interface; super-admin.conf only during init from 1.29', () => {
    const s = spec('1.31.4')
    const during = docs(renderKubeVip(s, 'eth1', true))[0]
    assert.match(during.spec.containers[0].image, /^ghcr.io\/kube-vip\/kube-vip:v\d+\.\d+\.\d+$/)
    const env = Object.fromEntries(during.spec.containers[0].env.map((e: any) => [e.name, e.value]))
    assert.equal(env.vip_arp, 'true')
    assert.equal(env.address, '10.40.0.10')
    assert.equal(env.vip_interface, 'eth1')
    assert.equal(env.cp_enable, 'true')
    assert.equal(during.spec.volumes[0].hostPath.path, '/etc/kubernetes/super-admin.conf')
    assert.equal(docs(renderKubeVip(s, 'eth1', false))[0].spec.volumes[0].hostPath.path, '/etc/kubernetes/admin.conf')
    assert.equal(docs(renderKubeVip(spec('1.28.15'), 'eth1', true))[0].spec.volumes[0].hostPath.path, '/etc/kubernetes/admin.conf')
  })

  it('OS files and kubelet units', () => {
    assert.deepEqual(modulesConf().split('\n').filter((l) => l && !l.startsWith('#')), ['overlay', 'br_netfilter'])
    assert.deepEqual(sysctlConf().split('\n').filter((l) => l && !l.startsWith('#')), [
      'net.bridge.bridge-nf-call-iptables = 1',
      'net.bridge.bridge-nf-call-ip6tables = 1',
      'net.ipv4.ip_forward = 1',
    ])
    const u = kubeletUnits()
    assert.match(u.get('/etc/systemd/system/kubelet.service')!, /^ExecStart=\/usr\/local\/bin\/kubelet$/m)
    assert.match(u.get('/etc/systemd/system/kubelet.service.d/10-kubeadm.conf')!, /^ExecStart=\/usr\/local\/bin\/kubelet \$KUBELET_KUBECONFIG_ARGS \$KUBELET_CONFIG_ARGS \$KUBELET_KUBEADM_ARGS \$KUBELET_EXTRA_ARGS$/m)
  })
})
