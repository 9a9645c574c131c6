import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import type {Phase, RunContext} from '../engine/phase.js'
import type {Host} from '../hosts/host.js'
import type {ClusterSpec} from '../spec/schema.js'
import {writeFileAtomic} from '../util/fs.js'
import {stateDir} from '../util/paths.js'
import {registerSecret} from '../util/redact.js'
import {ADMIN_CONF, apiHost, initHost} from './cluster.js'
import {readRemote} from './util.js'

export function defaultKubeconfigPath(spec: ClusterSpec): string {
  return join(stateDir(), 'clusters', spec.metadata.name, 'admin.kubeconfig')
}

function localCopy(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined
}

function registerKubeconfigSecrets(text: string): void {
  for (const m of text.matchAll(/(client-key-data|client-certificate-data|token):\s*(\S+)/g)) registerSecret(m[2])
}

/** Fetch admin.conf to the user (mode 0600). `shared.kubeconfigOut` overrides the path. */
export const kubeconfigPhase: Phase = {
  name: 'kubeconfig',
  title: 'Fetch the admin kubeconfig',
  targets(ctx: RunContext): Host[] {
    return [initHost(ctx)]
  },
  async needsRun(ctx, _host) {
    const api = await apiHost(ctx)
    if (!api) return true
    const remote = await readRemote(api, ADMIN_CONF)
    if (remote === undefined) return true
    registerKubeconfigSecrets(remote)
    return localCopy(out(ctx)) !== remote
  },
  async run(ctx, host) {
    const path = out(ctx)
    await ctx.wet(host, `write the admin kubeconfig to ${path} (mode 0600)`, async () => {
      const api = (await apiHost(ctx)) ?? host
      const remote = await readRemote(api, ADMIN_CONF)
      if (remote === undefined) throw new Error(`${api.name}: ${ADMIN_CONF} is missing`)
      registerKubeconfigSecrets(remote)
      await writeFileAtomic(path, remote, 0o600)
    })
    ctx.shared.kubeconfigWritten = path
  },
}

export function out(ctx: RunContext): string {
  return (ctx.shared.kubeconfigOut as string | undefined) ?? defaultKubeconfigPath(ctx.spec)
}
