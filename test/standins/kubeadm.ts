// STAND-IN kubeadm (for tests: no registry reachable here serves the real one). It parses the real
// kubeadm's flags (unknown flag => "unknown flag: --x", exit 1), decodes --config strictly against
// kubeadm's v1beta3/v1beta4 types with kubeadm's apiVersion/version rule, runs the preflight checks
// kubeadm makes that a host can answer, and writes what kubeadm writes: /etc/kubernetes/pki (real
// X.509), kubeconfigs, static pod manifests, /var/lib/kubelet/{config.yaml,kubeadm-flags.env}.
// API work (upload-config, bootstrap tokens, mark-control-plane, join discovery) goes to the
// kube-apiserver stand-in the kubelet stand-in starts from the kube-apiserver manifest.
import {execFileSync} from 'node:child_process'
import {createCipheriv, createDecipheriv, randomBytes} from 'node:crypto'
import {accessSync, constants, readdirSync, readFileSync, rmSync} from 'node:fs'
import {createServer} from 'node:net'
import {cpus, totalmem} from 'node:os'
import {request as httpRequest} from 'node:http'
import {stringify} from 'yaml'
import {
  binarySemver,
  binaryVersion,
  bool,
  fail,
  hostExists,
  hp,
  list,
  parseFlags,
  parseVersion,
  readHost,
  runMain,
  sleep,
  StandinExit,
  str,
  underRoot,
  waitSeconds,
  writeHost,
  type FlagSpec,
  type Parsed,
} from './common.js'
import {defaultIP, nodeHostname, probeSocket, swapOn, systemctl} from './host.js'
import {checkKubernetesVersion, loadConfig, TOKEN_RE, validateInit, validateJoin, type Arg, type KubeadmConfig} from './kubeadm-config.js'
import {api, kubeconfigYaml, loadKubeconfig, statusError, type Conn} from './kubeconfig.js'
import {kubeletConfig, kubeletFlagsEnv, staticPods, type ClusterFacts} from './manifests.js'
import {caCertHash, issue, keyPem, loadKey, newKey, publicPem, type KeyAlgorithm, type KeyPair} from './pki.js'

const out = (s = '') => process.stdout.write(`${s}\n`)
const warn = (s: string) => process.stderr.write(`W${new Date().toISOString().slice(5, 23)} ${process.pid} kubeadm-standin] ${s}\n`)

const GLOBAL: FlagSpec = {
  v: 'int',
  rootfs: 'string',
  help: 'bool',
  'add-dir-header': 'bool',
  'log-file': 'string',
  'log-file-max-size': 'int',
  'one-output': 'bool',
  'skip-headers': 'bool',
  'skip-log-headers': 'bool',
}
const SHORT = {v: 'v', h: 'help'}

const INIT_FLAGS: FlagSpec = {
  ...GLOBAL,
  'apiserver-advertise-address': 'string',
  'apiserver-bind-port': 'int',
  'apiserver-cert-extra-sans': 'strings',
  'cert-dir': 'string',
  'certificate-key': 'string',
  config: 'string',
  'control-plane-endpoint': 'string',
  'cri-socket': 'string',
  'dry-run': 'bool',
  'feature-gates': 'string',
  'ignore-preflight-errors': 'strings',
  'image-repository': 'string',
  'kubernetes-version': 'string',
  'node-name': 'string',
  patches: 'string',
  'pod-network-cidr': 'string',
  'service-cidr': 'string',
  'service-dns-domain': 'string',
  'skip-certificate-key-print': 'bool',
  'skip-phases': 'strings',
  'skip-token-print': 'bool',
  token: 'string',
  'token-ttl': 'duration',
  'upload-certs': 'bool',
}

const JOIN_FLAGS: FlagSpec = {
  ...GLOBAL,
  'apiserver-advertise-address': 'string',
  'apiserver-bind-port': 'int',
  'certificate-key': 'string',
  config: 'string',
  'control-plane': 'bool',
  'cri-socket': 'string',
  'discovery-file': 'string',
  'discovery-token': 'string',
  'discovery-token-ca-cert-hash': 'strings',
  'discovery-token-unsafe-skip-ca-verification': 'bool',
  'dry-run': 'bool',
  'ignore-preflight-errors': 'strings',
  'node-name': 'string',
  patches: 'string',
  'skip-phases': 'strings',
  'tls-bootstrap-token': 'string',
  token: 'string',
}

const RESET_FLAGS: FlagSpec = {
  ...GLOBAL,
  'cert-dir': 'string',
  'cleanup-tmp-dir': 'bool',
  config: 'string',
  'cri-socket': 'string',
  'dry-run': 'bool',
  force: 'bool',
  'ignore-preflight-errors': 'strings',
  kubeconfig: 'string',
  'skip-phases': 'strings',
}

// kubeadm's ValidateMixedArguments: flags allowed together with --config
function mixedArgs(p: Parsed): void {
  if (!str(p, 'config')) return
  // cmd/kubeadm/app/apis/kubeadm/validation/validation.go isAllowedFlag (plus skip-*)
  const allowed = new Set(['config', 'ignore-preflight-errors', 'dry-run', 'kubeconfig', 'node-name', 'kubeconfig-dir', 'upload-certs', 'print-join-command', 'rootfs', 'v', 'log-file', 'help'])
  const bad = Object.keys(p.flags).filter((f) => !allowed.has(f) && !f.startsWith('skip-') && f !== 'add-dir-header' && f !== 'one-output')
  if (bad.length) fail(`can not mix '--config' with arguments [${bad.sort().join(' ')}]`)
}

const INIT_PHASES = [
  'preflight',
  'certs',
  'kubeconfig',
  'etcd',
  'control-plane',
  'kubelet-start',
  'wait-control-plane',
  'upload-config',
  'upload-certs',
  'mark-control-plane',
  'bootstrap-token',
  'kubelet-finalize',
  'addon',
  'show-join-command',
]
const INIT_SUBPHASES = [
  'certs/ca', 'certs/apiserver', 'certs/apiserver-kubelet-client', 'certs/front-proxy-ca', 'certs/front-proxy-client', 'certs/etcd-ca', 'certs/etcd-server',
  'certs/etcd-peer', 'certs/etcd-healthcheck-client', 'certs/apiserver-etcd-client', 'certs/sa', 'kubeconfig/admin', 'kubeconfig/super-admin', 'kubeconfig/kubelet',
  'kubeconfig/controller-manager', 'kubeconfig/scheduler', 'etcd/local', 'control-plane/apiserver', 'control-plane/controller-manager', 'control-plane/scheduler',
  'upload-config/kubeadm', 'upload-config/kubelet', 'kubelet-finalize/enable-client-cert-rotation', 'addon/coredns', 'addon/kube-proxy',
]
const JOIN_PHASES = ['preflight', 'control-plane-prepare', 'kubelet-start', 'control-plane-join', 'wait-control-plane', 'etcd-join', 'kubelet-wait-bootstrap', 'mark-control-plane']

function skipper(phases: string[], valid: string[]): (name: string) => boolean {
  for (const s of phases)
    if (!valid.includes(s) && !INIT_SUBPHASES.includes(s) && !s.startsWith('control-plane-prepare/') && !s.startsWith('control-plane-join/'))
      fail(`invalid phase name "${s}" in --skip-phases / skipPhases (stand-in check: the phases are ${valid.join(', ')})`)
  return (name) => phases.includes(name) || phases.includes(name.split('/')[0])
}

// ------------------------------------------------------------------------------------------ facts

interface Facts extends ClusterFacts {
  criSocket: string
  taints: any[] | undefined
  kubeletExtraArgs: Arg[]
  encryptionAlgorithm: KeyAlgorithm
  kubernetesVersion: string
  ignore: string[]
  kubeletHealthTimeout: number
  controlPlaneTimeout: number
}

