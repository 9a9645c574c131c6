import assert from 'node:assert/strict'
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {ExitCode, HostKeyError, InputError} from '../../../src/errors.js'
import {CommandFailedError} from '../../../src/hosts/executor.js'
import {KnownHosts, fingerprint, parseKnownHosts} from '../../../src/hosts/known-hosts.js'
import {BastionPool, PASSPHRASE_ENV, SshExecutor, type SshHostTarget} from '../../../src/hosts/ssh.js'
import {keygen, startSshd, type TestSshd} from './sshd.js'

describe('SshExecutor against a real sshd', function () {
  this.timeout(30_000)
  let sshd: TestSshd
  let dir: string
  let khFile: string
  const open: SshExecutor[] = []

  const target = (s: TestSshd, extra: Partial<SshHostTarget> = {}): SshHostTarget => ({address: '127.0.0.1', port: s.port, user: s.user, keyFile: s.clientKey, ...extra})
  function executor(s: TestSshd, o: {kh?: string; accept?: boolean; t?: Partial<SshHostTarget>; bastions?: BastionPool} = {}): SshExecutor {
    const e = new SshExecutor('node1', target(s, o.t), {knownHosts: new KnownHosts(o.kh ?? khFile), acceptNewHostKeys: o.accept, connectTimeoutMs: 10_000, bastions: o.bastions})
    open.push(e)
    return e
  }

  before(async () => {
    sshd = await startSshd()
    dir = mkdtempSync(join(tmpdir(), 'mp-ssh-test-'))
    khFile = join(dir, 'known_hosts')
    writeFileSync(khFile, `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`)
  })
  afterEach(async () => {
    await Promise.all(open.splice(0).map((e) => e.close()))
  })
  after(async () => {
    await sshd?.stop()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  describe('exec', () => {
    it('returns stdout, stderr and the exit code; throws CommandFailedError unless allowFail', async () => {
      const e = executor(sshd)
      const r = await e.exec('echo out; echo err >&2')
      assert.deepEqual(r, {stdout: 'out\n', stderr: 'err\n', code: 0})
      const f = await e.exec('echo nope >&2; exit 3', {allowFail: true})
      assert.equal(f.code, 3)
      assert.equal(f.stderr, 'nope\n')
      await assert.rejects(e.exec('echo broken >&2; exit 7'), (err: unknown) => {
        assert.ok(err instanceof CommandFailedError)
        assert.equal(err.result.code, 7)
        assert.match(err.message, /exit code 7/)
        assert.match(err.message, /broken/)
        return true
      })
    })

    it('passes stdin and keeps binary-safe UTF-8 across chunks', async () => {
      const e = executor(sshd)
      const r = await e.exec('cat; printf "\\342\\202\\254"', {input: 'héllo\n'})
      assert.equal(r.stdout, 'héllo\n€')
    })

    it('reuses one connection for every command', async () => {
      const e = executor(sshd)
      const a = await e.exec('echo $SSH_CONNECTION')
      const b = await e.exec('echo $SSH_CONNECTION')
      assert.ok(a.stdout.trim().length > 0)
      assert.equal(a.stdout, b.stdout)
      await e.close()
      // reopened lazily after close
      const c = await e.exec('echo $SSH_CONNECTION')
      assert.notEqual(c.stdout, a.stdout)
    })

    it('streams output while the command runs', async () => {
      const e = executor(sshd)
      const seen: {t: number; s: string}[] = []
      const errs: string[] = []
      const start = Date.now()
      const r = await e.exec('echo first; sleep 1; echo second; echo warn >&2', {
        onStdout: (s) => seen.push({t: Date.now() - start, s}),
        onStderr: (s) => errs.push(s),
      })
      assert.equal(r.stdout, 'first\nsecond\n')
      assert.equal(seen.map((x) => x.s).join(''), 'first\nsecond\n')
      assert.equal(seen[0].s, 'first\n')
      assert.ok(seen[0].t < Date.now() - start - 700, `first chunk at ${seen[0].t} ms came before the command ended`)
      assert.equal(errs.join(''), 'warn\n')
    })

    it('reconnects on the next command after the connection dropped', async () => {
      const e = executor(sshd)
      const first = (await e.exec('echo $SSH_CONNECTION')).stdout
      // kill this connection's sshd session process
      await assert.rejects(e.exec('kill -9 $PPID; sleep 5'), /ssh exec failed|exit code|killed/)
      await new Promise((r) => setTimeout(r, 200))
      const again = await e.exec('echo $SSH_CONNECTION')
      assert.notEqual(again.stdout, first)
    })

    it('a stream callback that throws fails the exec instead of crashing ssh2', async () => {
      const e = executor(sshd)
      await assert.rejects(
        e.exec('echo one; echo two', {
          onStdout: () => {
            throw new Error('callback broke')
          },
        }),
        /callback broke/,
      )
      assert.equal((await e.exec('echo fine')).stdout, 'fine\n')
    })

    it('kills a command on timeout and returns code null', async () => {
      const e = executor(sshd)
      const marker = `31.${process.pid % 1000}7`
      const start = Date.now()
      const r = await e.exec(`sleep ${marker}`, {timeoutMs: 500, allowFail: true})
      assert.equal(r.code, null)
      assert.equal(r.signal, 'timeout')
      assert.ok(Date.now() - start < 5000)
      await assert.rejects(e.exec(`sleep ${marker}`, {timeoutMs: 300}), /killed \(timeout\)/)
      // the connection still works, and the remote process is gone
      await new Promise((r2) => setTimeout(r2, 2500)) // the remote reaper fires within a second or two
      const ps = await e.exec(`pgrep -f "[s]leep ${marker}" || true`)
      assert.equal(ps.stdout.trim(), '')
    })
  })

  describe('files', () => {
    it('uploads atomically with the mode (new inode, no temp files left) and creates the directory', async () => {
      const e = executor(sshd)
      const d = join(dir, 'up', 'sub')
      const f = join(d, 'config.yaml')
      await e.upload('one\n', f, {mode: 0o640})
      assert.equal(readFileSync(f, 'utf8'), 'one\n')
      assert.equal(statSync(f).mode & 0o777, 0o640)
      const ino = statSync(f).ino
      await e.upload(Buffer.from('two\n'), f, {mode: 0o600})
      assert.equal(readFileSync(f, 'utf8'), 'two\n')
      assert.equal(statSync(f).mode & 0o777, 0o600)
      assert.notEqual(statSync(f).ino, ino, 'replaced by rename, not rewritten in place')
      await e.upload('x', join(d, 'exec.sh'), {mode: 0o755})
      assert.equal(statSync(join(d, 'exec.sh')).mode & 0o777, 0o755)
      assert.deepEqual(readdirSync(d).sort(), ['config.yaml', 'exec.sh'])
    })

    it('downloads a file, and undefined when it does not exist', async () => {
      const e = executor(sshd)
      const f = join(dir, 'dl.bin')
      const bytes = Buffer.from([0, 1, 2, 255, 10, 13])
      writeFileSync(f, bytes)
      assert.deepEqual(await e.download(f), bytes)
      assert.equal(await e.download(join(dir, 'missing')), undefined)
    })
  })

  describe('host keys', () => {
    it('refuses an unknown host key with its SHA256 fingerprint and how to accept it', async () => {
      const kh = join(dir, 'kh-empty')
      const e = executor(sshd, {kh})
      const fp = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', sshd.hostKeyPub], {encoding: 'utf8'}).split(/\s+/)[1]
      assert.equal(fingerprint(sshd.hostKeyBlob), fp)
      await assert.rejects(e.connect(), (err: unknown) => {
        assert.ok(err instanceof HostKeyError, String(err))
        assert.equal(err.exitCode, ExitCode.HOST_KEY)
        assert.equal(err.reason, 'unknown')
        assert.match(err.message, /node1/)
        assert.ok(err.message.includes(fp))
        assert.match(err.hint ?? '', /--accept-new-host-keys/)
        return true
      })
      assert.equal(existsSync(kh), false, 'nothing recorded without --accept-new-host-keys')
    })

    it('refuses a changed host key even with accept-new, naming the known_hosts line', async () => {
      const kh = join(dir, 'kh-changed')
      const other = keygen(join(dir, 'other_host_key')).split(/\s+/).slice(0, 2).join(' ')
      const text = `# first line\n[127.0.0.1]:${sshd.port} ${other}\n`
      writeFileSync(kh, text)
      const e = executor(sshd, {kh, accept: true})
      await assert.rejects(e.connect(), (err: unknown) => {
        assert.ok(err instanceof HostKeyError, String(err))
        assert.equal(err.reason, 'changed')
        assert.match(err.message, /CHANGED/)
        assert.match(err.message, /line 2/)
        assert.ok(err.message.includes(kh))
        return true
      })
      assert.equal(readFileSync(kh, 'utf8'), text)
    })

    it('accept-new records an unknown key as [host]:port; the next connection succeeds without it', async () => {
      const kh = join(dir, 'kh-accept')
      const e1 = executor(sshd, {kh, accept: true})
      assert.equal((await e1.exec('echo hi')).stdout, 'hi\n')
      const entries = parseKnownHosts(readFileSync(kh, 'utf8'))
      assert.equal(entries.length, 1)
      assert.deepEqual(entries[0].patterns, [`[127.0.0.1]:${sshd.port}`])
      assert.ok(entries[0].key.equals(sshd.hostKeyBlob))
      const e2 = executor(sshd, {kh})
      assert.equal((await e2.exec('echo again')).stdout, 'again\n')
    })
  })

  describe('auth', () => {
    it('an encrypted key without a passphrase and no terminal fails naming METALPLANE_SSH_PASSPHRASE; with it, connects', async () => {
      const key = join(dir, 'enc_key')
      const pub = keygen(key, 'ed25519', 'correct horse battery')
      sshd.authorize(pub)
      const saved = {pass: process.env[PASSPHRASE_ENV], ci: process.env.CI}
      delete process.env[PASSPHRASE_ENV]
      process.env.CI = '1' // never prompt, even when the tests run on a terminal
      try {
        await assert.rejects(executor(sshd, {t: {keyFile: key}}).connect(), (err: unknown) => {
          assert.ok(err instanceof InputError, String(err))
          assert.equal(err.exitCode, ExitCode.BAD_INPUT)
          assert.match(err.message, /enc_key is encrypted/)
          assert.match(err.hint ?? '', /METALPLANE_SSH_PASSPHRASE/)
          return true
        })
        process.env[PASSPHRASE_ENV] = 'wrong passphrase'
        await assert.rejects(executor(sshd, {t: {keyFile: key}}).connect(), /wrong passphrase/)
        process.env[PASSPHRASE_ENV] = 'correct horse battery'
        assert.equal((await executor(sshd, {t: {keyFile: key}}).exec('echo ok')).stdout, 'ok\n')
      } finally {
        if (saved.pass === undefined) delete process.env[PASSPHRASE_ENV]
        else process.env[PASSPHRASE_ENV] = saved.pass
        if (saved.ci === undefined) delete process.env.CI
        else process.env.CI = saved.ci
      }
    })

    it('authenticates with ssh-agent when agent is set and no keyFile is given', async () => {
      const sock = join(dir, 'agent.sock')
      const agent = spawn('ssh-agent', ['-D', '-a', sock], {stdio: 'ignore'})
      const saved = process.env.SSH_AUTH_SOCK
      try {
        for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20))
        execFileSync('ssh-add', [sshd.clientKey], {env: {...process.env, SSH_AUTH_SOCK: sock}, stdio: 'ignore'})
        process.env.SSH_AUTH_SOCK = sock
        const e = executor(sshd, {t: {keyFile: undefined, agent: true}})
        assert.equal((await e.exec('echo agent')).stdout, 'agent\n')
        delete process.env.SSH_AUTH_SOCK
        await assert.rejects(executor(sshd, {t: {keyFile: undefined, agent: true}}).connect(), /agent is set but SSH_AUTH_SOCK is not/)
      } finally {
        if (saved === undefined) delete process.env.SSH_AUTH_SOCK
        else process.env.SSH_AUTH_SOCK = saved
        if (agent.pid) process.kill(agent.pid, 'SIGTERM')
      }
    })

    it('a key the server does not accept fails with a clear authentication error', async () => {
      const key = join(dir, 'stranger_key')
      keygen(key)
      await assert.rejects(executor(sshd, {t: {keyFile: key}}).connect(), /cannot connect to node1 .*authentication failed/)
    })

    it('a server that never answers the handshake times out after connectTimeoutMs', async () => {
      const silent = createServer((sock) => sock.on('error', () => {}))
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
      const port = (silent.address() as {port: number}).port
      try {
        const e = new SshExecutor('node1', target(sshd, {port}), {knownHosts: new KnownHosts(khFile), connectTimeoutMs: 500})
        const start = Date.now()
        await assert.rejects(e.connect(), /cannot connect to node1 .*: timed out/)
        assert.ok(Date.now() - start < 3000)
      } finally {
        silent.close()
      }
    })

    it('a closed port fails with connection refused', async () => {
      await assert.rejects(executor(sshd, {t: {port: 1}}).connect(), /cannot connect to node1 .*:1\): connection refused/)
    })
  })

  describe('bastion', () => {
    let jump: TestSshd
    before(async () => {
      jump = await startSshd({logLevel: 'DEBUG1', clientKey: sshd.clientKey})
      writeFileSync(khFile, `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n[127.0.0.1]:${jump.port} ${jump.hostKeyLine}\n`)
    })
    after(async () => {
      await jump?.stop()
    })

    it('reaches the host through the bastion with forwardOut, one bastion connection shared', async () => {
      const pool = new BastionPool({knownHosts: new KnownHosts(khFile)})
      const bastion = {address: '127.0.0.1', port: jump.port, user: jump.user, keyFile: jump.clientKey}
      const a = executor(sshd, {t: {bastion}, bastions: pool})
      const b = executor(sshd, {t: {bastion}, bastions: pool})
      assert.equal((await a.exec('echo via-a')).stdout, 'via-a\n')
      assert.equal((await b.exec('echo via-b')).stdout, 'via-b\n')
      await a.upload('through\n', join(dir, 'bastion.txt'), {mode: 0o600})
      assert.equal(readFileSync(join(dir, 'bastion.txt'), 'utf8'), 'through\n')
      const log = readFileSync(jump.logFile, 'utf8')
      const tunnels = log.match(new RegExp(`direct.tcpip.*127\\.0\\.0\\.1 port ${sshd.port}`, 'g')) ?? []
      assert.ok(tunnels.length >= 2, `bastion log shows the tunnels:\n${log.slice(-2000)}`)
      const logins = log.match(/Accepted publickey/g) ?? []
      assert.equal(logins.length, 1, 'one login on the bastion for both hosts')
    })

    it('says which host the bastion could not reach', async () => {
      const e = executor(sshd, {t: {port: 1, bastion: {address: '127.0.0.1', port: jump.port, user: jump.user, keyFile: jump.clientKey}}})
      await assert.rejects(e.connect(), /cannot reach node1 \(127\.0\.0\.1:1\) through bastion 127\.0\.0\.1/)
    })

    it('refuses an unknown bastion host key', async () => {
      const kh = join(dir, 'kh-no-bastion')
      writeFileSync(kh, `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`)
      const e = executor(sshd, {kh, t: {bastion: {address: '127.0.0.1', port: jump.port, user: jump.user, keyFile: jump.clientKey}}})
      await assert.rejects(e.connect(), (err: unknown) => err instanceof HostKeyError && /bastion/.test(err.message) && err.message.includes(fingerprint(jump.hostKeyBlob)))
    })
  })
})
