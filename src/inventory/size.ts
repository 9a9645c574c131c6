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
