// STAND-IN BMC speaking a subset of the DMTF Redfish schema over HTTPS, for tests of the
// Redfish driver. No reachable registry serves a Redfish BMC emulator, so this one implements
// what the driver uses, strictly as the schema defines it:
//   GET  /redfish/v1                         ServiceRoot (no auth, as the spec allows)
//   GET  /redfish/v1/Systems                 ComputerSystemCollection
//   GET  /redfish/v1/Systems/{id}            ComputerSystem (PowerState, Boot, Actions, @odata.etag)
//   POST /redfish/v1/Systems/{id}/Actions/ComputerSystem.Reset   {"ResetType": ResetType}
//   PATCH /redfish/v1/Systems/{id}           {"Boot": {BootSourceOverrideTarget, ...Enabled, ...Mode}}
// Anything else is refused the way a BMC refuses it (401 without valid Basic auth, 404 unknown
// resource, 405 wrong method, 415 non-JSON body, 400 with a Base message registry error for
// unknown properties, read-only properties, values outside the allowable lists; 412 on a
// stale If-Match). Every request is recorded, accepted or not.
import type {IncomingMessage, ServerResponse} from 'node:http'
import {createServer, type Server} from 'node:https'
import type {AddressInfo} from 'node:net'

/** DMTF Resource.ResetType enumeration. */
export const RESET_TYPES = ['On', 'ForceOff', 'GracefulShutdown', 'GracefulRestart', 'ForceRestart', 'Nmi', 'ForceOn', 'PushPowerButton', 'PowerCycle', 'Suspend', 'Pause', 'Resume'] as const
/** ComputerSystem.BootSource enumeration (subset every BMC lists). */
export const BOOT_TARGETS = ['None', 'Pxe', 'Floppy', 'Cd', 'Usb', 'Hdd', 'BiosSetup', 'Utilities', 'Diags', 'UefiShell', 'UefiTarget', 'SDCard', 'UefiHttp', 'RemoteDrive', 'UefiBootNext'] as const
export const BOOT_ENABLED = ['Disabled', 'Once', 'Continuous'] as const
export const BOOT_MODES = ['Legacy', 'UEFI'] as const

export interface RedfishSystemState {
  id: string
  PowerState: 'On' | 'Off'
  Boot: {BootSourceOverrideTarget: string; BootSourceOverrideEnabled: string; BootSourceOverrideMode: string}
  etagSeq: number
}

export interface RecordedRequest {
  method: string
  path: string
  body?: unknown
  status: number
  authorized: boolean
}

export interface RedfishServerOptions {
  key: string | Buffer
  cert: string | Buffer
  user: string
  password: string
  /** System ids; default ["1"]. */
  systems?: string[]
  /** ResetType values this BMC offers (AllowableValues); default On, ForceOff, GracefulShutdown, ForceRestart, PowerCycle. */
  allowedResetTypes?: string[]
  /** Refuse PATCH without If-Match (some BMCs do). */
  requireIfMatch?: boolean
}

export interface RedfishServer {
  port: number
  systems: Map<string, RedfishSystemState>
  requests: RecordedRequest[]
  /** Requests the server refused with 4xx: a correct client makes none after discovery. */
  rejected(): RecordedRequest[]
  close(): Promise<void>
}

function etag(s: RedfishSystemState): string {
  return `W/"${s.id}-${s.etagSeq}"`
}

function messageError(res: ServerResponse, status: number, messageId: string, message: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {'Content-Type': 'application/json', ...extra})
  res.end(
    JSON.stringify({
      error: {
        code: `Base.1.8.${messageId}`,
        message,
        '@Message.ExtendedInfo': [{'@odata.type': '#Message.v1_1_1.Message', MessageId: `Base.1.8.${messageId}`, Message: message, Severity: 'Warning'}],
      },
    }),
  )
}

