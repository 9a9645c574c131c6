import assert from 'node:assert/strict'
import {optionalPhases} from '../../../src/workflows/phases.js'
import {APPLY_ORDER, COMPONENT_MODULES, applyPhases} from '../../../src/workflows/apply.js'
import {phases as cni} from '../../../src/phases/cni.js'
import {phases as gpu} from '../../../src/phases/gpu.js'
import {phases as storage} from '../../../src/phases/storage.js'

describe('order of the CNI, storage and GPU phases', () => {
  it('each module states its order in `phases`; the loader keeps it', async () => {
    const want = ['cni', 'local-volumes', 'local-volume-objects', 'gpu-runtime', 'gpu-objects']
    assert.deepEqual([...cni, ...storage, ...gpu].map((p) => p.name), want)
    const found = await optionalPhases(COMPONENT_MODULES)
    assert.deepEqual(found.map((p) => p.name), want)
  })

  it('apply: disks checked and prepared right after preflight (a refusal changes nothing), the GPU runtime right after containerd (before kubeadm), the API objects after the joins', async () => {
    const names = (await applyPhases({connector: async () => {}})).names
    assert.deepEqual(names, [
      'connect',
      'facts',
      'preflight',
      'local-volumes',
      'os',
      'containerd',
      'gpu-runtime',
      'kubernetes',
      'kubeadm-init',
      'join-controllers',
      'kube-vip',
      'join-workers',
      'node-labels',
      'cni',
      'local-volume-objects',
      'gpu-objects',
      'kubeconfig',
    ])
    assert.deepEqual(names, APPLY_ORDER)
  })
})
