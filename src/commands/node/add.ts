import {Args} from '@oclif/core'
import {BaseCommand} from '../../base/command.js'
import type {WorkflowResult} from '../../engine/manager.js'
import {addNodes} from '../../workflows/apply.js'
import {clusterFlags, preflightFlags, skipPhasesFlag} from '../../workflows/cli.js'
import {runOptions} from '../../workflows/options.js'
import {formatResult} from '../../workflows/report.js'
import {Flags} from '@oclif/core'
import {formatPlan} from '../../workflows/report.js'

export default class NodeAdd extends BaseCommand<typeof NodeAdd> {
  static override summary = 'Join hosts newly added to the spec (all apply phases, for those hosts only).'
  static override description = 'Without names: every host of the spec that is not yet part of the cluster (no /etc/kubernetes/kubelet.conf). Controllers join one by one, workers in parallel.'
  static override examples = ['<%= config.bin %> node add -c cluster.yaml', '<%= config.bin %> node add -c cluster.yaml w7 w8']
  static override strict = false
  static override args = {names: Args.string({description: 'Host names from the spec (default: all not yet joined).'})}
  static override flags = {...clusterFlags, ...preflightFlags, 'skip-phases': skipPhasesFlag, 'dry-run': Flags.boolean({summary: 'Show the plan, change nothing.'})}

  async run(): Promise<WorkflowResult> {
    const {argv} = await this.parse(NodeAdd)
    const dryRun = this.flags['dry-run']
    const o = await runOptions(this.flags, {log: this.log_, renderer: dryRun && !this.liveProgress ? 'silent' : this.renderer, dryRun, command: `metalplane node add -c ${this.flags.config}`})
    const r = await addNodes({...o, names: argv as string[], preflight: {ignore: this.flags['ignore-preflight-errors']}})
    if (!this.jsonEnabled()) process.stdout.write(dryRun ? formatPlan(r, o.spec).replace('metalplane cluster apply', 'metalplane node add') : formatResult(r))
    return r
  }
}
