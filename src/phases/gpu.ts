/**
 * NVIDIA GPU nodes.
 *
 * `gpu-runtime` (per host, after containerd is installed, before kubeadm): detects NVIDIA GPUs
 * from sysfs (PCI vendor 0x10de, class 0x03xx — display/3D controllers; NVSwitches and HDMI audio
 * functions are other classes and do not count), checks the driver with nvidia-smi, installs
 * nvidia-container-toolkit (bundle debs or apt) and gives containerd an `nvidia` runtime through a
 * drop-in under /etc/containerd/conf.d/. A GPU node without a working driver is reported (warning
 * naming the host and what to install) and left without the runtime; the cluster still comes up.
 *
 * `gpu-objects` (through the first controller, after the nodes joined): RuntimeClass `nvidia`,
 * the NVIDIA device plugin DaemonSet (image pinned by spec.gpu.devicePluginVersion) and node
 * labels.
 *
 * Labels: `metalplane.io/gpu=nvidia` marks a node whose GPUs are usable (driver + runtime); the
 * device plugin and the RuntimeClass select on it. Every node with NVIDIA GPUs gets
 * `metalplane.io/gpu.model`, `metalplane.io/gpu.count` and `metalplane.io/gpu.driver` (the driver
 * version, or `missing`).
 *
 * containerd drop-ins: containerd 1.6/1.7 merge an imported file into the main config section by
 * section: a drop-in's `[plugins."io.containerd.grpc.v1.cri"...]` REPLACES the main config's whole
 * CRI plugin section (config.go mergeConfig copies `Plugins[k]` over; containerd issue #5837;
 * NVIDIA's own installer copies the CRI section into its drop-in for the same reason). So for a
 * version 2 config the drop-in carries the main config's CRI tables verbatim plus the nvidia
 * runtime, and records the main config's sha256: when the main config changes, the next apply
 * regenerates the drop-in. A version 3 config (containerd 2.x, merged key by key) gets the runtime
 * tables alone. We write the drop-in ourselves instead of running `nvidia-ctk runtime configure
 * --runtime=containerd --drop-in-config=...`: its output depends on the toolkit version installed
 * (copying the CRI section into the drop-in came only with the fix for the issue above), and ours
 * is the same on every node, shown as a diff in the plan, and tested against the real containerd.
 */
import {createHash} from 'node:crypto'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join, posix} from 'node:path'
import {MetalplaneError} from '../errors.js'
import type {Phase, RunContext} from '../engine/phase.js'
import type {Host} from '../hosts/host.js'
import {shq} from '../hosts/executor.js'
import {labelValue, nvidiaDevicePlugin, runtimeClass, type KubeObject} from '../kube/objects.js'
import {firstController, kubectlApply, kubectlUpToDate, labelNode, nodeLabels} from '../kube/kubectl.js'

export const NVIDIA_VENDOR = '10de'
export const LABEL_GPU = 'metalplane.io/gpu'
export const LABEL_MODEL = 'metalplane.io/gpu.model'
export const LABEL_COUNT = 'metalplane.io/gpu.count'
export const LABEL_DRIVER = 'metalplane.io/gpu.driver'
export const RUNTIME_NAME = 'nvidia'
export const CONTAINERD_CONFIG = '/etc/containerd/config.toml'
export const CONTAINERD_DROPIN_DIR = '/etc/containerd/conf.d'
export const CONTAINERD_DROPIN = '/etc/containerd/conf.d/99-nvidia.toml'
export const NVIDIA_RUNTIME_BINARY = '/usr/bin/nvidia-container-runtime'
/** The debs of nvidia-container-toolkit, in install order. */
export const TOOLKIT_DEBS = ['libnvidia-container1', 'libnvidia-container-tools', 'nvidia-container-toolkit-base', 'nvidia-container-toolkit']

