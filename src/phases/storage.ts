/**
 * Local NVMe volumes: disks named in the spec are partitioned (GPT, one partition), formatted,
 * mounted under `spec.storage.mountRoot/<disk id>` through a systemd mount unit, and offered to
 * Kubernetes as local PersistentVolumes of a no-provisioner StorageClass.
 *
 * Why static PVs and not sig-storage's local-static-provisioner: metalplane already knows every
 * disk (the spec names them) and prepares them itself, so the only thing the provisioner would add
 * is discovery of mount points — at the cost of one more image to carry into air-gapped sites, a
 * DaemonSet on every node and its ConfigMap to keep in step with mountRoot. Static PVs need no
 * image, are created in the same run that formats the disks, and report the real filesystem size.
 * See docs/storage.md.
 *
 * Safety: a disk carrying partitions, a partition table or a filesystem is refused (nothing is
 * changed on any host) unless the spec says `wipe: true` for that disk. A disk we prepared before
 * (one GPT partition named `metalplane-local` holding a filesystem labelled `mp-local`) is
 * recognised and never wiped again, even with `wipe: true`.
 */
import {posix} from 'node:path'
import {ExitCode, HostsFailedError, MetalplaneError} from '../errors.js'
import type {Phase, RunContext} from '../engine/phase.js'
import type {Host} from '../hosts/host.js'
import {shq} from '../hosts/executor.js'
import {render} from '../render/index.js'
import {dnsName, localPersistentVolume, localStorageClass, type KubeObject} from '../kube/objects.js'
import {firstController, kubectlApply, kubectlUpToDate} from '../kube/kubectl.js'

/** GPT partition name of the partitions we create. */
export const PART_LABEL = 'metalplane-local'
/** Filesystem label of the filesystems we create (xfs allows at most 12 characters). */
export const FS_LABEL = 'mp-local'
export const MOUNT_OPTIONS = 'defaults,noatime,nofail'
/** Label on our PVs: the host they live on. */
export const PV_HOST_LABEL = 'metalplane.io/local-volume-host'

// ---------------------------------------------------------------------------------------------
// systemd-escape --path

/**
 * The unit-name escaping of `systemd-escape --path` (systemd's unit_name_path_escape): the path
 * is simplified (duplicate slashes, "." components and the trailing slash dropped), "/" alone
 * becomes "-", leading and trailing slashes are removed, "/" becomes "-", and every byte that is
 * not [A-Za-z0-9:_.] — and a "." at the very start — becomes \xNN.
 */
export function systemdEscapePath(path: string): string {
  if (!path.startsWith('/')) throw new MetalplaneError(`not an absolute path: ${path}`, {code: 'BAD_PATH'})
  const parts = path.split('/').filter((p) => p !== '' && p !== '.')
  if (parts.includes('..')) throw new MetalplaneError(`path is not normalized (contains ".."): ${path}`, {code: 'BAD_PATH'})
  if (parts.length === 0) return '-'
  const bytes = Buffer.from(parts.join('/'), 'utf8')
  let out = ''
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]
    const c = String.fromCharCode(b)
    if (c === '/') out += '-'
    else if (b < 0x80 && /[A-Za-z0-9:_]/.test(c)) out += c
    else if (c === '.' && i > 0) out += c
    else out += '\\x' + b.toString(16).padStart(2, '0')
  }
  return out
}

/** Name of the mount unit for a mount point, as `systemd-escape -p --suffix=mount PATH` prints it. */
export function mountUnitName(where: string): string {
  return `${systemdEscapePath(where)}.mount`
}

// ---------------------------------------------------------------------------------------------
// What is on a disk, and what we may do with it

/** One node of `lsblk -J -b -o NAME,PATH,TYPE,SIZE,FSTYPE,LABEL,UUID,PTTYPE,PARTLABEL,MOUNTPOINT`. */
export interface BlockDev {
  name: string
  path?: string
  type: string
  size?: number | string | null
  fstype?: string | null
  label?: string | null
  uuid?: string | null
  pttype?: string | null
  partlabel?: string | null
  mountpoint?: string | null
  mountpoints?: (string | null)[]
  children?: BlockDev[]
}

