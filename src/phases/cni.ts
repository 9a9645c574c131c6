/**
 * The pod network: Calico or Cilium (spec.network.cni), applied through the first controller once
 * the control plane is up.
 *
 * Nothing is downloaded. The large upstream manifests (CRDs, operator, agent DaemonSets) come
 * from the air-gap bundle at pinned versions (docs/bundle.md); what depends on the cluster — the
 * pod CIDR, the API endpoint — is ours, rendered from templates/manifests/:
 *
 * - calico: `<bundle>/manifests/tigera-operator.yaml` (applied server-side: its CRDs are larger
 *   than client-side apply's 256 KiB annotation), then, once the operator's CRDs are established,
 *   the `Installation` and `APIServer` resources of templates/manifests/calico/custom-resources.yaml
 *   (IP pool = spec.network.podCIDR, VXLANCrossSubnet).
 * - cilium: `<bundle>/manifests/cilium.yaml` (pre-rendered `helm template` output) with the keys
 *   of templates/manifests/cilium/cilium-config.yaml merged into its `cilium-config` ConfigMap
 *   (cluster-pool IPAM on the pod CIDR, API endpoint).
 */
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {isMap, parse, parseAllDocuments, type YAMLMap} from 'yaml'
import {MetalplaneError} from '../errors.js'
import type {Phase, RunContext} from '../engine/phase.js'
import type {Host} from '../hosts/host.js'
import {render} from '../render/index.js'
import {firstController, kubectlApply, kubectlCmd, kubectlUpToDate} from '../kube/kubectl.js'
import type {ClusterSpec} from '../spec/schema.js'
import {parseCidr} from '../util/net.js'

/** Bundle files per CNI, relative to the bundle directory. */
export const CNI_BUNDLE_FILES = {
  calico: 'manifests/tigera-operator.yaml',
  cilium: 'manifests/cilium.yaml',
} as const

/** CRDs the Calico custom resources need before they can be applied. */
export const CALICO_CRDS = ['installations.operator.tigera.io', 'apiservers.operator.tigera.io']

export interface CniPlan {
  cni: 'calico' | 'cilium'
  /** The bundle file read. */
  source: string
  /** Applied first (server-side). */
  base: string
  /** Applied once the CRDs of `base` are established (calico only). */
  resources?: string
}

/** Read a bundle file, or fail naming the path expected and where the list of bundle files is. */
export function readBundleFile(spec: ClusterSpec, rel: string, what: string): {path: string; text: string} {
  const bundle = spec.spec.bundle
  if (!bundle) {
    throw new MetalplaneError(`${what} comes from the air-gap bundle, but spec.bundle is not set; expected <bundle>/${rel}`, {
      code: 'BUNDLE_MISSING',
      hint: 'Set spec.bundle to the bundle directory; docs/bundle.md lists the files it must hold.',
    })
  }
  const path = join(bundle, rel)
  if (!existsSync(path)) {
    throw new MetalplaneError(`${what}: ${path} is missing from the bundle`, {
      code: 'BUNDLE_MISSING',
      hint: `Put the pinned manifest at ${path}; docs/bundle.md lists the files the bundle must hold.`,
    })
  }
  return {path, text: readFileSync(path, 'utf8')}
}

/** The API endpoint nodes use: the VIP, else the first controller's address. */
export function apiEndpoint(spec: ClusterSpec): {host: string; port: number} {
  const cp = spec.spec.controlPlane
  const first = spec.spec.hosts.find((h) => h.role !== 'worker')
  return {host: cp.vip ?? first?.address ?? '', port: cp.port}
}

export function renderCalicoResources(spec: ClusterSpec): string {
  const podCIDR = spec.spec.network.podCIDR
  const v6 = parseCidr(podCIDR)?.v === 6
  return render('manifests/calico/custom-resources.yaml', {
    podCIDR,
    poolName: v6 ? 'default-ipv6-ippool' : 'default-ipv4-ippool',
    blockSize: v6 ? 122 : 26,
    autodetectField: v6 ? 'nodeAddressAutodetectionV6' : 'nodeAddressAutodetectionV4',
  })
}

