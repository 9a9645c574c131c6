// Regenerates k8s-types.json: the field/type map of the Kubernetes API kinds the apiserver
// stand-in accepts. Source: the OpenAPI-generated models of @kubernetes/client-node 2.0.1
// ("OpenAPI spec version: release-1.36", generated from kubernetes/kubernetes
// api/openapi-spec), read from each model's attributeTypeMap. Not a project dependency:
//   cd $(mktemp -d) && npm install --no-save @kubernetes/client-node@2.0.1 &&
//   node /path/to/gen-k8s-types.mjs ./node_modules/@kubernetes/client-node/dist/gen/models/all.js > k8s-types.json
import {pathToFileURL} from 'node:url'
import {resolve} from 'node:path'
const m = await import(pathToFileURL(resolve(process.argv[2])).href)
const roots = {
  Namespace: ['v1', 'V1Namespace', false], ServiceAccount: ['v1', 'V1ServiceAccount', true],
  ClusterRole: ['rbac.authorization.k8s.io/v1', 'V1ClusterRole', false], ClusterRoleBinding: ['rbac.authorization.k8s.io/v1', 'V1ClusterRoleBinding', false],
  Role: ['rbac.authorization.k8s.io/v1', 'V1Role', true], RoleBinding: ['rbac.authorization.k8s.io/v1', 'V1RoleBinding', true],
  ConfigMap: ['v1', 'V1ConfigMap', true], Secret: ['v1', 'V1Secret', true], Service: ['v1', 'V1Service', true],
  DaemonSet: ['apps/v1', 'V1DaemonSet', true], Deployment: ['apps/v1', 'V1Deployment', true], StatefulSet: ['apps/v1', 'V1StatefulSet', true],
  Job: ['batch/v1', 'V1Job', true],
  StorageClass: ['storage.k8s.io/v1', 'V1StorageClass', false], PersistentVolume: ['v1', 'V1PersistentVolume', false],
  PersistentVolumeClaim: ['v1', 'V1PersistentVolumeClaim', true], RuntimeClass: ['node.k8s.io/v1', 'V1RuntimeClass', false],
  CustomResourceDefinition: ['apiextensions.k8s.io/v1', 'V1CustomResourceDefinition', false], Node: ['v1', 'V1Node', false],
  Pod: ['v1', 'V1Pod', true], Lease: ['coordination.k8s.io/v1', 'V1Lease', true],
  ReplicaSet: ['apps/v1', 'V1ReplicaSet', true], CronJob: ['batch/v1', 'V1CronJob', true],
  Endpoints: ['v1', 'V1Endpoints', true], LimitRange: ['v1', 'V1LimitRange', true], ResourceQuota: ['v1', 'V1ResourceQuota', true],
  EndpointSlice: ['discovery.k8s.io/v1', 'V1EndpointSlice', true],
  PodDisruptionBudget: ['policy/v1', 'V1PodDisruptionBudget', true], PriorityClass: ['scheduling.k8s.io/v1', 'V1PriorityClass', false],
  NetworkPolicy: ['networking.k8s.io/v1', 'V1NetworkPolicy', true], Ingress: ['networking.k8s.io/v1', 'V1Ingress', true],
  IngressClass: ['networking.k8s.io/v1', 'V1IngressClass', false],
  MutatingWebhookConfiguration: ['admissionregistration.k8s.io/v1', 'V1MutatingWebhookConfiguration', false],
  ValidatingWebhookConfiguration: ['admissionregistration.k8s.io/v1', 'V1ValidatingWebhookConfiguration', false],
  CSIDriver: ['storage.k8s.io/v1', 'V1CSIDriver', false], CSINode: ['storage.k8s.io/v1', 'V1CSINode', false],
  VolumeAttachment: ['storage.k8s.io/v1', 'V1VolumeAttachment', false],
  HorizontalPodAutoscaler: ['autoscaling/v2', 'V2HorizontalPodAutoscaler', true],
  APIService: ['apiregistration.k8s.io/v1', 'V1APIService', false],
}
const types = {}
function walk(t) {
  let mm
  if ((mm = /^Array<(.+)>$/.exec(t))) return walk(mm[1])
  if ((mm = /^\{ \[key: string\]: (.+); \}$/.exec(t))) return walk(mm[1])
  if (!m[t] || !m[t].attributeTypeMap || types[t]) return
  types[t] = {}
  for (const a of m[t].attributeTypeMap) types[t][a.baseName] = a.type + (a.format ? '|' + a.format : '')
  for (const a of m[t].attributeTypeMap) walk(a.type)
}
for (const [, [, t]] of Object.entries(roots)) walk(t)
walk('V1EnvVar')
const kinds = Object.fromEntries(Object.entries(roots).map(([k, [apiVersion, type, namespaced]]) => [k, {apiVersion, type, namespaced}]))
process.stdout.write(JSON.stringify({source: '@kubernetes/client-node 2.0.1 models (OpenAPI release-1.36), see gen-k8s-types.mjs', kinds, types}, null, 1) + '\n')
