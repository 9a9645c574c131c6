import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import type {Phase, RunContext} from '../engine/phase.js'
import {InputError} from '../errors.js'
import type {Host} from '../hosts/host.js'
import {render} from '../render/index.js'
import {kubeVersion} from '../spec/schema.js'
import {loadBundle, type Bundle, type BundleFile} from './bundle.js'
import {nodeFacts} from './facts.js'
import {BIN_DIR} from './kubeadm-config.js'
import {shq} from '../hosts/executor.js'
import {change, ensureFile, fileDiffers, probe, writeRemote} from './util.js'

/** Support files of the bundle's binaries (<bundle>/lib/**) go here. */
export const LIB_DIR = '/usr/lib'
export const KUBELET_UNIT = '/etc/systemd/system/kubelet.service'
export const KUBEADM_DROPIN = '/etc/systemd/system/kubelet.service.d/10-kubeadm.conf'

export function kubeletUnits(): Map<string, string> {
  const vars = {kubeletPath: `${BIN_DIR}/kubelet`}
  return new Map([
    [KUBELET_UNIT, render('systemd/kubelet.service', vars)],
    [KUBEADM_DROPIN, render('systemd/10-kubeadm.conf', vars)],
  ])
}

function binaries(b: Bundle): BundleFile[] {
  return [b.bin.kubeadm, b.bin.kubelet, b.bin.kubectl, ...(b.bin.crictl ? [b.bin.crictl] : [])]
}

/** Bundle files whose copy on the host is missing or differs: [file, remote path, mode]. */
async function staleFiles(host: Host, b: Bundle): Promise<[BundleFile, string, number][]> {
  const want: [BundleFile, string, number][] = [
    ...binaries(b).map((f): [BundleFile, string, number] => [f, `${BIN_DIR}/${f.name}`, 0o755]),
    ...b.lib.map((f): [BundleFile, string, number] => [f, `${LIB_DIR}/${f.rel}`, f.mode]),
  ]
  // One round trip for all checksums: one line per file, in order, empty when missing.
  const r = await host.exec(`for f in ${want.map(([, p]) => shq(p)).join(' ')}; do echo "$(sha256sum "$f" 2>/dev/null | cut -d' ' -f1)"; done`, {allowFail: true})
  const sums = r.stdout.split('\n')
  return want.filter(([f], i) => sums[i] !== f.sha256)
}

/**
 * When the bundle's kubeadm runs on this machine (same OS and architecture), check its version
 * before anything is installed; otherwise the check happens on the first host after upload.
 */
export function checkBundleVersionLocally(b: Bundle, want: string): void {
  let got: string
  try {
    got = execFileSync(b.bin.kubeadm.path, ['version', '-o', 'short'], {encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'ignore']}).trim()
  } catch {
    return
  }
  if (got && got !== want) throw new InputError(`the bundle's kubeadm is ${got}, the spec wants ${want}`, [{path: 'spec.kubernetes.version', message: `bundle ${b.dir} holds kubeadm ${got}`}], 'Use a bundle of the spec\'s version, or change spec.kubernetes.version.')
}

/** kubeadm, kubelet, kubectl of the spec's version from <bundle>/bin, and the kubelet's systemd unit. */
export const kubernetesPhase: Phase = {
  name: 'kubernetes',
  title: 'Install kubeadm, kubelet, kubectl',
  async prepare(ctx) {
    ctx.shared.bundle ??= loadBundle(ctx.spec)
  },
  async needsRun(ctx, host) {
    const b = ctx.shared.bundle as Bundle
    // Swapping the binaries under a running node is an upgrade, which needs kubeadm upgrade's
    // order (control plane first, drains): refuse instead of half-upgrading.
    const f = host.facts.node ? nodeFacts(host) : undefined
    const want = `v${kubeVersion(ctx.spec)}`
    if (f?.kubeletConf && f.kubeadmVersion && f.kubeadmVersion !== want) {
      throw new Error(`${host.name} runs Kubernetes ${f.kubeadmVersion} and the spec says ${want}: changing the version of a running cluster is an upgrade, which cluster apply does not do; keep spec.kubernetes.version at ${f.kubeadmVersion}`)
    }
    if ((await staleFiles(host, b)).length > 0) return true
    for (const [p, c] of kubeletUnits()) if (await fileDiffers(host, p, c)) return true
    return !(await probe(host, 'systemctl is-enabled --quiet kubelet'))
  },
  async run(ctx: RunContext, host: Host) {
    const b = ctx.shared.bundle as Bundle
    const want = `v${kubeVersion(ctx.spec)}`
    for (const [f, path, mode] of await staleFiles(host, b)) {
      await ctx.wet(host, `install ${path} (${path.startsWith(BIN_DIR) ? want + ', ' : ''}sha256 ${f.sha256.slice(0, 12)})`, () => writeRemote(host, path, readFileSync(f.path), mode))
    }
    if (!ctx.dryRun) {
      const r = await host.exec(`${BIN_DIR}/kubeadm version -o short`, {allowFail: true})
      const got = r.stdout.trim()
      if (r.code !== 0 || got !== want) throw new Error(`${BIN_DIR}/kubeadm version -o short says "${got || r.stderr.trim()}", the spec wants ${want}: fix the bundle ${b.dir}/bin`)
    }
    let reload = false
    for (const [p, c] of kubeletUnits()) if (await ensureFile(ctx, host, p, c)) reload = true
    if (reload || !(await probe(host, 'systemctl is-enabled --quiet kubelet'))) {
      // kubeadm init/join starts the kubelet once its config exists.
      await change(ctx, host, 'enable kubelet.service', 'systemctl daemon-reload && systemctl enable kubelet >/dev/null 2>&1')
    }
  },
}
