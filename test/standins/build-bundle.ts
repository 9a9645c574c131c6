// Builds a STAND-IN Kubernetes bundle for tests (see README.md in this folder):
//   <dir>/bin/{kubeadm,kubelet,kubectl}         sh wrappers, installed by the cluster apply code as /usr/bin/*
//   <dir>/lib/metalplane-standins/node          this process's node binary (the hosts have no node)
//   <dir>/lib/metalplane-standins/*.cjs         one self-contained esbuild bundle per stand-in
//   <dir>/standins -> lib/metalplane-standins   the same files under the first contract's name
//   <dir>/VERSION                               the Kubernetes version the stand-ins impersonate
// Contract for the installer: copy <dir>/bin/* to /usr/bin/ and everything under <dir>/lib/ to /usr/lib/.
import {build} from 'esbuild'
import {execFileSync} from 'node:child_process'
import {chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync, rmSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const INSTALL_DIR = '/usr/lib/metalplane-standins'
export const STANDINS = ['kubeadm', 'kubelet', 'kubectl'] as const

const here = dirname(fileURLToPath(import.meta.url))

export interface BundleOptions {
  kubernetesVersion: string
  /** where the wrappers find node and the .cjs files on the host (default /usr/lib/metalplane-standins) */
  installDir?: string
}

export interface Bundle {
  dir: string
  bin: Record<(typeof STANDINS)[number], string>
  /** local paths of the bundled programs, to run them with `node` in tests */
  cjs: Record<(typeof STANDINS)[number], string>
  node: string
  version: string
}

/** Shared libraries the node binary needs that a Debian bookworm minbase host may lack. */
export function nodeLibraries(nodePath = process.execPath): string[] {
  const text = execFileSync('ldd', [nodePath], {encoding: 'utf8'})
  return text
    .split('\n')
    .map((l) => /^\s*(\S+)\s+=>\s+(\S+)/.exec(l))
    .filter((m): m is RegExpExecArray => Boolean(m))
    .map((m) => m[1])
}

export async function buildStandinBundle(dir: string, opts: BundleOptions): Promise<Bundle> {
  const version = opts.kubernetesVersion.startsWith('v') ? opts.kubernetesVersion : `v${opts.kubernetesVersion}`
  if (!/^v\d+\.\d+\.\d+$/.test(version)) throw new Error(`buildStandinBundle: kubernetesVersion "${opts.kubernetesVersion}" must look like v1.31.2`)
  const installDir = opts.installDir ?? INSTALL_DIR
  const lib = join(dir, 'lib', 'metalplane-standins')
  mkdirSync(join(dir, 'bin'), {recursive: true})
  mkdirSync(lib, {recursive: true})
  const cjs = {} as Bundle['cjs']
  const bin = {} as Bundle['bin']
  for (const name of STANDINS) {
    const outfile = join(lib, `${name}.cjs`)
    await build({
      entryPoints: [join(here, `${name}.ts`)],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      outfile,
      define: {__STANDIN_K8S_VERSION__: JSON.stringify(version)},
      banner: {js: `// metalplane STAND-IN ${name} ${version}: a test double, not Kubernetes. Source: test/standins/${name}.ts`},
      logLevel: 'error',
      legalComments: 'none',
    })
    cjs[name] = outfile
    const wrapper = join(dir, 'bin', name)
    writeFileSync(
      wrapper,
      [
        '#!/bin/sh',
        `# metalplane STAND-IN ${name} ${version} (a test double, not Kubernetes; see test/standins/README.md)`,
        `d=${installDir}`,
        '# run in place from an uninstalled bundle too (the operator machine checks `kubeadm version -o short`)',
        '[ -x "$d/node" ] || d="$(dirname "$(readlink -f "$0")")/../lib/metalplane-standins"',
        `exec "$d/node" "$d/${name}.cjs" "$@"`,
        '',
      ].join('\n'),
    )
    chmodSync(wrapper, 0o755)
    bin[name] = wrapper
  }
  const node = join(lib, 'node')
  copyFileSync(process.execPath, node)
  chmodSync(node, 0o755)
  writeFileSync(join(lib, 'VERSION'), `${version}\n`)
  writeFileSync(join(dir, 'VERSION'), `${version}\n`)
  const alias = join(dir, 'standins')
  rmSync(alias, {force: true, recursive: true})
  symlinkSync('lib/metalplane-standins', alias)
  return {dir, bin, cjs, node, version}
}
