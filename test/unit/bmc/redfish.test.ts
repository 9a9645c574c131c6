import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {request} from 'node:https'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {bmcBootPxe, bmcPower} from '../../../src/bmc/control.js'
import {addBmc} from '../../../src/bmc/manage.js'
import {RedfishDriver} from '../../../src/bmc/redfish.js'
import {BmcAuthError, BmcError, type BmcRecord} from '../../../src/bmc/types.js'
import {redact} from '../../../src/util/redact.js'
import {startRedfishServer, type RedfishServer} from '../../standins/redfish-server.js'

const USER = 'root'
const PASSWORD = 'calvin-Redfish-9'

/** A raw HTTPS request to the stand-in, for checking that it refuses what a BMC refuses. */
function raw(port: number, ca: Buffer, method: string, path: string, body?: unknown, auth = true): Promise<{status: number; body: any}> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body)
    const req = request(
      {host: '127.0.0.1', port, method, path, ca, headers: {...(auth ? {Authorization: 'Basic ' + Buffer.from(`${USER}:${PASSWORD}`).toString('base64')} : {}), ...(data ? {'Content-Type': 'application/json'} : {})}},
      (res) => {
        let t = ''
        res.on('data', (c) => (t += c))
        res.on('end', () => resolve({status: res.statusCode ?? 0, body: t ? JSON.parse(t) : undefined}))
      },
    )
    req.on('error', reject)
    req.end(data)
  })
}

