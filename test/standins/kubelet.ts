// STAND-IN kubelet (for tests: no registry here serves the real one). Run as kubelet.service with
// the drop-in kubeadm's packages install. It strictly parses the real kubelet's flags, strictly
// decodes the KubeletConfiguration, checks swap, the CRI socket and containerd's cgroup driver,
// then: serves /healthz, TLS-bootstraps with --bootstrap-kubeconfig, registers its Node, runs the
// static pods it understands (kube-apiserver -> the apiserver stand-in in this process; kube-vip ->
// adds the VIP to the named interface) and validates the others as Pods. No container is run.
import {createServer, type Server} from 'node:http'
import {connect} from 'node:net'
import {cpus, totalmem} from 'node:os'
import {readdirSync} from 'node:fs'
import {parse as parseYaml} from 'yaml'
import {binaryVersion, bool, fail, hostExists, hp, list, parseFlags, readHost, runMain, sleep, str, underRoot, writeHost, type FlagSpec} from './common.js'
import {kubeletConfiguration} from './data/kubeadm-api.js'
import {check} from './schema.js'
import {cniStatus, containerdSystemdCgroup, defaultIP, ipCmd, nodeHostname, probeSocket, swapOn} from './host.js'
import {Apiserver, optionsFromManifest} from './apiserver.js'
import {api, loadKubeconfig, type Conn} from './kubeconfig.js'
import {keyPem, makeCsr, newKey} from './pki.js'

// kubelet's command-line flags (cmd/kubelet/app/options/options.go, v1.31). Flags removed from the
// kubelet (--network-plugin, --cni-bin-dir, --container-runtime, --docker-endpoint, --dynamic-config-dir,
// klog's --logtostderr/--log-dir, ...) are unknown and fail like the real binary.
const STRING_FLAGS = `address allowed-unsafe-sysctls authorization-mode boot-id-file bootstrap-kubeconfig cert-dir cgroup-driver
 cgroup-root client-ca-file cloud-config cloud-provider cluster-dns cluster-domain config config-dir container-log-max-size
 container-runtime-endpoint containerd containerd-namespace cpu-manager-policy cpu-manager-policy-options enforce-node-allocatable
 eviction-hard eviction-minimum-reclaim eviction-soft eviction-soft-grace-period experimental-mounter-path feature-gates
 hairpin-mode healthz-bind-address hostname-override image-credential-provider-bin-dir image-credential-provider-config
 image-service-endpoint kube-api-content-type kube-reserved kube-reserved-cgroup kubeconfig kubelet-cgroups lock-file
 logging-format manifest-url manifest-url-header node-ip node-labels pod-cidr pod-infra-container-image pod-manifest-path
 provider-id qos-reserved register-with-taints reserved-cpus reserved-memory resolv-conf root-dir runtime-cgroups
 system-cgroups system-reserved system-reserved-cgroup tls-cert-file tls-cipher-suites tls-min-version tls-private-key-file
 topology-manager-policy topology-manager-policy-options topology-manager-scope vmodule volume-plugin-dir
 log-json-info-buffer-size log-text-info-buffer-size event-storage-age-limit event-storage-event-limit storage-driver-db
 storage-driver-host storage-driver-password storage-driver-table storage-driver-user docker-root`
const INT_FLAGS = `container-log-max-files event-burst event-qps eviction-max-pod-grace-period healthz-port image-gc-high-threshold
 image-gc-low-threshold kube-api-burst kube-api-qps max-open-files max-pods maximum-dead-containers
 maximum-dead-containers-per-container node-status-max-images oom-score-adj pod-max-pids pods-per-core port read-only-port
 registry-burst registry-qps application-metrics-count-limit`
