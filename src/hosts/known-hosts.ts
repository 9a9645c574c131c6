import {createHash, createHmac} from 'node:crypto'
import {appendFile, mkdir, readFile} from 'node:fs/promises'
import {homedir} from 'node:os'
import {dirname, join} from 'node:path'
import {HostKeyError} from '../errors.js'

/**
 * OpenSSH known_hosts: parsing, matching and appending.
 *
 * A line is `[marker] hostpatterns keytype base64key [comment]`. Host patterns are a comma list
 * of names, `[name]:port` for ports other than 22, wildcards (`*`, `?`) and negations (`!pat`),
 * or one hashed name `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`. Markers: `@revoked`
 * (the key is refused for matching hosts) and `@cert-authority` (not supported here: ignored).
 */
export interface KnownHostEntry {
  /** 1-based line number in the file. */
  line: number
  marker?: '@revoked' | '@cert-authority'
  /** Plain patterns (lowercased); empty for a hashed entry. */
  patterns: string[]
  hashed?: {salt: Buffer; hash: Buffer}
  keyType: string
  /** The public key blob (SSH wire format), as the server sends it. */
  key: Buffer
}

export type HostKeyStatus =
  | {status: 'known'; line: number}
  | {status: 'unknown'; otherTypes: string[]}
  | {status: 'changed'; lines: number[]}
  | {status: 'revoked'; line: number}

export function defaultKnownHostsFile(): string {
  return join(homedir(), '.ssh', 'known_hosts')
}

/** The name a host is stored under: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port = 22): string {
  const h = host.toLowerCase()
  return port === 22 ? h : `[${h}]:${port}`
}

/** `SHA256:<base64 without padding>` of the key blob, as `ssh-keygen -l` prints it. */
export function fingerprint(key: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '')
}

/** The key type written at the start of an SSH public key blob (`ssh-ed25519`, `ssh-rsa`, ...). */
export function keyTypeOf(key: Buffer): string | undefined {
  if (key.length < 4) return undefined
  const n = key.readUInt32BE(0)
  if (n === 0 || n > 64 || key.length < 4 + n) return undefined
  return key.subarray(4, 4 + n).toString('latin1')
}

/** Host-key signature algorithms that a key type can be used with (for preferring known types). */
export function algorithmsForKeyType(type: string): string[] {
  if (type === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']
  return [type]
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim()
    if (raw === '' || raw.startsWith('#')) continue
    const fields = raw.split(/\s+/)
    let marker: KnownHostEntry['marker']
    if (fields[0].startsWith('@')) {
      const m = fields.shift()!
      if (m !== '@revoked' && m !== '@cert-authority') continue // unknown marker: skip the line like ssh
      marker = m
    }
    if (fields.length < 3) continue
    const [hostField, keyType, keyB64] = fields
    if (!B64.test(keyB64)) continue
    const key = Buffer.from(keyB64, 'base64')
    // The blob must carry the type it is listed under.
    if (keyTypeOf(key) !== keyType) continue
    const entry: KnownHostEntry = {line: i + 1, patterns: [], keyType, key}
    if (marker) entry.marker = marker
    if (hostField.startsWith('|1|')) {
      const parts = hostField.split('|')
      if (parts.length !== 4 || !B64.test(parts[2]) || !B64.test(parts[3])) continue
      entry.hashed = {salt: Buffer.from(parts[2], 'base64'), hash: Buffer.from(parts[3], 'base64')}
    } else {
      entry.patterns = hostField.toLowerCase().split(',').filter(Boolean)
    }
    entries.push(entry)
  }
  return entries
}

function wildcard(pattern: string, name: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern === name
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$')
  return re.test(name)
}

/** Whether an entry is for `name` (as returned by knownHostsName). */
export function entryMatches(entry: KnownHostEntry, name: string): boolean {
  if (entry.hashed) {
    const h = createHmac('sha1', entry.hashed.salt).update(name).digest()
    return h.length === entry.hashed.hash.length && h.equals(entry.hashed.hash)
  }
  let positive = false
  for (const p of entry.patterns) {
    if (p.startsWith('!')) {
      if (wildcard(p.slice(1), name)) return false
    } else if (wildcard(p, name)) {
      positive = true
    }
  }
  return positive
}

/** Checks a host's key against known_hosts entries: only entries of the same key type count. */
export function checkHostKey(entries: KnownHostEntry[], host: string, port: number, key: Buffer): HostKeyStatus {
  const name = knownHostsName(host, port)
  const type = keyTypeOf(key)
  const mine = entries.filter((e) => e.marker !== '@cert-authority' && entryMatches(e, name))
  const revoked = mine.find((e) => e.marker === '@revoked' && e.key.equals(key))
  if (revoked) return {status: 'revoked', line: revoked.line}
  const sameType = mine.filter((e) => !e.marker && e.keyType === type)
  const match = sameType.find((e) => e.key.equals(key))
  if (match) return {status: 'known', line: match.line}
  if (sameType.length > 0) return {status: 'changed', lines: sameType.map((e) => e.line)}
  const otherTypes = [...new Set(mine.filter((e) => !e.marker).map((e) => e.keyType))]
  return {status: 'unknown', otherTypes}
}