/**
 * Names of NVIDIA data-centre and workstation GPUs by PCI device id, from the public pci.ids
 * database (2023.04.10). Used for the model label; unknown ids are labelled by their id.
 */
export const NVIDIA_DEVICE_NAMES: Record<string, string> = {
  '1db1': 'V100-SXM2-16GB',
  '1db4': 'V100-PCIe-16GB',
  '1db5': 'V100-SXM2-32GB',
  '1db6': 'V100-PCIe-32GB',
  '1df6': 'V100S-PCIe-32GB',
  '1eb8': 'T4',
  '20b0': 'A100-SXM4-40GB',
  '20b2': 'A100-SXM4-80GB',
  '20b3': 'A100-SXM-64GB',
  '20b5': 'A100-PCIe-80GB',
  '20b7': 'A30-PCIe',
  '20f1': 'A100-PCIe-40GB',
  '20f3': 'A800-SXM4-80GB',
  '20f5': 'A800-PCIe-80GB',
  '2230': 'RTX-A6000',
  '2235': 'A40',
  '2236': 'A10',
  '2237': 'A10G',
  '2322': 'H800-PCIe',
  '2324': 'H800',
  '2330': 'H100-SXM5-80GB',
  '2331': 'H100-PCIe',
  '2339': 'H100',
  '25b6': 'A2-A16',
  '26b5': 'L40',
  '27b8': 'L4',
}

export interface PciDevice {
  address: string
  vendor: string
  device: string
  class: string
}

export interface GpuFacts {
  gpus: PciDevice[]
  /** Model label value. */
  model: string
  /** Driver version from nvidia-smi; undefined when the driver is missing or not working. */
  driverVersion?: string
  /** GPU names nvidia-smi reports. */
  smiNames: string[]
  /** Why the driver counts as missing (nvidia-smi's complaint). */
  driverProblem?: string
  /** Explicit `gpu: nvidia` in the spec but no NVIDIA GPU found. */
  declaredButAbsent?: boolean
}

function hex(v: string, width: number): string {
  return v.trim().toLowerCase().replace(/^0x/, '').padStart(width, '0')
}

/** Parse the lines printed by the sysfs listing script: "<address> <vendor> <device> <class>". */
export function parsePciListing(text: string): PciDevice[] {
  const out: PciDevice[] = []
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f.length < 4 || !f[1]) continue
    out.push({address: f[0], vendor: hex(f[1], 4), device: hex(f[2], 4), class: hex(f[3], 6)})
  }
  return out
}

/** NVIDIA display/3D controllers (class 0x03xxxx); NVSwitches (0x0680) and audio (0x0403) are not GPUs. */
export function nvidiaGpus(devs: PciDevice[]): PciDevice[] {
  return devs.filter((d) => d.vendor === NVIDIA_VENDOR && d.class.startsWith('03'))
}

/** Model label: the pci.ids name of the most common device id, else "10de-<id>". */
export function gpuModel(gpus: PciDevice[]): string {
  if (gpus.length === 0) return ''
  const counts = new Map<string, number>()
  for (const g of gpus) counts.set(g.device, (counts.get(g.device) ?? 0) + 1)
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0][0]
  return labelValue(NVIDIA_DEVICE_NAMES[top] ?? `${NVIDIA_VENDOR}-${top}`)
}

/** Parse `nvidia-smi --query-gpu=name,driver_version --format=csv,noheader`. */
export function parseNvidiaSmi(text: string): {names: string[]; driverVersion?: string} {
  const rows = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const i = l.lastIndexOf(',')
      return i < 0 ? undefined : {name: l.slice(0, i).trim(), version: l.slice(i + 1).trim()}
    })
  if (rows.length === 0 || rows.some((r) => !r || !/^\d+(\.\d+)+$/.test(r.version))) return {names: []}
  return {names: rows.map((r) => r!.name), driverVersion: rows[0]!.version}
}

