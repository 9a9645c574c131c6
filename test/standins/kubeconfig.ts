// STAND-IN kubeconfig files and an HTTPS client for the kube-apiserver stand-in.
import {readFileSync} from 'node:fs'
import {request as httpsRequest} from 'node:https'
import {parse, stringify} from 'yaml'
import {fail, readHost} from './common.js'

export interface KubeconfigSpec {
  clusterName: string
  server: string
  caPem: string
  user: string
  certPem?: string
  keyPem?: string
  token?: string
}

export function kubeconfigYaml(k: KubeconfigSpec): string {
  const user: Record<string, string> = {}
  if (k.certPem) user['client-certificate-data'] = Buffer.from(k.certPem).toString('base64')
  if (k.keyPem) user['client-key-data'] = Buffer.from(k.keyPem).toString('base64')
  if (k.token) user.token = k.token
  const ctxName = `${k.user}@${k.clusterName}`
  return stringify({
    apiVersion: 'v1',
    clusters: [
      {cluster: {'certificate-authority-data': Buffer.from(k.caPem).toString('base64'), server: k.server}, name: k.clusterName},
    ],
    contexts: [{context: {cluster: k.clusterName, user: k.user}, name: ctxName}],
    'current-context': ctxName,
    kind: 'Config',
    preferences: {},
    users: [{name: k.user, user}],
  })
}

export interface Conn {
  server: string
  ca?: string
  cert?: string
  key?: string
  token?: string
  insecure?: boolean
}

function b64(s: unknown): string | undefined {
  return typeof s === 'string' ? Buffer.from(s, 'base64').toString('utf8') : undefined
}

/** Reads a kubeconfig from the host (path is a host path) and returns its current context's connection. */
export function loadKubeconfig(path: string, hostPath = true): Conn {
  let text: string
  try {
    text = hostPath ? readHost(path) : readFileSync(path, 'utf8')
  } catch {
    fail(`stat ${path}: no such file or directory`)
  }
  let doc: any
  try {
    doc = parse(text)
  } catch (e) {
    fail(`error loading config file "${path}": ${(e as Error).message}`)
  }
  const ctxName = doc?.['current-context']
  const ctx = (doc?.contexts ?? []).find((c: any) => c.name === ctxName)?.context
  if (!ctx) fail(`invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable (kubeconfig ${path})`)
  const cluster = (doc.clusters ?? []).find((c: any) => c.name === ctx.cluster)?.cluster
  const user = (doc.users ?? []).find((u: any) => u.name === ctx.user)?.user ?? {}
  if (!cluster?.server) fail(`invalid configuration: cluster "${ctx.cluster}" has no server (kubeconfig ${path})`)
  const file = (f: unknown) => {
    if (typeof f !== 'string') return undefined
    try {
      return hostPath ? readHost(f) : readFileSync(f, 'utf8')
    } catch {
      fail(`unable to read ${f} referenced by kubeconfig ${path}`)
    }
  }
  return {
    server: cluster.server,
    ca: b64(cluster['certificate-authority-data']) ?? file(cluster['certificate-authority']),
    cert: b64(user['client-certificate-data']) ?? file(user['client-certificate']),
    key: b64(user['client-key-data']) ?? file(user['client-key']),
    token: user.token,
    insecure: cluster['insecure-skip-tls-verify'] === true,
  }
}

export interface Resp {
  status: number
  body: any
}

/** One API request. The stand-in apiserver speaks HTTPS with the cluster CA, like the real one. */
export function api(conn: Conn, method: string, path: string, body?: unknown, timeoutMs = 10000): Promise<Resp> {
  const url = new URL(path, conn.server.endsWith('/') ? conn.server : conn.server + '/')
  if (url.protocol !== 'https:') fail(`server ${conn.server}: the kube-apiserver stand-in serves https only`)
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || 443,
        path: url.pathname + url.search,
        method,
        ca: conn.ca,
        cert: conn.cert,
        key: conn.key,
        rejectUnauthorized: !conn.insecure,
        // the stand-in certificates carry the node's names/IPs; checkServerIdentity stays on
        headers: {
          accept: 'application/json',
          ...(data ? {'content-type': 'application/json', 'content-length': data.length} : {}),
          ...(conn.token ? {authorization: `Bearer ${conn.token}`} : {}),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let parsed: any = text
          try {
            parsed = text ? JSON.parse(text) : undefined
          } catch {
            // plain text (healthz)
          }
          resolve({status: res.statusCode ?? 0, body: parsed})
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error(`request to ${url.host} timed out`)))
    req.on('error', reject)
    if (data) req.write(data)
    req.end()
  })
}

/** Error text like client-go's for a non-2xx Status. */
export function statusError(r: Resp): string {
  const b = r.body
  if (b && typeof b === 'object' && b.kind === 'Status') return `Error from server (${b.reason ?? r.status}): ${b.message}`
  return `Error from server (${r.status}): ${typeof b === 'string' ? b : JSON.stringify(b)}`
}
