import assert from 'node:assert/strict'
import {stringify, parse} from 'yaml'
import {InputError} from '../../../src/errors.js'
import {parseSpec} from '../../../src/spec/load.js'
import {sampleSpec} from '../../../src/spec/sample.js'

const good = {
  apiVersion: 'metalplane.io/v1alpha1',
  kind: 'Cluster',
  metadata: {name: 'prod'},
  spec: {
    kubernetes: {version: '1.31.4'},
    controlPlane: {vip: '10.20.0.10'},
    hosts: [
      {name: 'cp1', address: '10.20.0.11', role: 'controller'},
      {name: 'cp2', address: '10.20.0.12', role: 'controller'},
      {name: 'cp3', address: '10.20.0.13', role: 'controller'},
      {name: 'w1', address: '10.20.0.21', role: 'worker', localVolumes: [{disk: '/dev/disk/by-id/nvme-X_S1'}], gpu: 'nvidia'},
    ],
  },
}

type Mut = (s: any) => void
function issuesOf(mut: Mut): {path: string; message: string; line?: number}[] {
  const s = structuredClone(good) as any
  mut(s)
  try {
    parseSpec(stringify(s))
  } catch (error) {
    assert.ok(error instanceof InputError, String(error))
    assert.equal(error.exitCode, 2)
    return error.issues
  }
  assert.fail('spec was accepted')
}

function expectIssue(mut: Mut, path: string, message: RegExp): void {
  const issues = issuesOf(mut)
  const hit = issues.find((i) => i.path === path && message.test(i.message))
  assert.ok(hit, `no issue ${path} ~ ${message}; got ${JSON.stringify(issues)}`)
}

