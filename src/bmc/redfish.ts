/**
 * Redfish over HTTPS: power through ComputerSystem.Reset, one-time or persistent PXE boot
 * through the ComputerSystem's Boot override (PATCH). TLS is verified (system CAs or
 * --ca-file) unless the BMC was added with --insecure.
 */
import {readFileSync} from 'node:fs'
import {request as httpsRequest} from 'node:https'
import {isIPv6} from 'node:net'
import {redact, registerSecret} from '../util/redact.js'
import {BmcAuthError, BmcError, bmcLabel, BmcUnreachableError, type BmcDriver, type BmcRecord, type BootOptions, type PowerAction, type PowerState} from './types.js'

export interface RedfishOptions {
  timeoutMs?: number
}

interface Response {
  status: number
  body: unknown
  etag?: string
}

const RESET_TYPE: Record<PowerAction, string> = {on: 'On', off: 'ForceOff', cycle: 'PowerCycle'}
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|UNABLE_TO_GET_ISSUER/

function redfishMessage(body: unknown): string | undefined {
  const err = (body as {error?: {message?: string; '@Message.ExtendedInfo'?: {Message?: string}[]}} | undefined)?.error
  if (!err) return undefined
  const ext = (err['@Message.ExtendedInfo'] ?? []).map((e) => e.Message).filter(Boolean)
  return [...new Set([err.message, ...ext].filter(Boolean))].join('; ')
}

export class RedfishDriver implements BmcDriver {
  readonly name: string
  private system?: {path: string; body: Record<string, unknown>; etag?: string}
  private readonly ca?: Buffer