export const LSBLK_COLUMNS = 'NAME,PATH,TYPE,SIZE,FSTYPE,LABEL,UUID,PTTYPE,PARTLABEL,MOUNTPOINT'

/** The device node of `lsblk -J` output (the first blockdevice). */
export function parseLsblk(json: string): BlockDev {
  const doc = JSON.parse(json) as {blockdevices?: BlockDev[]}
  const dev = doc.blockdevices?.[0]
  if (!dev) throw new MetalplaneError('lsblk printed no block device', {code: 'LSBLK'})
  return dev
}

/** Parse `blkid -p -o export DEV` output. */
export function parseBlkidExport(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim())
    if (m) out[m[1]] = m[2]
  }
  return out
}

/**
 * Fill what lsblk could not see from low-level probes (`blkid -p`). lsblk reads filesystem types
 * and labels from the udev database; right after a change, or on hosts without udev, only a probe
 * of the device itself tells the truth. Never hides anything lsblk found.
 */
export function mergeProbe(dev: BlockDev, probes: Record<string, Record<string, string>>): BlockDev {
  const p = probes[dev.path ?? `/dev/${dev.name}`] ?? {}
  return {
    ...dev,
    fstype: dev.fstype ?? p.TYPE ?? null,
    label: dev.label ?? p.LABEL ?? null,
    uuid: dev.uuid ?? p.UUID ?? null,
    pttype: dev.pttype ?? p.PTTYPE ?? null,
    partlabel: dev.partlabel ?? p.PART_ENTRY_NAME ?? null,
    children: dev.children?.map((c) => mergeProbe(c, probes)),
  }
}

function mountsOf(d: BlockDev): string[] {
  const all = [d.mountpoint, ...(d.mountpoints ?? [])].filter((m): m is string => typeof m === 'string' && m !== '')
  return [...new Set(all)]
}

function describe(d: BlockDev): string {
  const bits: string[] = []
  if (d.fstype) bits.push(d.fstype + (d.label ? ` "${d.label}"` : ''))
  if (d.partlabel) bits.push(`partition name "${d.partlabel}"`)
  const m = mountsOf(d)
  if (m.length > 0) bits.push(`mounted at ${m.join(', ')}`)
  if (d.children?.length) bits.push(`holds ${d.children.map((c) => `${c.name} (${c.type}${c.fstype ? `, ${c.fstype}` : ''})`).join(', ')}`)
  return bits.join(', ')
}

/** Human list of what is on a disk; empty when nothing is. */
export function diskContents(dev: BlockDev): string[] {
  const found: string[] = []
  if (dev.pttype) found.push(`a ${dev.pttype} partition table`)
  if (dev.fstype) found.push(`a filesystem: ${describe({...dev, children: undefined, partlabel: null})}`)
  else if (mountsOf(dev).length > 0) found.push(`mounted at ${mountsOf(dev).join(', ')}`)
  for (const c of dev.children ?? []) {
    const what = describe(c)
    found.push(`${c.type === 'part' ? 'partition' : c.type} ${c.path ?? c.name}${what ? ` (${what})` : ''}`)
  }
  return found
}

export type DiskDecision =
  /** Nothing on it: partition and format. */
  | {kind: 'empty'}
  /** Foreign data, and the spec allows erasing it. */
  | {kind: 'wipe'; found: string[]}
  /** Prepared by us before: leave the data alone; ensure the mount. */
  | {kind: 'ours'; partition: string; uuid: string | null; fsType: string; mountpoint?: string}
  /** Must not be touched. */
  | {kind: 'refuse'; reason: string}

export interface DiskCheck {
  /** Host name (the caller reports it next to the reason). */
  host: string
  /** The path in the spec (/dev/disk/by-id/...). */
  disk: string
  dev: BlockDev
  wipe: boolean
}

