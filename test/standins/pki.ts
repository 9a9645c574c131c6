// STAND-IN PKI: real X.509 certificates made in Node (no openssl on the lab hosts): keys from
// crypto.generateKeyPairSync, certificates DER-encoded here and signed with crypto.sign. The
// result parses with crypto.X509Certificate / openssl and serves TLS, like kubeadm's certs.
import {createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject} from 'node:crypto'
import {isIP} from 'node:net'

// ---- minimal DER
function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n])
  const bytes: number[] = []
  while (n > 0) {
    bytes.unshift(n & 0xff)
    n >>= 8
  }
  return Buffer.from([0x80 | bytes.length, ...bytes])
}
function tlv(tag: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), len(body.length), body])
}
const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items))
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items))
const ctx = (n: number, body: Buffer, constructed = true) => tlv((constructed ? 0xa0 : 0x80) | n, body)
function int(b: Buffer): Buffer {
  let body = b
  while (body.length > 1 && body[0] === 0 && body[1] < 0x80) body = body.subarray(1)
  if (body[0] & 0x80) body = Buffer.concat([Buffer.from([0]), body])
  return tlv(0x02, body)
}
function oid(s: string): Buffer {
  const parts = s.split('.').map(Number)
  const out = [40 * parts[0] + parts[1]]
  for (const p of parts.slice(2)) {
    const stack = [p & 0x7f]
    let v = p >> 7
    while (v > 0) {
      stack.unshift((v & 0x7f) | 0x80)
      v >>= 7
    }
    out.push(...stack)
  }
  return tlv(0x06, Buffer.from(out))
}
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'))
const bool = (b: boolean) => tlv(0x01, Buffer.from([b ? 0xff : 0]))
const octets = (b: Buffer) => tlv(0x04, b)
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.concat([Buffer.from([unused]), b]))
const NULL = Buffer.from([0x05, 0x00])
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z' // YYYYMMDDHHMMSSZ
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso))
}

export type KeyAlgorithm = 'RSA-2048' | 'RSA-3072' | 'RSA-4096' | 'ECDSA-P256' | 'ECDSA-P384'
export const KEY_ALGORITHMS: KeyAlgorithm[] = ['RSA-2048', 'RSA-3072', 'RSA-4096', 'ECDSA-P256', 'ECDSA-P384']

export interface KeyPair {
  privateKey: KeyObject
  publicKey: KeyObject
}

export function newKey(alg: KeyAlgorithm = 'RSA-2048'): KeyPair {
  if (alg.startsWith('RSA')) return generateKeyPairSync('rsa', {modulusLength: Number(alg.slice(4))})
  return generateKeyPairSync('ec', {namedCurve: alg === 'ECDSA-P256' ? 'prime256v1' : 'secp384r1'})
}

export function keyPem(k: KeyObject): string {
  return k.asymmetricKeyType === 'rsa'
    ? (k.export({type: 'pkcs1', format: 'pem'}) as string)
    : (k.export({type: 'sec1', format: 'pem'}) as string)
}

export function publicPem(k: KeyObject): string {
  return k.export({type: 'spki', format: 'pem'}) as string
}

export function loadKey(pem: string): KeyPair {
  const privateKey = createPrivateKey(pem)
  return {privateKey, publicKey: createPublicKey(privateKey)}
}

export interface CertSpec {
  cn: string
  o?: string[]
  ca?: boolean
  server?: boolean
  client?: boolean
  dns?: string[]
  ips?: string[]
  days?: number
}

function name(cn: string, o: string[] = []): Buffer {
  const rdns = o.map((org) => set(seq(oid('2.5.4.10'), utf8(org))))
  rdns.push(set(seq(oid('2.5.4.3'), utf8(cn))))
  return seq(...rdns)
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number))
  // IPv6: expand ::
  const [head, tail] = ip.split('::')
  const h = head ? head.split(':') : []
  const t = tail !== undefined && tail !== '' ? tail.split(':') : []
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t]
  return Buffer.concat(groups.map((g) => Buffer.from(g.padStart(4, '0'), 'hex')))
}

function sigAlg(key: KeyObject): {alg: Buffer; hash: string} {
  if (key.asymmetricKeyType === 'rsa') return {alg: seq(oid('1.2.840.113549.1.1.11'), NULL), hash: 'sha256'}
  const curve = key.asymmetricKeyDetails?.namedCurve
  return curve === 'secp384r1'
    ? {alg: seq(oid('1.2.840.10045.4.3.3')), hash: 'sha384'}
    : {alg: seq(oid('1.2.840.10045.4.3.2')), hash: 'sha256'}
}

