import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base/command.js'
import type {WorkflowResult} from '../../engine/manager.js'
import {MetalplaneError} from '../../errors.js'
import {confirm} from '../../ui/tty.js'
import {clusterFlags} from '../../workflows/cli.js'
import {removeNode} from '../../workflows/lifecycle.js'
import {runOptions} from '../../workflows/options.js'
import {formatResult} from '../../workflows/report.js'

export default class NodeRemove extends BaseCommand<typeof NodeRemove> {
  static override summary = 'Remove a node: drain it, kubeadm reset on it (a controller leaves etcd), delete its Node object.'
  static override description = 'The node must still be in the spec (metalplane connects to it); delete it from the spec afterwards. Asks on a terminal; without one, pass --yes.'
  static override examples = ['<%= config.bin %> node remove -c cluster.yaml w3 --yes']
  static override args = {name: Args.string({required: true, description: 'Host name from the spec.'})}
  static override flags = {...clusterFlags, yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation.'})}

  async run(): Promise<WorkflowResult> {
    const o = await runOptions(this.flags, {log: this.log_, renderer: this.renderer, dryRun: false, command: `metalplane node remove ${this.args.name}`})
    if (!(await confirm(`Drain and reset ${this.args.name} and remove it from cluster ${o.spec.metadata.name}?`, {yes: this.flags.yes, flag: '--yes'}))) {
      throw new MetalplaneError('node remove not confirmed; nothing changed', {code: 'ABORTED'})
    }
    const r = await removeNode({...o, node: this.args.name})
    if (!this.jsonEnabled()) process.stdout.write(formatResult(r))
    return r
  }
}
