import {z} from 'zod'
import {cidrContains, cidrsOverlap, isIPv4, isIPv6, parseCidr} from '../util/net.js'

export const API_VERSION = 'metalplane.io/v1alpha1'
/** Kubernetes minor versions this release knows how to install and upgrade. */
export const SUPPORTED_MINORS = [28, 29, 30, 31, 32, 33] as const

const hostname = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'a lowercase DNS label (a-z, 0-9, "-"), at most 63 characters')
const address = z
  .string()
  .min(1)
  .refine((v) => isIPv4(v) || isIPv6(v) || /^[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?$/.test(v), 'an IP address or hostname')
const cidr = z.string().refine((v) => parseCidr(v) !== undefined, 'a CIDR such as 10.244.0.0/16')
const labelKey = z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, 'a Kubernetes label key')

export const SshTarget = z
  .object({
    address,
    port: z.number().int().min(1).max(65535).default(22),
    user: z.string().min(1).default('root'),
    keyFile: z.string().min(1).optional(),
    /** Use the ssh-agent at $SSH_AUTH_SOCK. */
    agent: z.boolean().optional(),
  })
  .strict()

export const Taint = z
  .object({
    key: labelKey,
    value: z.string().optional(),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
  })
  .strict()

export const LocalVolume = z
  .object({
    /** A stable disk path, /dev/disk/by-id/... */
    disk: z.string().regex(/^\/dev\/disk\/by-(id|path|uuid)\/[^/]+$/, 'a stable path under /dev/disk/by-id/ (or by-path/by-uuid)'),
    /** Destroy partitions and filesystems already on the disk. */
    wipe: z.boolean().default(false),
    fsType: z.enum(['xfs', 'ext4']).optional(),
  })
  .strict()

export const Role = z.enum(['controller', 'worker', 'controller+worker'])

export const HostSpec = SshTarget.extend({
  name: hostname,
  role: Role,
  labels: z.record(labelKey, z.string().max(63)).default({}),
  taints: z.array(Taint).default([]),
  bastion: SshTarget.optional(),
  localVolumes: z.array(LocalVolume).default([]),
  gpu: z.enum(['auto', 'nvidia', 'none']).default('auto'),
  /** Interface that carries the node IP (and the VIP on controllers); defaults to the one with `address`. */
  interface: z.string().optional(),
}).strict()

const version = z.string().regex(/^v?\d+\.\d+\.\d+$/, 'a Kubernetes version such as 1.31.4')

export const ClusterSpec = z
  .object({
    apiVersion: z.literal(API_VERSION, {errorMap: () => ({message: `must be "${API_VERSION}"`})}),
    kind: z.literal('Cluster', {errorMap: () => ({message: 'must be "Cluster"'})}),
    metadata: z.object({name: hostname}).strict(),
    spec: z
      .object({
        kubernetes: z
          .object({
            version,
            clusterName: z.string().optional(),
          })
          .strict(),
        controlPlane: z
          .object({
            /** Virtual IP served by kube-vip in front of the API servers. */
            vip: z.string().refine((v) => isIPv4(v) || isIPv6(v), 'an IP address').optional(),
            port: z.number().int().min(1).max(65535).default(6443),
            certSANs: z.array(z.string()).default([]),
          })
          .strict()
          .default({}),
        network: z
          .object({
            podCIDR: cidr.default('10.244.0.0/16'),
            serviceCIDR: cidr.default('10.96.0.0/12'),
            cni: z.enum(['calico', 'cilium']).default('calico'),
          })
          .strict()
          .default({}),
        containerd: z
          .object({
            sandboxImage: z.string().optional(),
            /** registry host -> mirror endpoints, for air-gapped installs */
            registryMirrors: z.record(z.string(), z.array(z.string().url())).default({}),
          })
          .strict()
          .default({}),
        storage: z
          .object({
            storageClass: z.string().default('local-nvme'),
            mountRoot: z.string().regex(/^\/[^\0]*$/, 'an absolute path').default('/mnt/metalplane'),
            fsType: z.enum(['xfs', 'ext4']).default('xfs'),
          })
          .strict()
          .default({}),
        gpu: z
          .object({
            devicePluginVersion: z.string().default('v0.17.0'),
            /** Install nvidia-container-toolkit from the bundle/apt. */
            installToolkit: z.boolean().default(true),
          })
          .strict()
          .default({}),
        /** Local directory holding binaries and packages for air-gapped installs. */
        bundle: z.string().optional(),
        ssh: z
          .object({
            knownHosts: z.string().optional(),
            /** Parallel hosts per step. */
            concurrency: z.number().int().min(1).max(500).default(30),
            connectTimeoutSeconds: z.number().int().min(1).max(600).default(20),
          })
          .strict()
          .default({}),
        hosts: z.array(HostSpec).min(1, 'at least one host'),
      })
      .strict(),
  })
  .strict()


type Issue = {path: (string | number)[]; message: string}

