import {InputError} from '../errors.js'

const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  ki: 2 ** 10, kib: 2 ** 10, mi: 2 ** 20, mib: 2 ** 20, gi: 2 ** 30, gib: 2 ** 30, ti: 2 ** 40, tib: 2 ** 40,
}

/** "64GiB", "512G", "1.5TiB", "1024" (bytes) -> bytes. */
export function parseSize(text: string, field = '--min-memory'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text)
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined
  if (!m || unit === undefined) throw new InputError(`${field}: "${text}" is not a size`, [{path: field, message: 'a size such as 64GiB, 512G or 1TiB'}])
  return Math.round(Number(m[1]) * unit)
}

export function formatBytes(n: number): string {
  if (!n) return '0B'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)}${units[i]}`
}

/** "90s", "20m", "1h", "1h30m", "500ms", or a bare number of seconds -> milliseconds. */
export function parseDuration(text: string, field = '--timeout'): number {
  const t = text.trim()
  if (/^\d+$/.test(t)) return Number(t) * 1000
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy
  let total = 0
  let m: RegExpExecArray | null
  let consumed = 0
  while ((m = re.exec(t))) {
    total += Number(m[1]) * {ms: 1, s: 1000, m: 60_000, h: 3_600_000}[m[2] as 'ms' | 's' | 'm' | 'h']
    consumed = re.lastIndex
  }
  if (consumed !== t.length || t.length === 0) throw new InputError(`${field}: "${text}" is not a duration`, [{path: field, message: 'a duration such as 90s, 20m or 1h'}])
  return total
}
