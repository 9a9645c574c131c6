// Bundle for the cluster lab tests: containerd and runc as real Debian packages (downloaded on
// this machine with apt-get download, cached; the lab hosts have no network), and the
// Kubernetes binaries as stand-ins (no registry here serves kubeadm/kubelet).
import {execFileSync} from 'node:child_process'
import {copyFileSync, mkdirSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {cacheDir} from '../../../src/util/paths.js'
import {buildStandinBundle} from '../../standins/build-bundle.js'

/**
 * The node packages as .debs from Debian's archive (this machine reaches it; lab hosts do not):
 * containerd, runc, conntrack, iptables and what the lab's minbase tree lacks of their dependencies.
 */
export const NODE_DEBS = ['containerd', 'runc', 'conntrack', 'iptables', 'libnetfilter-conntrack3', 'libnfnetlink0', 'libnftnl11', 'libip6tc2', 'netbase']
export function debianDebs(): string[] {
  const dir = join(cacheDir(), 'test-debs', 'k8s-node')
  mkdirSync(dir, {recursive: true})
  const have = () => readdirSync(dir).filter((f) => f.endsWith('.deb'))
  if (!NODE_DEBS.every((p) => have().some((f) => f.startsWith(`${p}_`)))) {
    execFileSync('apt-get', ['download', ...NODE_DEBS], {cwd: dir, stdio: 'ignore', timeout: 300_000})
  }
  return have().map((f) => join(dir, f))
}

/**
 * A bundle with the project's Kubernetes stand-ins (test/standins: kubeadm, kubelet, kubectl
 * and their support files under lib/) and the real containerd and runc debs.
 */
export async function standinBundle(dir: string, version: string): Promise<string> {
  const b = join(dir, 'bundle')
  await buildStandinBundle(b, {kubernetesVersion: version.startsWith('v') ? version : `v${version}`})
  mkdirSync(join(b, 'debs'), {recursive: true})
  for (const d of debianDebs()) copyFileSync(d, join(b, 'debs', d.split('/').pop()!))
  return b
}
