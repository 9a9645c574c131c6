/**
 * metalplane's HTTP side of network boot: serves boot.ipxe, the kernel and the initramfs, and
 * receives discovery reports (POST /v1/reports) into a ReportSink.
 */
import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {InputError} from '../errors.js'
import {acceleratorName} from '../inventory/pci-ids.js'
import {DiscoveryReport, MAX_REPORT_BYTES, type ReportSink} from '../inventory/report.js'
import {cleanPeer} from '../inventory/store.js'
import type {Logger} from '../ui/log.js'

export interface ReceivedReport {
  id: string
  created: boolean
  peer?: string
  receivedAt: string
  /** MAC addresses the report lists, lowercase. */
  macs: string[]
  report: DiscoveryReport
}

export interface PxeHttpOptions {
  /** The iPXE script served at /boot.ipxe. */
  bootScript: () => string
  kernel: string
  initrd: string
  sink: ReportSink
  maxReportBytes?: number
  log?: Logger
  onReport?: (r: ReceivedReport) => void
}

/** Names known accelerators from the PCI ids (src/inventory/pci-ids.ts). */
export function enrichReport(r: DiscoveryReport): DiscoveryReport {
  const pci = r.pci.map((p) => {
    const name = acceleratorName(p.vendor, p.device)
    return name && !p.deviceName ? {...p, deviceName: name} : p
  })
  const accelerators = r.accelerators.map((a) => {
    const m = /^([0-9a-f]{4}):([0-9a-f]{4})$/i.exec(a.model ?? '')
    const name = m ? acceleratorName(m[1], m[2]) : undefined
    return name ? {...a, model: name} : a
  })
  return {...r, pci, accelerators}
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues?: unknown,
  ) {
    super(message)
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n'
  res.writeHead(status, {'content-type': 'application/json', 'content-length': Buffer.byteLength(text), connection: 'close'})
  res.end(text)
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN)
  if (Number.isFinite(declared) && declared > limit) throw new HttpError(413, `report is ${declared} bytes; the limit is ${limit}`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) throw new HttpError(413, `report is over the limit of ${limit} bytes`)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

async function serveFile(res: ServerResponse, path: string, head: boolean): Promise<void> {
  const st = await stat(path)
  res.writeHead(200, {'content-type': 'application/octet-stream', 'content-length': st.size})
  if (head) return void res.end()
  await new Promise<void>((resolve, reject) => {
    const s = createReadStream(path)
    s.on('error', reject)
    res.on('close', resolve)
    s.pipe(res)
  })
}

export function createPxeHttpServer(o: PxeHttpOptions): Server {
  const limit = o.maxReportBytes ?? MAX_REPORT_BYTES
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x')
    const peer = cleanPeer(req.socket.remoteAddress)
    const method = req.method ?? 'GET'
    if ((method === 'GET' || method === 'HEAD') && url.pathname === '/boot.ipxe') {
      const text = o.bootScript()
      o.log?.info(`boot.ipxe -> ${peer}`)
      res.writeHead(200, {'content-type': 'text/plain', 'content-length': Buffer.byteLength(text)})
      return void res.end(method === 'HEAD' ? undefined : text)
    }
    if ((method === 'GET' || method === 'HEAD') && (url.pathname === '/vmlinuz' || url.pathname === '/initrd.gz')) {
      o.log?.debug(`${url.pathname} -> ${peer}`)
      return serveFile(res, url.pathname === '/vmlinuz' ? o.kernel : o.initrd, method === 'HEAD')
    }
    if (url.pathname === '/v1/reports') {
      if (method !== 'POST') {
        res.setHeader('allow', 'POST')
        return send(res, 405, {error: 'use POST'})
      }
      const receivedAt = new Date()
      let report: DiscoveryReport
      try {
        const body = await readBody(req, limit)
        let json: unknown
        try {
          json = JSON.parse(body.toString('utf8'))
        } catch (e) {
          throw new HttpError(400, `report is not valid JSON: ${(e as Error).message}`)
        }
        const parsed = DiscoveryReport.safeParse(json)
        if (!parsed.success)
          throw new HttpError(400, 'report is malformed', parsed.error.issues.slice(0, 20).map((i) => ({path: i.path.join('.'), message: i.message})))
        report = enrichReport(parsed.data)
      } catch (e) {
        if (e instanceof HttpError) {
          o.log?.warn(`report from ${peer} refused (${e.status}): ${e.message}; nothing stored`)
          // An oversized body is not read to its end: close the connection after answering.
          if (e.status === 413) res.on('finish', () => req.destroy())
          return send(res, e.status, {error: e.message, issues: e.issues})
        }
        throw e
      }
      let result: {id: string; created: boolean}
      try {
        result = await o.sink.record(report, {peer, receivedAt})
      } catch (e) {
        if (e instanceof InputError) {
          o.log?.warn(`report from ${peer} refused (400): ${e.message}`)
          return send(res, 400, {error: e.message, issues: e.issues})
        }
        o.log?.error(`storing the report from ${peer} failed: ${(e as Error).message}`)
        return send(res, 500, {error: 'the report could not be stored'})
      }
      const macs = report.nics.map((n) => n.mac.toLowerCase())
      o.log?.info(`report from ${peer} (${macs.join(', ')}): machine ${result.id} ${result.created ? 'discovered' : 'updated'}`)
      o.onReport?.({id: result.id, created: result.created, peer, receivedAt: receivedAt.toISOString(), macs, report})
      return send(res, result.created ? 201 : 200, result)
    }
    send(res, 404, {error: 'not found'})
  }
  return createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      o.log?.error(`HTTP ${req.method} ${req.url}: ${(e as Error).message}`)
      if (!res.headersSent) send(res, 500, {error: 'internal error'})
      else res.destroy()
    })
  })
}

export async function listen(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return (server.address() as AddressInfo).port
}
