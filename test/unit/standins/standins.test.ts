// The Kubernetes stand-ins (test/standins) run locally with node against temp roots: they must
// accept what the real tools accept and refuse, with the real tools' messages, what they refuse.
import {strict as assert} from 'node:assert'
import {spawnSync} from 'node:child_process'
import {X509Certificate} from 'node:crypto'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parse} from 'yaml'
import {caCertHash} from '../../standins/pki.js'
import {fakeHost, removeBundle, removeHost, run, standinBundle, superviseKubelet, writeFile, type FakeHost} from './helpers.js'

const PORT = 26443 + (process.pid % 1000)
const HEALTHZ = 21248 + (process.pid % 1000)
const TOKEN = 'abcdef.0123456789abcdef'

function v1beta4(extraInit = '', extraCluster = '', kubelet = ''): string {
  return `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
- token: ${TOKEN}
  ttl: 2h0m0s
localAPIEndpoint:
  advertiseAddress: 127.0.0.1
  bindPort: ${PORT}
nodeRegistration:
  name: node1
  criSocket: unix:///var/run/containerd/containerd.sock
  kubeletExtraArgs:
  - name: node-ip
    value: 127.0.0.1
timeouts:
  controlPlaneComponentHealthCheck: 30s
  kubeletHealthCheck: 30s
${extraInit}---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.31.2
clusterName: lab
controlPlaneEndpoint: 127.0.0.1:${PORT}
networking:
  podSubnet: 10.244.0.0/16
  serviceSubnet: 10.96.0.0/12
apiServer:
  certSANs: [lab-api.example, 10.77.0.100]
  extraArgs:
  - name: audit-log-maxage
    value: "7"
${extraCluster}---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
healthzPort: ${HEALTHZ}
${kubelet}---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
`
}

const DS = (extraSpec = '', image = 'registry.example/agent:1') => `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-agent
  namespace: kube-system
spec:
  selector:
    matchLabels: {app: node-agent}
  template:
    metadata:
      labels: {app: node-agent}
    spec:
      tolerations: [{operator: Exists}]
      containers:
      - name: agent
        image: ${image}
        resources:
          limits: {cpu: 100m, memory: 64Mi}
${extraSpec}`

