import type {Phase, RunContext} from '../engine/phase.js'
import type {Host} from '../hosts/host.js'
import type {ClusterSpec, HostSpec} from '../spec/schema.js'
import {isController} from '../spec/schema.js'
import {nodeFacts, type NodeFacts} from './facts.js'

/**
 * Preflight checks what metalplane cannot fix itself. What the OS-prep phase fixes (kernel
 * modules not loaded, sysctls not set) is not a preflight failure. Names follow kubeadm's
 * (NumCPU, Mem, Swap, Port-6443, ...) so `--ignore-preflight-errors` reads the same.
 */
export interface PreflightOptions {
  /** Check names to downgrade to warnings; "all" downgrades every check. */
  ignore?: string[]
  /** Minimums; kubeadm's for control-plane nodes are 2 CPUs and 1700 MB. */
  minControllerCpus?: number
  minControllerMemoryMB?: number
  minWorkerCpus?: number
  minWorkerMemoryMB?: number
}

export interface CheckResult {
  check: string
  message: string
}

export interface PreflightReport {
  host: string
  errors: CheckResult[]
  warnings: CheckResult[]
}

export const SUPPORTED_OS: Record<string, number> = {debian: 11, ubuntu: 20.04}
export const MIN_KERNEL = '4.19'

function versionAtLeast(v: string, min: string): boolean {
  const a = v.split(/[.-]/).map((x) => parseInt(x, 10))
  const b = min.split('.').map((x) => parseInt(x, 10))
  for (let i = 0; i < b.length; i++) {
    const x = Number.isNaN(a[i]) || a[i] === undefined ? 0 : a[i]
    if (x !== b[i]) return x > b[i]
  }
  return true
}

/** Ports kubeadm needs free on a node that is not yet part of the cluster. */
export function requiredPorts(spec: ClusterSpec, h: HostSpec): number[] {
  const ports = [10250]
  if (isController(h)) ports.unshift(spec.spec.controlPlane.port, 2379, 2380, 10257, 10259)
  return ports
}

/** Values shared by more than one host: value -> host names. */
export function duplicates(entries: {host: string; values: string[]}[]): Map<string, string[]> {
  const seen = new Map<string, string[]>()
  for (const e of entries) for (const v of new Set(e.values)) if (v) seen.set(v, [...(seen.get(v) ?? []), e.host])
  return new Map([...seen].filter(([, hosts]) => hosts.length > 1))
}

/**
 * The preflight decision for one host, from its facts and those of all hosts (pure, so it is
 * unit-tested on captured facts).
 */
export function preflightHost(spec: ClusterSpec, h: HostSpec, f: NodeFacts, all: {host: string; facts: NodeFacts}[], opts: PreflightOptions = {}): PreflightReport {
  const errors: CheckResult[] = []
  const warnings: CheckResult[] = []
  const ignore = new Set((opts.ignore ?? []).map((s) => s.toLowerCase()))
  const fail = (check: string, message: string) => {
    if (ignore.has('all') || ignore.has(check.toLowerCase())) warnings.push({check, message: `${message} (ignored)`})
    else errors.push({check, message})
  }
  const warn = (check: string, message: string) => warnings.push({check, message})

  if (!f.systemd) fail('Systemd', 'systemd is not the init system (PID 1); metalplane manages containerd and kubelet as systemd services')
  const minOs = SUPPORTED_OS[f.osId]
  if (minOs === undefined) fail('OS', `${f.osPrettyName || f.osId || 'unknown OS'} is not supported; use Debian >= 11 or Ubuntu >= 20.04`)
  else if (!versionAtLeast(f.osVersionId, String(minOs))) fail('OS', `${f.osPrettyName} is too old; use ${f.osId} >= ${minOs}`)
  if (!['x86_64', 'aarch64'].includes(f.arch)) fail('Arch', `architecture ${f.arch} is not supported (x86_64, aarch64)`)
  if (!versionAtLeast(f.kernel, MIN_KERNEL)) fail('KernelVersion', `kernel ${f.kernel} is older than ${MIN_KERNEL}, the oldest Kubernetes supports`)

  const ctl = isController(h)
  const minCpus = ctl ? opts.minControllerCpus ?? 2 : opts.minWorkerCpus ?? 1
  const minMem = ctl ? opts.minControllerMemoryMB ?? 1700 : opts.minWorkerMemoryMB ?? 1024
  if (f.cpus < minCpus) fail('NumCPU', `${f.cpus} CPU(s), a ${ctl ? 'controller' : 'worker'} needs at least ${minCpus}`)
  if (f.memoryMB < minMem) fail('Mem', `${f.memoryMB} MB of memory, a ${ctl ? 'controller' : 'worker'} needs at least ${minMem} MB`)

  if (f.swaps.length > 0)
    fail('Swap', `swap is on (${f.swaps.join(', ')}); the kubelet refuses to run with swap. Run \`swapoff -a\` and remove the swap entries from /etc/fstab (and disable swap units), then re-run`)

  // A host already in the cluster legitimately listens on these ports.
  if (!f.kubeletConf && !f.adminConf) {
    const busy = requiredPorts(spec, h).filter((p) => f.listening.includes(p))
    for (const p of busy) fail(`Port-${p}`, `port ${p} is in use by another program; stop it (see \`ss -ltnp 'sport = :${p}'\`)`)
  }

  if (f.timeSynced === false && !f.timeDaemon) warn('TimeSync', 'the clock is not synchronised and no time daemon runs; certificates break under clock skew (install chrony or systemd-timesyncd)')
  else if (f.timeSynced === undefined && !f.timeDaemon) warn('TimeSync', 'cannot tell whether the clock is synchronised (no timedatectl answer, no time daemon active)')

  const others = (key: 'hostname' | 'productUuid' | 'macs') =>
    duplicates(all.map((a) => ({host: a.host, values: key === 'macs' ? a.facts.macs : [a.facts[key]]})))
  const mine = (dups: Map<string, string[]>, values: string[]) => values.flatMap((v) => (dups.has(v) ? [[v, dups.get(v)!.filter((x) => x !== h.name)] as const] : []))
  for (const [v, hosts] of mine(others('hostname'), [f.hostname])) fail('DuplicateHostname', `hostname "${v}" is also the hostname of ${hosts.join(', ')}; give every host its own hostname`)
  for (const [v, hosts] of mine(others('macs'), f.macs)) fail('DuplicateMAC', `MAC address ${v} is also on ${hosts.join(', ')}; cloned machines need their own MACs`)
  for (const [v, hosts] of mine(others('productUuid'), [f.productUuid])) fail('DuplicateProductUUID', `product_uuid ${v} is also the one of ${hosts.join(', ')}; cloned machines need their own (and their own /etc/machine-id)`)
  return {host: h.name, errors, warnings}
}

export function preflightPhase(opts: PreflightOptions = {}): Phase {
  return {
    name: 'preflight',
    title: 'Preflight checks',
    async needsRun(ctx: RunContext, host: Host) {
      const all = ctx.hosts.map((x) => ({host: x.name, facts: nodeFacts(x)}))
      const r = preflightHost(ctx.spec, host.spec, nodeFacts(host), all, opts)
      for (const w of r.warnings) ctx.log.warn(`[${host.name}] preflight ${w.check}: ${w.message}`)
      const reports = (ctx.shared.preflight ??= []) as PreflightReport[]
      reports.push(r)
      if (r.errors.length > 0) throw new Error(r.errors.map((e) => `[${e.check}] ${e.message}`).join('; '))
      return false // checks change nothing: a passing host is "up to date"
    },
    async run() {},
  }
}