function seconds(d: string | undefined, fallback: number): number {
  if (!d) return waitSeconds(fallback)
  let total = 0
  for (const m of d.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(m[1]) * ({ms: 0.001, s: 1, m: 60, h: 3600} as Record<string, number>)[m[2]]
  return Math.min(total || fallback, waitSeconds(total || fallback))
}

function clusterDNS(serviceSubnet: string): string {
  const [ip] = serviceSubnet.split(',')[0].split('/')
  const n = ip.split('.').reduce((a, o) => a * 256 + Number(o), 0) + 10
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.')
}

function firstServiceIP(serviceSubnet: string): string {
  const [ip] = serviceSubnet.split(',')[0].split('/')
  const n = ip.split('.').reduce((a, o) => a * 256 + Number(o), 0) + 1
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.')
}

function splitHostPort(s: string): {host: string; port?: number} {
  const v6 = /^\[(.+)\](?::(\d+))?$/.exec(s)
  if (v6) return {host: v6[1], port: v6[2] ? Number(v6[2]) : undefined}
  const i = s.lastIndexOf(':')
  if (i > 0 && !s.slice(0, i).includes(':')) return {host: s.slice(0, i), port: Number(s.slice(i + 1))}
  return {host: s}
}

function facts(cfg: KubeadmConfig, nodeReg: any, endpoint: any, warnings: string[]): Facts {
  const cl = cfg.cluster
  const adv = endpoint?.advertiseAddress || defaultIP()
  if (!adv) fail('unable to select an IP from default routes. Set localAPIEndpoint.advertiseAddress')
  const bindPort = endpoint?.bindPort ?? 6443
  let cpe = cl.controlPlaneEndpoint ? splitHostPort(cl.controlPlaneEndpoint) : {host: adv, port: bindPort}
  cpe = {host: cpe.host, port: cpe.port ?? bindPort}
  let kv = cl.kubernetesVersion
  if (!kv) {
    warnings.push(`could not fetch a Kubernetes version from the internet: unable to get URL "https://dl.k8s.io/release/stable-1.txt": no internet on the lab hosts; falling back to the local client version: ${binaryVersion()}`)
    kv = binaryVersion()
  }
  const errs: string[] = []
  checkKubernetesVersion(kv, errs, warnings)
  if (errs.length) fail(errs.join('\n'))
  const pv = parseVersion(kv)!
  const version = `v${pv.major}.${pv.minor}.${pv.patch}`
  const net = cl.networking ?? {}
  const name = (nodeReg?.name ?? nodeHostname()).toLowerCase()
  const timeouts = cfg.init?.timeouts ?? cfg.join?.timeouts ?? {}
  return {
    version,
    kubernetesVersion: version,
    nodeName: name,
    advertiseAddress: adv,
    bindPort,
    controlPlaneEndpoint: cpe.host.includes(':') ? `[${cpe.host}]:${cpe.port}` : `${cpe.host}:${cpe.port}`,
    serviceSubnet: net.serviceSubnet ?? '10.96.0.0/12',
    podSubnet: net.podSubnet,
    dnsDomain: net.dnsDomain ?? 'cluster.local',
    clusterName: cl.clusterName ?? 'kubernetes',
    certificatesDir: cl.certificatesDir ?? '/etc/kubernetes/pki',
    imageRepository: cl.imageRepository ?? 'registry.k8s.io',
    certSANs: cl.apiServer?.certSANs ?? [],
    etcdDataDir: cl.etcd?.local?.dataDir ?? '/var/lib/etcd',
    externalEtcd: cl.etcd?.external,
    apiServerArgs: cl.apiServer?.extraArgs ?? [],
    controllerManagerArgs: cl.controllerManager?.extraArgs ?? [],
    schedulerArgs: cl.scheduler?.extraArgs ?? [],
    etcdArgs: cl.etcd?.local?.extraArgs ?? [],
    extraVolumes: {apiServer: cl.apiServer?.extraVolumes, controllerManager: cl.controllerManager?.extraVolumes, scheduler: cl.scheduler?.extraVolumes},
    criSocket: nodeReg?.criSocket ?? 'unix:///var/run/containerd/containerd.sock',
    taints: nodeReg?.taints,
    kubeletExtraArgs: nodeReg?.kubeletExtraArgs ?? [],
    encryptionAlgorithm: (cl.encryptionAlgorithm as KeyAlgorithm) ?? 'RSA-2048',
    ignore: [],
    kubeletHealthTimeout: seconds(timeouts.kubeletHealthCheck, 240),
    controlPlaneTimeout: seconds(timeouts.controlPlaneComponentHealthCheck ?? cl.apiServer?.timeoutForControlPlane, 240),
  }
}

// ------------------------------------------------------------------------------------------ preflight

/** exec.LookPath for kubeadm's InPathCheck: PATH plus root's sbin dirs; under STANDIN_ROOT the root's standard dirs. */
function inPath(exe: string): boolean {
  const std = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']
  const dirs = underRoot() ? std : [...(process.env.PATH ?? '').split(':').filter(Boolean), ...std]
  return dirs.some((d) => {
    try {
      accessSync(hp(`${d}/${exe}`), constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen(port, () => s.close(() => resolve(true)))
  })
}

async function preflight(kind: 'init' | 'join' | 'join-control-plane', f: Facts, ignore: string[]): Promise<void> {
  out('[preflight] Running pre-flight checks')
  const errors: [string, string][] = []
  const warnings: [string, string][] = []
  if (typeof process.getuid === 'function' && process.getuid() !== 0) errors.push(['IsPrivilegedUser', 'user is not running as root'])
  const cp = kind !== 'join'
  if (cp) {
    if (cpus().length < 2) errors.push(['NumCPU', `the number of available CPUs ${cpus().length} is less than the required 2`])
    const mb = Math.floor(totalmem() / 1024 / 1024)
    if (mb < 1700) errors.push(['Mem', `the system RAM (${mb} MB) is less than the minimum 1700 MB`])
    for (const port of [f.bindPort, 10259, 10257]) if (!(await portFree(port))) errors.push([`Port-${port}`, `Port ${port} is in use`])
    for (const m of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd']) {
      const p = `/etc/kubernetes/manifests/${m}.yaml`
      if (hostExists(p)) errors.push([`FileAvailable-${p.replace(/\//g, '-')}`, `${p} already exists`])
    }
    if (!f.externalEtcd) {
      for (const port of [2379, 2380]) if (!(await portFree(port))) errors.push([`Port-${port}`, `Port ${port} is in use`])
      try {
        if (readdirSync(hp(f.etcdDataDir)).length) errors.push([`DirAvailable-${f.etcdDataDir.replace(/\//g, '-')}`, `${f.etcdDataDir} is not empty`])
      } catch {
        // absent: fine
      }
    }
  }
  if (kind !== 'init') {
    // JoinNodeChecks: FileAvailable for the kubelet kubeconfigs (and the CA for workers)
    for (const p of ['/etc/kubernetes/kubelet.conf', '/etc/kubernetes/bootstrap-kubelet.conf'])
      if (hostExists(p)) errors.push([`FileAvailable-${p.replace(/\//g, '-')}`, `${p} already exists`])
    if (kind === 'join' && hostExists('/etc/kubernetes/pki/ca.crt'))
      errors.push(['FileAvailable--etc-kubernetes-pki-ca.crt', '/etc/kubernetes/pki/ca.crt already exists'])
  }
  if (!(await portFree(10250))) errors.push(['Port-10250', 'Port 10250 is in use'])
  // addExecChecks (linux): conntrack only for control planes < 1.32 (init passes the version, join "")
  const execs: [string, boolean][] = [['ip', true], ['iptables', true], ['mount', true], ['nsenter', true], ['ebtables', false], ['ethtool', false], ['socat', false], ['tc', false], ['touch', false]]
  const kv = kind === 'init' ? parseVersion(f.kubernetesVersion ?? '') : undefined
  if (kv && kv.major === 1 && kv.minor < 32) execs.unshift(['conntrack', true])
  for (const [exe, mandatory] of execs)
    if (!inPath(exe)) (mandatory ? errors : warnings).push([`FileExisting-${exe}`, `${exe} not found in system path`])
  // KubeletVersionCheck (init): runs `kubelet --version`; newer than the control plane is an error
  if (kind === 'init' && kv && !underRoot() && inPath('kubelet')) {
    try {
      const out = execFileSync('kubelet', ['--version'], {encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'ignore']}).trim()
      const k = parseVersion(out.replace(/^Kubernetes /, ''))
      if (!k) errors.push(['KubeletVersion', `couldn't get kubelet version: cannot parse "${out}"`])
      else if (k.minor > kv.minor)
        errors.push(['KubeletVersion', `the kubelet version is higher than the control plane version. This is not a supported version skew and may lead to a malfunctional cluster. Kubelet version: "${out.replace(/^Kubernetes /, '')}" Control plane version: "${f.kubernetesVersion}"`])
      else if (k.minor < kv.minor - 3)
        errors.push(['KubeletVersion', `Kubelet version "${out.replace(/^Kubernetes /, '')}" is lower than kubeadm can support. Please upgrade kubelet`])
    } catch (e) {
      errors.push(['KubeletVersion', `couldn't get kubelet version: ${(e as Error).message.split('\n')[0]}`])
    }
  }
  const fwd = '/proc/sys/net/ipv4/ip_forward'
  let fwdVal = ''
  try {
    fwdVal = readHost(fwd).trim()
  } catch {
    // missing
  }
  if (fwdVal !== '1') errors.push([`FileContent-${fwd.replace(/\//g, '-')}`, `${fwd} contents are not set to 1`])
  const sock = await probeSocket(f.criSocket)
  if (sock)
    errors.push([
      'CRI',
      `container runtime is not running: output: time="${new Date().toISOString()}" level=fatal msg="validate service connection: validate CRI v1 runtime API for endpoint \\"${f.criSocket}\\": rpc error: code = Unavailable desc = connection error: desc = \\"transport: Error while dialing: ${sock}\\""\n, error: exit status 1`,
    ])
  if (swapOn()) warnings.push(['Swap', 'swap is supported for cgroup v2 only. The kubelet must be properly configured to use swap. Please refer to https://kubernetes.io/docs/concepts/architecture/nodes/#swap-memory, or disable swap on the node'])
  if (!underRoot()) {
    try {
      systemctl('is-enabled', '--quiet', 'kubelet.service')
    } catch {
      warnings.push(['Service-Kubelet', "kubelet service is not enabled, please run 'systemctl enable kubelet.service'"])
    }
  }
  const ignored = (n: string) => ignore.includes('all') || ignore.map((x) => x.toLowerCase()).includes(n.toLowerCase())
  for (const [n, m] of warnings) process.stderr.write(`\t[WARNING ${n}]: ${m}\n`)
  const real = errors.filter(([n]) => !ignored(n))
  for (const [n, m] of errors.filter(([n]) => ignored(n))) process.stderr.write(`\t[WARNING ${n}]: ${m}\n`)
  if (real.length)
    fail(
      `[preflight] Some fatal errors occurred:\n${real.map(([n, m]) => `\t[ERROR ${n}]: ${m}`).join('\n')}\n[preflight] If you know what you are doing, you can make a check non-fatal with \`--ignore-preflight-errors=...\`\nerror execution phase preflight: preflight checks failed`,
    )
}

// ------------------------------------------------------------------------------------------ PKI

interface CA {
  cert: string
  key: KeyPair
  cn: string
}

function writeCertKey(dir: string, base: string, cert: string, key: KeyPair): void {
  writeHost(`${dir}/${base}.crt`, cert, 0o644)
  writeHost(`${dir}/${base}.key`, keyPem(key.privateKey), 0o600)
}

function loadOrCreateCA(dir: string, base: string, cn: string, alg: KeyAlgorithm): CA {
  if (hostExists(`${dir}/${base}.crt`) && hostExists(`${dir}/${base}.key`)) {
    out(`[certs] Using existing ${base} certificate authority`)
    return {cert: readHost(`${dir}/${base}.crt`), key: loadKey(readHost(`${dir}/${base}.key`)), cn}
  }
  out(`[certs] Generating "${base}" certificate and key`)
  const key = newKey(alg)
  const cert = issue({cn, ca: true, days: 3650}, key.publicKey, undefined, key.privateKey)
  writeCertKey(dir, base, cert, key)
  return {cert, key, cn}
}

function leaf(dir: string, base: string, ca: CA, spec: Parameters<typeof issue>[0], alg: KeyAlgorithm): void {
  if (hostExists(`${dir}/${base}.crt`) && hostExists(`${dir}/${base}.key`)) {
    out(`[certs] Using existing ${base} certificate and key on disk`)
    return
  }
  out(`[certs] Generating "${base}" certificate and key`)
  if (spec.dns?.length || spec.ips?.length) out(`[certs] ${base} serving cert is signed for DNS names [${(spec.dns ?? []).join(' ')}] and IPs [${(spec.ips ?? []).join(' ')}]`)
  const key = newKey(alg)
  writeCertKey(dir, base, issue(spec, key.publicKey, {cert: {cn: ca.cn}, key: ca.key.privateKey}), key)
}

function adminGroup(): string {
  return binarySemver().minor >= 29 ? 'kubeadm:cluster-admins' : 'system:masters'
}

function certsPhase(f: Facts, skip: (n: string) => boolean): CA {
  const d = f.certificatesDir
  const alg = f.encryptionAlgorithm
  out(`[certs] Using certificateDir folder "${d}"`)
  const ca = loadOrCreateCA(d, 'ca', 'kubernetes', alg)
  const cpeHost = splitHostPort(f.controlPlaneEndpoint).host
  const isIPv = (s: string) => /^[\d.]+$/.test(s) || s.includes(':')
  const dns = [f.nodeName, 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', `kubernetes.default.svc.${f.dnsDomain}`, ...f.certSANs.filter((s) => !isIPv(s))]
  if (!isIPv(cpeHost)) dns.push(cpeHost)
  const ips = [firstServiceIP(f.serviceSubnet), f.advertiseAddress, ...f.certSANs.filter(isIPv)]
  if (isIPv(cpeHost)) ips.push(cpeHost)
  if (!skip('certs/apiserver')) leaf(d, 'apiserver', ca, {cn: 'kube-apiserver', server: true, dns: [...new Set(dns)], ips: [...new Set(ips)]}, alg)
  if (!skip('certs/apiserver-kubelet-client')) leaf(d, 'apiserver-kubelet-client', ca, {cn: 'kube-apiserver-kubelet-client', o: [adminGroup()], client: true}, alg)
  const fp = loadOrCreateCA(d, 'front-proxy-ca', 'front-proxy-ca', alg)
  leaf(d, 'front-proxy-client', fp, {cn: 'front-proxy-client', client: true}, alg)
  if (!f.externalEtcd) {
    const eca = loadOrCreateCA(`${d}/etcd`, 'ca', 'etcd-ca', alg)
    const names = {dns: [f.nodeName, 'localhost'], ips: [f.advertiseAddress, '127.0.0.1', '0:0:0:0:0:0:0:1']}
    leaf(`${d}/etcd`, 'server', eca, {cn: f.nodeName, server: true, client: true, ...names}, alg)
    leaf(`${d}/etcd`, 'peer', eca, {cn: f.nodeName, server: true, client: true, ...names}, alg)
    leaf(`${d}/etcd`, 'healthcheck-client', eca, {cn: 'kube-etcd-healthcheck-client', client: true}, alg)
    leaf(d, 'apiserver-etcd-client', eca, {cn: 'kube-apiserver-etcd-client', client: true}, alg)
  }
  if (!(hostExists(`${d}/sa.key`) && hostExists(`${d}/sa.pub`))) {
    out('[certs] Generating "sa" key and public key')
    const sa = newKey(alg)
    writeHost(`${d}/sa.key`, keyPem(sa.privateKey), 0o600)
    writeHost(`${d}/sa.pub`, publicPem(sa.publicKey), 0o644)
  }
  return ca
}

function kubeconfigPhase(f: Facts, ca: CA, files: string[]): void {
  out('[kubeconfig] Using kubeconfig folder "/etc/kubernetes"')
  const remote = `https://${f.controlPlaneEndpoint}`
  const local = `https://${f.advertiseAddress.includes(':') ? `[${f.advertiseAddress}]` : f.advertiseAddress}:${f.bindPort}`
  const specs: Record<string, {user: string; o: string[]; server: string}> = {
    admin: {user: 'kubernetes-admin', o: [adminGroup()], server: remote},
    'super-admin': {user: 'kubernetes-super-admin', o: ['system:masters'], server: remote},
    kubelet: {user: `system:node:${f.nodeName}`, o: ['system:nodes'], server: remote},
    'controller-manager': {user: 'system:kube-controller-manager', o: [], server: local},
    scheduler: {user: 'system:kube-scheduler', o: [], server: local},
  }
  for (const name of files) {
    if (name === 'super-admin' && binarySemver().minor < 29) continue
    const path = `/etc/kubernetes/${name}.conf`
    if (hostExists(path)) {
      const c = loadKubeconfig(path)
      if (c.ca !== ca.cert) fail(`a kubeconfig file "${path}" exists already but has got the wrong CA cert`)
      out(`[kubeconfig] Using existing kubeconfig file: "${path}"`)
      continue
    }
    out(`[kubeconfig] Writing "${name}.conf" kubeconfig file`)
    const s = specs[name]
    const key = newKey(f.encryptionAlgorithm)
    const cert = issue({cn: s.user, o: s.o, client: true}, key.publicKey, {cert: {cn: ca.cn}, key: ca.key.privateKey})
    writeHost(path, kubeconfigYaml({clusterName: f.clusterName, server: s.server, caPem: ca.cert, user: s.user, certPem: cert, keyPem: keyPem(key.privateKey)}), 0o600)
  }
}

function manifestsPhase(f: Facts, skip: (n: string) => boolean): void {
  const all = staticPods(f)
  out('[control-plane] Using manifest folder "/etc/kubernetes/manifests"')
  for (const [file, text] of Object.entries(all)) {
    const comp = file.replace('.yaml', '')
    if (comp === 'etcd' ? skip('etcd') || skip('etcd/local') : skip('control-plane') || skip(`control-plane/${comp.replace('kube-', '')}`)) continue
    out(comp === 'etcd' ? '[etcd] Creating static Pod manifest for local etcd in "/etc/kubernetes/manifests"' : `[control-plane] Creating static Pod manifest for "${comp}"`)
    writeHost(`/etc/kubernetes/manifests/${file}`, text, 0o600)
  }
}

function kubeletStart(f: Facts, userKubelet: any): any {
  const cfg = kubeletConfig(userKubelet, {clusterDNS: clusterDNS(f.serviceSubnet), dnsDomain: f.dnsDomain, certificatesDir: f.certificatesDir})
  out('[kubelet-start] Writing kubelet environment file with flags to file "/var/lib/kubelet/kubeadm-flags.env"')
  writeHost('/var/lib/kubelet/kubeadm-flags.env', kubeletFlagsEnv(f.criSocket, f.nodeName, nodeHostname(), f.kubeletExtraArgs))
  out('[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"')
  writeHost('/var/lib/kubelet/config.yaml', stringify(cfg))
  out('[kubelet-start] Starting the kubelet')
  if (!underRoot()) {
    try {
      systemctl('restart', 'kubelet')
    } catch {
      out("[kubelet-start] WARNING: Couldn't detect a kubelet service, can't make sure the kubelet is running properly.")
    }
  }
  return cfg
}

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(url, {timeout: 2000}, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on('error', () => resolve(false))
    req.on('timeout', () => (req.destroy(), resolve(false)))
    req.end()
  })
}

async function waitKubelet(kcfg: any, timeoutS: number): Promise<void> {
  const url = `http://${kcfg.healthzBindAddress ?? '127.0.0.1'}:${kcfg.healthzPort ?? 10248}/healthz`
  out(`[kubelet-check] Waiting for a healthy kubelet at ${url}. This can take up to ${timeoutS}s`)
  const t0 = Date.now()
  while (Date.now() - t0 < timeoutS * 1000) {
    if (await httpOk(url)) {
      out(`[kubelet-check] The kubelet is healthy after ${((Date.now() - t0) / 1000).toFixed(3)}s`)
      return
    }
    await sleep(500)
  }
  fail(
    `[kubelet-check] The kubelet is not healthy after ${timeoutS}s\n\nUnfortunately, an error has occurred, likely caused by:\n\t- The kubelet is not running\n\t- The kubelet is unhealthy due to a misconfiguration of the node in some way (required cgroups disabled)\n\nIf you are on a systemd-powered system, you can try to troubleshoot the error with the following commands:\n\t- 'systemctl status kubelet'\n\t- 'journalctl -xeu kubelet'\n\nerror execution phase wait-control-plane: could not initialize a Kubernetes cluster`,
  )
}

async function waitApi(conn: Conn, what: string, timeoutS: number): Promise<void> {
  out(`[api-check] Waiting for a healthy API server. This can take up to ${timeoutS}s`)
  const t0 = Date.now()
  let last = ''
  while (Date.now() - t0 < timeoutS * 1000) {
    try {
      const r = await api(conn, 'GET', '/livez', undefined, 2000)
      if (r.status === 200) {
        out(`[api-check] The API server is healthy after ${((Date.now() - t0) / 1000).toFixed(3)}s`)
        return
      }
      last = `status ${r.status}`
    } catch (e) {
      last = (e as Error).message
    }
    await sleep(500)
  }
  fail(`[api-check] The API server is not healthy after ${timeoutS}s (${what}: ${last})\nerror execution phase wait-control-plane: could not initialize a Kubernetes cluster`)
}

async function must(conn: Conn, method: string, path: string, body?: unknown, ok = [200, 201]): Promise<any> {
  const r = await api(conn, method, path, body)
  if (!ok.includes(r.status)) fail(statusError(r))
  return r.body
}

async function upsert(conn: Conn, collection: string, obj: any): Promise<void> {
  const r = await api(conn, 'POST', collection, obj)
  if (r.status === 201) return
  if (r.status === 409) {
    const cur = await must(conn, 'GET', `${collection}/${obj.metadata.name}`)
    await must(conn, 'PUT', `${collection}/${obj.metadata.name}`, {...obj, metadata: {...obj.metadata, resourceVersion: cur.metadata.resourceVersion}})
    return
  }
  fail(statusError(r))
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64')

function parseTtl(ttl: string | undefined): number {
  let total = 0
  for (const m of (ttl ?? '24h0m0s').matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(m[1]) * ({ms: 0.001, s: 1, m: 60, h: 3600} as Record<string, number>)[m[2]]
  return total
}

function newToken(): string {
  const a = 'abcdefghijklmnopqrstuvwxyz0123456789'
  const pick = (n: number) => Array.from(randomBytes(n), (b) => a[b % a.length]).join('')
  return `${pick(6)}.${pick(16)}`
}

async function createToken(conn: Conn, t: any): Promise<void> {
  const m = TOKEN_RE.exec(t.token)!
  const ttl = parseTtl(t.ttl)
  const data: Record<string, string> = {
    'token-id': b64(m[1]),
    'token-secret': b64(m[2]),
    ...(ttl > 0 ? {expiration: b64(new Date(Date.now() + ttl * 1000).toISOString().replace(/\.\d+Z$/, 'Z'))} : {}),
    ...(t.description ? {description: b64(t.description)} : {}),
    'auth-extra-groups': b64((t.groups ?? ['system:bootstrappers:kubeadm:default-node-token']).join(',')),
  }
  for (const u of t.usages ?? ['signing', 'authentication']) data[`usage-bootstrap-${u}`] = b64('true')
  await upsert(conn, '/api/v1/namespaces/kube-system/secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'bootstrap.kubernetes.io/token',
    metadata: {name: `bootstrap-token-${m[1]}`, namespace: 'kube-system'},
    data,
  })
}

// kubeadm-certs: AES-256-GCM, nonce prepended (cmd/kubeadm/app/util/crypto)
const SHARED_CERTS = ['ca.crt', 'ca.key', 'sa.key', 'sa.pub', 'front-proxy-ca.crt', 'front-proxy-ca.key', 'etcd/ca.crt', 'etcd/ca.key']

function seal(keyHex: string, data: Buffer): Buffer {
  const nonce = randomBytes(12)
  const c = createCipheriv('aes-256-gcm', Buffer.from(keyHex, 'hex'), nonce)
  return Buffer.concat([nonce, c.update(data), c.final(), c.getAuthTag()])
}

function open(keyHex: string, blob: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', Buffer.from(keyHex, 'hex'), blob.subarray(0, 12))
  d.setAuthTag(blob.subarray(blob.length - 16))
  return Buffer.concat([d.update(blob.subarray(12, blob.length - 16)), d.final()])
}

async function uploadCerts(conn: Conn, certDir: string, key: string | undefined, print: boolean): Promise<string> {
  const k = key ?? randomBytes(32).toString('hex')
  out('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace')
  const data: Record<string, string> = {}
  for (const f of SHARED_CERTS) if (hostExists(`${certDir}/${f}`)) data[f.replace('/', '-')] = b64(seal(k, Buffer.from(readHost(`${certDir}/${f}`))))
  await upsert(conn, '/api/v1/namespaces/kube-system/secrets', {apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: {name: 'kubeadm-certs', namespace: 'kube-system'}, data})
  if (print) {
    out('[upload-certs] Using certificate key:')
    out(k)
  }
  return k
}

function joinCommand(cpe: string, token: string, hash: string, controlPlane: boolean, key?: string): string {
  let s = `kubeadm join ${cpe} --token ${token} \\\n\t--discovery-token-ca-cert-hash ${hash} `
  if (controlPlane) s += `\\\n\t--control-plane ${key ? `--certificate-key ${key}` : ''}`
  return s
}

async function waitNode(conn: Conn, name: string, timeoutS: number): Promise<any> {
  const t0 = Date.now()
  while (Date.now() - t0 < timeoutS * 1000) {
    const r = await api(conn, 'GET', `/api/v1/nodes/${name}`).catch(() => undefined)
    if (r?.status === 200) return r.body
    await sleep(500)
  }
  fail(`error execution phase mark-control-plane: error patching node "${name}" through apiserver: timed out waiting for the condition: node "${name}" not found (the kubelet did not register it)`)
}

async function markControlPlane(conn: Conn, name: string, taints: any[] | undefined, timeoutS: number): Promise<void> {
  const labels = {'node-role.kubernetes.io/control-plane': '', 'node.kubernetes.io/exclude-from-external-load-balancers': ''}
  out(`[mark-control-plane] Marking the node ${name} as control-plane by adding the labels: [${Object.keys(labels).join(' ')}]`)
  const t = taints ?? [{key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule'}]
  if (t.length) out(`[mark-control-plane] Marking the node ${name} as control-plane by adding the taints [${t.map((x: any) => `${x.key}${x.value ? '=' + x.value : ''}:${x.effect}`).join(' ')}]`)
  const node = await waitNode(conn, name, timeoutS)
  const existing = node.spec?.taints ?? []
  const merged = [...existing.filter((e: any) => !t.some((x: any) => x.key === e.key && x.effect === e.effect)), ...t]
  await must(conn, 'PATCH', `/api/v1/nodes/${name}`, {metadata: {labels}, spec: {taints: merged.length ? merged : null}})
}

function addonObjects(f: Facts, kubeProxy: any, clusterCfg: any): {path: string; obj: any}[] {
  const ns = '/api/v1/namespaces/kube-system'
  const objs: {path: string; obj: any}[] = []
  if (!clusterCfg.dns?.disabled) {
    objs.push({path: `${ns}/serviceaccounts`, obj: {apiVersion: 'v1', kind: 'ServiceAccount', metadata: {name: 'coredns', namespace: 'kube-system'}}})
    objs.push({
      path: `${ns}/configmaps`,
      obj: {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'coredns', namespace: 'kube-system'}, data: {Corefile: `.:53 {\n    errors\n    health\n    ready\n    kubernetes ${f.dnsDomain} in-addr.arpa ip6.arpa {\n       pods insecure\n       fallthrough in-addr.arpa ip6.arpa\n    }\n    forward . /etc/resolv.conf\n    cache 30\n    loop\n    reload\n    loadbalance\n}\n`}},
    })
    const labels = {'k8s-app': 'kube-dns'}
    objs.push({
      path: '/apis/apps/v1/namespaces/kube-system/deployments',
      obj: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: {name: 'coredns', namespace: 'kube-system', labels},
        spec: {
          replicas: 2,
          selector: {matchLabels: labels},
          strategy: {type: 'RollingUpdate', rollingUpdate: {maxUnavailable: 1}},
          template: {
            metadata: {labels},
            spec: {
              priorityClassName: 'system-cluster-critical',
              serviceAccountName: 'coredns',
              tolerations: [{key: 'CriticalAddonsOnly', operator: 'Exists'}, {key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule'}],
              nodeSelector: {'kubernetes.io/os': 'linux'},
              containers: [
                {
                  name: 'coredns',
                  image: `${f.imageRepository}/coredns/coredns:v1.11.3`,
                  args: ['-conf', '/etc/coredns/Corefile'],
                  ports: [{containerPort: 53, name: 'dns', protocol: 'UDP'}, {containerPort: 53, name: 'dns-tcp', protocol: 'TCP'}, {containerPort: 9153, name: 'metrics', protocol: 'TCP'}],
                  resources: {limits: {memory: '170Mi'}, requests: {cpu: '100m', memory: '70Mi'}},
                  volumeMounts: [{name: 'config-volume', mountPath: '/etc/coredns', readOnly: true}],
                },
              ],
              dnsPolicy: 'Default',
              volumes: [{name: 'config-volume', configMap: {name: 'coredns', items: [{key: 'Corefile', path: 'Corefile'}]}}],
            },
          },
        },
      },
    })
    objs.push({
      path: `${ns}/services`,
      obj: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {name: 'kube-dns', namespace: 'kube-system', labels: {...labels, 'kubernetes.io/name': 'CoreDNS'}},
        spec: {clusterIP: clusterDNS(f.serviceSubnet), selector: labels, ports: [{name: 'dns', port: 53, protocol: 'UDP', targetPort: 53}, {name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53}, {name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153}]},
      },
    })
    out('[addons] Applied essential addon: CoreDNS')
  }
  if (!clusterCfg.proxy?.disabled) {
    const proxyCfg = {
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      bindAddress: '0.0.0.0',
      clientConnection: {kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf'},
      ...(f.podSubnet ? {clusterCIDR: f.podSubnet} : {}),
      ...(kubeProxy ?? {}),
    }
    objs.push({path: `${ns}/serviceaccounts`, obj: {apiVersion: 'v1', kind: 'ServiceAccount', metadata: {name: 'kube-proxy', namespace: 'kube-system'}}})
    objs.push({
      path: `${ns}/configmaps`,
      obj: {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'kube-proxy', namespace: 'kube-system', labels: {app: 'kube-proxy'}}, data: {'config.conf': stringify(proxyCfg), 'kubeconfig.conf': `apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt\n    server: https://${f.controlPlaneEndpoint}\n  name: default\n`}},
    })
    const labels = {'k8s-app': 'kube-proxy'}
    objs.push({
      path: '/apis/apps/v1/namespaces/kube-system/daemonsets',
      obj: {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: {name: 'kube-proxy', namespace: 'kube-system', labels},
        spec: {
          selector: {matchLabels: labels},
          updateStrategy: {type: 'RollingUpdate'},
          template: {
            metadata: {labels},
            spec: {
              priorityClassName: 'system-node-critical',
              serviceAccountName: 'kube-proxy',
              hostNetwork: true,
              tolerations: [{operator: 'Exists'}],
              nodeSelector: {'kubernetes.io/os': 'linux'},
              containers: [
                {
                  name: 'kube-proxy',
                  image: `${f.imageRepository}/kube-proxy:${f.version}`,
                  command: ['/usr/local/bin/kube-proxy', '--config=/var/lib/kube-proxy/config.conf', '--hostname-override=$(NODE_NAME)'],
                  env: [{name: 'NODE_NAME', valueFrom: {fieldRef: {apiVersion: 'v1', fieldPath: 'spec.nodeName'}}}],
                  securityContext: {privileged: true},
                  volumeMounts: [{mountPath: '/var/lib/kube-proxy', name: 'kube-proxy'}, {mountPath: '/run/xtables.lock', name: 'xtables-lock'}, {mountPath: '/lib/modules', name: 'lib-modules', readOnly: true}],
                },
              ],
              volumes: [{name: 'kube-proxy', configMap: {name: 'kube-proxy'}}, {name: 'xtables-lock', hostPath: {path: '/run/xtables.lock', type: 'FileOrCreate'}}, {name: 'lib-modules', hostPath: {path: '/lib/modules'}}],
            },
          },
        },
      },
    })
    out('[addons] Applied essential addon: kube-proxy')
  }
  return objs
}

// ------------------------------------------------------------------------------------------ init

function initConfigFromFlags(p: Parsed): KubeadmConfig {
  const init: any = {nodeRegistration: {}, localAPIEndpoint: {}}
  const cluster: any = {networking: {}}
  if (str(p, 'apiserver-advertise-address')) init.localAPIEndpoint.advertiseAddress = str(p, 'apiserver-advertise-address')
  if (str(p, 'apiserver-bind-port')) init.localAPIEndpoint.bindPort = Number(str(p, 'apiserver-bind-port'))
  if (str(p, 'node-name')) init.nodeRegistration.name = str(p, 'node-name')
  if (str(p, 'cri-socket')) init.nodeRegistration.criSocket = str(p, 'cri-socket')
  if (str(p, 'token')) init.bootstrapTokens = [{token: str(p, 'token'), ttl: str(p, 'token-ttl')}]
  if (str(p, 'certificate-key')) init.certificateKey = str(p, 'certificate-key')
  if (str(p, 'pod-network-cidr')) cluster.networking.podSubnet = str(p, 'pod-network-cidr')
  if (str(p, 'service-cidr')) cluster.networking.serviceSubnet = str(p, 'service-cidr')
  if (str(p, 'service-dns-domain')) cluster.networking.dnsDomain = str(p, 'service-dns-domain')
  if (str(p, 'control-plane-endpoint')) cluster.controlPlaneEndpoint = str(p, 'control-plane-endpoint')
  if (str(p, 'kubernetes-version')) cluster.kubernetesVersion = str(p, 'kubernetes-version')
  if (str(p, 'image-repository')) cluster.imageRepository = str(p, 'image-repository')
  if (str(p, 'cert-dir')) cluster.certificatesDir = str(p, 'cert-dir')
  if (list(p, 'apiserver-cert-extra-sans').length) cluster.apiServer = {certSANs: list(p, 'apiserver-cert-extra-sans')}
  return {apiVersion: 'kubeadm.k8s.io/v1beta4', init, cluster, warnings: []}
}

function readConfigFile(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    fail(`unable to read config from "${path}" : open ${path}: no such file or directory`)
  }
}

async function init(argv: string[]): Promise<number> {
  const p = parseFlags(argv, INIT_FLAGS, SHORT)
  if (p.args.length) fail(`unknown command "${p.args[0]}" for "kubeadm init"`)
  mixedArgs(p)
  const cfgPath = str(p, 'config')
  const cfg = cfgPath ? loadConfig(readConfigFile(cfgPath), cfgPath, 'init') : initConfigFromFlags(p)
  for (const w of cfg.warnings) warn(w)
  validateInit(cfg)
  const initCfg = cfg.init ?? {}
  const warnings: string[] = []
  if (str(p, 'node-name')) (initCfg.nodeRegistration ??= {}).name = str(p, 'node-name')
  const f = facts(cfg, initCfg.nodeRegistration, initCfg.localAPIEndpoint, warnings)
  for (const w of warnings) warn(w)
  const skip = skipper([...list(p, 'skip-phases'), ...(initCfg.skipPhases ?? [])], INIT_PHASES)
  const ignore = [...list(p, 'ignore-preflight-errors'), ...(initCfg.nodeRegistration?.ignorePreflightErrors ?? [])]
  if (bool(p, 'dry-run') || initCfg.dryRun) fail('--dry-run is not implemented by the kubeadm stand-in')
  out(`[init] Using Kubernetes version: ${f.version}`)
  if (!skip('preflight')) await preflight('init', f, ignore)
  const ca = skip('certs') ? {cert: readHost(`${f.certificatesDir}/ca.crt`), key: loadKey(readHost(`${f.certificatesDir}/ca.key`)), cn: 'kubernetes'} : certsPhase(f, skip)
  if (!skip('kubeconfig')) kubeconfigPhase(f, ca, ['admin', 'super-admin', 'kubelet', 'controller-manager', 'scheduler'].filter((k) => !skip(`kubeconfig/${k}`)))
  manifestsPhase(f, skip)
  const kcfg = skip('kubelet-start') ? {} : kubeletStart(f, cfg.kubelet)
  const admin = loadKubeconfig('/etc/kubernetes/admin.conf')
  if (!skip('wait-control-plane')) {
    out(`[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory "/etc/kubernetes/manifests"`)
    await waitKubelet(kcfg, f.kubeletHealthTimeout)
    await waitApi({...admin, server: `https://${f.advertiseAddress}:${f.bindPort}`}, 'local API endpoint', f.controlPlaneTimeout)
    await waitApi(admin, `controlPlaneEndpoint ${f.controlPlaneEndpoint}`, f.controlPlaneTimeout)
  }
  if (!skip('upload-config')) {
    out('[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace')
    const stored = {...cfg.cluster, apiVersion: 'kubeadm.k8s.io/v1beta4', kind: 'ClusterConfiguration', kubernetesVersion: f.version, controlPlaneEndpoint: f.controlPlaneEndpoint, certificatesDir: f.certificatesDir, clusterName: f.clusterName, imageRepository: f.imageRepository, networking: {dnsDomain: f.dnsDomain, serviceSubnet: f.serviceSubnet, ...(f.podSubnet ? {podSubnet: f.podSubnet} : {})}}
    await upsert(admin, '/api/v1/namespaces/kube-system/configmaps', {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'kubeadm-config', namespace: 'kube-system'}, data: {ClusterConfiguration: stringify(stored)}})
    out('[kubelet] Creating a ConfigMap "kubelet-config" in namespace kube-system with the configuration for the kubelets in the cluster')
    await upsert(admin, '/api/v1/namespaces/kube-system/configmaps', {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'kubelet-config', namespace: 'kube-system'}, data: {kubelet: stringify(kcfg)}})
  }
  let certKey: string | undefined
  if (bool(p, 'upload-certs') && !skip('upload-certs')) certKey = await uploadCerts(admin, f.certificatesDir, initCfg.certificateKey, !bool(p, 'skip-certificate-key-print'))
  else out('[upload-certs] Skipping phase. Please see --upload-certs')
  if (!skip('mark-control-plane')) await markControlPlane(admin, f.nodeName, f.taints, f.controlPlaneTimeout)
  const tokens = initCfg.bootstrapTokens?.length ? initCfg.bootstrapTokens : [{token: newToken()}]
  if (!skip('bootstrap-token')) {
    out(`[bootstrap-token] Using token: ${bool(p, 'skip-token-print') ? '<value withheld>' : tokens[0].token}`)
    out('[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles')
    for (const t of tokens) await createToken(admin, t)
    out('[bootstrap-token] Creating the "cluster-info" ConfigMap in the "kube-public" namespace')
    await upsert(admin, '/api/v1/namespaces/kube-public/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {name: 'cluster-info', namespace: 'kube-public'},
      data: {kubeconfig: kubeconfigYaml({clusterName: '', server: `https://${f.controlPlaneEndpoint}`, caPem: ca.cert, user: ''}).replace(/users:[\s\S]*$/, 'users: null\n')},
    })
  }
  if (!skip('addon')) {
    for (const {path, obj} of addonObjects(f, cfg.kubeProxy, cfg.cluster)) {
      if ((obj.metadata.name === 'coredns' || obj.metadata.name === 'kube-dns') && skip('addon/coredns')) continue
      if (obj.metadata.name === 'kube-proxy' && skip('addon/kube-proxy')) continue
      await upsert(admin, path, obj)
    }
  }
  const hash = caCertHash(ca.cert)
  out('\nYour Kubernetes control-plane has initialized successfully!\n')
  out('To start using your cluster, you need to run the following as a regular user:\n')
  out('  mkdir -p $HOME/.kube\n  sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config\n  sudo chown $(id -u):$(id -g) $HOME/.kube/config\n')
  out('Alternatively, if you are the root user, you can run:\n\n  export KUBECONFIG=/etc/kubernetes/admin.conf\n')
  out('You should now deploy a pod network to the cluster.\nRun "kubectl apply -f [podnetwork].yaml" with one of the options listed at:\n  https://kubernetes.io/docs/concepts/cluster-administration/addons/\n')
  if (skip('show-join-command')) return 0
  const tok = bool(p, 'skip-token-print') ? '<value withheld>' : tokens[0].token
  if (cfg.cluster.controlPlaneEndpoint) {
    if (certKey) {
      out('You can now join any number of control-plane nodes running the following command on each as root:\n')
      out(`  ${joinCommand(f.controlPlaneEndpoint, tok, hash, true, bool(p, 'skip-certificate-key-print') ? '<value withheld>' : certKey)}\n`)
      out('Please note that the certificate-key gives access to cluster sensitive data, keep it secret!\nAs a safeguard, uploaded-certs will be deleted in two hours; If necessary, you can use\n"kubeadm init phase upload-certs --upload-certs" to reload certs afterward.\n')
    } else {
      out('You can now join any number of control-plane nodes by copying certificate authorities\nand service account keys on each node and then running the following as root:\n')
      out(`  ${joinCommand(f.controlPlaneEndpoint, tok, hash, true)}\n`)
    }
  }
  out('Then you can join any number of worker nodes by running the following on each as root:\n')
  out(`${joinCommand(f.controlPlaneEndpoint, tok, hash, false)}`)
  return 0
}

