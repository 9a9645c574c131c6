import type {Phase} from '../engine/phase.js'
import {controllers} from '../hosts/host.js'
import {selected} from './cluster.js'
import {nodeFacts} from './facts.js'
import {renderKubeVip, vipInterface} from './kubeadm-config.js'
import {ensureFile, fileDiffers} from './util.js'

export const KUBE_VIP_MANIFEST = '/etc/kubernetes/manifests/kube-vip.yaml'

/**
 * kube-vip on every controller once it is part of the control plane (a control-plane join
 * wants an empty manifests directory, so joined controllers get it after their join; the first
 * controller switches from super-admin.conf to admin.conf here).
 */
export const kubeVipPhase: Phase = {
  name: 'kube-vip',
  title: 'kube-vip static pod on controllers (control-plane VIP)',
  targets(ctx) {
    return ctx.spec.spec.controlPlane.vip ? selected(ctx, controllers(ctx.hosts)) : []
  },
  async needsRun(ctx, host) {
    return fileDiffers(host, KUBE_VIP_MANIFEST, renderKubeVip(ctx.spec, vipInterface(host, nodeFacts(host)), false))
  },
  async run(ctx, host) {
    await ensureFile(ctx, host, KUBE_VIP_MANIFEST, renderKubeVip(ctx.spec, vipInterface(host, nodeFacts(host)), false), 0o600)
  },
}
