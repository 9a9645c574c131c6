import assert from 'node:assert/strict'
import {parseAllDocuments} from 'yaml'
import {Host} from '../../../src/hosts/host.js'
import type {Executor} from '../../../src/hosts/executor.js'
import {
  devicePluginImage,
  dnsName,
  kubectlApply,
  kubectlUpToDate,
  labelNode,
  labelValue,
  localPersistentVolume,
  localStorageClass,
  nvidiaDevicePlugin,
  runtimeClass,
  toYaml,
} from '../../../src/kube/index.js'
import {check, k8sKinds} from '../../standins/schema.js'
import {RecordingExecutor} from './recording.js'

function hostWith(ex: Executor): Host {
  return new Host({name: 'c1', address: '10.0.0.1', port: 22, user: 'root', role: 'controller', labels: {}, taints: [], localVolumes: [], gpu: 'auto'}, ex)
}

/** Strict check against the Kubernetes API field lists (unknown field or wrong type = error). */
function validate(obj: {kind: string; apiVersion: string}): void {
  const kind = k8sKinds[obj.kind]
  assert.ok(kind, `kind ${obj.kind} known`)
  assert.equal(obj.apiVersion, kind.apiVersion)
  const errors = check(JSON.parse(JSON.stringify(obj)), {k8s: kind.type})
  assert.deepEqual(errors, [], JSON.stringify(errors))
}

describe('kube object builders', () => {
  it('StorageClass matches the storage.k8s.io/v1 API', () => {
    const sc = localStorageClass('local-nvme')
    validate(sc)
    assert.equal(sc.provisioner, 'kubernetes.io/no-provisioner')
    assert.equal(sc.volumeBindingMode, 'WaitForFirstConsumer')
    validate(localStorageClass('x', {isDefault: true}))
  })

  it('PersistentVolume matches the core/v1 API (local, nodeAffinity, capacity)', () => {
    const pv = localPersistentVolume({name: 'local-w1-nvme-a', node: 'w1', path: '/mnt/metalplane/nvme-a', bytes: 3838681694208, storageClass: 'local-nvme', fsType: 'xfs'})
    validate(pv)
    assert.equal(pv.spec.local.path, '/mnt/metalplane/nvme-a')
    assert.equal(pv.spec.capacity.storage, '3838681694208')
    assert.deepEqual(pv.spec.nodeAffinity.required.nodeSelectorTerms, [{matchExpressions: [{key: 'kubernetes.io/hostname', operator: 'In', values: ['w1']}]}])
  })

  it('the checker catches a misspelt field', () => {
    const pv = localPersistentVolume({name: 'x', node: 'w1', path: '/p', bytes: 1, storageClass: 's'}) as any
    pv.spec.nodeAfinity = pv.spec.nodeAffinity
    assert.ok(check(JSON.parse(JSON.stringify(pv)), {k8s: 'V1PersistentVolume'}).length > 0)
  })

  it('RuntimeClass matches node.k8s.io/v1', () => {
    const rc = runtimeClass('nvidia', 'nvidia', {'metalplane.io/gpu': 'nvidia'})
    validate(rc)
    assert.equal(rc.handler, 'nvidia')
  })

  it('device plugin DaemonSet matches apps/v1, pinned image, GPU nodes only', () => {
    const ds = nvidiaDevicePlugin({
      version: 'v0.17.0',
      nodeSelector: {'metalplane.io/gpu': 'nvidia'},
      requireNot: [{key: 'metalplane.io/gpu.driver', values: ['missing']}],
      runtimeClassName: 'nvidia',
    })
    validate(ds)
    const pod = ds.spec.template.spec as any
    assert.equal(pod.containers[0].image, 'nvcr.io/nvidia/k8s-device-plugin:v0.17.0')
    assert.deepEqual(pod.nodeSelector, {'metalplane.io/gpu': 'nvidia'})
    assert.deepEqual(pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions, [
      {key: 'metalplane.io/gpu.driver', operator: 'NotIn', values: ['missing']},
    ])
    assert.ok(pod.tolerations.some((t: any) => t.key === 'nvidia.com/gpu' && t.operator === 'Exists'))
    assert.equal(pod.runtimeClassName, 'nvidia')
    assert.deepEqual(ds.spec.selector.matchLabels, ds.spec.template.metadata.labels)
    assert.equal(devicePluginImage('0.17.0'), 'nvcr.io/nvidia/k8s-device-plugin:v0.17.0')
  })

  it('toYaml writes one document per object', () => {
    const text = toYaml([localStorageClass('a'), runtimeClass('nvidia', 'nvidia')])
    const docs = parseAllDocuments(text).map((d) => d.toJS())
    assert.deepEqual(docs.map((d) => d.kind), ['StorageClass', 'RuntimeClass'])
  })

  it('names and label values are sanitised', () => {
    assert.equal(dnsName('Local_W1/NVMe'), 'local-w1-nvme')
    assert.equal(labelValue('NVIDIA A100-SXM4-80GB'), 'NVIDIA-A100-SXM4-80GB')
    assert.equal(labelValue('GH100 [H100 SXM5 80GB]'), 'GH100-H100-SXM5-80GB')
    assert.ok(labelValue('x'.repeat(80)).length <= 63)
  })
})

describe('kubectl helpers', () => {
  it('kubectlApply pipes YAML to kubectl apply with the admin kubeconfig', async () => {
    const ex = new RecordingExecutor()
    await kubectlApply(hostWith(ex), [runtimeClass('nvidia', 'nvidia')])
    assert.equal(ex.calls[0].cmd, 'kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f -')
    assert.match(ex.calls[0].input!, /kind: RuntimeClass/)
    await kubectlApply(hostWith(ex), 'kind: X\n', {serverSide: true})
    assert.match(ex.calls[1].cmd, /apply --server-side --force-conflicts --field-manager=metalplane -f -$/)
  })

  it('kubectlUpToDate reads kubectl diff exit codes', async () => {
    for (const [code, want] of [[0, true], [1, false]] as const) {
      const ex = new RecordingExecutor('c1', () => ({code}))
      assert.equal(await kubectlUpToDate(hostWith(ex), [runtimeClass('nvidia', 'nvidia')]), want)
    }
    const bad = new RecordingExecutor('c1', () => ({code: 2, stderr: 'error: connection refused'}))
    await assert.rejects(kubectlUpToDate(hostWith(bad), []), /kubectl diff failed \(exit 2\): error: connection refused/)
    // What the documents themselves would create first (a namespace, a CRD) is not there: not applied yet.
    for (const stderr of ['Error from server (NotFound): namespaces "tigera-operator" not found', 'error: resource mapping not found for name: "default" namespace: "" from "STDIN": no matches for kind "Installation" in version "operator.tigera.io/v1"']) {
      const ex = new RecordingExecutor('c1', () => ({code: 2, stderr}))
      assert.equal(await kubectlUpToDate(hostWith(ex), []), false, stderr)
    }
  })

  it('labelNode overwrites labels and removes null ones', async () => {
    const ex = new RecordingExecutor()
    await labelNode(hostWith(ex), 'gpu-1', {'metalplane.io/gpu': 'nvidia', 'metalplane.io/gpu.count': '8', 'metalplane.io/gpu.driver': null})
    assert.equal(
      ex.calls[0].cmd,
      "kubectl --kubeconfig /etc/kubernetes/admin.conf label node gpu-1 --overwrite metalplane.io/gpu=nvidia metalplane.io/gpu.count=8 metalplane.io/gpu.driver-",
    )
  })
})
