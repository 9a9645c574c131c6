// node add / node remove / cluster kubeconfig on real SSH hosts with the Kubernetes stand-ins.
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {cli} from '../../helpers/cli.js'
import {withLab} from '../helpers/lab.js'
import {standinBundle} from './bundle.js'
import {componentPhases, presetSysctls, writeSpec} from './helpers.js'

describe('node add, node remove, cluster kubeconfig', function () {
  this.timeout(600_000)
  const lab = withLab('cl-nodes', 3)
  let tmp: string
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'mp-cluster-nodes-'))
  })
  after(() => rmSync(tmp, {recursive: true, force: true}))

  it('adds a host new in the spec, removes a node, fetches the kubeconfig', async () => {
    presetSysctls(lab.hosts)
    const bundle = await standinBundle(tmp, '1.31.4')
    const skip = (await componentPhases()).join(',')
    const env = {METALPLANE_STATE_DIR: join(tmp, 'state')}
    const small = writeSpec(lab, join(tmp, 'small'), 'nodes', ['controller', 'worker'], {bundle})
    const r1 = cli(['cluster', 'apply', '-c', small, '--skip-phases', skip, '--json'], {env, timeoutMs: 600_000})
    assert.equal(r1.code, 0, r1.stderr)
    const nodes = async () => String((await lab.ssh(lab.hosts[0], 'kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o name | sort')).stdout)
    assert.equal(await nodes(), 'node/node1\nnode/node2')

    // node3 appears in the spec: node add finds it (no kubelet.conf) and touches only it.
    // node3 carries a label the kubelet registers itself and one only the API may set.
    const big = writeSpec(lab, join(tmp, 'big'), 'nodes', ['controller', 'worker', 'worker'], {bundle, labels: {node3: {rack: 'r7', 'node-role.kubernetes.io/worker': ''}}})
    const add = cli(['node', 'add', '-c', big, '--skip-phases', skip, '--json'], {env, timeoutMs: 600_000})
    assert.equal(add.code, 0, add.stderr + add.stdout)
    const touched = new Set(add.json.phases.flatMap((p: any) => p.steps.filter((s: any) => s.status === 'done').map((s: any) => s.host)))
    assert.deepEqual([...touched], ['node3'])
    assert.equal(await nodes(), 'node/node1\nnode/node2\nnode/node3')
    const labels = JSON.parse(String((await lab.ssh(lab.hosts[0], 'kubectl --kubeconfig /etc/kubernetes/admin.conf get node node3 -o json')).stdout)).metadata.labels
    assert.equal(labels.rack, 'r7')
    assert.equal(labels['node-role.kubernetes.io/worker'], '')
    const again = cli(['cluster', 'apply', '-c', big, '--skip-phases', skip, '--json'], {env})
    assert.equal(again.json.changed, 0)

    // node remove: drain through node1, kubeadm reset on node3, Node object deleted.
    const rm = cli(['node', 'remove', 'node3', '-c', big, '--yes', '--json'], {env, timeoutMs: 300_000})
    assert.equal(rm.code, 0, rm.stderr + rm.stdout)
    assert.equal(await nodes(), 'node/node1\nnode/node2')
    const left = await lab.ssh(lab.hosts[2], 'test -e /etc/kubernetes/kubelet.conf')
    assert.notEqual(left.exitCode, 0, 'node3 was reset')
    const rm2 = cli(['node', 'remove', 'node3', '-c', big, '--yes', '--json'], {env})
    assert.equal(rm2.code, 0)
    assert.equal(rm2.json.changed, 0, 'removing a removed node changes nothing')

    const out = join(tmp, 'my.kubeconfig')
    const kc = cli(['cluster', 'kubeconfig', '-c', big, '--kubeconfig-out', out, '--json'], {env})
    assert.equal(kc.code, 0, kc.stderr)
    assert.equal(kc.json.kubeconfig, out)
    assert.equal(statSync(out).mode & 0o777, 0o600)
  })
})