/** The line to append for a host key: `name type base64`. */
export function knownHostsLine(host: string, port: number, key: Buffer): string {
  const type = keyTypeOf(key)
  if (!type) throw new Error('not an SSH public key blob')
  return `${knownHostsName(host, port)} ${type} ${key.toString('base64')}`
}

// Appends to one file are serialized within the process (hosts connect in parallel).
const appendQueues = new Map<string, Promise<unknown>>()

/**
 * A known_hosts file. `verify()` is what the SSH executor calls from ssh2's hostVerifier: it
 * returns normally when the key may be used (recording it when new and `acceptNew` is set) and
 * throws HostKeyError otherwise. The file is read once; appended keys are kept in memory too.
 */
export class KnownHosts {
  private entries: KnownHostEntry[] | undefined
  private loading: Promise<KnownHostEntry[]> | undefined

  constructor(readonly file: string = defaultKnownHostsFile()) {}

  async load(): Promise<KnownHostEntry[]> {
    if (this.entries) return this.entries
    this.loading ??= (async () => {
      let text = ''
      try {
        text = await readFile(this.file, 'utf8')
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      }
      this.entries = parseKnownHosts(text)
      return this.entries
    })()
    return this.loading
  }

  /** Key types known for a host (to prefer them during key exchange, as OpenSSH does). */
  async knownTypes(host: string, port: number): Promise<string[]> {
    const name = knownHostsName(host, port)
    const entries = await this.load()
    return [...new Set(entries.filter((e) => !e.marker && entryMatches(e, name)).map((e) => e.keyType))]
  }

  async check(host: string, port: number, key: Buffer): Promise<HostKeyStatus> {
    return checkHostKey(await this.load(), host, port, key)
  }

  /**
   * Accepts the key or throws HostKeyError. `label` names the host in messages (the spec name).
   * Returns 'added' when an unknown key was recorded.
   */
  async verify(label: string, host: string, port: number, key: Buffer, opts: {acceptNew?: boolean} = {}): Promise<'known' | 'added'> {
    const st = await this.check(host, port, key)
    const fp = fingerprint(key)
    const type = keyTypeOf(key) ?? 'unknown type'
    const where = knownHostsName(host, port)
    if (st.status === 'known') return 'known'
    if (st.status === 'revoked') {
      throw new HostKeyError({
        host: label,
        reason: 'revoked',
        fingerprint: fp,
        message: `${label} (${where}) presented the ${type} host key ${fp}, which is marked @revoked in ${this.file} line ${st.line}; refusing to connect`,
        hint: 'The host must get a new host key; remove the @revoked line only if you are sure the key is safe.',
      })
    }
    if (st.status === 'changed') {
      throw new HostKeyError({
        host: label,
        reason: 'changed',
        fingerprint: fp,
        message:
          `the ${type} host key of ${label} (${where}) has CHANGED: it is now ${fp}, which differs from ${this.file} line ${st.lines.join(', ')}. ` +
          'Someone could be intercepting the connection, or the host was reinstalled; refusing to connect',
        hint: `If the host was reinstalled, check the new fingerprint on its console (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then remove the old entry with: ssh-keygen -R '${where}' -f ${this.file}. --accept-new-host-keys never replaces a changed key.`,
      })
    }
    if (!opts.acceptNew) {
      const other = st.otherTypes.length > 0 ? ` (${this.file} only has ${st.otherTypes.join(', ')} keys for it)` : ''
      throw new HostKeyError({
        host: label,
        reason: 'unknown',
        fingerprint: fp,
        message: `the host key of ${label} (${where}) is not known: ${type} ${fp}${other}; refusing to connect`,
        hint: `Compare the fingerprint with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on its console), then re-run with --accept-new-host-keys to record it, or add the key to ${this.file} (ssh-keyscan -p ${port} ${host} >> ${this.file}).`,
      })
    }
    await this.append(host, port, key)
    return 'added'
  }

  /** Appends `[host]:port type key` (plain, not hashed) and remembers it. */
  async append(host: string, port: number, key: Buffer): Promise<void> {
    const line = knownHostsLine(host, port, key)
    const prev = appendQueues.get(this.file) ?? Promise.resolve()
    const next = prev.catch(() => {}).then(async () => {
      await mkdir(dirname(this.file), {recursive: true, mode: 0o700})
      let text = ''
      try {
        text = await readFile(this.file, 'utf8')
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      }
      const sep = text.length > 0 && !text.endsWith('\n') ? '\n' : ''
      await appendFile(this.file, `${sep}${line}\n`, {mode: 0o600})
      const lineNo = (text + sep).split('\n').length
      const entries = await this.load()
      entries.push(...parseKnownHosts(line).map((e) => ({...e, line: lineNo})))
    })
    appendQueues.set(this.file, next)
    await next
  }
}