/** Labels for a node with NVIDIA GPUs; `metalplane.io/gpu` only when the GPUs are usable. */
export function gpuLabels(f: GpuFacts): Record<string, string | null> {
  return {
    [LABEL_GPU]: f.driverVersion ? 'nvidia' : null,
    [LABEL_MODEL]: f.model,
    [LABEL_COUNT]: String(f.gpus.length),
    [LABEL_DRIVER]: f.driverVersion ? labelValue(f.driverVersion) : 'missing',
  }
}

export function missingDriverMessage(host: string, f: GpuFacts): string {
  return (
    `${host}: ${f.gpus.length} NVIDIA GPU(s) (${f.model}) but no working NVIDIA driver` +
    (f.driverProblem ? ` (nvidia-smi: ${f.driverProblem})` : '') +
    `. Install the NVIDIA data-centre driver on the host (e.g. apt-get install nvidia-driver, or NVIDIA's ` +
    `cuda-drivers / nvidia-driver-<branch>-server packages), reboot or load the nvidia module, and re-run apply. ` +
    `The node joins without the nvidia runtime and is labelled ${LABEL_DRIVER}=missing.`
  )
}

export interface GpuOptions {
  /** Tests only: read /sys below this root (a fixture tree) instead of the host's /sys. */
  sysRoot?: string | ((host: Host) => string)
  /** The nvidia-smi command (tests: a fixture script). */
  nvidiaSmi?: string | ((host: Host) => string)
  /** Manage containerd through systemd: 'auto' restarts it when systemd is init. */
  systemd?: 'auto' | 'always' | 'never'
  /** Where the drop-in goes (tests); default /etc/containerd/conf.d/99-nvidia.toml. */
  dropInPath?: string
  /** Main containerd config (tests); default /etc/containerd/config.toml. */
  containerdConfig?: string
  /** nvidia-container-runtime (tests); default /usr/bin/nvidia-container-runtime. */
  runtimeBinary?: string
}

const FACTS_KEY = 'gpu'

function pciRoot(host: Host, o: GpuOptions): string {
  const root = typeof o.sysRoot === 'function' ? o.sysRoot(host) : o.sysRoot ?? '/'
  return posix.join(root, 'sys/bus/pci/devices')
}

/** Read-only detection on one host: PCI devices from sysfs, then nvidia-smi when GPUs are there. */
export async function detectGpus(host: Host, o: GpuOptions = {}): Promise<GpuFacts> {
  const root = pciRoot(host, o)
  const script = `for d in ${shq(root)}/*; do [ -r "$d/vendor" ] || continue; printf '%s %s %s %s\\n' "\${d##*/}" "$(cat "$d/vendor")" "$(cat "$d/device")" "$(cat "$d/class")"; done`
  const r = await host.exec(script, {allowFail: true})
  const gpus = nvidiaGpus(parsePciListing(r.stdout))
  const facts: GpuFacts = {gpus, model: gpuModel(gpus), smiNames: []}
  if (gpus.length === 0) return facts
  const cmd = typeof o.nvidiaSmi === 'function' ? o.nvidiaSmi(host) : o.nvidiaSmi ?? 'nvidia-smi'
  const smi = await host.exec(`${cmd} --query-gpu=name,driver_version --format=csv,noheader`, {allowFail: true, timeoutMs: 60_000})
  if (smi.code === 0) {
    const p = parseNvidiaSmi(smi.stdout)
    facts.smiNames = p.names
    facts.driverVersion = p.driverVersion
    if (!p.driverVersion) facts.driverProblem = `unexpected output: ${smi.stdout.trim().split('\n')[0]}`
  } else if (smi.code === 127) {
    facts.driverProblem = 'not installed'
  } else {
    facts.driverProblem = (smi.stdout + smi.stderr).trim().split('\n')[0] || `exit code ${smi.code}`
  }
  return facts
}