const BOOL_FLAGS = `anonymous-auth authentication-token-webhook cgroups-per-qos contention-profiling cpu-cfs-quota
 enable-controller-attach-detach enable-debugging-handlers enable-load-reader enable-server exit-on-lock-contention
 experimental-allocatable-ignore-eviction fail-swap-on help kernel-memcg-notification local-storage-capacity-isolation
 log-json-split-stream log-text-split-stream make-iptables-util-chains protect-kernel-defaults register-node
 register-schedulable rotate-certificates rotate-server-certificates runonce seccomp-default serialize-image-pulls
 storage-driver-secure`
const DURATION_FLAGS = `authentication-token-webhook-cache-ttl authorization-webhook-cache-authorized-ttl
 authorization-webhook-cache-unauthorized-ttl cpu-cfs-quota-period cpu-manager-reconcile-period eviction-pressure-transition-period
 file-check-frequency global-housekeeping-interval housekeeping-interval http-check-frequency log-flush-frequency
 minimum-container-ttl-duration minimum-image-ttl-duration node-status-update-frequency runtime-request-timeout
 streaming-connection-idle-timeout sync-frequency volume-stats-agg-period storage-driver-buffer-duration`

export const KUBELET_FLAGS: FlagSpec = {
  ...Object.fromEntries(STRING_FLAGS.split(/\s+/).filter(Boolean).map((f) => [f, 'string' as const])),
  ...Object.fromEntries(INT_FLAGS.split(/\s+/).filter(Boolean).map((f) => [f, 'string' as const])),
  ...Object.fromEntries(BOOL_FLAGS.split(/\s+/).filter(Boolean).map((f) => [f, 'bool' as const])),
  ...Object.fromEntries(DURATION_FLAGS.split(/\s+/).filter(Boolean).map((f) => [f, 'duration' as const])),
  version: 'string',
  v: 'int',
}

function klog(level: 'I' | 'W' | 'E', msg: string): void {
  const d = new Date()
  const ts = `${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')} ${d.toISOString().slice(11, 23)}`
  process.stderr.write(`${level}${ts} ${process.pid} kubelet-standin] ${msg}\n`)
}

