import {randomBytes} from 'node:crypto'
import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {homedir} from 'node:os'
import {basename, join, posix} from 'node:path'
import {StringDecoder} from 'node:string_decoder'
import ssh2 from 'ssh2'
import type {AnyAuthMethod, Channel, ClientChannel, ConnectConfig, SFTPWrapper} from 'ssh2'
import {InputError, MetalplaneError} from '../errors.js'
import type {SshTarget} from '../spec/schema.js'
import {isInteractive, promptSecret} from '../ui/tty.js'
import {silentLogger, type Logger} from '../ui/log.js'
import {registerSecret} from '../util/redact.js'
import {CommandFailedError, shq, type ExecOptions, type ExecResult, type Executor, type UploadOptions} from './executor.js'
import {algorithmsForKeyType, fingerprint, KnownHosts} from './known-hosts.js'

const {Client, utils} = ssh2
type Client = InstanceType<typeof ssh2.Client>
type ParsedKey = Exclude<ReturnType<typeof utils.parseKey>, Error | unknown[]>

/** Environment variable read for the passphrase of encrypted private keys. */
export const PASSPHRASE_ENV = 'METALPLANE_SSH_PASSPHRASE'
export const DEFAULT_KEY_FILES = ['id_ed25519', 'id_ecdsa', 'id_rsa']

export interface SshOptions {
  knownHosts: KnownHosts
  /** Record unknown host keys instead of refusing them (changed keys are always refused). */
  acceptNewHostKeys?: boolean
  /** TCP connect + handshake + authentication (default 20 s). */
  connectTimeoutMs?: number
  /** Keepalive interval (default 15 s); the connection is dropped after `keepaliveCountMax` (3) unanswered. */
  keepaliveIntervalMs?: number
  keepaliveCountMax?: number
  log?: Logger
  /** Shares one connection per bastion between executors (connectHosts passes one). */
  bastions?: BastionPool
}

export type SshHostTarget = SshTarget & {bastion?: SshTarget}

// ---------------------------------------------------------------- keys and auth

const passphrases = new Map<string, Promise<string>>()

/** The passphrase for an encrypted key: $METALPLANE_SSH_PASSPHRASE, else a prompt on a terminal (asked once per file). */
async function passphraseFor(file: string): Promise<string> {
  const env = process.env[PASSPHRASE_ENV]
  if (env) {
    registerSecret(env)
    return env
  }
  let p = passphrases.get(file)
  if (!p) {
    if (!isInteractive()) {
      throw new InputError(
        `SSH key ${file} is encrypted and no passphrase was given`,
        [],
        `Set ${PASSPHRASE_ENV} to its passphrase, load the key into ssh-agent (ssh-add) and set agent: true, or run on a terminal to be asked.`,
      )
    }
    p = promptSecret(`Passphrase for SSH key ${file}`, `the passphrase in ${PASSPHRASE_ENV}`).then((v) => {
      registerSecret(v)
      return v
    })
    passphrases.set(file, p)
    p.catch(() => passphrases.delete(file))
  }
  return p
}

const loadedKeys = new Map<string, Promise<ParsedKey>>()

/**
 * Reads and decrypts a private key file, once per process: hosts sharing a key share the result
 * (decrypting an OpenSSH key is deliberately slow). Failures are not kept.
 */
export function loadPrivateKey(file: string): Promise<ParsedKey> {
  let p = loadedKeys.get(file)
  if (!p) {
    p = readPrivateKey(file)
    loadedKeys.set(file, p)
    p.catch(() => loadedKeys.delete(file))
  }
  return p
}

