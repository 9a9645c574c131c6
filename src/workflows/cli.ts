import {Flags} from '@oclif/core'
import {sshFlags} from '../base/flags.js'

/** Flags shared by the cluster and node commands: the SSH flags of every host-facing command. */
export const clusterFlags = sshFlags

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
