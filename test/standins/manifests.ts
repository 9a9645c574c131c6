// STAND-IN: the static pod manifests and kubelet files `kubeadm init/join` writes, shaped like
// kubeadm's (cmd/kubeadm/app/phases/controlplane/manifests.go, etcd/local.go, kubelet/flags.go).
import {stringify} from 'yaml'
import type {Arg} from './kubeadm-config.js'

export interface ClusterFacts {
  version: string // v1.31.2
  nodeName: string
  advertiseAddress: string
  bindPort: number
  controlPlaneEndpoint: string // host:port
  serviceSubnet: string
  podSubnet?: string
  dnsDomain: string
  clusterName: string
  certificatesDir: string
  imageRepository: string
  certSANs: string[]
  etcdDataDir: string
  externalEtcd?: {endpoints: string[]; caFile: string; certFile: string; keyFile: string}
  apiServerArgs: Arg[]
  controllerManagerArgs: Arg[]
  schedulerArgs: Arg[]
  etcdArgs: Arg[]
  extraVolumes: Record<string, any[]>
}

/** kubeadm's argument building: defaults sorted by name, then extra args override (same name replaces). */
function args(base: Record<string, string>, extra: Arg[]): string[] {
  const merged = new Map(Object.entries(base).sort(([a], [b]) => a.localeCompare(b)))
  for (const a of extra) merged.set(a.name, a.value)
  return [...merged].map(([k, v]) => `--${k}=${v}`)
}

function hostPathVol(name: string, path: string, type: string) {
  return {name, hostPath: {path, type}}
}

function pod(name: string, component: string, image: string, command: string[], mounts: {name: string; mountPath: string; readOnly?: boolean; hostPath: string; type: string}[], probe: any, priority = 'system-node-critical', annotations: Record<string, string> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {annotations, labels: {component, tier: 'control-plane'}, name, namespace: 'kube-system'},
    spec: {
      containers: [
        {
          command,
          image,
          imagePullPolicy: 'IfNotPresent',
          livenessProbe: probe,
          name,
          resources: {requests: {cpu: name === 'etcd' ? '100m' : name === 'kube-apiserver' ? '250m' : name === 'kube-controller-manager' ? '200m' : '100m', ...(name === 'etcd' ? {memory: '100Mi'} : {})}},
          volumeMounts: mounts.map((m) => ({mountPath: m.mountPath, name: m.name, ...(m.readOnly ? {readOnly: true} : {})})),
        },
      ],
      hostNetwork: true,
      priority: 2000001000,
      priorityClassName: priority,
      securityContext: {seccompProfile: {type: 'RuntimeDefault'}},
      volumes: mounts.map((m) => hostPathVol(m.name, m.hostPath, m.type)),
    },
    status: {},
  }
}

function probe(host: string, path: string, port: number, scheme: string) {
  return {failureThreshold: 8, httpGet: {host, path, port, scheme}, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 15}
}

function extraMounts(vols: any[] | undefined) {
  return (vols ?? []).map((v) => ({name: v.name, mountPath: v.mountPath, readOnly: v.readOnly, hostPath: v.hostPath, type: v.pathType ?? 'DirectoryOrCreate'}))
}

const CA_MOUNTS = [
  {name: 'ca-certs', mountPath: '/etc/ssl/certs', readOnly: true, hostPath: '/etc/ssl/certs', type: 'DirectoryOrCreate'},
  {name: 'etc-ca-certificates', mountPath: '/etc/ca-certificates', readOnly: true, hostPath: '/etc/ca-certificates', type: 'DirectoryOrCreate'},
  {name: 'usr-share-ca-certificates', mountPath: '/usr/share/ca-certificates', readOnly: true, hostPath: '/usr/share/ca-certificates', type: 'DirectoryOrCreate'},
]

