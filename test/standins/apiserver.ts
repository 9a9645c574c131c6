// STAND-IN kube-apiserver. Started by the kubelet stand-in when /etc/kubernetes/manifests/kube-apiserver.yaml
// exists. Serves HTTPS (certificates from the kube-apiserver manifest's flags) on --secure-port,
// keeps objects in a JSON file under /var/lib/metalplane-standins/apiserver/, authenticates client
// certificates against --client-ca-file and bootstrap tokens against kube-system Secrets, and strictly
// decodes every object it is given (unknown field / wrong type => 400 like fieldValidation=Strict,
// invalid values => 422). It runs no controllers: workloads are reported ready, no container runs.
import {randomUUID, X509Certificate} from 'node:crypto'
import {createServer, type Server} from 'node:https'
import type {IncomingMessage, ServerResponse} from 'node:http'
import type {TLSSocket} from 'node:tls'
import {parse as parseYaml} from 'yaml'
import {hostExists, readHost, writeHost} from './common.js'
import {issue, loadKey, parseCsr} from './pki.js'
import {apiVersionOf, BUILTIN, crdResources, type ResourceInfo} from './resources.js'
import {check, k8sKinds} from './schema.js'

export const STORE_PATH = '/var/lib/metalplane-standins/apiserver/objects.json'

export interface ApiserverOptions {
  advertiseAddress: string
  bindAddress: string
  securePort: number
  tlsCertFile: string
  tlsKeyFile: string
  clientCAFile: string
  serviceClusterIPRange: string
  signingCertFile?: string
  signingKeyFile?: string
  version: string
}

// flags of the real kube-apiserver this stand-in reads; other flags are kept but not acted on
export function optionsFromManifest(pod: any, version: string): ApiserverOptions {
  const c = (pod?.spec?.containers ?? []).find((x: any) => x.name === 'kube-apiserver')
  if (!c) throw new Error('kube-apiserver manifest has no kube-apiserver container')
  const argv: string[] = [...(c.command ?? []), ...(c.args ?? [])]
  const flag = (n: string) => {
    const hit = argv.find((a) => a.startsWith(`--${n}=`))
    return hit?.slice(n.length + 3)
  }
  const need = (n: string) => {
    const v = flag(n)
    if (!v) throw new Error(`kube-apiserver manifest lacks --${n}`)
    return v
  }
  return {
    advertiseAddress: need('advertise-address'),
    bindAddress: flag('bind-address') ?? '0.0.0.0',
    securePort: Number(flag('secure-port') ?? 6443),
    tlsCertFile: need('tls-cert-file'),
    tlsKeyFile: need('tls-private-key-file'),
    clientCAFile: need('client-ca-file'),
    serviceClusterIPRange: need('service-cluster-ip-range'),
    signingCertFile: need('client-ca-file'),
    signingKeyFile: need('client-ca-file').replace(/\.crt$/, '.key'),
    // the version a real apiserver reports is its image's
    version: /:(v\d+\.\d+\.\d+)$/.exec(String(c.image ?? ''))?.[1] ?? version,
  }
}

interface Identity {
  user: string
  groups: string[]
}

interface StoreData {
  rv: number
  objects: Record<string, any>
}

function status(code: number, reason: string, message: string, details?: object) {
  return {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code}
}

class HttpError extends Error {
  constructor(
    public code: number,
    public reason: string,
    message: string,
    public details?: object,
  ) {
    super(message)
  }
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

function kindLabel(r: ResourceInfo): string {
  return r.group ? `${r.kind}.${r.group}` : r.kind
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0)
}
function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.')
}

export class Apiserver {
  private store: StoreData = {rv: 1, objects: {}}
  private server?: Server
  constructor(private opts: ApiserverOptions) {}

