import {BaseCommand} from '../../base/command.js'
import {defaultKubeconfigPath} from '../../phases/kubeconfig.js'
import {clusterFlags, kubeconfigOutFlag} from '../../workflows/cli.js'
import {fetchKubeconfig} from '../../workflows/lifecycle.js'
import {runOptions} from '../../workflows/options.js'

export default class ClusterKubeconfig extends BaseCommand<typeof ClusterKubeconfig> {
  static override summary = 'Fetch the admin kubeconfig of the cluster (mode 0600).'
  static override examples = ['<%= config.bin %> cluster kubeconfig -c cluster.yaml', '<%= config.bin %> cluster kubeconfig -c cluster.yaml --kubeconfig-out ~/.kube/prod']
  static override flags = {...clusterFlags, 'kubeconfig-out': kubeconfigOutFlag}

  async run(): Promise<{kubeconfig: string; changed: boolean}> {
    const o = await runOptions(this.flags, {log: this.log_, renderer: this.jsonEnabled() ? 'silent' : 'simple', dryRun: false, command: 'metalplane cluster kubeconfig'})
    const kubeconfig = this.flags['kubeconfig-out'] ?? defaultKubeconfigPath(o.spec)
    const r = await fetchKubeconfig({...o, kubeconfigOut: kubeconfig})
    if (!this.jsonEnabled()) process.stdout.write(`${kubeconfig}\n`)
    return {kubeconfig, changed: r.changed > 0}
  }
}
