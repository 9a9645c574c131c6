import type {WorkflowResult} from '../engine/manager.js'
import type {ClusterSpec} from '../spec/schema.js'

const indent = (s: string, n: number) => s.replace(/\n$/, '').split('\n').map((l) => ' '.repeat(n) + l).join('\n')

/** Human plan: per host, the phase and action of every change, file changes with their diff. */
export function formatPlan(r: WorkflowResult, spec: ClusterSpec, opts: {diffs?: boolean} = {}): string {
  const out: string[] = []
  const order = new Map(spec.spec.hosts.map((h, i) => [h.name, i]))
  const hosts = [...new Set(r.actions.map((a) => a.host))].sort((a, b) => (order.get(a) ?? 1e9) - (order.get(b) ?? 1e9))
  if (r.actions.length === 0) {
    out.push(`Cluster ${r.cluster}: nothing to do; every host is as the spec wants.`)
    return out.join('\n') + '\n'
  }
  out.push(`Cluster ${r.cluster} (Kubernetes ${spec.spec.kubernetes.version}): ${r.actions.length} change${r.actions.length === 1 ? '' : 's'} on ${hosts.length} host${hosts.length === 1 ? '' : 's'}`)
  const roles = new Map(spec.spec.hosts.map((h) => [h.name, h.role]))
  for (const h of hosts) {
    out.push('', `${h}${roles.has(h) ? ` (${roles.get(h)})` : ''}`)
    const acts = r.actions.filter((a) => a.host === h)
    const w = Math.max(...acts.map((a) => a.phase.length))
    for (const a of acts) {
      out.push(`  ${a.phase.padEnd(w)}  ${a.action}`)
      if (a.diff && opts.diffs !== false) out.push(indent(a.diff, w + 6))
    }
  }
  const upToDate = r.phases.flatMap((p) => p.steps.filter((s) => s.status === 'up-to-date').map((s) => `${p.name}/${s.host}`))
  if (upToDate.length > 0) out.push('', `Already as wanted: ${upToDate.length} host step${upToDate.length === 1 ? '' : 's'}.`)
  out.push('', 'Nothing was changed. Run `metalplane cluster apply` to make these changes.')
  return out.join('\n') + '\n'
}

/** Human summary of a real run. */
export function formatResult(r: WorkflowResult): string {
  const out: string[] = []
  if (r.resumedFrom) out.push(`Resumed run ${r.resumedFrom.run} (${r.resumedFrom.done} steps were done before the interruption).`)
  if (r.changed === 0) out.push(`Cluster ${r.cluster}: nothing to do; nothing changed.`)
  else {
    out.push(`Cluster ${r.cluster}: ${r.changed} host step${r.changed === 1 ? '' : 's'} changed:`)
    for (const p of r.phases) {
      const done = p.steps.filter((s) => s.status === 'done').map((s) => s.host)
      if (done.length > 0) out.push(`  ${p.name}: ${done.join(', ')}`)
    }
  }
  return out.join('\n') + '\n'
}