describe('cluster spec', () => {
  it('accepts a good spec and fills defaults', () => {
    const s = parseSpec(stringify(good))
    assert.equal(s.spec.network.podCIDR, '10.244.0.0/16')
    assert.equal(s.spec.network.cni, 'calico')
    assert.equal(s.spec.hosts[0].port, 22)
    assert.equal(s.spec.hosts[0].user, 'root')
    assert.equal(s.spec.hosts[3].localVolumes[0].wipe, false)
    assert.equal(s.spec.controlPlane.port, 6443)
  })

  it('the sample written by init validates, for several shapes', () => {
    for (const o of [{}, {controllers: 1, workers: 0}, {controllers: 5, workers: 20, firstAddress: '10.1.2.11'}]) {
      const s = parseSpec(sampleSpec(o))
      assert.ok(s.spec.hosts.length >= 1)
    }
  })

  const bad: [string, Mut, string, RegExp][] = [
    ['wrong apiVersion', (s) => (s.apiVersion = 'v1'), 'apiVersion', /metalplane\.io\/v1alpha1/],
    ['wrong kind', (s) => (s.kind = 'Clutser'), 'kind', /"Cluster"/],
    ['unknown field', (s) => (s.spec.hostz = []), 'spec', /unknown field "hostz"/],
    ['unknown host field', (s) => (s.spec.hosts[0].adress = 'x'), 'spec.hosts[0]', /unknown field "adress"/],
    ['missing address', (s) => delete s.spec.hosts[1].address, 'spec.hosts[1].address', /required/],
    ['bad role', (s) => (s.spec.hosts[0].role = 'master'), 'spec.hosts[0].role', /one of "controller", "worker", "controller\+worker"/],
    ['bad port type', (s) => (s.spec.hosts[0].port = '22'), 'spec.hosts[0].port', /expected number, got string/],
    ['port out of range', (s) => (s.spec.hosts[0].port = 70000), 'spec.hosts[0].port', /65535/],
    ['bad host name', (s) => (s.spec.hosts[0].name = 'CP_1'), 'spec.hosts[0].name', /DNS label/],
    ['duplicate name', (s) => (s.spec.hosts[1].name = 'cp1'), 'spec.hosts[1].name', /duplicate host name "cp1"/],
    ['duplicate address', (s) => (s.spec.hosts[2].address = '10.20.0.11'), 'spec.hosts[2].address', /duplicate address 10\.20\.0\.11:22/],
    ['even controllers', (s) => (s.spec.hosts[2].role = 'worker'), 'spec.hosts', /2 controllers: etcd needs an odd number/],
    ['no controllers', (s) => s.spec.hosts.forEach((h: any) => (h.role = 'worker')), 'spec.hosts', /at least one host with role controller/],
    ['VIP in pod CIDR', (s) => (s.spec.controlPlane.vip = '10.244.3.4'), 'spec.controlPlane.vip', /inside podCIDR/],
    ['VIP in service CIDR', (s) => (s.spec.controlPlane.vip = '10.96.0.5'), 'spec.controlPlane.vip', /inside serviceCIDR/],
    ['VIP is a host', (s) => (s.spec.controlPlane.vip = '10.20.0.12'), 'spec.hosts[1].address', /is the control-plane VIP/],
    ['VIP missing with 3 controllers', (s) => delete s.spec.controlPlane.vip, 'spec.controlPlane.vip', /required with more than one controller/],
    ['overlapping CIDRs', (s) => (s.spec.network = {podCIDR: '10.96.0.0/16'}), 'spec.network.serviceCIDR', /overlaps podCIDR/],
    ['bad CIDR', (s) => (s.spec.network = {podCIDR: '10.244.0.0'}), 'spec.network.podCIDR', /CIDR/],
    ['host in pod CIDR', (s) => (s.spec.hosts[3].address = '10.244.0.9'), 'spec.hosts[3].address', /inside podCIDR/],
    ['unsupported version', (s) => (s.spec.kubernetes.version = '1.25.3'), 'spec.kubernetes.version', /1\.25 is not supported; use 1\.28 to 1\.33/],
    ['malformed version', (s) => (s.spec.kubernetes.version = 'latest'), 'spec.kubernetes.version', /Kubernetes version/],
    ['unknown CNI', (s) => (s.spec.network = {cni: 'flannel'}), 'spec.network.cni', /"calico", "cilium"/],
    ['disk not by-id', (s) => (s.spec.hosts[3].localVolumes = [{disk: '/dev/nvme0n1'}]), 'spec.hosts[3].localVolumes[0].disk', /by-id/],
    ['disk twice', (s) => (s.spec.hosts[3].localVolumes = [{disk: '/dev/disk/by-id/a'}, {disk: '/dev/disk/by-id/a'}]), 'spec.hosts[3].localVolumes[1].disk', /listed twice/],
    ['bad taint effect', (s) => (s.spec.hosts[3].taints = [{key: 'k', effect: 'Never'}]), 'spec.hosts[3].taints[0].effect', /NoSchedule/],
    ['no hosts', (s) => (s.spec.hosts = []), 'spec.hosts', /at least one host/],
  ]
  for (const [name, mut, path, msg] of bad) {
    it(`rejects: ${name}`, () => expectIssue(mut, path, msg))
  }

  it('reports every problem at once, with lines', () => {
    const issues = issuesOf((s) => {
      s.spec.hosts[0].role = 'master'
      s.spec.hosts[1].port = -1
      s.spec.controlPlane.vip = '10.244.0.1'
    })
    assert.ok(issues.length >= 3, JSON.stringify(issues))
    const role = issues.find((i) => i.path === 'spec.hosts[0].role')
    const text = stringify(good)
    const expectedLine = text.split('\n').findIndex((l) => l.includes('role: controller')) + 1
    assert.equal(role?.line, expectedLine)
  })

  it('reports YAML syntax errors with their line', () => {
    assert.throws(() => parseSpec('apiVersion: x\nspec: [unclosed\n'), (e: unknown) => e instanceof InputError && e.issues[0].line !== undefined && /not valid YAML/.test(e.message))
  })

  it('refuses duplicate keys in YAML', () => {
    const text = stringify(good).replace('kind: Cluster', 'kind: Cluster\nkind: Cluster')
    assert.throws(() => parseSpec(text), /not valid YAML/)
  })

  it('round-trips: a parsed spec validates again', () => {
    const s = parseSpec(stringify(good))
    assert.deepEqual(parseSpec(stringify(parse(JSON.stringify(s)))), s)
  })
})
