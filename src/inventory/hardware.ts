/**
 * The hardware of one machine as the inventory keeps it, derived from a discovery report.
 * Everything else in src/inventory (identity, diff, filters, export) works on this shape, so
 * only this file knows the wire format of the discovery agent.
 */
import {z} from 'zod'
import {InputError, type FieldIssue} from '../errors.js'
import {acceleratorName, isAccelerator, PCI_VENDOR_NAMES} from './pci-ids.js'
import {machineIdentity, normalizeMac, normalizeSerial, normalizeUuid, type MachineIdentity} from './identity.js'

/** Largest report accepted, in bytes of JSON. A real server's report is a few tens of KiB. */
export const MAX_REPORT_BYTES = 1024 * 1024

const str = (max = 256) => z.string().max(max)
const optStr = (max = 256) => z.string().max(max).nullish().transform((v) => v ?? undefined)
const count = z.number().int().min(0).max(1_000_000)

/**
 * The discovery agent's JSON as the inventory reads it. Unknown fields are ignored so the
 * agent can add facts without breaking older stores; lists are bounded.
 */
export const ReportInput = z.object({
  dmi: z
    .object({vendor: optStr(), product: optStr(), serial: optStr(), uuid: optStr(64), boardSerial: optStr()})
    .partial()
    .default({}),
  hostname: optStr(253),
  /** The IP the agent reported from, as seen by the agent. The HTTP peer is preferred. */
  ip: optStr(64),
  cpu: z
    .object({model: optStr(), sockets: count.optional(), cores: count.optional(), threads: count.optional()})
    .partial()
    .default({}),
  memory: z.object({totalBytes: z.number().int().min(0).max(2 ** 53)}).optional(),
  memoryBytes: z.number().int().min(0).max(2 ** 53).optional(),
  nics: z
    .array(
      z.object({
        name: str(64),
        mac: str(64),
        driver: optStr(64),
        speedMbps: z.number().int().min(-1).max(10_000_000).nullish(),
        link: z.boolean().nullish(),
        ipv4: z.array(str(64)).max(64).optional(),
      }),
    )
    .max(256)
    .default([]),
  disks: z
    .array(
      z.object({
        name: str(64),
        type: optStr(32),
        sizeBytes: z.number().int().min(0).max(2 ** 60),
        model: optStr(),
        serial: optStr(),
        eui: optStr(64),
        wwn: optStr(64),
        rotational: z.boolean().nullish(),
      }),
    )
    .max(1024)
    .default([]),
  pci: z
    .array(z.object({address: str(32), vendor: str(16), device: str(16), class: optStr(16), vendorName: optStr(), deviceName: optStr()}))
    .max(4096)
    .default([]),
  accelerators: z
    .array(z.object({kind: optStr(32), vendor: optStr(64), model: optStr(), pciAddress: optStr(32), memoryBytes: z.number().int().min(0).nullish()}))
    .max(256)
    .default([]),
  bmc: z.object({ip: optStr(64), mac: optStr(64)}).partial().nullish(),
})
export type ReportInput = z.infer<typeof ReportInput>

export interface Nic {
  name: string
  mac: string
  driver?: string
  speedMbps?: number
  link?: boolean
  ipv4?: string[]
}
export interface Disk {
  name: string
  /** nvme, sata, sas, virtio, usb, ... as the agent saw the transport. */
  type: string
  sizeBytes: number
  model?: string
  serial?: string
  eui?: string
  wwn?: string
  rotational?: boolean
}
export interface PciDevice {
  address: string
  vendor: string
  device: string
  class?: string
  vendorName?: string
  deviceName?: string
}
export interface Accelerator {
  kind: string
  vendor: string
  model?: string
  pciAddress?: string
  memoryBytes?: number
}
export interface Hardware {
  system: {vendor?: string; product?: string; serial?: string; uuid?: string}
  cpu: {model?: string; sockets: number; cores: number; threads: number}
  memoryBytes: number
  nics: Nic[]
  disks: Disk[]
  pci: PciDevice[]
  accelerators: Accelerator[]
  bmc?: {ip?: string; mac?: string}
}

function hex4(v: string): string {
  return v.trim().toLowerCase().replace(/^0x/, '').padStart(4, '0')
}

/** Accelerators found among the PCI functions, for reports that do not list them. */
function acceleratorsFromPci(pci: PciDevice[]): Accelerator[] {
  return pci
    .filter((p) => isAccelerator(p.vendor, p.class ?? ''))
    .map((p) => ({
      kind: 'gpu',
      vendor: PCI_VENDOR_NAMES[hex4(p.vendor)] ?? hex4(p.vendor),
      model: p.deviceName ?? acceleratorName(p.vendor, p.device) ?? `${hex4(p.vendor)}:${hex4(p.device)}`,
      pciAddress: p.address,
    }))
}

function zodIssues(err: z.ZodError, prefix = 'report'): FieldIssue[] {
  return err.issues.slice(0, 20).map((i) => ({
    path: [prefix, ...i.path].map((p, n) => (typeof p === 'number' ? `[${p}]` : n === 0 ? String(p) : `.${String(p)}`)).join(''),
    message: i.message,
  }))
}

/** The BMC's LAN settings as the agent read them; an unconfigured BMC reports 0.0.0.0. */
function bmcOf(b: ReportInput['bmc']): Hardware['bmc'] {
  const ip = b?.ip && b.ip !== '0.0.0.0' ? b.ip : undefined
  const mac = normalizeMac(b?.mac)
  return ip || mac ? {ip, mac} : undefined
}