/** Ours: exactly one partition, named metalplane-local, holding a filesystem labelled mp-local. */
export function isOurs(dev: BlockDev): boolean {
  const parts = dev.children ?? []
  if (dev.fstype || parts.length !== 1) return false
  const p = parts[0]
  return p.type === 'part' && p.partlabel === PART_LABEL && p.label === FS_LABEL && (p.fstype === 'xfs' || p.fstype === 'ext4') && !p.children?.length
}

/** What may be done with a disk, from what lsblk/blkid see on it. Pure: unit-tested on captured output. */
export function decideDisk(c: DiskCheck): DiskDecision {
  const where = `disk ${c.disk}${c.dev.path && c.dev.path !== c.disk ? ` (${c.dev.path})` : ''}`
  if (c.dev.type === 'part') return {kind: 'refuse', reason: `${where} is a partition, not a whole disk; name the disk itself in localVolumes`}
  if (c.dev.type === 'rom') return {kind: 'refuse', reason: `${where} is an optical drive`}
  if (isOurs(c.dev)) {
    const p = c.dev.children![0]
    return {kind: 'ours', partition: p.path ?? `/dev/${p.name}`, uuid: p.uuid ?? null, fsType: p.fstype!, mountpoint: mountsOf(p)[0]}
  }
  const found = diskContents(c.dev)
  if (found.length === 0) return {kind: 'empty'}
  const mounted: string[] = []
  const walk = (d: BlockDev) => {
    for (const m of mountsOf(d)) mounted.push(`${d.path ?? d.name} at ${m}`)
    d.children?.forEach(walk)
  }
  walk(c.dev)
  if (mounted.length > 0) {
    return {kind: 'refuse', reason: `${where} is in use (mounted: ${mounted.join(', ')}); it is never erased while mounted, even with wipe: true. Unmount it or choose another disk`}
  }
  if (c.wipe) return {kind: 'wipe', found}
  return {kind: 'refuse', reason: `${where} is not empty: it has ${found.join('; ')}. Set wipe: true for this disk to erase it`}
}

// ---------------------------------------------------------------------------------------------
// Per-volume plan

export interface VolumePlan {
  /** Index in host.spec.localVolumes. */
  index: number
  disk: string
  diskId: string
  /** /dev/nvme0n1 etc. (undefined when the disk is missing). */
  device?: string
  decision: DiskDecision
  fsType: 'xfs' | 'ext4'
  where: string
  unitName: string
  /** Current content of the unit file (undefined when absent). */
  unitFile?: string
  /** Mounted at `where` now (findmnt). */
  mounted: boolean
  /** The unit is enabled (true where systemd is not init: nothing to enable there). */
  enabled: boolean
}

export interface LocalVolumesOptions {
  /**
   * Tests only: resolve /dev/disk/... paths under this directory instead (e.g. a temp dir with a
   * by-id/<name> symlink to a loop device). Real hosts always use /dev/disk.
   */
  devDiskRoot?: string
  /** Where mount units are written; default /etc/systemd/system. */
  unitDir?: string
  /**
   * Manage the mount through systemd (daemon-reload, enable --now). 'auto' (default) does so when
   * systemd is the host's init (/run/systemd/system exists, as sd_booted(3) checks); otherwise the
   * unit is written and the filesystem is mounted with mount(8), so the next boot mounts it.
   */
  systemd?: 'auto' | 'always' | 'never'
}

export const FACTS_KEY = 'localVolumes'

function diskId(disk: string): string {
  return posix.basename(disk)
}

function resolvePath(disk: string, o: LocalVolumesOptions): string {
  return o.devDiskRoot ? disk.replace(/^\/dev\/disk(?=\/)/, o.devDiskRoot) : disk
}

/** Mount unit text for one volume. */
export function renderMountUnit(v: {host: string; disk: string; uuid: string; where: string; fsType: string}): string {
  return render('systemd/local-volume.mount', {
    host: v.host,
    disk: v.disk,
    diskId: diskId(v.disk),
    uuid: v.uuid,
    where: v.where,
    fsType: v.fsType,
    options: MOUNT_OPTIONS,
  })
}

const PROBE_MARK = '@@metalplane-probe '

