import assert from 'node:assert/strict'
import {parseFacts, FACTS_SCRIPT} from '../../../src/phases/facts.js'
import {preflightHost} from '../../../src/phases/preflight.js'
import {LocalExecutor} from '../../../src/hosts/local.js'
import {parseSpec} from '../../../src/spec/load.js'
import {baseFacts} from './fake-host.js'
import type {NodeFacts} from '../../../src/phases/facts.js'

const spec = parseSpec(`
apiVersion: metalplane.io/v1alpha1
kind: Cluster
metadata: {name: pf}
spec:
  kubernetes: {version: 1.31.4}
  hosts:
    - {name: c1, address: 10.50.0.11, role: controller}
    - {name: w1, address: 10.50.0.21, role: worker}
    - {name: w2, address: 10.50.0.22, role: worker}
`)
const [c1, w1, w2] = spec.spec.hosts

function check(h = c1, over: Partial<NodeFacts> = {}, others: {host: string; facts: NodeFacts}[] = [], ignore?: string[]) {
  const f = baseFacts({hostname: h.name, ...over})
  return preflightHost(spec, h, f, [{host: h.name, facts: f}, ...others], {ignore})
}
const names = (r: {errors: {check: string}[]}) => r.errors.map((e) => e.check)

describe('preflight decisions', () => {
  it('a supported, idle host passes', () => {
    assert.deepEqual(check().errors, [])
    assert.deepEqual(check(w1).errors, [])
  })

  it('what the os phase fixes is not a failure: modules not loaded, sysctls unset', () => {
    assert.deepEqual(check(c1, {overlay: false, brNetfilter: false}).errors, [])
  })

  it('swap on fails and says how to fix it', () => {
    const r = check(w1, {swaps: ['/swapfile', '/dev/sda2']})
    assert.deepEqual(names(r), ['Swap'])
    assert.match(r.errors[0].message, /swap is on \(\/swapfile, \/dev\/sda2\).*swapoff -a.*\/etc\/fstab/)
  })

  it('OS family and version, kernel, architecture, systemd', () => {
    assert.deepEqual(names(check(c1, {osId: 'centos', osVersionId: '7', osPrettyName: 'CentOS Linux 7'})), ['OS'])
    assert.deepEqual(names(check(c1, {osId: 'debian', osVersionId: '10', osPrettyName: 'Debian 10'})), ['OS'])
    assert.deepEqual(names(check(c1, {osId: 'ubuntu', osVersionId: '22.04'})), [])
    assert.deepEqual(names(check(c1, {osId: 'ubuntu', osVersionId: '18.04'})), ['OS'])
    assert.deepEqual(names(check(c1, {kernel: '4.14.0-1-amd64'})), ['KernelVersion'])
    assert.deepEqual(names(check(c1, {kernel: '4.19.0-27-amd64'})), [])
    assert.deepEqual(names(check(c1, {arch: 'ppc64le'})), ['Arch'])
    assert.deepEqual(names(check(c1, {systemd: false})), ['Systemd'])
  })

  it("CPU and memory minimums: kubeadm's 2 CPUs / 1700 MB for controllers; ignorable, then a warning", () => {
    assert.deepEqual(names(check(c1, {cpus: 1, memoryMB: 1500})), ['NumCPU', 'Mem'])
    assert.deepEqual(names(check(w1, {cpus: 1, memoryMB: 1500})), [], 'workers need 1 CPU / 1024 MB')
    const r = check(c1, {cpus: 1, memoryMB: 1500}, [], ['NumCPU', 'mem'])
    assert.deepEqual(r.errors, [])
    assert.deepEqual(r.warnings.map((w) => w.check), ['NumCPU', 'Mem'])
    assert.deepEqual(check(c1, {swaps: ['/swapfile'], cpus: 1}, [], ['all']).errors, [])
    const custom = preflightHost(spec, c1, baseFacts({cpus: 2}), [], {minControllerCpus: 4})
    assert.deepEqual(names(custom), ['NumCPU'])
  })

  it('ports in use by something else fail on a new node, not on a cluster member', () => {
    const r = check(c1, {listening: [22, 6443, 2379]})
    assert.deepEqual(names(r), ['Port-6443', 'Port-2379'])
    assert.deepEqual(names(check(w1, {listening: [6443, 10250]})), ['Port-10250'], 'a worker only needs 10250')
    assert.deepEqual(names(check(c1, {listening: [6443, 2379, 2380, 10250], kubeletConf: true, adminConf: true})), [])
  })

  it('clock not synchronised is a warning', () => {
    const r = check(c1, {timeSynced: false, timeDaemon: undefined})
    assert.deepEqual(r.errors, [])
    assert.deepEqual(r.warnings.map((w) => w.check), ['TimeSync'])
  })

  it('duplicate hostnames, MACs and product_uuid across hosts name the other host', () => {
    const other = (h: typeof w2, over: Partial<NodeFacts>) => ({host: h.name, facts: baseFacts({hostname: h.name, macs: ['52:54:00:99:99:99'], productUuid: 'other', ...over})})
    const dupHost = check(w1, {hostname: 'node', macs: ['52:54:00:00:00:01'], productUuid: 'u1'}, [other(w2, {hostname: 'node'})])
    assert.deepEqual(names(dupHost), ['DuplicateHostname'])
    assert.match(dupHost.errors[0].message, /hostname "node" is also the hostname of w2/)
    const dupMac = check(w1, {macs: ['52:54:00:00:00:01', '52:54:00:00:00:aa'], productUuid: 'u1'}, [other(w2, {macs: ['52:54:00:00:00:aa']})])
    assert.deepEqual(names(dupMac), ['DuplicateMAC'])
    assert.match(dupMac.errors[0].message, /52:54:00:00:00:aa is also on w2/)
    assert.deepEqual(names(check(w1, {productUuid: 'same'}, [other(w2, {productUuid: 'same'})])), ['DuplicateProductUUID'])
  })

  it('parses what the facts script prints on this machine', async () => {
    const r = await new LocalExecutor().exec(FACTS_SCRIPT)
    const f = parseFacts(r.stdout)
    assert.ok(f.cpus >= 1)
    assert.ok(f.memoryMB > 100)
    assert.match(f.kernel, /^\d+\.\d+/)
    assert.ok(['v1', 'v2'].includes(f.cgroupVersion))
    assert.ok(Array.isArray(f.listening))
  })

  it('parses captured facts of a Debian 12 host with swap and a busy port', () => {
    const f = parseFacts(
      [
        'osId=debian', 'osVersionId=12', 'osPrettyName=Debian GNU/Linux 12 (bookworm)', 'kernel=6.1.0-28-amd64', 'arch=x86_64', 'hostname=node-a',
        'cpus=8', 'memKB=32780000', 'swaps=/dev/nvme0n1p3 ', 'macs= 3C:EC:EF:00:11:22 3c:ec:ef:00:11:23', 'productUuid=4C4C4544-0042-3510-8052-B4C04F4D4E31',
        'cgroup=v2', 'systemd=1', 'listening=22 6443 ', 'timeSynced=yes', 'timeDaemon=chrony', 'adminConf=0', 'kubeletConf=0', 'containerd=', 'kubeadm=',
        'overlay=1', 'brNetfilter=0', 'defaultInterface=eno1',
      ].join('\n'),
    )
    assert.equal(f.memoryMB, 32011)
    assert.deepEqual(f.swaps, ['/dev/nvme0n1p3'])
    assert.deepEqual(f.macs, ['3c:ec:ef:00:11:22', '3c:ec:ef:00:11:23'])
    assert.equal(f.productUuid, '4c4c4544-0042-3510-8052-b4c04f4d4e31')
    assert.equal(f.containerdVersion, undefined)
    const r = preflightHost(spec, c1, f, [{host: 'c1', facts: f}])
    assert.deepEqual(names(r), ['Swap', 'Port-6443'])
  })
})
