import assert from 'node:assert/strict'
import {optionalPhases} from '../../../src/workflows/phases.js'
import {phases as cni} from '../../../src/phases/cni.js'
import {phases as gpu} from '../../../src/phases/gpu.js'
import {phases as storage} from '../../../src/phases/storage.js'

describe('order of the CNI, storage and GPU phases', () => {
  const want = ['cni', 'local-volumes', 'local-volume-objects', 'gpu-runtime', 'gpu-objects']

  it('each module states its order in `phases`', () => {
    assert.deepEqual([...cni, ...storage, ...gpu].map((p) => p.name), want)
  })

  it('the apply workflow loader (Phase exports of each module) yields the same order', async () => {
    const found = await optionalPhases(['../phases/cni.js', '../phases/storage.js', '../phases/gpu.js'])
    assert.deepEqual(found.map((p) => p.name), want)
  })
})
