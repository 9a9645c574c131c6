import type {Phase, RunContext} from '../engine/phase.js'
import type {Host} from '../hosts/host.js'
import {shq} from '../hosts/executor.js'
import {apiHost, KUBECTL, selected} from './cluster.js'
import {kubeletMaySet} from './kubeadm-config.js'
import {change} from './util.js'

/** Spec labels the kubelet may not set on its own Node (NodeRestriction), e.g. node-role.kubernetes.io/*. */
export function apiOnlyLabels(h: Host): [string, string][] {
  return Object.entries(h.spec.labels).filter(([k]) => !kubeletMaySet(k))
}

async function current(ctx: RunContext, node: string): Promise<Record<string, string> | undefined> {
  const api = await apiHost(ctx)
  if (!api) return undefined
  const r = await api.exec(`${KUBECTL} get node ${shq(node)} -o jsonpath='{.metadata.labels}'`, {allowFail: true})
  try {
    return r.code === 0 ? (JSON.parse(r.stdout) as Record<string, string>) : undefined
  } catch {
    return undefined
  }
}

/**
 * Labels the kubelet cannot register itself get set through the API (kubectl label on a
 * controller) once the node has joined. Only labels from the spec are added or updated; labels
 * set by others are left alone.
 */
export const nodeLabelsPhase: Phase = {
  name: 'node-labels',
  title: 'Node labels the kubelet may not set (kubectl label)',
  targets: (ctx) => selected(ctx, ctx.hosts.filter((h) => apiOnlyLabels(h).length > 0)),
  async needsRun(ctx, host) {
    const have = await current(ctx, host.name)
    return !have || apiOnlyLabels(host).some(([k, v]) => have[k] !== v)
  },
  async run(ctx, host) {
    const labels = apiOnlyLabels(host)
    const api = ctx.dryRun ? undefined : await apiHost(ctx)
    await change(ctx, api ?? host, `kubectl label node ${host.name} ${labels.map(([k, v]) => `${k}=${v}`).join(' ')}`, `${KUBECTL} label node ${shq(host.name)} --overwrite ${labels.map(([k, v]) => shq(`${k}=${v}`)).join(' ')}`)
  },
}
