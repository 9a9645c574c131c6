import type {Phase, RunContext} from '../engine/phase.js'
import {controllers, workers, type Host} from '../hosts/host.js'
import {selected} from './cluster.js'
import {BIN_DIR, CRI_SOCKET} from './kubeadm-config.js'
import {change, probe} from './util.js'

/** Anything kubeadm or metalplane's joins left on the host. */
export const KUBE_STATE_PROBE =
  '[ -e /etc/kubernetes/kubelet.conf ] || [ -e /etc/kubernetes/admin.conf ] || [ -e /etc/kubernetes/bootstrap-kubelet.conf ] || [ -n "$(ls -A /etc/kubernetes/manifests 2>/dev/null)" ] || [ -e /var/lib/etcd/member ] || [ -e /var/lib/kubelet/config.yaml ]'

/** kubeadm reset (it removes a controller's etcd member while the cluster still answers), then what it leaves. */
export async function resetNode(ctx: RunContext, host: Host): Promise<void> {
  const kubeadm = `${BIN_DIR}/kubeadm`
  if (await probe(host, `test -x ${kubeadm}`)) {
    await change(ctx, host, 'kubeadm reset --force', `${kubeadm} reset --force --cri-socket ${CRI_SOCKET}`, {timeoutMs: 600_000})
  } else {
    await change(ctx, host, 'stop kubelet, remove /etc/kubernetes and /var/lib/etcd state', 'systemctl stop kubelet 2>/dev/null; rm -rf /etc/kubernetes/manifests/* /etc/kubernetes/*.conf /etc/kubernetes/pki /var/lib/etcd/member /var/lib/kubelet/config.yaml')
  }
  // kubeadm reset leaves CNI configuration and the kube-vip manifest's VIP on the interface.
  await change(ctx, host, 'remove CNI configuration (/etc/cni/net.d)', 'rm -rf /etc/cni/net.d/* /etc/kubernetes/manifests/kube-vip.yaml')
}

function resetPhase(name: string, title: string, pick: (ctx: RunContext) => Host[], serial: boolean): Phase {
  return {
    name,
    title,
    serial,
    targets: (ctx) => selected(ctx, pick(ctx)),
    needsRun: (_ctx, host) => probe(host, KUBE_STATE_PROBE),
    run: resetNode,
  }
}

/** Workers first, in parallel; then controllers one by one (each leaves etcd in turn). */
export const resetWorkersPhase = resetPhase('reset-workers', 'Reset workers (kubeadm reset)', (ctx) => workers(ctx.hosts), false)
export const resetControllersPhase = resetPhase('reset-controllers', 'Reset controllers one by one (kubeadm reset)', (ctx) => [...controllers(ctx.hosts)].reverse(), true)
