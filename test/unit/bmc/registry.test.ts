import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {IpmiDriver} from '../../../src/bmc/ipmi.js'
import {addBmc} from '../../../src/bmc/manage.js'
import {readBmcPassword} from '../../../src/bmc/password.js'
import {listBmcs, loadBmc, loadBmcPassword, removeBmc} from '../../../src/bmc/registry.js'
import {ExitCode, InputError, MissingDependencyError} from '../../../src/errors.js'
import {redact, redactDeep} from '../../../src/util/redact.js'

describe('BMC registry and password handling', () => {
  let dir: string
  const saved = {state: process.env.METALPLANE_STATE_DIR, pw: process.env.METALPLANE_BMC_PASSWORD}
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mp-bmc-'))
    process.env.METALPLANE_STATE_DIR = join(dir, 'state')
    delete process.env.METALPLANE_BMC_PASSWORD
  })
  afterEach(() => {
    rmSync(dir, {recursive: true, force: true})
    for (const [k, v] of [['METALPLANE_STATE_DIR', saved.state], ['METALPLANE_BMC_PASSWORD', saved.pw]] as const) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  })

  it('reads the password from --password-file before the environment, registers it as a secret', async () => {
    const f = join(dir, 'pw')
    writeFileSync(f, 'from-File-pass1\n')
    process.env.METALPLANE_BMC_PASSWORD = 'from-Env-pass22'
    assert.equal(await readBmcPassword({passwordFile: f, bmc: 'x'}), 'from-File-pass1')
    assert.equal(await readBmcPassword({bmc: 'x'}), 'from-Env-pass22')
    assert.equal(redact('a from-File-pass1 b from-Env-pass22'), 'a [REDACTED] b [REDACTED]')
    await assert.rejects(readBmcPassword({passwordFile: join(dir, 'missing'), bmc: 'x'}), /--password-file/)
  })

  it('without a password and without a terminal, names the flag and variable that answer', async () => {
    const ci = process.env.CI
    process.env.CI = '1' // as under CI or a pipe, even when the tests run on a terminal
    try {
      await assert.rejects(readBmcPassword({bmc: 'r1-n1'}), (e: unknown) => e instanceof InputError && /--password-file FILE or set METALPLANE_BMC_PASSWORD/.test(e.hint ?? ''))
    } finally {
      if (ci === undefined) delete process.env.CI
      else process.env.CI = ci
    }
  })

  it('stores the record without the password and the password in a 0600 file; list, load, remove', async () => {
    process.env.METALPLANE_BMC_PASSWORD = 'stored-Pass-123'
    const r = await addBmc({name: 'r1-n1', protocol: 'ipmi', address: '10.0.0.11', user: 'admin', verify: false})
    assert.equal(r.power, undefined)
    const json = readFileSync(join(dir, 'state/bmc/r1-n1.json'), 'utf8')
    assert.ok(!json.includes('stored-Pass-123'))
    assert.equal(statSync(join(dir, 'state/bmc/r1-n1.password')).mode & 0o777, 0o600)
    assert.equal(loadBmcPassword('r1-n1'), 'stored-Pass-123')
    assert.deepEqual(listBmcs().map((b) => b.name), ['r1-n1'])
    assert.equal(loadBmc('r1-n1').address, '10.0.0.11')
    await assert.rejects(addBmc({name: 'r1-n1', protocol: 'ipmi', address: '10.0.0.11', user: 'admin', verify: false}), /already exists/)
    await assert.rejects(addBmc({name: 'Bad Name', protocol: 'ipmi', address: '10.0.0.11', user: 'admin', verify: false}), InputError)
    await assert.rejects(addBmc({name: 'n2', protocol: 'redfish', address: 'bad address!', user: 'admin', verify: false}), InputError)
    process.env.METALPLANE_BMC_PASSWORD = 'x'.repeat(21)
    await assert.rejects(addBmc({name: 'n3', protocol: 'ipmi', address: '10.0.0.13', user: 'admin', verify: false}), /longer than IPMI allows/)
    removeBmc('r1-n1')
    assert.deepEqual(listBmcs(), [])
    assert.throws(() => loadBmc('r1-n1'), (e: unknown) => (e as {exitCode: number}).exitCode === ExitCode.BAD_INPUT && /no BMC named "r1-n1"/.test((e as Error).message))
  })

  it('--json documents never carry a password field', () => {
    assert.deepEqual(redactDeep({bmc: {name: 'a', password: 'short'}}), {bmc: {name: 'a', password: '[REDACTED]'}})
  })

  it('a missing ipmitool is a missing dependency naming the Debian package', async () => {
    const d = new IpmiDriver({name: 'n', protocol: 'ipmi', address: '127.0.0.1', user: 'admin', addedAt: ''}, 'pw-Missing-1', {ipmitool: join(dir, 'no-such-ipmitool')})
    await assert.rejects(d.powerStatus(), (e: unknown) => e instanceof MissingDependencyError && e.exitCode === ExitCode.MISSING_DEPENDENCY && /apt-get install -y ipmitool/.test(e.hint ?? ''))
  })
})
