// STAND-IN kubeadm configuration loading: strict decoding against kubeadm's v1beta3/v1beta4
// types (data/kubeadm-api.ts), the apiVersion/Kubernetes-version rule, and the semantic
// validation kubeadm applies (cmd/kubeadm/app/apis/kubeadm/validation/validation.go).
import {isIP} from 'node:net'
import {parseAllDocuments} from 'yaml'
import {binarySemver, fail, parseVersion} from './common.js'
import {KUBEADM_API_VERSIONS, kubeletConfiguration, kubeProxyConfiguration, v1beta3, v1beta4} from './data/kubeadm-api.js'
import {check, type Schema} from './schema.js'
import {KEY_ALGORITHMS} from './pki.js'

export interface Arg {
  name: string
  value: string
}

export interface KubeadmConfig {
  apiVersion: string
  init?: any
  cluster: any
  join?: any
  reset?: any
  upgrade?: any
  kubelet?: any
  kubeProxy?: any
  warnings: string[]
}

const KUBEADM_KINDS = ['InitConfiguration', 'ClusterConfiguration', 'JoinConfiguration', 'ResetConfiguration', 'UpgradeConfiguration']

function gvk(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion]
  return `schema.GroupVersionKind{Group:"${group}", Version:"${version}", Kind:"${kind}"}`
}

/** Which kubeadm API versions this binary accepts, with kubeadm's own messages. */
export function checkApiVersion(apiVersion: string, kind: string, warnings: string[]): void {
  const minor = binarySemver().minor
  const rule = KUBEADM_API_VERSIONS[apiVersion]
  if (rule && minor >= rule.from && (rule.removedIn === undefined || minor < rule.removedIn)) {
    if (rule.deprecatedFrom !== undefined && minor >= rule.deprecatedFrom)
      warnings.push(
        `your configuration file uses a deprecated API spec: "${apiVersion}" (kind: "${kind}"). Please use 'kubeadm config migrate --old-config old-config-file --new-config new-config-file', which will write the new, similar spec using a newer API version.`,
      )
    return
  }
  if (rule && rule.removedIn !== undefined && minor >= rule.removedIn)
    fail(
      `your configuration file uses an old API spec: "${apiVersion}" (kind: "${kind}"). Please use kubeadm v1.${rule.removedIn - 1} instead and run 'kubeadm config migrate --old-config old-config-file --new-config new-config-file', which will write the new, similar spec using a newer API version.`,
    )
  fail(
    `no kind "${kind}" is registered for version "${apiVersion}" in scheme "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31"`,
  )
}

function strictDecode(doc: any, schema: Schema, apiVersion: string, kind: string): void {
  const errs = check(doc, schema)
  if (errs.length === 0) return
  const unknown = errs.filter((e) => e.kind === 'unknown').map((e) => e.message)
  const other = errs.filter((e) => e.kind !== 'unknown').map((e) => e.message)
  const parts: string[] = []
  if (unknown.length) parts.push(`strict decoding error: ${unknown.join(', ')}`)
  if (other.length) parts.push(`json: ${other.join('; ')}`)
  fail(`error unmarshaling configuration ${gvk(apiVersion, kind)}: ${parts.join('; ')}`)
}

