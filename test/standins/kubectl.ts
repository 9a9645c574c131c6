// STAND-IN kubectl for the lab hosts (the operator's machine has the real client; the hosts have
// no registry serving one). Talks to the kube-apiserver stand-in with the kubeconfig's server,
// CA and client certificate. Flags are parsed strictly: an unknown flag fails like kubectl's.
import {readFileSync, readdirSync, statSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {parseAllDocuments, stringify} from 'yaml'
import {binarySemver, binaryVersion, bool, fail, list, parseFlags, runMain, sleep, str, type FlagSpec, type Parsed} from './common.js'
import {api, loadKubeconfig, statusError, type Conn} from './kubeconfig.js'
import {apiVersionOf, collectionPath, crdResources, findByKind, findByName, itemPath, type ResourceInfo} from './resources.js'
import {mergePatch} from './apiserver.js'

const out = (s = '') => process.stdout.write(`${s}\n`)

const GLOBAL: FlagSpec = {
  kubeconfig: 'string',
  namespace: 'string',
  context: 'string',
  server: 'string',
  'request-timeout': 'string',
  v: 'int',
  help: 'bool',
}
const SHORT: Record<string, string> = {n: 'namespace', v: 'v', h: 'help'}

function usageErr(cmd: string, e: unknown): never {
  fail(`error: ${(e as Error).message}\nSee 'kubectl ${cmd} --help' for usage.`)
}

function parse(cmd: string, argv: string[], spec: FlagSpec, short: Record<string, string> = {}): Parsed {
  try {
    return parseFlags(argv, {...GLOBAL, ...spec}, {...SHORT, ...short})
  } catch (e) {
    usageErr(cmd, e)
  }
}

function connect(p: Parsed): Conn {
  const path = str(p, 'kubeconfig') ?? process.env.KUBECONFIG?.split(':')[0] ?? join(homedir(), '.kube/config')
  const c = loadKubeconfig(path)
  if (str(p, 'server')) c.server = str(p, 'server')!
  return c
}

let crdCache: ResourceInfo[] | undefined
async function crds(conn: Conn, refresh = false): Promise<ResourceInfo[]> {
  if (crdCache && !refresh) return crdCache
  const r = await api(conn, 'GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions')
  crdCache = r.status === 200 ? crdResources(r.body.items) : []
  return crdCache
}

async function resolveName(conn: Conn, name: string): Promise<ResourceInfo> {
  const r = findByName(name) ?? findByName(name, await crds(conn))
  if (!r) fail(`error: the server doesn't have a resource type "${name}"`)
  return r
}

async function resolveKind(conn: Conn, apiVersion: string, kind: string, ns: string | undefined, name: string, file: string): Promise<ResourceInfo> {
  const r = findByKind(apiVersion, kind) ?? findByKind(apiVersion, kind, await crds(conn, true))
  if (!r)
    fail(`error: resource mapping not found for name: "${name}" namespace: "${ns ?? ''}" from "${file}": no matches for kind "${kind}" in version "${apiVersion}"\nensure CRDs are installed first`)
  return r
}

function label(r: ResourceInfo): string {
  return r.group ? `${r.kind.toLowerCase()}.${r.group}` : r.kind.toLowerCase()
}

// ------------------------------------------------------------------------------ reading manifests

function readManifests(files: string[], recursive: boolean): {file: string; obj: any}[] {
  const docs: {file: string; obj: any}[] = []
  const addText = (file: string, text: string) => {
    for (const d of parseAllDocuments(text, {uniqueKeys: true}) as any[]) {
      if (d.errors?.length) fail(`error: error parsing ${file}: error converting YAML to JSON: yaml: ${d.errors[0].message}`)
      const o = d.toJS()
      if (o === null || o === undefined) continue
      if (o.kind === 'List' && Array.isArray(o.items)) for (const it of o.items) docs.push({file, obj: it})
      else docs.push({file, obj: o})
    }
  }
  const walk = (path: string, top: boolean) => {
    if (path === '-') return addText('STDIN', readFileSync(0, 'utf8'))
    let st
    try {
      st = statSync(path)
    } catch {
      fail(`error: the path "${path}" does not exist`)
    }
    if (st.isDirectory()) {
      if (!top && !recursive) return
      for (const e of readdirSync(path).sort()) {
        const full = join(path, e)
        if (statSync(full).isDirectory()) {
          if (recursive) walk(full, false)
        } else if (/\.(ya?ml|json)$/.test(e)) walk(full, false)
      }
      return
    }
    addText(path, readFileSync(path, 'utf8'))
  }
  for (const f of files) walk(f, true)
  for (const {file, obj} of docs) {
    if (!obj.apiVersion || !obj.kind) fail(`error: error validating "${file}": error validating data: [apiVersion not set, kind not set]; if you choose to ignore these errors, turn validation off with --validate=false`)
  }
  return docs
}

function clean(o: any): any {
  const c = structuredClone(o)
  if (c.metadata) for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields']) delete c.metadata[k]
  delete c.status
  return c
}

// ------------------------------------------------------------------------------ commands

async function apply(argv: string[]): Promise<number> {
  const p = parse('apply', argv, {
    filename: 'strings',
    'server-side': 'bool',
    'force-conflicts': 'bool',
    'field-manager': 'string',
    recursive: 'bool',
    'dry-run': 'string',
    validate: 'string',
    output: 'string',
    prune: 'bool',
    selector: 'string',
    wait: 'bool',
    'overwrite': 'bool',
  }, {f: 'filename', R: 'recursive', o: 'output', l: 'selector'})
  if (p.args.length) usageErr('apply', new Error(`Unexpected args: [${p.args.join(' ')}]`))
  const files = list(p, 'filename')
  if (!files.length) fail("error: must specify one of -f and -k")
  if (str(p, 'dry-run') && str(p, 'dry-run') !== 'none') fail('error: --dry-run is not implemented by the kubectl stand-in')
  const v = str(p, 'validate')
  if (v !== undefined && !['strict', 'true', 'warn', 'ignore', 'false'].includes(v)) fail(`error: invalid - validate option "${v}"; must be one of: strict (or true), warn, ignore (or false)`)
  const docs = readManifests(files, bool(p, 'recursive'))
  const conn = connect(p)
  let failed = false
  for (const {file, obj} of docs) {
    const ns = obj.metadata?.namespace ?? str(p, 'namespace')
    let r: ResourceInfo
    try {
      r = await resolveKind(conn, obj.apiVersion, obj.kind, ns, obj.metadata?.name ?? '', file)
    } catch (e) {
      process.stderr.write(`${(e as Error).message}\n`)
      failed = true
      continue
    }
    const nsd = r.namespaced ? ns ?? 'default' : undefined
    if (r.namespaced && !obj.metadata?.namespace) obj.metadata = {...obj.metadata, namespace: nsd}
    const name = obj.metadata?.name
    if (!name) {
      process.stderr.write(`error: error when retrieving current configuration of:\nResource: "${r.plural}", Name: "", Namespace: "${nsd ?? ''}"\nfrom server for: "${file}": resource name may not be empty\n`)
      failed = true
      continue
    }
    const q = '?fieldValidation=Strict'
    if (bool(p, 'server-side')) {
      const rr = await apiRaw(conn, 'PATCH', `${itemPath(r, name, nsd)}${q}&fieldManager=${encodeURIComponent(str(p, 'field-manager') ?? 'kubectl')}`, stringify(obj), 'application/apply-patch+yaml')
      if (rr.status === 200 || rr.status === 201) out(`${label(r)}/${name} serverside-applied`)
      else {
        process.stderr.write(`${statusError(rr)}\n`)
        failed = true
      }
      continue
    }
    const cur = await api(conn, 'GET', itemPath(r, name, nsd))
    if (cur.status === 404) {
      const rr = await api(conn, 'POST', `${collectionPath(r, nsd)}${q}`, obj)
      if (rr.status === 201) out(`${label(r)}/${name} created`)
      else {
        process.stderr.write(`${statusError(rr).replace(/^(Error from server \([^)]*\)): /, `$1: error when creating "${file}": `)}\n`)
        failed = true
      }
      continue
    }
    if (cur.status !== 200) {
      process.stderr.write(`${statusError(cur)}\n`)
      failed = true
      continue
    }
    const merged = mergePatch(structuredClone(cur.body), obj)
    if (JSON.stringify(clean(merged)) === JSON.stringify(clean(cur.body))) {
      out(`${label(r)}/${name} unchanged`)
      continue
    }
    const rr = await api(conn, 'PUT', `${itemPath(r, name, nsd)}${q}`, {...merged, metadata: {...merged.metadata, resourceVersion: cur.body.metadata.resourceVersion}})
    if (rr.status === 200) out(`${label(r)}/${name} configured`)
    else {
      process.stderr.write(`${statusError(rr).replace(/^(Error from server \([^)]*\)): /, `$1: error when applying patch:\nto:\nResource: "${r.group ? r.group + '/' : ''}${r.version}, Resource=${r.plural}"\nName: "${name}"\nfor: "${file}": `)}\n`)
      failed = true
    }
  }
  return failed ? 1 : 0
}

/** Line diff (LCS) in unified style, for `kubectl diff`. */
function lineDiff(a: string, b: string, from: string, to: string): string {
  const x = a.split('\n')
  const y = b.split('\n')
  const n = x.length
  const m = y.length
  const L: number[][] = Array.from({length: n + 1}, () => new Array(m + 1).fill(0))
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1])
  const outLines = [`--- ${from}`, `+++ ${to}`]
  let i = 0
  let j = 0
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      outLines.push(` ${x[i]}`)
      i++
      j++
    } else if (j < m && (i >= n || L[i][j + 1] >= L[i + 1][j])) outLines.push(`+${y[j++]}`)
    else outLines.push(`-${x[i++]}`)
  }
  return outLines.join('\n')
}