export function staticPods(f: ClusterFacts): Record<string, string> {
  const pki = f.certificatesDir
  const img = (n: string) => `${f.imageRepository}/${n}:${f.version}`
  const etcdServers = f.externalEtcd ? f.externalEtcd.endpoints.join(',') : 'https://127.0.0.1:2379'
  const apiserver = pod(
    'kube-apiserver',
    'kube-apiserver',
    img('kube-apiserver'),
    [
      'kube-apiserver',
      ...args(
        {
          'advertise-address': f.advertiseAddress,
          'allow-privileged': 'true',
          'authorization-mode': 'Node,RBAC',
          'client-ca-file': `${pki}/ca.crt`,
          'enable-admission-plugins': 'NodeRestriction',
          'enable-bootstrap-token-auth': 'true',
          'etcd-cafile': f.externalEtcd?.caFile ?? `${pki}/etcd/ca.crt`,
          'etcd-certfile': f.externalEtcd?.certFile ?? `${pki}/apiserver-etcd-client.crt`,
          'etcd-keyfile': f.externalEtcd?.keyFile ?? `${pki}/apiserver-etcd-client.key`,
          'etcd-servers': etcdServers,
          'kubelet-client-certificate': `${pki}/apiserver-kubelet-client.crt`,
          'kubelet-client-key': `${pki}/apiserver-kubelet-client.key`,
          'kubelet-preferred-address-types': 'InternalIP,ExternalIP,Hostname',
          'proxy-client-cert-file': `${pki}/front-proxy-client.crt`,
          'proxy-client-key-file': `${pki}/front-proxy-client.key`,
          'requestheader-allowed-names': 'front-proxy-client',
          'requestheader-client-ca-file': `${pki}/front-proxy-ca.crt`,
          'requestheader-extra-headers-prefix': 'X-Remote-Extra-',
          'requestheader-group-headers': 'X-Remote-Group',
          'requestheader-username-headers': 'X-Remote-User',
          'secure-port': String(f.bindPort),
          'service-account-issuer': `https://kubernetes.default.svc.${f.dnsDomain}`,
          'service-account-key-file': `${pki}/sa.pub`,
          'service-account-signing-key-file': `${pki}/sa.key`,
          'service-cluster-ip-range': f.serviceSubnet,
          'tls-cert-file': `${pki}/apiserver.crt`,
          'tls-private-key-file': `${pki}/apiserver.key`,
        },
        f.apiServerArgs,
      ),
    ],
    [...CA_MOUNTS, {name: 'k8s-certs', mountPath: pki, readOnly: true, hostPath: pki, type: 'DirectoryOrCreate'}, ...extraMounts(f.extraVolumes.apiServer)],
    probe(f.advertiseAddress, '/livez', f.bindPort, 'HTTPS'),
    'system-node-critical',
    {'kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint': `${f.advertiseAddress}:${f.bindPort}`},
  )
  const cm = pod(
    'kube-controller-manager',
    'kube-controller-manager',
    img('kube-controller-manager'),
    [
      'kube-controller-manager',
      ...args(
        {
          'authentication-kubeconfig': '/etc/kubernetes/controller-manager.conf',
          'authorization-kubeconfig': '/etc/kubernetes/controller-manager.conf',
          'bind-address': '127.0.0.1',
          'client-ca-file': `${pki}/ca.crt`,
          'cluster-name': f.clusterName,
          'cluster-signing-cert-file': `${pki}/ca.crt`,
          'cluster-signing-key-file': `${pki}/ca.key`,
          controllers: '*,bootstrapsigner,tokencleaner',
          kubeconfig: '/etc/kubernetes/controller-manager.conf',
          'leader-elect': 'true',
          'requestheader-client-ca-file': `${pki}/front-proxy-ca.crt`,
          'root-ca-file': `${pki}/ca.crt`,
          'service-account-private-key-file': `${pki}/sa.key`,
          'use-service-account-credentials': 'true',
          ...(f.podSubnet ? {'allocate-node-cidrs': 'true', 'cluster-cidr': f.podSubnet} : {}),
          'service-cluster-ip-range': f.serviceSubnet,
        },
        f.controllerManagerArgs,
      ),
    ],
    [
      ...CA_MOUNTS,
      {name: 'flexvolume-dir', mountPath: '/usr/libexec/kubernetes/kubelet-plugins/volume/exec', hostPath: '/usr/libexec/kubernetes/kubelet-plugins/volume/exec', type: 'DirectoryOrCreate'},
      {name: 'k8s-certs', mountPath: pki, readOnly: true, hostPath: pki, type: 'DirectoryOrCreate'},
      {name: 'kubeconfig', mountPath: '/etc/kubernetes/controller-manager.conf', readOnly: true, hostPath: '/etc/kubernetes/controller-manager.conf', type: 'FileOrCreate'},
      ...extraMounts(f.extraVolumes.controllerManager),
    ],
    probe('127.0.0.1', '/healthz', 10257, 'HTTPS'),
  )
  const sched = pod(
    'kube-scheduler',
    'kube-scheduler',
    img('kube-scheduler'),
    [
      'kube-scheduler',
      ...args(
        {
          'authentication-kubeconfig': '/etc/kubernetes/scheduler.conf',
          'authorization-kubeconfig': '/etc/kubernetes/scheduler.conf',
          'bind-address': '127.0.0.1',
          kubeconfig: '/etc/kubernetes/scheduler.conf',
          'leader-elect': 'true',
        },
        f.schedulerArgs,
      ),
    ],
    [{name: 'kubeconfig', mountPath: '/etc/kubernetes/scheduler.conf', readOnly: true, hostPath: '/etc/kubernetes/scheduler.conf', type: 'FileOrCreate'}, ...extraMounts(f.extraVolumes.scheduler)],
    probe('127.0.0.1', '/healthz', 10259, 'HTTPS'),
  )
  const out: Record<string, string> = {
    'kube-apiserver.yaml': stringify(apiserver),
    'kube-controller-manager.yaml': stringify(cm),
    'kube-scheduler.yaml': stringify(sched),
  }
  if (!f.externalEtcd) {
    const a = f.advertiseAddress
    const etcd = pod(
      'etcd',
      'etcd',
      `${f.imageRepository}/etcd:3.5.15-0`,
      [
        'etcd',
        ...args(
          {
            'advertise-client-urls': `https://${a}:2379`,
            'cert-file': `${pki}/etcd/server.crt`,
            'client-cert-auth': 'true',
            'data-dir': f.etcdDataDir,
            'experimental-initial-corrupt-check': 'true',
            'experimental-watch-progress-notify-interval': '5s',
            'initial-advertise-peer-urls': `https://${a}:2380`,
            'initial-cluster': `${f.nodeName}=https://${a}:2380`,
            'key-file': `${pki}/etcd/server.key`,
            'listen-client-urls': `https://127.0.0.1:2379,https://${a}:2379`,
            'listen-metrics-urls': 'http://127.0.0.1:2381',
            'listen-peer-urls': `https://${a}:2380`,
            name: f.nodeName,
            'peer-cert-file': `${pki}/etcd/peer.crt`,
            'peer-client-cert-auth': 'true',
            'peer-key-file': `${pki}/etcd/peer.key`,
            'peer-trusted-ca-file': `${pki}/etcd/ca.crt`,
            'snapshot-count': '10000',
            'trusted-ca-file': `${pki}/etcd/ca.crt`,
          },
          f.etcdArgs,
        ),
      ],
      [
        {name: 'etcd-data', mountPath: f.etcdDataDir, hostPath: f.etcdDataDir, type: 'DirectoryOrCreate'},
        {name: 'etcd-certs', mountPath: `${pki}/etcd`, hostPath: `${pki}/etcd`, type: 'DirectoryOrCreate'},
      ],
      probe('127.0.0.1', '/livez', 2381, 'HTTP'),
      'system-node-critical',
      {'kubeadm.kubernetes.io/etcd.advertise-client-urls': `https://${a}:2379`},
    )
    out['etcd.yaml'] = stringify(etcd)
  }
  return out
}