// ------------------------------------------------------------------------------------------ join

async function discover(endpoint: string, hashes: string[], unsafe: boolean, token: string, timeoutS: number): Promise<{ca: string; server: string}> {
  out(`[preflight] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...`)
  const t0 = Date.now()
  let last = ''
  while (Date.now() - t0 < timeoutS * 1000) {
    try {
      const r = await api({server: `https://${endpoint}`, insecure: true}, 'GET', '/api/v1/namespaces/kube-public/configmaps/cluster-info', undefined, 3000)
      if (r.status === 200) {
        const kc = r.body.data.kubeconfig as string
        const ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(kc)![1], 'base64').toString()
        const server = /server: (\S+)/.exec(kc)![1]
        const h = caCertHash(ca)
        if (!unsafe && !hashes.includes(h))
          fail(`error execution phase preflight: couldn't validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "${h}" are pinned`)
        // the bootstrap token must be known to the cluster (kubeadm checks its JWS signature in cluster-info)
        const chk = await api({server: `https://${endpoint}`, ca, token}, 'GET', '/api/v1/namespaces/kube-system/configmaps/kubeadm-config')
        if (chk.status === 401) fail(`error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID "${token.split('.')[0]}"`)
        if (chk.status !== 200) fail(`error execution phase preflight: unable to fetch the kubeadm-config ConfigMap: ${statusError(chk)}`)
        return {ca, server}
      }
      last = `status ${r.status}`
    } catch (e) {
      if (e instanceof StandinExit) throw e
      last = (e as Error).message
    }
    await sleep(1000)
  }
  fail(`error execution phase preflight: couldn't validate the identity of the API Server: failed to request the cluster-info ConfigMap: Get "https://${endpoint}/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s": ${last}`)
}

