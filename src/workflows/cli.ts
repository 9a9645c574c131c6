import {Flags} from '@oclif/core'

/** Flags shared by the cluster and node commands. */
export const clusterFlags = {
  config: Flags.string({char: 'c', default: 'cluster.yaml', summary: 'Cluster spec file.'}),
  'known-hosts': Flags.string({summary: 'known_hosts file to check host keys against (default: spec.ssh.knownHosts, else ~/.ssh/known_hosts).'}),
  'accept-new-host-keys': Flags.boolean({summary: 'Record host keys of hosts not yet in known_hosts (changed keys are always refused).'}),
  concurrency: Flags.integer({min: 1, max: 500, summary: 'Hosts worked on in parallel per step (default: spec.ssh.concurrency).'}),
}

export const skipPhasesFlag = Flags.string({
  summary: 'Phases to leave out, comma-separated (see `metalplane cluster plan --help` for the list).',
  delimiter: ',',
  multiple: true,
})

export const preflightFlags = {
  'ignore-preflight-errors': Flags.string({
    summary: 'Preflight checks to report as warnings instead of errors, comma-separated (e.g. NumCPU,Mem; "all" for every check).',
    delimiter: ',',
    multiple: true,
  }),
}

export const kubeconfigOutFlag = Flags.string({summary: 'Where to write the admin kubeconfig (mode 0600). Default: <state dir>/clusters/<name>/admin.kubeconfig.'})
