import {BaseCommand} from '../../base/command.js'
import {listBmcs} from '../../bmc/registry.js'
import type {BmcRecord} from '../../bmc/types.js'

export default class BmcList extends BaseCommand<typeof BmcList> {
  static override summary = 'List registered BMCs (never their passwords).'
  static override examples = ['<%= config.bin %> bmc list', '<%= config.bin %> bmc list --json']

  async run(): Promise<{bmcs: BmcRecord[]}> {
    const bmcs = listBmcs()
    if (!this.jsonEnabled()) {
      if (bmcs.length === 0) this.log('No BMCs. Add one with: metalplane bmc add NAME --address A --user U')
      else {
        this.log(`${'NAME'.padEnd(20)} ${'PROTOCOL'.padEnd(8)} ${'ADDRESS'.padEnd(24)} USER`)
        for (const b of bmcs) this.log(`${b.name.padEnd(20)} ${b.protocol.padEnd(8)} ${`${b.address}${b.port ? `:${b.port}` : ''}`.padEnd(24)} ${b.user}${b.insecure ? '  (TLS not verified)' : ''}`)
      }
    }
    return {bmcs}
  }
}