  private load(): void {
    if (hostExists(STORE_PATH)) this.store = JSON.parse(readHost(STORE_PATH))
    const now = new Date().toISOString()
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease'])
      this.ensure(this.res('v1', 'Namespace'), {apiVersion: 'v1', kind: 'Namespace', metadata: {name: ns, creationTimestamp: now}, status: {phase: 'Active'}})
    const first = intToIpv4(ipv4ToInt(this.opts.serviceClusterIPRange.split(',')[0].split('/')[0]) + 1)
    this.ensure(this.res('v1', 'Service'), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {name: 'kubernetes', namespace: 'default', labels: {component: 'apiserver', provider: 'kubernetes'}},
      spec: {clusterIP: first, clusterIPs: [first], type: 'ClusterIP', ports: [{name: 'https', port: 443, protocol: 'TCP', targetPort: this.opts.securePort}]},
    })
    this.save()
  }

  private ensure(r: ResourceInfo, o: any): void {
    const k = this.key(r, o.metadata.namespace, o.metadata.name)
    if (!this.store.objects[k]) this.store.objects[k] = this.stamp(o)
  }

  private save(): void {
    writeHost(STORE_PATH, JSON.stringify(this.store), 0o600)
  }

  private stamp(o: any, prev?: any): any {
    this.store.rv++
    o.metadata ??= {}
    o.metadata.uid = prev?.metadata?.uid ?? o.metadata.uid ?? randomUUID()
    o.metadata.creationTimestamp = prev?.metadata?.creationTimestamp ?? o.metadata.creationTimestamp ?? new Date().toISOString()
    o.metadata.resourceVersion = String(this.store.rv)
    o.metadata.generation = (prev?.metadata?.generation ?? 0) + (prev && JSON.stringify(prev.spec) === JSON.stringify(o.spec) ? 0 : 1)
    return o
  }

  private key(r: ResourceInfo, ns: string | undefined, name: string): string {
    return `${r.group}/${r.kind}/${r.namespaced ? ns ?? '' : ''}/${name}`
  }

  private crds(): ResourceInfo[] {
    return crdResources(
      Object.entries(this.store.objects)
        .filter(([k]) => k.startsWith('apiextensions.k8s.io/CustomResourceDefinition/'))
        .map(([, v]) => v),
    )
  }

  private res(apiVersion: string, kind: string): ResourceInfo {
    return BUILTIN.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind)!
  }

  async start(): Promise<void> {
    this.load()
    this.server = createServer(
      {
        cert: readHost(this.opts.tlsCertFile),
        key: readHost(this.opts.tlsKeyFile),
        ca: readHost(this.opts.clientCAFile),
        requestCert: true,
        rejectUnauthorized: false,
      },
      (req, res) => void this.handle(req, res),
    )
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject)
      this.server!.listen(this.opts.securePort, this.opts.bindAddress, () => resolve())
    })
  }

  async close(): Promise<void> {
    const s = this.server
    if (!s) return
    const closed = new Promise<void>((r) => s.close(() => r()))
    s.closeAllConnections() // open watches and keep-alive connections
    await closed
  }

  // ------------------------------------------------------------------ auth
  private identify(req: IncomingMessage): Identity | undefined {
    const sock = req.socket as TLSSocket
    const auth = req.headers.authorization
    if (auth?.startsWith('Bearer ')) {
      const tok = auth.slice(7).trim()
      const m = /^([a-z0-9]{6})\.([a-z0-9]{16})$/.exec(tok)
      if (!m) throw new HttpError(401, 'Unauthorized', 'Unauthorized')
      const sec = this.store.objects[`/Secret/kube-system/bootstrap-token-${m[1]}`]
      const d = (k: string) => (sec?.data?.[k] ? Buffer.from(sec.data[k], 'base64').toString() : sec?.stringData?.[k])
      if (!sec || d('token-secret') !== m[2] || d('usage-bootstrap-authentication') !== 'true')
        throw new HttpError(401, 'Unauthorized', 'Unauthorized')
      const exp = d('expiration')
      if (exp && Date.parse(exp) < Date.now()) throw new HttpError(401, 'Unauthorized', 'Unauthorized')
      const extra = (d('auth-extra-groups') ?? '').split(',').filter(Boolean)
      return {user: `system:bootstrap:${m[1]}`, groups: ['system:bootstrappers', ...extra, 'system:authenticated']}
    }
    const peer = sock.getPeerCertificate?.()
    if (peer && peer.raw && peer.raw.length) {
      if (!sock.authorized) throw new HttpError(401, 'Unauthorized', 'Unauthorized')
      const subj = peer.subject as unknown as Record<string, string | string[]>
      const o = subj.O === undefined ? [] : Array.isArray(subj.O) ? subj.O : [subj.O]
      return {user: String(subj.CN), groups: [...o, 'system:authenticated']}
    }
    return undefined
  }

  private authorize(id: Identity | undefined, verb: string, r: ResourceInfo | undefined, ns: string | undefined, name: string | undefined): void {
    const who = id?.user ?? 'system:anonymous'
    const allowed = (() => {
      if (!id) return r?.kind === 'ConfigMap' && ns === 'kube-public' && name === 'cluster-info' && verb === 'get'
      if (id.groups.includes('system:masters') || id.groups.includes('kubeadm:cluster-admins')) return true
      if (id.groups.includes('system:nodes') || id.user.startsWith('system:kube-')) return true
      if (id.groups.includes('system:bootstrappers')) {
        if (r?.kind === 'CertificateSigningRequest') return ['create', 'get', 'list'].includes(verb)
        if (r?.kind === 'ConfigMap' && (ns === 'kube-system' || ns === 'kube-public')) return verb === 'get'
        if (r?.kind === 'Secret' && ns === 'kube-system' && name === 'kubeadm-certs') return verb === 'get'
        if (r?.kind === 'Node') return verb === 'get' || verb === 'list'
        return false
      }
      return false
    })()
    if (!allowed) {
      const what = r ? r.plural : 'resource'
      throw new HttpError(
        403,
        'Forbidden',
        `${what}${name ? ` "${name}"` : ''} is forbidden: User "${who}" cannot ${verb} resource "${what}" in API group "${r?.group ?? ''}" ${ns ? `in the namespace "${ns}"` : 'at the cluster scope'}`,
      )
    }
  }

  // ------------------------------------------------------------------ HTTP
  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (code: number, body: unknown) => {
      const text = typeof body === 'string' ? body : JSON.stringify(body)
      res.writeHead(code, {'content-type': typeof body === 'string' ? 'text/plain' : 'application/json'})
      res.end(text)
    }
    try {
      const url = new URL(req.url ?? '/', 'https://x')
      const p = url.pathname.replace(/\/+$/, '')
      if (['/healthz', '/livez', '/readyz'].includes(p)) return send(200, 'ok')
      const id = this.identify(req)
      if (p === '/version') {
        const [maj, min] = this.opts.version.replace(/^v/, '').split('.')
        return send(200, {major: maj, minor: min, gitVersion: this.opts.version, platform: 'linux/amd64', standin: true})
      }
      const body = await readBody(req)
      if (req.method === 'GET') {
        const d = this.discovery(p)
        if (d) {
          if (!id) throw new HttpError(403, 'Forbidden', `forbidden: User "system:anonymous" cannot get path "${p}"`)
          return send(200, d)
        }
      }
      const route = this.route(p)
      if (!route) throw new HttpError(404, 'NotFound', 'the server could not find the requested resource')
      const {r, ns, name, sub} = route
      const verb = ({GET: name ? 'get' : 'list', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete'} as Record<string, string>)[req.method ?? 'GET']
      if (!verb) throw new HttpError(405, 'MethodNotAllowed', `method ${req.method} not allowed`)
      this.authorize(id, verb, r, ns, name)
      if (verb === 'list' && ['true', '1'].includes(url.searchParams.get('watch') ?? '')) return this.watch(r, ns, url, req, res)
      return send(...this.serve(verb, r, ns, name, sub, body, url, req.headers['content-type'] ?? ''))
    } catch (e) {
      if (e instanceof HttpError) return send(e.code, status(e.code, e.reason, e.message, e.details))
      return send(500, status(500, 'InternalError', `stand-in error: ${(e as Error).message}`))
    }
  }

  /** Legacy discovery (/api, /apis, /api/v1, /apis/G/V), enough for a real kubectl to map kinds. */
  private discovery(p: string): unknown {
    const all = [...BUILTIN, ...this.crds()]
    const resources = (list: ResourceInfo[]) =>
      list.flatMap((r) => [
        {
          name: r.plural,
          singularName: r.kind.toLowerCase(),
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: ['create', 'delete', 'get', 'list', 'patch', 'update'],
          ...(r.shortNames.length ? {shortNames: r.shortNames} : {}),
        },
        ...(['Node', 'Pod', 'DaemonSet', 'Deployment', 'StatefulSet', 'CertificateSigningRequest'].includes(r.kind)
          ? [{name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update']}]
          : []),
      ])
    if (p === '/api')
      return {kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{clientCIDR: '0.0.0.0/0', serverAddress: `${this.opts.advertiseAddress}:${this.opts.securePort}`}]}
    if (p === '/apis') {
      const groups = new Map<string, string[]>()
      for (const r of all) if (r.group) groups.set(r.group, [...new Set([...(groups.get(r.group) ?? []), r.version])])
      return {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: [...groups].map(([name, versions]) => ({
          name,
          versions: versions.map((v) => ({groupVersion: `${name}/${v}`, version: v})),
          preferredVersion: {groupVersion: `${name}/${versions[0]}`, version: versions[0]},
        })),
      }
    }
    if (p === '/api/v1') return {kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'v1', resources: resources(all.filter((r) => !r.group))}
    // OpenAPI v3, only as far as clients use it to see that PATCH/POST take fieldValidation
    // (a real kubectl then validates server-side); no schemas are published.
    const gvs = [...new Set(all.map((r) => (r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`)))]
    if (p === '/openapi/v3') return {paths: Object.fromEntries(gvs.map((gv) => [gv, {serverRelativeURL: `/openapi/v3/${gv}?hash=${this.store.rv}`}]))}
    const o3 = /^\/openapi\/v3\/(apis?\/.+)$/.exec(p)
    if (o3 && gvs.includes(o3[1])) {
      const paths: Record<string, unknown> = {}
      const param = [{name: 'fieldValidation', in: 'query', schema: {type: 'string', uniqueItems: true}}, {name: 'dryRun', in: 'query', schema: {type: 'string', uniqueItems: true}}]
      for (const r of all.filter((x) => (x.group ? `apis/${x.group}/${x.version}` : `api/${x.version}`) === o3[1])) {
        const gvk = {'x-kubernetes-group-version-kind': {group: r.group, version: r.version, kind: r.kind}}
        const coll = `/${o3[1]}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}`
        paths[coll] = {post: {...gvk, parameters: param, responses: {}}, get: {...gvk, responses: {}}}
        paths[`${coll}/{name}`] = {patch: {...gvk, parameters: param, responses: {}}, put: {...gvk, parameters: param, responses: {}}, get: {...gvk, responses: {}}}
      }
      return {openapi: '3.0.0', info: {title: 'Kubernetes (metalplane stand-in)', version: this.opts.version}, paths, components: {schemas: {}}}
    }
    const m = /^\/apis\/([^/]+)\/([^/]+)$/.exec(p)
    if (m) {
      const list = all.filter((r) => r.group === m[1] && r.version === m[2])
      if (list.length) return {kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${m[1]}/${m[2]}`, resources: resources(list)}
    }
    return undefined
  }

  /** Watch by polling the store: ADDED for what exists, then MODIFIED/ADDED/DELETED as resourceVersions change. */
  private watch(r: ResourceInfo, ns: string | undefined, url: URL, req: IncomingMessage, res: ServerResponse): void {
    const ls = url.searchParams.get('labelSelector')
    const fs = url.searchParams.get('fieldSelector')
    const current = () =>
      new Map(
        this.list(r, ns)
          .filter((o) => (!ls || matchLabels(o.metadata?.labels ?? {}, ls)) && (!fs || matchFields(o, fs)))
          .map((o) => [`${o.metadata.namespace ?? ''}/${o.metadata.name}`, this.withStatus(r, o)]),
      )
    res.writeHead(200, {'content-type': 'application/json', 'transfer-encoding': 'chunked'})
    const emit = (type: string, object: any) => res.write(JSON.stringify({type, object: {apiVersion: apiVersionOf(r), kind: r.kind, ...object}}) + '\n')
    let seen = current()
    for (const o of seen.values()) emit('ADDED', o)
    const timeout = Math.min(Number(url.searchParams.get('timeoutSeconds') ?? 300) || 300, 1800)
    const tick = setInterval(() => {
      if (this.server && !this.server.listening) return stop()
      const now = current()
      for (const [k, o] of now) {
        const before = seen.get(k)
        if (!before) emit('ADDED', o)
        else if (before.metadata.resourceVersion !== o.metadata.resourceVersion) emit('MODIFIED', o)
      }
      for (const [k, o] of seen) if (!now.has(k)) emit('DELETED', o)
      seen = now
    }, 500)
    const end = setTimeout(() => stop(), timeout * 1000)
    const stop = () => {
      clearInterval(tick)
      clearTimeout(end)
      res.end()
    }
    req.on('close', stop)
  }

  private route(p: string): {r: ResourceInfo; ns?: string; name?: string; sub?: string} | undefined {
    const seg = p.split('/').filter(Boolean).map(decodeURIComponent)
    let group = ''
    let version: string
    let rest: string[]
    if (seg[0] === 'api' && seg.length >= 3) {
      version = seg[1]
      rest = seg.slice(2)
    } else if (seg[0] === 'apis' && seg.length >= 4) {
      group = seg[1]
      version = seg[2]
      rest = seg.slice(3)
    } else return undefined
    const all = [...BUILTIN, ...this.crds()]
    let ns: string | undefined
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      ns = rest[1]
      rest = rest.slice(2)
    }
    const r = all.find((x) => x.group === group && x.version === version && x.plural === rest[0])
    if (!r) {
      if (group && all.some((x) => x.group === group))
        throw new HttpError(404, 'NotFound', `the server could not find the requested resource (${group}/${version} ${rest[0]})`)
      return undefined
    }
    if (r.namespaced && !ns && rest.length > 1) throw new HttpError(404, 'NotFound', 'the server could not find the requested resource')
    return {r, ns, name: rest[1], sub: rest[2]}
  }

  private list(r: ResourceInfo, ns?: string): any[] {
    const prefix = `${r.group}/${r.kind}/${r.namespaced && ns ? ns + '/' : ''}`
    return Object.entries(this.store.objects)
      .filter(([k]) => k.startsWith(prefix))
      .map(([, v]) => v)
  }

  private serve(verb: string, r: ResourceInfo, ns: string | undefined, name: string | undefined, sub: string | undefined, body: string, url: URL, ctype: string): [number, unknown] {
    const k = name ? this.key(r, ns, name) : ''
    const dv = url.searchParams.get('dryRun')
    if (dv !== null && dv !== 'All') throw new HttpError(400, 'BadRequest', `Invalid dry run value: "${dv}", supported values are: "All"`)
    const dry = dv === 'All'
    const notFound = () => new HttpError(404, 'NotFound', `${r.plural}${r.group ? '.' + r.group : ''} "${name}" not found`, {name, group: r.group, kind: r.plural})
    switch (verb) {
      case 'list': {
        let items = this.list(r, ns).map((o) => this.withStatus(r, o))
        const ls = url.searchParams.get('labelSelector')
        if (ls) items = items.filter((o) => matchLabels(o.metadata?.labels ?? {}, ls))
        const fs = url.searchParams.get('fieldSelector')
        if (fs) items = items.filter((o) => matchFields(o, fs))
        return [200, {kind: `${r.kind}List`, apiVersion: apiVersionOf(r), metadata: {resourceVersion: String(this.store.rv)}, items}]
      }
      case 'get': {
        const o = this.store.objects[k]
        if (!o) throw notFound()
        return [200, this.withStatus(r, o)]
      }
      case 'delete': {
        const o = this.store.objects[k]
        if (!o) throw notFound()
        if (dry) return [200, o]
        delete this.store.objects[k]
        if (r.kind === 'Namespace')
          for (const key of Object.keys(this.store.objects)) if (key.split('/')[2] === name) delete this.store.objects[key]
        this.save()
        return [200, {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: {name, group: r.group, kind: r.plural, uid: o.metadata.uid}}]
      }
      case 'create': {
        const o = this.decode(body, r, ns)
        if (!o.metadata?.name && o.metadata?.generateName) o.metadata.name = o.metadata.generateName + randomUUID().slice(0, 5)
        this.validate(o, r, ns)
        const key = this.key(r, ns ?? o.metadata.namespace, o.metadata.name)
        if (this.store.objects[key])
          throw new HttpError(409, 'AlreadyExists', `${r.plural}${r.group ? '.' + r.group : ''} "${o.metadata.name}" already exists`, {name: o.metadata.name, group: r.group, kind: r.plural})
        this.defaults(o, r)
        if (dry) return [201, this.withStatus(r, {...o, metadata: {...o.metadata, uid: randomUUID(), creationTimestamp: new Date().toISOString()}})]
        this.store.objects[key] = this.stamp(o)
        this.save()
        return [201, this.withStatus(r, o)]
      }
      case 'update':
      case 'patch': {
        const prev = this.store.objects[k]
        let o: any
        if (verb === 'patch') {
          const isApply = ctype.includes('apply-patch')
          if (!prev && !isApply) throw notFound()
          if (ctype.includes('json-patch+json')) throw new HttpError(415, 'UnsupportedMediaType', 'the kube-apiserver stand-in does not implement JSON patch (RFC 6902); use merge, strategic-merge or apply patches')
          const patch = this.decode(body, r, ns, isApply ? 'yaml' : 'json', !isApply)
          o = prev ? (ctype.includes('strategic-merge-patch') ? strategicMerge(structuredClone(prev), patch) : mergePatch(structuredClone(prev), patch)) : patch
        } else {
          if (!prev) throw notFound()
          o = this.decode(body, r, ns)
          if (sub === 'status') o = {...prev, status: o.status}
        }
        if (o.metadata?.name !== name)
          throw new HttpError(400, 'BadRequest', `the name of the object (${o.metadata?.name}) does not match the name on the URL (${name})`)
        if (verb === 'patch') this.strict(o, r)
        this.validate(o, r, ns)
        if (prev && r.kind !== 'Node') this.immutable(prev, o, r)
        if (!prev) this.defaults(o, r)
        if (dry) return [prev ? 200 : 201, this.withStatus(r, o)]
        this.store.objects[k] = this.stamp(o, prev)
        this.save()
        return [prev ? 200 : 201, this.withStatus(r, o)]
      }
    }
    throw new HttpError(405, 'MethodNotAllowed', verb)
  }

  private decode(body: string, r: ResourceInfo, ns: string | undefined, fmt: 'json' | 'yaml' = 'json', partial = false): any {
    let o: any
    try {
      o = fmt === 'yaml' ? parseYaml(body, {uniqueKeys: true}) : JSON.parse(body)
    } catch (e) {
      throw new HttpError(400, 'BadRequest', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (${(e as Error).message})`)
    }
    if (!o || typeof o !== 'object' || Array.isArray(o)) throw new HttpError(400, 'BadRequest', 'the body of the request must be a JSON object')
    if (partial) return o
    const av = apiVersionOf(r)
    if (o.apiVersion !== av || o.kind !== r.kind)
      throw new HttpError(400, 'BadRequest', `the API version in the data (${o.apiVersion}) does not match the expected API version (${av})${o.kind !== r.kind ? ` or the kind (${o.kind}) does not match ${r.kind}` : ''}`)
    if (r.namespaced && o.metadata?.namespace && ns && o.metadata.namespace !== ns)
      throw new HttpError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request')
    this.strict(o, r)
    return o
  }

  /** fieldValidation=Strict: unknown fields and wrong types are a 400 BadRequest, with every field named. */
  private strict(o: any, r: ResourceInfo): void {
    const errs = r.crdSchema !== undefined ? checkCrd(o, r.crdSchema) : check(o, {k8s: k8sKinds[r.kind]?.type ?? ''})
    if (r.kind === 'CertificateSigningRequest') return
    if (!errs.length) return
    const unknown = errs.filter((e) => e.kind === 'unknown').map((e) => e.message)
    const other = errs.filter((e) => e.kind !== 'unknown').map((e) => e.message)
    const msg = unknown.length
      ? `strict decoding error: ${unknown.join(', ')}${other.length ? `; json: ${other.join('; ')}` : ''}`
      : `json: ${other.join('; ')}`
    throw new HttpError(400, 'BadRequest', `${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: ${msg}`)
  }

  /** Field validation the real API does after decoding (422 Invalid). The stand-in checks a useful subset. */
  private validate(o: any, r: ResourceInfo, ns: string | undefined): void {
    const causes: {field: string; message: string}[] = []
    const bad = (field: string, message: string) => causes.push({field, message})
    const name = o.metadata?.name
    if (!name) bad('metadata.name', 'Required value: name or generateName is required')
    else if (!(name.length <= 253 && DNS1123_SUBDOMAIN.test(name)) && !['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(r.kind))
      bad('metadata.name', `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`)
    const objNs = o.metadata?.namespace ?? ns
    if (r.namespaced) {
      if (!objNs) bad('metadata.namespace', 'Required value')
      else if (!this.store.objects[`/Namespace//${objNs}`]) throw new HttpError(404, 'NotFound', `namespaces "${objNs}" not found`, {name: objNs, kind: 'namespaces'})
      o.metadata.namespace = objNs
    } else if (o.metadata?.namespace) delete o.metadata.namespace
    const podSpec = (spec: any, path: string) => {
      if (!spec) return bad(path, 'Required value')
      if (!(spec.containers ?? []).length) bad(`${path}.containers`, 'Required value')
      for (const [i, c] of [...(spec.initContainers ?? []), ...(spec.containers ?? [])].entries()) {
        if (!c.name) bad(`${path}.containers[${i}].name`, 'Required value')
        if (!c.image) bad(`${path}.containers[${i}].image`, 'Required value')
      }
      for (const [i, t] of (spec.tolerations ?? []).entries())
        if (t.effect && !['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(t.effect))
          bad(`${path}.tolerations[${i}].effect`, `Unsupported value: "${t.effect}": supported values: "NoExecute", "NoSchedule", "PreferNoSchedule"`)
    }
    if (['DaemonSet', 'Deployment', 'StatefulSet'].includes(r.kind)) {
      const sel = o.spec?.selector
      if (!sel) bad('spec.selector', 'Required value')
      else {
        const tl = o.spec?.template?.metadata?.labels ?? {}
        if (!matchLabelsMap(tl, sel.matchLabels ?? {})) bad('spec.template.metadata.labels', `Invalid value: ${JSON.stringify(tl)}: \`selector\` does not match template \`labels\``)
      }
      podSpec(o.spec?.template?.spec, 'spec.template.spec')
    }
    if (r.kind === 'Pod') podSpec(o.spec, 'spec')
    if (r.kind === 'Service' && o.spec?.type !== 'ExternalName' && !(o.spec?.ports ?? []).length && o.spec?.clusterIP !== 'None')
      bad('spec.ports', 'Required value')
    if (r.kind === 'StorageClass' && !o.provisioner) bad('provisioner', 'Required value')
    if (r.kind === 'RuntimeClass' && !o.handler) bad('handler', 'Required value')
    if (r.kind === 'PersistentVolume' && !o.spec?.capacity?.storage) bad('spec.capacity', 'Required value')
    if (['ClusterRoleBinding', 'RoleBinding'].includes(r.kind) && !o.roleRef) bad('roleRef', 'Required value')
    if (r.kind === 'CustomResourceDefinition') {
      const s = o.spec ?? {}
      if (name && s.names?.plural && s.group && name !== `${s.names.plural}.${s.group}`)
        bad('metadata.name', `Invalid value: "${name}": must be spec.names.plural+"."+spec.group`)
      if (!(s.versions ?? []).length) bad('spec.versions', 'Required value')
      if ((s.versions ?? []).filter((v: any) => v.storage).length !== 1) bad('spec.versions', 'Invalid value: must have exactly one version marked as storage version')
      if (!['Namespaced', 'Cluster'].includes(s.scope)) bad('spec.scope', `Unsupported value: "${s.scope}": supported values: "Cluster", "Namespaced"`)
    }
    if (causes.length)
      throw new HttpError(
        422,
        'Invalid',
        `${kindLabel(r)} "${name ?? ''}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
        {name, group: r.group, kind: r.kind, causes: causes.map((c) => ({reason: 'FieldValueInvalid', message: c.message, field: c.field}))},
      )
  }

  private immutable(prev: any, o: any, r: ResourceInfo): void {
    if (['DaemonSet', 'Deployment', 'StatefulSet'].includes(r.kind) && JSON.stringify(prev.spec?.selector) !== JSON.stringify(o.spec?.selector))
      throw new HttpError(422, 'Invalid', `${kindLabel(r)} "${o.metadata.name}" is invalid: spec.selector: Invalid value: ${JSON.stringify(o.spec?.selector)}: field is immutable`)
    if (r.kind === 'StorageClass' && prev.provisioner !== o.provisioner)
      throw new HttpError(422, 'Invalid', `StorageClass.storage.k8s.io "${o.metadata.name}" is invalid: provisioner: Forbidden: updates to provisioner are forbidden.`)
  }

  private defaults(o: any, r: ResourceInfo): void {
    if (r.kind === 'Namespace') o.status = {phase: 'Active'}
    if (r.kind === 'Service' && o.spec && o.spec.type !== 'ExternalName' && !o.spec.clusterIP) {
      const base = ipv4ToInt(this.opts.serviceClusterIPRange.split(',')[0].split('/')[0])
      const used = new Set(this.list(r).map((s) => s.spec?.clusterIP))
      for (let i = 11; i < 4000; i++) {
        const ip = intToIpv4(base + i)
        if (!used.has(ip)) {
          o.spec.clusterIP = ip
          o.spec.clusterIPs = [ip]
          break
        }
      }
      o.spec.type ??= 'ClusterIP'
    }
    if (r.kind === 'CertificateSigningRequest') this.signCsr(o)
  }

  /** Stand-in for the csrapprover + csrsigning controllers: node client CSRs are approved and signed at once. */
  private signCsr(o: any): void {
    const signer = o.spec?.signerName
    if (signer !== 'kubernetes.io/kube-apiserver-client-kubelet') return
    const pem = Buffer.from(o.spec.request ?? '', 'base64').toString()
    const csr = parseCsr(pem)
    if (!csr.cn.startsWith('system:node:') || !csr.o.includes('system:nodes'))
      throw new HttpError(422, 'Invalid', `CertificateSigningRequest.certificates.k8s.io "${o.metadata.name}" is invalid: spec.request: Invalid value: subject must be CN=system:node:<name>, O=system:nodes`)
    const caPem = readHost(this.opts.signingCertFile!)
    const caKey = loadKey(readHost(this.opts.signingKeyFile!))
    const caCert = new X509Certificate(caPem)
    const caCn = /CN=([^\n,]+)/.exec(caCert.subject)?.[1] ?? 'kubernetes'
    const cert = issue({cn: csr.cn, o: csr.o, client: true}, csr.publicKey, {cert: {cn: caCn}, key: caKey.privateKey})
    o.status = {
      conditions: [{type: 'Approved', status: 'True', reason: 'AutoApproved', message: 'Auto approving kubelet client certificate after SubjectAccessReview.', lastUpdateTime: new Date().toISOString()}],
      certificate: Buffer.from(cert).toString('base64'),
    }
  }

  /** No controllers run: workload status is derived on read so `kubectl get/wait/rollout` see them ready. */
  private withStatus(r: ResourceInfo, o: any): any {
    if (r.kind === 'DaemonSet') {
      const nodes = this.list(this.res('v1', 'Node')).filter((n) => schedulable(n, o.spec?.template?.spec ?? {}))
      const n = nodes.length
      return {...o, status: {currentNumberScheduled: n, desiredNumberScheduled: n, numberAvailable: n, numberMisscheduled: 0, numberReady: n, updatedNumberScheduled: n, observedGeneration: o.metadata.generation}}
    }
    if (r.kind === 'CustomResourceDefinition') {
      const now = o.metadata?.creationTimestamp
      return {
        ...o,
        status: {
          acceptedNames: o.spec?.names ?? {},
          storedVersions: (o.spec?.versions ?? []).filter((v: any) => v.storage).map((v: any) => v.name),
          conditions: [
            {type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: now},
            {type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: now},
          ],
        },
      }
    }
    if (r.kind === 'Deployment' || r.kind === 'StatefulSet') {
      const n = o.spec?.replicas ?? 1
      return {...o, status: {replicas: n, readyReplicas: n, availableReplicas: n, updatedReplicas: n, observedGeneration: o.metadata.generation}}
    }
    return o
  }
}

function schedulable(node: any, pod: any): boolean {
  const labels = node.metadata?.labels ?? {}
  for (const [k, v] of Object.entries(pod.nodeSelector ?? {})) if (labels[k] !== v) return false
  for (const t of node.spec?.taints ?? []) {
    if (t.effect === 'PreferNoSchedule') continue
    const tolerated = (pod.tolerations ?? []).some(
      (tol: any) =>
        (tol.operator === 'Exists' && (!tol.key || tol.key === t.key)) ||
        (tol.key === t.key && (tol.value ?? '') === (t.value ?? '')) &&
          (!tol.effect || tol.effect === t.effect),
    )
    if (!tolerated) return false
  }
  return true
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

/** JSON merge patch (RFC 7386); also used for strategic-merge and apply patches (a stand-in simplification). */
export function mergePatch(target: any, patch: any): any {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch
  if (target === null || typeof target !== 'object' || Array.isArray(target)) target = {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete target[k]
    else target[k] = mergePatch(target[k], v)
  }
  return target
}

// Merge keys of the built-in types' lists (patchMergeKey in k8s.io/api); other lists are replaced.
const MERGE_KEYS: Record<string, string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  env: ['name'],
  volumes: ['name'],
  imagePullSecrets: ['name'],
  volumeMounts: ['mountPath'],
  volumeDevices: ['devicePath'],
  ports: ['containerPort', 'port'],
  hostAliases: ['ip'],
  conditions: ['type'],
  topologySpreadConstraints: ['topologyKey'],
  ownerReferences: ['uid'],
  taints: ['key'],
}

/** Strategic merge patch, the parts kubectl's client-side apply and diff send: merge keys and $ directives. */
export function strategicMerge(target: any, patch: any, field = ''): any {
  if (Array.isArray(patch)) {
    const keys = MERGE_KEYS[field]
    if (!keys || !Array.isArray(target) || !patch.every((e) => e && typeof e === 'object')) return patch.filter((e) => !(e && typeof e === 'object' && e.$patch === 'delete'))
    const key = keys.find((k) => patch.every((e: any) => k in e)) ?? keys[0]
    const out = [...target]
    for (const e of patch) {
      const i = out.findIndex((t) => t && t[key] === e[key])
      if (e.$patch === 'delete') {
        if (i >= 0) out.splice(i, 1)
      } else if (e.$patch === 'replace') {
        const {$patch: _p, ...rest} = e
        if (i >= 0) out[i] = rest
        else out.push(rest)
      } else if (i >= 0) out[i] = strategicMerge(out[i], e)
      else out.push(strategicMerge({}, e))
    }
    return out
  }
  if (patch === null || typeof patch !== 'object') return patch
  if (patch.$patch === 'replace') {
    const {$patch: _p, ...rest} = patch
    return rest
  }
  if (target === null || typeof target !== 'object' || Array.isArray(target)) target = {}
  const order: Record<string, any[]> = {}
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$retainKeys') continue
    if (k.startsWith('$setElementOrder/')) {
      order[k.slice(17)] = v as any[]
      continue
    }
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const f = k.slice(25)
      if (Array.isArray(target[f])) target[f] = target[f].filter((x: unknown) => !(v as unknown[]).includes(x))
      continue
    }
    if (k === '$patch') continue
    if (v === null) delete target[k]
    else target[k] = strategicMerge(target[k], v, k)
  }
  if (Array.isArray(patch.$retainKeys)) for (const k of Object.keys(target)) if (!patch.$retainKeys.includes(k)) delete target[k]
  for (const [f, ord] of Object.entries(order)) {
    const keys = MERGE_KEYS[f]
    if (!Array.isArray(target[f]) || !keys) continue
    const key = keys.find((k) => ord.every((e: any) => e && k in e))
    if (!key) continue
    const pos = (e: any) => {
      const i = ord.findIndex((o: any) => o[key] === e?.[key])
      return i < 0 ? ord.length : i
    }
    target[f] = [...target[f]].sort((a, b) => pos(a) - pos(b))
  }
  return target
}

function matchLabelsMap(labels: Record<string, string>, want: Record<string, string>): boolean {
  return Object.entries(want).every(([k, v]) => labels[k] === v)
}

export function matchLabels(labels: Record<string, string>, selector: string): boolean {
  return selector
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .every((term) => {
      let m
      if ((m = /^([^!=]+)!=(.*)$/.exec(term))) return labels[m[1]] !== m[2]
      if ((m = /^([^=]+)==?(.*)$/.exec(term))) return labels[m[1]] === m[2]
      if (term.startsWith('!')) return !(term.slice(1) in labels)
      return term in labels
    })
}

function matchFields(o: any, selector: string): boolean {
  return selector.split(',').every((term) => {
    const m = /^([^!=]+)(!=|==|=)(.*)$/.exec(term.trim())
    if (!m) return true
    const v = m[1].split('.').reduce((a: any, k) => a?.[k], o)
    return m[2] === '!=' ? String(v ?? '') !== m[3] : String(v ?? '') === m[3]
  })
}

/** Structural-schema check of a custom resource against its CRD version's openAPIV3Schema. */
function checkCrd(o: any, schema: any): {kind: 'unknown' | 'type'; message: string}[] {
  const errs: {kind: 'unknown' | 'type'; message: string}[] = []
  const walk = (v: any, s: any, path: string, top = false) => {
    if (v === undefined || v === null || !s) return
    if (s['x-kubernetes-preserve-unknown-fields'] && !s.properties) return
    if (s['x-kubernetes-int-or-string']) {
      if (typeof v !== 'string' && !Number.isInteger(v)) errs.push({kind: 'type', message: `${path}: Invalid value: must be an integer or a string`})
      return
    }
    const t = s.type
    const actual = Array.isArray(v) ? 'array' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v
    if (t && !(t === actual || (t === 'number' && actual === 'integer'))) {
      errs.push({kind: 'type', message: `${path}: Invalid value: "${actual}": ${path} in body must be of type ${t}: "${actual}"`})
      return
    }
    if (t === 'array') return (v as any[]).forEach((x, i) => walk(x, s.items, `${path}[${i}]`))
    if (t === 'object' || s.properties) {
      for (const [k, x] of Object.entries(v)) {
        const p = path ? `${path}.${k}` : k
        if (top && ['apiVersion', 'kind', 'metadata'].includes(k)) continue
        if (s.properties?.[k]) walk(x, s.properties[k], p)
        else if (s.additionalProperties && typeof s.additionalProperties === 'object') walk(x, s.additionalProperties, p)
        else if (!s['x-kubernetes-preserve-unknown-fields'] && s.additionalProperties !== true) errs.push({kind: 'unknown', message: `unknown field "${p}"`})
      }
      for (const req of s.required ?? []) if (v[req] === undefined) errs.push({kind: 'type', message: `${path ? path + '.' : ''}${req}: Required value`})
    }
    if (s.enum && !s.enum.includes(v)) errs.push({kind: 'type', message: `${path}: Unsupported value: ${JSON.stringify(v)}`})
  }
  walk(o, {type: 'object', ...schema}, '', true)
  return errs
}