  constructor(
    private readonly record: BmcRecord,
    private readonly password: string,
    private readonly opts: RedfishOptions = {},
  ) {
    this.name = record.name
    registerSecret(password)
    if (record.caFile) {
      try {
        this.ca = readFileSync(record.caFile)
      } catch (error) {
        throw new BmcError(record.name, `${bmcLabel(record)}: cannot read CA file ${record.caFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
      }
    }
  }

  private get authority(): string {
    const host = isIPv6(this.record.address) ? `[${this.record.address}]` : this.record.address
    return `${host}:${this.record.port ?? 443}`
  }

  private request(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const r = this.record
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const auth = 'Basic ' + Buffer.from(`${r.user}:${this.password}`).toString('base64')
    registerSecret(auth.slice(6))
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        `https://${this.authority}${path}`,
        {
          method,
          headers: {
            Accept: 'application/json',
            'OData-Version': '4.0',
            Authorization: auth,
            ...(payload ? {'Content-Type': 'application/json', 'Content-Length': String(payload.length)} : {}),
            ...headers,
          },
          rejectUnauthorized: !r.insecure,
          ca: this.ca,
          timeout: this.opts.timeoutMs ?? 15_000,
        },
        (res) => {
          const chunks: Buffer[] = []
          let size = 0
          res.on('data', (c: Buffer) => {
            size += c.length
            if (size > 4 * 1024 * 1024) req.destroy(new Error('response larger than 4 MiB'))
            else chunks.push(c)
          })
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            let parsed: unknown
            try {
              parsed = text ? JSON.parse(text) : undefined
            } catch {
              parsed = text
            }
            resolve({status: res.statusCode ?? 0, body: parsed, etag: typeof res.headers.etag === 'string' ? res.headers.etag : undefined})
          })
          res.on('error', reject)
        },
      )
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${(this.opts.timeoutMs ?? 15_000) / 1000}s`), {code: 'ETIMEDOUT'})))
      req.on('error', (error: NodeJS.ErrnoException) => reject(this.transportError(error)))
      req.end(payload)
    })
  }

  private transportError(error: NodeJS.ErrnoException): Error {
    const r = this.record
    const code = error.code ?? ''
    if (TLS_CODES.test(code))
      return new BmcError(r.name, `${bmcLabel(r)}: TLS certificate not trusted (${code}): ${error.message}`, {
        code: 'BMC_TLS',
        hint: `Give the BMC's CA with --ca-file when adding it, or accept any certificate with --insecure: metalplane bmc add ${r.name} --protocol redfish --address ${r.address} --user ${r.user} --insecure`,
      })
    if (/ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ECONNRESET/.test(code)) return new BmcUnreachableError(r, `${code}: ${redact(error.message)}`)
    return new BmcError(r.name, `${bmcLabel(r)}: ${redact(error.message)}`)
  }

  private check(res: Response, what: string): Response {
    if (res.status === 401 || res.status === 403) throw new BmcAuthError(this.record, `HTTP ${res.status} on ${what}`)
    if (res.status < 200 || res.status >= 300) {
      const msg = redfishMessage(res.body)
      throw new BmcError(this.record.name, redact(`${bmcLabel(this.record)}: ${what} failed: HTTP ${res.status}${msg ? `: ${msg}` : ''}`))
    }
    return res
  }

  /** The ComputerSystem, discovered from /redfish/v1/Systems unless the record names it. */
  private async loadSystem(): Promise<{path: string; body: Record<string, unknown>; etag?: string}> {
    let path = this.record.systemPath
    if (!path) {
      const res = this.check(await this.request('GET', '/redfish/v1/Systems'), 'GET /redfish/v1/Systems')
      const members = ((res.body as {Members?: {'@odata.id'?: string}[]})?.Members ?? []).map((m) => m['@odata.id']).filter((m): m is string => typeof m === 'string')
      if (members.length === 0) throw new BmcError(this.record.name, `${bmcLabel(this.record)}: /redfish/v1/Systems lists no system`)
      if (members.length > 1)
        throw new BmcError(this.record.name, `${bmcLabel(this.record)} manages ${members.length} systems: ${members.join(', ')}`, {hint: `Re-add the BMC with --system-path set to one of them.`})
      path = members[0].replace(/\/$/, '')
    }
    const res = this.check(await this.request('GET', path), `GET ${path}`)
    this.system = {path, body: (res.body ?? {}) as Record<string, unknown>, etag: res.etag ?? ((res.body as Record<string, unknown>)?.['@odata.etag'] as string | undefined)}
    return this.system
  }

  async systemPath(): Promise<string> {
    return (this.system ?? (await this.loadSystem())).path
  }

  async powerStatus(): Promise<PowerState> {
    const sys = await this.loadSystem()
    const s = String(sys.body.PowerState ?? '')
    if (s === 'On' || s === 'PoweringOff') return 'on'
    if (s === 'Off' || s === 'PoweringOn') return s === 'Off' ? 'off' : 'on'
    return 'unknown'
  }

  async power(action: PowerAction): Promise<void> {
    const sys = this.system ?? (await this.loadSystem())
    const reset = (sys.body.Actions as Record<string, {target?: string; 'ResetType@Redfish.AllowableValues'?: string[]}> | undefined)?.['#ComputerSystem.Reset']
    const target = reset?.target ?? `${sys.path}/Actions/ComputerSystem.Reset`
    const resetType = RESET_TYPE[action]
    const allowed = reset?.['ResetType@Redfish.AllowableValues']
    if (allowed && !allowed.includes(resetType))
      throw new BmcError(this.record.name, `${bmcLabel(this.record)} does not offer ResetType ${resetType} (it offers ${allowed.join(', ')})`)
    this.check(await this.request('POST', target, {ResetType: resetType}), `power ${action} (ResetType ${resetType})`)
    this.system = undefined // its PowerState and ETag changed
  }

  async bootPxe(opts: BootOptions): Promise<void> {
    const sys = await this.loadSystem() // a fresh ETag for If-Match
    const body = {
      Boot: {
        BootSourceOverrideTarget: 'Pxe',
        BootSourceOverrideEnabled: opts.persistent ? 'Continuous' : 'Once',
        BootSourceOverrideMode: opts.uefi ? 'UEFI' : 'Legacy',
      },
    }
    this.check(await this.request('PATCH', sys.path, body, sys.etag ? {'If-Match': sys.etag} : {}), `boot override to PXE (PATCH ${sys.path})`)
    this.system = undefined
  }
}