export async function startRedfishServer(opts: RedfishServerOptions): Promise<RedfishServer> {
  const systems = new Map<string, RedfishSystemState>()
  for (const id of opts.systems ?? ['1'])
    systems.set(id, {id, PowerState: 'Off', Boot: {BootSourceOverrideTarget: 'None', BootSourceOverrideEnabled: 'Disabled', BootSourceOverrideMode: 'UEFI'}, etagSeq: 1})
  const allowedReset = opts.allowedResetTypes ?? ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart', 'PowerCycle']
  const requests: RecordedRequest[] = []
  const expectedAuth = 'Basic ' + Buffer.from(`${opts.user}:${opts.password}`).toString('base64')

  function systemBody(s: RedfishSystemState): unknown {
    const path = `/redfish/v1/Systems/${s.id}`
    return {
      '@odata.type': '#ComputerSystem.v1_20_0.ComputerSystem',
      '@odata.id': path,
      '@odata.etag': etag(s),
      Id: s.id,
      Name: `System ${s.id}`,
      SystemType: 'Physical',
      PowerState: s.PowerState,
      Boot: {
        ...s.Boot,
        'BootSourceOverrideTarget@Redfish.AllowableValues': ['None', 'Pxe', 'Hdd', 'Cd', 'BiosSetup', 'UefiShell', 'UefiHttp'],
      },
      Actions: {
        '#ComputerSystem.Reset': {target: `${path}/Actions/ComputerSystem.Reset`, 'ResetType@Redfish.AllowableValues': allowedReset},
      },
    }
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    return Buffer.concat(chunks).toString('utf8')
  }

  const handler = async (req: IncomingMessage, res: ServerResponse, rec: RecordedRequest): Promise<void> => {
    const path = (req.url ?? '').split('?')[0].replace(/\/$/, '') || '/'
    const method = req.method ?? 'GET'
    const text = method === 'GET' ? '' : await readBody(req)
    let body: unknown
    if (text) {
      if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) return messageError(res, 415, 'UnsupportedMediaType', 'Content-Type must be application/json')
      try {
        body = JSON.parse(text)
      } catch {
        return messageError(res, 400, 'MalformedJSON', 'The request body submitted was malformed JSON')
      }
      rec.body = body
    }
    if (req.headers['odata-version'] !== undefined && req.headers['odata-version'] !== '4.0')
      return messageError(res, 412, 'PreconditionFailed', 'OData-Version must be 4.0')
    if (path === '/redfish' && method === 'GET') return json(res, {v1: '/redfish/v1/'})
    if (path === '/redfish/v1' && method === 'GET')
      return json(res, {'@odata.type': '#ServiceRoot.v1_15_0.ServiceRoot', '@odata.id': '/redfish/v1', Id: 'RootService', RedfishVersion: '1.17.0', Systems: {'@odata.id': '/redfish/v1/Systems'}})
    if (req.headers.authorization !== expectedAuth) return messageError(res, 401, 'NoValidSession', 'There is no valid session established with the implementation', {'WWW-Authenticate': 'Basic realm="Redfish"'})
    rec.authorized = true
    if (path === '/redfish/v1/Systems') {
      if (method !== 'GET') return messageError(res, 405, 'OperationNotAllowed', `${method} is not allowed on the collection`, {Allow: 'GET'})
      return json(res, {
        '@odata.type': '#ComputerSystemCollection.ComputerSystemCollection',
        '@odata.id': '/redfish/v1/Systems',
        Name: 'Computer System Collection',
        Members: [...systems.keys()].map((id) => ({'@odata.id': `/redfish/v1/Systems/${id}`})),
        'Members@odata.count': systems.size,
      })
    }
    let m = /^\/redfish\/v1\/Systems\/([^/]+)$/.exec(path)
    if (m) {
      const s = systems.get(m[1])
      if (!s) return messageError(res, 404, 'ResourceMissingAtURI', `The resource at the URI ${path} was not found`)
      if (method === 'GET') return json(res, systemBody(s), {ETag: etag(s)})
      if (method !== 'PATCH') return messageError(res, 405, 'OperationNotAllowed', `${method} is not allowed on a ComputerSystem`, {Allow: 'GET, PATCH'})
      const ifMatch = req.headers['if-match']
      if (opts.requireIfMatch && !ifMatch) return messageError(res, 428, 'PreconditionRequired', 'If-Match is required')
      if (ifMatch !== undefined && ifMatch !== etag(s) && ifMatch !== '*') return messageError(res, 412, 'PreconditionFailed', 'The ETag supplied did not match the ETag required to change this resource')
      if (!body || typeof body !== 'object' || Array.isArray(body)) return messageError(res, 400, 'MalformedJSON', 'PATCH needs a JSON object')
      const writable = ['Boot', 'AssetTag', 'HostName', 'IndicatorLED', 'LocationIndicatorActive']
      for (const k of Object.keys(body as object)) {
        if (['Id', 'Name', 'PowerState', 'Actions', 'SystemType', '@odata.id', '@odata.type', '@odata.etag'].includes(k)) return messageError(res, 400, 'PropertyNotWritable', `The property ${k} is a read only property and cannot be assigned a value`)
        if (!writable.includes(k)) return messageError(res, 400, 'PropertyUnknown', `The property ${k} is not in the list of valid properties for the resource`)
      }
      const boot = (body as {Boot?: unknown}).Boot
      if (boot !== undefined) {
        if (!boot || typeof boot !== 'object' || Array.isArray(boot)) return messageError(res, 400, 'PropertyValueTypeError', 'The value for the property Boot is of a different type than the property can accept')
        const lists: Record<string, readonly string[]> = {BootSourceOverrideTarget: BOOT_TARGETS, BootSourceOverrideEnabled: BOOT_ENABLED, BootSourceOverrideMode: BOOT_MODES}
        for (const [k, v] of Object.entries(boot)) {
          if (!(k in lists)) return messageError(res, 400, 'PropertyUnknown', `The property Boot/${k} is not in the list of valid properties for the resource`)
          if (typeof v !== 'string') return messageError(res, 400, 'PropertyValueTypeError', `The value for the property Boot/${k} is of a different type than the property can accept`)
          if (!lists[k].includes(v)) return messageError(res, 400, 'PropertyValueNotInList', `The value ${v} for the property Boot/${k} is not in the list of acceptable values`)
        }
        Object.assign(s.Boot, boot)
        s.etagSeq++
      }
      res.writeHead(204, {ETag: etag(s)})
      return void res.end()
    }
    m = /^\/redfish\/v1\/Systems\/([^/]+)\/Actions\/ComputerSystem\.Reset$/.exec(path)
    if (m) {
      const s = systems.get(m[1])
      if (!s) return messageError(res, 404, 'ResourceMissingAtURI', `The resource at the URI ${path} was not found`)
      if (method !== 'POST') return messageError(res, 405, 'OperationNotAllowed', 'Actions are invoked with POST', {Allow: 'POST'})
      if (!body || typeof body !== 'object' || Array.isArray(body)) return messageError(res, 400, 'ActionParameterMissing', 'The action ComputerSystem.Reset requires the parameter ResetType to be present in the request body')
      for (const k of Object.keys(body as object))
        if (k !== 'ResetType') return messageError(res, 400, 'ActionParameterUnknown', `The action ComputerSystem.Reset was submitted with the invalid parameter ${k}`)
      const rt = (body as {ResetType?: unknown}).ResetType
      if (rt === undefined) return messageError(res, 400, 'ActionParameterMissing', 'The action ComputerSystem.Reset requires the parameter ResetType to be present in the request body')
      if (typeof rt !== 'string' || !(RESET_TYPES as readonly string[]).includes(rt) || !allowedReset.includes(rt))
        return messageError(res, 400, 'ActionParameterValueNotInList', `The value ${JSON.stringify(rt)} for the parameter ResetType in the action ComputerSystem.Reset is not in the list of acceptable values`)
      if (rt === 'On' || rt === 'ForceOn' || rt === 'ForceRestart' || rt === 'PowerCycle' || rt === 'GracefulRestart') s.PowerState = 'On'
      else if (rt === 'ForceOff' || rt === 'GracefulShutdown') s.PowerState = 'Off'
      s.etagSeq++
      res.writeHead(204)
      return void res.end()
    }
    return messageError(res, 404, 'ResourceMissingAtURI', `The resource at the URI ${path} was not found`)
  }

  function json(res: ServerResponse, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(200, {'Content-Type': 'application/json; charset=utf-8', 'OData-Version': '4.0', ...headers})
    res.end(JSON.stringify(body))
  }

  const server: Server = createServer({key: opts.key, cert: opts.cert}, (req, res) => {
    const rec: RecordedRequest = {method: req.method ?? '', path: req.url ?? '', status: 0, authorized: false}
    requests.push(rec)
    res.on('finish', () => (rec.status = res.statusCode))
    handler(req, res, rec).catch((error) => {
      if (!res.headersSent) messageError(res, 500, 'InternalError', String(error))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    systems,
    requests,
    rejected: () => requests.filter((r) => r.status >= 400),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