describe('Redfish driver against the stand-in BMC (HTTPS, strict DMTF schema subset)', function () {
  this.timeout(30_000)
  let dir: string
  let key: Buffer
  let cert: Buffer
  let server: RedfishServer
  const servers: RedfishServer[] = []
  const rec = (extra: Partial<BmcRecord> = {}): BmcRecord => ({name: 'rf1', protocol: 'redfish', address: '127.0.0.1', port: server.port, user: USER, caFile: join(dir, 'cert.pem'), addedAt: new Date().toISOString(), ...extra})

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mp-redfish-'))
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], {stdio: 'ignore'})
    key = readFileSync(join(dir, 'key.pem'))
    cert = readFileSync(join(dir, 'cert.pem'))
  })
  beforeEach(async () => {
    server = await startRedfishServer({key, cert, user: USER, password: PASSWORD, systems: ['System.Embedded.1']})
    servers.push(server)
  })
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close()
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('the stand-in refuses wrong requests: unknown ResetType, wrong property names and values, missing auth', async () => {
    const sys = '/redfish/v1/Systems/System.Embedded.1'
    assert.equal((await raw(server.port, cert, 'GET', sys, undefined, false)).status, 401)
    assert.equal((await raw(server.port, cert, 'GET', '/redfish/v1')).status, 200)
    let r = await raw(server.port, cert, 'POST', `${sys}/Actions/ComputerSystem.Reset`, {ResetType: 'Reboot'})
    assert.equal(r.status, 400)
    assert.match(r.body.error.code, /ActionParameterValueNotInList/)
    r = await raw(server.port, cert, 'POST', `${sys}/Actions/ComputerSystem.Reset`, {Resettype: 'On'})
    assert.equal(r.status, 400)
    r = await raw(server.port, cert, 'POST', `${sys}/Actions/ComputerSystem.Reset`, {ResetType: 'Nmi'})
    assert.equal(r.status, 400, 'a ResetType the BMC does not offer')
    r = await raw(server.port, cert, 'PATCH', sys, {Boot: {BootSourceOverrideTarget: 'PXE'}})
    assert.match(r.body.error.code, /PropertyValueNotInList/)
    r = await raw(server.port, cert, 'PATCH', sys, {Boot: {BootSource: 'Pxe'}})
    assert.match(r.body.error.code, /PropertyUnknown/)
    r = await raw(server.port, cert, 'PATCH', sys, {PowerState: 'On'})
    assert.match(r.body.error.code, /PropertyNotWritable/)
    r = await raw(server.port, cert, 'PATCH', sys, {BootSourceOverrideTarget: 'Pxe'})
    assert.match(r.body.error.code, /PropertyUnknown/, 'Boot properties belong inside Boot')
    assert.equal((await raw(server.port, cert, 'POST', sys, {})).status, 405)
    assert.equal(server.systems.get('System.Embedded.1')!.PowerState, 'Off')
    assert.equal(server.systems.get('System.Embedded.1')!.Boot.BootSourceOverrideTarget, 'None')
  })

  it('discovers the system from /redfish/v1/Systems and drives power on/off/cycle and PXE boot with valid requests only', async () => {
    const d = new RedfishDriver(rec(), PASSWORD)
    const s = server.systems.get('System.Embedded.1')!
    assert.equal(await d.powerStatus(), 'off')
    await d.power('on')
    assert.equal(s.PowerState, 'On')
    assert.equal(await d.powerStatus(), 'on')
    await d.power('off')
    assert.equal(s.PowerState, 'Off')
    await d.power('cycle')
    assert.equal(s.PowerState, 'On')
    await d.bootPxe({})
    assert.deepEqual(s.Boot, {BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once', BootSourceOverrideMode: 'Legacy'})
    await d.bootPxe({persistent: true, uefi: true})
    assert.deepEqual(s.Boot, {BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Continuous', BootSourceOverrideMode: 'UEFI'})
    assert.deepEqual(server.rejected(), [])
    const resets = server.requests.filter((r) => r.method === 'POST').map((r) => (r.body as {ResetType: string}).ResetType)
    assert.deepEqual(resets, ['On', 'ForceOff', 'PowerCycle'])
    assert.ok(server.requests.every((r) => r.path === '/redfish/v1/Systems' || r.path.startsWith('/redfish/v1/Systems/System.Embedded.1')))
  })

  it('sends If-Match with the ETag on a BMC that requires it', async () => {
    const strict = await startRedfishServer({key, cert, user: USER, password: PASSWORD, requireIfMatch: true})
    servers.push(strict)
    await new RedfishDriver(rec({port: strict.port}), PASSWORD).bootPxe({uefi: true})
    assert.equal(strict.systems.get('1')!.Boot.BootSourceOverrideTarget, 'Pxe')
    assert.deepEqual(strict.rejected(), [])
  })

  it('verifies TLS: an untrusted certificate is refused unless --ca-file or --insecure', async () => {
    await assert.rejects(new RedfishDriver(rec({caFile: undefined}), PASSWORD).powerStatus(), (e: unknown) => e instanceof BmcError && e.code === 'BMC_TLS' && /BMC "rf1"/.test(e.message) && /--insecure/.test(e.hint ?? ''))
    assert.equal(await new RedfishDriver(rec({caFile: undefined, insecure: true}), PASSWORD).powerStatus(), 'off')
  })

  it('a wrong password is an authentication error naming the BMC, never the password', async () => {
    const wrong = 'not-the-Password-1'
    await assert.rejects(new RedfishDriver(rec(), wrong).power('on'), (e: unknown) => e instanceof BmcAuthError && /BMC "rf1" \(127\.0\.0\.1:\d+\): authentication failed for user "root"/.test(e.message) && !e.message.includes(wrong))
    assert.equal(server.systems.get('System.Embedded.1')!.PowerState, 'Off')
    assert.ok(redact(`x ${wrong} y`).includes('[REDACTED]'), 'the password was registered as a secret')
  })

  it('refuses a ResetType the BMC does not offer before sending it, and asks which system when there are several', async () => {
    const limited = await startRedfishServer({key, cert, user: USER, password: PASSWORD, allowedResetTypes: ['On', 'ForceOff', 'ForceRestart']})
    servers.push(limited)
    await assert.rejects(new RedfishDriver(rec({port: limited.port}), PASSWORD).power('cycle'), /does not offer ResetType PowerCycle \(it offers On, ForceOff, ForceRestart\)/)
    assert.equal(limited.requests.filter((r) => r.method === 'POST').length, 0)
    const multi = await startRedfishServer({key, cert, user: USER, password: PASSWORD, systems: ['1', '2']})
    servers.push(multi)
    await assert.rejects(new RedfishDriver(rec({port: multi.port}), PASSWORD).powerStatus(), /manages 2 systems: \/redfish\/v1\/Systems\/1, \/redfish\/v1\/Systems\/2/)
    await new RedfishDriver(rec({port: multi.port, systemPath: '/redfish/v1/Systems/2'}), PASSWORD).power('on')
    assert.equal(multi.systems.get('2')!.PowerState, 'On')
    assert.equal(multi.systems.get('1')!.PowerState, 'Off')
  })

  it('an unreachable BMC is named in the error', async () => {
    const port = server.port
    await server.close()
    await assert.rejects(new RedfishDriver(rec({port}), PASSWORD).powerStatus(), (e: unknown) => e instanceof BmcError && e.code === 'BMC_UNREACHABLE' && /BMC "rf1" \(127\.0\.0\.1:\d+\) is unreachable/.test(e.message))
  })

  it('bmc add/power/bootdev by name through the registry', async () => {
    const prev = {state: process.env.METALPLANE_STATE_DIR, pw: process.env.METALPLANE_BMC_PASSWORD}
    process.env.METALPLANE_STATE_DIR = join(dir, 'state')
    process.env.METALPLANE_BMC_PASSWORD = PASSWORD
    try {
      const added = await addBmc({name: 'rf-node', protocol: 'redfish', address: '127.0.0.1', port: server.port, user: USER, caFile: join(dir, 'cert.pem')})
      assert.equal(added.power, 'off')
      assert.ok(!JSON.stringify(added).includes(PASSWORD))
      delete process.env.METALPLANE_BMC_PASSWORD
      assert.deepEqual(await bmcPower('rf-node', 'on'), {bmc: 'rf-node', action: 'on', power: 'on'})
      assert.deepEqual(await bmcBootPxe('rf-node', {uefi: true}), {bmc: 'rf-node', device: 'pxe', persistent: false, uefi: true})
      assert.equal(server.systems.get('System.Embedded.1')!.Boot.BootSourceOverrideMode, 'UEFI')
      assert.ok(!readFileSync(join(dir, 'state/bmc/rf-node.json'), 'utf8').includes(PASSWORD))
    } finally {
      for (const [k, v] of [['METALPLANE_STATE_DIR', prev.state], ['METALPLANE_BMC_PASSWORD', prev.pw]] as const) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    }
  })
})
