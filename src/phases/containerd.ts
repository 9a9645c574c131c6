import {readFileSync} from 'node:fs'
import type {Phase, RunContext} from '../engine/phase.js'
import type {Host} from '../hosts/host.js'
import {render} from '../render/index.js'
import type {ClusterSpec} from '../spec/schema.js'
import {loadBundle, type Bundle} from './bundle.js'
import {nodeFacts} from './facts.js'
import {cgroupDriver, defaultSandboxImage} from './kubeadm-config.js'
import {change, ensureFile, fileDiffers, probe, readRemote, writeRemote} from './util.js'

export const CONFIG = '/etc/containerd/config.toml'
export const CRICTL = '/etc/crictl.yaml'
export const DEB_MARKER = '/var/lib/metalplane/containerd-debs.sha256'
const DEB_DIR = '/var/cache/metalplane/debs'

/** Registry host -> the upstream server containerd would talk to without a mirror. */
function upstream(registry: string): string {
  if (registry === 'docker.io') return 'https://registry-1.docker.io'
  return /^https?:\/\//.test(registry) ? registry : `https://${registry}`
}

/** The files containerd should have on a host: path -> content. */
export function containerdFiles(spec: ClusterSpec, host: Host): Map<string, string> {
  const f = nodeFacts(host)
  const {driver, reason} = cgroupDriver(f)
  const files = new Map<string, string>()
  files.set(
    CONFIG,
    render('containerd/config.toml', {
      sandboxImage: spec.spec.containerd.sandboxImage ?? defaultSandboxImage(spec),
      systemdCgroup: driver === 'systemd',
      cgroupReason: reason,
    }),
  )
  files.set(CRICTL, render('containerd/crictl.yaml', {}))
  for (const [registry, mirrors] of Object.entries(spec.spec.containerd.registryMirrors)) {
    const dir = registry.replace(/^https?:\/\//, '')
    files.set(`/etc/containerd/certs.d/${dir}/hosts.toml`, render('containerd/hosts.toml', {registry, server: upstream(registry), mirrors}))
  }
  return files
}

export function debMarker(b: Bundle): string {
  return b.debs.map((d) => `${d.sha256}  ${d.name}`).join('\n') + '\n'
}

/** Commands a node needs and the Debian packages that bring them (kubeadm's preflight wants conntrack and iptables). */
export const NODE_PACKAGES: Record<string, string> = {containerd: 'containerd', runc: 'runc', conntrack: 'conntrack', iptables: 'iptables'}

async function missingCommands(host: Host): Promise<string[]> {
  const r = await host.exec(Object.keys(NODE_PACKAGES).map((c) => `command -v ${c} >/dev/null || echo ${c}`).join('; '), {allowFail: true})
  return r.stdout.split(/\s+/).filter(Boolean)
}

async function installNeeded(host: Host, b: Bundle): Promise<boolean> {
  if (b.debs.length > 0 && (await readRemote(host, DEB_MARKER)) !== debMarker(b)) return true
  return (await missingCommands(host)).length > 0
}

async function serviceOk(host: Host): Promise<boolean> {
  return probe(host, 'systemctl is-enabled --quiet containerd && systemctl is-active --quiet containerd')
}

/**
 * containerd, runc, conntrack and iptables from the bundle's .debs (dpkg -i, all at once so
 * dependencies resolve among them) or, without debs, from the host's apt sources; containerd
 * configured from templates/containerd and restarted when its config changed.
 */
export const containerdPhase: Phase = {
  name: 'containerd',
  title: 'Install containerd, runc, conntrack, iptables; configure containerd',
  async prepare(ctx) {
    ctx.shared.bundle ??= loadBundle(ctx.spec)
  },
  async needsRun(ctx, host) {
    const b = ctx.shared.bundle as Bundle
    if (await installNeeded(host, b)) return true
    for (const [path, content] of containerdFiles(ctx.spec, host)) if (await fileDiffers(host, path, content)) return true
    return !(await serviceOk(host))
  },
  async run(ctx: RunContext, host: Host) {
    const b = ctx.shared.bundle as Bundle
    let restart = false
    if (await installNeeded(host, b)) {
      restart = true
      if (b.debs.length > 0) {
        await ctx.wet(host, `install ${b.debs.map((d) => d.name).join(', ')} (dpkg -i)`, async () => {
          await host.exec(`rm -rf ${DEB_DIR} && install -d -m 0755 ${DEB_DIR}`)
          for (const d of b.debs) await writeRemote(host, `${DEB_DIR}/${d.name}`, readFileSync(d.path))
          await host.exec(`DEBIAN_FRONTEND=noninteractive dpkg -i --force-confdef --force-confold ${DEB_DIR}/*.deb`, {timeoutMs: 900_000})
          await writeRemote(host, DEB_MARKER, debMarker(b))
          await host.exec(`rm -rf ${DEB_DIR}`)
        })
      }
      const missing = ctx.dryRun ? [] : await missingCommands(host)
      if (b.debs.length === 0 || missing.length > 0) {
        const pkgs = b.debs.length === 0 ? Object.values(NODE_PACKAGES) : missing.map((c) => NODE_PACKAGES[c])
        if (b.debs.length > 0) {
          throw new Error(`after installing ${b.dir}/debs, ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} still missing: add the Debian package(s) ${pkgs.join(', ')} and their dependencies to ${b.dir}/debs (apt-get download)`)
        }
        await change(ctx, host, `install ${pkgs.join(', ')} (apt-get install)`, `DEBIAN_FRONTEND=noninteractive apt-get install -y -o Dpkg::Options::=--force-confold ${pkgs.join(' ')}`, {timeoutMs: 900_000})
      }
    }
    for (const [path, content] of containerdFiles(ctx.spec, host)) {
      const changed = await ensureFile(ctx, host, path, content)
      if (changed && path !== CRICTL) restart = true
    }
    if (restart || !(await serviceOk(host))) {
      await change(ctx, host, 'enable and restart containerd', 'systemctl daemon-reload && systemctl enable containerd >/dev/null 2>&1 && systemctl restart containerd')
      if (!ctx.dryRun) {
        // containerd answers on its socket within seconds; wait for it before kubeadm needs it.
        const r = await host.exec('for i in $(seq 1 60); do ctr version >/dev/null 2>&1 && exit 0; sleep 0.5; done; exit 1', {allowFail: true, timeoutMs: 60_000})
        if (r.code !== 0) throw new Error('containerd does not answer on /run/containerd/containerd.sock after restart (see `journalctl -u containerd`)')
      }
    }
  },
}

export {nodeFacts}
