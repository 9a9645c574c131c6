import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseAllDocuments} from 'yaml'
import {runWorkflow} from '../../../src/engine/manager.js'
import {MetalplaneError} from '../../../src/errors.js'
import {Host} from '../../../src/hosts/host.js'
import {LocalExecutor} from '../../../src/hosts/local.js'
import {ciliumConfigOverrides, createCniPhase, mergeCiliumManifest, planCni, renderCalicoResources} from '../../../src/phases/cni.js'
import {parseSpec} from '../../../src/spec/load.js'
import {silentLogger} from '../../../src/ui/log.js'

const spec = (extra: {cni?: string; podCIDR?: string; bundle?: string; vip?: string} = {}) =>
  parseSpec(
    JSON.stringify({
      apiVersion: 'metalplane.io/v1alpha1',
      kind: 'Cluster',
      metadata: {name: 'net'},
      spec: {
        kubernetes: {version: '1.31.4'},
        network: {cni: extra.cni ?? 'calico', podCIDR: extra.podCIDR ?? '10.244.0.0/16'},
        ...(extra.vip ? {controlPlane: {vip: extra.vip}} : {}),
        ...(extra.bundle ? {bundle: extra.bundle} : {}),
        hosts: [
          {name: 'cp1', address: '192.168.10.11', role: 'controller'},
          {name: 'w1', address: '192.168.10.21', role: 'worker'},
        ],
      },
    }),
  )

// The shape of `helm template cilium cilium/cilium --namespace kube-system` output, cut down.
const CILIUM = `---
# Source: cilium/templates/cilium-agent/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: "cilium"
  namespace: kube-system
---
# Source: cilium/templates/cilium-configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: cilium-config
  namespace: kube-system
data:
  identity-allocation-mode: crd
  ipam: "cluster-pool"
  cluster-pool-ipv4-cidr: "10.0.0.0/8"
  cluster-pool-ipv4-mask-size: "24"
  routing-mode: "tunnel"
  tunnel-protocol: "vxlan"
---
# Source: cilium/templates/cilium-agent/daemonset.yaml
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: cilium
  namespace: kube-system
spec:
  selector:
    matchLabels:
      k8s-app: cilium
  template:
    metadata:
      labels:
        k8s-app: cilium
    spec:
      containers:
      - name: cilium-agent
        image: "quay.io/cilium/cilium:v1.16.5@sha256:758ca0793f5995bb938a2fa219dcce63dc0b3fa7345f7d8b1c3c2f0a7e2b9e2a"
`