export interface ParsedReport {
  identity: MachineIdentity
  hardware: Hardware
  hostname?: string
  reportedIp?: string
}

/**
 * Validates a report (an object, or its JSON text/bytes) and derives identity and hardware.
 * Throws InputError for anything malformed, oversized or without any identity.
 */
export function parseReport(input: unknown): ParsedReport {
  let value = input
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const size = typeof input === 'string' ? Buffer.byteLength(input) : input.byteLength
    if (size > MAX_REPORT_BYTES) throw new InputError(`discovery report is ${size} bytes; the limit is ${MAX_REPORT_BYTES}`)
    try {
      value = JSON.parse(typeof input === 'string' ? input : Buffer.from(input).toString('utf8'))
    } catch (error) {
      throw new InputError(`discovery report is not valid JSON: ${(error as Error).message}`)
    }
  } else {
    let size: number
    try {
      size = Buffer.byteLength(JSON.stringify(input) ?? '')
    } catch (error) {
      throw new InputError(`discovery report cannot be serialized: ${(error as Error).message}`)
    }
    if (size > MAX_REPORT_BYTES) throw new InputError(`discovery report is ${size} bytes; the limit is ${MAX_REPORT_BYTES}`)
  }
  const parsed = ReportInput.safeParse(value)
  if (!parsed.success) throw new InputError('discovery report is malformed; nothing was stored', zodIssues(parsed.error))
  const r = parsed.data
  const issues: FieldIssue[] = []
  const nics: Nic[] = []
  r.nics.forEach((n, i) => {
    // Ethernet MACs have 6 octets; InfiniBand hardware addresses have 20 and are kept as they are.
    const addr = n.mac.trim().toLowerCase().replace(/-/g, ':')
    if (!/^([0-9a-f]{2}:){5,31}[0-9a-f]{2}$/.test(addr)) {
      if (n.name !== 'lo') issues.push({path: `report.nics[${i}].mac`, message: `"${n.mac}" is not a MAC address`})
      return
    }
    if (/^[0:]+$/.test(addr)) return // no address (e.g. a NIC without firmware-assigned MAC): nothing to key on
    if (nics.some((x) => x.mac === addr)) return
    nics.push({name: n.name, mac: addr, driver: n.driver, speedMbps: n.speedMbps != null && n.speedMbps >= 0 ? n.speedMbps : undefined, link: n.link ?? undefined, ipv4: n.ipv4})
  })
  if (issues.length > 0) throw new InputError('discovery report is malformed; nothing was stored', issues)
  nics.sort((a, b) => a.name.localeCompare(b.name))
  const disks: Disk[] = r.disks
    .map((d) => ({
      name: d.name,
      type: (d.type ?? (d.name.startsWith('nvme') ? 'nvme' : 'unknown')).toLowerCase(),
      sizeBytes: d.sizeBytes,
      model: d.model?.trim() || undefined,
      serial: d.serial?.trim() || undefined,
      eui: d.eui?.trim() || undefined,
      wwn: d.wwn?.trim() || undefined,
      rotational: d.rotational ?? undefined,
    }))
    .sort((a, b) => a.name.localeCompare(b.name))
  const pci: PciDevice[] = r.pci
    .map((p) => ({address: p.address, vendor: hex4(p.vendor), device: hex4(p.device), class: p.class ? hex4(p.class).padEnd(4, '0') : undefined, vendorName: p.vendorName, deviceName: p.deviceName}))
    .sort((a, b) => a.address.localeCompare(b.address))
  const reportedAcc: Accelerator[] = r.accelerators.map((a) => ({kind: a.kind ?? 'gpu', vendor: (a.vendor ?? 'unknown').toLowerCase(), model: a.model, pciAddress: a.pciAddress, memoryBytes: a.memoryBytes ?? undefined}))
  const accelerators = reportedAcc.length > 0 ? reportedAcc : acceleratorsFromPci(pci)
  const serial = normalizeSerial(r.dmi.serial) ?? normalizeSerial(r.dmi.boardSerial)
  const hardware: Hardware = {
    system: {vendor: r.dmi.vendor?.trim() || undefined, product: r.dmi.product?.trim() || undefined, serial, uuid: normalizeUuid(r.dmi.uuid)},
    cpu: {model: r.cpu.model?.trim() || undefined, sockets: r.cpu.sockets ?? 0, cores: r.cpu.cores ?? 0, threads: r.cpu.threads ?? 0},
    memoryBytes: r.memory?.totalBytes ?? r.memoryBytes ?? 0,
    nics,
    disks,
    pci,
    accelerators,
    bmc: bmcOf(r.bmc),
  }
  const identity = machineIdentity({uuid: r.dmi.uuid, serial, macs: nics.map((n) => n.mac)})
  if (!identity)
    throw new InputError('discovery report has no usable identity: no valid DMI UUID, serial or NIC MAC address; nothing was stored', [
      {path: 'report.dmi.uuid', message: r.dmi.uuid ? `"${r.dmi.uuid}" is a placeholder` : 'missing'},
      {path: 'report.nics', message: 'no NIC with a MAC address'},
    ])
  const reportedIp = r.ip ?? nics.find((n) => n.ipv4?.length)?.ipv4?.[0]?.replace(/\/\d+$/, '')
  return {identity, hardware, hostname: r.hostname, reportedIp}
}

export function hasGpu(h: Hardware): boolean {
  return h.accelerators.some((a) => a.kind === 'gpu')
}
export function nvmeDisks(h: Hardware): Disk[] {
  return h.disks.filter((d) => d.type === 'nvme' || d.name.startsWith('nvme'))
}
