// STAND-IN strict decoder: checks a decoded YAML/JSON object against a field schema the way
// Kubernetes' strict decoding does (unknown field => error, wrong JSON type => error).
import k8sTypes from './data/k8s-types.json' with {type: 'json'}

export type Schema =
  | 'string'
  | 'bool'
  | 'int32'
  | 'int64'
  | 'float'
  | 'duration'
  | 'time'
  | 'intOrString'
  | 'quantity'
  | 'any'
  | {object: Record<string, Schema>; required?: string[]; goName?: string}
  | {array: Schema}
  | {map: Schema}
  | {k8s: string}

export interface FieldError {
  path: string
  kind: 'unknown' | 'type' | 'required' | 'invalid'
  message: string
}

const types = (k8sTypes as unknown as {types: Record<string, Record<string, string>>}).types
export const k8sKinds = (k8sTypes as unknown as {kinds: Record<string, {apiVersion: string; type: string; namespaced: boolean}>})
  .kinds

// Fields holding resource.Quantity maps: the API accepts numbers and strings there.
const QUANTITY_MAPS = new Set(['limits', 'requests', 'capacity', 'allocatable', 'hard', 'overhead', 'podFixed'])

function fromClientType(t: string, field: string): Schema {
  const base = t.split('|')[0]
  const fmt = t.split('|')[1]
  let m: RegExpExecArray | null
  if ((m = /^Array<(.+)>$/.exec(t))) return {array: fromClientType(m[1], field)}
  if ((m = /^\{ \[key: string\]: (.+); \}$/.exec(t))) {
    if (QUANTITY_MAPS.has(field) && m[1] === 'string') return {map: 'quantity'}
    return {map: fromClientType(m[1], field)}
  }
  switch (base) {
    case 'string':
      return field === 'storage' ? 'quantity' : 'string'
    case 'boolean':
      return 'bool'
    case 'number':
      return fmt === 'int64' ? 'int64' : fmt === 'int32' ? 'int32' : 'float'
    case 'Date':
      return 'time'
    case 'IntOrString':
      return 'intOrString'
    case 'any':
    case 'object':
      return 'any'
    default:
      if (types[base]) return {k8s: base}
      return 'any'
  }
}

function typeOf(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return 'number'
  if (typeof v === 'object') return 'object'
  return typeof v
}

function goType(s: Schema): string {
  if (typeof s === 'string')
    return (
      {
        string: 'string',
        bool: 'bool',
        int32: 'int32',
        int64: 'int64',
        float: 'float64',
        duration: 'v1.Duration',
        time: 'v1.Time',
        intOrString: 'intstr.IntOrString',
        quantity: 'resource.Quantity',
        any: 'interface {}',
      } as const
    )[s]
  if ('array' in s) return `[]${goType(s.array)}`
  if ('map' in s) return `map[string]${goType(s.map)}`
  if ('k8s' in s) return `v1.${s.k8s.replace(/^V\d+(alpha\d+|beta\d+)?/, '')}`
  return s.goName ?? 'struct'
}

const DURATION = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$|^0$/

/** Strictly checks value against schema; returns every error found (unknown fields, wrong types). */
export function check(value: unknown, schema: Schema, path = ''): FieldError[] {
  const errs: FieldError[] = []
  const at = (p: string) => p || '<root>'
  const typeErr = () =>
    errs.push({
      path,
      kind: 'type',
      message: `cannot unmarshal ${typeOf(value)} into Go struct field ${at(path)} of type ${goType(schema)}`,
    })
  if (value === null || value === undefined) return errs // null == unset, as in Go's decoder
  if (typeof schema === 'string') {
    switch (schema) {
      case 'any':
        return errs
      case 'string':
        if (typeof value !== 'string') typeErr()
        return errs
      case 'bool':
        if (typeof value !== 'boolean') typeErr()
        return errs
      case 'int32':
      case 'int64':
        if (typeof value !== 'number' || !Number.isInteger(value)) typeErr()
        else if (schema === 'int32' && (value > 2147483647 || value < -2147483648)) typeErr()
        return errs
      case 'float':
        if (typeof value !== 'number') typeErr()
        return errs
      case 'duration':
        if (typeof value !== 'string') typeErr()
        else if (!DURATION.test(value))
          errs.push({path, kind: 'type', message: `time: invalid duration "${value}" (field ${at(path)})`})
        return errs
      case 'time':
        if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) typeErr()
        return errs
      case 'intOrString':
        if (typeof value !== 'string' && !(typeof value === 'number' && Number.isInteger(value))) typeErr()
        return errs
      case 'quantity':
        if (typeof value === 'number') return errs
        if (typeof value !== 'string') typeErr()
        else if (!/^[+-]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?\d+)?$/.test(value))
          errs.push({path, kind: 'invalid', message: `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (field ${at(path)})`})
        return errs
    }
  }
  if ('array' in schema) {
    if (!Array.isArray(value)) {
      typeErr()
      return errs
    }
    value.forEach((v, i) => errs.push(...check(v, schema.array, `${path}[${i}]`)))
    return errs
  }
  if ('map' in schema) {
    if (typeOf(value) !== 'object') {
      typeErr()
      return errs
    }
    for (const [k, v] of Object.entries(value as object)) errs.push(...check(v, schema.map, path ? `${path}.${k}` : k))
    return errs
  }
  let fields: Record<string, Schema>
  let required: string[] = []
  if ('k8s' in schema) {
    const t = types[schema.k8s]
    if (!t) return errs
    fields = Object.fromEntries(Object.entries(t).map(([k, ty]) => [k, fromClientType(ty, k)]))
  } else {
    fields = schema.object
    required = schema.required ?? []
  }
  if (typeOf(value) !== 'object') {
    typeErr()
    return errs
  }
  const obj = value as Record<string, unknown>
  for (const [k, v] of Object.entries(obj)) {
    const p = path ? `${path}.${k}` : k
    if (!(k in fields)) {
      errs.push({path: p, kind: 'unknown', message: `unknown field "${p}"`})
      continue
    }
    errs.push(...check(v, fields[k], p))
  }
  for (const r of required)
    if (obj[r] === undefined) {
      const p = path ? `${path}.${r}` : r
      errs.push({path: p, kind: 'required', message: `${p}: Required value`})
    }
  return errs
}

/** Object-schema helper for the kubeadm/kubelet data files. */
export function obj(fields: Record<string, Schema>, goName?: string, required?: string[]): Schema {
  return {object: fields, goName, required}
}
