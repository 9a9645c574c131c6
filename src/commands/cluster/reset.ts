import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base/command.js'
import type {WorkflowResult} from '../../engine/manager.js'
import {MetalplaneError} from '../../errors.js'
import {confirm} from '../../ui/tty.js'
import {clusterFlags, skipPhasesFlag} from '../../workflows/cli.js'
import {resetCluster} from '../../workflows/lifecycle.js'
import {runOptions} from '../../workflows/options.js'
import {formatPlan, formatResult} from '../../workflows/report.js'

export default class ClusterReset extends BaseCommand<typeof ClusterReset> {
  static override summary = 'Tear Kubernetes down on all hosts of the spec (or some): kubeadm reset, workers first.'
  static override description = 'Destroys the cluster state on the hosts (etcd data, certificates, kubelet config). Asks on a terminal; without one, pass --yes. --dry-run shows what would be reset.'
  static override examples = ['<%= config.bin %> cluster reset -c cluster.yaml', '<%= config.bin %> cluster reset -c cluster.yaml --hosts w1,w2 --yes']
  static override flags = {
    ...clusterFlags,
    'skip-phases': skipPhasesFlag,
    hosts: Flags.string({summary: 'Only these hosts, comma-separated.', delimiter: ',', multiple: true}),
    yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation.'}),
    'dry-run': Flags.boolean({summary: 'Show what would be reset, change nothing.'}),
  }

  async run(): Promise<WorkflowResult> {
    const dryRun = this.flags['dry-run']
    const o = await runOptions(this.flags, {log: this.log_, renderer: dryRun && !this.liveProgress ? 'silent' : this.renderer, dryRun, command: `metalplane cluster reset -c ${this.flags.config}`})
    const which = this.flags.hosts?.length ? `hosts ${this.flags.hosts.join(', ')} of cluster ${o.spec.metadata.name}` : `every host of cluster ${o.spec.metadata.name}`
    if (!dryRun && !(await confirm(`Reset Kubernetes on ${which}? This deletes etcd data and certificates.`, {yes: this.flags.yes, flag: '--yes'}))) {
      throw new MetalplaneError('reset not confirmed; nothing changed', {code: 'ABORTED'})
    }
    const r = await resetCluster({...o, hosts: this.flags.hosts})
    if (!this.jsonEnabled()) process.stdout.write(dryRun ? formatPlan(r, o.spec).replace('metalplane cluster apply', 'metalplane cluster reset') : formatResult(r))
    return r
  }
}
