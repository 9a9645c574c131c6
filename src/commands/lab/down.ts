import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base/command.js'
import {DEFAULT_LAB_NAME, labDown, type LabDownResult} from '../../lab/lab.js'

export default class LabDown extends BaseCommand<typeof LabDown> {
  static override summary = 'Remove a lab: stop its hosts, remove its mounts, namespaces and files.'
  static override description = 'Also cleans up after an interrupted `lab up`. Removing a lab that does not exist does nothing.'
  static override examples = ['<%= config.bin %> lab down', '<%= config.bin %> lab down --name rack1']
  static override flags = {
    name: Flags.string({default: DEFAULT_LAB_NAME, summary: 'Lab name.'}),
  }

  async run(): Promise<LabDownResult> {
    const r = await labDown(this.flags.name, {log: this.log_})
    if (!this.jsonEnabled()) this.log(r.existed ? `Lab ${r.name} removed (${r.stopped.length} host process(es) stopped).` : `No lab ${r.name}: nothing to do.`)
    return r
  }
}