/** The KubeletConfiguration kubeadm writes to /var/lib/kubelet/config.yaml: its defaults under the user's document. */
export function kubeletConfig(user: any, f: {clusterDNS: string; dnsDomain: string; certificatesDir: string}): any {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    authentication: {anonymous: {enabled: false}, webhook: {cacheTTL: '0s', enabled: true}, x509: {clientCAFile: `${f.certificatesDir}/ca.crt`}},
    authorization: {mode: 'Webhook', webhook: {cacheAuthorizedTTL: '0s', cacheUnauthorizedTTL: '0s'}},
    cgroupDriver: 'systemd',
    clusterDNS: [f.clusterDNS],
    clusterDomain: f.dnsDomain,
    cpuManagerReconcilePeriod: '0s',
    evictionPressureTransitionPeriod: '0s',
    fileCheckFrequency: '0s',
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    httpCheckFrequency: '0s',
    imageMaximumGCAge: '0s',
    imageMinimumGCAge: '0s',
    logging: {flushFrequency: 0, options: {json: {infoBufferSize: '0'}, text: {infoBufferSize: '0'}}, verbosity: 0},
    memorySwap: {},
    nodeStatusReportFrequency: '0s',
    nodeStatusUpdateFrequency: '0s',
    rotateCertificates: true,
    runtimeRequestTimeout: '0s',
    shutdownGracePeriod: '0s',
    shutdownGracePeriodCriticalPods: '0s',
    staticPodPath: '/etc/kubernetes/manifests',
    streamingConnectionIdleTimeout: '0s',
    syncFrequency: '0s',
    volumeStatsAggPeriod: '0s',
    ...(user ?? {}),
  }
}

/** /var/lib/kubelet/kubeadm-flags.env */
export function kubeletFlagsEnv(criSocket: string, nodeName: string, hostName: string, extra: Arg[], registerTaints?: any[]): string {
  const base = new Map<string, string>([['container-runtime-endpoint', criSocket]])
  if (nodeName !== hostName) base.set('hostname-override', nodeName)
  // kubeadm join registers taints through the kubelet flag; init applies them in mark-control-plane
  if (registerTaints?.length) base.set('register-with-taints', registerTaints.map((t) => `${t.key}${t.value ? '=' + t.value : ''}:${t.effect}`).join(','))
  for (const a of extra) base.set(a.name, a.value)
  return `KUBELET_KUBEADM_ARGS="${[...base].map(([k, v]) => `--${k}=${v}`).join(' ')}"\n`
}
