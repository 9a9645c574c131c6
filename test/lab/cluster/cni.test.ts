// A full `cluster apply` on lab hosts, the pod network included: the stand-in bundle plus a
// stand-in for the tigera-operator manifest (test/fixtures/bundle/tigera-operator-standin.yaml:
// the upstream one is not obtainable here). The apiserver stand-in registers its CRDs and checks
// our Calico Installation and APIServer against their schemas.
import assert from 'node:assert/strict'
import {copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseSpec} from '../../../src/spec/load.js'
import {cli, repoRoot} from '../../helpers/cli.js'
import {withLab} from '../helpers/lab.js'
import {standinBundle} from './bundle.js'
import {presetSysctls, writeSpec} from './helpers.js'

const GPU_PHASES = ['gpu-runtime', 'gpu-objects']

describe('cluster apply with the pod network (Calico): 1 controller + 1 worker', function () {
  this.timeout(900_000)
  const lab = withLab('cl-cni', 2)
  let tmp: string
  let env: Record<string, string>

  before(async function () {
    this.timeout(600_000)
    tmp = mkdtempSync(join(tmpdir(), 'mp-cluster-cni-'))
    env = {METALPLANE_STATE_DIR: join(tmp, 'state')}
  })
  after(() => rmSync(tmp, {recursive: true, force: true}))

  it('applies the operator manifest and our Installation (pool = podCIDR); the GPU and disk phases are no-ops; a second apply changes nothing', async () => {
    presetSysctls(lab.hosts)
    const bundle = await standinBundle(tmp, '1.31.4')
    mkdirSync(join(bundle, 'manifests'), {recursive: true})
    copyFileSync(join(repoRoot, 'test/fixtures/bundle/tigera-operator-standin.yaml'), join(bundle, 'manifests/tigera-operator.yaml'))
    const spec = writeSpec(lab, tmp, 'cni', ['controller', 'worker'], {bundle})
    const podCIDR = parseSpec(readFileSync(spec, 'utf8')).spec.network.podCIDR

    // The lab hosts see this machine's PCI bus: with an NVIDIA GPU there, the GPU phases would act.
    const nvidia = await lab.ssh(lab.hosts[0], 'grep -l 0x10de /sys/bus/pci/devices/*/vendor 2>/dev/null | wc -l')
    const gpuHere = Number(String(nvidia.stdout).trim()) > 0
    const skip = gpuHere ? ['--skip-phases', GPU_PHASES.join(',')] : []
    const apply = () => cli(['cluster', 'apply', '-c', spec, ...skip, '--json'], {env, timeoutMs: 600_000})

    const t0 = Date.now()
    const r1 = apply()
    assert.equal(r1.code, 0, r1.stderr + r1.stdout)
    const seconds = (Date.now() - t0) / 1000
    const phases = Object.fromEntries(r1.json.phases.map((p: any) => [p.name, p.steps]))
    assert.deepEqual(phases.cni.map((s: any) => `${s.host}:${s.status}`), ['node1:done'])
    // No disks in the spec, no NVIDIA GPU: these phases have nothing to act on.
    for (const p of ['local-volumes', 'local-volume-objects', ...(gpuHere ? [] : GPU_PHASES)]) assert.deepEqual(phases[p], [], p)

    const inst = await lab.ssh(lab.hosts[0], 'kubectl --kubeconfig /etc/kubernetes/admin.conf get installation default -o json')
    assert.equal(inst.exitCode, 0, String(inst.stderr))
    const o = JSON.parse(String(inst.stdout))
    assert.equal(o.spec.calicoNetwork.ipPools[0].cidr, podCIDR)
    assert.equal(o.spec.calicoNetwork.ipPools[0].encapsulation, 'VXLANCrossSubnet')
    // The CRD schema is enforced: a value the operator's schema does not allow is refused.
    const bad = await lab.ssh(lab.hosts[0], 'kubectl --kubeconfig /etc/kubernetes/admin.conf get installation default -o json | sed "s/VXLANCrossSubnet/VXLANAcrossSubnets/" | kubectl --kubeconfig /etc/kubernetes/admin.conf diff -f -')
    assert.equal(bad.exitCode, 2, String(bad.stdout) + String(bad.stderr))
    assert.match(String(bad.stderr), /encapsulation.*Unsupported value: "VXLANAcrossSubnets"/)
    const rest = await lab.ssh(lab.hosts[0], 'kubectl --kubeconfig /etc/kubernetes/admin.conf get apiserver default -o name; kubectl --kubeconfig /etc/kubernetes/admin.conf -n tigera-operator get deployment tigera-operator -o name')
    assert.equal(String(rest.stdout), 'apiserver.operator.tigera.io/default\ndeployment.apps/tigera-operator', String(rest.stderr))

    const r2 = apply()
    assert.equal(r2.code, 0, r2.stderr + r2.stdout)
    assert.equal(r2.json.changed, 0)
    assert.ok(
      r2.json.phases.every((p: any) => p.steps.every((s: any) => s.status === 'up-to-date')),
      JSON.stringify(r2.json.phases.map((p: any) => [p.name, p.steps.map((s: any) => s.status)])),
    )
    console.log(`      full apply on 2 hosts: ${seconds.toFixed(1)} s${gpuHere ? ' (GPU phases skipped: NVIDIA GPU on this machine)' : ''}`)
  })
})