/** kubectl diff: exit 0 = no differences, 1 = differences, 2 (>1) = error. The server validates with dryRun=All. */
async function diff(argv: string[]): Promise<number> {
  let p: Parsed
  try {
    p = parseFlags(argv, {...GLOBAL, filename: 'strings', 'server-side': 'bool', 'force-conflicts': 'bool', 'field-manager': 'string', recursive: 'bool', prune: 'bool', selector: 'string', concurrency: 'int', 'show-managed-fields': 'bool'}, {...SHORT, f: 'filename', R: 'recursive', l: 'selector'})
  } catch (e) {
    fail(`error: ${(e as Error).message}\nSee 'kubectl diff --help' for usage.`, 2)
  }
  const files = list(p, 'filename')
  if (!files.length) fail('error: must specify one of -f and -k', 2)
  let docs: {file: string; obj: any}[]
  let conn: Conn
  try {
    docs = readManifests(files, bool(p, 'recursive'))
    conn = connect(p)
  } catch (e) {
    fail((e as Error).message, 2)
  }
  let differ = false
  for (const {file, obj} of docs) {
    const ns = obj.metadata?.namespace ?? str(p, 'namespace')
    let r: ResourceInfo
    try {
      r = await resolveKind(conn, obj.apiVersion, obj.kind, ns, obj.metadata?.name ?? '', file)
    } catch (e) {
      fail((e as Error).message, 2)
    }
    const nsd = r.namespaced ? ns ?? 'default' : undefined
    if (r.namespaced && !obj.metadata?.namespace) obj.metadata = {...obj.metadata, namespace: nsd}
    const name = obj.metadata?.name
    const live = await api(conn, 'GET', itemPath(r, name, nsd))
    if (live.status !== 200 && live.status !== 404) fail(statusError(live), 2)
    const q = '?fieldValidation=Strict&dryRun=All'
    let res
    if (bool(p, 'server-side'))
      res = await apiRaw(conn, 'PATCH', `${itemPath(r, name, nsd)}${q}&fieldManager=${encodeURIComponent(str(p, 'field-manager') ?? 'kubectl')}`, stringify(obj), 'application/apply-patch+yaml')
    else if (live.status === 404) res = await api(conn, 'POST', `${collectionPath(r, nsd)}${q}`, obj)
    else {
      const merged = mergePatch(structuredClone(live.body), obj)
      res = await api(conn, 'PUT', `${itemPath(r, name, nsd)}${q}`, merged)
    }
    if (res.status !== 200 && res.status !== 201) fail(statusError(res), 2)
    const before = live.status === 404 ? '' : stringify(clean(live.body))
    const after = stringify(clean(res.body))
    if (before !== after) {
      differ = true
      const id = `${r.group ? r.group + '.' : ''}${r.version}.${r.kind}.${nsd ? nsd + '.' : ''}${name}`
      out(`diff -u -N /tmp/LIVE/${id} /tmp/MERGED/${id}`)
      out(lineDiff(before.trimEnd(), after.trimEnd(), `/tmp/LIVE/${id}`, `/tmp/MERGED/${id}`))
    }
  }
  return differ ? 1 : 0
}