/** Read-only look at one disk: its device, lsblk tree, blkid probes. */
async function probeDisk(host: Host, path: string): Promise<{device?: string; dev?: BlockDev}> {
  const script = [
    `dev=$(readlink -f -- ${shq(path)})`,
    `if [ ! -b "$dev" ]; then echo "${PROBE_MARK}missing $dev"; exit 0; fi`,
    `echo "${PROBE_MARK}device $dev"`,
    `lsblk -J -b -o ${LSBLK_COLUMNS} "$dev"`,
    `for p in $(lsblk -nrpo PATH "$dev"); do echo "${PROBE_MARK}blkid $p"; blkid -p -o export "$p" 2>/dev/null || true; done`,
  ].join('\n')
  const r = await host.exec(script)
  const sections = r.stdout.split(PROBE_MARK).filter(Boolean)
  let device: string | undefined
  let lsblk = ''
  const probes: Record<string, Record<string, string>> = {}
  for (const s of sections) {
    const nl = s.indexOf('\n')
    const head = nl < 0 ? s : s.slice(0, nl)
    const body = nl < 0 ? '' : s.slice(nl + 1)
    if (head.startsWith('missing')) return {}
    if (head.startsWith('device ')) {
      device = head.slice('device '.length).trim()
      lsblk = body
    } else if (head.startsWith('blkid ')) probes[head.slice('blkid '.length).trim()] = parseBlkidExport(body)
  }
  if (!device) return {}
  return {device, dev: mergeProbe(parseLsblk(lsblk), probes)}
}

async function isMountedAt(host: Host, where: string): Promise<boolean> {
  const r = await host.exec(`findmnt -n -o TARGET --mountpoint ${shq(where)}`, {allowFail: true})
  return r.code === 0 && r.stdout.trim() === where
}

async function systemdIsInit(host: Host, o: LocalVolumesOptions): Promise<boolean> {
  if (o.systemd === 'always') return true
  if (o.systemd === 'never') return false
  const r = await host.exec('test -d /run/systemd/system', {allowFail: true})
  return r.code === 0
}

/** Gather the plan of every volume of a host (read-only). */
export async function planHost(ctx: RunContext, host: Host, o: LocalVolumesOptions = {}): Promise<VolumePlan[]> {
  const st = ctx.spec.spec.storage
  const unitDir = o.unitDir ?? '/etc/systemd/system'
  const plans: VolumePlan[] = []
  for (const [index, v] of host.spec.localVolumes.entries()) {
    const fsType = v.fsType ?? st.fsType
    const where = posix.join(st.mountRoot, diskId(v.disk))
    const unitName = mountUnitName(where)
    const {device, dev} = await probeDisk(host, resolvePath(v.disk, o))
    const decision: DiskDecision = dev
      ? decideDisk({host: host.name, disk: v.disk, dev, wipe: v.wipe})
      : {kind: 'refuse', reason: `disk ${v.disk} does not exist (no such block device); check the id with ls -l /dev/disk/by-id/`}
    const unitBuf = await host.executor.download(posix.join(unitDir, unitName), {sudo: host.spec.user !== 'root'})
    const enabled = !(await systemdIsInit(host, o)) || (await host.exec(`systemctl is-enabled --quiet ${shq(unitName)}`, {allowFail: true})).code === 0
    plans.push({index, disk: v.disk, diskId: diskId(v.disk), device, decision, fsType, where, unitName, unitFile: unitBuf?.toString('utf8'), mounted: await isMountedAt(host, where), enabled})
  }
  return plans
}

function upToDate(host: Host, p: VolumePlan): boolean {
  if (p.decision.kind !== 'ours' || !p.decision.uuid || !p.mounted || !p.enabled) return false
  return p.unitFile === renderMountUnit({host: host.name, disk: p.disk, uuid: p.decision.uuid, where: p.where, fsType: p.decision.fsType})
}