/** Detect on every host that may have GPUs (spec gpu != none); warns about missing drivers once. */
async function gatherAll(ctx: RunContext, o: GpuOptions): Promise<void> {
  await Promise.all(
    ctx.hosts
      .filter((h) => h.spec.gpu !== 'none' && h.facts[FACTS_KEY] === undefined)
      .map(async (h) => {
        const f = await detectGpus(h, o)
        if (h.spec.gpu === 'nvidia' && f.gpus.length === 0) {
          f.declaredButAbsent = true
          ctx.log.warn(`${h.name}: the spec says gpu: nvidia but no NVIDIA GPU is on its PCI bus (${pciRoot(h, o)}); treated as a node without GPUs`)
        }
        if (f.gpus.length > 0 && !f.driverVersion) ctx.log.warn(missingDriverMessage(h.name, f))
        h.facts[FACTS_KEY] = f
      }),
  )
}

export function gpuFacts(h: Host): GpuFacts | undefined {
  const f = h.facts[FACTS_KEY] as GpuFacts | undefined
  return f && f.gpus.length > 0 ? f : undefined
}

// ---------------------------------------------------------------------------------------------
// containerd drop-in

const CRI_V2 = 'plugins."io.containerd.grpc.v1.cri"'
const CRI_V3 = 'plugins."io.containerd.cri.v1.runtime"'

/** `version = N` of a containerd config (1 when absent, as containerd reads it). */
export function containerdConfigVersion(toml: string): number {
  const m = /^\s*version\s*=\s*(\d+)\s*$/m.exec(toml)
  return m ? Number(m[1]) : 1
}

/** True when the main config imports the drop-in directory (`imports = [...]` naming conf.d/*.toml or the file). */
export function importsDropIns(toml: string, dropIn = CONTAINERD_DROPIN): boolean {
  const m = /^\s*imports\s*=\s*\[([^\]]*)\]/m.exec(toml)
  if (!m) return false
  const dir = posix.dirname(dropIn)
  return [...m[1].matchAll(/"([^"]+)"|'([^']+)'/g)].map((x) => x[1] ?? x[2]).some((p) => p === dropIn || p === `${dir}/*.toml` || p === `${dir}/*`)
}

function normHeader(line: string): string | undefined {
  const m = /^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$/.exec(line)
  return m ? m[1].replace(/\s*\.\s*/g, '.') : undefined
}

/**
 * The tables of a TOML text whose names start with `prefix` (header lines included), in order.
 * Assumes the CRI plugin is written as `[plugins."io.containerd.grpc.v1.cri"...]` tables, as
 * `containerd config default` and our template write it.
 */
export function extractTables(toml: string, prefix: string, exclude: (name: string) => boolean = () => false): string {
  const out: string[] = []
  let keep = false
  for (const line of toml.split('\n')) {
    const h = normHeader(line)
    if (h !== undefined) keep = (h === prefix || h.startsWith(prefix + '.')) && !exclude(h)
    if (keep) out.push(line)
  }
  while (out.length > 0 && out.at(-1)!.trim() === '') out.pop()
  return out.join('\n')
}

/** SystemdCgroup of the runc runtime in the main config (the nvidia runtime must use the same cgroup driver). */
export function runcSystemdCgroup(toml: string, version: number): boolean {
  const table = `${version >= 3 ? CRI_V3 : CRI_V2}.containerd.runtimes.runc.options`
  const t = extractTables(toml, table)
  const m = /^\s*SystemdCgroup\s*=\s*(true|false)/m.exec(t)
  return m ? m[1] === 'true' : false
}