describe('stand-ins: Kubernetes tools for lab hosts', function () {
  this.timeout(120000)
  let tmp: string
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'mp-standin-cfg-'))
    await standinBundle()
  })
  after(() => {
    rmSync(tmp, {recursive: true, force: true})
    removeBundle()
  })

  describe('versions and flags', () => {
    it('prints versions like the real tools', async () => {
      assert.equal((await run('kubeadm', ['version', '-o', 'short'])).stdout, 'v1.31.2\n')
      assert.equal((await run('kubelet', ['--version'])).stdout, 'Kubernetes v1.31.2\n')
      const kc = await run('kubectl', ['version', '--client', '-o', 'json'])
      assert.equal(JSON.parse(kc.stdout).clientVersion.gitVersion, 'v1.31.2')
    })

    it('refuses unknown kubeadm flags with exit 1', async () => {
      const r = await run('kubeadm', ['init', '--foo'])
      assert.equal(r.code, 1)
      assert.match(r.stderr, /unknown flag: --foo/)
      const j = await run('kubeadm', ['join', '10.0.0.1:6443', '--discovery-token-ca-cert', 'x'])
      assert.equal(j.code, 1)
      assert.match(j.stderr, /unknown flag: --discovery-token-ca-cert/)
    })

    it('refuses mixing --config with flags kubeadm does not allow next to it', async () => {
      const f = writeFile(tmp, 'mix.yaml', v1beta4())
      const r = await run('kubeadm', ['init', '--config', f, '--pod-network-cidr', '10.244.0.0/16'])
      assert.equal(r.code, 1)
      assert.match(r.stderr, /can not mix '--config' with arguments \[pod-network-cidr\]/)
      const j = await run('kubeadm', ['join', '--config', f, '--control-plane'])
      assert.equal(j.code, 1)
      assert.match(j.stderr, /can not mix '--config' with arguments \[control-plane\]/)
    })

    it('kubelet fails on removed flags and before kubeadm wrote its config', async () => {
      for (const flag of ['--network-plugin=cni', '--container-runtime=remote', '--dynamic-config-dir=/x']) {
        const r = await run('kubelet', [flag])
        assert.equal(r.code, 1, flag)
        assert.match(r.stderr, /failed to parse kubelet flag: unknown flag/)
      }
      const role = await run('kubelet', ['--node-labels=node-role.kubernetes.io/worker=,node.kubernetes.io/pool=a'])
      assert.equal(role.code, 1)
      assert.match(role.stderr, /unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: \[node-role.kubernetes.io\/worker\]/)
      const h = await fakeHost('pre')
      try {
        const r = await run('kubelet', ['--config=/var/lib/kubelet/config.yaml'], h.env)
        assert.equal(r.code, 1)
        assert.match(r.stderr, /failed to load kubelet config file, path: \/var\/lib\/kubelet\/config.yaml/)
      } finally {
        await removeHost(h)
      }
    })

    it('kubelet refuses a cgroup driver that differs from containerd SystemdCgroup, and unknown config fields', async () => {
      const h = await fakeHost('cg', {systemdCgroup: false})
      try {
        const {mkdirSync, writeFileSync} = await import('node:fs')
        mkdirSync(join(h.root, 'var/lib/kubelet'), {recursive: true})
        writeFileSync(join(h.root, 'var/lib/kubelet/config.yaml'), `apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\nhealthzPort: ${HEALTHZ + 7}\n`)
        const r = await run('kubelet', ['--config=/var/lib/kubelet/config.yaml', '--container-runtime-endpoint=unix:///run/containerd/containerd.sock'], h.env)
        assert.equal(r.code, 1)
        assert.match(r.stderr, /kubelet cgroup driver: \\"systemd\\" is different from containerd's .*SystemdCgroup = false/)
        writeFileSync(join(h.root, 'var/lib/kubelet/config.yaml'), `apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\nnetworkPlugin: cni\n`)
        const u = await run('kubelet', ['--config=/var/lib/kubelet/config.yaml'], h.env)
        assert.equal(u.code, 1)
        assert.match(u.stderr, /strict decoding error: unknown field \\"networkPlugin\\"/)
      } finally {
        await removeHost(h)
      }
    })
  })

  describe('kubeadm configuration: apiVersion rule and strict decoding', () => {
    const images = (file: string, version?: string) => run('kubeadm', ['config', 'images', 'list', '--config', file], version ? {STANDIN_KUBERNETES_VERSION: version} : {})

    it('accepts v1beta4 on 1.31', async () => {
      const r = await images(writeFile(tmp, 'ok.yaml', v1beta4()))
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /registry.k8s.io\/kube-apiserver:v1.31.2/)
    })

    it('refuses v1beta4 on kubeadm 1.29 (v1beta4 exists from 1.31)', async () => {
      const r = await images(writeFile(tmp, 'b4-129.yaml', v1beta4().replace('kubernetesVersion: v1.31.2', 'kubernetesVersion: v1.29.5')), 'v1.29.5')
      assert.equal(r.code, 1)
      assert.match(r.stderr, /no kind "InitConfiguration" is registered for version "kubeadm.k8s.io\/v1beta4"/)
    })

    const v1beta3 = (k8s: string) => `apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: ${k8s}
apiServer:
  extraArgs:
    audit-log-maxage: "7"
`
    it('accepts v1beta3 on 1.33 with kubeadm\'s deprecation warning (deprecated in 1.31, removed in 1.36)', async () => {
      const r = await images(writeFile(tmp, 'b3-133.yaml', v1beta3('v1.33.1')), 'v1.33.1')
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stderr, /deprecated API spec: "kubeadm.k8s.io\/v1beta3"/)
    })

    it('refuses v1beta3 on 1.36', async () => {
      const r = await images(writeFile(tmp, 'b3-136.yaml', v1beta3('v1.36.0')), 'v1.36.0')
      assert.equal(r.code, 1)
      assert.match(r.stderr, /uses an old API spec: "kubeadm.k8s.io\/v1beta3"/)
    })

    it('refuses an unknown field, naming it', async () => {
      const r = await images(writeFile(tmp, 'unknown.yaml', v1beta4('', 'networkingg:\n  podSubnet: 10.0.0.0/8\n')))
      assert.equal(r.code, 1)
      assert.match(r.stderr, /Kind:"ClusterConfiguration"\}: strict decoding error: unknown field "networkingg"/)
      const k = await images(writeFile(tmp, 'unknown-kubelet.yaml', v1beta4('', '', 'cgroupDriverr: systemd\n')))
      assert.equal(k.code, 1)
      assert.match(k.stderr, /KubeletConfiguration.*unknown field "cgroupDriverr"/)
    })

    it('refuses a v1beta3-style extraArgs map in v1beta4', async () => {
      const bad = v1beta4().replace('  extraArgs:\n  - name: audit-log-maxage\n    value: "7"\n', '  extraArgs:\n    audit-log-maxage: "7"\n')
      const r = await images(writeFile(tmp, 'map.yaml', bad))
      assert.equal(r.code, 1)
      assert.match(r.stderr, /cannot unmarshal object into Go struct field apiServer.extraArgs of type \[\]Arg/)
    })

    it('refuses wrong types and v1beta3-only fields in v1beta4', async () => {
      const r = await images(writeFile(tmp, 'type.yaml', v1beta4().replace(`bindPort: ${PORT}`, 'bindPort: "6443"')))
      assert.equal(r.code, 1)
      assert.match(r.stderr, /cannot unmarshal string into Go struct field localAPIEndpoint.bindPort of type int32/)
      const t = await images(writeFile(tmp, 'timeout.yaml', v1beta4('', '  timeoutForControlPlane: 4m0s\n')))
      assert.equal(t.code, 1)
      assert.match(t.stderr, /unknown field "apiServer.timeoutForControlPlane"/)
    })

    it('refuses a malformed bootstrap token, certificate key and endpoint before touching the host', async () => {
      const h = await fakeHost('val')
      try {
        const tok = await run('kubeadm', ['init', '--config', writeFile(tmp, 'tok.yaml', v1beta4().replace(TOKEN, 'ABCDEF.0123456789abcdef'))], h.env)
        assert.equal(tok.code, 1)
        assert.match(tok.stderr, /bootstrapTokens\[0\].token: Invalid value: "ABCDEF.0123456789abcdef": the bootstrap token is invalid/)
        const key = await run('kubeadm', ['init', '--config', writeFile(tmp, 'key.yaml', v1beta4('certificateKey: abc123\n'))], h.env)
        assert.equal(key.code, 1)
        assert.match(key.stderr, /certificateKey: Invalid value: "abc123": certificate key size must be 32 bytes/)
        const ep = await run('kubeadm', ['init', '--config', writeFile(tmp, 'ep.yaml', v1beta4().replace(`controlPlaneEndpoint: 127.0.0.1:${PORT}`, 'controlPlaneEndpoint: "lab_api:99999"'))], h.env)
        assert.equal(ep.code, 1)
        assert.match(ep.stderr, /controlPlaneEndpoint: Invalid value: "lab_api:99999"/)
        const old = await run('kubeadm', ['init', '--config', writeFile(tmp, 'old.yaml', v1beta4().replace('kubernetesVersion: v1.31.2', 'kubernetesVersion: v1.29.0'))], h.env)
        assert.equal(old.code, 1)
        assert.match(old.stderr, /only supports deploying clusters with the control plane version >= 1.30.0/)
        assert.ok(!existsSync(join(h.root, 'etc/kubernetes')), 'nothing written on refusal')
      } finally {
        await removeHost(h)
      }
    })

    it('fails preflight when ip_forward is 0 or the CRI socket is missing', async () => {
      const h = await fakeHost('pf', {socket: false, tools: false})
      try {
        writeFile(join(h.root, 'proc/sys/net/ipv4'), 'ip_forward', '0\n')
        const r = await run('kubeadm', ['init', '--config', writeFile(tmp, 'pf.yaml', v1beta4())], h.env)
        assert.equal(r.code, 1)
        assert.match(r.stderr, /\[ERROR FileContent--proc-sys-net-ipv4-ip_forward\]: \/proc\/sys\/net\/ipv4\/ip_forward contents are not set to 1/)
        assert.match(r.stderr, /\[ERROR CRI\]: container runtime is not running/)
        assert.match(r.stderr, /\[ERROR FileExisting-iptables\]: iptables not found in system path/)
        assert.match(r.stderr, /\[ERROR FileExisting-conntrack\]: conntrack not found in system path/)
        assert.match(r.stderr, /\[WARNING FileExisting-socat\]: socat not found in system path/)
        assert.match(r.stderr, /error execution phase preflight: preflight checks failed/)
      } finally {
        await removeHost(h)
      }
    })
  })

  describe('a cluster: kubeadm init, kubelet + kube-apiserver, kubectl, kubeadm join', () => {
    let cp: FakeHost
    let worker: FakeHost
    let cp3: FakeHost | undefined
    let initOut = ''
    const kubectl = (args: string[], input?: string) => run('kubectl', ['--kubeconfig', '/etc/kubernetes/admin.conf', ...args], cp.env, input)

    before(async function () {
      this.timeout(120000)
      cp = await fakeHost('node1')
      worker = await fakeHost('node2')
      await superviseKubelet(cp)
      const r = await run('kubeadm', ['init', '--config', writeFile(tmp, 'init.yaml', v1beta4()), '--upload-certs'], cp.env)
      initOut = r.stdout
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n--- kubelet:\n${cp.kubelet?.log()}`)
    })
    after(async () => {
      if (cp3) await removeHost(cp3)
      if (worker) await removeHost(worker)
      if (cp) await removeHost(cp)
    })

    it('writes the PKI, kubeconfigs, static pods and kubelet files kubeadm writes', () => {
      const f = (p: string) => join(cp.root, p)
      for (const p of [
        'etc/kubernetes/admin.conf',
        'etc/kubernetes/super-admin.conf',
        'etc/kubernetes/kubelet.conf',
        'etc/kubernetes/controller-manager.conf',
        'etc/kubernetes/scheduler.conf',
        'etc/kubernetes/pki/ca.key',
        'etc/kubernetes/pki/sa.key',
        'etc/kubernetes/pki/sa.pub',
        'etc/kubernetes/pki/front-proxy-ca.crt',
        'etc/kubernetes/pki/front-proxy-client.crt',
        'etc/kubernetes/pki/etcd/ca.crt',
        'etc/kubernetes/pki/etcd/server.crt',
        'etc/kubernetes/pki/apiserver-etcd-client.crt',
        'etc/kubernetes/manifests/kube-apiserver.yaml',
        'etc/kubernetes/manifests/kube-controller-manager.yaml',
        'etc/kubernetes/manifests/kube-scheduler.yaml',
        'etc/kubernetes/manifests/etcd.yaml',
        'var/lib/kubelet/config.yaml',
        'var/lib/kubelet/kubeadm-flags.env',
      ])
        assert.ok(existsSync(f(p)), p)
      const ca = new X509Certificate(readFileSync(f('etc/kubernetes/pki/ca.crt')))
      const api = new X509Certificate(readFileSync(f('etc/kubernetes/pki/apiserver.crt')))
      assert.ok(ca.ca)
      assert.ok(api.verify(ca.publicKey))
      for (const san of ['IP Address:10.96.0.1', 'IP Address:127.0.0.1', 'IP Address:10.77.0.100', 'DNS:lab-api.example', 'DNS:kubernetes.default.svc.cluster.local', 'DNS:node1'])
        assert.ok(api.subjectAltName?.includes(san), `${san} in ${api.subjectAltName}`)
      const admin = parse(readFileSync(f('etc/kubernetes/admin.conf'), 'utf8'))
      assert.equal(admin.clusters[0].cluster.server, `https://127.0.0.1:${PORT}`)
      const apiPod = parse(readFileSync(f('etc/kubernetes/manifests/kube-apiserver.yaml'), 'utf8'))
      const cmd: string[] = apiPod.spec.containers[0].command
      assert.ok(cmd.includes('--service-cluster-ip-range=10.96.0.0/12'))
      assert.ok(cmd.includes('--advertise-address=127.0.0.1'))
      assert.ok(cmd.includes('--audit-log-maxage=7'), 'extraArgs applied')
      const cm = parse(readFileSync(f('etc/kubernetes/manifests/kube-controller-manager.yaml'), 'utf8'))
      assert.ok(cm.spec.containers[0].command.includes('--cluster-cidr=10.244.0.0/16'))
      const kcfg = parse(readFileSync(f('var/lib/kubelet/config.yaml'), 'utf8'))
      assert.equal(kcfg.cgroupDriver, 'systemd')
      assert.deepEqual(kcfg.clusterDNS, ['10.96.0.10'])
      assert.match(readFileSync(f('var/lib/kubelet/kubeadm-flags.env'), 'utf8'), /KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:\/\/\/var\/run\/containerd\/containerd.sock .*--node-ip=127.0.0.1"/)
    })

    it('prints the join commands with the token, CA hash and (with --upload-certs) the certificate key', () => {
      const hash = caCertHash(readFileSync(join(cp.root, 'etc/kubernetes/pki/ca.crt'), 'utf8'))
      assert.match(initOut, new RegExp(`kubeadm join 127.0.0.1:${PORT} --token ${TOKEN} \\\\\\n\\t--discovery-token-ca-cert-hash ${hash}`))
      assert.match(initOut, /--control-plane --certificate-key [0-9a-f]{64}/)
    })

    it('refuses a second init: the manifests exist (kubeadm preflight FileAvailable)', async () => {
      const r = await run('kubeadm', ['init', '--config', join(tmp, 'init.yaml'), '--ignore-preflight-errors=Port-' + PORT], cp.env)
      assert.equal(r.code, 1)
      assert.match(r.stderr, /\[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml\]: \/etc\/kubernetes\/manifests\/kube-apiserver.yaml already exists/)
    })

    it('kubectl get nodes lists the control-plane node, Ready, labelled and tainted', async () => {
      const r = await kubectl(['get', 'nodes', '-o', 'json'])
      assert.equal(r.code, 0, r.stderr)
      const items = JSON.parse(r.stdout).items
      const n = items.find((x: any) => x.metadata.name === 'node1')
      assert.ok(n)
      assert.equal(n.metadata.labels['node-role.kubernetes.io/control-plane'], '')
      assert.deepEqual(n.spec.taints, [{key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule'}])
      const w = await kubectl(['wait', '--for=condition=Ready', 'node/node1', '--timeout=20s'])
      assert.equal(w.code, 0, w.stderr)
      assert.match(w.stdout, /node\/node1 condition met/)
    })

    it('kubectl apply accepts a valid DaemonSet and lists it; refuses one with an unknown field or a wrong type', async () => {
      const ok = await kubectl(['apply', '-f', '-'], DS())
      assert.equal(ok.code, 0, ok.stderr)
      assert.equal(ok.stdout, 'daemonset.apps/node-agent created\n')
      const again = await kubectl(['apply', '-f', '-'], DS())
      assert.equal(again.stdout, 'daemonset.apps/node-agent unchanged\n')
      const ls = await kubectl(['get', 'ds', '-n', 'kube-system', '-o', 'name'])
      assert.match(ls.stdout, /daemonset.apps\/node-agent/)
      assert.match(ls.stdout, /daemonset.apps\/kube-proxy/)
      const bad = await kubectl(['apply', '-f', '-'], DS('  foo: bar\n').replace('node-agent', 'bad-agent').replace(/app: node-agent/g, 'app: bad'))
      assert.equal(bad.code, 1)
      assert.match(bad.stderr, /Error from server \(BadRequest\): error when creating "STDIN": DaemonSet in version "v1" cannot be handled as a DaemonSet: strict decoding error: unknown field "spec.foo"/)
      const typ = await kubectl(['apply', '-f', '-'], DS('', '5').replace('node-agent', 'typ-agent').replace(/app: node-agent/g, 'app: typ'))
      assert.equal(typ.code, 1)
      assert.match(typ.stderr, /cannot unmarshal number into Go struct field spec.template.spec.containers\[0\].image of type string/)
      const ssa = await kubectl(['apply', '--server-side', '-f', '-'], DS().replace('agent:1', 'agent:2'))
      assert.equal(ssa.code, 0, ssa.stderr)
      assert.match(ssa.stdout, /daemonset.apps\/node-agent serverside-applied/)
    })

    it('kube-apiserver refuses a selector that does not match the template (422) and a CR of an unregistered kind', async () => {
      const r = await kubectl(['apply', '-f', '-'], DS().replace('matchLabels: {app: node-agent}', 'matchLabels: {app: other}').replace('name: node-agent', 'name: mism'))
      assert.equal(r.code, 1)
      assert.match(r.stderr, /Error from server \(Invalid\).*`selector` does not match template `labels`/)
      const cr = await kubectl(['apply', '-f', '-'], 'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n')
      assert.equal(cr.code, 1)
      assert.match(cr.stderr, /no matches for kind "Widget" in version "example.com\/v1"/)
    })

    it('kubectl diff exits 0 without differences, 1 with, 2 on objects the server refuses', async () => {
      const same = await kubectl(['diff', '-f', '-'], DS().replace('agent:1', 'agent:2'))
      assert.equal(same.code, 0, same.stdout + same.stderr)
      const changed = await kubectl(['diff', '--server-side', '--force-conflicts', '--field-manager=metalplane', '-f', '-'], DS().replace('agent:1', 'agent:3'))
      assert.equal(changed.code, 1, changed.stderr)
      assert.match(changed.stdout, /^-\s+image: registry.example\/agent:2$/m)
      assert.match(changed.stdout, /^\+\s+image: registry.example\/agent:3$/m)
      const missing = await kubectl(['diff', '-f', '-'], DS().replace('name: node-agent', 'name: not-yet'))
      assert.equal(missing.code, 1)
      const bad = await kubectl(['diff', '-f', '-'], DS('  foo: bar\n'))
      assert.equal(bad.code, 2)
      assert.match(bad.stderr, /unknown field "spec.foo"/)
      const live = JSON.parse((await kubectl(['get', 'ds', 'node-agent', '-n', 'kube-system', '-o', 'json'])).stdout)
      assert.equal(live.spec.template.spec.containers[0].image, 'registry.example/agent:2', 'diff changed nothing')
    })

    it('CRDs: established for kubectl wait; custom resources checked against the CRD schema; more built-in kinds', async () => {
      const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer}
              labels: {type: object, additionalProperties: {type: string}}
              raw: {type: object, x-kubernetes-preserve-unknown-fields: true}
`
      const c = await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=metalplane', '-f', '-'], crd)
      assert.equal(c.code, 0, c.stderr)
      const w = await kubectl(['wait', '--for', 'condition=established', '--timeout=10s', 'crd/widgets.example.com'])
      assert.equal(w.code, 0, w.stderr)
      const good = await kubectl(['apply', '-f', '-'], 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3, labels: {a: b}, raw: {any: [1, 2]}}\n')
      assert.equal(good.code, 0, good.stderr)
      assert.equal(good.stdout, 'widget.example.com/w1 created\n')
      const unknown = await kubectl(['apply', '-f', '-'], 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w2}\nspec: {size: 3, colour: red}\n')
      assert.equal(unknown.code, 1)
      assert.match(unknown.stderr, /unknown field "spec.colour"/)
      const typ = await kubectl(['apply', '-f', '-'], 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w3}\nspec: {size: big}\n')
      assert.equal(typ.code, 1)
      assert.match(typ.stderr, /spec.size in body must be of type integer/)
      const pdb = await kubectl(['apply', '-f', '-'], 'apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p, namespace: kube-system}\nspec: {maxUnavailable: 1, selector: {matchLabels: {app: x}}}\n')
      assert.equal(pdb.code, 0, pdb.stderr)
      assert.equal(pdb.stdout, 'poddisruptionbudget.policy/p created\n')
      const ns = await kubectl(['apply', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: nowhere}\ndata: {a: b}\n')
      assert.equal(ns.code, 1)
      assert.match(ns.stderr, /namespaces "nowhere" not found/)
    })

    it('a real kubectl (google-cloud-cli 1.31, when installed) gets the same answers from the apiserver stand-in', async function () {
      const real = '/usr/lib/google-cloud-sdk/bin/kubectl.1.31'
      if (!existsSync(real)) this.skip()
      const k = (args: string[], input?: string) => {
        const r = spawnSync(real, ['--kubeconfig', join(cp.root, 'etc/kubernetes/admin.conf'), ...args], {encoding: 'utf8', input, timeout: 30000})
        return {code: r.status, stdout: r.stdout, stderr: r.stderr}
      }
      const bad = k(['apply', '-f', '-'], DS('  foo: bar\n').replace('node-agent', 'real-bad').replace(/app: node-agent/g, 'app: rb'))
      assert.equal(bad.code, 1)
      assert.match(bad.stderr, /Error from server \(BadRequest\): error when creating "STDIN": DaemonSet in version "v1" cannot be handled as a DaemonSet: strict decoding error: unknown field "spec.foo"/)
      const real1 = DS().replace('name: node-agent', 'name: real-agent').replace(/app: node-agent/g, 'app: ra')
      assert.equal(k(['apply', '-f', '-'], real1).stdout, 'daemonset.apps/real-agent created\n')
      assert.equal(k(['diff', '-f', '-'], real1).code, 0)
      assert.equal(k(['diff', '-f', '-'], real1.replace('agent:1', 'agent:9')).code, 1)
      assert.equal(k(['diff', '-f', '-'], real1.replace('agent:1', 'agent:9').replace('      - name: agent', '      - name: agent\n        imagePullPolicy: 5')).code, 2)
      assert.equal(k(['apply', '-f', '-'], real1.replace('agent:1', 'agent:9')).stdout, 'daemonset.apps/real-agent configured\n')
      const ours = JSON.parse((await kubectl(['get', 'ds', 'real-agent', '-n', 'kube-system', '-o', 'json'])).stdout)
      assert.equal(ours.spec.template.spec.containers[0].image, 'registry.example/agent:9')
      assert.equal(ours.spec.template.spec.containers.length, 1, 'strategic merge kept one container')
      const w = k(['wait', '--for=condition=Ready', 'node/node1', '--timeout=10s'])
      assert.equal(w.code, 0, w.stderr)
      assert.equal(w.stderr, '')
    })

    it('kubectl label, taint, cordon, drain and uncordon a node', async () => {
      assert.equal((await kubectl(['label', 'node', 'node1', 'metalplane.io/pool=gpu'])).stdout, 'node/node1 labeled\n')
      const again = await kubectl(['label', 'node', 'node1', 'metalplane.io/pool=cpu'])
      assert.equal(again.code, 1)
      assert.match(again.stderr, /already has a value \(gpu\), and --overwrite is false/)
      assert.equal((await kubectl(['taint', 'node', 'node1', 'dedicated=gpu:NoSchedule'])).stdout, 'node/node1 tainted\n')
      assert.equal((await kubectl(['taint', 'node', 'node1', 'dedicated=gpu:NoSchedule-'])).stdout, 'node/node1 untainted\n')
      const d = await kubectl(['drain', 'node1', '--ignore-daemonsets', '--delete-emptydir-data'])
      assert.equal(d.code, 0, d.stderr)
      assert.match(d.stdout, /node\/node1 cordoned[\s\S]*node\/node1 drained/)
      assert.equal((await kubectl(['uncordon', 'node1'])).stdout, 'node/node1 uncordoned\n')
    })

    it('kubeadm join (flag form) registers a worker through TLS bootstrap; a wrong CA hash or token is refused', async () => {
      const hash = caCertHash(readFileSync(join(cp.root, 'etc/kubernetes/pki/ca.crt'), 'utf8'))
      const wrong = await run('kubeadm', ['join', `127.0.0.1:${PORT}`, '--token', TOKEN, '--discovery-token-ca-cert-hash', `sha256:${'0'.repeat(64)}`, '--ignore-preflight-errors=Port-10250'], worker.env)
      assert.equal(wrong.code, 1)
      assert.match(wrong.stderr, /none of the public keys "sha256:[0-9a-f]{64}" are pinned/)
      const badTok = await run('kubeadm', ['join', `127.0.0.1:${PORT}`, '--token', 'zzzzzz.0123456789abcdef', '--discovery-token-ca-cert-hash', hash, '--ignore-preflight-errors=Port-10250'], worker.env)
      assert.equal(badTok.code, 1)
      assert.match(badTok.stderr, /could not find a JWS signature in the cluster-info ConfigMap for token ID "zzzzzz"/)
      await superviseKubelet(worker, [`--healthz-port=${HEALTHZ + 1}`])
      const r = await run('kubeadm', ['join', `127.0.0.1:${PORT}`, '--token', TOKEN, '--discovery-token-ca-cert-hash', hash, '--ignore-preflight-errors=Port-10250'], worker.env)
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n--- kubelet:\n${worker.kubelet?.log()}`)
      assert.match(r.stdout, /This node has joined the cluster/)
      assert.ok(existsSync(join(worker.root, 'etc/kubernetes/kubelet.conf')))
      assert.ok(existsSync(join(worker.root, 'var/lib/kubelet/pki/kubelet-client-current.pem')))
      const nodes = await kubectl(['get', 'nodes', '-o', 'name'])
      assert.equal(nodes.stdout, 'node/node1\nnode/node2\n')
    })

    it('kubeadm join --control-plane (v1beta4 config) decrypts kubeadm-certs with the certificate key; a wrong key is refused', async () => {
      const key = /--certificate-key ([0-9a-f]{64})/.exec(initOut)![1]
      const caPem = readFileSync(join(cp.root, 'etc/kubernetes/pki/ca.crt'), 'utf8')
      const cfg = (k: string) => `apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: 127.0.0.1:${PORT}
    token: ${TOKEN}
    caCertHashes: [${caCertHash(caPem)}]
nodeRegistration:
  name: node3
  taints: []
controlPlane:
  localAPIEndpoint:
    advertiseAddress: 127.0.0.1
    bindPort: ${PORT + 1}
  certificateKey: ${k}
`
      cp3 = await fakeHost('node3')
      cp3.env.STANDIN_HOSTNAME = 'node3'
      const wrong = await run('kubeadm', ['join', '--config', writeFile(tmp, 'join-cp-wrong.yaml', cfg('f'.repeat(64)))], cp3.env)
      assert.equal(wrong.code, 1)
      assert.match(wrong.stderr, /error decoding secret data with provided key: cipher: message authentication failed/)
      assert.ok(!existsSync(join(cp3.root, 'etc/kubernetes/pki/ca.key')))
      await superviseKubelet(cp3, [`--healthz-port=${HEALTHZ + 2}`])
      const r = await run('kubeadm', ['join', '--config', writeFile(tmp, 'join-cp.yaml', cfg(key))], cp3.env)
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n--- kubelet:\n${cp3.kubelet?.log()}`)
      assert.match(r.stdout, /a new control plane instance was created/)
      assert.equal(readFileSync(join(cp3.root, 'etc/kubernetes/pki/ca.key'), 'utf8'), readFileSync(join(cp.root, 'etc/kubernetes/pki/ca.key'), 'utf8'))
      assert.ok(existsSync(join(cp3.root, 'etc/kubernetes/manifests/kube-apiserver.yaml')))
      const n = JSON.parse((await kubectl(['get', 'node', 'node3', '-o', 'json'])).stdout)
      assert.equal(n.metadata.labels['node-role.kubernetes.io/control-plane'], '')
      assert.equal(n.spec.taints, undefined, 'taints: [] means no control-plane taint')
    })

    it('kubeadm token create --print-join-command prints a working join command', async () => {
      const r = await run('kubeadm', ['token', 'create', '--print-join-command'], cp.env)
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, new RegExp(`^kubeadm join 127.0.0.1:${PORT} --token [a-z0-9]{6}\\.[a-z0-9]{16} --discovery-token-ca-cert-hash sha256:[0-9a-f]{64} \\n$`))
    })

    it('kubeadm upgrade: plan, the version-skew rules, apply -y bumps the control-plane images', async () => {
      const plan = await run('kubeadm', ['upgrade', 'plan'], cp.env)
      assert.equal(plan.code, 0, plan.stderr)
      assert.match(plan.stdout, /Cluster version: v1.31.2[\s\S]*up-to-date/)
      const noYes = await run('kubeadm', ['upgrade', 'apply', 'v1.31.2'], cp.env)
      assert.equal(noYes.code, 1)
      const higher = await run('kubeadm', ['upgrade', 'apply', 'v1.32.0', '-y'], cp.env)
      assert.equal(higher.code, 1)
      assert.match(higher.stderr, /Specified version to upgrade to "v1.32.0" is higher than the kubeadm version "v1.31.2"/)
      const skip = await run('kubeadm', ['upgrade', 'apply', 'v1.33.0', '-y'], {...cp.env, STANDIN_KUBERNETES_VERSION: 'v1.33.0'})
      assert.equal(skip.code, 1)
      assert.match(skip.stderr, /kubeadm can upgrade only 1 minor version at a time/)
      const up = await run('kubeadm', ['upgrade', 'apply', 'v1.32.1', '-y'], {...cp.env, STANDIN_KUBERNETES_VERSION: 'v1.32.1'})
      assert.equal(up.code, 0, up.stderr)
      assert.match(up.stdout, /SUCCESS! Your cluster was upgraded to "v1.32.1"/)
      assert.match(readFileSync(join(cp.root, 'etc/kubernetes/manifests/kube-apiserver.yaml'), 'utf8'), /image: registry.k8s.io\/kube-apiserver:v1.32.1/)
      const node = await run('kubeadm', ['upgrade', 'node'], {...cp.env, STANDIN_KUBERNETES_VERSION: 'v1.32.1'})
      assert.equal(node.code, 0, node.stderr)
      // the kubelet restarts the apiserver from the new manifest: it reports the image's version
      let server = ''
      for (let i = 0; i < 20 && server !== 'v1.32.1'; i++) {
        await new Promise((r) => setTimeout(r, 500))
        const v = await kubectl(['version', '-o', 'json'])
        server = v.code === 0 ? JSON.parse(v.stdout).serverVersion.gitVersion : ''
      }
      assert.equal(server, 'v1.32.1')
    })

    it('kubeadm reset -f removes what init wrote', async () => {
      await worker.kubelet?.stop()
      const r = await run('kubeadm', ['reset', '-f'], worker.env)
      assert.equal(r.code, 0, r.stderr)
      assert.ok(!existsSync(join(worker.root, 'etc/kubernetes/kubelet.conf')))
      assert.ok(!existsSync(join(worker.root, 'var/lib/kubelet/config.yaml')))
    })
  })
})
