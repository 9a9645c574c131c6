/**
 * A real OpenSSH server for tests: `/usr/sbin/sshd -D` on 127.0.0.1 with its own host key,
 * authorized_keys and config in a temp dir, started as this test's own process and stopped by
 * its pid. It accepts the current user (root in CI) with the generated client key.
 */
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, connect} from 'node:net'
import {tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'

export const SSHD = '/usr/sbin/sshd'

export interface TestSshd {
  port: number
  pid: number
  dir: string
  user: string
  /** Private key accepted by this server (unencrypted). */
  clientKey: string
  /** `ssh-ed25519 AAAA...` of the host key. */
  hostKeyLine: string
  hostKeyBlob: Buffer
  hostKeyPub: string
  /** The server's stderr log (LogLevel from options). */
  logFile: string
  authorize(pubKeyLine: string): void
  stop(): Promise<void>
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as {port: number}).port
      s.close(() => resolve(port))
    })
  })
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({host: '127.0.0.1', port})
    c.once('data', (d) => {
      c.destroy()
      resolve(d.toString().startsWith('SSH-'))
    })
    c.once('error', () => resolve(false))
    c.setTimeout(1000, () => {
      c.destroy()
      resolve(false)
    })
  })
}

export function keygen(file: string, type = 'ed25519', passphrase = ''): string {
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', passphrase, '-C', 'metalplane-test', '-f', file], {stdio: 'ignore'})
  return readFileSync(`${file}.pub`, 'utf8').trim()
}

export async function startSshd(opts: {logLevel?: string; extra?: string[]; clientKey?: string} = {}): Promise<TestSshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: install openssh-server (scripts/setup installs .ci/packages)`)
  const dir = mkdtempSync(join(tmpdir(), 'mp-sshd-'))
  // sshd's privilege separation directory (created by the service unit normally).
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', {mode: 0o755})
  const hostKeyPub = keygen(join(dir, 'host_ed25519'))
  const clientKey = opts.clientKey ?? join(dir, 'client_ed25519')
  const clientPub = opts.clientKey ? readFileSync(`${opts.clientKey}.pub`, 'utf8').trim() : keygen(clientKey)
  writeFileSync(join(dir, 'authorized_keys'), clientPub + '\n', {mode: 0o600})
  const logFile = join(dir, 'sshd.log')
  let lastErr = ''
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort()
    const config = [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_ed25519')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'AllowTcpForwarding yes',
      'Subsystem sftp internal-sftp',
      `LogLevel ${opts.logLevel ?? 'ERROR'}`,
      'MaxStartups 100:30:200',
      ...(opts.extra ?? []),
    ]
    writeFileSync(join(dir, 'sshd_config'), config.join('\n') + '\n')
    const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], {stdio: ['ignore', 'ignore', 'pipe']})
    const log: Buffer[] = []
    child.stderr!.on('data', (d: Buffer) => {
      log.push(d)
      writeFileSync(logFile, Buffer.concat(log))
    })
    let exited = false
    const exitP = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())))
    const deadline = Date.now() + 10_000
    while (!exited && Date.now() < deadline && !(await answers(port))) await new Promise((r) => setTimeout(r, 50))
    if (exited || Date.now() >= deadline) {
      lastErr = Buffer.concat(log).toString()
      if (!exited) child.kill('SIGTERM')
      continue
    }
    const [type, b64] = hostKeyPub.split(/\s+/)
    return {
      port,
      pid: child.pid!,
      dir,
      user: userInfo().username,
      clientKey,
      hostKeyLine: `${type} ${b64}`,
      hostKeyBlob: Buffer.from(b64, 'base64'),
      hostKeyPub: join(dir, 'host_ed25519.pub'),
      logFile,
      authorize(line: string) {
        writeFileSync(join(dir, 'authorized_keys'), line.trim() + '\n', {mode: 0o600, flag: 'a'})
      },
      async stop() {
        if (!exited) {
          process.kill(child.pid!, 'SIGTERM')
          await Promise.race([exitP, new Promise((r) => setTimeout(r, 3000))])
          if (!exited) process.kill(child.pid!, 'SIGKILL')
        }
        rmSync(dir, {recursive: true, force: true})
      },
    }
  }
  rmSync(dir, {recursive: true, force: true})
  throw new Error(`sshd did not start: ${lastErr}`)
}
