// STAND-IN resource table shared by the kube-apiserver and kubectl stand-ins: which kinds exist,
// their group/version, plural, scope, and REST paths.
import {k8sKinds} from './schema.js'

export interface ResourceInfo {
  group: string
  version: string
  kind: string
  plural: string
  namespaced: boolean
  shortNames: string[]
  /** a CustomResourceDefinition's openAPIV3Schema, for custom resources */
  crdSchema?: any
}

function plural(kind: string): string {
  const l = kind.toLowerCase()
  if (l === 'endpoints') return l
  if (l.endsWith('s')) return `${l}es`
  if (l.endsWith('y')) return `${l.slice(0, -1)}ies`
  return `${l}s`
}

const SHORT: Record<string, string[]> = {
  Namespace: ['ns'],
  ServiceAccount: ['sa'],
  ConfigMap: ['cm'],
  Service: ['svc'],
  DaemonSet: ['ds'],
  Deployment: ['deploy'],
  StatefulSet: ['sts'],
  StorageClass: ['sc'],
  PersistentVolume: ['pv'],
  PersistentVolumeClaim: ['pvc'],
  CustomResourceDefinition: ['crd', 'crds'],
  Node: ['no'],
  Pod: ['po'],
  CertificateSigningRequest: ['csr'],
  ReplicaSet: ['rs'],
  CronJob: ['cj'],
  Endpoints: ['ep'],
  LimitRange: ['limits'],
  ResourceQuota: ['quota'],
  PodDisruptionBudget: ['pdb'],
  PriorityClass: ['pc'],
  NetworkPolicy: ['netpol'],
  Ingress: ['ing'],
  HorizontalPodAutoscaler: ['hpa'],
}

export const BUILTIN: ResourceInfo[] = [
  ...Object.entries(k8sKinds).map(([kind, k]) => {
    const [group, version] = k.apiVersion.includes('/') ? k.apiVersion.split('/') : ['', k.apiVersion]
    return {group, version, kind, plural: plural(kind), namespaced: k.namespaced, shortNames: SHORT[kind] ?? []}
  }),
  {group: 'certificates.k8s.io', version: 'v1', kind: 'CertificateSigningRequest', plural: 'certificatesigningrequests', namespaced: false, shortNames: ['csr']},
]

export function apiVersionOf(r: ResourceInfo): string {
  return r.group ? `${r.group}/${r.version}` : r.version
}

export function findByKind(apiVersion: string, kind: string, extra: ResourceInfo[] = []): ResourceInfo | undefined {
  return [...BUILTIN, ...extra].find((r) => apiVersionOf(r) === apiVersion && r.kind === kind)
}

/** kubectl-style resource name resolution: "nodes", "node", "no", "ds", "daemonsets.apps", "runtimeclass". */
export function findByName(name: string, extra: ResourceInfo[] = []): ResourceInfo | undefined {
  const [n, ...groupParts] = name.toLowerCase().split('.')
  const group = groupParts.join('.')
  return [...BUILTIN, ...extra].find(
    (r) =>
      (group === '' || r.group === group) &&
      (r.plural === n || r.kind.toLowerCase() === n || r.shortNames.includes(n)),
  )
}

export function collectionPath(r: ResourceInfo, namespace?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`
  return r.namespaced && namespace ? `${base}/namespaces/${namespace}/${r.plural}` : `${base}/${r.plural}`
}

export function itemPath(r: ResourceInfo, name: string, namespace?: string): string {
  return `${collectionPath(r, namespace)}/${encodeURIComponent(name)}`
}

/** CustomResourceDefinition objects -> resources they serve. */
export function crdResources(crds: any[]): ResourceInfo[] {
  const out: ResourceInfo[] = []
  for (const crd of crds) {
    const s = crd.spec ?? {}
    for (const v of s.versions ?? [])
      if (v.served !== false)
        out.push({
          group: s.group,
          version: v.name,
          kind: s.names?.kind,
          plural: s.names?.plural,
          namespaced: s.scope === 'Namespaced',
          shortNames: [...(s.names?.shortNames ?? []), s.names?.singular].filter(Boolean),
          crdSchema: v.schema?.openAPIV3Schema,
        })
  }
  return out
}