describe('CNI manifests', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mp-cni-'))
    mkdirSync(join(dir, 'manifests'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('Calico Installation: the pod CIDR, VXLANCrossSubnet, node IP from Kubernetes', () => {
    const docs = parseAllDocuments(renderCalicoResources(spec({podCIDR: '10.200.0.0/16'}))).map((d) => d.toJS())
    assert.deepEqual(docs.map((d) => `${d.apiVersion} ${d.kind} ${d.metadata.name}`), ['operator.tigera.io/v1 Installation default', 'operator.tigera.io/v1 APIServer default'])
    const net = docs[0].spec.calicoNetwork
    assert.deepEqual(net.ipPools, [{name: 'default-ipv4-ippool', cidr: '10.200.0.0/16', blockSize: 26, encapsulation: 'VXLANCrossSubnet', natOutgoing: 'Enabled', nodeSelector: 'all()'}])
    assert.deepEqual(net.nodeAddressAutodetectionV4, {kubernetes: 'NodeInternalIP'})
  })

  it('Calico with an IPv6 pod CIDR uses a v6 pool', () => {
    const inst = parseAllDocuments(renderCalicoResources(spec({podCIDR: 'fd00:10:244::/56'})))[0].toJS()
    assert.equal(inst.spec.calicoNetwork.ipPools[0].cidr, 'fd00:10:244::/56')
    assert.equal(inst.spec.calicoNetwork.ipPools[0].blockSize, 122)
    assert.ok(inst.spec.calicoNetwork.nodeAddressAutodetectionV6)
  })

  it('calico needs the operator manifest from the bundle; its absence names the path', () => {
    assert.throws(() => planCni(spec()), (e: unknown) => e instanceof MetalplaneError && e.code === 'BUNDLE_MISSING' && /spec\.bundle is not set; expected <bundle>\/manifests\/tigera-operator\.yaml/.test(e.message))
    assert.throws(() => planCni(spec({bundle: dir})), (e: unknown) => {
      assert.ok(e instanceof MetalplaneError)
      assert.equal(e.message, `The Calico tigera-operator manifest: ${join(dir, 'manifests/tigera-operator.yaml')} is missing from the bundle`)
      assert.match(e.hint!, /docs\/bundle\.md/)
      return true
    })
    writeFileSync(join(dir, 'manifests/tigera-operator.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tigera-operator\n')
    const p = planCni(spec({bundle: dir}))
    assert.equal(p.cni, 'calico')
    assert.match(p.resources!, /cidr: 10.244.0.0\/16/)
  })

  it('cilium: the bundle manifest with our cilium-config keys merged in, the rest untouched', () => {
    assert.throws(() => planCni(spec({cni: 'cilium', bundle: dir})), /manifests\/cilium\.yaml is missing from the bundle/)
    writeFileSync(join(dir, 'manifests/cilium.yaml'), CILIUM)
    const p = planCni(spec({cni: 'cilium', bundle: dir, podCIDR: '10.200.0.0/16', vip: '192.168.10.5'}))
    const docs = parseAllDocuments(p.base).map((d) => d.toJS())
    assert.deepEqual(docs.map((d) => d?.kind), ['ServiceAccount', 'ConfigMap', 'DaemonSet'])
    assert.match(p.base, /# Source: cilium\/templates\/cilium-configmap.yaml/, 'comments kept')
    const data = docs[1].data
    assert.equal(data['cluster-pool-ipv4-cidr'], '10.200.0.0/16')
    assert.equal(data['cluster-pool-ipv4-mask-size'], '24')
    assert.equal(data.ipam, 'cluster-pool')
    assert.equal(data['k8s-service-host'], '192.168.10.5')
    assert.equal(data['k8s-service-port'], '6443')
    assert.equal(data['tunnel-protocol'], 'vxlan', 'bundle settings kept')
    assert.equal(docs[2].spec.template.spec.containers[0].image, 'quay.io/cilium/cilium:v1.16.5@sha256:758ca0793f5995bb938a2fa219dcce63dc0b3fa7345f7d8b1c3c2f0a7e2b9e2a')
  })

  it('cilium without a VIP talks to the first controller', () => {
    assert.equal(ciliumConfigOverrides(spec({cni: 'cilium'}))['k8s-service-host'], '192.168.10.11')
  })

  it('a manifest that is not cilium is refused', () => {
    assert.throws(() => mergeCiliumManifest('kind: ConfigMap\nmetadata: {name: other}\n', {}), /has no ConfigMap cilium-config/)
  })

  it('the phase plans the apply on the first controller (dry-run)', async () => {
    writeFileSync(join(dir, 'manifests/tigera-operator.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tigera-operator\n')
    const s = spec({bundle: dir})
    const hosts = s.spec.hosts.map((h) => new Host(h, new LocalExecutor(h.name)))
    const r = await runWorkflow([createCniPhase()], {workflow: 'apply', spec: s, hosts, dryRun: true, concurrency: 2, log: silentLogger, renderer: 'silent'})
    assert.deepEqual(r.actions.map((a) => `${a.host}: ${a.action}`), [
      `cp1: kubectl apply --server-side ${join(dir, 'manifests/tigera-operator.yaml')}`,
      'cp1: wait for the tigera-operator CRDs, apply Calico Installation (pool 10.244.0.0/16, VXLANCrossSubnet)',
    ])
  })

  it('a missing bundle file fails the phase before anything is applied', async () => {
    const s = spec({bundle: dir})
    const hosts = s.spec.hosts.map((h) => new Host(h, new LocalExecutor(h.name)))
    await assert.rejects(
      runWorkflow([createCniPhase()], {workflow: 'apply', spec: s, hosts, dryRun: true, concurrency: 2, log: silentLogger, renderer: 'silent'}),
      /tigera-operator\.yaml is missing from the bundle/,
    )
  })
})

