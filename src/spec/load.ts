import {readFile} from 'node:fs/promises'
import {homedir} from 'node:os'
import {dirname, isAbsolute, resolve} from 'node:path'
import {isMap, isSeq, LineCounter, parseDocument, type Document} from 'yaml'
import type {ZodIssue} from 'zod'
import {InputError, type FieldIssue} from '../errors.js'
import {ClusterSpec, crossCheck} from './schema.js'

export interface LoadedSpec {
  spec: ClusterSpec
  /** Absolute path of the file the spec came from. */
  file: string
}

export function formatPath(path: (string | number)[]): string {
  let out = ''
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`
  return out || '(top level)'
}

function lineOf(doc: Document, lc: LineCounter, path: (string | number)[]): number | undefined {
  // Walk to the deepest node that exists and report its line.
  let node: unknown = doc.contents
  let found: unknown = node
  for (const p of path) {
    if (isMap(node)) node = node.get(p as string, true)
    else if (isSeq(node)) node = node.get(p as number, true)
    else break
    if (!node) break
    found = node
  }
  const range = (found as {range?: [number, number, number]} | undefined)?.range
  return range ? lc.linePos(range[0]).line : undefined
}

function describe(issue: ZodIssue): string {
  if (issue.code === 'invalid_type') {
    if (issue.received === 'undefined') return `required (${issue.expected})`
    return `expected ${issue.expected}, got ${issue.received}`
  }
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`
  if (issue.code === 'invalid_enum_value') return `expected one of ${issue.options.map((o) => JSON.stringify(o)).join(', ')}, got ${JSON.stringify(issue.received)}`
  if (issue.code === 'invalid_string' && issue.validation === 'regex') return `expected ${issue.message}`
  if (issue.code === 'custom' || issue.code === 'invalid_literal') return issue.message
  return issue.message
}

/** Parse and validate spec text. Every problem is reported at once, by path (and line). */
export function parseSpec(text: string, file = '<input>'): ClusterSpec {
  const lc = new LineCounter()
  const doc = parseDocument(text, {lineCounter: lc, prettyErrors: true, uniqueKeys: true})
  if (doc.errors.length > 0) {
    const issues: FieldIssue[] = doc.errors.map((e) => ({
      path: '(yaml)',
      message: e.message.split('\n')[0],
      ...(e.linePos ? {line: e.linePos[0].line} : {}),
    }))
    throw new InputError(`${file} is not valid YAML`, issues)
  }
  const raw = doc.toJS()
  const parsed = ClusterSpec.safeParse(raw)
  const found = [...(parsed.success ? [] : parsed.error.issues.map((i) => ({path: i.path, message: describe(i)}))), ...crossCheck(raw)]
  if (!parsed.success || found.length > 0) {
    const issues: FieldIssue[] = found.map((i) => {
      const line = lineOf(doc, lc, i.path)
      return {path: formatPath(i.path), message: i.message, ...(line ? {line} : {})}
    })
    throw new InputError(`${file} is not a valid cluster spec (${issues.length} problem${issues.length === 1 ? '' : 's'})`, issues, 'Fix the fields listed above; `metalplane init` writes a commented example.')
  }
  return parsed.data as ClusterSpec
}

function expandPath(p: string, base: string): string {
  if (p.startsWith('~/')) return resolve(homedir(), p.slice(2))
  return isAbsolute(p) ? p : resolve(base, p)
}

/** Read a spec file; relative paths inside it are taken relative to the file. */
export async function loadSpec(file: string): Promise<LoadedSpec> {
  const abs = resolve(file)
  let text: string
  try {
    text = await readFile(abs, 'utf8')
  } catch (error) {
    throw new InputError(`cannot read cluster spec ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, [], 'Pass an existing file with -c/--config, or create one with `metalplane init`.')
  }
  const spec = parseSpec(text, file)
  const base = dirname(abs)
  for (const h of spec.spec.hosts) {
    if (h.keyFile) h.keyFile = expandPath(h.keyFile, base)
    if (h.bastion?.keyFile) h.bastion.keyFile = expandPath(h.bastion.keyFile, base)
  }
  if (spec.spec.ssh.knownHosts) spec.spec.ssh.knownHosts = expandPath(spec.spec.ssh.knownHosts, base)
  if (spec.spec.bundle) spec.spec.bundle = expandPath(spec.spec.bundle, base)
  return {spec, file: abs}
}
