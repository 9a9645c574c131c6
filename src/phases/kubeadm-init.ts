import type {Phase, RunContext} from '../engine/phase.js'
import type {Host} from '../hosts/host.js'
import {registerSecret} from '../util/redact.js'
import {ADMIN_CONF, apiHost, initHost, selected} from './cluster.js'
import {nodeFacts} from './facts.js'
import {BIN_DIR, cgroupDriver, generateCertificateKey, generateToken, kubeadmApiVersion, renderInitConfig, renderKubeVip, vipInterface} from './kubeadm-config.js'
import {KUBE_VIP_MANIFEST} from './kube-vip.js'
import {ensureFile, probe, withSecretFile} from './util.js'
import {CRI_SOCKET} from './kubeadm-config.js'

/**
 * A failed kubeadm init/join leaves certificates, manifests or kubeconfigs that make the next
 * attempt fail its own preflight: undo it with kubeadm reset (best effort), then fail.
 */
export async function rollBack(host: Host, error: unknown): Promise<never> {
  const r = await host.exec(`${BIN_DIR}/kubeadm reset --force --cri-socket ${CRI_SOCKET}`, {allowFail: true, timeoutMs: 300_000}).catch(() => undefined)
  const e = error as Error
  e.message += r?.code === 0 ? '\n    (undone with kubeadm reset: the next run retries from a clean node)' : '\n    (kubeadm reset afterwards failed too: run `metalplane cluster reset --hosts ' + host.name + '` before retrying)'
  throw e
}

/**
 * kubeadm init on the first controller, only when no controller has admin.conf yet. With a VIP,
 * kube-vip's static pod goes in first so the control-plane endpoint answers during init.
 * `--upload-certs` stores the control-plane certificates (encrypted with the certificate key)
 * for the joins of further controllers.
 */
export const kubeadmInitPhase: Phase = {
  name: 'kubeadm-init',
  title: 'Initialise the control plane (kubeadm init)',
  serial: true,
  targets(ctx) {
    const first = initHost(ctx)
    const anyInitialised = ctx.hosts.some((h) => h.isController && h.facts.node && nodeFacts(h).adminConf)
    return anyInitialised ? [] : selected(ctx, [first])
  },
  async needsRun(ctx, host) {
    return !(await probe(host, `test -e ${ADMIN_CONF}`)) && (await apiHost(ctx)) === undefined
  },
  async run(ctx: RunContext, host: Host) {
    ctx.shared.initPlanned = true
    const f = nodeFacts(host)
    if (ctx.spec.spec.controlPlane.vip) {
      await ensureFile(ctx, host, KUBE_VIP_MANIFEST, renderKubeVip(ctx.spec, vipInterface(host, f), true), 0o600)
    }
    const api = kubeadmApiVersion(ctx.spec)
    await ctx.wet(host, `kubeadm init --upload-certs (config kubeadm.k8s.io/${api}, endpoint ${ctx.spec.spec.controlPlane.vip ?? host.spec.address})`, async () => {
      const secrets = {token: generateToken(), certificateKey: generateCertificateKey()}
      registerSecret(secrets.token)
      registerSecret(secrets.certificateKey)
      const config = renderInitConfig(ctx.spec, host.spec, secrets, cgroupDriver(f).driver)
      await withSecretFile(host, 'kubeadm-init.yaml', config, (path) =>
        host.exec(`${BIN_DIR}/kubeadm init --config ${path} --upload-certs`, {timeoutMs: 900_000, secret: true}),
      ).catch((error) => rollBack(host, error))
      ctx.shared.initSecrets = secrets
    })
  },
}