function joinConfigFromFlags(p: Parsed): KubeadmConfig {
  const endpoint = p.args[0]
  const token = str(p, 'discovery-token') ?? str(p, 'token')
  const join: any = {
    nodeRegistration: {},
    discovery: {
      ...(str(p, 'discovery-file') ? {file: {kubeConfigPath: str(p, 'discovery-file')}} : {}),
      ...(token || endpoint ? {bootstrapToken: {token: token ?? '', apiServerEndpoint: endpoint, caCertHashes: list(p, 'discovery-token-ca-cert-hash'), unsafeSkipCAVerification: bool(p, 'discovery-token-unsafe-skip-ca-verification')}} : {}),
      ...(str(p, 'tls-bootstrap-token') ?? str(p, 'token') ? {tlsBootstrapToken: str(p, 'tls-bootstrap-token') ?? str(p, 'token')} : {}),
    },
  }
  if (!join.discovery.bootstrapToken?.caCertHashes?.length && join.discovery.bootstrapToken) delete join.discovery.bootstrapToken.caCertHashes
  if (str(p, 'node-name')) join.nodeRegistration.name = str(p, 'node-name')
  if (str(p, 'cri-socket')) join.nodeRegistration.criSocket = str(p, 'cri-socket')
  if (bool(p, 'control-plane')) {
    join.controlPlane = {localAPIEndpoint: {}}
    if (str(p, 'apiserver-advertise-address')) join.controlPlane.localAPIEndpoint.advertiseAddress = str(p, 'apiserver-advertise-address')
    if (str(p, 'apiserver-bind-port')) join.controlPlane.localAPIEndpoint.bindPort = Number(str(p, 'apiserver-bind-port'))
    if (str(p, 'certificate-key')) join.controlPlane.certificateKey = str(p, 'certificate-key')
  }
  return {apiVersion: 'kubeadm.k8s.io/v1beta4', join, cluster: {}, warnings: []}
}

