import {stringify} from 'yaml'

/**
 * Typed builders for the Kubernetes objects the storage, GPU and CNI phases create. Field names
 * follow the Kubernetes API (core/v1, storage.k8s.io/v1, node.k8s.io/v1, apps/v1); the unit
 * tests check them against the API's field lists, so a typo is caught before a cluster sees it.
 */

export interface ObjectMeta {
  name: string
  namespace?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: ObjectMeta
  [key: string]: unknown
}

export interface NodeSelectorRequirement {
  key: string
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt'
  values?: string[]
}
export interface NodeSelector {
  nodeSelectorTerms: {matchExpressions?: NodeSelectorRequirement[]}[]
}

export interface Toleration {
  key?: string
  operator?: 'Exists' | 'Equal'
  value?: string
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute'
}

/** Labels every object we create carries, so `kubectl get -l` finds them. */
export const MANAGED_BY = {'app.kubernetes.io/managed-by': 'metalplane'}

export interface StorageClass extends KubeObject {
  apiVersion: 'storage.k8s.io/v1'
  kind: 'StorageClass'
  provisioner: string
  reclaimPolicy: 'Retain' | 'Delete'
  volumeBindingMode: 'Immediate' | 'WaitForFirstConsumer'
  allowVolumeExpansion?: boolean
}

/** StorageClass for statically created local PVs: no provisioner, bind when the pod is scheduled. */
export function localStorageClass(name: string, opts: {isDefault?: boolean} = {}): StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name,
      labels: {...MANAGED_BY},
      ...(opts.isDefault ? {annotations: {'storageclass.kubernetes.io/is-default-class': 'true'}} : {}),
    },
    provisioner: 'kubernetes.io/no-provisioner',
    reclaimPolicy: 'Retain',
    volumeBindingMode: 'WaitForFirstConsumer',
  }
}

export interface PersistentVolume extends KubeObject {
  apiVersion: 'v1'
  kind: 'PersistentVolume'
  spec: {
    capacity: {storage: string}
    volumeMode: 'Filesystem' | 'Block'
    accessModes: ('ReadWriteOnce' | 'ReadOnlyMany' | 'ReadWriteMany' | 'ReadWriteOncePod')[]
    persistentVolumeReclaimPolicy: 'Retain' | 'Delete' | 'Recycle'
    storageClassName: string
    local: {path: string; fsType?: string}
    nodeAffinity: {required: NodeSelector}
  }
}

export interface LocalPvInput {
  name: string
  node: string
  path: string
  /** Filesystem size in bytes. */
  bytes: number
  storageClass: string
  fsType?: string
  labels?: Record<string, string>
}

/** A local PersistentVolume pinned to one node by kubernetes.io/hostname. */
export function localPersistentVolume(v: LocalPvInput): PersistentVolume {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {name: v.name, labels: {...MANAGED_BY, ...v.labels}},
    spec: {
      capacity: {storage: String(v.bytes)},
      volumeMode: 'Filesystem',
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Retain',
      storageClassName: v.storageClass,
      local: {path: v.path, ...(v.fsType ? {fsType: v.fsType} : {})},
      nodeAffinity: {
        required: {nodeSelectorTerms: [{matchExpressions: [{key: 'kubernetes.io/hostname', operator: 'In', values: [v.node]}]}]},
      },
    },
  }
}

export interface RuntimeClass extends KubeObject {
  apiVersion: 'node.k8s.io/v1'
  kind: 'RuntimeClass'
  handler: string
  scheduling?: {nodeSelector?: Record<string, string>; tolerations?: Toleration[]}
}

export function runtimeClass(name: string, handler: string, nodeSelector?: Record<string, string>): RuntimeClass {
  return {
    apiVersion: 'node.k8s.io/v1',
    kind: 'RuntimeClass',
    metadata: {name, labels: {...MANAGED_BY}},
    handler,
    ...(nodeSelector ? {scheduling: {nodeSelector}} : {}),
  }
}

export interface DaemonSet extends KubeObject {
  apiVersion: 'apps/v1'
  kind: 'DaemonSet'
  spec: {
    selector: {matchLabels: Record<string, string>}
    updateStrategy: {type: 'RollingUpdate' | 'OnDelete'}
    template: {
      metadata: {labels: Record<string, string>}
      spec: Record<string, unknown>
    }
  }
}

export interface DevicePluginInput {
  version: string
  /** Nodes the plugin runs on (all must match). */
  nodeSelector: Record<string, string>
  /** Extra required node affinity, e.g. driver label NotIn [missing]. */
  requireNot?: {key: string; values: string[]}[]
  runtimeClassName?: string
  namespace?: string
}

export function devicePluginImage(version: string): string {
  return `nvcr.io/nvidia/k8s-device-plugin:${version.startsWith('v') ? version : `v${version}`}`
}

/** The NVIDIA device plugin DaemonSet (the shape of NVIDIA's static nvidia-device-plugin.yml, pinned). */
export function nvidiaDevicePlugin(p: DevicePluginInput): DaemonSet {
  const labels = {name: 'nvidia-device-plugin-ds'}
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {name: 'nvidia-device-plugin-daemonset', namespace: p.namespace ?? 'kube-system', labels: {...MANAGED_BY}},
    spec: {
      selector: {matchLabels: labels},
      updateStrategy: {type: 'RollingUpdate'},
      template: {
        metadata: {labels},
        spec: {
          nodeSelector: p.nodeSelector,
          ...(p.requireNot && p.requireNot.length > 0
            ? {
                affinity: {
                  nodeAffinity: {
                    requiredDuringSchedulingIgnoredDuringExecution: {
                      nodeSelectorTerms: [{matchExpressions: p.requireNot.map((r) => ({key: r.key, operator: 'NotIn', values: r.values}))}],
                    },
                  },
                },
              }
            : {}),
          tolerations: [
            {key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule'},
            {key: 'CriticalAddonsOnly', operator: 'Exists'},
          ],
          priorityClassName: 'system-node-critical',
          ...(p.runtimeClassName ? {runtimeClassName: p.runtimeClassName} : {}),
          containers: [
            {
              name: 'nvidia-device-plugin-ctr',
              image: devicePluginImage(p.version),
              env: [{name: 'FAIL_ON_INIT_ERROR', value: 'false'}],
              securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: ['ALL']}},
              volumeMounts: [{name: 'device-plugin', mountPath: '/var/lib/kubelet/device-plugins'}],
            },
          ],
          volumes: [{name: 'device-plugin', hostPath: {path: '/var/lib/kubelet/device-plugins'}}],
        },
      },
    },
  }
}

/** Multi-document YAML for kubectl (documents separated by ---). */
export function toYaml(docs: object[]): string {
  return docs.map((d) => stringify(d, {lineWidth: 0})).join('---\n')
}

/** A name usable as a Kubernetes object name (DNS-1123 subdomain, at most `max` characters). */
export function dnsName(raw: string, max = 63): string {
  let s = raw.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[^a-z0-9]+/, '').replace(/[^a-z0-9]+$/, '')
  if (s.length > max) {
    let h = 0
    for (const c of raw) h = (h * 31 + c.charCodeAt(0)) >>> 0
    const suffix = h.toString(16).padStart(8, '0')
    s = s.slice(0, max - 9).replace(/[^a-z0-9]+$/, '') + '-' + suffix
  }
  return s || 'x'
}

/** A valid label value (at most 63 of [A-Za-z0-9-_.], alphanumeric at both ends). */
export function labelValue(raw: string): string {
  return raw.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 63).replace(/[^A-Za-z0-9]+$/, '')
}
