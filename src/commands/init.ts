import {existsSync} from 'node:fs'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../base/command.js'
import {InputError} from '../errors.js'
import {sampleSpec} from '../spec/sample.js'
import {writeFileAtomic} from '../util/fs.js'

export default class Init extends BaseCommand<typeof Init> {
  static override summary = 'Write a commented sample cluster spec.'
  static override description = 'The sample validates as written; edit hosts, addresses and the VIP, then run `metalplane spec validate`.'
  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init -o prod.yaml --name prod --controllers 3 --workers 10 --first-address 10.20.0.11 --vip 10.20.0.10',
    '<%= config.bin %> init --stdout > cluster.yaml',
  ]
  static override flags = {
    output: Flags.string({char: 'o', default: 'cluster.yaml', summary: 'File to write.'}),
    stdout: Flags.boolean({summary: 'Print the spec instead of writing a file.', exclusive: ['output']}),
    force: Flags.boolean({summary: 'Overwrite an existing file.'}),
    name: Flags.string({default: 'my-cluster', summary: 'Cluster name.'}),
    'kubernetes-version': Flags.string({default: '1.31.4', summary: 'Kubernetes version.'}),
    controllers: Flags.integer({default: 3, min: 1, summary: 'Number of controller hosts (odd).'}),
    workers: Flags.integer({default: 2, min: 0, summary: 'Number of worker hosts.'}),
    'first-address': Flags.string({default: '192.0.2.11', summary: 'Address of the first host; the others follow.'}),
    vip: Flags.string({summary: 'Control-plane virtual IP (default: the address before the first host).'}),
  }

  async run(): Promise<{file?: string; spec: string}> {
    const f = this.flags
    const text = sampleSpec({
      name: f.name,
      version: f['kubernetes-version'],
      controllers: f.controllers,
      workers: f.workers,
      firstAddress: f['first-address'],
      vip: f.vip,
      file: f.stdout ? 'cluster.yaml' : f.output,
    })
    if (f.stdout) {
      if (!this.jsonEnabled()) process.stdout.write(text)
      return {spec: text}
    }
    if (existsSync(f.output) && !f.force) {
      throw new InputError(`${f.output} already exists`, [], 'Pass --force to overwrite it, or -o to write another file.')
    }
    await writeFileAtomic(f.output, text)
    this.log_.info(`wrote ${f.output}; next: metalplane spec validate -c ${f.output}`)
    return {file: f.output, spec: text}
  }
}