async function join(argv: string[]): Promise<number> {
  const p = parseFlags(argv, JOIN_FLAGS, SHORT)
  if (p.args.length > 1) fail(`accepts at most 1 arg(s), received ${p.args.length}`)
  mixedArgs(p)
  const cfgPath = str(p, 'config')
  if (cfgPath && p.args.length) fail(`can not mix '--config' with arguments [${p.args[0]}]`)
  const cfg = cfgPath ? loadConfig(readConfigFile(cfgPath), cfgPath, 'join') : joinConfigFromFlags(p)
  for (const w of cfg.warnings) warn(w)
  validateJoin(cfg)
  const j = cfg.join
  if (str(p, 'node-name')) (j.nodeRegistration ??= {}).name = str(p, 'node-name')
  if (bool(p, 'dry-run') || j.dryRun) fail('--dry-run is not implemented by the kubeadm stand-in')
  const bt = j.discovery.bootstrapToken
  if (!bt) fail('discovery.file is not implemented by the kubeadm stand-in; use bootstrap token discovery')
  const cp = Boolean(j.controlPlane)
  const skip = skipper([...list(p, 'skip-phases'), ...(j.skipPhases ?? [])], JOIN_PHASES)
  const ignore = [...list(p, 'ignore-preflight-errors'), ...(j.nodeRegistration?.ignorePreflightErrors ?? [])]
  const timeoutS = seconds(j.timeouts?.discovery ?? j.discovery?.timeout, 300)
  const token = j.discovery.tlsBootstrapToken ?? bt.token
  // facts with the cluster's settings (from kubeadm-config) after discovery
  const pre = {
    criSocket: j.nodeRegistration?.criSocket ?? 'unix:///var/run/containerd/containerd.sock',
    bindPort: j.controlPlane?.localAPIEndpoint?.bindPort ?? 6443,
    etcdDataDir: '/var/lib/etcd',
  } as Facts
  if (!skip('preflight')) await preflight(cp ? 'join-control-plane' : 'join', pre, ignore)
  const {ca, server} = await discover(bt.apiServerEndpoint, bt.caCertHashes ?? [], Boolean(bt.unsafeSkipCAVerification), token, timeoutS)
  const boot: Conn = {server, ca, token}
  const kcm = await must(boot, 'GET', '/api/v1/namespaces/kube-system/configmaps/kubeadm-config')
  const cluster = (await import('yaml')).parse(kcm.data.ClusterConfiguration)
  const kubeletCm = await must(boot, 'GET', '/api/v1/namespaces/kube-system/configmaps/kubelet-config')
  const kcfg = (await import('yaml')).parse(kubeletCm.data.kubelet)
  const f = facts({...cfg, cluster}, j.nodeRegistration, j.controlPlane?.localAPIEndpoint, [])
  const existing = await api(boot, 'GET', `/api/v1/nodes/${f.nodeName}`)
  if (existing.status === 200 && existing.body.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'))
    fail(`error execution phase kubelet-start: a Node with name "${f.nodeName}" and status "Ready" already exists in the cluster. You must delete the existing Node or change the name of this new joining Node`)
  if (cp) {
    out('[control-plane-prepare] Downloading the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace')
    const key = j.controlPlane.certificateKey
    if (!key) fail('error execution phase control-plane-prepare/download-certs: a certificate key is required: pass --certificate-key or set controlPlane.certificateKey (stand-in: copying certificates by hand is not supported)')
    const sec = await api(boot, 'GET', '/api/v1/namespaces/kube-system/secrets/kubeadm-certs')
    if (sec.status !== 200) fail(`error execution phase control-plane-prepare/download-certs: error downloading certs: error downloading the secret: ${statusError(sec)}`)
    for (const name of SHARED_CERTS) {
      const blob = sec.body.data?.[name.replace('/', '-')]
      if (!blob) continue
      let plain: Buffer
      try {
        plain = open(key, Buffer.from(blob, 'base64'))
      } catch {
        fail('error execution phase control-plane-prepare/download-certs: error downloading certs: error decoding secret data with provided key: cipher: message authentication failed')
      }
      writeHost(`${f.certificatesDir}/${name}`, plain, name.endsWith('.key') ? 0o600 : 0o644)
    }
    const caObj = {cert: readHost(`${f.certificatesDir}/ca.crt`), key: loadKey(readHost(`${f.certificatesDir}/ca.key`)), cn: 'kubernetes'}
    certsPhase(f, () => false)
    kubeconfigPhase(f, caObj, ['admin', 'controller-manager', 'scheduler'])
    manifestsPhase(f, () => false)
  } else {
    writeHost(`${f.certificatesDir}/ca.crt`, ca)
  }
  out('[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"')
  writeHost('/var/lib/kubelet/config.yaml', stringify(kcfg))
  out('[kubelet-start] Writing kubelet environment file with flags to file "/var/lib/kubelet/kubeadm-flags.env"')
  writeHost('/var/lib/kubelet/kubeadm-flags.env', kubeletFlagsEnv(f.criSocket, f.nodeName, nodeHostname(), f.kubeletExtraArgs, cp ? undefined : f.taints))
  writeHost('/etc/kubernetes/bootstrap-kubelet.conf', kubeconfigYaml({clusterName: 'kubernetes', server, caPem: ca, user: 'tls-bootstrap-token-user', token}), 0o600)
  out('[kubelet-start] Starting the kubelet')
  if (!underRoot()) {
    try {
      systemctl('restart', 'kubelet')
    } catch {
      out("[kubelet-start] WARNING: Couldn't detect a kubelet service, can't make sure the kubelet is running properly.")
    }
  }
  await waitKubelet(kcfg, f.kubeletHealthTimeout)
  out('[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap')
  const t0 = Date.now()
  while (!hostExists('/etc/kubernetes/kubelet.conf')) {
    if (Date.now() - t0 > f.kubeletHealthTimeout * 1000) fail('error execution phase kubelet-start: timed out waiting for the condition: the kubelet did not write /etc/kubernetes/kubelet.conf (TLS bootstrap)')
    await sleep(500)
  }
  rmSync(hp('/etc/kubernetes/bootstrap-kubelet.conf'), {force: true})
  if (cp) {
    const admin = loadKubeconfig('/etc/kubernetes/admin.conf')
    await waitApi({...admin, server: `https://${f.advertiseAddress}:${f.bindPort}`}, 'local API endpoint', f.controlPlaneTimeout)
    await markControlPlane(admin, f.nodeName, f.taints, f.controlPlaneTimeout)
    out('\nThis node has joined the cluster and a new control plane instance was created:\n\n* Certificate signing request was sent to apiserver and approval was received.\n* The Kubelet was informed of the new secure connection details.\n* Control plane label and taint were applied to the new node.\n* The Kubernetes control plane instances scaled up.\n')
  } else {
    await waitNode(loadKubeconfig('/etc/kubernetes/kubelet.conf'), f.nodeName, f.kubeletHealthTimeout)
    out("\nThis node has joined the cluster:\n* Certificate signing request was sent to apiserver and a response was received.\n* The Kubelet was informed of the new secure connection details.\n\nRun 'kubectl get nodes' on the control-plane to see this node join the cluster.\n")
  }
  return 0
}

// ------------------------------------------------------------------------------------------ reset, token, upgrade, config

async function reset(argv: string[]): Promise<number> {
  const p = parseFlags(argv, RESET_FLAGS, {...SHORT, f: 'force'})
  if (p.args.length) fail(`unknown command "${p.args[0]}" for "kubeadm reset"`)
  let force = bool(p, 'force')
  if (str(p, 'config')) {
    const c = loadConfig(readConfigFile(str(p, 'config')!), str(p, 'config')!, 'reset')
    force ||= Boolean(c.reset?.force)
  }
  if (!force) {
    out('[reset] Are you sure you want to proceed? [y/N]: ')
    fail('aborted reset operation')
  }
  out('[reset] Stopping the kubelet service')
  if (!underRoot()) {
    try {
      systemctl('stop', 'kubelet')
    } catch {
      // not running
    }
  }
  const certDir = str(p, 'cert-dir') ?? '/etc/kubernetes/pki'
  out('[reset] Deleting contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki]')
  for (const d of ['/etc/kubernetes/manifests', '/var/lib/kubelet', certDir, '/var/lib/etcd', '/var/lib/metalplane-standins/apiserver'])
    try {
      for (const e of readdirSync(hp(d))) rmSync(hp(`${d}/${e}`), {recursive: true, force: true})
    } catch {
      // absent
    }
  out('[reset] Deleting files: [/etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf /etc/kubernetes/kubelet.conf /etc/kubernetes/bootstrap-kubelet.conf /etc/kubernetes/controller-manager.conf /etc/kubernetes/scheduler.conf]')
  for (const f of ['admin', 'super-admin', 'kubelet', 'bootstrap-kubelet', 'controller-manager', 'scheduler']) rmSync(hp(`/etc/kubernetes/${f}.conf`), {force: true})
  out('\nThe reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d\n')
  out('The reset process does not reset or clean up iptables rules or IPVS tables.\n')
  out('The reset process does not clean your kubeconfig files and you must remove them manually.\nPlease, check the contents of the $HOME/.kube/config file.')
  return 0
}

async function token(argv: string[]): Promise<number> {
  const sub = argv[0]
  const common: FlagSpec = {...GLOBAL, kubeconfig: 'string', 'dry-run': 'bool'}
  if (sub === 'create') {
    const p = parseFlags(argv.slice(1), {...common, 'certificate-key': 'string', config: 'string', description: 'string', groups: 'strings', 'print-join-command': 'bool', ttl: 'duration', usages: 'strings'}, SHORT)
    const tok = p.args[0] ?? newToken()
    if (!TOKEN_RE.test(tok)) fail(`the bootstrap token "${tok}" was not of the form "^([a-z0-9]{6})\\.([a-z0-9]{16})$"`)
    const key = str(p, 'certificate-key')
    if (key && !/^[0-9a-f]{64}$/i.test(key)) fail(`invalid certificate key: must be a hex-encoded 32-byte AES key`)
    const conn = loadKubeconfig(str(p, 'kubeconfig') ?? '/etc/kubernetes/admin.conf')
    await createToken(conn, {token: tok, ttl: str(p, 'ttl'), description: str(p, 'description'), usages: list(p, 'usages').length ? list(p, 'usages') : undefined, groups: list(p, 'groups').length ? list(p, 'groups') : undefined})
    if (!bool(p, 'print-join-command')) {
      out(tok)
      return 0
    }
    const ci = await must(conn, 'GET', '/api/v1/namespaces/kube-public/configmaps/cluster-info')
    const kc = ci.data.kubeconfig as string
    const ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(kc)![1], 'base64').toString()
    const server = /server: https:\/\/(\S+)/.exec(kc)![1]
    out(`kubeadm join ${server} --token ${tok} --discovery-token-ca-cert-hash ${caCertHash(ca)} ${key ? `--control-plane --certificate-key ${key}` : ''}`)
    return 0
  }
  if (sub === 'list') {
    const p = parseFlags(argv.slice(1), {...common, output: 'string', 'allow-missing-template-keys': 'bool', 'show-managed-fields': 'bool'}, {...SHORT, o: 'output'})
    const conn = loadKubeconfig(str(p, 'kubeconfig') ?? '/etc/kubernetes/admin.conf')
    const l = await must(conn, 'GET', '/api/v1/namespaces/kube-system/secrets')
    out('TOKEN                     TTL         EXPIRES                USAGES                   DESCRIPTION   EXTRA GROUPS')
    for (const s of l.items.filter((x: any) => x.type === 'bootstrap.kubernetes.io/token')) {
      const d = (k: string) => (s.data?.[k] ? Buffer.from(s.data[k], 'base64').toString() : '')
      out(`${d('token-id')}.${d('token-secret')}   ${d('expiration') || '<forever>'}   ${d('auth-extra-groups')}`)
    }
    return 0
  }
  if (sub === 'delete') {
    const p = parseFlags(argv.slice(1), common, SHORT)
    if (!p.args.length) fail('missing subcommand; "token delete" is missing token of form "[a-z0-9]{6}.[a-z0-9]{16}" or "[a-z0-9]{6}"')
    const conn = loadKubeconfig(str(p, 'kubeconfig') ?? '/etc/kubernetes/admin.conf')
    for (const t of p.args) {
      const id = t.split('.')[0]
      await must(conn, 'DELETE', `/api/v1/namespaces/kube-system/secrets/bootstrap-token-${id}`)
      out(`bootstrap token "${id}" deleted`)
    }
    return 0
  }
  if (sub === 'generate') {
    out(newToken())
    return 0
  }
  fail(sub ? `unknown command "${sub}" for "kubeadm token"` : 'missing subcommand; "token" is not meant to be run on its own')
}

