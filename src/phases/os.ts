import type {Phase, RunContext} from '../engine/phase.js'
import type {Host} from '../hosts/host.js'
import {render} from '../render/index.js'
import {change, ensureFile, fileDiffers} from './util.js'

export const MODULES_FILE = '/etc/modules-load.d/metalplane-k8s.conf'
export const SYSCTL_FILE = '/etc/sysctl.d/99-metalplane-k8s.conf'
export const MODULES = ['overlay', 'br_netfilter']
export const SYSCTLS = [
  {key: 'net.bridge.bridge-nf-call-iptables', value: '1'},
  {key: 'net.bridge.bridge-nf-call-ip6tables', value: '1'},
  {key: 'net.ipv4.ip_forward', value: '1'},
]

export const modulesConf = () => render('os/modules-load.conf', {modules: MODULES})
export const sysctlConf = () => render('os/sysctl.conf', {sysctls: SYSCTLS})

/** Shell test that a module's function is present (loaded or built in). */
const moduleLoaded: Record<string, string> = {
  overlay: 'grep -qw overlay /proc/filesystems',
  br_netfilter: 'test -d /proc/sys/net/bridge',
}

async function missingModules(host: Host): Promise<string[]> {
  const r = await host.exec(MODULES.map((m) => `${moduleLoaded[m]} || echo ${m}`).join('; '), {allowFail: true})
  return r.stdout.split(/\s+/).filter(Boolean)
}

async function wrongSysctls(host: Host): Promise<string[]> {
  const r = await host.exec(SYSCTLS.map((s) => `printf '%s=%s\\n' ${s.key} "$(sysctl -n ${s.key} 2>/dev/null)"`).join('; '), {allowFail: true})
  const got = new Map(r.stdout.split('\n').filter(Boolean).map((l) => l.split('=') as [string, string]))
  return SYSCTLS.filter((s) => got.get(s.key)?.trim() !== s.value).map((s) => s.key)
}

/** Kernel modules and sysctls Kubernetes networking needs, now and at every boot. */
export const osPhase: Phase = {
  name: 'os',
  title: 'Prepare the OS (kernel modules, sysctls)',
  async needsRun(_ctx, host) {
    return (
      (await fileDiffers(host, MODULES_FILE, modulesConf())) ||
      (await fileDiffers(host, SYSCTL_FILE, sysctlConf())) ||
      (await missingModules(host)).length > 0 ||
      (await wrongSysctls(host)).length > 0
    )
  },
  async run(ctx: RunContext, host: Host) {
    await ensureFile(ctx, host, MODULES_FILE, modulesConf())
    const sysctlChanged = await ensureFile(ctx, host, SYSCTL_FILE, sysctlConf())
    const missing = await missingModules(host)
    if (missing.length > 0) await change(ctx, host, `load kernel modules ${missing.join(', ')}`, `modprobe -a ${missing.join(' ')}`)
    if (sysctlChanged || (await wrongSysctls(host)).length > 0) await change(ctx, host, 'apply sysctls (sysctl --system)', 'sysctl --system >/dev/null 2>&1 || true')
    if (ctx.dryRun) return
    const still = await missingModules(host)
    if (still.length > 0) throw new Error(`kernel module(s) ${still.join(', ')} could not be loaded; install the kernel's modules package and re-run`)
    const wrong = await wrongSysctls(host)
    if (wrong.length > 0) throw new Error(`sysctl(s) ${wrong.join(', ')} could not be set (see \`sysctl --system\` on the host)`)
  },
}