async function apiRaw(conn: Conn, method: string, path: string, body: string, ctype: string) {
  // server-side apply sends the manifest as YAML with content-type application/apply-patch+yaml
  const {request} = await import('node:https')
  const url = new URL(path, conn.server)
  return new Promise<{status: number; body: any}>((resolve, reject) => {
    const req = request(
      {hostname: url.hostname, port: url.port || 443, path: url.pathname + url.search, method, ca: conn.ca, cert: conn.cert, key: conn.key, headers: {'content-type': ctype, ...(conn.token ? {authorization: `Bearer ${conn.token}`} : {})}},
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => {
          const t = Buffer.concat(chunks).toString()
          let b: any = t
          try {
            b = JSON.parse(t)
          } catch {
            // text
          }
          resolve({status: res.statusCode ?? 0, body: b})
        })
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

function age(ts: string | undefined): string {
  if (!ts) return '<unknown>'
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(ts)) / 1000))
  if (s < 120) return `${s}s`
  if (s < 7200) return `${Math.floor(s / 60)}m`
  if (s < 172800) return `${Math.floor(s / 3600)}h`
  return `${Math.floor(s / 86400)}d`
}

function table(rows: string[][], noHeaders: boolean): void {
  const body = noHeaders ? rows.slice(1) : rows
  if (!body.length) return
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  for (const r of body) out(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i] + 3))).join('').trimEnd())
}

