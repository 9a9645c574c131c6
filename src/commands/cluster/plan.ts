import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base/command.js'
import type {WorkflowResult} from '../../engine/manager.js'
import {applyCluster} from '../../workflows/apply.js'
import {clusterFlags, preflightFlags, skipPhasesFlag} from '../../workflows/cli.js'
import {runOptions} from '../../workflows/options.js'
import {formatPlan} from '../../workflows/report.js'

export default class ClusterPlan extends BaseCommand<typeof ClusterPlan> {
  static override summary = 'Show what `cluster apply` would change on each host, changing nothing.'
  static override description =
    'Connects to every host and reads its state (facts, files, services, whether kubeadm already ran); prints per host the packages, files (with a diff), services and kubeadm steps apply would change. Preflight failures are reported as in apply (exit code 5). Phases: connect, facts, preflight, os, containerd, kubernetes, kubeadm-init, join-controllers, kube-vip, join-workers, node-labels, [cni, storage, gpu phases], kubeconfig.'
  static override examples = ['<%= config.bin %> cluster plan -c cluster.yaml', '<%= config.bin %> cluster plan -c cluster.yaml --json']
  static override flags = {
    ...clusterFlags,
    ...preflightFlags,
    'skip-phases': skipPhasesFlag,
    'no-diff': Flags.boolean({summary: 'Leave file diffs out of the plan.'}),
  }

  async run(): Promise<WorkflowResult> {
    const o = await runOptions(this.flags, {log: this.log_, renderer: this.liveProgress ? 'default' : 'silent', dryRun: true, command: `metalplane cluster plan`})
    const r = await applyCluster({...o, preflight: {ignore: this.flags['ignore-preflight-errors']}})
    if (!this.jsonEnabled()) process.stdout.write(formatPlan(r, o.spec, {diffs: !this.flags['no-diff']}))
    return r
  }
}
