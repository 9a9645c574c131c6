import {createHash, randomBytes, X509Certificate} from 'node:crypto'
import type {Host} from '../hosts/host.js'
import {render} from '../render/index.js'
import {isController, isWorker, kubeVersion, type ClusterSpec, type HostSpec} from '../spec/schema.js'
import {isIPv4, isIPv6} from '../util/net.js'
import type {NodeFacts} from './facts.js'

export const CRI_SOCKET = 'unix:///var/run/containerd/containerd.sock'
export const IMAGE_REPOSITORY = 'registry.k8s.io'
export const BIN_DIR = '/usr/local/bin'
export const KUBE_VIP_VERSION = 'v0.8.9'
export const KUBE_VIP_IMAGE = `ghcr.io/kube-vip/kube-vip:${KUBE_VIP_VERSION}`

export function minorOf(spec: ClusterSpec): number {
  return Number(kubeVersion(spec).split('.')[1])
}

/**
 * kubeadm's config API: v1beta4 from Kubernetes 1.31 (where kubeadm introduced it and made it
 * the version it writes), v1beta3 before. v1beta4 turns every extraArgs map into a list of
 * {name, value} (duplicates allowed).
 */
export function kubeadmApiVersion(spec: ClusterSpec): 'v1beta3' | 'v1beta4' {
  return minorOf(spec) >= 31 ? 'v1beta4' : 'v1beta3'
}

/** The pause image kubeadm of that minor expects (kubeadm config images list). */
export function defaultSandboxImage(spec: ClusterSpec): string {
  return `${IMAGE_REPOSITORY}/pause:${minorOf(spec) >= 31 ? '3.10' : '3.9'}`
}

