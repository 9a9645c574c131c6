import type {Phase, RunContext} from '../engine/phase.js'
import {controllers, workers, type Host} from '../hosts/host.js'
import {initHost, joinMaterial, KUBELET_CONF, selected} from './cluster.js'
import {BIN_DIR, controlPlaneEndpoint, kubeadmApiVersion, renderJoinConfig} from './kubeadm-config.js'
import {nodeFacts} from './facts.js'
import {rollBack} from './kubeadm-init.js'
import {probe, withSecretFile} from './util.js'

async function join(ctx: RunContext, host: Host, controlPlane: boolean): Promise<void> {
  const what = `kubeadm join ${controlPlaneEndpoint(ctx.spec)}${controlPlane ? ' --control-plane' : ''} (config kubeadm.k8s.io/${kubeadmApiVersion(ctx.spec)})`
  await ctx.wet(host, what, async () => {
    const m = await joinMaterial(ctx, controlPlane)
    const config = renderJoinConfig(ctx.spec, host.spec, m)
    await withSecretFile(host, 'kubeadm-join.yaml', config, (path) => host.exec(`${BIN_DIR}/kubeadm join --config ${path}`, {timeoutMs: 900_000, secret: true})).catch((error) => rollBack(host, error))
  })
}

const notJoined = async (_ctx: RunContext, host: Host) => !(await probe(host, `test -e ${KUBELET_CONF}`))

/** Further controllers join one at a time (etcd grows one member at a time). */
export const joinControllersPhase: Phase = {
  name: 'join-controllers',
  title: 'Join further controllers (one by one)',
  serial: true,
  targets(ctx) {
    // The first controller is initialised by kubeadm init, unless the cluster was initialised
    // from another controller: then it joins like the others.
    const first = initHost(ctx)
    const initHere = Boolean(ctx.shared.initPlanned) || Boolean(first.facts.node && nodeFacts(first).adminConf)
    return selected(ctx, controllers(ctx.hosts).filter((h) => !(initHere && h === first)))
  },
  needsRun: notJoined,
  run: (ctx, host) => join(ctx, host, true),
}

/** Workers join in parallel. */
export const joinWorkersPhase: Phase = {
  name: 'join-workers',
  title: 'Join workers',
  targets: (ctx) => selected(ctx, workers(ctx.hosts)),
  needsRun: notJoined,
  run: (ctx, host) => join(ctx, host, false),
}