async function initPhase(argv: string[]): Promise<number> {
  if (argv[0] !== 'upload-certs') fail(`the kubeadm stand-in implements only "kubeadm init phase upload-certs" (asked: ${argv[0] ?? ''})`)
  const p = parseFlags(argv.slice(1), {...GLOBAL, 'certificate-key': 'string', config: 'string', kubeconfig: 'string', 'skip-certificate-key-print': 'bool', 'upload-certs': 'bool', 'dry-run': 'bool'}, SHORT)
  if (!bool(p, 'upload-certs')) {
    out('[upload-certs] Skipping phase. Please see --upload-certs')
    return 0
  }
  let key = str(p, 'certificate-key')
  let certDir = '/etc/kubernetes/pki'
  if (str(p, 'config')) {
    if (key) fail("can not mix '--config' with arguments [certificate-key]")
    const c = loadConfig(readConfigFile(str(p, 'config')!), str(p, 'config')!, 'init')
    validateInit(c)
    key = c.init?.certificateKey
    certDir = c.cluster.certificatesDir ?? certDir
  }
  if (key && !/^[0-9a-f]{64}$/i.test(key)) fail('certificateKey: Invalid value: must be a hex-encoded 32-byte AES key')
  const conn = loadKubeconfig(str(p, 'kubeconfig') ?? '/etc/kubernetes/admin.conf')
  await uploadCerts(conn, certDir, key, !bool(p, 'skip-certificate-key-print'))
  return 0
}

