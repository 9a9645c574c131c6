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
  .superRefine((c, ctx) => {
    const hosts = c.spec.hosts
    const seenName = new Map<string, number>()
    const seenAddr = new Map<string, number>()
    hosts.forEach((h, i) => {
      const dupN = seenName.get(h.name)
      if (dupN !== undefined) ctx.addIssue({code: 'custom', path: ['spec', 'hosts', i, 'name'], message: `duplicate host name "${h.name}" (also spec.hosts[${dupN}])`})
      else seenName.set(h.name, i)
      const key = `${h.address}:${h.port}`
      const dupA = seenAddr.get(key)
      if (dupA !== undefined) ctx.addIssue({code: 'custom', path: ['spec', 'hosts', i, 'address'], message: `duplicate address ${key} (also spec.hosts[${dupA}])`})
      else seenAddr.set(key, i)
      const disks = new Set<string>()
      h.localVolumes.forEach((v, j) => {
        if (disks.has(v.disk)) ctx.addIssue({code: 'custom', path: ['spec', 'hosts', i, 'localVolumes', j, 'disk'], message: `disk ${v.disk} listed twice`})
        disks.add(v.disk)
      })
      if (!h.keyFile && !h.agent) {
        // fine: defaults to ~/.ssh/id_* and the agent when present; checked at connect time
      }
    })
    const controllers = hosts.filter((h) => h.role !== 'worker')
    if (controllers.length === 0) ctx.addIssue({code: 'custom', path: ['spec', 'hosts'], message: 'needs at least one host with role controller or controller+worker'})
    if (controllers.length > 1 && controllers.length % 2 === 0)
      ctx.addIssue({code: 'custom', path: ['spec', 'hosts'], message: `${controllers.length} controllers: etcd needs an odd number (1, 3, 5) to keep quorum`})
    const net = c.spec.network
    if (cidrsOverlap(net.podCIDR, net.serviceCIDR)) ctx.addIssue({code: 'custom', path: ['spec', 'network', 'serviceCIDR'], message: `overlaps podCIDR ${net.podCIDR}`})
    const vip = c.spec.controlPlane.vip
    if (controllers.length > 1 && !vip) ctx.addIssue({code: 'custom', path: ['spec', 'controlPlane', 'vip'], message: 'required with more than one controller (the API endpoint in front of them)'})
    if (vip) {
      if (cidrContains(net.podCIDR, vip)) ctx.addIssue({code: 'custom', path: ['spec', 'controlPlane', 'vip'], message: `${vip} is inside podCIDR ${net.podCIDR}`})
      if (cidrContains(net.serviceCIDR, vip)) ctx.addIssue({code: 'custom', path: ['spec', 'controlPlane', 'vip'], message: `${vip} is inside serviceCIDR ${net.serviceCIDR}`})
      hosts.forEach((h, i) => {
        if (h.address === vip) ctx.addIssue({code: 'custom', path: ['spec', 'hosts', i, 'address'], message: `is the control-plane VIP ${vip}; the VIP must be a free address`})
      })
    }
    hosts.forEach((h, i) => {
      for (const cidrName of ['podCIDR', 'serviceCIDR'] as const)
        if (cidrContains(net[cidrName], h.address)) ctx.addIssue({code: 'custom', path: ['spec', 'hosts', i, 'address'], message: `${h.address} is inside ${cidrName} ${net[cidrName]}`})
    })
    const minor = Number(c.spec.kubernetes.version.replace(/^v/, '').split('.')[1])
    if (!(SUPPORTED_MINORS as readonly number[]).includes(minor))
      ctx.addIssue({code: 'custom', path: ['spec', 'kubernetes', 'version'], message: `1.${minor} is not supported; use 1.${SUPPORTED_MINORS[0]} to 1.${SUPPORTED_MINORS.at(-1)}`})
  })

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