/** Issues a certificate for `pub`, signed by `issuer` (self-signed when issuer is omitted). */
export function issue(
  spec: CertSpec,
  pub: KeyObject,
  issuer?: {cert: {cn: string; o?: string[]}; key: KeyObject},
  signer?: KeyObject,
): string {
  const signingKey = issuer?.key ?? signer
  if (!signingKey) throw new Error('issue: no signing key')
  const {alg, hash} = sigAlg(signingKey)
  const now = new Date(Date.now() - 5 * 60 * 1000)
  const until = new Date(now.getTime() + (spec.days ?? 365) * 86400 * 1000)
  const exts: Buffer[] = []
  exts.push(seq(oid('2.5.29.19'), bool(true), octets(spec.ca ? seq(bool(true)) : seq())))
  // keyUsage: digitalSignature(0) keyEncipherment(2) [keyCertSign(5)]
  exts.push(seq(oid('2.5.29.15'), bool(true), octets(spec.ca ? bits(Buffer.from([0xa4]), 2) : bits(Buffer.from([0xa0]), 5))))
  const eku: Buffer[] = []
  if (spec.server) eku.push(oid('1.3.6.1.5.5.7.3.1'))
  if (spec.client) eku.push(oid('1.3.6.1.5.5.7.3.2'))
  if (eku.length) exts.push(seq(oid('2.5.29.37'), octets(seq(...eku))))
  const spki = pub.export({type: 'spki', format: 'der'}) as Buffer
  exts.push(seq(oid('2.5.29.14'), octets(octets(createHash('sha1').update(spki).digest()))))
  const sans = [
    ...(spec.dns ?? []).map((d) => ctx(2, Buffer.from(d), false)),
    ...(spec.ips ?? []).map((ip) => ctx(7, ipBytes(ip), false)),
  ]
  if (sans.length) exts.push(seq(oid('2.5.29.17'), octets(seq(...sans))))
  const issuerName = issuer ? name(issuer.cert.cn, issuer.cert.o) : name(spec.cn, spec.o)
  const tbs = seq(
    ctx(0, int(Buffer.from([2]))),
    int(randomBytes(16)),
    alg,
    issuerName,
    seq(time(now), time(until)),
    name(spec.cn, spec.o),
    spki,
    ctx(3, seq(...exts)),
  )
  const signature = sign(hash, tbs, signingKey)
  const der = seq(tbs, alg, bits(signature))
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`
}

/** kubeadm's discovery hash: sha256 over the CA certificate's DER SubjectPublicKeyInfo. */
export function caCertHash(caCertPem: string): string {
  const spki = createPublicKey(caCertPem).export({type: 'spki', format: 'der'}) as Buffer
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`
}

// ---- minimal DER reader (for CSRs the kubelet stand-in sends)
interface Tlv {
  off: number // tag offset
  tag: number
  start: number // body start
  end: number // body end
  next: number
}
function readTlv(b: Buffer, off: number): Tlv {
  const tag = b[off]
  let l = b[off + 1]
  let start = off + 2
  if (l & 0x80) {
    const n = l & 0x7f
    l = 0
    for (let i = 0; i < n; i++) l = (l << 8) | b[off + 2 + i]
    start += n
  }
  return {off, tag, start, end: start + l, next: start + l}
}
function children(b: Buffer, t: Tlv): Tlv[] {
  const out: Tlv[] = []
  for (let o = t.start; o < t.end; ) {
    const c = readTlv(b, o)
    out.push(c)
    o = c.next
  }
  return out
}

/** Builds a PKCS#10 certificate signing request (PEM) for the key pair. */
export function makeCsr(cn: string, o: string[], key: KeyPair): string {
  const spki = key.publicKey.export({type: 'spki', format: 'der'}) as Buffer
  const cri = seq(int(Buffer.from([0])), name(cn, o), spki, ctx(0, Buffer.alloc(0)))
  const {alg, hash} = sigAlg(key.privateKey)
  const der = seq(cri, alg, bits(sign(hash, cri, key.privateKey)))
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64}\n-----END CERTIFICATE REQUEST-----\n`
}

/** Subject (CN, O) and public key of a PKCS#10 CSR in PEM. */
export function parseCsr(pem: string): {cn: string; o: string[]; publicKey: KeyObject} {
  const m = /-----BEGIN CERTIFICATE REQUEST-----([\s\S]+?)-----END CERTIFICATE REQUEST-----/.exec(pem)
  if (!m) throw new Error('PEM block type must be CERTIFICATE REQUEST')
  const b = Buffer.from(m[1].replace(/\s+/g, ''), 'base64')
  const top = readTlv(b, 0)
  const [cri] = children(b, top)
  const [, subject, spki] = children(b, cri)
  let cn = ''
  const o: string[] = []
  for (const rdn of children(b, subject))
    for (const atv of children(b, rdn)) {
      const [oidT, val] = children(b, atv)
      const oidHex = b.subarray(oidT.start, oidT.end).toString('hex')
      const v = b.subarray(val.start, val.end).toString('utf8')
      if (oidHex === '550403') cn = v
      if (oidHex === '55040a') o.push(v)
    }
  const publicKey = createPublicKey({key: b.subarray(spki.off, spki.end), format: 'der', type: 'spki'})
  return {cn, o, publicKey}
}
