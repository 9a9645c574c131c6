import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {MetalplaneError} from '../errors.js'
import {templatesDir} from '../util/paths.js'

/**
 * Minimal strict template renderer for files under templates/.
 *
 *   {{ name }}            value (a missing or undefined variable is an error, never "")
 *   {{ a.b }}             nested value
 *   {{#each list}}...{{/each}}   repeat; inside, {{ . }} is the item and {{ .field }} a field of it
 *   {{#if flag}}...{{/if}}       keep the block when truthy (non-empty arrays count as truthy)
 *   {{#unless flag}}...{{/unless}}
 *   {{! comment }}        dropped
 */
export type Vars = Record<string, unknown>

const cache = new Map<string, string>()

export function loadTemplate(rel: string): string {
  let t = cache.get(rel)
  if (t === undefined) {
    t = readFileSync(join(templatesDir(), rel), 'utf8')
    cache.set(rel, t)
  }
  return t
}

function lookup(path: string, scope: Vars, item: unknown, tpl: string): unknown {
  if (path === '.') return item
  let cur: unknown = path.startsWith('.') ? item : scope
  const parts = path.replace(/^\./, '').split('.')
  for (const p of parts) {
    if (cur === null || cur === undefined || typeof cur !== 'object' || !(p in (cur as object))) {
      throw new MetalplaneError(`template ${tpl}: variable "${path}" is not set`, {code: 'TEMPLATE'})
    }
    cur = (cur as Record<string, unknown>)[p]
  }
  if (cur === undefined) throw new MetalplaneError(`template ${tpl}: variable "${path}" is undefined`, {code: 'TEMPLATE'})
  return cur
}

function truthy(v: unknown): boolean {
  return Array.isArray(v) ? v.length > 0 : Boolean(v)
}

function renderString(src: string, scope: Vars, item: unknown, tpl: string): string {
  const block = /\{\{#(each|if|unless) ([.\w]+)\}\}([\s\S]*?)\{\{\/\1\}\}/
  let out = ''
  let rest = src
  for (;;) {
    const m = block.exec(rest)
    if (!m) break
    // Nested blocks of the same kind are not supported; find the balanced end.
    out += rest.slice(0, m.index)
    const [, kind, name] = m
    const openTag = `{{#${kind} ${name}}}`
    const closeTag = `{{/${kind}}}`
    let depth = 0
    let i = m.index
    let end = -1
    const re = new RegExp(`\\{\\{#${kind} [.\\w]+\\}\\}|\\{\\{/${kind}\\}\\}`, 'g')
    re.lastIndex = i
    for (let t = re.exec(rest); t; t = re.exec(rest)) {
      if (t[0] === closeTag) depth--
      else depth++
      if (depth === 0) {
        end = t.index
        break
      }
    }
    if (end < 0) throw new MetalplaneError(`template ${tpl}: ${openTag} has no ${closeTag}`, {code: 'TEMPLATE'})
    const body = rest.slice(m.index + openTag.length, end)
    const value = lookup(name, scope, item, tpl)
    if (kind === 'each') {
      if (!Array.isArray(value)) throw new MetalplaneError(`template ${tpl}: "${name}" is not a list`, {code: 'TEMPLATE'})
      for (const v of value) out += renderString(body, scope, v, tpl)
    } else if (kind === 'if' ? truthy(value) : !truthy(value)) {
      out += renderString(body, scope, item, tpl)
    }
    rest = rest.slice(end + closeTag.length)
    i = 0
  }
  out += rest
  const stray = /\{\{[#/][^}]*\}\}/.exec(out)
  if (stray) throw new MetalplaneError(`template ${tpl}: ${stray[0]} has no matching open/close tag`, {code: 'TEMPLATE'})
  return out
    .replace(/\{\{![\s\S]*?\}\}\n?/g, '')
    .replace(/\{\{\s*([.\w]+)\s*\}\}/g, (_, path: string) => {
      const v = lookup(path, scope, item, tpl)
      return typeof v === 'object' ? JSON.stringify(v) : String(v)
    })
}

/** A block tag alone on its line takes the line with it (as in mustache), so blocks leave no blank lines. */
function standalone(src: string): string {
  return src.replace(/^[ \t]*(\{\{[#/!][^}]*\}\})[ \t]*\n/gm, '$1')
}

/** Render templates/<rel> with vars. */
export function render(rel: string, vars: Vars): string {
  return renderString(standalone(loadTemplate(rel)), vars, undefined, rel)
}

/** Render a template string (tests, inline use by other templates). */
export function renderText(text: string, vars: Vars, name = '<inline>'): string {
  return renderString(standalone(text), vars, undefined, name)
}