async function waitForPartition(host: Host, device: string): Promise<string> {
  // The kernel learns the new table from partprobe (partx as fallback); udev, where it runs, then
  // creates the by-* links. Wait for the partition node itself.
  const script = [
    `dev=${shq(device)}`,
    'partprobe "$dev" 2>/dev/null || partx -u "$dev" 2>/dev/null || blockdev --rereadpt "$dev" 2>/dev/null || true',
    'command -v udevadm >/dev/null 2>&1 && udevadm settle --timeout=30 || true',
    'i=0; while [ $i -lt 50 ]; do',
    '  p=$(lsblk -nrpo PATH,TYPE "$dev" | awk \'$2=="part"{print $1; exit}\')',
    '  if [ -n "$p" ] && [ -b "$p" ]; then echo "$p"; exit 0; fi',
    '  i=$((i+1)); sleep 0.2',
    'done',
    'echo "no partition appeared on $dev" >&2; exit 1',
  ].join('\n')
  return (await host.exec(script)).stdout.trim()
}

function mkfsCmd(fsType: 'xfs' | 'ext4', part: string): string {
  return fsType === 'xfs' ? `mkfs.xfs -f -q -L ${FS_LABEL} ${shq(part)}` : `mkfs.ext4 -F -q -L ${FS_LABEL} ${shq(part)}`
}

/** Partition, format (after wiping when allowed); returns the partition and its filesystem UUID. */
async function prepareDisk(ctx: RunContext, host: Host, p: VolumePlan): Promise<{part: string; uuid: string; fsType: string} | undefined> {
  const dev = p.device!
  if (p.decision.kind === 'wipe') {
    const found = p.decision.found.join('; ')
    await ctx.wet(host, `ERASE ${p.disk} (${dev}): ${found}`, () =>
      host.exec(`for x in $(lsblk -nrpo PATH ${shq(dev)} | tac); do wipefs -a -q "$x"; done; sgdisk --zap-all ${shq(dev)} >/dev/null`),
    )
  }
  await ctx.wet(host, `partition ${p.disk} (${dev}): GPT, one partition "${PART_LABEL}"`, () =>
    host.exec(`sgdisk -n 1:0:0 -t 1:8300 -c 1:${PART_LABEL} ${shq(dev)} >/dev/null`),
  )
  if (ctx.dryRun) {
    await ctx.wet(host, `format ${p.disk} partition 1 as ${p.fsType} (label ${FS_LABEL})`, async () => undefined)
    return undefined
  }
  const part = await waitForPartition(host, dev)
  await ctx.wet(host, `format ${part} as ${p.fsType} (label ${FS_LABEL})`, () => host.exec(mkfsCmd(p.fsType, part)))
  const uuid = (await host.exec(`blkid -p -o value -s UUID ${shq(part)}`)).stdout.trim()
  if (!uuid) throw new MetalplaneError(`no filesystem UUID on ${part} after mkfs`, {code: 'MKFS'})
  return {part, uuid, fsType: p.fsType}
}

/** Shell: create the (unmounted) mount point and make it immutable where the filesystem allows. */
export function guardMountPoint(where: string): string {
  return `mkdir -p ${shq(where)} && if ! mountpoint -q ${shq(where)}; then chattr +i ${shq(where)} 2>/dev/null || true; fi`
}