export function hostPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`
}

export function firstControllerSpec(spec: ClusterSpec): HostSpec {
  const c = spec.spec.hosts.find((h) => isController(h))
  if (!c) throw new Error('the spec has no controller')
  return c
}

/** The API endpoint every node uses: the VIP, or the first controller when there is none. */
export function controlPlaneEndpoint(spec: ClusterSpec): string {
  const cp = spec.spec.controlPlane
  return hostPort(cp.vip ?? firstControllerSpec(spec).address, cp.port)
}

/**
 * Cgroup driver for containerd (SystemdCgroup) and the kubelet (cgroupDriver); they must match.
 * Decision: the systemd driver whenever systemd is PID 1, on cgroup v1 (hybrid) and v2 alike
 * (kubeadm's default since 1.22 and what Kubernetes recommends on systemd hosts: one cgroup
 * manager, not two); cgroupfs only on hosts without systemd (which preflight refuses anyway).
 */
export function cgroupDriver(f: Pick<NodeFacts, 'systemd' | 'cgroupVersion'>): {driver: 'systemd' | 'cgroupfs'; reason: string} {
  if (f.systemd) return {driver: 'systemd', reason: `systemd is PID 1 (cgroup ${f.cgroupVersion}): systemd cgroup driver, as the kubelet`}
  return {driver: 'cgroupfs', reason: `no systemd as PID 1 (cgroup ${f.cgroupVersion}): cgroupfs driver, as the kubelet`}
}

const q = (s: string) => JSON.stringify(s)

const CONTROL_PLANE_TAINT = {key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule'}
/** Label keys the kubelet may not set on itself (NodeRestriction). */
/** Well-known kubernetes.io labels the kubelet may set (kubelet's IsKubeletLabel). */
const KUBELET_LABELS = new Set([
  'kubernetes.io/hostname',
  'kubernetes.io/os',
  'kubernetes.io/arch',
  'topology.kubernetes.io/region',
  'topology.kubernetes.io/zone',
  'node.kubernetes.io/instance-type',
])
export function kubeletMaySet(key: string): boolean {
  if (KUBELET_LABELS.has(key)) return true
  const prefix = key.includes('/') ? key.split('/')[0] : ''
  if (!/(^|\.)(kubernetes\.io|k8s\.io)$/.test(prefix)) return true
  return /(^|\.)(kubelet|node)\.kubernetes\.io$/.test(prefix)
}

function nodeIP(h: HostSpec): string | undefined {
  return isIPv4(h.address) || isIPv6(h.address) ? h.address : undefined
}

function nodeRegistration(h: HostSpec) {
  const taints = [...(h.role === 'controller' ? [CONTROL_PLANE_TAINT] : []), ...h.taints].map((t) => ({
    key: q(t.key),
    value: (t as {value?: string}).value ? q((t as {value?: string}).value!) : '',
    effect: t.effect,
  }))
  const args: {name: string; value: string}[] = []
  const ip = nodeIP(h)
  if (ip) args.push({name: 'node-ip', value: q(ip)})
  const labels = Object.entries(h.labels).filter(([k]) => kubeletMaySet(k))
  if (labels.length > 0) args.push({name: 'node-labels', value: q(labels.map(([k, v]) => `${k}=${v}`).join(','))})
  return {nodeName: q(h.name), criSocket: q(CRI_SOCKET), taints, kubeletExtraArgs: args}
}

export interface InitSecrets {
  token: string
  certificateKey: string
}

export function renderInitConfig(spec: ClusterSpec, h: HostSpec, secrets: InitSecrets, driver: 'systemd' | 'cgroupfs'): string {
  const cp = spec.spec.controlPlane
  const sans = [...new Set([...(cp.vip ? [cp.vip] : []), ...cp.certSANs])]
  return render(`kubeadm/init-${kubeadmApiVersion(spec)}.yaml`, {
    kubernetesVersion: `v${kubeVersion(spec)}`,
    token: q(secrets.token),
    certificateKey: q(secrets.certificateKey),
    advertiseAddress: q(nodeIP(h) ?? '0.0.0.0'),
    bindPort: cp.port,
    ...nodeRegistration(h),
    clusterName: q(spec.spec.kubernetes.clusterName ?? spec.metadata.name),
    controlPlaneEndpoint: q(controlPlaneEndpoint(spec)),
    imageRepository: IMAGE_REPOSITORY,
    podSubnet: q(spec.spec.network.podCIDR),
    serviceSubnet: q(spec.spec.network.serviceCIDR),
    certSANs: sans.map(q),
    cgroupDriver: driver,
  })
}

export interface JoinSecrets {
  token: string
  caCertHash: string
  /** Only for controllers. */
  certificateKey?: string
}

export function renderJoinConfig(spec: ClusterSpec, h: HostSpec, secrets: JoinSecrets): string {
  const controlPlane = isController(h)
  if (controlPlane && !secrets.certificateKey) throw new Error(`joining controller ${h.name} needs the certificate key`)
  return render(`kubeadm/join-${kubeadmApiVersion(spec)}.yaml`, {
    kubernetesVersion: `v${kubeVersion(spec)}`,
    controlPlaneEndpoint: q(controlPlaneEndpoint(spec)),
    token: q(secrets.token),
    caCertHash: q(secrets.caCertHash),
    ...nodeRegistration(h),
    controlPlane,
    advertiseAddress: q(nodeIP(h) ?? '0.0.0.0'),
    bindPort: spec.spec.controlPlane.port,
    certificateKey: q(secrets.certificateKey ?? ''),
  })
}

export function renderUploadCertsConfig(spec: ClusterSpec, certificateKey: string): string {
  return render(`kubeadm/upload-certs-${kubeadmApiVersion(spec)}.yaml`, {
    kubernetesVersion: `v${kubeVersion(spec)}`,
    certificateKey: q(certificateKey),
    criSocket: q(CRI_SOCKET),
    controlPlaneEndpoint: q(controlPlaneEndpoint(spec)),
  })
}

/** A bootstrap token in kubeadm's format [a-z0-9]{6}.[a-z0-9]{16}. */
export function generateToken(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
  const pick = (n: number) => Array.from(randomBytes(n), (b) => alphabet[b % 36]).join('')
  return `${pick(6)}.${pick(16)}`
}

/** 32 random bytes, hex: the key kubeadm encrypts the uploaded control-plane certificates with. */
export function generateCertificateKey(): string {
  return randomBytes(32).toString('hex')
}

/** "sha256:<hex>" of the CA's Subject Public Key Info, as kubeadm's --discovery-token-ca-cert-hash. */
export function caCertHash(caPem: string): string {
  const der = new X509Certificate(caPem).publicKey.export({type: 'spki', format: 'der'})
  return 'sha256:' + createHash('sha256').update(der).digest('hex')
}

export function vipInterface(host: Host, f: NodeFacts): string {
  const i = host.spec.interface ?? f.defaultInterface
  if (!i) throw new Error(`cannot tell which interface carries the VIP on ${host.name}: set spec.hosts[].interface for it`)
  return i
}

/**
 * kube-vip static pod. During `kubeadm init` on Kubernetes >= 1.29 admin.conf has no rights
 * until init finishes, so the first controller's pod uses super-admin.conf then; afterwards
 * (and on joined controllers) admin.conf.
 */
export function renderKubeVip(spec: ClusterSpec, iface: string, duringInit: boolean): string {
  const vip = spec.spec.controlPlane.vip
  if (!vip) throw new Error('no controlPlane.vip in the spec')
  const superAdmin = duringInit && minorOf(spec) >= 29
  return render('manifests/kube-vip.yaml', {
    version: KUBE_VIP_VERSION,
    image: KUBE_VIP_IMAGE,
    vip,
    vipCidr: isIPv6(vip) ? '128' : '32',
    port: spec.spec.controlPlane.port,
    interface: iface,
    kubeconfigPath: superAdmin ? '/etc/kubernetes/super-admin.conf' : '/etc/kubernetes/admin.conf',
    kubeconfigReason: superAdmin
      ? 'super-admin.conf while kubeadm init runs (admin.conf has no rights before init ends)'
      : 'admin.conf of this controller',
  })
}

export {isController, isWorker}