function commandFailed(err: string): never {
  fail(`"command failed" err="${err.replace(/"/g, '\\"')}"`)
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2)
  // --version takes an optional value in the real kubelet (--version, --version=raw)
  const vIdx = argv.findIndex((a) => a === '--version' || a.startsWith('--version='))
  if (vIdx >= 0) {
    process.stdout.write(`Kubernetes ${binaryVersion()}\n`)
    return 0
  }
  let p
  try {
    p = parseFlags(argv, KUBELET_FLAGS, {h: 'help', v: 'v'})
  } catch (e) {
    commandFailed(`failed to parse kubelet flag: ${(e as Error).message}`)
  }
  if (bool(p, 'help')) {
    process.stdout.write('kubelet (metalplane stand-in): see test/standins/README.md\n')
    return 0
  }
  if (p.args.length) commandFailed(`unknown command ${JSON.stringify(p.args[0])} for "kubelet"`)
  for (const f of INT_FLAGS.split(/\s+/).filter(Boolean)) {
    const v = str(p, f)
    if (v !== undefined && !/^-?\d+(\.\d+)?$/.test(v)) commandFailed(`failed to parse kubelet flag: invalid argument "${v}" for "--${f}" flag: strconv.ParseInt: parsing "${v}": invalid syntax`)
  }

  // validateKubeletFlags: --node-labels may not set kubernetes.io / k8s.io labels outside the kubelet's own
  const labelsFlag = parseLabels(str(p, 'node-labels'))
  const ALLOWED_PREFIXES = ['kubelet.kubernetes.io', 'node.kubernetes.io']
  const ALLOWED = ['beta.kubernetes.io/arch', 'beta.kubernetes.io/instance-type', 'beta.kubernetes.io/os', 'failure-domain.beta.kubernetes.io/region', 'failure-domain.beta.kubernetes.io/zone', 'kubernetes.io/arch', 'kubernetes.io/hostname', 'kubernetes.io/os', 'node.kubernetes.io/instance-type', 'topology.kubernetes.io/region', 'topology.kubernetes.io/zone']
  const unknownLabels = Object.keys(labelsFlag).filter((k) => {
    const ns = k.includes('/') ? k.split('/')[0] : ''
    const isK8s = ns === 'kubernetes.io' || ns === 'k8s.io' || ns.endsWith('.kubernetes.io') || ns.endsWith('.k8s.io')
    return isK8s && !ALLOWED.includes(k) && !ALLOWED_PREFIXES.some((pre) => ns === pre || ns.endsWith(`.${pre}`))
  })
  if (unknownLabels.length)
    commandFailed(
      `failed to validate kubelet flags: unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: [${unknownLabels.sort().join(' ')}]\n--node-labels in the 'kubernetes.io' namespace must begin with an allowed prefix (${ALLOWED_PREFIXES.join(', ')}) or be in the specifically allowed set (${ALLOWED.join(', ')})`,
    )
  for (const [k, v] of Object.entries(labelsFlag))
    if (!/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(k) || !/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/.test(v))
      commandFailed(`failed to validate kubelet flags: invalid node labels: ${k}=${v}`)

  // ---- configuration file
  const configPath = str(p, 'config')
  let cfg: any = {}
  if (configPath) {
    if (!hostExists(configPath))
      commandFailed(`failed to load kubelet config file, path: ${configPath}, error: failed to load Kubelet config file ${configPath}, error failed to read kubelet config file "${configPath}", error: open ${configPath}: no such file or directory`)
    try {
      cfg = parseYaml(readHost(configPath), {uniqueKeys: true}) ?? {}
    } catch (e) {
      commandFailed(`failed to load kubelet config file, path: ${configPath}, error: ${(e as Error).message}`)
    }
    if (cfg.kind !== 'KubeletConfiguration' || cfg.apiVersion !== 'kubelet.config.k8s.io/v1beta1')
      commandFailed(`failed to load kubelet config file, path: ${configPath}, error: no kind "${cfg.kind}" is registered for version "${cfg.apiVersion}"`)
    const errs = check(cfg, kubeletConfiguration)
    if (errs.length)
      commandFailed(`failed to load kubelet config file, path: ${configPath}, error: failed to decode: strict decoding error: ${errs.map((e) => e.message).join(', ')}`)
  }

  // flags override config fields they mirror
  const criEndpoint = str(p, 'container-runtime-endpoint') || cfg.containerRuntimeEndpoint || 'unix:///run/containerd/containerd.sock'
  if (!/^unix:\/\/\//.test(criEndpoint)) commandFailed(`failed to run Kubelet: validate service connection: invalid endpoint "${criEndpoint}": must be unix:///path`)
  const cgroupDriver = str(p, 'cgroup-driver') ?? cfg.cgroupDriver ?? 'cgroupfs'
  if (!['systemd', 'cgroupfs'].includes(cgroupDriver)) commandFailed(`failed to run Kubelet: invalid configuration: cgroupDriver "${cgroupDriver}" must be systemd or cgroupfs`)
  const failSwapOn = p.flags['fail-swap-on'] !== undefined ? bool(p, 'fail-swap-on') : cfg.failSwapOn ?? true
  if (failSwapOn && swapOn())
    commandFailed('failed to run Kubelet: running with swap on is not supported, please disable swap or set --fail-swap-on flag to false')

  // ---- container runtime
  const sockErr = await probeSocket(criEndpoint)
  if (sockErr)
    commandFailed(`failed to run Kubelet: validate service connection: validate CRI v1 runtime API for endpoint "${criEndpoint}": rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: ${sockErr}"`)
  const sc = containerdSystemdCgroup()
  if ((cgroupDriver === 'systemd') !== sc.value)
    commandFailed(
      `failed to run Kubelet: misconfiguration: kubelet cgroup driver: "${cgroupDriver}" is different from containerd's (${sc.source}). ` +
        `Set the same driver in both (stand-in check: the real kubelet starts, then pods fail with cgroup errors)`,
    )

  const nodeName = (str(p, 'hostname-override') ?? nodeHostname()).toLowerCase()
  const staticPodPath = str(p, 'pod-manifest-path') ?? cfg.staticPodPath
  const stop: (() => Promise<void>)[] = []

  // ---- healthz (kubeadm's wait-for-kubelet polls it)
  const healthPort = Number(str(p, 'healthz-port') ?? cfg.healthzPort ?? 10248)
  const healthAddr = str(p, 'healthz-bind-address') ?? cfg.healthzBindAddress ?? '127.0.0.1'
  const health: Server = createServer((_q, r) => {
    r.writeHead(200, {'content-type': 'text/plain'})
    r.end('ok')
  })
  await new Promise<void>((resolve, reject) => {
    health.once('error', (e) => reject(new Error(`failed to listen on ${healthAddr}:${healthPort}: ${e.message}`)))
    health.listen(healthPort, healthAddr, () => resolve())
  }).catch((e) => commandFailed(`failed to run Kubelet: ${(e as Error).message}`))
  stop.push(() => new Promise((r) => health.close(() => r())))
  klog('I', `kubelet stand-in ${binaryVersion()} started: node=${nodeName} cgroupDriver=${cgroupDriver} cri=${criEndpoint}`)

  // ---- static pods
  const pods = new StaticPods(staticPodPath, nodeName)
  stop.push(() => pods.stopAll())

  // ---- API connection and node registration
  const kubeconfigPath = str(p, 'kubeconfig')
  const bootstrapPath = str(p, 'bootstrap-kubeconfig')
  const certDir = str(p, 'cert-dir') ?? '/var/lib/kubelet/pki'
  const labels = parseLabels(str(p, 'node-labels'))
  const taints = [...(cfg.registerWithTaints ?? []), ...parseTaints(str(p, 'register-with-taints'))]
  const nodeIP = str(p, 'node-ip') ?? defaultIP() ?? '127.0.0.1'

  let running = true
  const shutdown = async () => {
    if (!running) return
    running = false
    klog('I', 'shutting down')
    for (const s of stop.reverse()) await s().catch(() => undefined)
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown())
  process.on('SIGINT', () => void shutdown())

  let conn: Conn | undefined
  let registered = false
  let lastErr = ''
  while (running) {
    try {
      await pods.sync()
    } catch (e) {
      // a failing static pod never takes the kubelet down
      const m = `static pods: ${(e as Error).message}`
      if (m !== lastErr) klog('E', m)
      lastErr = m
    }
    try {
      if (!conn && kubeconfigPath && hostExists(kubeconfigPath)) conn = loadKubeconfig(kubeconfigPath)
      if (!conn && kubeconfigPath && bootstrapPath && hostExists(bootstrapPath)) conn = await tlsBootstrap(bootstrapPath, kubeconfigPath, certDir, nodeName)
      if (conn) {
        registered = await syncNode(conn, nodeName, nodeIP, labels, taints, registered)
        await pods.mirror(conn)
      }
      lastErr = ''
    } catch (e) {
      const m = (e as Error).message
      if (m !== lastErr) klog('E', m)
      lastErr = m
    }
    await sleep(1000)
  }
  return 0
}