async function ensureMount(ctx: RunContext, host: Host, p: VolumePlan, v: {part: string; uuid: string; fsType: string}, o: LocalVolumesOptions): Promise<void> {
  const unitDir = o.unitDir ?? '/etc/systemd/system'
  const unitPath = posix.join(unitDir, p.unitName)
  const unit = renderMountUnit({host: host.name, disk: p.disk, uuid: v.uuid, where: p.where, fsType: v.fsType})
  if (p.unitFile !== unit) {
    await ctx.wet(host, `write ${unitPath}`, () => host.executor.upload(unit, unitPath, {mode: 0o644, sudo: host.spec.user !== 'root'}), {diff: unit})
  }
  if (p.mounted && p.enabled && p.unitFile === unit) return
  // The empty mount point is made immutable: should the disk ever be missing at boot (nofail),
  // a pod writing to its PV gets an error instead of filling the root filesystem.
  const mountPoint = p.mounted ? '' : `${guardMountPoint(p.where)} && `
  const viaSystemd = await systemdIsInit(host, o)
  if (viaSystemd) {
    const unit = shq(p.unitName)
    if (p.mounted) {
      // Already mounted (pods may be using it): never unmount here; a changed unit applies at the next boot.
      await ctx.wet(host, `systemctl daemon-reload; enable ${p.unitName}`, () => host.exec(`systemctl daemon-reload && systemctl enable --quiet ${unit}`))
    } else {
      // udev must have created /dev/disk/by-uuid/<uuid> for the new filesystem before the unit starts.
      const settle = `(udevadm trigger --action=change ${shq(v.part)} && udevadm settle --timeout=30) 2>/dev/null || true`
      await ctx.wet(host, `mount ${p.where} (systemctl enable --now ${p.unitName})`, () =>
        host.exec(`${mountPoint}${settle}; systemctl daemon-reload && systemctl enable --quiet --now ${unit}`),
      )
    }
  } else if (!p.mounted) {
    ctx.log.warn(`${host.name}: systemd is not the init system; ${p.unitName} is written but ${p.where} is mounted with mount(8) now`)
    await ctx.wet(host, `mount ${v.part} at ${p.where}`, () => host.exec(`${mountPoint}mount -t ${v.fsType} -o ${MOUNT_OPTIONS.replace(',nofail', '')} ${shq(v.part)} ${shq(p.where)}`))
  }
}

/** Partition, format and mount the local volumes of each host. */
export function createLocalVolumesPhase(o: LocalVolumesOptions = {}): Phase {
  return {
    name: 'local-volumes',
    title: 'Local NVMe volumes',
    targets: (ctx) => ctx.hosts.filter((h) => h.spec.localVolumes.length > 0),
    async prepare(ctx) {
      const hosts = ctx.hosts.filter((h) => h.spec.localVolumes.length > 0)
      const failures: {host: string; error: string}[] = []
      await Promise.all(
        hosts.map(async (h) => {
          try {
            const plans = await planHost(ctx, h, o)
            h.facts[FACTS_KEY] = plans
            for (const p of plans) if (p.decision.kind === 'refuse') failures.push({host: h.name, error: p.decision.reason})
          } catch (error) {
            failures.push({host: h.name, error: (error as Error).message})
          }
        }),
      )
      // Refuse before touching any disk of any host.
      if (failures.length > 0) throw new HostsFailedError('local volume check (nothing was changed)', failures, ExitCode.PREFLIGHT)
    },
    async needsRun(_ctx, host) {
      const plans = (host.facts[FACTS_KEY] ?? []) as VolumePlan[]
      return !plans.every((p) => upToDate(host, p))
    },
    async run(ctx, host) {
      const plans = (host.facts[FACTS_KEY] ?? []) as VolumePlan[]
      for (const p of plans) {
        if (upToDate(host, p)) continue
        const d = p.decision
        let v: {part: string; uuid: string; fsType: string} | undefined
        if (d.kind === 'ours') {
          if (!d.uuid) throw new MetalplaneError(`${p.disk} has our partition but its filesystem UUID could not be read`, {code: 'NO_UUID'})
          v = {part: d.partition, uuid: d.uuid, fsType: d.fsType}
          if (d.mountpoint && d.mountpoint !== p.where) {
            throw new MetalplaneError(`${p.disk} is mounted at ${d.mountpoint}, expected ${p.where} (spec.storage.mountRoot changed?); unmount it and re-run`, {code: 'MOUNTED_ELSEWHERE'})
          }
        } else if (d.kind === 'empty' || d.kind === 'wipe') {
          v = await prepareDisk(ctx, host, p)
          if (!v) {
            await ctx.wet(host, `write ${p.unitName} and mount ${p.where}`, async () => undefined)
            continue
          }
        } else {
          throw new MetalplaneError(d.reason, {code: 'DISK_REFUSED'})
        }
        await ensureMount(ctx, host, p, v, o)
      }
    },
  }
}

export const localVolumesPhase = createLocalVolumesPhase()

