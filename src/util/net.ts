/** Small IPv4/IPv6 helpers used by spec validation (no dependency needed). */
import {isIPv4, isIPv6} from 'node:net'

export {isIPv4, isIPv6}

export function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => (acc * 256 + Number(o)) >>> 0, 0)
}

export function parseCidr(cidr: string): {ip: string; bits: number; v: 4 | 6} | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr)
  if (!m) return undefined
  const bits = Number(m[2])
  if (isIPv4(m[1]) && bits <= 32) return {ip: m[1], bits, v: 4}
  if (isIPv6(m[1]) && bits <= 128) return {ip: m[1], bits, v: 6}
  return undefined
}

export function cidrContains(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr)
  if (!c || c.v !== 4 || !isIPv4(ip)) return false
  const mask = c.bits === 0 ? 0 : (~0 << (32 - c.bits)) >>> 0
  return (ipv4ToInt(c.ip) & mask) === (ipv4ToInt(ip) & mask)
}

export function cidrsOverlap(a: string, b: string): boolean {
  const ca = parseCidr(a)
  const cb = parseCidr(b)
  if (!ca || !cb || ca.v !== 4 || cb.v !== 4) return false
  const bits = Math.min(ca.bits, cb.bits)
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0
  return (ipv4ToInt(ca.ip) & mask) === (ipv4ToInt(cb.ip) & mask)
}