function parseLabels(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const kv of (s ?? '').split(',').filter(Boolean)) {
    const [k, v = ''] = kv.split('=')
    out[k] = v
  }
  return out
}

function parseTaints(s: string | undefined): any[] {
  return (s ?? '')
    .split(',')
    .filter(Boolean)
    .map((t) => {
      const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(t)
      if (!m) commandFailed(`failed to parse kubelet flag: invalid argument "${t}" for "--register-with-taints" flag: invalid taint spec: ${t}`)
      return {key: m[1], ...(m[2] ? {value: m[2]} : {}), effect: m[3]}
    })
}

/** TLS bootstrap: CSR with the bootstrap token, wait for the signed certificate, write --kubeconfig. */
async function tlsBootstrap(bootstrapPath: string, kubeconfigPath: string, certDir: string, nodeName: string): Promise<Conn> {
  const boot = loadKubeconfig(bootstrapPath)
  const key = newKey()
  const csr = makeCsr(`system:node:${nodeName}`, ['system:nodes'], key)
  const name = `csr-${Math.random().toString(36).slice(2, 7)}`
  const r = await api(boot, 'POST', '/apis/certificates.k8s.io/v1/certificatesigningrequests', {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: {name},
    spec: {request: Buffer.from(csr).toString('base64'), signerName: 'kubernetes.io/kube-apiserver-client-kubelet', usages: ['digital signature', 'client auth']},
  })
  if (r.status !== 201) throw new Error(`failed to run Kubelet: unable to load bootstrap kubeconfig: cannot create certificate signing request: ${r.body?.message ?? r.status}`)
  const cert = Buffer.from(r.body?.status?.certificate ?? '', 'base64').toString()
  if (!cert) throw new Error('TLS bootstrap: the CSR was not signed')
  const pemPath = `${certDir}/kubelet-client-current.pem`
  writeHost(pemPath, cert + keyPem(key.privateKey), 0o600)
  const y = parseYaml(readHost(bootstrapPath))
  const cluster = y.clusters.find((c: any) => c.name === y.contexts.find((c: any) => c.name === y['current-context']).context.cluster)
  writeHost(
    kubeconfigPath,
    [
      'apiVersion: v1',
      'clusters:',
      '- cluster:',
      `    certificate-authority-data: ${cluster.cluster['certificate-authority-data']}`,
      `    server: ${cluster.cluster.server}`,
      `  name: ${cluster.name}`,
      'contexts:',
      '- context:',
      `    cluster: ${cluster.name}`,
      '    user: default-auth',
      '  name: default-context',
      'current-context: default-context',
      'kind: Config',
      'preferences: {}',
      'users:',
      '- name: default-auth',
      '  user:',
      `    client-certificate: ${pemPath}`,
      `    client-key: ${pemPath}`,
      '',
    ].join('\n'),
    0o600,
  )
  klog('I', `TLS bootstrap done: ${kubeconfigPath} written, client certificate ${pemPath}`)
  return loadKubeconfig(kubeconfigPath)
}

