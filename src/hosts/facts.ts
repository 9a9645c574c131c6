import {MetalplaneError} from '../errors.js'
import {render} from '../render/index.js'
import type {Host} from './host.js'

export interface DiskFacts {
  /** Kernel name, e.g. `sda`, `nvme0n1`. */
  name: string
  path: string
  sizeBytes: number
  /** lsblk TYPE: disk, part, ... (only `disk` at the top level is listed). */
  type: string
  model: string | null
  serial: string | null
  rotational: boolean | null
  transport: string | null
  fsType: string | null
  mountpoint: string | null
  /** Stable links under /dev/disk/by-id that point at this disk. */
  byId: string[]
  partitions: {name: string; sizeBytes: number; fsType: string | null; mountpoint: string | null}[]
}

export interface NicFacts {
  name: string
  mac: string | null
  /** Operational state in lower case: up, down, unknown, ... */
  state: string
  mtu: number | null
  addresses: {family: 'inet' | 'inet6'; address: string; prefixLength: number; scope?: string}[]
}

export interface HostFacts {
  hostname: string
  os: {id: string | null; versionId: string | null; prettyName: string | null}
  kernel: string
  /** `uname -m`: x86_64, aarch64, ... */
  arch: string
  /** 2 when /sys/fs/cgroup is cgroup2fs, 1 for anything else mounted there, null when unknown. */
  cgroupVersion: 1 | 2 | null
  cpu: {count: number; model: string | null}
  memory: {totalBytes: number}
  swap: {totalBytes: number; active: {device: string; type: string; sizeBytes: number}[]}
  disks: DiskFacts[]
  nics: NicFacts[]
  timeSync: {
    /** timedatectl NTPSynchronized, else chrony's leap status; null when neither can tell. */
    synchronized: boolean | null
    /** Active (else installed) time service: chrony, systemd-timesyncd, ntpd... */
    service: string | null
    ntpEnabled: boolean | null
  }
  listeningTcpPorts: number[]
  /** /sys/class/dmi/id/product_uuid when readable (root), lower case. */
  productUuid: string | null
}

/** Splits the script output into its sections. */
export function splitSections(out: string): Map<string, string> {
  const m = new Map<string, string>()
  const re = /^@@metalplane-facts ([\w-]+)@@$/gm
  const marks = [...out.matchAll(re)]
  marks.forEach((mk, i) => {
    const start = mk.index! + mk[0].length + 1
    const end = i + 1 < marks.length ? marks[i + 1].index! : out.length
    m.set(mk[1], out.slice(start, end).replace(/\n+$/, ''))
  })
  return m
}

