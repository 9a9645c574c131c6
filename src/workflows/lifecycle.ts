import type {WorkflowResult} from '../engine/manager.js'
import type {Phase} from '../engine/phase.js'
import {InputError} from '../errors.js'
import {ADMIN_CONF, apiHost} from '../phases/cluster.js'
import {connectPhase} from '../phases/connect.js'
import {factsPhase} from '../phases/facts.js'
import {kubeconfigPhase} from '../phases/kubeconfig.js'
import {nodeRemovePhases} from '../phases/node-remove.js'
import {resetControllersPhase, resetWorkersPhase} from '../phases/reset.js'
import {isController} from '../spec/schema.js'
import {PhaseList} from './phases.js'
import {discardJournal, runClusterWorkflow, type ClusterRunOptions} from './run.js'
import {checkSkipPhases} from './apply.js'

/** connect, facts, reset-workers, reset-controllers. `hosts` limits it to some hosts. */
export async function resetCluster(o: ClusterRunOptions & {hosts?: string[]}): Promise<WorkflowResult> {
  const known = new Set(o.spec.spec.hosts.map((h) => h.name))
  const bad = (o.hosts ?? []).filter((n) => !known.has(n))
  if (bad.length > 0) throw new InputError(`--hosts: not in the spec: ${bad.join(', ')}`)
  const list = new PhaseList([connectPhase(o.connector), factsPhase, resetWorkersPhase, resetControllersPhase])
  checkSkipPhases(list, o.skipPhases)
  const r = await runClusterWorkflow('reset', list.list, {...o, shared: {...o.shared, ...(o.hosts?.length ? {onlyHosts: new Set(o.hosts)} : {})}})
  // An unfinished apply must not "resume" onto hosts that were just reset.
  if (!o.dryRun) {
    discardJournal(o.spec.metadata.name, 'apply')
    discardJournal(o.spec.metadata.name, 'node-add')
  }
  return r
}

/** drain (via another controller), kubeadm reset on the node, delete the Node object. */
export async function removeNode(o: ClusterRunOptions & {node: string}): Promise<WorkflowResult> {
  const h = o.spec.spec.hosts.find((x) => x.name === o.node)
  if (!h) throw new InputError(`node ${o.node} is not in the spec`, [], 'node remove connects to the node to reset it: keep it in spec.hosts until it is removed, then delete it from the spec.')
  if (isController(h) && o.spec.spec.hosts.filter((x) => isController(x)).length === 1) {
    throw new InputError(`${o.node} is the only controller`, [], 'Use `metalplane cluster reset` to tear the cluster down.')
  }
  const list = new PhaseList([connectPhase(o.connector), factsPhase, ...nodeRemovePhases(o.node)])
  checkSkipPhases(list, o.skipPhases)
  const r = await runClusterWorkflow('node-remove', list.list, o)
  if (!o.dryRun) discardJournal(o.spec.metadata.name, 'apply')
  return r
}

/** Fetch admin.conf from a controller to the user (mode 0600). */
export async function fetchKubeconfig(o: ClusterRunOptions & {kubeconfigOut?: string}): Promise<WorkflowResult> {
  const find: Phase = {
    name: 'find-controller',
    title: 'Find a controller with admin.conf',
    async prepare(ctx) {
      const h = await apiHost(ctx)
      if (!h) throw new Error(`no controller has ${ADMIN_CONF}: the cluster is not initialised (run \`metalplane cluster apply\`)`)
    },
    targets: () => [],
    async run() {},
  }
  // Only controllers need a connection.
  const spec = {...o.spec, spec: {...o.spec.spec, hosts: o.spec.spec.hosts.filter((x) => isController(x))}}
  return runClusterWorkflow('kubeconfig', [connectPhase(o.connector), factsPhase, find, kubeconfigPhase], {...o, spec, noLock: true, shared: {...o.shared, kubeconfigOut: o.kubeconfigOut}})
}