async function syncNode(conn: Conn, name: string, ip: string, labels: Record<string, string>, taints: any[], registered: boolean): Promise<boolean> {
  const cni = cniStatus()
  const now = new Date().toISOString()
  const status = {
    addresses: [
      {type: 'InternalIP', address: ip},
      {type: 'Hostname', address: name},
    ],
    capacity: {cpu: String(cpus().length), memory: `${Math.floor(totalmem() / 1024)}Ki`, pods: '110'},
    allocatable: {cpu: String(cpus().length), memory: `${Math.floor(totalmem() / 1024)}Ki`, pods: '110'},
    conditions: [
      {type: 'Ready', status: cni.ready ? 'True' : 'False', reason: cni.ready ? 'KubeletReady' : 'KubeletNotReady', message: cni.message, lastHeartbeatTime: now, lastTransitionTime: now},
    ],
    nodeInfo: {
      kubeletVersion: binaryVersion(),
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: 'amd64',
      containerRuntimeVersion: 'containerd://stand-in',
      kernelVersion: '',
      osImage: 'metalplane stand-in',
      machineID: '',
      systemUUID: '',
      bootID: '',
    },
  }
  if (!registered) {
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        labels: {'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': 'amd64', ...labels},
        annotations: {'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true'},
      },
      spec: taints.length ? {taints} : {},
      status,
    }
    const r = await api(conn, 'POST', '/api/v1/nodes', node)
    if (r.status === 201) klog('I', `Successfully registered node ${name}`)
    else if (r.status !== 409) throw new Error(`Unable to register node with API server: ${r.body?.message ?? r.status}`)
    return true
  }
  const r = await api(conn, 'GET', `/api/v1/nodes/${name}`)
  if (r.status === 404) return false // deleted (kubectl delete node): re-register like the real kubelet
  if (r.status !== 200) throw new Error(`Error updating node status: ${r.body?.message ?? r.status}`)
  const prev = r.body
  const prevReady = prev.status?.conditions?.find((c: any) => c.type === 'Ready')
  if (prevReady && prevReady.status === status.conditions[0].status) status.conditions[0].lastTransitionTime = prevReady.lastTransitionTime
  const u = await api(conn, 'PUT', `/api/v1/nodes/${name}/status`, {...prev, status: {...prev.status, ...status}})
  if (u.status !== 200) throw new Error(`Error updating node status: ${u.body?.message ?? u.status}`)
  return true
}

