import type {WorkflowResult} from '../engine/manager.js'
import type {Phase} from '../engine/phase.js'
import {ExitCode, InputError} from '../errors.js'
import {loadBundle} from '../phases/bundle.js'
import {connectPhase} from '../phases/connect.js'
import {containerdPhase} from '../phases/containerd.js'
import {factsPhase} from '../phases/facts.js'
import {joinControllersPhase, joinWorkersPhase} from '../phases/join.js'
import {kubeVipPhase} from '../phases/kube-vip.js'
import {kubeadmInitPhase} from '../phases/kubeadm-init.js'
import {kubeconfigPhase} from '../phases/kubeconfig.js'
import {checkBundleVersionLocally, kubernetesPhase} from '../phases/kubernetes.js'
import {kubeVersion} from '../spec/schema.js'
import {nodeLabelsPhase} from '../phases/node-labels.js'
import {osPhase} from '../phases/os.js'
import {preflightPhase, type PreflightOptions} from '../phases/preflight.js'
import {PhaseList, optionalPhases} from './phases.js'
import {runClusterWorkflow, type ClusterRunOptions} from './run.js'

/** Modules with phases of other components (CNI, storage, GPU); each optional in a build. */
export const COMPONENT_MODULES = ['../phases/cni.js', '../phases/storage.js', '../phases/gpu.js']

/**
 * The apply workflow's phases, in the order they run (core phases and those of COMPONENT_MODULES):
 * - `local-volumes` checks and prepares disks right after preflight: a refused disk (exit 5, from
 *   the error it throws) stops the run before the OS or any disk was changed;
 * - `gpu-runtime` right after `containerd`: the nvidia runtime drop-in is in place before kubeadm,
 *   so containerd is never restarted for it on a node that already runs pods;
 * - the pod network, the local PVs and the GPU objects go through the API once every node joined.
 */
export const APPLY_ORDER = [
  'connect',
  'facts',
  'preflight',
  'local-volumes',
  'os',
  'containerd',
  'gpu-runtime',
  'kubernetes',
  'kubeadm-init',
  'join-controllers',
  'kube-vip',
  'join-workers',
  'node-labels',
  'cni',
  'local-volume-objects',
  'gpu-objects',
  'kubeconfig',
]

export interface ApplyOptions extends ClusterRunOptions {
  preflight?: PreflightOptions
  /** Where the admin kubeconfig goes (default <state>/clusters/<name>/admin.kubeconfig). */
  kubeconfigOut?: string
}

/** The apply workflow: the core phases and those of COMPONENT_MODULES present in this build, in APPLY_ORDER. */
export async function applyPhases(o: {connector: ClusterRunOptions['connector']; preflight?: PreflightOptions}): Promise<PhaseList> {
  const phases = [
    connectPhase(o.connector),
    factsPhase,
    preflightPhase(o.preflight),
    osPhase,
    containerdPhase,
    kubernetesPhase,
    kubeadmInitPhase,
    joinControllersPhase,
    kubeVipPhase,
    joinWorkersPhase,
    nodeLabelsPhase,
    kubeconfigPhase,
    ...(await optionalPhases(COMPONENT_MODULES)),
  ]
  const unplaced = phases.filter((p) => !APPLY_ORDER.includes(p.name))
  if (unplaced.length > 0) throw new Error(`phase(s) ${unplaced.map((p) => p.name).join(', ')} have no place in the apply order: add them to APPLY_ORDER (src/workflows/apply.ts)`)
  return new PhaseList(APPLY_ORDER.flatMap((n) => phases.filter((p) => p.name === n)))
}

export function checkSkipPhases(list: PhaseList, skip: string[] = []): void {
  const unknown = skip.filter((s) => !list.has(s))
  if (unknown.length > 0) throw new InputError(`unknown phase(s) in --skip-phases: ${unknown.join(', ')}`, [], `Phases are: ${list.names.join(', ')}`)
  for (const s of ['connect', 'facts']) if (skip.includes(s)) throw new InputError(`phase "${s}" cannot be skipped: every later phase needs it`)
}

/** Checks that need no host (exit code 2, nothing touched). */
function checkInputs(o: ApplyOptions): void {
  const skip = new Set(o.skipPhases ?? [])
  if (!skip.has('containerd') || !skip.has('kubernetes')) {
    const b = loadBundle(o.spec)
    if (!skip.has('kubernetes')) checkBundleVersionLocally(b, `v${kubeVersion(o.spec)}`)
  }
}

async function run(workflow: string, phases: Phase[], o: ApplyOptions, extraShared: Record<string, unknown> = {}): Promise<WorkflowResult> {
  return runClusterWorkflow(workflow, phases, {...o, shared: {...o.shared, ...extraShared, kubeconfigOut: o.kubeconfigOut}}, {preflight: ExitCode.PREFLIGHT})
}

/** `cluster apply` (and `cluster plan` with dryRun). A second apply changes nothing. */
export async function applyCluster(o: ApplyOptions): Promise<WorkflowResult> {
  const list = await applyPhases(o)
  checkSkipPhases(list, o.skipPhases)
  checkInputs(o)
  return run('apply', list.list, o)
}

/**
 * `node add`: the apply phases for the given hosts (default: every host not yet in the
 * cluster, i.e. without /etc/kubernetes/kubelet.conf). The cluster must be initialised.
 */
export async function addNodes(o: ApplyOptions & {names?: string[]}): Promise<WorkflowResult> {
  const list = await applyPhases(o)
  checkSkipPhases(list, o.skipPhases)
  checkInputs(o)
  const known = new Set(o.spec.spec.hosts.map((h) => h.name))
  const bad = (o.names ?? []).filter((n) => !known.has(n))
  if (bad.length > 0) throw new InputError(`not in the spec: ${bad.join(', ')}`, [], 'Add the hosts to spec.hosts first, then run `metalplane node add`.')
  const select: Phase = {
    name: 'select-nodes',
    title: 'Select the hosts to add',
    async prepare(ctx) {
      const {nodeFacts} = await import('../phases/facts.js')
      if (!ctx.hosts.some((h) => h.isController && nodeFacts(h).adminConf)) {
        throw new Error('no controller has /etc/kubernetes/admin.conf: the cluster is not initialised; run `metalplane cluster apply` first')
      }
      const names = o.names?.length ? o.names : ctx.hosts.filter((h) => !nodeFacts(h).kubeletConf).map((h) => h.name)
      ctx.shared.onlyHosts = new Set(names)
      ctx.shared.nodesAdded = names
      ctx.log.info(names.length > 0 ? `hosts to add: ${names.join(', ')}` : 'every host of the spec is already in the cluster')
    },
    targets: () => [],
    async run() {},
  }
  list.insertAfter('facts', select)
  // Per-host phases act on the selected hosts only; preflight still sees every host's facts.
  const limited = list.list.map((p): Phase => {
    if (['connect', 'facts', 'select-nodes', 'kubeconfig', 'kubeadm-init'].includes(p.name)) return p
    const targets = p.targets
    return {
      ...p,
      targets(ctx) {
        const only = ctx.shared.onlyHosts as Set<string>
        const t = targets ? targets.call(p, ctx) : ctx.hosts
        return t.filter((h) => only.has(h.name))
      },
    }
  })
  return run('node-add', limited, o)
}