/**
 * Checks across fields (duplicates, quorum, VIP and CIDRs). Runs on the raw document even when
 * the structure has errors, so every problem is reported in one go; it skips what it cannot read.
 */
export function crossCheck(raw: unknown): Issue[] {
  const issues: Issue[] = []
  const add = (path: (string | number)[], message: string) => issues.push({path, message})
  const s = (raw as {spec?: Record<string, any>} | undefined)?.spec
  if (!s || typeof s !== 'object') return issues
  const hosts: any[] = Array.isArray(s.hosts) ? s.hosts.filter((h: unknown) => h && typeof h === 'object') : []
  const str = (v: unknown): v is string => typeof v === 'string'
  const seenName = new Map<string, number>()
  const seenAddr = new Map<string, number>()
  hosts.forEach((h, i) => {
    if (str(h.name)) {
      const dup = seenName.get(h.name)
      if (dup === undefined) seenName.set(h.name, i)
      else add(['spec', 'hosts', i, 'name'], `duplicate host name "${h.name}" (also spec.hosts[${dup}])`)
    }
    if (str(h.address)) {
      const key = `${h.address}:${typeof h.port === 'number' ? h.port : 22}`
      const dup = seenAddr.get(key)
      if (dup === undefined) seenAddr.set(key, i)
      else add(['spec', 'hosts', i, 'address'], `duplicate address ${key} (also spec.hosts[${dup}])`)
    }
    if (Array.isArray(h.localVolumes)) {
      const disks = new Set<string>()
      h.localVolumes.forEach((v: any, j: number) => {
        if (!v || !str(v.disk)) return
        if (disks.has(v.disk)) add(['spec', 'hosts', i, 'localVolumes', j, 'disk'], `disk ${v.disk} listed twice`)
        disks.add(v.disk)
      })
    }
  })
  const roles = hosts.map((h) => h.role)
  if (hosts.length > 0 && roles.every((r) => ['controller', 'worker', 'controller+worker'].includes(r))) {
    const n = roles.filter((r) => r !== 'worker').length
    if (n === 0) add(['spec', 'hosts'], 'needs at least one host with role controller or controller+worker')
    if (n > 1 && n % 2 === 0) add(['spec', 'hosts'], `${n} controllers: etcd needs an odd number (1, 3, 5) to keep quorum`)
    if (n > 1 && !s.controlPlane?.vip) add(['spec', 'controlPlane', 'vip'], 'required with more than one controller (the API endpoint in front of them)')
  }
  const pod = str(s.network?.podCIDR) ? s.network.podCIDR : '10.244.0.0/16'
  const svc = str(s.network?.serviceCIDR) ? s.network.serviceCIDR : '10.96.0.0/12'
  if (parseCidr(pod) && parseCidr(svc) && cidrsOverlap(pod, svc)) add(['spec', 'network', 'serviceCIDR'], `overlaps podCIDR ${pod}`)
  const vip = s.controlPlane?.vip
  if (str(vip)) {
    if (cidrContains(pod, vip)) add(['spec', 'controlPlane', 'vip'], `${vip} is inside podCIDR ${pod}`)
    if (cidrContains(svc, vip)) add(['spec', 'controlPlane', 'vip'], `${vip} is inside serviceCIDR ${svc}`)
    hosts.forEach((h, i) => {
      if (h.address === vip) add(['spec', 'hosts', i, 'address'], `is the control-plane VIP ${vip}; the VIP must be a free address`)
    })
  }
  hosts.forEach((h, i) => {
    if (!str(h.address)) return
    if (cidrContains(pod, h.address)) add(['spec', 'hosts', i, 'address'], `${h.address} is inside podCIDR ${pod}`)
    else if (cidrContains(svc, h.address)) add(['spec', 'hosts', i, 'address'], `${h.address} is inside serviceCIDR ${svc}`)
  })
  const version = s.kubernetes?.version
  if (str(version) && /^v?\d+\.\d+\.\d+$/.test(version)) {
    const [major, minor] = version.replace(/^v/, '').split('.').map(Number)
    if (major !== 1 || !(SUPPORTED_MINORS as readonly number[]).includes(minor))
      add(['spec', 'kubernetes', 'version'], `${major}.${minor} is not supported; use 1.${SUPPORTED_MINORS[0]} to 1.${SUPPORTED_MINORS.at(-1)}`)
  }
  return issues
}

export type ClusterSpec = z.infer<typeof ClusterSpec>
export type HostSpec = z.infer<typeof HostSpec>
export type SshTarget = z.infer<typeof SshTarget>
export type Role = z.infer<typeof Role>

export function isController(h: {role: Role}): boolean {
  return h.role === 'controller' || h.role === 'controller+worker'
}
export function isWorker(h: {role: Role}): boolean {
  return h.role === 'worker' || h.role === 'controller+worker'
}
/** "1.31.4" (no leading v). */
export function kubeVersion(spec: ClusterSpec): string {
  return spec.spec.kubernetes.version.replace(/^v/, '')
}
