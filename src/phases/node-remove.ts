import type {Phase, RunContext} from '../engine/phase.js'
import type {Host} from '../hosts/host.js'
import {shq} from '../hosts/executor.js'
import {apiHost, KUBECTL} from './cluster.js'
import {resetNode, KUBE_STATE_PROBE} from './reset.js'
import {change, probe} from './util.js'

async function api(ctx: RunContext, node: string): Promise<Host> {
  const h = await apiHost(ctx, node)
  if (!h) throw new Error(`no other controller has /etc/kubernetes/admin.conf to remove ${node} through`)
  return h
}

async function nodeExists(ctx: RunContext, node: string): Promise<boolean> {
  return probe(await api(ctx, node), `${KUBECTL} get node ${shq(node)} -o name`)
}

/** Drain NAME (through another controller), kubeadm reset on NAME, delete the Node object. */
export function nodeRemovePhases(node: string): Phase[] {
  const apiTarget = (ctx: RunContext) => {
    const h = ctx.shared.apiHostForRemove as Host | undefined
    return h ? [h] : []
  }
  return [
    {
      name: 'drain',
      title: `Drain ${node}`,
      async prepare(ctx) {
        ctx.shared.apiHostForRemove = await api(ctx, node)
      },
      targets: apiTarget,
      needsRun: (ctx) => nodeExists(ctx, node),
      async run(ctx, host) {
        await change(ctx, host, `kubectl drain ${node}`, `${KUBECTL} drain ${shq(node)} --ignore-daemonsets --delete-emptydir-data --force --timeout=300s`, {timeoutMs: 360_000})
      },
    },
    {
      name: 'reset-node',
      title: `Reset ${node} (kubeadm reset; a controller leaves etcd)`,
      targets: (ctx) => ctx.hosts.filter((h) => h.name === node),
      needsRun: (_ctx, host) => probe(host, KUBE_STATE_PROBE),
      run: resetNode,
    },
    {
      name: 'delete-node',
      title: `Delete the Node object ${node}`,
      targets: apiTarget,
      needsRun: (ctx) => nodeExists(ctx, node),
      async run(ctx, host) {
        await change(ctx, host, `kubectl delete node ${node}`, `${KUBECTL} delete node ${shq(node)} --wait=true --timeout=120s`)
      },
    },
  ]
}
