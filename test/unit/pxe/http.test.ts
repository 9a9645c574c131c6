import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import type {Server} from 'node:http'
import {request} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {InputError} from '../../../src/errors.js'
import {SqliteStore} from '../../../src/inventory/sqlite-store.js'
import type {DiscoveryReport, ReportSink} from '../../../src/inventory/report.js'
import {renderBootScript} from '../../../src/pxe/config.js'
import {createPxeHttpServer, listen, type ReceivedReport} from '../../../src/pxe/http.js'
import {makeReport} from '../inventory/reports.js'

interface Reply {
  status: number
  body: string
}
function call(port: number, method: string, path: string, body?: string | Buffer, headers: Record<string, string | number> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({host: '127.0.0.1', port, method, path, headers: {'content-type': 'application/json', ...headers}}, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString()}))
    })
    req.on('error', reject)
    if (body !== undefined) req.end(body)
    else req.end()
  })
}

describe('pxe: HTTP server', () => {
  let dir: string
  let server: Server
  let port: number
  let recorded: DiscoveryReport[]
  let received: ReceivedReport[]
  let sinkError: Error | undefined
  const sink: ReportSink = {
    async record(r) {
      if (sinkError) throw sinkError
      recorded.push(r)
      return {id: 'mac-525400123456', created: recorded.length === 1}
    },
  }
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mp-pxe-http-'))
    writeFileSync(join(dir, 'vmlinuz'), 'KERNEL-BYTES')
    writeFileSync(join(dir, 'initrd.gz'), Buffer.alloc(300_000, 7))
    server = createPxeHttpServer({
      bootScript: () => renderBootScript({baseUrl: `http://127.0.0.1:${port}`, policy: 'poweroff'}),
      kernel: join(dir, 'vmlinuz'),
      initrd: join(dir, 'initrd.gz'),
      sink,
      maxReportBytes: 64 * 1024,
      onReport: (r) => received.push(r),
    })
    port = await listen(server, '127.0.0.1', 0)
  })
  beforeEach(() => {
    recorded = []
    received = []
    sinkError = undefined
  })
  after(async () => {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
    rmSync(dir, {recursive: true, force: true})
  })

  it('serves boot.ipxe naming the initrd on the kernel line, and the kernel and initrd', async () => {
    const b = await call(port, 'GET', '/boot.ipxe')
    assert.equal(b.status, 200)
    assert.match(b.body, new RegExp(`kernel http://127\\.0\\.0\\.1:${port}/vmlinuz initrd=initrd\\.gz `))
    assert.match(b.body, /metalplane\.server=http:\/\/127\.0\.0\.1:\d+ metalplane\.policy=poweroff/)
    assert.equal((await call(port, 'GET', '/vmlinuz')).body, 'KERNEL-BYTES')
    assert.equal((await call(port, 'GET', '/initrd.gz')).body.length, 300_000)
    assert.equal((await call(port, 'GET', '/etc/passwd')).status, 404)
    assert.equal((await call(port, 'GET', '/v1/reports')).status, 405)
  })
  it('accepts a report: 201, into the sink, accelerator named from the PCI ids', async () => {
    const r = makeReport({gpu: true, macs: ['52:54:00:12:34:56']}) as Record<string, unknown>
    r.accelerators = [{kind: 'gpu', vendor: 'nvidia', model: '10de:2330', pciAddress: '0000:62:00.0'}]
    const res = await call(port, 'POST', '/v1/reports', JSON.stringify(r))
    assert.equal(res.status, 201)
    assert.deepEqual(JSON.parse(res.body), {id: 'mac-525400123456', created: true})
    assert.equal(recorded.length, 1)
    assert.equal(recorded[0].accelerators[0].model, 'H100 SXM5 80GB')
    assert.equal(recorded[0].pci.find((p) => p.device === '20b5')?.deviceName, 'A100 PCIe 80GB')
    assert.deepEqual(received[0].macs, ['52:54:00:12:34:56'])
    assert.equal(received[0].peer, '127.0.0.1')
    // a second report of the same machine is an update
    assert.equal((await call(port, 'POST', '/v1/reports', JSON.stringify(r))).status, 200)
  })
  it('refuses malformed JSON and reports that do not match the schema with 400; nothing stored', async () => {
    const bad = await call(port, 'POST', '/v1/reports', '{"dmi": {')
    assert.equal(bad.status, 400)
    assert.match(JSON.parse(bad.body).error, /not valid JSON/)
    const wrong = await call(port, 'POST', '/v1/reports', JSON.stringify({nics: 'eth0', disks: [{name: 'x', sizeBytes: -1}]}))
    assert.equal(wrong.status, 400)
    const issues = JSON.parse(wrong.body).issues as {path: string}[]
    assert.ok(issues.some((i) => i.path === 'nics'))
    assert.ok(issues.some((i) => i.path === 'disks.0.sizeBytes'))
    assert.equal(recorded.length, 0)
    assert.equal(received.length, 0)
  })
  it('refuses oversized reports with 413, by declared length and by actual bytes; nothing stored', async () => {
    const big = JSON.stringify({...makeReport(), padding: 'x'.repeat(70 * 1024)})
    assert.equal((await call(port, 'POST', '/v1/reports', big)).status, 413)
    // chunked, no content-length: counted while reading
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request({host: '127.0.0.1', port, method: 'POST', path: '/v1/reports', headers: {'transfer-encoding': 'chunked'}}, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', reject)
      for (let i = 0; i < 20; i++) req.write('x'.repeat(8 * 1024))
      req.end()
    })
    assert.equal(chunked, 413)
    assert.equal(recorded.length, 0)
  })
  it("answers 400 when the sink refuses the report (InputError), 500 when it fails", async () => {
    sinkError = new InputError('discovery report has no usable identity')
    const r = await call(port, 'POST', '/v1/reports', JSON.stringify(makeReport()))
    assert.equal(r.status, 400)
    assert.match(r.body, /no usable identity/)
    sinkError = new Error('disk full')
    assert.equal((await call(port, 'POST', '/v1/reports', JSON.stringify(makeReport()))).status, 500)
    assert.equal(received.length, 0)
  })
  it('stores into the SQLite inventory store as the sink', async () => {
    const store = new SqliteStore(join(dir, 'inv.db'))
    const s2 = createPxeHttpServer({bootScript: () => '', kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.gz'), sink: store})
    const p2 = await listen(s2, '127.0.0.1', 0)
    try {
      const res = await call(p2, 'POST', '/v1/reports', JSON.stringify(makeReport({macs: ['52:54:00:aa:bb:cc'], uuid: '11111111-2222-4333-8444-555555555555'})))
      assert.equal(res.status, 201)
      const m = await store.get(JSON.parse(res.body).id)
      assert.equal(m?.hardware.nics[0].mac, '52:54:00:aa:bb:cc')
      assert.equal(m?.address, '127.0.0.1')
    } finally {
      s2.closeAllConnections()
      await new Promise((r) => s2.close(r))
      await store.close()
    }
  })
})
