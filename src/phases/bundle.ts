import {createHash} from 'node:crypto'
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {InputError} from '../errors.js'
import type {ClusterSpec} from '../spec/schema.js'

/**
 * The offline bundle (spec.bundle, a directory on the machine running metalplane):
 *
 *   <bundle>/bin/kubeadm, kubelet, kubectl   required; the spec's Kubernetes version
 *                                            (checked with `kubeadm version -o short`)
 *   <bundle>/bin/crictl                      optional
 *   <bundle>/lib/**                          optional support files of those binaries, installed
 *                                            under /usr/lib/** with their modes
 *   <bundle>/debs/*.deb                      containerd, runc, conntrack, iptables and the
 *                                            dependencies the hosts lack (on Debian 12 minbase:
 *                                            `apt-get download containerd runc conntrack iptables
 *                                            libnetfilter-conntrack3 libnfnetlink0 libnftnl11
 *                                            libip6tc2 netbase`),
 *                                            installed together with `dpkg -i`; when absent,
 *                                            containerd comes from the hosts' apt sources
 *
 * Other components (CNI, storage, GPU manifests) read their own folders of the bundle.
 */
export interface BundleFile {
  name: string
  path: string
  sha256: string
  size: number
}

export interface Bundle {
  dir: string
  bin: Record<'kubeadm' | 'kubelet' | 'kubectl', BundleFile> & {crictl?: BundleFile}
  debs: BundleFile[]
  /** Files under <bundle>/lib: `rel` is the path below lib/, installed as /usr/lib/<rel>. */
  lib: (BundleFile & {rel: string; mode: number})[]
}

function walk(dir: string, rel = ''): {rel: string; path: string}[] {
  const out: {rel: string; path: string}[] = []
  for (const e of readdirSync(join(dir, rel), {withFileTypes: true}).sort((a, b) => a.name.localeCompare(b.name))) {
    const r = rel ? `${rel}/${e.name}` : e.name
    if (e.isDirectory()) out.push(...walk(dir, r))
    else if (e.isFile()) out.push({rel: r, path: join(dir, r)})
  }
  return out
}

const sums = new Map<string, {mtime: number; sha256: string}>()
function fileOf(path: string): BundleFile {
  const st = statSync(path)
  let c = sums.get(path)
  if (!c || c.mtime !== st.mtimeMs) {
    c = {mtime: st.mtimeMs, sha256: createHash('sha256').update(readFileSync(path)).digest('hex')}
    sums.set(path, c)
  }
  return {name: path.split('/').pop()!, path, sha256: c.sha256, size: st.size}
}

/** Reads and checks the bundle before anything is touched (bad bundle: exit code 2). */
export function loadBundle(spec: ClusterSpec): Bundle {
  const dir = spec.spec.bundle
  if (!dir) {
    throw new InputError('spec.bundle is not set', [{path: 'spec.bundle', message: 'required: kubeadm, kubelet and kubectl are installed from <bundle>/bin'}], 'Point spec.bundle at a directory holding bin/kubeadm, bin/kubelet, bin/kubectl (and debs/*.deb for containerd).')
  }
  const issues: {path: string; message: string}[] = []
  if (!existsSync(dir) || !statSync(dir).isDirectory()) issues.push({path: 'spec.bundle', message: `${dir} is not a directory`})
  const bin: Partial<Bundle['bin']> = {}
  if (issues.length === 0) {
    for (const b of ['kubeadm', 'kubelet', 'kubectl'] as const) {
      const p = join(dir, 'bin', b)
      if (!existsSync(p)) issues.push({path: 'spec.bundle', message: `${p} is missing`})
      else bin[b] = fileOf(p)
    }
    if (existsSync(join(dir, 'bin', 'crictl'))) bin.crictl = fileOf(join(dir, 'bin', 'crictl'))
  }
  if (issues.length > 0) throw new InputError(`the bundle ${dir} is incomplete`, issues)
  const debDir = join(dir, 'debs')
  const debs = existsSync(debDir)
    ? readdirSync(debDir)
        .filter((f) => f.endsWith('.deb'))
        .sort()
        .map((f) => fileOf(join(debDir, f)))
    : []
  const libDir = join(dir, 'lib')
  const lib = existsSync(libDir) ? walk(libDir).map((f) => ({...fileOf(f.path), rel: f.rel, mode: statSync(f.path).mode & 0o7777})) : []
  return {dir, bin: bin as Bundle['bin'], debs, lib}
}