/** Parses and strictly checks a kubeadm --config file. `command` limits which kinds it uses. */
export function loadConfig(text: string, file: string, command: 'init' | 'join' | 'reset' | 'upgrade'): KubeadmConfig {
  const docs = parseAllDocuments(text, {uniqueKeys: true})
  const warnings: string[] = []
  const cfg: Partial<KubeadmConfig> & {warnings: string[]} = {warnings}
  const arr = Array.isArray(docs) ? docs : [docs]
  let seenKubeadm = false
  for (const d of arr) {
    if (d.errors.length) fail(`error converting YAML to JSON: yaml: ${d.errors[0].message} (${file})`)
    const o = d.toJS()
    if (o === null || o === undefined) continue
    if (typeof o !== 'object' || Array.isArray(o)) fail(`couldn't get version/kind; json parse error: document in ${file} is not a mapping`)
    const {apiVersion, kind} = o as {apiVersion?: unknown; kind?: unknown}
    if (typeof apiVersion !== 'string' || apiVersion === '') fail(`Object 'apiVersion' is missing in '${JSON.stringify(o).slice(0, 120)}'`)
    if (typeof kind !== 'string' || kind === '') fail(`Object 'Kind' is missing in '${JSON.stringify(o).slice(0, 120)}'`)
    if (apiVersion.startsWith('kubeadm.k8s.io/')) {
      if (!KUBEADM_KINDS.includes(kind)) fail(`no kind "${kind}" is registered for version "${apiVersion}" in scheme "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31"`)
      checkApiVersion(apiVersion, kind, warnings)
      const table = apiVersion === 'kubeadm.k8s.io/v1beta3' ? v1beta3 : v1beta4
      const schema = table[kind]
      if (!schema) fail(`no kind "${kind}" is registered for version "${apiVersion}" in scheme "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31"`)
      strictDecode(o, schema, apiVersion, kind)
      if (cfg.apiVersion && cfg.apiVersion !== apiVersion)
        warnings.push(`documents use both ${cfg.apiVersion} and ${apiVersion}`)
      cfg.apiVersion ??= apiVersion
      seenKubeadm = true
      const slot = ({InitConfiguration: 'init', ClusterConfiguration: 'cluster', JoinConfiguration: 'join', ResetConfiguration: 'reset', UpgradeConfiguration: 'upgrade'} as const)[
        kind as 'InitConfiguration'
      ]
      if ((cfg as any)[slot]) fail(`duplicate ${kind} document in ${file}`)
      ;(cfg as any)[slot] = normalize(o, apiVersion)
    } else if (kind === 'KubeletConfiguration') {
      if (apiVersion !== 'kubelet.config.k8s.io/v1beta1')
        fail(`no kind "KubeletConfiguration" is registered for version "${apiVersion}" in scheme "pkg/runtime/scheme.go:100"`)
      strictDecode(o, kubeletConfiguration, apiVersion, kind)
      cfg.kubelet = o
    } else if (kind === 'KubeProxyConfiguration') {
      if (apiVersion !== 'kubeproxy.config.k8s.io/v1alpha1')
        fail(`no kind "KubeProxyConfiguration" is registered for version "${apiVersion}" in scheme "pkg/runtime/scheme.go:100"`)
      strictDecode(o, kubeProxyConfiguration, apiVersion, kind)
      cfg.kubeProxy = o
    } else {
      // kubeadm ignores such documents with a warning; the stand-in is stricter.
      fail(`unknown configuration ${gvk(apiVersion, kind)} in ${file}: kubeadm only reads kubeadm.k8s.io, KubeletConfiguration and KubeProxyConfiguration documents`)
    }
  }
  if (!seenKubeadm) fail(`no InitConfiguration, ClusterConfiguration or JoinConfiguration found in ${file}`)
  const wanted = {init: ['init', 'cluster'], join: ['join'], reset: ['reset'], upgrade: ['upgrade', 'cluster']}[command]
  for (const slot of ['init', 'cluster', 'join', 'reset', 'upgrade'] as const)
    if (cfg[slot] && !wanted.includes(slot))
      warnings.push(`[config] WARNING: Ignored configuration document with GroupVersionKind ${cfg.apiVersion}, Kind=${cfg[slot].kind}`)
  if (command === 'join' && !cfg.join) fail(`no JoinConfiguration found in ${file}`)
  cfg.cluster ??= {}
  return cfg as KubeadmConfig
}

/** v1beta3 maps of args become v1beta4-style lists so the rest of the stand-in sees one shape. */
function normalize(o: any, apiVersion: string): any {
  if (apiVersion !== 'kubeadm.k8s.io/v1beta3') return o
  const toList = (m: unknown) => (m && typeof m === 'object' ? Object.entries(m as object).map(([name, value]) => ({name, value})) : m)
  const c = structuredClone(o)
  for (const comp of [c.apiServer, c.controllerManager, c.scheduler, c.etcd?.local]) if (comp?.extraArgs) comp.extraArgs = toList(comp.extraArgs)
  if (c.nodeRegistration?.kubeletExtraArgs) c.nodeRegistration.kubeletExtraArgs = toList(c.nodeRegistration.kubeletExtraArgs)
  return c
}

// ---------------------------------------------------------------------------------- validation

export const TOKEN_RE = /^([a-z0-9]{6})\.([a-z0-9]{16})$/
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

export function validCIDR(s: string): boolean {
  const m = /^(.+)\/(\d+)$/.exec(s)
  if (!m) return false
  const fam = isIP(m[1])
  const bits = Number(m[2])
  return (fam === 4 && bits <= 32) || (fam === 6 && bits <= 128)
}