async function readPrivateKey(file: string): Promise<ParsedKey> {
  let data: Buffer
  try {
    data = await readFile(file)
  } catch (error) {
    throw new InputError(`cannot read SSH key ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, [], 'Fix keyFile in the cluster spec.')
  }
  let parsed = utils.parseKey(data)
  if (parsed instanceof Error && /passphrase/i.test(parsed.message)) {
    const pass = await passphraseFor(file)
    parsed = utils.parseKey(data, pass)
    if (parsed instanceof Error) {
      passphrases.delete(file)
      throw new InputError(`cannot decrypt SSH key ${file}: wrong passphrase (${parsed.message})`, [], `Check ${PASSPHRASE_ENV} or the passphrase typed.`)
    }
  }
  if (parsed instanceof Error) throw new InputError(`SSH key ${file} is not a private key metalplane can read: ${parsed.message}`, [], 'Use an OpenSSH or PEM private key (ed25519, ecdsa or rsa).')
  const key = (Array.isArray(parsed) ? parsed[0] : parsed) as ParsedKey
  if (!key.isPrivateKey()) throw new InputError(`SSH key ${file} is a public key; keyFile must be the private key`)
  return key
}

/**
 * Authentication methods tried in order: the spec's keyFile; ssh-agent when `agent` is set or no
 * keyFile is given; then ~/.ssh/id_ed25519, id_ecdsa, id_rsa when no keyFile is given.
 */
export async function authMethods(target: SshTarget, label: string): Promise<AnyAuthMethod[]> {
  const username = target.user
  const methods: AnyAuthMethod[] = []
  if (target.keyFile) methods.push({type: 'publickey', username, key: await loadPrivateKey(target.keyFile)})
  const sock = process.env.SSH_AUTH_SOCK
  if (target.agent && !sock) {
    throw new InputError(`${label}: agent is set but SSH_AUTH_SOCK is not`, [], 'Start ssh-agent and ssh-add your key, or set keyFile instead of agent.')
  }
  if ((target.agent || !target.keyFile) && sock) methods.push({type: 'agent', username, agent: sock})
  if (!target.keyFile) {
    const haveOther = methods.length > 0
    for (const f of DEFAULT_KEY_FILES.map((n) => join(homedir(), '.ssh', n)).filter((f) => existsSync(f))) {
      try {
        methods.push({type: 'publickey', username, key: await loadPrivateKey(f)})
      } catch (error) {
        // A default key we cannot decrypt is skipped when something else may work.
        if (!(haveOther || methods.length > 0)) throw error
      }
    }
  }
  if (methods.length === 0) {
    throw new InputError(`${label}: no SSH credentials: no keyFile, no ssh-agent and no ~/.ssh/id_ed25519, id_ecdsa or id_rsa`, [], 'Set keyFile for the host in the cluster spec, or run ssh-agent.')
  }
  return methods
}

// ---------------------------------------------------------------- connecting

function describeConnectError(err: Error & {code?: string; level?: string}): string {
  if (err.code === 'ECONNREFUSED') return 'connection refused (is sshd running and the port right?)'
  if (err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') return 'host unreachable'
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return 'address does not resolve'
  if (err.code === 'ECONNRESET') return 'connection reset by the host'
  if (err.code === 'ETIMEDOUT' || /Timed out while waiting for handshake/.test(err.message)) return 'timed out'
  if (err.level === 'client-authentication') return 'authentication failed (key not accepted for this user)'
  return err.message
}

/** Opens one authenticated connection. `sock` is a tunnel through a bastion. */
export async function openConnection(target: SshTarget, label: string, opts: SshOptions, sock?: Channel): Promise<Client> {
  const log = opts.log ?? silentLogger
  const auth = await authMethods(target, label)
  // Prefer the host-key types known_hosts has for the host, as OpenSSH does.
  const known = await opts.knownHosts.knownTypes(target.address, target.port)
  const preferred = known.flatMap((t) => algorithmsForKeyType(t))
  const defaults = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']
  const serverHostKey = [...new Set([...preferred.filter((a) => defaults.includes(a)), ...defaults])]
  const where = `${target.user}@${target.address}:${target.port}`
  const client = new Client()
  // ssh2 may emit more than one error (and after we gave up on the connection): never unhandled.
  client.on('error', () => {})
  let hostKeyError: unknown
  const config: ConnectConfig = {
    host: target.address,
    port: target.port,
    username: target.user,
    readyTimeout: opts.connectTimeoutMs ?? 20_000,
    keepaliveInterval: opts.keepaliveIntervalMs ?? 15_000,
    keepaliveCountMax: opts.keepaliveCountMax ?? 3,
    authHandler: auth,
    algorithms: {serverHostKey: serverHostKey as NonNullable<ConnectConfig['algorithms']>['serverHostKey']},
    hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
      opts.knownHosts.verify(label, target.address, target.port, key, {acceptNew: opts.acceptNewHostKeys}).then(
        (r) => {
          if (r === 'added') log.warn(`${label}: recorded new host key ${fingerprint(key)} of ${target.address}:${target.port} in ${opts.knownHosts.file}`)
          verify(true)
        },
        (error: unknown) => {
          hostKeyError = error
          verify(false)
        },
      )
    },
    ...(sock ? {sock: sock as unknown as ConnectConfig['sock']} : {}),
  }
  return new Promise<Client>((resolve, reject) => {
    const onError = (err: Error) => {
      client.removeListener('ready', onReady)
      client.end()
      if (hostKeyError) return reject(hostKeyError)
      reject(new MetalplaneError(`cannot connect to ${label} (${where}): ${describeConnectError(err)}`, {code: 'SSH_CONNECT', cause: err}))
    }
    const onReady = () => {
      client.removeListener('error', onError)
      resolve(client)
    }
    client.once('error', onError)
    client.once('ready', onReady)
    try {
      client.connect(config)
    } catch (error) {
      onError(error as Error)
    }
  })
}

function forwardOut(jump: Client, address: string, port: number, timeoutMs: number): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    let done = false
    const settle = (err?: Error, ch?: ClientChannel) => {
      if (done) {
        ch?.close() // answered after we gave up
        return
      }
      done = true
      clearTimeout(timer)
      jump.removeListener('error', onError)
      if (err) reject(err)
      else resolve(ch!)
    }
    const onError = (err: Error) => settle(err)
    const timer = setTimeout(() => settle(new Error('timed out opening the tunnel')), timeoutMs)
    jump.once('error', onError)
    try {
      jump.forwardOut('127.0.0.1', 0, address, port, (err, ch) => settle(err, ch))
    } catch (error) {
      settle(error as Error)
    }
  })
}

/** One connection per bastion, shared by the hosts behind it; closed with the last user. */
export class BastionPool {
  private readonly pool = new Map<string, {client: Promise<Client>; users: number}>()

  constructor(private readonly opts: Omit<SshOptions, 'bastions'>) {}

  private key(b: SshTarget): string {
    return `${b.user}@${b.address}:${b.port}|${b.keyFile ?? ''}|${b.agent ? 'agent' : ''}`
  }

  async acquire(b: SshTarget, label: string): Promise<{client: Client; release: () => void}> {
    const k = this.key(b)
    let slot = this.pool.get(k)
    if (!slot) {
      const client = openConnection(b, label, this.opts).then((c) => {
        c.on('error', () => {})
        c.on('close', () => {
          if (this.pool.get(k)?.client === client) this.pool.delete(k)
        })
        return c
      })
      slot = {client, users: 0}
      this.pool.set(k, slot)
      client.catch(() => {
        if (this.pool.get(k) === slot) this.pool.delete(k)
      })
    }
    slot.users++
    const s = slot
    let released = false
    const release = () => {
      if (released) return
      released = true
      s.users--
      if (s.users <= 0) {
        if (this.pool.get(k) === s) this.pool.delete(k)
        s.client.then((c) => c.end(), () => {})
      }
    }
    try {
      return {client: await s.client, release}
    } catch (error) {
      release()
      throw error
    }
  }
}

// ---------------------------------------------------------------- the executor

interface RawResult {
  stdout: Buffer
  stderr: Buffer
  code: number | null
  signal?: string
}

/**
 * Sends a KILL `signal` request: sshd delivers it to the command's whole process group. ssh2's
 * Channel.signal() is a no-op once stdin is closed (we close it right away), so the request is
 * sent through the channel's protocol, as signal() itself does.
 */
function killChannel(ch: ClientChannel): void {
  const c = ch as unknown as {outgoing?: {state?: string; id?: number}; _client?: {_protocol?: {signal(id: number, sig: string): void}}}
  try {
    if ((c.outgoing?.state === 'open' || c.outgoing?.state === 'eof') && c.outgoing.id !== undefined) c._client?._protocol?.signal(c.outgoing.id, 'KILL')
  } catch {
    // closing the channel below still ends our side
  }
}

const SUDO_PASSWORD = /sudo: (a password is required|a terminal is required|no tty present)/

/**
 * Executor over one SSH connection per host, opened on first use (or by connect()) and reused by
 * every step. Commands go through `sudo -n` when asked and the login user is not root.
 */
export class SshExecutor implements Executor {
  private conn: Promise<Client> | undefined
  private sftpP: Promise<SFTPWrapper> | undefined
  private releaseBastion: (() => void) | undefined
  private readonly log: Logger

  constructor(
    readonly name: string,
    readonly target: SshHostTarget,
    private readonly opts: SshOptions,
  ) {
    this.log = opts.log ?? silentLogger
  }

  get user(): string {
    return this.target.user
  }
  private needsSudo(sudo?: boolean): boolean {
    return Boolean(sudo) && this.target.user !== 'root'
  }

  /** Opens the connection (through the bastion when there is one). Safe to call again. */
  async connect(): Promise<void> {
    await this.client()
  }

  private client(): Promise<Client> {
    if (!this.conn) {
      const p = this.open()
      this.conn = p
      p.catch(() => {
        if (this.conn === p) this.conn = undefined
      })
    }
    return this.conn
  }

  private async open(): Promise<Client> {
    let sock: ClientChannel | undefined
    const b = this.target.bastion
    if (b) {
      const pool = this.opts.bastions ?? new BastionPool(this.opts)
      const {client: jump, release} = await pool.acquire(b, `bastion ${b.address} of ${this.name}`)
      this.releaseBastion = release
      try {
        sock = await forwardOut(jump, this.target.address, this.target.port, this.opts.connectTimeoutMs ?? 20_000)
      } catch (error) {
        release()
        this.releaseBastion = undefined
        throw new MetalplaneError(`cannot reach ${this.name} (${this.target.address}:${this.target.port}) through bastion ${b.address}: ${(error as Error).message}`, {code: 'SSH_CONNECT', cause: error})
      }
    }
    let c: Client
    try {
      c = await openConnection(this.target, this.name, this.opts, sock)
    } catch (error) {
      this.releaseBastion?.()
      this.releaseBastion = undefined
      throw error
    }
    // After ready: errors end the connection; the next call reconnects.
    c.on('error', (err: Error) => this.log.debug(`${this.name}: ssh connection error: ${err.message}`))
    c.on('close', () => {
      this.conn = undefined
      this.sftpP = undefined
      this.releaseBastion?.()
      this.releaseBastion = undefined
    })
    return c
  }

  private async execRaw(cmd: string, opts: ExecOptions, onOut?: (b: Buffer) => void, onErr?: (b: Buffer) => void): Promise<RawResult> {
    const client = await this.client()
    return new Promise<RawResult>((resolve, reject) => {
      const out: Buffer[] = []
      const err: Buffer[] = []
      let code: number | null = null
      let signal: string | undefined
      let timedOut = false
      let timer: NodeJS.Timeout | undefined
      let settled = false
      let callbackError: unknown
      // The caller's stream callbacks run inside ssh2 events: their errors are kept, never thrown there.
      const guard = (fn: ((b: Buffer) => void) | undefined, d: Buffer) => {
        if (!fn || callbackError !== undefined) return
        try {
          fn(d)
        } catch (error) {
          callbackError = error
        }
      }
      const onConnError = (e: Error) => finish(e)
      const onConnClose = () => finish(new Error('connection closed'))
      const finish = (e?: Error) => {
        if (settled) return
        settled = true
        if (timer) clearTimeout(timer)
        client.removeListener('error', onConnError)
        client.removeListener('close', onConnClose)
        if (e && !timedOut) {
          reject(new MetalplaneError(`${this.name}: ssh exec failed: ${e.message}`, {code: 'SSH_EXEC', cause: e}))
          return
        }
        if (callbackError !== undefined) {
          reject(callbackError)
          return
        }
        resolve({stdout: Buffer.concat(out), stderr: Buffer.concat(err), code: timedOut ? null : code, signal: timedOut ? 'timeout' : signal})
      }
      client.once('error', onConnError)
      client.once('close', onConnClose)
      try {
        client.exec(cmd, (e, ch) => {
          if (e) return finish(e)
          ch.on('data', (d: Buffer) => {
            out.push(d)
            guard(onOut, d)
          })
          ch.stderr.on('data', (d: Buffer) => {
            err.push(d)
            guard(onErr, d)
          })
          ch.on('exit', (c: number | null, sig?: string) => {
            if (typeof c === 'number') code = c
            else if (sig) signal = sig
          })
          ch.on('error', (e2: Error) => finish(e2))
          ch.on('close', () => finish())
          if (opts.timeoutMs && opts.timeoutMs > 0) {
            timer = setTimeout(() => {
              timedOut = true
              killChannel(ch)
              ch.close()
              // sshd confirms the close only once the command is gone: do not wait for it.
              finish()
            }, opts.timeoutMs)
          }
          if (opts.input !== undefined) ch.end(opts.input)
          else ch.end()
        })
      } catch (error) {
        finish(error as Error)
      }
    })
  }

  /**
   * The command line sent to the host. With a timeout it runs under `timeout -s KILL`, which kills
   * its whole process group a second after our own timer fires: sshd honours signal requests
   * (sent too) only for non-root logins, and never reaches root's processes under sudo.
   */
  private wrap(cmd: string, sudo?: boolean, timeoutMs?: number): string {
    let line = cmd
    if (timeoutMs && timeoutMs > 0) {
      const secs = Math.ceil(timeoutMs / 1000) + 1
      line = `if command -v timeout >/dev/null 2>&1; then exec timeout -s KILL ${secs} sh -c ${shq(cmd)}; else exec sh -c ${shq(cmd)}; fi`
    }
    return this.needsSudo(sudo) ? `sudo -n -- sh -c ${shq(line)}` : line
  }

  private checkSudo(r: {code: number | null; stderr: string}, sudo?: boolean): void {
    if (this.needsSudo(sudo) && r.code === 1 && SUDO_PASSWORD.test(r.stderr)) {
      throw new MetalplaneError(`${this.name}: sudo asks user ${this.target.user} for a password; metalplane needs passwordless sudo`, {
        code: 'SUDO_PASSWORD',
        hint: `On ${this.name}, allow it: echo '${this.target.user} ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/metalplane, or log in as root (user: root).`,
      })
    }
  }

  async exec(cmd: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const dOut = new StringDecoder('utf8')
    const dErr = new StringDecoder('utf8')
    const r = await this.execRaw(
      this.wrap(cmd, opts.sudo, opts.timeoutMs),
      opts,
      opts.onStdout ? (b) => opts.onStdout!(dOut.write(b)) : undefined,
      opts.onStderr ? (b) => opts.onStderr!(dErr.write(b)) : undefined,
    )
    if (opts.onStdout) {
      const rest = dOut.end()
      if (rest) opts.onStdout(rest)
    }
    if (opts.onStderr) {
      const rest = dErr.end()
      if (rest) opts.onStderr(rest)
    }
    const result: ExecResult = {stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), code: r.code}
    if (r.signal) result.signal = r.signal
    this.checkSudo(result, opts.sudo)
    if (result.code !== 0 && !opts.allowFail) throw new CommandFailedError(this.name, cmd, result, opts.secret)
    return result
  }

  private sftp(): Promise<SFTPWrapper> {
    if (!this.sftpP) {
      const p = this.client().then(
        (c) =>
          new Promise<SFTPWrapper>((resolve, reject) => {
            const onError = (e: Error) => reject(e)
            c.once('error', onError)
            c.sftp((err, s) => {
              c.removeListener('error', onError)
              if (err) return reject(new MetalplaneError(`${this.name}: cannot open SFTP (is the sftp subsystem enabled in sshd?): ${err.message}`, {code: 'SSH_SFTP', cause: err}))
              s.on('error', () => {})
              s.on('close', () => {
                if (this.sftpP === p) this.sftpP = undefined
              })
              resolve(s)
            })
          }),
      )
      this.sftpP = p
      p.catch(() => {
        if (this.sftpP === p) this.sftpP = undefined
      })
    }
    return this.sftpP
  }

  private sftpCall<T = void>(what: string, path: string, fn: (s: SFTPWrapper, cb: (err: Error | undefined | null, v?: T) => void) => void): Promise<T> {
    return this.sftp().then(
      (s) =>
        new Promise<T>((resolve, reject) => {
          try {
            fn(s, (err, v) => {
              if (err) {
                const e = err as Error & {code?: number}
                reject(Object.assign(new MetalplaneError(`${this.name}: ${what} ${path}: ${e.message}`, {code: 'SSH_SFTP', cause: err}), {sftpCode: e.code}))
              } else resolve(v as T)
            })
          } catch (error) {
            reject(error)
          }
        }),
    )
  }

  /**
   * Writes a file atomically: SFTP to a temp name in the same directory, chmod, then rename over
   * the target. With sudo as a non-root user: SFTP to /tmp, then `sudo install -m MODE` next to the
   * target and `mv`.
   */
  async upload(content: string | Buffer, remotePath: string, opts: UploadOptions = {}): Promise<void> {
    const mode = opts.mode ?? 0o644
    const data = typeof content === 'string' ? Buffer.from(content) : content
    const dir = posix.dirname(remotePath)
    const tag = randomBytes(6).toString('hex')
    if (this.needsSudo(opts.sudo)) {
      const staged = `/tmp/.metalplane-upload-${tag}`
      await this.sftpCall('write', staged, (s, cb) => s.writeFile(staged, data, {mode: 0o600}, cb))
      const tmp = `${dir}/.${basename(remotePath)}.metalplane-${tag}`
      const script = `mkdir -p ${shq(dir)} && install -m ${mode.toString(8).padStart(4, '0')} ${shq(staged)} ${shq(tmp)} && mv -f ${shq(tmp)} ${shq(remotePath)}`
      try {
        const r = await this.exec(script, {sudo: true, allowFail: true})
        if (r.code !== 0) {
          await this.exec(`rm -f ${shq(tmp)}`, {sudo: true, allowFail: true}).catch(() => {})
          throw new MetalplaneError(`${this.name}: cannot write ${remotePath}: ${(r.stderr || r.stdout).trim() || `exit code ${r.code}`}`, {code: 'SSH_UPLOAD'})
        }
      } finally {
        await this.sftpCall('remove', staged, (s, cb) => s.unlink(staged, cb)).catch(() => {})
      }
      return
    }
    const tmp = `${dir}/.${basename(remotePath)}.metalplane-${tag}`
    const write = () => this.sftpCall('write', tmp, (s, cb) => s.writeFile(tmp, data, {mode}, cb))
    try {
      await write()
    } catch (error) {
      // No such directory: create it and retry once.
      if ((error as {sftpCode?: number}).sftpCode !== 2) throw error
      await this.exec(`mkdir -p ${shq(dir)}`)
      await write()
    }
    try {
      await this.sftpCall('chmod', tmp, (s, cb) => s.chmod(tmp, mode, cb)) // the server's umask applies at open
      await this.sftpCall('rename', tmp, (s, cb) => s.ext_openssh_rename(tmp, remotePath, cb)).catch(async () => {
        // Servers without posix-rename: mv is atomic within one filesystem too.
        await this.exec(`mv -f ${shq(tmp)} ${shq(remotePath)}`)
      })
    } catch (error) {
      await this.sftpCall('remove', tmp, (s, cb) => s.unlink(tmp, cb)).catch(() => {})
      throw error
    }
  }

  async download(remotePath: string, opts: {sudo?: boolean} = {}): Promise<Buffer | undefined> {
    if (this.needsSudo(opts.sudo)) {
      const cmd = this.wrap(`if [ -e ${shq(remotePath)} ]; then exec cat ${shq(remotePath)}; else exit 44; fi`, true)
      const r = await this.execRaw(cmd, {})
      if (r.code === 44) return undefined
      const res = {stdout: '', stderr: r.stderr.toString('utf8'), code: r.code}
      this.checkSudo(res, true)
      if (r.code !== 0) throw new CommandFailedError(this.name, `cat ${remotePath}`, res)
      return r.stdout
    }
    try {
      return await this.sftpCall<Buffer>('read', remotePath, (s, cb) => s.readFile(remotePath, cb))
    } catch (error) {
      if ((error as {sftpCode?: number}).sftpCode === 2) return undefined
      throw error
    }
  }

  async close(): Promise<void> {
    const p = this.conn
    this.conn = undefined
    this.sftpP = undefined
    if (!p) return
    const c = await p.catch(() => undefined)
    if (!c) return
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000)
      t.unref()
      c.once('close', () => {
        clearTimeout(t)
        resolve()
      })
      c.end()
    })
    this.releaseBastion?.()
    this.releaseBastion = undefined
  }
}