/** The drop-in text for the nvidia runtime, derived from the main containerd config. */
export function containerdDropIn(mainConfig: string, runtimeBinary = NVIDIA_RUNTIME_BINARY): string {
  const version = containerdConfigVersion(mainConfig)
  if (version < 2) throw new MetalplaneError(`containerd config version ${version} is not supported for the nvidia runtime drop-in (need version = 2 or 3)`, {code: 'CONTAINERD_CONFIG'})
  const cri = version >= 3 ? CRI_V3 : CRI_V2
  const runtime = `${cri}.containerd.runtimes.${RUNTIME_NAME}`
  const systemd = runcSystemdCgroup(mainConfig, version)
  const sha = createHash('sha256').update(mainConfig).digest('hex')
  const lines = [
    `# Managed by metalplane: the nvidia runtime for containerd. Do not edit.`,
    `# Generated from ${CONTAINERD_CONFIG} sha256:${sha}`,
  ]
  lines.push(`version = ${version}`, '')
  if (version === 2) {
    lines.push(
      '# containerd 1.x replaces a whole plugin section with the imported one, so the CRI tables of',
      `# ${CONTAINERD_CONFIG} are repeated here; apply regenerates this file when that one changes.`,
    )
    const copied = extractTables(mainConfig, cri, (n) => n === runtime || n.startsWith(runtime + '.'))
    if (!copied) throw new MetalplaneError(`${CONTAINERD_CONFIG} has no [${cri}] tables to carry into the nvidia drop-in`, {code: 'CONTAINERD_CONFIG'})
    lines.push(copied, '')
  }
  lines.push(
    `[${runtime}]`,
    `  runtime_type = "io.containerd.runc.v2"`,
    `  privileged_without_host_devices = false`,
    `[${runtime}.options]`,
    `  BinaryName = "${runtimeBinary}"`,
    `  SystemdCgroup = ${systemd}`,
    '',
  )
  return lines.join('\n')
}

async function systemdIsInit(host: Host, o: GpuOptions): Promise<boolean> {
  if (o.systemd === 'always') return true
  if (o.systemd === 'never') return false
  return (await host.exec('test -d /run/systemd/system', {allowFail: true})).code === 0
}

/**
 * The toolkit debs for `arch` (amd64, arm64), in install order; [] unless all four are there.
 * Looked up in `<bundle>/debs/nvidia/` first: debs directly in `<bundle>/debs/` are installed on
 * every host by the containerd phase, and the toolkit belongs on GPU nodes only.
 */
export function bundleToolkitDebs(bundle: string | undefined, arch: string): string[] {
  if (!bundle) return []
  for (const dir of [join(bundle, 'debs', 'nvidia'), join(bundle, 'debs')]) {
    if (!existsSync(dir)) continue
    const files = readdirSync(dir)
    const found: string[] = []
    for (const pkg of TOOLKIT_DEBS) {
      const f = files.filter((n) => n.startsWith(`${pkg}_`) && (n.endsWith(`_${arch}.deb`) || n.endsWith('_all.deb'))).sort().at(-1)
      if (f) found.push(join(dir, f))
    }
    if (found.length === TOOLKIT_DEBS.length) return found
  }
  return []
}

interface RuntimeState {
  toolkit: boolean
  mainConfig?: string
  dropIn?: string
  arch: string
}

async function runtimeState(host: Host, o: GpuOptions): Promise<RuntimeState> {
  const tk = await host.exec(`command -v nvidia-ctk >/dev/null && test -x ${shq(o.runtimeBinary ?? NVIDIA_RUNTIME_BINARY)}`, {allowFail: true})
  const arch = (await host.exec('dpkg --print-architecture 2>/dev/null || uname -m', {allowFail: true})).stdout.trim() || 'amd64'
  const main = await host.executor.download(o.containerdConfig ?? CONTAINERD_CONFIG, {sudo: host.spec.user !== 'root'})
  const drop = await host.executor.download(o.dropInPath ?? CONTAINERD_DROPIN, {sudo: host.spec.user !== 'root'})
  return {toolkit: tk.code === 0, mainConfig: main?.toString('utf8'), dropIn: drop?.toString('utf8'), arch}
}

