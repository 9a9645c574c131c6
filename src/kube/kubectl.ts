import type {Host} from '../hosts/host.js'
import {shq} from '../hosts/executor.js'
import {MetalplaneError} from '../errors.js'
import {toYaml} from './objects.js'

/** kubeconfig kubeadm writes on every controller. */
export const ADMIN_KUBECONFIG = '/etc/kubernetes/admin.conf'

export function kubectlCmd(args: string): string {
  return `kubectl --kubeconfig ${ADMIN_KUBECONFIG} ${args}`
}

/** The controller the cluster-wide objects are applied through: the first controller of the spec. */
export function firstController(hosts: Host[]): Host {
  const c = hosts.find((h) => h.isController)
  if (!c) throw new MetalplaneError('the spec has no controller to apply Kubernetes objects through', {code: 'NO_CONTROLLER'})
  return c
}

export interface ApplyOptions {
  /** `kubectl apply --server-side` (needed for big CRDs: client-side apply stores the whole object in an annotation limited to 256 KiB). */
  serverSide?: boolean
}

function applyArgs(o: ApplyOptions): string {
  return o.serverSide ? 'apply --server-side --force-conflicts --field-manager=metalplane -f -' : 'apply -f -'
}

/** Apply objects (or a YAML text) on `host` with kubectl; idempotent like kubectl apply. */
export async function kubectlApply(host: Host, docs: object[] | string, opts: ApplyOptions = {}): Promise<string> {
  const input = typeof docs === 'string' ? docs : toYaml(docs)
  const r = await host.exec(kubectlCmd(applyArgs(opts)), {input})
  return r.stdout
}

/**
 * True when applying `docs` would change nothing (kubectl diff: exit 0 = no differences,
 * 1 = differences, anything else = error). Objects that do not exist yet count as differences,
 * also where the server cannot dry-run them because what they need comes with the same documents:
 * their namespace (`namespaces "x" not found`) or their CRD (`no matches for kind`).
 */
export async function kubectlUpToDate(host: Host, docs: object[] | string, opts: ApplyOptions = {}): Promise<boolean> {
  const input = typeof docs === 'string' ? docs : toYaml(docs)
  const r = await host.exec(kubectlCmd(`diff ${opts.serverSide ? '--server-side --force-conflicts --field-manager=metalplane ' : ''}-f -`), {input, allowFail: true})
  if (r.code === 0) return true
  if (r.code === 1) return false
  if (/namespaces "[^"]+" not found|no matches for kind/.test(r.stderr)) return false
  throw new MetalplaneError(`${host.name}: kubectl diff failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}`, {code: 'KUBECTL'})
}

/** Set labels on a node (`kubectl label --overwrite`); a value of null removes the label. */
export async function labelNode(host: Host, node: string, labels: Record<string, string | null>): Promise<void> {
  const args = Object.entries(labels).map(([k, v]) => (v === null ? shq(`${k}-`) : shq(`${k}=${v}`)))
  if (args.length === 0) return
  await host.exec(kubectlCmd(`label node ${shq(node)} --overwrite ${args.join(' ')}`))
}

/** The labels a node has now ({} when the node is not registered yet). */
export async function nodeLabels(host: Host, node: string): Promise<Record<string, string> | undefined> {
  const r = await host.exec(kubectlCmd(`get node ${shq(node)} -o json`), {allowFail: true})
  if (r.code !== 0) return undefined
  return (JSON.parse(r.stdout) as {metadata?: {labels?: Record<string, string>}}).metadata?.labels ?? {}
}

/** Names of existing objects of a kind (cluster-scoped or in `namespace`) with a label selector. */
export async function existingNames(host: Host, kind: string, selector?: string, namespace?: string): Promise<Set<string>> {
  const ns = namespace ? `-n ${shq(namespace)} ` : ''
  const sel = selector ? `-l ${shq(selector)} ` : ''
  const r = await host.exec(kubectlCmd(`get ${shq(kind)} ${ns}${sel}-o name`), {allowFail: true})
  if (r.code !== 0) return new Set()
  return new Set(r.stdout.split('\n').map((l) => l.trim().replace(/^.*\//, '')).filter(Boolean))
}