/** Static pods from --pod-manifest-path / staticPodPath. */
class StaticPods {
  private seen = new Map<string, string>() // file -> content
  private apiserver?: {content: string; server: Apiserver}
  private vip?: {address: string; iface: string; content: string} // address with prefix
  private mirrored = new Set<string>()
  constructor(
    private dir: string | undefined,
    private nodeName: string,
  ) {}

  private manifests(): Map<string, any> {
    const out = new Map<string, any>()
    if (!this.dir) return out
    let files: string[] = []
    try {
      files = readdirSync(hp(this.dir)).filter((f) => !f.startsWith('.') && /\.(ya?ml|json)$/.test(f))
    } catch {
      return out
    }
    for (const f of files) {
      const path = `${this.dir}/${f}`
      let text: string
      try {
        text = readHost(path)
      } catch {
        continue
      }
      let pod: any
      try {
        pod = parseYaml(text, {uniqueKeys: true})
      } catch (e) {
        this.once(path, text, `Could not process manifest file "${path}": ${(e as Error).message}`)
        continue
      }
      const errs = pod?.kind === 'Pod' && pod?.apiVersion === 'v1' ? check(pod, {k8s: 'V1Pod'}) : [{message: `kind ${pod?.kind} apiVersion ${pod?.apiVersion} is not a v1 Pod`}]
      if (errs.length) {
        this.once(path, text, `Could not process manifest file "${path}": invalid pod: ${errs.map((e) => e.message).join(', ')}`)
        continue
      }
      out.set(path, {pod, text})
    }
    return out
  }

  private once(path: string, text: string, msg: string): void {
    if (this.seen.get(path) !== text) klog('E', msg)
    this.seen.set(path, text)
  }

  async sync(): Promise<void> {
    const m = this.manifests()
    const find = (name: string) => [...m.values()].find((x) => x.pod.metadata?.name === name || (x.pod.spec?.containers ?? []).some((c: any) => c.name === name))
    // kube-apiserver
    const a = find('kube-apiserver')
    if (!a && this.apiserver) {
      await this.apiserver.server.close()
      this.apiserver = undefined
      klog('I', 'kube-apiserver static pod removed: apiserver stand-in stopped')
    }
    if (a && this.apiserver?.content !== a.text) {
      if (this.apiserver) await this.apiserver.server.close()
      this.apiserver = undefined
      try {
        const opts = optionsFromManifest(a.pod, binaryVersion())
        const server = new Apiserver(opts)
        await server.start()
        this.apiserver = {content: a.text, server}
        klog('I', `kube-apiserver stand-in serving on https://${opts.advertiseAddress}:${opts.securePort}`)
      } catch (e) {
        klog('E', `kube-apiserver stand-in failed to start: ${(e as Error).message}`)
      }
    }
    // kube-vip
    const v = find('kube-vip')
    if (!v && this.vip) await this.dropVip()
    if (v) await this.kubeVip(v.pod, v.text)
  }