function rowsFor(r: ResourceInfo, items: any[], allNs: boolean): string[][] {
  const pre = (o: any) => (allNs && r.namespaced ? [o.metadata.namespace] : [])
  const head = allNs && r.namespaced ? ['NAMESPACE'] : []
  switch (r.kind) {
    case 'Node':
      return [
        [...head, 'NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'],
        ...items.map((o) => {
          const ready = o.status?.conditions?.find((c: any) => c.type === 'Ready')?.status === 'True' ? 'Ready' : 'NotReady'
          const roles = Object.keys(o.metadata.labels ?? {}).filter((l) => l.startsWith('node-role.kubernetes.io/')).map((l) => l.slice(24)).join(',') || '<none>'
          return [o.metadata.name, ready + (o.spec?.unschedulable ? ',SchedulingDisabled' : ''), roles, age(o.metadata.creationTimestamp), o.status?.nodeInfo?.kubeletVersion ?? '']
        }),
      ]
    case 'Pod':
      return [[...head, 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'], ...items.map((o) => [...pre(o), o.metadata.name, `${(o.spec?.containers ?? []).length}/${(o.spec?.containers ?? []).length}`, o.status?.phase ?? 'Pending', '0', age(o.metadata.creationTimestamp)])]
    case 'DaemonSet':
      return [[...head, 'NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR', 'AGE'], ...items.map((o) => {
        const s = o.status ?? {}
        const sel = Object.entries(o.spec?.template?.spec?.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>'
        return [...pre(o), o.metadata.name, String(s.desiredNumberScheduled ?? 0), String(s.currentNumberScheduled ?? 0), String(s.numberReady ?? 0), String(s.updatedNumberScheduled ?? 0), String(s.numberAvailable ?? 0), sel, age(o.metadata.creationTimestamp)]
      })]
    case 'StorageClass':
      return [['NAME', 'PROVISIONER', 'RECLAIMPOLICY', 'VOLUMEBINDINGMODE', 'ALLOWVOLUMEEXPANSION', 'AGE'], ...items.map((o) => [o.metadata.name + (o.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true' ? ' (default)' : ''), o.provisioner, o.reclaimPolicy ?? 'Delete', o.volumeBindingMode ?? 'Immediate', String(o.allowVolumeExpansion ?? false), age(o.metadata.creationTimestamp)])]
    case 'PersistentVolume':
      return [['NAME', 'CAPACITY', 'ACCESS MODES', 'RECLAIM POLICY', 'STATUS', 'CLAIM', 'STORAGECLASS', 'AGE'], ...items.map((o) => [o.metadata.name, o.spec?.capacity?.storage ?? '', (o.spec?.accessModes ?? []).map((m: string) => m.replace(/[a-z]/g, '')).join(','), o.spec?.persistentVolumeReclaimPolicy ?? 'Retain', 'Available', '', o.spec?.storageClassName ?? '', age(o.metadata.creationTimestamp)])]
    case 'RuntimeClass':
      return [['NAME', 'HANDLER', 'AGE'], ...items.map((o) => [o.metadata.name, o.handler, age(o.metadata.creationTimestamp)])]
    default:
      return [[...head, 'NAME', 'AGE'], ...items.map((o) => [...pre(o), o.metadata.name, age(o.metadata.creationTimestamp)])]
  }
}

/** A small JSONPath: {.a.b}, {.items[*].metadata.name}, {.items[0].x}, {range .items[*]}{.metadata.name}{"\n"}{end}. */
export function jsonpath(tpl: string, data: any): string {
  const get = (expr: string, ctx: any): any[] => {
    const e = expr.trim().replace(/^\$/, '')
    let cur: any[] = [ctx]
    const parts = e.match(/\.[^.[\]]+|\[[^\]]*\]/g) ?? []
    for (const part of parts) {
      const next: any[] = []
      for (const c of cur) {
        if (c === undefined || c === null) continue
        if (part.startsWith('.')) next.push(c[part.slice(1)])
        else {
          const inner = part.slice(1, -1)
          if (inner === '*') next.push(...(Array.isArray(c) ? c : Object.values(c)))
          else if (/^-?\d+$/.test(inner)) next.push(c[(Number(inner) + (Number(inner) < 0 ? c.length : 0))])
          else {
            const m = /^\?\(@\.([\w.]+)\s*==\s*["']([^"']*)["']\)$/.exec(inner)
            if (m && Array.isArray(c)) next.push(...c.filter((x) => String(m[1].split('.').reduce((a: any, k) => a?.[k], x)) === m[2]))
            else next.push(c[inner.replace(/^['"]|['"]$/g, '')])
          }
        }
      }
      cur = next
    }
    return cur.filter((x) => x !== undefined)
  }
  const fmt = (v: any) => (typeof v === 'object' ? JSON.stringify(v) : String(v))
  const tokens = tpl.match(/\{[^}]*\}|[^{]+/g) ?? []
  const render = (toks: string[], ctx: any): string => {
    let s = ''
    for (let i = 0; i < toks.length; i++) {
      const t = toks[i]
      if (!t.startsWith('{')) {
        s += t
        continue
      }
      const inner = t.slice(1, -1).trim()
      if (inner.startsWith('range ')) {
        let depth = 1
        let j = i + 1
        for (; j < toks.length; j++) {
          const x = toks[j].slice(1, -1).trim()
          if (toks[j].startsWith('{') && x.startsWith('range ')) depth++
          if (toks[j].startsWith('{') && x === 'end' && --depth === 0) break
        }
        for (const item of get(inner.slice(6), ctx)) s += render(toks.slice(i + 1, j), item)
        i = j
        continue
      }
      if (/^".*"$/.test(inner)) {
        s += JSON.parse(inner)
        continue
      }
      s += get(inner, ctx).map(fmt).join(' ')
    }
    return s
  }
  return render(tokens, data)
}

async function get(argv: string[]): Promise<number> {
  const p = parse('get', argv, {output: 'string', selector: 'string', 'all-namespaces': 'bool', 'no-headers': 'bool', 'show-labels': 'bool', watch: 'bool', 'ignore-not-found': 'bool', 'field-selector': 'string', filename: 'strings'}, {o: 'output', l: 'selector', A: 'all-namespaces', w: 'watch'})
  if (bool(p, 'watch')) fail('error: --watch is not implemented by the kubectl stand-in')
  const conn = connect(p)
  const targets: {r: ResourceInfo; names: string[]}[] = []
  if (!p.args.length) fail("You must specify the type of resource to get. Use \"kubectl api-resources\" for a complete list of supported resources.\n\nerror: Required resource not specified.")
  if (p.args[0].includes('/')) {
    for (const a of p.args) {
      const [t, n] = a.split('/')
      targets.push({r: await resolveName(conn, t), names: [n]})
    }
  } else {
    for (const t of p.args[0].split(',')) targets.push({r: await resolveName(conn, t), names: p.args.slice(1)})
  }
  const ns = str(p, 'namespace') ?? 'default'
  const allNs = bool(p, 'all-namespaces')
  const o = str(p, 'output') ?? ''
  const results: any[] = []
  let failed = false
  for (const {r, names} of targets) {
    const nsd = r.namespaced ? (allNs ? undefined : ns) : undefined
    let items: any[] = []
    if (names.length) {
      for (const n of names) {
        const res = await api(conn, 'GET', itemPath(r, n, nsd ?? ns))
        if (res.status === 200) items.push(res.body)
        else if (res.status === 404 && bool(p, 'ignore-not-found')) continue
        else {
          process.stderr.write(`${statusError(res)}\n`)
          failed = true
        }
      }
    } else {
      const qs = new URLSearchParams()
      if (str(p, 'selector')) qs.set('labelSelector', str(p, 'selector')!)
      if (str(p, 'field-selector')) qs.set('fieldSelector', str(p, 'field-selector')!)
      const res = await api(conn, 'GET', `${collectionPath(r, nsd)}${qs.toString() ? '?' + qs : ''}`)
      if (res.status !== 200) fail(statusError(res))
      items = res.body.items
    }
    results.push({r, items, single: names.length === 1 && targets.length === 1})
  }
  const flat = results.flatMap((x) => x.items.map((i: any) => ({...i, apiVersion: i.apiVersion ?? apiVersionOf(x.r), kind: i.kind ?? x.r.kind})))
  const single = results.length === 1 && results[0].single && flat.length === 1
  const doc = single ? flat[0] : {apiVersion: 'v1', kind: 'List', items: flat, metadata: {resourceVersion: ''}}
  if (o === 'json') out(JSON.stringify(doc, null, 4))
  else if (o === 'yaml') out(stringify(doc).trimEnd())
  else if (o === 'name') for (const x of results) for (const i of x.items) out(`${label(x.r)}/${i.metadata.name}`)
  else if (o.startsWith('jsonpath=') || o.startsWith('jsonpath-as-json=')) process.stdout.write(jsonpath(o.slice(o.indexOf('=') + 1).replace(/^'|'$/g, ''), doc))
  else if (o === '' || o === 'wide') {
    if (!flat.length && !failed) process.stderr.write(`No resources found${results[0]?.r.namespaced && !allNs ? ` in ${ns} namespace` : ''}.\n`)
    for (const x of results) if (x.items.length) table(rowsFor(x.r, x.items, allNs), bool(p, 'no-headers'))
  } else fail(`error: unable to match a printer suitable for the output format "${o}", allowed formats are: json,jsonpath,jsonpath-as-json,name,wide,yaml`)
  return failed ? 1 : 0
}

async function nodeTarget(conn: Conn, args: string[], cmd: string): Promise<{r: ResourceInfo; name: string; rest: string[]}> {
  if (!args.length) fail(`error: you must specify the type of resource and a name to ${cmd}`)
  if (args[0].includes('/')) {
    const [t, n] = args[0].split('/')
    return {r: await resolveName(conn, t), name: n, rest: args.slice(1)}
  }
  if (args.length < 2) fail(`error: you must specify the type of resource and a name to ${cmd}`)
  return {r: await resolveName(conn, args[0]), name: args[1], rest: args.slice(2)}
}

async function labelCmd(argv: string[]): Promise<number> {
  const p = parse('label', argv, {overwrite: 'bool', all: 'bool', 'dry-run': 'string', output: 'string', selector: 'string'}, {o: 'output', l: 'selector'})
  const conn = connect(p)
  const {r, name, rest} = await nodeTarget(conn, p.args, 'label')
  if (!rest.length) fail('error: at least one label update is required')
  const ns = r.namespaced ? str(p, 'namespace') ?? 'default' : undefined
  const cur = await api(conn, 'GET', itemPath(r, name, ns))
  if (cur.status !== 200) fail(statusError(cur))
  const labels: Record<string, string | null> = {}
  for (const kv of rest) {
    if (kv.endsWith('-')) labels[kv.slice(0, -1)] = null
    else {
      const i = kv.indexOf('=')
      if (i < 0) fail(`error: invalid label spec: ${kv}`)
      const k = kv.slice(0, i)
      const v = kv.slice(i + 1)
      const had = cur.body.metadata.labels?.[k]
      if (had !== undefined && had !== v && !bool(p, 'overwrite')) fail(`error: '${k}' already has a value (${had}), and --overwrite is false`)
      labels[k] = v
    }
  }
  const rr = await api(conn, 'PATCH', itemPath(r, name, ns), {metadata: {labels}})
  if (rr.status !== 200) fail(statusError(rr))
  out(`${label(r)}/${name} ${Object.values(labels).every((v) => v === null) ? 'unlabeled' : 'labeled'}`)
  return 0
}

async function taint(argv: string[]): Promise<number> {
  const p = parse('taint', argv, {overwrite: 'bool', all: 'bool', 'dry-run': 'string', output: 'string', selector: 'string'}, {o: 'output', l: 'selector'})
  const conn = connect(p)
  const {r, name, rest} = await nodeTarget(conn, p.args, 'taint')
  if (r.kind !== 'Node') fail(`error: invalid resource type ${r.plural}, only node types are supported`)
  if (!rest.length) fail('error: at least one taint update is required')
  const cur = await api(conn, 'GET', itemPath(r, name))
  if (cur.status !== 200) fail(statusError(cur))
  let taints: any[] = cur.body.spec?.taints ?? []
  let removed = false
  for (const spec of rest) {
    if (spec.endsWith('-')) {
      const m = /^([^=:]+)(?:=[^:]*)?(?::(NoSchedule|PreferNoSchedule|NoExecute))?-$/.exec(spec)
      if (!m) fail(`error: invalid taint spec: ${spec}`)
      const before = taints.length
      taints = taints.filter((t) => !(t.key === m[1] && (!m[2] || t.effect === m[2])))
      if (taints.length === before) fail(`error: taint "${spec.slice(0, -1)}" not found`)
      removed = true
      continue
    }
    const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(spec)
    if (!m) fail(`error: invalid taint spec: ${spec}, unknown taint effect or format`)
    const same = taints.find((t) => t.key === m[1] && t.effect === m[3])
    if (same && !bool(p, 'overwrite')) fail(`error: node ${name} already has ${m[1]} taint(s) with same effect(s) and --overwrite is false`)
    taints = [...taints.filter((t) => t !== same), {key: m[1], ...(m[2] ? {value: m[2]} : {}), effect: m[3]}]
  }
  const rr = await api(conn, 'PATCH', itemPath(r, name), {spec: {taints: taints.length ? taints : null}})
  if (rr.status !== 200) fail(statusError(rr))
  out(`node/${name} ${removed ? 'untainted' : 'tainted'}`)
  return 0
}

async function cordon(argv: string[], on: boolean): Promise<number> {
  const cmd = on ? 'cordon' : 'uncordon'
  const p = parse(cmd, argv, {'dry-run': 'string', selector: 'string'}, {l: 'selector'})
  if (p.args.length !== 1) fail(`error: USAGE: ${cmd} NODE [flags]\nSee 'kubectl ${cmd} -h' for help and examples`)
  const conn = connect(p)
  const rr = await api(conn, 'PATCH', `/api/v1/nodes/${p.args[0]}`, {spec: {unschedulable: on ? true : null}})
  if (rr.status !== 200) fail(statusError(rr))
  out(`node/${p.args[0]} ${on ? 'cordoned' : 'uncordoned'}`)
  return 0
}

async function drain(argv: string[]): Promise<number> {
  const p = parse('drain', argv, {'ignore-daemonsets': 'bool', 'delete-emptydir-data': 'bool', 'delete-local-data': 'bool', force: 'bool', 'grace-period': 'int', timeout: 'duration', 'disable-eviction': 'bool', 'skip-wait-for-delete-timeout': 'int', 'pod-selector': 'string', selector: 'string', 'dry-run': 'string', 'chunk-size': 'int'}, {l: 'selector'})
  if (p.args.length !== 1) fail("error: USAGE: drain NODE [flags]\nSee 'kubectl drain -h' for help and examples")
  if (p.flags['delete-local-data'] !== undefined) fail('error: unknown flag: --delete-local-data\nSee \'kubectl drain --help\' for usage.')
  const node = p.args[0]
  const conn = connect(p)
  const n = await api(conn, 'GET', `/api/v1/nodes/${node}`)
  if (n.status !== 200) fail(statusError(n))
  const c = await api(conn, 'PATCH', `/api/v1/nodes/${node}`, {spec: {unschedulable: true}})
  if (c.status !== 200) fail(statusError(c))
  out(`node/${node} cordoned`)
  const pods = await api(conn, 'GET', `/api/v1/pods?fieldSelector=spec.nodeName=${encodeURIComponent(node)}`)
  const items: any[] = pods.status === 200 ? pods.body.items : []
  const errs: string[] = []
  const dsPods: string[] = []
  const evict: any[] = []
  for (const pod of items) {
    if (pod.metadata.annotations?.['kubernetes.io/config.mirror']) continue
    const owner = pod.metadata.ownerReferences?.find((o: any) => o.controller)
    if (owner?.kind === 'DaemonSet') {
      if (!bool(p, 'ignore-daemonsets')) errs.push(`cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): ${pod.metadata.namespace}/${pod.metadata.name}`)
      else dsPods.push(`${pod.metadata.namespace}/${pod.metadata.name}`)
      continue
    }
    if (!owner && !bool(p, 'force')) errs.push(`cannot delete Pods that declare no controller (use --force to override): ${pod.metadata.namespace}/${pod.metadata.name}`)
    if ((pod.spec?.volumes ?? []).some((v: any) => v.emptyDir) && !bool(p, 'delete-emptydir-data'))
      errs.push(`cannot delete Pods with local storage (use --delete-emptydir-data to override): ${pod.metadata.namespace}/${pod.metadata.name}`)
    evict.push(pod)
  }
  if (errs.length) fail(`error: unable to drain node "${node}" due to error: ${errs.join(', ')}, continuing command...\nThere are pending nodes to be drained:\n ${node}`)
  if (dsPods.length) process.stderr.write(`Warning: ignoring DaemonSet-managed Pods: ${dsPods.join(', ')}\n`)
  for (const pod of evict) {
    out(`evicting pod ${pod.metadata.namespace}/${pod.metadata.name}`)
    await api(conn, 'DELETE', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`)
    out(`pod/${pod.metadata.name} evicted`)
  }
  out(`node/${node} drained`)
  return 0
}

async function del(argv: string[]): Promise<number> {
  const p = parse('delete', argv, {filename: 'strings', 'ignore-not-found': 'bool', wait: 'bool', 'grace-period': 'int', force: 'bool', now: 'bool', selector: 'string', all: 'bool', recursive: 'bool', timeout: 'duration', cascade: 'string'}, {f: 'filename', l: 'selector', R: 'recursive'})
  const conn = connect(p)
  const targets: {r: ResourceInfo; name: string; ns?: string}[] = []
  if (list(p, 'filename').length) {
    for (const {file, obj} of readManifests(list(p, 'filename'), bool(p, 'recursive'))) {
      const r = await resolveKind(conn, obj.apiVersion, obj.kind, obj.metadata?.namespace, obj.metadata?.name, file)
      targets.push({r, name: obj.metadata.name, ns: r.namespaced ? obj.metadata.namespace ?? str(p, 'namespace') ?? 'default' : undefined})
    }
  } else if (p.args[0]?.includes('/')) {
    for (const a of p.args) {
      const [t, n] = a.split('/')
      const r = await resolveName(conn, t)
      targets.push({r, name: n, ns: r.namespaced ? str(p, 'namespace') ?? 'default' : undefined})
    }
  } else {
    if (p.args.length < 2) fail('error: resource(s) were provided, but no name was specified')
    const r = await resolveName(conn, p.args[0])
    for (const n of p.args.slice(1)) targets.push({r, name: n, ns: r.namespaced ? str(p, 'namespace') ?? 'default' : undefined})
  }
  let failed = false
  for (const t of targets) {
    const rr = await api(conn, 'DELETE', itemPath(t.r, t.name, t.ns))
    if (rr.status === 200) out(`${label(t.r)} "${t.name}" deleted${t.ns ? ` from ${t.ns} namespace` : ''}`)
    else if (rr.status === 404 && bool(p, 'ignore-not-found')) continue
    else {
      process.stderr.write(`${statusError(rr)}\n`)
      failed = true
    }
  }
  return failed ? 1 : 0
}

async function wait(argv: string[]): Promise<number> {
  const p = parse('wait', argv, {for: 'string', timeout: 'duration', all: 'bool', selector: 'string', 'all-namespaces': 'bool', filename: 'strings'}, {l: 'selector', A: 'all-namespaces', f: 'filename'})
  const cond = str(p, 'for')
  if (!cond) fail("error: --for must be specified")
  const conn = connect(p)
  const m = /^condition=([^=]+)(?:=(.*))?$/i.exec(cond)
  const jp = /^jsonpath=(\{[^}]+\})=(.*)$/.exec(cond)
  if (!m && !jp && cond !== 'delete') fail(`error: unrecognized condition: "${cond}"`)
  let timeoutS = 30
  const t = str(p, 'timeout')
  if (t) timeoutS = [...t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)].reduce((a, x) => a + Number(x[1]) * ({ms: 0.001, s: 1, m: 60, h: 3600} as Record<string, number>)[x[2]], 0)
  let targets: {r: ResourceInfo; name: string}[] = []
  const ns = str(p, 'namespace') ?? 'default'
  if (p.args.length && p.args[0].includes('/')) {
    for (const a of p.args) {
      const [ty, n] = a.split('/')
      targets.push({r: await resolveName(conn, ty), name: n})
    }
  } else if (p.args.length) {
    const r = await resolveName(conn, p.args[0])
    if (bool(p, 'all') || str(p, 'selector')) {
      const qs = str(p, 'selector') ? `?labelSelector=${encodeURIComponent(str(p, 'selector')!)}` : ''
      const l = await api(conn, 'GET', collectionPath(r, r.namespaced ? ns : undefined) + qs)
      targets = l.body.items.map((o: any) => ({r, name: o.metadata.name}))
      if (!targets.length) fail(`error: no matching resources found`)
    } else targets = p.args.slice(1).map((n) => ({r, name: n}))
  }
  if (!targets.length) fail('error: resource(s) were provided, but no name was specified')
  const t0 = Date.now()
  for (const tg of targets) {
    for (;;) {
      const res = await api(conn, 'GET', itemPath(tg.r, tg.name, tg.r.namespaced ? ns : undefined)).catch(() => undefined)
      let met = false
      if (cond === 'delete') met = res?.status === 404
      else if (res?.status === 200 && m) {
        const want = (m[2] ?? 'True').toLowerCase()
        met = (res.body.status?.conditions ?? []).some((c: any) => c.type.toLowerCase() === m[1].toLowerCase() && String(c.status).toLowerCase() === want)
      } else if (res?.status === 200 && jp) met = jsonpath(jp[1], res.body) === jp[2]
      if (met) {
        out(`${label(tg.r)}/${tg.name} condition met`)
        break
      }
      if (Date.now() - t0 > timeoutS * 1000) fail(`error: timed out waiting for the condition on ${tg.r.plural}/${tg.name}`)
      await sleep(500)
    }
  }
  return 0
}

async function rollout(argv: string[]): Promise<number> {
  if (argv[0] !== 'status') fail(`error: the kubectl stand-in implements only "rollout status" (asked: ${argv[0] ?? ''})`)
  const p = parse('rollout status', argv.slice(1), {timeout: 'duration', watch: 'bool', revision: 'int'}, {w: 'watch'})
  const conn = connect(p)
  const {r, name} = await nodeTarget(conn, p.args, 'rollout status')
  const rr = await api(conn, 'GET', itemPath(r, name, str(p, 'namespace') ?? 'default'))
  if (rr.status !== 200) fail(statusError(rr))
  out(r.kind === 'DaemonSet' ? `daemon set "${name}" successfully rolled out` : `${r.kind.toLowerCase()} "${name}" successfully rolled out`)
  return 0
}

async function version(argv: string[]): Promise<number> {
  const p = parse('version', argv, {client: 'bool', output: 'string'}, {o: 'output'})
  const v = binaryVersion()
  const sv = binarySemver()
  const client = {major: String(sv.major), minor: String(sv.minor), gitVersion: v, gitCommit: 'standin', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.22.0', compiler: 'gc', platform: 'linux/amd64'}
  const doc: any = {clientVersion: client, kustomizeVersion: 'v5.4.2'}
  if (!bool(p, 'client')) {
    const r = await api(connect(p), 'GET', '/version')
    if (r.status !== 200) fail(statusError(r))
    doc.serverVersion = r.body
  }
  const o = str(p, 'output') ?? ''
  if (o === 'json') out(JSON.stringify(doc, null, 2))
  else if (o === 'yaml') out(stringify(doc).trimEnd())
  else if (o === '') {
    out(`Client Version: ${v}\nKustomize Version: v5.4.2`)
    if (doc.serverVersion) out(`Server Version: ${doc.serverVersion.gitVersion}`)
  } else fail(`error: --output must be 'yaml' or 'json'`)
  return 0
}

async function clusterInfo(argv: string[]): Promise<number> {
  const p = parse('cluster-info', argv, {})
  const conn = connect(p)
  const r = await api(conn, 'GET', '/livez')
  if (r.status !== 200) fail(`The connection to the server ${conn.server} was refused - did you specify the right host or port?`)
  out(`Kubernetes control plane is running at ${conn.server}`)
  return 0
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2)
  // global flags may come before the command
  let i = 0
  const pre: string[] = []
  while (i < argv.length && argv[i].startsWith('-')) {
    const n = argv[i].replace(/^-+/, '').split('=')[0]
    const long = n.length === 1 ? SHORT[n] : n
    if (!long || !(long in GLOBAL)) fail(`error: unknown flag: ${argv[i].split('=')[0]}\nSee 'kubectl --help' for usage.`)
    const takesValue = GLOBAL[long] !== 'bool' && !argv[i].includes('=')
    pre.push(...argv.slice(i, i + (takesValue ? 2 : 1)))
    i += takesValue ? 2 : 1
  }
  const [cmd, ...rest0] = argv.slice(i)
  const rest = [...rest0, ...pre]
  try {
    switch (cmd) {
      case 'apply':
        return await apply(rest)
      case 'get':
        return await get(rest)
      case 'diff':
        return await diff(rest)
      case 'label':
        return await labelCmd(rest)
      case 'taint':
        return await taint(rest)
      case 'cordon':
        return await cordon(rest, true)
      case 'uncordon':
        return await cordon(rest, false)
      case 'drain':
        return await drain(rest)
      case 'delete':
        return await del(rest)
      case 'wait':
        return await wait(rest)
      case 'rollout':
        return await rollout(rest)
      case 'version':
        return await version(rest)
      case 'cluster-info':
        return await clusterInfo(rest)
      case undefined:
        out('kubectl (metalplane stand-in): apply, diff, get, label, taint, cordon, uncordon, drain, delete, wait, rollout status, version, cluster-info')
        return 0
      default:
        fail(`error: unknown command "${cmd}" for "kubectl"`)
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    if (err.code === 'ECONNREFUSED' || err.code === 'EHOSTUNREACH' || err.code === 'ETIMEDOUT')
      fail(`The connection to the server ${err.message.replace(/^connect \w+ /, '')} was refused - did you specify the right host or port?`, cmd === 'diff' ? 2 : 1)
    throw e
  }
}

runMain('', main)