/** Toolkit and containerd runtime on each GPU node with a working driver. */
export function createGpuRuntimePhase(o: GpuOptions = {}): Phase {
  const stateKey = 'gpu.runtime'
  return {
    name: 'gpu-runtime',
    title: 'NVIDIA container runtime on GPU nodes',
    async prepare(ctx) {
      await gatherAll(ctx, o)
      await Promise.all(
        ctx.hosts.filter((h) => gpuFacts(h)?.driverVersion).map(async (h) => {
          h.facts[stateKey] = await runtimeState(h, o)
        }),
      )
    },
    targets: (ctx) => ctx.hosts.filter((h) => gpuFacts(h)?.driverVersion),
    async needsRun(_ctx, host) {
      const s = host.facts[stateKey] as RuntimeState
      if (!s.toolkit || !s.mainConfig) return true
      return s.dropIn !== containerdDropIn(s.mainConfig, o.runtimeBinary)
    },
    async run(ctx, host) {
      const s = host.facts[stateKey] as RuntimeState
      const mainPath = o.containerdConfig ?? CONTAINERD_CONFIG
      const dropPath = o.dropInPath ?? CONTAINERD_DROPIN
      if (!s.mainConfig) {
        throw new MetalplaneError(`${mainPath} does not exist; the containerd phase must run before gpu-runtime`, {code: 'CONTAINERD_CONFIG'})
      }
      if (!importsDropIns(s.mainConfig, dropPath)) {
        throw new MetalplaneError(
          `${mainPath} does not import ${posix.dirname(dropPath)}/*.toml, so the nvidia runtime drop-in would be ignored; ` +
            `the main config needs: imports = ["${posix.dirname(dropPath)}/*.toml"]`,
          {code: 'CONTAINERD_CONFIG'},
        )
      }
      if (!s.toolkit) {
        if (!ctx.spec.spec.gpu.installToolkit) {
          throw new MetalplaneError(`nvidia-container-toolkit is not installed and spec.gpu.installToolkit is false; install it on the host or set installToolkit: true`, {code: 'NO_TOOLKIT'})
        }
        const debs = bundleToolkitDebs(ctx.spec.spec.bundle, s.arch)
        if (debs.length > 0) {
          const remoteDir = '/var/cache/metalplane/debs/nvidia'
          await ctx.wet(host, `install nvidia-container-toolkit from the bundle (${debs.map((d) => posix.basename(d)).join(', ')})`, async () => {
            await host.exec(`mkdir -p ${remoteDir}`)
            const remote: string[] = []
            for (const d of debs) {
              const r = posix.join(remoteDir, posix.basename(d))
              await host.executor.upload(readFileSync(d), r, {mode: 0o644, sudo: host.spec.user !== 'root'})
              remote.push(r)
            }
            await host.exec(`DEBIAN_FRONTEND=noninteractive dpkg -i ${remote.map(shq).join(' ')}`, {timeoutMs: 600_000})
          })
        } else {
          const where = ctx.spec.spec.bundle ? ` (not in ${join(ctx.spec.spec.bundle, 'debs', 'nvidia')}: need ${TOOLKIT_DEBS.map((p) => `${p}_*_${s.arch}.deb`).join(', ')})` : ''
          await ctx.wet(host, `apt-get install nvidia-container-toolkit${where}`, async () => {
            const r = await host.exec('DEBIAN_FRONTEND=noninteractive apt-get install -y nvidia-container-toolkit', {allowFail: true, timeoutMs: 600_000})
            if (r.code !== 0) {
              throw new MetalplaneError(
                `apt-get install nvidia-container-toolkit failed${where}: ${(r.stderr || r.stdout).trim().split('\n').at(-1)}. ` +
                  `Put the toolkit debs into <bundle>/debs/ (see docs/bundle.md) or add NVIDIA's apt repository on the host`,
                {code: 'NO_TOOLKIT'},
              )
            }
          })
        }
      }
      const drop = containerdDropIn(s.mainConfig, o.runtimeBinary)
      if (s.dropIn !== drop) {
        await ctx.wet(host, `write ${dropPath} (containerd runtime "${RUNTIME_NAME}")`, () => host.executor.upload(drop, dropPath, {mode: 0o644, sudo: host.spec.user !== 'root'}), {diff: drop})
        if (await systemdIsInit(host, o)) {
          await ctx.wet(host, 'restart containerd', () => host.exec('systemctl restart containerd'))
        } else {
          ctx.log.warn(`${host.name}: systemd is not the init system; restart containerd yourself to load ${dropPath}`)
        }
      }
    },
  }
}

