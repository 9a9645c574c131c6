import {execFileSync} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {stringify} from 'yaml'
import type {LabHostInfo} from '../../../src/lab/lab.js'
import {applyPhases} from '../../../src/workflows/apply.js'
import type {LabHandle} from '../helpers/lab.js'

export const CORE = ['connect', 'facts', 'preflight', 'os', 'containerd', 'kubernetes', 'kubeadm-init', 'join-controllers', 'kube-vip', 'join-workers', 'node-labels', 'kubeconfig']

/** The phases of other components (CNI, storage, GPU) are tested on their own; these tests cover the core. */
export async function componentPhases(): Promise<string[]> {
  return (await applyPhases({connector: async () => {}})).names.filter((n) => !CORE.includes(n))
}

/** A spec over the lab's hosts with the given roles. */
export function writeSpec(lab: LabHandle, dir: string, name: string, roles: string[], o: {bundle: string; version?: string; vip?: string; labels?: Record<string, Record<string, string>>}): string {
  const info = lab.info
  const spec = {
    apiVersion: 'metalplane.io/v1alpha1',
    kind: 'Cluster',
    metadata: {name},
    spec: {
      kubernetes: {version: o.version ?? '1.31.4'},
      ...(o.vip ? {controlPlane: {vip: o.vip}} : {}),
      bundle: o.bundle,
      ssh: {knownHosts: info.knownHosts},
      hosts: info.hosts.slice(0, roles.length).map((h, i) => ({name: h.name, address: h.address, port: h.port, user: 'root', keyFile: info.keyFile, role: roles[i], ...(o.labels?.[h.name] ? {labels: o.labels[h.name]} : {})})),
    },
  }
  mkdirSync(dir, {recursive: true})
  const file = join(dir, `${name}.yaml`)
  writeFileSync(file, stringify(spec))
  return file
}

/**
 * nspawn mounts /proc/sys read-only inside the lab hosts, so no host can set a sysctl itself.
 * The values metalplane wants are set from outside in each host's network namespace (as a
 * host's own `sysctl --system` would); the os phase then finds them as wanted.
 */
export function presetSysctls(hosts: LabHostInfo[]): void {
  for (const h of hosts) {
    execFileSync('ip', ['netns', 'exec', h.netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.bridge.bridge-nf-call-iptables=1', 'net.bridge.bridge-nf-call-ip6tables=1'])
  }
}

/** PID of the host's systemd (the child of its systemd-nspawn process). */
export function hostInitPid(h: LabHostInfo): number {
  const out = execFileSync('pgrep', ['-P', String(h.pid)], {encoding: 'utf8'}).trim().split('\n')[0]
  return Number(out)
}
