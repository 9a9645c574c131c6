// STAND-IN support code shared by the kubeadm, kubelet, kubectl and kube-apiserver stand-ins.
// These programs exist only for tests: no registry reachable from the project's machines
// serves kubeadm/kubelet/control-plane images. See test/standins/README.md.
import {existsSync, mkdirSync, readFileSync, writeFileSync, renameSync} from 'node:fs'
import {dirname, join} from 'node:path'

/** Exit with a message, like a Go CLI printing to stderr. */
export class StandinExit extends Error {
  constructor(
    message: string,
    public code = 1,
  ) {
    super(message)
  }
}

export function fail(message: string, code = 1): never {
  throw new StandinExit(message, code)
}

/**
 * Host filesystem root. On a lab host it is "/"; tests set STANDIN_ROOT to a temp dir so every
 * path the stand-ins read or write (/etc/kubernetes, /var/lib/kubelet, /proc/sys/...) lives under it.
 */
export function root(): string {
  return process.env.STANDIN_ROOT || '/'
}

export function underRoot(): boolean {
  return Boolean(process.env.STANDIN_ROOT && process.env.STANDIN_ROOT !== '/')
}

/** Host path p (absolute) under the configured root. */
export function hp(p: string): string {
  return root() === '/' ? p : join(root(), p)
}

export function readHost(p: string): string {
  return readFileSync(hp(p), 'utf8')
}

export function hostExists(p: string): boolean {
  return existsSync(hp(p))
}

export function writeHost(p: string, content: string | Buffer, mode = 0o644): void {
  const full = hp(p)
  mkdirSync(dirname(full), {recursive: true})
  const tmp = `${full}.standin-tmp`
  writeFileSync(tmp, content, {mode})
  renameSync(tmp, full)
}

/** The Kubernetes version this bundle impersonates, baked in at bundle time (or from env in tests). */
declare const __STANDIN_K8S_VERSION__: string | undefined
export function binaryVersion(): string {
  const v =
    process.env.STANDIN_KUBERNETES_VERSION ||
    (typeof __STANDIN_K8S_VERSION__ === 'string' ? __STANDIN_K8S_VERSION__ : undefined)
  if (!v) fail('stand-in built without a Kubernetes version (STANDIN_KUBERNETES_VERSION)')
  return v.startsWith('v') ? v : `v${v}`
}

export interface Semver {
  major: number
  minor: number
  patch: number
}

export function parseVersion(v: string): Semver | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(v.trim())
  if (!m) return undefined
  return {major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3])}
}

export function binarySemver(): Semver {
  const s = parseVersion(binaryVersion())
  if (!s) fail(`stand-in version ${binaryVersion()} is not a semantic version`)
  return s
}

// ---------------------------------------------------------------------------------------------
// Flag parsing in the style of spf13/pflag (kubeadm, kubectl, kubelet all use it).

export type FlagKind = 'bool' | 'string' | 'strings' | 'int' | 'duration' | 'map'

export interface FlagSpec {
  [name: string]: FlagKind
}

export interface Parsed {
  flags: Record<string, string | string[] | boolean>
  args: string[]
}

/**
 * Parses argv with pflag rules: --name=value, --name value, -x value (shorthands), bools take
 * no value unless given with '='. An unknown flag fails with pflag's exact message.
 */
export function parseFlags(argv: string[], spec: FlagSpec, shorthands: Record<string, string> = {}): Parsed {
  const flags: Parsed['flags'] = {}
  const args: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--') {
      args.push(...argv.slice(i + 1))
      break
    }
    let name: string | undefined
    let value: string | undefined
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=')
      name = eq >= 0 ? a.slice(2, eq) : a.slice(2)
      value = eq >= 0 ? a.slice(eq + 1) : undefined
      if (!(name in spec)) fail(`unknown flag: --${name}`)
    } else if (a.startsWith('-') && a.length > 1 && a !== '-') {
      const short = a[1]
      const long = shorthands[short]
      if (!long) fail(`unknown shorthand flag: '${short}' in ${a}`)
      name = long
      if (a.length > 2) value = a[2] === '=' ? a.slice(3) : a.slice(2)
    } else {
      args.push(a)
      continue
    }
    const kind = spec[name]
    if (kind === 'bool') {
      if (value !== undefined && !['true', 'false', '1', '0'].includes(value))
        fail(`invalid argument "${value}" for "--${name}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`)
      flags[name] = value === undefined ? true : value === 'true' || value === '1'
      continue
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) fail(`flag needs an argument: --${name}`)
      value = argv[++i]
    }
    if (kind === 'int' && !/^-?\d+$/.test(value))
      fail(`invalid argument "${value}" for "--${name}" flag: strconv.ParseInt: parsing "${value}": invalid syntax`)
    if (kind === 'duration' && !isGoDuration(value))
      fail(`invalid argument "${value}" for "--${name}" flag: time: invalid duration "${value}"`)
    if (kind === 'strings' || kind === 'map') {
      const prev = (flags[name] as string[] | undefined) ?? []
      flags[name] = [...prev, ...value.split(',').filter((s) => s !== '')]
    } else {
      flags[name] = value
    }
  }
  return {flags, args}
}

export function isGoDuration(s: string): boolean {
  return /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$/.test(s) || s === '0'
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.flags[name]
  return typeof v === 'string' ? v : undefined
}

export function list(p: Parsed, name: string): string[] {
  const v = p.flags[name]
  return Array.isArray(v) ? v : []
}

export function bool(p: Parsed, name: string): boolean {
  return p.flags[name] === true
}

/** Runs a stand-in main, mapping StandinExit to stderr + exit code like a Go CLI. */
export function runMain(prefix: string, main: () => Promise<number | void>): void {
  main().then(
    (code) => {
      process.exitCode = typeof code === 'number' ? code : 0
    },
    (e: unknown) => {
      if (e instanceof StandinExit) {
        process.stderr.write(`${prefix}${e.message}\n`)
        process.exitCode = e.code
      } else {
        process.stderr.write(`${prefix}stand-in crashed: ${(e as Error)?.stack ?? String(e)}\n`)
        process.exitCode = 2
      }
    },
  )
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** How long the stand-ins wait for each other (kubelet, apiserver); real defaults are minutes. */
export function waitSeconds(fallback: number): number {
  const v = Number(process.env.STANDIN_WAIT_SECONDS)
  return Number.isFinite(v) && v > 0 ? v : fallback
}
