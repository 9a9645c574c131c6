import {BaseCommand} from '../../base/command.js'
import type {WorkflowResult} from '../../engine/manager.js'
import {applyCluster} from '../../workflows/apply.js'
import {clusterFlags, kubeconfigOutFlag, preflightFlags, skipPhasesFlag} from '../../workflows/cli.js'
import {runOptions} from '../../workflows/options.js'
import {formatResult} from '../../workflows/report.js'
import {defaultKubeconfigPath} from '../../phases/kubeconfig.js'

export type ApplyResult = WorkflowResult & {kubeconfig: string}

export default class ClusterApply extends BaseCommand<typeof ClusterApply> {
  static override summary = 'Bring every host of the spec to a working Kubernetes cluster; a second run changes nothing.'
  static override description =
    'Phases, in order: connect, facts, preflight, os, containerd, kubernetes, kubeadm-init, join-controllers, kube-vip, join-workers, node-labels, [cni, storage, gpu phases], kubeconfig. A failed preflight stops before any change (exit code 5). The bundle (spec.bundle) holds bin/kubeadm, bin/kubelet, bin/kubectl of the spec version (installed to /usr/local/bin), optional lib/** (installed under /usr/lib) and debs/*.deb (containerd, runc, conntrack, iptables and the dependencies the hosts lack; installed together with dpkg -i; without debs they come from the apt sources of the hosts). The run is journaled: after an interruption (Ctrl-C: exit 130) or a failure, the next apply with the same spec resumes without repeating finished steps. Another run holding the cluster lock: exit code 3.'
  static override examples = ['<%= config.bin %> cluster apply -c cluster.yaml', '<%= config.bin %> cluster apply -c cluster.yaml --skip-phases kube-vip --json']
  static override flags = {
    ...clusterFlags,
    ...preflightFlags,
    'skip-phases': skipPhasesFlag,
    'kubeconfig-out': kubeconfigOutFlag,
  }

  async run(): Promise<ApplyResult> {
    const o = await runOptions(this.flags, {log: this.log_, renderer: this.renderer, dryRun: false, command: `metalplane cluster apply -c ${this.flags.config}`})
    const kubeconfig = this.flags['kubeconfig-out'] ?? defaultKubeconfigPath(o.spec)
    const r = await applyCluster({...o, preflight: {ignore: this.flags['ignore-preflight-errors']}, kubeconfigOut: kubeconfig})
    if (!this.jsonEnabled()) {
      process.stdout.write(formatResult(r))
      this.log_.info(`admin kubeconfig: ${kubeconfig} (e.g. kubectl --kubeconfig ${kubeconfig} get nodes)`)
    }
    return {...r, kubeconfig}
  }
}
