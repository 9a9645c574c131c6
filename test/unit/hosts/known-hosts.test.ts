import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import ssh2 from 'ssh2'
import {ExitCode, HostKeyError} from '../../../src/errors.js'
import {
  checkHostKey,
  entryMatches,
  fingerprint,
  KnownHosts,
  knownHostsName,
  keyTypeOf,
  parseKnownHosts,
} from '../../../src/hosts/known-hosts.js'

/** A fresh public key: [type, base64, blob]. */
function newKey(type: 'ed25519' | 'ecdsa' | 'rsa' = 'ed25519'): {type: string; b64: string; blob: Buffer; line: string} {
  const kp = ssh2.utils.generateKeyPairSync(type, type === 'ecdsa' ? {bits: 256} : type === 'rsa' ? {bits: 2048} : {})
  const [t, b64] = kp.public.trim().split(/\s+/)
  return {type: t, b64, blob: Buffer.from(b64, 'base64'), line: `${t} ${b64}`}
}

describe('known_hosts', () => {
  let dir: string
  const ed = newKey('ed25519')
  const ed2 = newKey('ed25519')
  const ec = newKey('ecdsa')

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mp-known-hosts-'))
  })
  after(() => {
    rmSync(dir, {recursive: true, force: true})
  })

  it('names hosts like OpenSSH: bare on port 22, [host]:port otherwise', () => {
    assert.equal(knownHostsName('Node1.Example', 22), 'node1.example')
    assert.equal(knownHostsName('10.0.0.5', 2222), '[10.0.0.5]:2222')
  })

  it('parses plain entries with comma lists, comments and blank lines', () => {
    const text = `# comment\n\nnode1,10.0.0.1 ${ed.line} root@node1\n[10.0.0.2]:2222 ${ec.line}\nbad-line\nnode3 ssh-ed25519 !!!notbase64\n`
    const e = parseKnownHosts(text)
    assert.equal(e.length, 2)
    assert.deepEqual(e[0].patterns, ['node1', '10.0.0.1'])
    assert.equal(e[0].line, 3)
    assert.equal(e[0].keyType, 'ssh-ed25519')
    assert.ok(e[0].key.equals(ed.blob))
    assert.equal(e[1].keyType, 'ecdsa-sha2-nistp256')
    assert.ok(entryMatches(e[0], '10.0.0.1'))
    assert.ok(!entryMatches(e[0], '10.0.0.11'))
    assert.ok(entryMatches(e[1], '[10.0.0.2]:2222'))
    assert.ok(!entryMatches(e[1], '10.0.0.2'), 'a [host]:port entry is not the host on port 22')
  })

  it('matches wildcards and negations', () => {
    const [e] = parseKnownHosts(`10.1.*,!10.1.0.9 ${ed.line}\n`)
    assert.ok(entryMatches(e, '10.1.0.8'))
    assert.ok(!entryMatches(e, '10.1.0.9'))
    assert.ok(!entryMatches(e, '10.2.0.8'))
  })

  it('matches hashed entries written by ssh-keygen -H', () => {
    const f = join(dir, 'hashed')
    writeFileSync(f, `10.0.0.7 ${ed.line}\n[10.0.0.8]:2200 ${ec.line}\n`)
    execFileSync('ssh-keygen', ['-H', '-f', f], {stdio: 'ignore'})
    const text = readFileSync(f, 'utf8')
    assert.match(text, /^\|1\|/m)
    assert.ok(!text.includes('10.0.0.7'))
    const entries = parseKnownHosts(text)
    assert.equal(entries.length, 2)
    assert.deepEqual(checkHostKey(entries, '10.0.0.7', 22, ed.blob), {status: 'known', line: 1})
    assert.deepEqual(checkHostKey(entries, '10.0.0.8', 2200, ec.blob), {status: 'known', line: 2})
    assert.equal(checkHostKey(entries, '10.0.0.8', 22, ec.blob).status, 'unknown')
    assert.equal(checkHostKey(entries, '10.0.0.7', 22, ed2.blob).status, 'changed')
  })

  it('compares only keys of the same type: another type is unknown, the same type with another key is changed', () => {
    const entries = parseKnownHosts(`node1 ${ec.line}\nnode1 ${ed.line}\n`)
    assert.deepEqual(checkHostKey(entries, 'node1', 22, ed.blob), {status: 'known', line: 2})
    assert.deepEqual(checkHostKey(entries, 'node1', 22, ed2.blob), {status: 'changed', lines: [2]})
    const onlyEc = parseKnownHosts(`node1 ${ec.line}\n`)
    assert.deepEqual(checkHostKey(onlyEc, 'node1', 22, ed.blob), {status: 'unknown', otherTypes: ['ecdsa-sha2-nistp256']})
    assert.deepEqual(checkHostKey(onlyEc, 'node2', 22, ed.blob), {status: 'unknown', otherTypes: []})
  })

  it('refuses a key marked @revoked even when it is also listed as known', () => {
    const entries = parseKnownHosts(`@revoked * ${ed.line}\nnode1 ${ed.line}\n`)
    assert.deepEqual(checkHostKey(entries, 'node1', 22, ed.blob), {status: 'revoked', line: 1})
    assert.equal(checkHostKey(entries, 'node1', 22, ed2.blob).status, 'changed')
  })

  it('prints fingerprints exactly like ssh-keygen -l', () => {
    for (const k of [ed, ec]) {
      const f = join(dir, `k-${k.type}.pub`)
      writeFileSync(f, k.line + '\n')
      const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', f], {encoding: 'utf8'})
      assert.equal(fingerprint(k.blob), out.split(/\s+/)[1])
      assert.match(fingerprint(k.blob), /^SHA256:[A-Za-z0-9+/]{43}$/)
    }
    assert.equal(keyTypeOf(ed.blob), 'ssh-ed25519')
  })

  it('verify(): unknown refused with fingerprint and how to accept; accept-new records [host]:port; changed always refused', async () => {
    const file = join(dir, 'kh-verify')
    writeFileSync(file, `# keep me\nother ${ec.line}`) // no trailing newline
    const kh = new KnownHosts(file)
    await assert.rejects(kh.verify('node1', '127.0.0.1', 2222, ed.blob), (err: unknown) => {
      assert.ok(err instanceof HostKeyError)
      assert.equal(err.exitCode, ExitCode.HOST_KEY)
      assert.equal(err.reason, 'unknown')
      assert.match(err.message, /node1/)
      assert.ok(err.message.includes(fingerprint(ed.blob)))
      assert.match(err.hint ?? '', /--accept-new-host-keys/)
      assert.ok((err.hint ?? '').includes(file))
      return true
    })
    assert.equal(await kh.verify('node1', '127.0.0.1', 2222, ed.blob, {acceptNew: true}), 'added')
    const text = readFileSync(file, 'utf8')
    assert.equal(text, `# keep me\nother ${ec.line}\n[127.0.0.1]:2222 ${ed.line}\n`)
    // a fresh reader finds it
    assert.equal(await new KnownHosts(file).verify('node1', '127.0.0.1', 2222, ed.blob), 'known')
    // changed: refused even with acceptNew, naming the line
    await assert.rejects(new KnownHosts(file).verify('node1', '127.0.0.1', 2222, ed2.blob, {acceptNew: true}), (err: unknown) => {
      assert.ok(err instanceof HostKeyError)
      assert.equal(err.reason, 'changed')
      assert.match(err.message, /CHANGED/)
      assert.match(err.message, /line 3/)
      assert.ok(err.message.includes(fingerprint(ed2.blob)))
      return true
    })
    assert.equal(readFileSync(file, 'utf8'), text, 'a changed key is never written')
  })

  it('serializes concurrent appends and creates a missing file', async () => {
    const file = join(dir, 'sub', 'known_hosts')
    const kh = new KnownHosts(file)
    const keys = [newKey(), newKey(), newKey(), newKey()]
    await Promise.all(keys.map((k, i) => kh.verify(`n${i}`, `10.9.0.${i}`, 22, k.blob, {acceptNew: true})))
    const entries = parseKnownHosts(readFileSync(file, 'utf8'))
    assert.equal(entries.length, 4)
    for (const [i, k] of keys.entries()) assert.equal(checkHostKey(entries, `10.9.0.${i}`, 22, k.blob).status, 'known')
  })
})