async function clusterVersion(conn: Conn): Promise<{cfg: any; version: string}> {
  const cm = await must(conn, 'GET', '/api/v1/namespaces/kube-system/configmaps/kubeadm-config')
  const cfg = (await import('yaml')).parse(cm.data.ClusterConfiguration)
  return {cfg, version: cfg.kubernetesVersion}
}

function checkUpgradeTarget(target: string, current: string): void {
  const t = parseVersion(target)
  if (!t) fail(`[upgrade/version] FATAL: couldn't parse Kubernetes version "${target}"`)
  const kb = binarySemver()
  const c = parseVersion(current)!
  if (t.minor > kb.minor || (t.minor === kb.minor && t.patch > kb.patch))
    fail(`[upgrade/version] FATAL: the --version argument is invalid due to these fatal errors:\n\n\t- Specified version to upgrade to "${target}" is higher than the kubeadm version "${binaryVersion()}". Upgrade kubeadm first using the tool you used to install kubeadm\n`)
  if (t.minor > c.minor + 1)
    fail(`[upgrade/version] FATAL: the --version argument is invalid due to these fatal errors:\n\n\t- Specified version to upgrade to "${target}" is too high; kubeadm can upgrade only 1 minor version at a time\n`)
  if (t.minor < c.minor) fail(`[upgrade/version] FATAL: the --version argument is invalid due to these fatal errors:\n\n\t- Specified version to upgrade to "${target}" is an unsupported version and can't be used for downgrade`)
}