export const gpuRuntimePhase = createGpuRuntimePhase()

// ---------------------------------------------------------------------------------------------
// Cluster objects and labels

export function gpuObjects(devicePluginVersion: string): KubeObject[] {
  const sel = {[LABEL_GPU]: 'nvidia'}
  return [runtimeClass(RUNTIME_NAME, RUNTIME_NAME, sel), nvidiaDevicePlugin({version: devicePluginVersion, nodeSelector: sel, runtimeClassName: RUNTIME_NAME})]
}

function labelsDiffer(want: Record<string, string | null>, have: Record<string, string>): boolean {
  return Object.entries(want).some(([k, v]) => (v === null ? k in have : have[k] !== v))
}

/** RuntimeClass, device plugin and node labels, applied through the first controller. */
export function createGpuObjectsPhase(o: GpuOptions = {}): Phase {
  const gpuHosts = (ctx: RunContext) => ctx.hosts.filter((h) => gpuFacts(h))
  return {
    name: 'gpu-objects',
    title: 'GPU device plugin, RuntimeClass and node labels',
    async prepare(ctx) {
      await gatherAll(ctx, o)
    },
    targets: (ctx) => (gpuHosts(ctx).length > 0 ? [firstController(ctx.hosts)] : []),
    async needsRun(ctx, host) {
      try {
        if (!(await kubectlUpToDate(host, gpuObjects(ctx.spec.spec.gpu.devicePluginVersion)))) return true
        for (const h of gpuHosts(ctx)) {
          const have = await nodeLabels(host, h.name)
          if (!have || labelsDiffer(gpuLabels(gpuFacts(h)!), have)) return true
        }
        return false
      } catch (error) {
        if (ctx.dryRun) return true
        throw error
      }
    },
    async run(ctx, host) {
      const docs = gpuObjects(ctx.spec.spec.gpu.devicePluginVersion)
      await ctx.wet(host, `kubectl apply RuntimeClass ${RUNTIME_NAME} and DaemonSet nvidia-device-plugin (${ctx.spec.spec.gpu.devicePluginVersion})`, () => kubectlApply(host, docs))
      for (const h of gpuHosts(ctx)) {
        const f = gpuFacts(h)!
        const want = gpuLabels(f)
        const have = ctx.dryRun ? undefined : await nodeLabels(host, h.name)
        if (!ctx.dryRun && have === undefined) {
          throw new MetalplaneError(`node ${h.name} is not registered in the cluster; gpu-objects must run after the nodes joined`, {code: 'NO_NODE'})
        }
        if (have && !labelsDiffer(want, have)) continue
        const shown = Object.entries(want).map(([k, v]) => (v === null ? `${k}-` : `${k}=${v}`)).join(' ')
        await ctx.wet(h, `label node ${h.name}: ${shown}`, () => labelNode(host, h.name, want))
        if (!f.driverVersion) ctx.log.warn(missingDriverMessage(h.name, f))
      }
    },
  }
}

/**
 * This module's phases, in the order they run relative to each other. The apply workflow reads
 * `phases` and places each phase by name (APPLY_ORDER in src/workflows/apply.ts).
 */
export const gpuSchedulingPhase = createGpuObjectsPhase()
export const phases: Phase[] = [gpuRuntimePhase, gpuSchedulingPhase]