function unquote(v: string): string {
  const t = v.trim()
  if ((t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'"))) return t.slice(1, -1).replace(/\\(["$`\\])/g, '$1')
  return t
}

function keyValues(text: string, sep: RegExp): Record<string, string> {
  const o: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const m = sep.exec(line)
    if (!m || m.index === undefined) continue
    o[line.slice(0, m.index).trim()] = unquote(line.slice(m.index + m[0].length))
  }
  return o
}

function num(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN
  return Number.isFinite(n) ? n : 0
}
function strOrNull(v: unknown): string | null {
  if (v === null || v === undefined) return null
  const s = String(v).trim()
  return s === '' ? null : s
}
function boolOrNull(v: unknown): boolean | null {
  if (typeof v === 'boolean') return v
  if (v === '1' || v === 1) return true
  if (v === '0' || v === 0) return false
  return null
}
function parseJson(text: string | undefined): unknown {
  if (!text || !text.trim()) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

interface LsblkDev {
  name?: string
  size?: number | string
  type?: string
  model?: string | null
  serial?: string | null
  rota?: boolean | string
  fstype?: string | null
  mountpoint?: string | null
  tran?: string | null
  children?: LsblkDev[]
}

function parseDisks(lsblk: string | undefined, byIdText: string | undefined): DiskFacts[] {
  const byId = new Map<string, string[]>()
  for (const line of (byIdText ?? '').split('\n')) {
    const [link, target] = line.trim().split(/\s+/)
    if (!link || !target) continue
    const dev = target.replace(/^\/dev\//, '')
    byId.set(dev, [...(byId.get(dev) ?? []), link])
  }
  const doc = parseJson(lsblk) as {blockdevices?: LsblkDev[]} | undefined
  const devs = Array.isArray(doc?.blockdevices) ? doc!.blockdevices : []
  const flatten = (d: LsblkDev): LsblkDev[] => [d, ...(d.children ?? []).flatMap(flatten)]
  return devs
    .filter((d) => d.type === 'disk' && d.name && num(d.size) > 0)
    .map((d) => ({
      name: d.name!,
      path: `/dev/${d.name}`,
      sizeBytes: num(d.size),
      type: d.type!,
      model: strOrNull(d.model),
      serial: strOrNull(d.serial),
      rotational: boolOrNull(d.rota),
      transport: strOrNull(d.tran),
      fsType: strOrNull(d.fstype),
      mountpoint: strOrNull(d.mountpoint),
      byId: (byId.get(d.name!) ?? []).sort(),
      partitions: (d.children ?? [])
        .flatMap(flatten)
        .filter((p) => p.name)
        .map((p) => ({name: p.name!, sizeBytes: num(p.size), fsType: strOrNull(p.fstype), mountpoint: strOrNull(p.mountpoint)})),
    }))
}

interface IpLink {
  ifname?: string
  address?: string
  operstate?: string
  mtu?: number
  addr_info?: {family?: string; local?: string; prefixlen?: number; scope?: string}[]
}

function parseNics(ipJson: string | undefined, sysNet: string | undefined): NicFacts[] {
  const links = parseJson(ipJson)
  if (Array.isArray(links)) {
    return (links as IpLink[])
      .filter((l) => l.ifname)
      .map((l) => ({
        name: l.ifname!,
        mac: strOrNull(l.address),
        state: (l.operstate ?? 'unknown').toLowerCase(),
        mtu: typeof l.mtu === 'number' ? l.mtu : null,
        addresses: (l.addr_info ?? [])
          .filter((a) => (a.family === 'inet' || a.family === 'inet6') && a.local)
          .map((a) => ({family: a.family as 'inet' | 'inet6', address: a.local!, prefixLength: num(a.prefixlen), ...(a.scope ? {scope: a.scope} : {})})),
      }))
  }
  // No iproute2: names, MACs and states from /sys (no addresses).
  return (sysNet ?? '')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[0])
    .map(([name, mac, state, mtu]) => ({name, mac: strOrNull(mac), state: (state || 'unknown').toLowerCase(), mtu: mtu ? num(mtu) : null, addresses: []}))
}

/** Ports from `ss -Htln`, else from /proc/net/tcp{,6} (state 0A = LISTEN). */
export function parseListening(ss: string | undefined, procNet: string | undefined): number[] {
  const ports = new Set<number>()
  if (ss && ss.trim()) {
    for (const line of ss.split('\n')) {
      const f = line.trim().split(/\s+/)
      // State Recv-Q Send-Q Local:Port Peer:Port
      const local = f[0] === 'LISTEN' ? f[3] : f.find((x) => /:\d+$/.test(x))
      const m = local ? /:(\d+)$/.exec(local) : null
      if (m) ports.add(Number(m[1]))
    }
  } else {
    for (const line of (procNet ?? '').split('\n')) {
      const f = line.trim().split(/\s+/)
      if (f.length < 4 || f[3] !== '0A') continue
      const port = parseInt(f[1].split(':')[1] ?? '', 16)
      if (Number.isFinite(port)) ports.add(port)
    }
  }
  return [...ports].sort((a, b) => a - b)
}

function parseTimeSync(s: Map<string, string>): HostFacts['timeSync'] {
  const td = keyValues(s.get('timedatectl') ?? '', /=/)
  let synchronized: boolean | null = td.NTPSynchronized === 'yes' ? true : td.NTPSynchronized === 'no' ? false : null
  const ntpEnabled = td.NTP === 'yes' ? true : td.NTP === 'no' ? false : null
  const leap = /Leap status\s*:\s*(.+)/.exec(s.get('chrony') ?? '')?.[1]?.trim()
  if (synchronized === null && leap) synchronized = leap === 'Normal'
  const svc = (s.get('time-services') ?? '').split('\n').map((l) => l.trim().split(/\s+/))
  const norm = (n: string) => (n.startsWith('chrony') ? 'chrony' : n.startsWith('ntp') ? 'ntpd' : n)
  const active = svc.find((f) => f[0] === 'active')?.[1]
  const installed = svc.find((f) => f[0] === 'installed')?.[1]
  const service = active ? norm(active) : installed ? norm(installed) : null
  return {synchronized, service, ntpEnabled}
}

/** Parses the output of templates/hosts/facts.sh. */
export function parseFacts(out: string): HostFacts {
  const s = splitSections(out)
  if (!s.has('end')) throw new MetalplaneError('the facts script output is incomplete (no end marker)', {code: 'FACTS'})
  const osr = keyValues(s.get('os-release') ?? '', /=/)
  const mem = keyValues(s.get('meminfo') ?? '', /:/)
  const kb = (v: string | undefined) => num((v ?? '').replace(/\s*kB$/i, '')) * 1024
  const swaps = (s.get('swaps') ?? '')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 3 && f[0])
    .map(([device, type, size]) => ({device, type, sizeBytes: num(size) * 1024}))
  const cg = (s.get('cgroupfs') ?? '').trim()
  const model = /:\s*(.+)$/.exec(s.get('cpu-model') ?? '')?.[1]?.trim() ?? null
  const uuid = (s.get('product-uuid') ?? '').trim().toLowerCase()
  return {
    hostname: (s.get('hostname') ?? '').trim(),
    os: {id: osr.ID ?? null, versionId: osr.VERSION_ID ?? null, prettyName: osr.PRETTY_NAME ?? null},
    kernel: (s.get('kernel') ?? '').trim(),
    arch: (s.get('arch') ?? '').trim(),
    cgroupVersion: cg === 'cgroup2fs' ? 2 : cg ? 1 : null,
    cpu: {count: num((s.get('nproc') ?? '').trim().split('\n')[0]), model},
    memory: {totalBytes: kb(mem.MemTotal)},
    swap: {totalBytes: kb(mem.SwapTotal), active: swaps},
    disks: parseDisks(s.get('lsblk'), s.get('disk-by-id')),
    nics: parseNics(s.get('ip-addr'), s.get('sys-net')),
    timeSync: parseTimeSync(s),
    listeningTcpPorts: parseListening(s.get('listen'), s.get('proc-net-tcp')),
    productUuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(uuid) ? uuid : null,
  }
}

/** The facts script (templates/hosts/facts.sh). */
export function factsScript(): string {
  return render('hosts/facts.sh', {})
}

/**
 * Gathers facts with one remote shell script (run as root through sudo when needed, so
 * product_uuid is readable), stores them on `host.facts` and returns them.
 */
export async function gatherFacts(host: Host, opts: {timeoutMs?: number} = {}): Promise<HostFacts> {
  const r = await host.exec('sh -s', {input: factsScript(), timeoutMs: opts.timeoutMs ?? 60_000})
  let facts: HostFacts
  try {
    facts = parseFacts(r.stdout)
  } catch (error) {
    throw new MetalplaneError(`${host.name}: cannot read facts: ${(error as Error).message}`, {code: 'FACTS', cause: error})
  }
  Object.assign(host.facts, facts)
  return facts
}