function bumpManifests(version: string): void {
  for (const c of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
    const p = `/etc/kubernetes/manifests/${c}.yaml`
    if (!hostExists(p)) continue
    writeHost(p, readHost(p).replace(new RegExp(`(image: \\S+/${c}):v[\\w.+-]+`), `$1:${version}`), 0o600)
    out(`[upgrade/staticpods] Component "${c}" upgraded successfully!`)
  }
}

async function upgrade(argv: string[]): Promise<number> {
  const sub = argv[0]
  const flags: FlagSpec = {...GLOBAL, config: 'string', kubeconfig: 'string', 'ignore-preflight-errors': 'strings', 'allow-experimental-upgrades': 'bool', 'allow-release-candidate-upgrades': 'bool', 'print-config': 'bool', 'dry-run': 'bool', 'certificate-renewal': 'bool', 'etcd-upgrade': 'bool', patches: 'string', 'skip-phases': 'strings'}
  if (sub === 'plan') {
    const p = parseFlags(argv.slice(1), {...flags, output: 'string', 'allow-missing-template-keys': 'bool', 'show-managed-fields': 'bool'}, {...SHORT, o: 'output'})
    const conn = loadKubeconfig(str(p, 'kubeconfig') ?? '/etc/kubernetes/admin.conf')
    const {version} = await clusterVersion(conn)
    out('[upgrade/config] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...')
    out(`[upgrade] Running cluster health checks\n[upgrade] Fetching available versions to upgrade to\n[upgrade/versions] Cluster version: ${version}\n[upgrade/versions] kubeadm version: ${binaryVersion()}`)
    const target = p.args[0] ?? binaryVersion()
    if (target === version) out('\nAwesome, you\'re up-to-date! Enjoy!')
    else {
      checkUpgradeTarget(target, version)
      out(`\nUpgrade to the latest version in the v${binarySemver().major}.${binarySemver().minor} series:\n\nCOMPONENT                 NODE      CURRENT   TARGET\nkube-apiserver                      ${version}   ${target}\n\nYou can now apply the upgrade by executing the following command:\n\n\tkubeadm upgrade apply ${target}\n`)
    }
    return 0
  }
  if (sub === 'apply') {
    const p = parseFlags(argv.slice(1), {...flags, yes: 'bool', force: 'bool', f: 'bool'}, {...SHORT, y: 'yes', f: 'force'})
    const target = p.args[0]
    if (!target) fail('missing one or more required arguments: version (e.g. kubeadm upgrade apply v1.31.2)')
    if (!bool(p, 'yes') && !bool(p, 'force')) {
      out('[upgrade] Are you sure you want to proceed? [y/N]: ')
      fail('won\'t proceed; the user didn\'t answer (Y|y) in order to continue')
    }
    const conn = loadKubeconfig(str(p, 'kubeconfig') ?? '/etc/kubernetes/admin.conf')
    const {cfg, version} = await clusterVersion(conn)
    checkUpgradeTarget(target, version)
    out(`[upgrade/version] You have chosen to change the cluster version to "${target}"`)
    bumpManifests(target)
    await upsert(conn, '/api/v1/namespaces/kube-system/configmaps', {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'kubeadm-config', namespace: 'kube-system'}, data: {ClusterConfiguration: stringify({...cfg, kubernetesVersion: target})}})
    out(`\n[upgrade/successful] SUCCESS! Your cluster was upgraded to "${target}". Enjoy!\n\n[upgrade/kubelet] Now that your control plane is upgraded, please proceed with upgrading your kubelets if you haven't already done so.`)
    return 0
  }
  if (sub === 'node') {
    const p = parseFlags(argv.slice(1), flags, SHORT)
    if (p.args.length) fail(`unknown command "${p.args[0]}" for "kubeadm upgrade node"`)
    const kc = hostExists('/etc/kubernetes/admin.conf') ? '/etc/kubernetes/admin.conf' : '/etc/kubernetes/kubelet.conf'
    const conn = loadKubeconfig(str(p, 'kubeconfig') ?? kc)
    const {version} = await clusterVersion(conn)
    out('[upgrade] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...')
    if (hostExists('/etc/kubernetes/manifests/kube-apiserver.yaml')) bumpManifests(version)
    else out('[upgrade] Skipping phase. Not a control plane node.')
    out('[upgrade] The configuration for this node was successfully upgraded!\n[upgrade] Now you should go ahead and upgrade the kubelet package using your package manager.')
    return 0
  }
  fail(sub ? `unknown command "${sub}" for "kubeadm upgrade"` : 'missing subcommand; "upgrade" is not meant to be run on its own')
}

async function config(argv: string[]): Promise<number> {
  if (argv[0] !== 'images' || argv[1] !== 'list') fail(`the kubeadm stand-in implements only "kubeadm config images list" (asked: ${argv.slice(0, 2).join(' ')})`)
  const p = parseFlags(argv.slice(2), {...GLOBAL, config: 'string', 'kubernetes-version': 'string', 'image-repository': 'string', 'feature-gates': 'string', output: 'string', 'allow-missing-template-keys': 'bool', 'show-managed-fields': 'bool', kubeconfig: 'string'}, {...SHORT, o: 'output'})
  let repo = str(p, 'image-repository') ?? 'registry.k8s.io'
  let v = str(p, 'kubernetes-version') ?? binaryVersion()
  if (str(p, 'config')) {
    const c = loadConfig(readConfigFile(str(p, 'config')!), str(p, 'config')!, 'init')
    for (const w of c.warnings) warn(w)
    repo = c.cluster.imageRepository ?? repo
    v = c.cluster.kubernetesVersion ?? v
  }
  const errs: string[] = []
  checkKubernetesVersion(v, errs)
  if (errs.length) fail(errs.join('\n'))
  const pv = parseVersion(v)!
  const ver = `v${pv.major}.${pv.minor}.${pv.patch}`
  for (const c of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy']) out(`${repo}/${c}:${ver}`)
  out(`${repo}/coredns/coredns:v1.11.3`)
  out(`${repo}/pause:3.10`)
  out(`${repo}/etcd:3.5.15-0`)
  return 0
}

async function version(argv: string[]): Promise<number> {
  const p = parseFlags(argv, {...GLOBAL, output: 'string'}, {...SHORT, o: 'output'})
  const o = str(p, 'output') ?? ''
  const v = binaryVersion()
  const sv = binarySemver()
  const info = {major: String(sv.major), minor: String(sv.minor), gitVersion: v, gitCommit: 'standin', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.22.0', compiler: 'gc', platform: 'linux/amd64'}
  if (o === 'short') out(v)
  else if (o === 'json') out(JSON.stringify({clientVersion: info}, null, 2))
  else if (o === 'yaml') out(stringify({clientVersion: info}).trimEnd())
  else if (o === '') out(`kubeadm version: &version.Info{Major:"${sv.major}", Minor:"${sv.minor}", GitVersion:"${v}", GitCommit:"standin", GitTreeState:"clean", BuildDate:"2026-01-01T00:00:00Z", GoVersion:"go1.22.0", Compiler:"gc", Platform:"linux/amd64"}`)
  else fail(`invalid output format: ${o}`)
  return 0
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2)
  // global flags may precede the subcommand
  let i = 0
  while (i < argv.length && argv[i].startsWith('-')) {
    const n = argv[i].replace(/^-+/, '').split('=')[0]
    if (!(n in GLOBAL) && n !== 'h') fail(`unknown flag: ${argv[i].split('=')[0]}`)
    i += GLOBAL[n] && GLOBAL[n] !== 'bool' && !argv[i].includes('=') ? 2 : 1
  }
  const [cmd, ...rest] = argv.slice(i)
  switch (cmd) {
    case 'version':
      return version(rest)
    case 'init':
      return rest[0] === 'phase' ? initPhase(rest.slice(1)) : init(rest)
    case 'join':
      return join(rest)
    case 'reset':
      return reset(rest)
    case 'token':
      return token(rest)
    case 'upgrade':
      return upgrade(rest)
    case 'config':
      return config(rest)
    case undefined:
      out('kubeadm (metalplane stand-in): version, init, join, reset, token, upgrade, config images list. See test/standins/README.md')
      return 0
    default:
      fail(`unknown command "${cmd}" for "kubeadm"\nRun 'kubeadm --help' for usage.`)
  }
}

runMain('', () =>
  main().catch((e) => {
    if (e instanceof StandinExit && /^unknown (flag|shorthand flag|command)/.test(e.message)) e.message += '\nTo see the stack trace of this error execute with --v=5 or higher'
    throw e
  }),
)
