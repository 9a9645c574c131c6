import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base/command.js'
import {DEFAULT_LAB_NAME, labStatus, type LabStatus} from '../../lab/lab.js'

export default class LabStatusCommand extends BaseCommand<typeof LabStatusCommand> {
  static override summary = 'Show a lab and whether each host runs and answers on SSH.'
  static override examples = ['<%= config.bin %> lab status', '<%= config.bin %> lab status --name rack1 --json']
  static override flags = {
    name: Flags.string({default: DEFAULT_LAB_NAME, summary: 'Lab name.'}),
  }

  async run(): Promise<LabStatus> {
    const s = await labStatus(this.flags.name)
    if (!this.jsonEnabled()) {
      if (!s.exists) {
        this.log(`No lab ${s.name}. Start one with: ${this.config.bin} lab up --name ${s.name}`)
      } else {
        this.log(`Lab ${s.name} (${s.phase}) on ${s.subnet}, dir ${s.dir}`)
        for (const h of s.hosts)
          this.log(`  ${h.name.padEnd(8)} ${`${h.address}:${h.port}`.padEnd(18)} ${h.running ? `running (pid ${h.pid})` : 'stopped'.padEnd(12)}  ssh ${h.ssh ? 'up' : 'down'}`)
      }
    }
    return s
  }
}
