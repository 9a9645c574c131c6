import type {RunContext} from '../engine/phase.js'
import {controllers, type Host} from '../hosts/host.js'
import {registerSecret} from '../util/redact.js'
import {nodeFacts} from './facts.js'
import {
  caCertHash,
  generateCertificateKey,
  generateToken,
  renderUploadCertsConfig,
  BIN_DIR,
} from './kubeadm-config.js'
import {probe, readRemote, withSecretFile} from './util.js'

export const ADMIN_CONF = '/etc/kubernetes/admin.conf'
export const KUBELET_CONF = '/etc/kubernetes/kubelet.conf'
export const KUBECTL = `${BIN_DIR}/kubectl --kubeconfig ${ADMIN_CONF}`

/** Hosts a run acts on (node add limits this); connect/facts/preflight context covers all. */
export function selected(ctx: RunContext, hosts: Host[]): Host[] {
  const only = ctx.shared.onlyHosts as Set<string> | undefined
  return only ? hosts.filter((h) => only.has(h.name)) : hosts
}

/** The controller that runs kubeadm init: the first in the spec. */
export function initHost(ctx: RunContext): Host {
  const c = controllers(ctx.hosts)[0]
  if (!c) throw new Error('the spec has no controller')
  return c
}

/**
 * A controller of the running cluster to run kubectl/kubeadm token commands on: one that has
 * admin.conf (set by kubeadm init or a control-plane join), the first in the spec when none
 * does yet. `exclude` leaves out a node being removed.
 */
export async function apiHost(ctx: RunContext, exclude?: string): Promise<Host | undefined> {
  const cs = controllers(ctx.hosts).filter((h) => h.name !== exclude)
  const byFacts = cs.find((h) => (h.facts.node ? nodeFacts(h).adminConf : false))
  if (byFacts) return byFacts
  for (const h of cs) if (await probe(h, `test -e ${ADMIN_CONF}`)) return h
  return undefined
}

export interface JoinMaterial {
  token: string
  certificateKey?: string
  caCertHash: string
}

/**
 * Token, certificate key and CA hash for joins. Reuses what kubeadm init of this run created;
 * otherwise (a resumed run, node add) creates a token (`kubeadm token create`, 2 h) and, for
 * controller joins, re-uploads the control-plane certificates under a new key. Secrets are
 * registered for redaction and reach hosts only inside 0600 files. Not for dry-run.
 */
export async function joinMaterial(ctx: RunContext, forController: boolean): Promise<JoinMaterial> {
  const key = forController ? 'joinMaterial:cp' : 'joinMaterial'
  const memo = ctx.shared[key] as Promise<JoinMaterial> | undefined
  if (memo) return memo
  const p = (async () => {
    const api = await apiHost(ctx)
    if (!api) throw new Error('no controller has /etc/kubernetes/admin.conf: the cluster is not initialised (run `metalplane cluster apply`)')
    const init = ctx.shared.initSecrets as {token: string; certificateKey: string} | undefined
    let token = init?.token
    if (!token) {
      const r = await api.exec(`${BIN_DIR}/kubeadm token create --ttl 2h0m0s --description "metalplane join"`, {timeoutMs: 120_000})
      token = r.stdout.trim().split('\n').pop()!.trim()
      registerSecret(token)
    }
    let certificateKey = init?.certificateKey
    if (forController && !certificateKey) {
      certificateKey = generateCertificateKey()
      registerSecret(certificateKey)
      const k = certificateKey
      await withSecretFile(api, 'kubeadm-upload-certs.yaml', renderUploadCertsConfig(ctx.spec, k), (path) =>
        api.exec(`${BIN_DIR}/kubeadm init phase upload-certs --upload-certs --config ${path}`, {timeoutMs: 300_000, secret: true}),
      )
    }
    const ca = await readRemote(api, '/etc/kubernetes/pki/ca.crt')
    if (!ca) throw new Error(`${api.name}: /etc/kubernetes/pki/ca.crt is missing`)
    return {token, certificateKey, caCertHash: caCertHash(ca)}
  })()
  ctx.shared[key] = p
  // A failure must not be memoised for the next caller.
  p.catch(() => {
    if (ctx.shared[key] === p) delete ctx.shared[key]
  })
  return p
}