export function validHostPort(s: string): boolean {
  let host = s
  let port: string | undefined
  const v6 = /^\[(.+)\](?::(\d+))?$/.exec(s)
  if (v6) {
    host = v6[1]
    port = v6[2]
    if (isIP(host) !== 6) return false
  } else if (s.includes(':') && isIP(s) !== 6) {
    const i = s.lastIndexOf(':')
    host = s.slice(0, i)
    port = s.slice(i + 1)
  }
  if (port !== undefined && (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535)) return false
  return isIP(host) !== 0 || (host.length <= 253 && DNS1123_SUBDOMAIN.test(host))
}

function validateArgs(list: Arg[] | undefined, path: string, errs: string[]): void {
  for (const [i, a] of (list ?? []).entries()) {
    if (!a.name) errs.push(`${path}[${i}].name: Required value: argument has no name`)
    if (a.name?.startsWith('-')) errs.push(`${path}[${i}].name: Invalid value: "${a.name}": argument name must not start with '-'`)
  }
}

function validateNodeRegistration(nr: any, path: string, errs: string[]): void {
  if (!nr) return
  if (nr.name !== undefined && !(nr.name.length <= 253 && DNS1123_SUBDOMAIN.test(nr.name)))
    errs.push(`${path}.name: Invalid value: "${nr.name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`)
  if (nr.criSocket !== undefined && !/^unix:\/\/\/./.test(nr.criSocket))
    errs.push(`${path}.criSocket: Invalid value: "${nr.criSocket}": URL scheme must be "unix" with an absolute path (e.g. unix:///var/run/containerd/containerd.sock)`)
  for (const [i, t] of (nr.taints ?? []).entries()) {
    if (!['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(t.effect))
      errs.push(`${path}.taints[${i}].effect: Unsupported value: "${t.effect ?? ''}": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`)
    if (!t.key) errs.push(`${path}.taints[${i}].key: Required value`)
  }
  if (nr.imagePullPolicy !== undefined && !['Always', 'IfNotPresent', 'Never'].includes(nr.imagePullPolicy))
    errs.push(`${path}.imagePullPolicy: Unsupported value: "${nr.imagePullPolicy}": supported values: "Always", "IfNotPresent", "Never"`)
  validateArgs(nr.kubeletExtraArgs, `${path}.kubeletExtraArgs`, errs)
}

function validateEndpoint(ep: any, path: string, errs: string[]): void {
  if (!ep) return
  if (ep.advertiseAddress !== undefined && isIP(ep.advertiseAddress) === 0)
    errs.push(`${path}.advertiseAddress: Invalid value: "${ep.advertiseAddress}": couldn't use "${ep.advertiseAddress}" as "apiserver-advertise-address", must be ipv4 or ipv6 address`)
  if (ep.bindPort !== undefined && (ep.bindPort < 1 || ep.bindPort > 65535))
    errs.push(`${path}.bindPort: Invalid value: ${ep.bindPort}: port number is not valid`)
}

function validateCertificateKey(k: string | undefined, path: string, errs: string[]): void {
  if (k === undefined || k === '') return
  if (!/^[0-9a-fA-F]*$/.test(k) || k.length % 2) errs.push(`${path}: Invalid value: "${k}": encoding/hex: invalid byte`)
  else if (k.length !== 64) errs.push(`${path}: Invalid value: "${k}": certificate key size must be 32 bytes (64 hex characters), got ${k.length / 2}`)
}

/** kubeadm's ValidateInitConfiguration / ValidateClusterConfiguration, the parts the stand-in can check. */
export function validateInit(cfg: KubeadmConfig): void {
  const errs: string[] = []
  const init = cfg.init ?? {}
  const cl = cfg.cluster
  for (const [i, t] of (init.bootstrapTokens ?? []).entries()) {
    if (!TOKEN_RE.test(t.token ?? '')) errs.push(`bootstrapTokens[${i}].token: Invalid value: "${t.token ?? ''}": the bootstrap token is invalid`)
    for (const u of t.usages ?? [])
      if (!['signing', 'authentication'].includes(u)) errs.push(`bootstrapTokens[${i}].usages: Invalid value: "${u}": invalid bootstrap token usage string: ${u}, valid usage options: signing, authentication`)
    for (const g of t.groups ?? [])
      if (!/^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/.test(g)) errs.push(`bootstrapTokens[${i}].groups: Invalid value: "${g}": bootstrap group "${g}" is invalid (must match ^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$)`)
  }
  validateNodeRegistration(init.nodeRegistration, 'nodeRegistration', errs)
  validateEndpoint(init.localAPIEndpoint, 'localAPIEndpoint', errs)
  validateCertificateKey(init.certificateKey, 'certificateKey', errs)
  validateCluster(cl, errs)
  if (errs.length) fail(errs.join('\n'))
}

export function validateCluster(cl: any, errs: string[]): void {
  const net = cl.networking ?? {}
  for (const [field, val] of [
    ['networking.serviceSubnet', net.serviceSubnet],
    ['networking.podSubnet', net.podSubnet],
  ] as const) {
    if (val === undefined) continue
    const parts = String(val).split(',')
    if (parts.length > 2 || parts.some((p) => !validCIDR(p.trim())))
      errs.push(`${field}: Invalid value: "${val}": couldn't parse subnet`)
  }
  if (net.serviceSubnet && validCIDR(net.serviceSubnet.split(',')[0])) {
    const [ip, bits] = net.serviceSubnet.split(',')[0].split('/')
    if (isIP(ip) === 4 && Number(bits) < 12)
      errs.push(`networking.serviceSubnet: Invalid value: "${net.serviceSubnet}": specified service subnet is too large; for 32-bit addresses, the mask must be >= 12`)
  }
  if (net.podSubnet && net.serviceSubnet && overlaps(net.podSubnet.split(',')[0], net.serviceSubnet.split(',')[0]))
    errs.push(`networking.podSubnet: Invalid value: "${net.podSubnet}": pod subnet overlaps with service subnet "${net.serviceSubnet}"`)
  if (net.dnsDomain !== undefined && !DNS1123_SUBDOMAIN.test(net.dnsDomain))
    errs.push(`networking.dnsDomain: Invalid value: "${net.dnsDomain}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters`)
  if (cl.controlPlaneEndpoint !== undefined && !validHostPort(cl.controlPlaneEndpoint))
    errs.push(`controlPlaneEndpoint: Invalid value: "${cl.controlPlaneEndpoint}": must be an IP address or an RFC 1123 DNS subdomain, with an optional port in 1-65535`)
  for (const [i, s] of (cl.apiServer?.certSANs ?? []).entries())
    if (isIP(s) === 0 && !/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(s))
      errs.push(`apiServer.certSANs[${i}]: Invalid value: "${s}": altname is not a valid IP address, DNS label or a DNS label with subdomain wildcards`)
  for (const comp of ['apiServer', 'controllerManager', 'scheduler'] as const) validateArgs(cl[comp]?.extraArgs, `${comp}.extraArgs`, errs)
  if (cl.etcd?.local && cl.etcd?.external) errs.push('etcd: Invalid value: "": either .Etcd.Local or .Etcd.External can be set, not both')
  if (cl.etcd?.external && !(cl.etcd.external.endpoints ?? []).length) errs.push('etcd.external.endpoints: Required value: empty etcd external endpoints')
  if (cl.encryptionAlgorithm !== undefined && !KEY_ALGORITHMS.includes(cl.encryptionAlgorithm))
    errs.push(`encryptionAlgorithm: Invalid value: "${cl.encryptionAlgorithm}": invalid encryption algorithm, supported: ${KEY_ALGORITHMS.join(', ')}`)
  if (cl.featureGates) {
    const known = ['ControlPlaneKubeletLocalMode', 'EtcdLearnerMode', 'NodeLocalCRISocket', 'WaitForAllControlPlaneComponents', 'RootlessControlPlane', 'PublicKeysECDSA']
    for (const g of Object.keys(cl.featureGates)) if (!known.includes(g)) errs.push(`featureGates: Invalid value: "${g}": ${g} is not a valid feature name.`)
  }
  if (cl.kubernetesVersion !== undefined) checkKubernetesVersion(cl.kubernetesVersion, errs)
}

function ipToBig(ip: string): {v: bigint; bits: number} {
  if (isIP(ip) === 4) return {v: ip.split('.').reduce((a, o) => (a << 8n) | BigInt(Number(o)), 0n), bits: 32}
  const [h, t] = ip.split('::')
  const hs = h ? h.split(':') : []
  const ts = t !== undefined && t !== '' ? t.split(':') : []
  const g = [...hs, ...Array(8 - hs.length - ts.length).fill('0'), ...ts]
  return {v: g.reduce((a, x) => (a << 16n) | BigInt(parseInt(x || '0', 16)), 0n), bits: 128}
}

export function overlaps(a: string, b: string): boolean {
  const [ai, am] = a.split('/')
  const [bi, bm] = b.split('/')
  if (isIP(ai) !== isIP(bi)) return false
  const A = ipToBig(ai)
  const B = ipToBig(bi)
  const m = Math.min(Number(am), Number(bm))
  const shift = BigInt(A.bits - m)
  return A.v >> shift === B.v >> shift
}

/** kubeadm init's control-plane version rule: >= kubeadm minor - 1; newer than kubeadm is a warning. */
export function checkKubernetesVersion(v: string, errs: string[], warnings?: string[]): void {
  const k = parseVersion(v)
  if (!k) {
    errs.push(
      /^(stable|latest|ci)/.test(v)
        ? `kubernetesVersion: Invalid value: "${v}": unable to fetch file. URL: "https://dl.k8s.io/release/${v}.txt": no internet on the lab hosts; give an exact version like v1.31.2`
        : `kubernetesVersion: Invalid value: "${v}": couldn't parse Kubernetes version "${v}": could not parse "${v}" as version`,
    )
    return
  }
  const kb = binarySemver()
  const minMinor = kb.minor - 1
  if (k.major !== kb.major || k.minor < minMinor)
    errs.push(
      `this version of kubeadm only supports deploying clusters with the control plane version >= ${kb.major}.${minMinor}.0. Current version: v${k.major}.${k.minor}.${k.patch}`,
    )
  else if (k.minor > kb.minor && warnings)
    warnings.push(
      `[preflight] WARNING KubernetesVersion: Kubernetes version is greater than kubeadm version. Please consider to upgrade kubeadm. Kubernetes version: ${k.major}.${k.minor}.${k.patch}. Kubeadm version: ${kb.major}.${kb.minor}.x`,
    )
}

export function validateJoin(cfg: KubeadmConfig): void {
  const errs: string[] = []
  const j = cfg.join
  const d = j.discovery
  if (!d || (!d.bootstrapToken && !d.file)) errs.push('discovery: Invalid value: "": bootstrapToken or file must be set')
  if (d?.bootstrapToken && d?.file) errs.push('discovery: Invalid value: "": bootstrapToken and file cannot both be set')
  const bt = d?.bootstrapToken
  if (bt) {
    if (!TOKEN_RE.test(bt.token ?? '')) errs.push(`discovery.bootstrapToken.token: Invalid value: "${bt.token ?? ''}": the bootstrap token is invalid`)
    if (!bt.apiServerEndpoint) errs.push('discovery.bootstrapToken.apiServerEndpoint: Required value: the API server endpoint is required')
    else if (!validHostPort(bt.apiServerEndpoint)) errs.push(`discovery.bootstrapToken.apiServerEndpoint: Invalid value: "${bt.apiServerEndpoint}": address ${bt.apiServerEndpoint}: missing port in address`)
    if (!(bt.caCertHashes ?? []).length && !bt.unsafeSkipCAVerification)
      errs.push('discovery.bootstrapToken.caCertHashes: Invalid value: []string(nil): using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue')
    for (const [i, h] of (bt.caCertHashes ?? []).entries())
      if (!/^sha256:[0-9a-f]{64}$/.test(h)) errs.push(`discovery.bootstrapToken.caCertHashes[${i}]: Invalid value: "${h}": invalid hash "${h}", expected "sha256:<64 hex characters>"`)
  }
  if (j.discovery?.tlsBootstrapToken !== undefined && !TOKEN_RE.test(j.discovery.tlsBootstrapToken))
    errs.push(`discovery.tlsBootstrapToken: Invalid value: "${j.discovery.tlsBootstrapToken}": the bootstrap token is invalid`)
  validateNodeRegistration(j.nodeRegistration, 'nodeRegistration', errs)
  if (j.controlPlane) {
    validateEndpoint(j.controlPlane.localAPIEndpoint, 'controlPlane.localAPIEndpoint', errs)
    validateCertificateKey(j.controlPlane.certificateKey, 'controlPlane.certificateKey', errs)
  }
  if (errs.length) fail(errs.join('\n'))
}
