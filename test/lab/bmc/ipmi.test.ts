import assert from 'node:assert/strict'
import {chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {IpmiDriver} from '../../../src/bmc/ipmi.js'
import {BmcAuthError} from '../../../src/bmc/types.js'
import {mp} from './cli.js'
import {startIpmiSim, type IpmiSim} from './ipmi-sim.js'

const PASSWORD = 'Lab-ipmi-7731'
const WRONG = 'Wrong-guess-55'

async function until(what: string, fn: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('BMC control over IPMI against ipmi_sim', function () {
  this.timeout(120_000)
  let dir: string
  let sim: IpmiSim
  let env: Record<string, string>

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mp-ipmi-'))
    sim = await startIpmiSim({dir: join(dir, 'sim'), password: PASSWORD})
    env = {METALPLANE_STATE_DIR: join(dir, 'state')}
  })
  after(async () => {
    await sim?.stop()
    rmSync(dir, {recursive: true, force: true})
  })

  it('bmc add checks the credentials, stores the password apart in a 0600 file, and never prints it', () => {
    const r = mp(['bmc', 'add', 'n1', '--address', '127.0.0.1', '--port', String(sim.port), '--user', 'admin', '--json'], {...env, METALPLANE_BMC_PASSWORD: PASSWORD})
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.bmc.name, 'n1')
    assert.equal(r.json.power, 'off')
    assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD))
    const rec = readFileSync(join(dir, 'state/bmc/n1.json'), 'utf8')
    assert.ok(!rec.includes(PASSWORD), 'record file holds no password')
    const pwFile = join(dir, 'state/bmc/n1.password')
    assert.equal(statSync(pwFile).mode & 0o777, 0o600)
    assert.equal(statSync(join(dir, 'state/bmc')).mode & 0o777, 0o700)
    const list = mp(['bmc', 'list', '--json'], env)
    assert.equal(list.code, 0, list.stderr)
    assert.deepEqual(list.json.bmcs.map((b: {name: string}) => b.name), ['n1'])
    assert.ok(!list.stdout.includes(PASSWORD))
  })

  it('power status, on, off and cycle reach the chassis', async () => {
    let r = mp(['bmc', 'power', 'status', 'n1', '--json'], env)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.power, 'off')
    r = mp(['bmc', 'power', 'on', 'n1'], env)
    assert.equal(r.code, 0, r.stderr)
    assert.ok(sim.calls().includes('set power 1'), sim.calls().join('|'))
    assert.equal(mp(['bmc', 'power', 'status', 'n1', '--json'], env).json.power, 'on')
    r = mp(['bmc', 'power', 'off', 'n1', '--json'], env)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(sim.calls().filter((c) => c.startsWith('set power')).at(-1), 'set power 0')
    assert.equal(mp(['bmc', 'power', 'status', 'n1', '--json'], env).json.power, 'off')
    mp(['bmc', 'power', 'on', 'n1'], env)
    const before = sim.calls().length
    r = mp(['bmc', 'power', 'cycle', 'n1', '--json'], env)
    assert.equal(r.code, 0, r.stderr)
    await until('power cycle to reach the chassis as off then on', () => {
      const after = sim.calls().slice(before).filter((c) => c.startsWith('set power'))
      return after.join(',') === 'set power 0,set power 1'
    })
  })

  it('bootdev pxe reaches the chassis, once or persistent, legacy or UEFI', () => {
    let r = mp(['bmc', 'bootdev', 'pxe', 'n1', '--json'], env)
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.json, {bmc: 'n1', device: 'pxe', persistent: false, uefi: false})
    assert.equal(sim.calls().filter((c) => c.startsWith('set boot')).at(-1), 'set boot pxe')
    const n = sim.calls().filter((c) => c === 'set boot pxe').length
    r = mp(['bmc', 'bootdev', 'pxe', 'n1', '--persistent', '--uefi', '--json'], env)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(sim.calls().filter((c) => c === 'set boot pxe').length, n + 1)
  })

  it('a wrong password is a clear error naming the BMC, without the password in stdout, stderr or --json', () => {
    const pwFile = join(dir, 'wrong-pw')
    writeFileSync(pwFile, WRONG + '\n', {mode: 0o600})
    for (const json of [false, true]) {
      const r = mp(['bmc', 'add', 'rack1-n7', '--address', '127.0.0.1', '--port', String(sim.port), '--user', 'admin', '--password-file', pwFile, ...(json ? ['--json'] : [])], env)
      assert.equal(r.code, 1)
      const text = r.stdout + r.stderr
      assert.ok(!text.includes(WRONG), text)
      assert.ok(!text.includes(PASSWORD), text)
      if (json) {
        assert.equal(r.json.error.code, 'BMC_AUTH')
        assert.match(r.json.error.message, /BMC "rack1-n7" \(127\.0\.0\.1:\d+\): authentication failed for user "admin"/)
      } else assert.match(r.stderr, /BMC "rack1-n7" .*authentication failed.*wrong password/)
    }
    // Nothing stored for a BMC whose credentials failed.
    assert.deepEqual(mp(['bmc', 'list', '--json'], env).json.bmcs.map((b: {name: string}) => b.name), ['n1'])
    // A stored password that stopped working: the same error on power commands.
    const r2 = mp(['bmc', 'add', 'n2', '--address', '127.0.0.1', '--port', String(sim.port), '--user', 'admin', '--password-file', pwFile, '--no-verify', '--json'], env)
    assert.equal(r2.code, 0, r2.stderr)
    const r3 = mp(['bmc', 'power', 'status', 'n2', '--json'], env)
    assert.equal(r3.code, 1)
    assert.match(r3.json.error.message, /BMC "n2".*authentication failed/)
    assert.ok(!(r3.stdout + r3.stderr).includes(WRONG))
  })

  it('an unreachable BMC is named in the error', () => {
    const r = mp(['bmc', 'add', 'ghost', '--address', '127.0.0.1', '--port', '9', '--user', 'admin', '--json'], {...env, METALPLANE_BMC_PASSWORD: PASSWORD})
    assert.equal(r.code, 1)
    assert.equal(r.json.error.code, 'BMC_UNREACHABLE')
    assert.match(r.json.error.message, /BMC "ghost" \(127\.0\.0\.1:9\) is unreachable/)
    assert.ok(!r.stdout.includes(PASSWORD))
  })

  it('passes the password to ipmitool in IPMI_PASSWORD with -E, never on its command line', async () => {
    const wrapper = join(dir, 'ipmitool-wrapper.sh')
    const seen = join(dir, 'wrapper.log')
    writeFileSync(wrapper, `#!/bin/sh\necho "argv: $*" >> '${seen}'\n[ -n "$IPMI_PASSWORD" ] && echo "env: set" >> '${seen}'\nexec ipmitool "$@"\n`)
    chmodSync(wrapper, 0o755)
    const rec = {name: 'w', protocol: 'ipmi' as const, address: '127.0.0.1', port: sim.port, user: 'admin', addedAt: new Date().toISOString()}
    assert.equal(await new IpmiDriver(rec, PASSWORD, {ipmitool: wrapper}).powerStatus(), 'on')
    const log = readFileSync(seen, 'utf8')
    assert.match(log, /argv: -v -I lanplus -C 3 -H 127\.0\.0\.1 -p \d+ -U admin -E /)
    assert.match(log, /env: set/)
    assert.ok(!log.includes(PASSWORD))
    await assert.rejects(new IpmiDriver(rec, WRONG).powerStatus(), (e: unknown) => e instanceof BmcAuthError && !e.message.includes(WRONG))
  })
})