// ---------------------------------------------------------------------------------------------
// StorageClass and PersistentVolumes

export interface MountedVolume {
  host: string
  disk: string
  where: string
  bytes: number
  fsType: string
}

/** The PV name of a volume: local-<host>-<disk id>, as a DNS-1123 subdomain. */
export function pvName(host: string, disk: string): string {
  return dnsName(`local-${host}-${diskId(disk)}`, 253)
}

export function storageObjects(storageClass: string, volumes: MountedVolume[]): KubeObject[] {
  return [
    localStorageClass(storageClass),
    ...volumes.map((v) =>
      localPersistentVolume({name: pvName(v.host, v.disk), node: v.host, path: v.where, bytes: v.bytes, storageClass, labels: {[PV_HOST_LABEL]: v.host}}),
    ),
  ]
}

/** Size and type of the filesystem mounted at `where` (undefined when nothing of ours is mounted there). */
async function mountedVolume(host: Host, disk: string, where: string): Promise<MountedVolume | undefined> {
  const r = await host.exec(`findmnt -J -b -o TARGET,FSTYPE,SIZE,LABEL --mountpoint ${shq(where)}`, {allowFail: true})
  if (r.code !== 0) return undefined
  const fs = (JSON.parse(r.stdout) as {filesystems?: {target: string; fstype: string; size: number | string; label?: string | null}[]}).filesystems?.[0]
  if (!fs || fs.target !== where) return undefined
  return {host: host.name, disk, where, bytes: Number(fs.size), fsType: fs.fstype}
}

/**
 * The `local-nvme` StorageClass and one PV per mounted volume, applied through the first
 * controller. Run after the control plane is up and after `local-volumes`.
 */
export function createLocalVolumeObjectsPhase(): Phase {
  const key = 'storage.volumes'
  return {
    name: 'local-volume-objects',
    title: 'StorageClass and local PersistentVolumes',
    targets: (ctx) => (ctx.hosts.some((h) => h.spec.localVolumes.length > 0) ? [firstController(ctx.hosts)] : []),
    async prepare(ctx) {
      const st = ctx.spec.spec.storage
      const found: MountedVolume[] = []
      const missing: string[] = []
      for (const h of ctx.hosts) {
        for (const v of h.spec.localVolumes) {
          const where = posix.join(st.mountRoot, diskId(v.disk))
          const m = await mountedVolume(h, v.disk, where)
          if (m) found.push(m)
          else missing.push(`${h.name}:${where}`)
        }
      }
      ctx.shared[key] = {found, missing}
    },
    async needsRun(ctx, host) {
      const {found, missing} = ctx.shared[key] as {found: MountedVolume[]; missing: string[]}
      if (missing.length > 0) return true
      try {
        return !(await kubectlUpToDate(host, storageObjects(ctx.spec.spec.storage.storageClass, found)))
      } catch (error) {
        // A dry-run before the cluster exists: plan the apply.
        if (ctx.dryRun) return true
        throw error
      }
    },
    async run(ctx, host) {
      const {found, missing} = ctx.shared[key] as {found: MountedVolume[]; missing: string[]}
      if (missing.length > 0 && !ctx.dryRun) {
        throw new MetalplaneError(`local volumes not mounted: ${missing.join(', ')}; the local-volumes phase must run first`, {code: 'NOT_MOUNTED'})
      }
      const sc = ctx.spec.spec.storage.storageClass
      const docs = storageObjects(sc, found)
      const extra = missing.length > 0 ? ` (+${missing.length} once formatted)` : ''
      await ctx.wet(host, `kubectl apply StorageClass ${sc} and ${found.length} PersistentVolume(s)${extra}`, () => kubectlApply(host, docs))
    },
  }
}

/**
 * This module's phases, in the order they run relative to each other. The apply workflow reads
 * `phases` and places each phase by name (APPLY_ORDER in src/workflows/apply.ts).
 */
export const storageObjectsPhase = createLocalVolumeObjectsPhase()
export const phases: Phase[] = [localVolumesPhase, storageObjectsPhase]

