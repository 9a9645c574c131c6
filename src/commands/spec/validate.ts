import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base/command.js'
import {isController, isWorker} from '../../spec/schema.js'
import {loadSpec} from '../../spec/load.js'

export interface ValidateResult {
  file: string
  valid: true
  cluster: string
  kubernetesVersion: string
  controllers: string[]
  workers: string[]
}

export default class SpecValidate extends BaseCommand<typeof SpecValidate> {
  static override summary = 'Check a cluster spec without touching any host.'
  static override description = 'Every problem is reported with its field path and line. Exit code 2 when the spec is invalid.'
  static override examples = ['<%= config.bin %> spec validate -c cluster.yaml', '<%= config.bin %> spec validate -c cluster.yaml --json']
  static override flags = {
    config: Flags.string({char: 'c', default: 'cluster.yaml', summary: 'Cluster spec file.'}),
  }

  async run(): Promise<ValidateResult> {
    const {spec, file} = await loadSpec(this.flags.config)
    const hosts = spec.spec.hosts
    const result: ValidateResult = {
      file,
      valid: true,
      cluster: spec.metadata.name,
      kubernetesVersion: spec.spec.kubernetes.version,
      controllers: hosts.filter((h) => isController(h)).map((h) => h.name),
      workers: hosts.filter((h) => isWorker(h)).map((h) => h.name),
    }
    if (!this.jsonEnabled()) {
      this.log(`${this.flags.config}: valid. Cluster ${result.cluster}, Kubernetes ${result.kubernetesVersion}, ${result.controllers.length} controller(s), ${result.workers.length} worker(s).`)
    }
    return result
  }
}
