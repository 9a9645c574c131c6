/**
 * Stable machine identity: DMI system UUID, else DMI serial, else the first MAC address.
 * Cheap boards ship placeholder UUIDs and serials; those are treated as absent, otherwise
 * every such board would collapse into one inventory record.
 */

/** UUIDs that firmware vendors ship unchanged on many boards. Compared lowercase, hyphenless. */
const BOGUS_UUIDS = new Set(
  [
    '03000200-0400-0500-0006-000700080009',
    '00020003-0004-0005-0006-000700080009',
    '12345678-1234-5678-90ab-cddeefaabbcc',
    '4c4c4544-0000-2010-8020-80c04f202020',
    'deadbeef-dead-beef-dead-beefdeadbeef',
  ].map((u) => u.replace(/-/g, '')),
)

/** Serials (DMI system/board/chassis) that are placeholders, compared case-insensitively after trimming. */
const BOGUS_SERIALS = new Set(
  [
    'to be filled by o.e.m.',
    'to be filled by oem',
    'default string',
    'default',
    'system serial number',
    'chassis serial number',
    'base board serial number',
    'not specified',
    'not applicable',
    'none',
    'n/a',
    'na',
    'unknown',
    'invalid',
    'oem',
    'o.e.m.',
    '0',
    '0123456789',
    '1234567890',
    '123456789',
    '12345678',
    'xxxxxxxxxx',
    'serial',
    'empty',
  ],
)

export function normalizeUuid(uuid: string | undefined | null): string | undefined {
  if (!uuid) return undefined
  const u = uuid.trim().toLowerCase()
  const hex = u.replace(/-/g, '')
  if (!/^[0-9a-f]{32}$/.test(hex)) return undefined
  if (/^0+$/.test(hex) || /^f+$/.test(hex)) return undefined
  // Any single repeated digit (11111111-1111-...) is a placeholder too.
  if (/^(.)\1+$/.test(hex)) return undefined
  if (BOGUS_UUIDS.has(hex)) return undefined
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

export function isBogusUuid(uuid: string | undefined | null): boolean {
  return normalizeUuid(uuid) === undefined
}

export function normalizeSerial(serial: string | undefined | null): string | undefined {
  if (!serial) return undefined
  const s = serial.trim()
  if (s.length < 3 || s.length > 128) return undefined
  if (BOGUS_SERIALS.has(s.toLowerCase())) return undefined
  if (/^[0.\- ]+$/.test(s) || /^[fx]+$/i.test(s) || /^(.)\1+$/.test(s)) return undefined
  return s
}

export function isBogusSerial(serial: string | undefined | null): boolean {
  return normalizeSerial(serial) === undefined
}

export function normalizeMac(mac: string | undefined | null): string | undefined {
  if (!mac) return undefined
  const m = mac.trim().toLowerCase().replace(/-/g, ':')
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(m)) return undefined
  if (m === '00:00:00:00:00:00' || m === 'ff:ff:ff:ff:ff:ff') return undefined
  return m
}

export type IdentityKind = 'uuid' | 'serial' | 'mac'
export interface MachineIdentity {
  kind: IdentityKind
  value: string
  /** The store key: `uuid-…`, `serial-…`, `mac-…` (safe in etcd keys and file names). */
  id: string
}

/**
 * Picks the identity of a machine. Without a usable UUID or serial, the lowest MAC of the
 * physical NICs (the caller passes them) is used: it does not depend on interface naming.
 */
export function machineIdentity(input: {uuid?: string; serial?: string; macs: string[]}): MachineIdentity | undefined {
  const uuid = normalizeUuid(input.uuid)
  if (uuid) return {kind: 'uuid', value: uuid, id: `uuid-${uuid}`}
  const serial = normalizeSerial(input.serial)
  if (serial) return {kind: 'serial', value: serial, id: `serial-${serial.replace(/[^A-Za-z0-9._-]/g, '_')}`}
  const macs = input.macs.map((m) => normalizeMac(m)).filter((m): m is string => Boolean(m)).sort()
  if (macs.length > 0) return {kind: 'mac', value: macs[0], id: `mac-${macs[0].replace(/:/g, '')}`}
  return undefined
}