  private async kubeVip(pod: any, text: string): Promise<void> {
    const c = pod.spec.containers.find((x: any) => x.name === 'kube-vip') ?? pod.spec.containers[0]
    const env: Record<string, string> = Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value]))
    const address = env.address ?? env.vip_address
    const iface = env.vip_interface
    const port = Number(env.port ?? 6443)
    const cidr = env.vip_cidr ?? '32'
    const problems: string[] = []
    if (!address) problems.push('env "address" (the VIP) is not set')
    if (!iface && env.vip_arp === 'true') problems.push('env "vip_interface" is not set')
    for (const vol of pod.spec.volumes ?? [])
      if (vol.hostPath?.path && /\.conf$/.test(vol.hostPath.path) && !hostExists(vol.hostPath.path))
        problems.push(`kubeconfig ${vol.hostPath.path} (hostPath volume "${vol.name}") does not exist`)
    if (problems.length) return this.once('kube-vip', text, `kube-vip stand-in: not starting: ${problems.join('; ')}`)
    if (underRoot()) return // tests: validated only
    if (this.vip?.content === text) return
    try {
      ipCmd('link', 'show', 'dev', iface)
    } catch {
      return this.once('kube-vip', text, `kube-vip stand-in: interface "${iface}" does not exist on this host`)
    }
    const have = ipCmd('-o', 'addr', 'show', 'dev', iface).includes(` ${address}/`)
    if (!have) {
      // leader election stand-in: take the VIP only when nobody answers on it
      const taken = await new Promise<boolean>((resolve) => {
        const s = connect({host: address, port, timeout: 700})
        s.once('connect', () => (s.destroy(), resolve(true)))
        s.once('timeout', () => (s.destroy(), resolve(false)))
        s.once('error', () => resolve(false))
      })
      if (taken) return
      try {
        ipCmd('addr', 'add', `${address}/${cidr}`, 'dev', iface)
      } catch (e) {
        const why = String((e as {stderr?: string}).stderr ?? (e as Error).message).trim()
        return this.once(
          'kube-vip',
          text + why,
          `kube-vip stand-in: cannot add VIP ${address}/${cidr} to ${iface}: ${why}` +
            (/not permitted/i.test(why) ? ' (kube-vip needs CAP_NET_ADMIN and CAP_NET_RAW on the host; systemd-nspawn grants them with --capability=CAP_NET_ADMIN,CAP_NET_RAW)' : ''),
        )
      }
      try {
        ipCmd('neigh', 'flush', 'dev', iface)
      } catch {
        // best effort
      }
      klog('I', `kube-vip stand-in: leader: added VIP ${address}/${cidr} to ${iface}`)
    }
    this.vip = {address: `${address}/${cidr}`, iface, content: text}
  }

  private async dropVip(): Promise<void> {
    if (!this.vip) return
    try {
      ipCmd('addr', 'del', this.vip.address, 'dev', this.vip.iface)
      klog('I', `kube-vip stand-in: removed VIP ${this.vip.address}`)
    } catch {
      // already gone
    }
    this.vip = undefined
  }

  /** Mirror pods, so `kubectl get pods -n kube-system` lists the static pods like on a real node. */
  async mirror(conn: Conn): Promise<void> {
    for (const {pod} of this.manifests().values()) {
      const name = `${pod.metadata.name}-${this.nodeName}`
      if (this.mirrored.has(name)) continue
      const ns = pod.metadata.namespace ?? 'default'
      const mirror = {
        ...pod,
        metadata: {...pod.metadata, name, namespace: ns, annotations: {...(pod.metadata.annotations ?? {}), 'kubernetes.io/config.mirror': 'stand-in', 'kubernetes.io/config.source': 'file'}},
        spec: {...pod.spec, nodeName: this.nodeName},
        status: {phase: 'Running', conditions: [{type: 'Ready', status: 'True'}]},
      }
      const r = await api(conn, 'POST', `/api/v1/namespaces/${ns}/pods`, mirror)
      if (r.status === 201 || r.status === 409) this.mirrored.add(name)
    }
  }

  async stopAll(): Promise<void> {
    if (this.apiserver) await this.apiserver.server.close()
    await this.dropVip()
  }
}

runMain('E run.go:72] ', main)
