import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base/command.js'
import {addBmc, type AddBmcResult} from '../../bmc/manage.js'

export default class BmcAdd extends BaseCommand<typeof BmcAdd> {
  static override summary = 'Register a BMC (IPMI or Redfish); checks the credentials unless --no-verify.'
  static override description =
    'The password comes from --password-file, else $METALPLANE_BMC_PASSWORD, else a prompt on a terminal (not echoed). ' +
    'It is kept in the state dir in a separate file readable only by you, and never printed or logged.'
  static override examples = [
    'METALPLANE_BMC_PASSWORD=... <%= config.bin %> bmc add r1-n1 --address 10.10.0.11 --user admin',
    '<%= config.bin %> bmc add r1-n2 --protocol redfish --address 10.10.0.12 --user root --password-file ./pw --ca-file bmc-ca.pem',
  ]
  static override args = {name: Args.string({required: true, description: 'Name for the BMC (usually the machine it manages).'})}
  static override flags = {
    address: Flags.string({required: true, summary: 'BMC IP address or hostname.'}),
    user: Flags.string({required: true, summary: 'BMC user.'}),
    protocol: Flags.option({options: ['ipmi', 'redfish'] as const, default: 'ipmi' as const, summary: 'How to talk to the BMC.'})(),
    port: Flags.integer({min: 1, max: 65535, summary: 'Port (default 623 for IPMI, 443 for Redfish).'}),
    'password-file': Flags.string({summary: 'Read the password from this file (first line).'}),
    insecure: Flags.boolean({default: false, summary: 'Redfish: do not verify the BMC TLS certificate.'}),
    'ca-file': Flags.string({summary: 'Redfish: verify the BMC certificate against this CA bundle (PEM).'}),
    'system-path': Flags.string({summary: 'Redfish: the ComputerSystem path when the BMC manages several (default: the only one under /redfish/v1/Systems).'}),
    verify: Flags.boolean({default: true, allowNo: true, summary: 'Read the power state once to check address and credentials before saving.'}),
    force: Flags.boolean({default: false, summary: 'Replace a BMC of the same name.'}),
  }

  async run(): Promise<AddBmcResult> {
    const f = this.flags
    if (f.insecure) this.log_.warn(`TLS certificates of BMC ${this.args.name} will not be verified (--insecure); prefer --ca-file with the BMC's CA`)
    const r = await addBmc({
      name: this.args.name,
      protocol: f.protocol,
      address: f.address,
      port: f.port,
      user: f.user,
      insecure: f.insecure || undefined,
      caFile: f['ca-file'],
      systemPath: f['system-path'],
      passwordFile: f['password-file'],
      verify: f.verify,
      force: f.force,
    })
    if (!this.jsonEnabled()) this.log(`Added BMC ${r.bmc.name} (${r.bmc.protocol} ${r.bmc.address}${r.bmc.port ? `:${r.bmc.port}` : ''}, user ${r.bmc.user})${r.power ? `; power is ${r.power}` : ''}.`)
    return r
  }
}