/** The cilium-config keys we set, as a map. */
export function ciliumConfigOverrides(spec: ClusterSpec): Record<string, string> {
  const podCIDR = spec.spec.network.podCIDR
  const v6 = parseCidr(podCIDR)?.v === 6
  const api = apiEndpoint(spec)
  const text = render('manifests/cilium/cilium-config.yaml', {podCIDR, ipv4: !v6, ipv6: v6, apiHost: api.host, apiPort: api.port})
  const m = parse(text) as Record<string, unknown>
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)]))
}

/** The bundle's cilium.yaml with our keys merged into its cilium-config ConfigMap. */
export function mergeCiliumManifest(manifest: string, overrides: Record<string, string>, source = 'cilium.yaml'): string {
  const docs = parseAllDocuments(manifest)
  let found = false
  for (const d of docs) {
    if (d.errors.length > 0) throw new MetalplaneError(`${source}: not valid YAML: ${d.errors[0].message}`, {code: 'BUNDLE_INVALID'})
    if (!isMap(d.contents)) continue
    const c = d.contents as unknown as YAMLMap<string, unknown>
    if (c.get('kind') !== 'ConfigMap') continue
    const md = c.get('metadata')
    if (!isMap(md) || md.get('name') !== 'cilium-config') continue
    let data = c.get('data')
    if (!isMap(data)) {
      c.set('data', d.createNode({}))
      data = c.get('data')
    }
    for (const [k, v] of Object.entries(overrides)) (data as YAMLMap<string, unknown>).set(k, v)
    found = true
  }
  if (!found) throw new MetalplaneError(`${source} has no ConfigMap cilium-config; is it the output of helm template for cilium?`, {code: 'BUNDLE_INVALID'})
  return docs
    .filter((d) => d.contents !== null)
    .map((d) => d.toString({lineWidth: 0}).replace(/^---[ \t]*\n/, ''))
    .join('---\n')
}

/** What the CNI phase applies, from the spec and the bundle (read-only; fails on a missing bundle file). */
export function planCni(spec: ClusterSpec): CniPlan {
  const cni = spec.spec.network.cni
  if (cni === 'calico') {
    const {path, text} = readBundleFile(spec, CNI_BUNDLE_FILES.calico, 'The Calico tigera-operator manifest')
    return {cni, source: path, base: text, resources: renderCalicoResources(spec)}
  }
  const {path, text} = readBundleFile(spec, CNI_BUNDLE_FILES.cilium, 'The pre-rendered Cilium manifest')
  return {cni, source: path, base: mergeCiliumManifest(text, ciliumConfigOverrides(spec), path)}
}

async function upToDate(ctx: RunContext, host: Host, plan: CniPlan): Promise<boolean> {
  try {
    if (!(await kubectlUpToDate(host, plan.base, {serverSide: true}))) return false
    return plan.resources ? await kubectlUpToDate(host, plan.resources) : true
  } catch (error) {
    if (ctx.dryRun) return false
    throw error
  }
}

export function createCniPhase(): Phase {
  const key = 'cni.plan'
  return {
    name: 'cni',
    title: 'Pod network (CNI)',
    async prepare(ctx) {
      ctx.shared[key] = planCni(ctx.spec)
    },
    targets: (ctx) => [firstController(ctx.hosts)],
    async needsRun(ctx, host) {
      return !(await upToDate(ctx, host, ctx.shared[key] as CniPlan))
    },
    async run(ctx, host) {
      const plan = ctx.shared[key] as CniPlan
      const pod = ctx.spec.spec.network.podCIDR
      await ctx.wet(host, `kubectl apply --server-side ${plan.source}${plan.cni === 'cilium' ? ` (cluster-pool ${pod})` : ''}`, () => kubectlApply(host, plan.base, {serverSide: true}))
      if (plan.resources) {
        const resources = plan.resources
        await ctx.wet(host, `wait for the tigera-operator CRDs, apply Calico Installation (pool ${pod}, VXLANCrossSubnet)`, async () => {
          await host.exec(kubectlCmd(`wait --for condition=established --timeout=120s ${CALICO_CRDS.map((c) => `crd/${c}`).join(' ')}`), {timeoutMs: 150_000})
          await kubectlApply(host, resources)
        })
      }
    },
  }
}

export const cniPhase = createCniPhase()
export const phases: Phase[] = [cniPhase]
