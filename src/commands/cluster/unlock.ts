import {BaseCommand} from '../../base/command.js'
import {ClusterLock} from '../../engine/lock.js'
import {MetalplaneError} from '../../errors.js'
import {loadSpec} from '../../spec/load.js'
import {confirm} from '../../ui/tty.js'
import {clusterFlags} from '../../workflows/cli.js'
import {lockFile} from '../../workflows/run.js'
import {Flags} from '@oclif/core'

export default class ClusterUnlock extends BaseCommand<typeof ClusterUnlock> {
  static override summary = 'Remove a stale cluster lock left by a run that is gone.'
  static override description = 'Only for a lock whose run no longer exists (e.g. killed on another machine). Asks on a terminal; without one, pass --yes.'
  static override examples = ['<%= config.bin %> cluster unlock -c cluster.yaml']
  static override flags = {config: clusterFlags.config, yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation.'})}

  async run(): Promise<{cluster: string; removed: boolean; holder?: unknown}> {
    const {spec} = await loadSpec(this.flags.config)
    const file = lockFile(spec.metadata.name)
    const holder = ClusterLock.holder(file)
    if (!holder) {
      if (!this.jsonEnabled()) this.log(`cluster ${spec.metadata.name} is not locked`)
      return {cluster: spec.metadata.name, removed: false}
    }
    const who = `pid ${holder.pid} on ${holder.host} (user ${holder.user}), "${holder.command}", since ${holder.since}`
    if (!(await confirm(`Remove the lock of cluster ${spec.metadata.name} held by ${who}?`, {yes: this.flags.yes, flag: '--yes'}))) {
      throw new MetalplaneError('unlock not confirmed; the lock stays', {code: 'ABORTED'})
    }
    ClusterLock.forceRemove(file)
    if (!this.jsonEnabled()) this.log(`removed the lock of cluster ${spec.metadata.name} (was held by ${who})`)
    return {cluster: spec.metadata.name, removed: true, holder}
  }
}
