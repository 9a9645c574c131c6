import {ExitCode, MetalplaneError} from '../errors.js'
import type {ClusterSpec} from '../spec/schema.js'
import {closeHosts, connectSome, errorText, runOnHosts, type ConnectOptions} from './connect.js'
import {gatherFacts, type HostFacts} from './facts.js'

export interface HostExecResult {
  host: string
  /** Exit code; null when the command was killed (timeout) or the host was not reached. */
  code: number | null
  stdout: string
  stderr: string
  signal?: string
  /** Why the host was not reached or the command could not run. */
  error?: string
  /** What to do about `error`. */
  hint?: string
}

export interface ExecOnHostsResult {
  command: string
  /** The worst (highest) exit code over the hosts; unreached hosts count with their error's code. */
  exitCode: number
  hosts: HostExecResult[]
}

export interface ExecOnHostsOptions extends ConnectOptions {
  /** Run as root (sudo -n when the SSH user is not root). Default true. */
  sudo?: boolean
  timeoutMs?: number
  /** Called for every complete output line of every host, as it arrives. */
  onLine?: (host: string, stream: 'stdout' | 'stderr', line: string) => void
}

/** Splits streamed chunks into lines; `flush()` emits a last line without newline. */
export class LineSplitter {
  private buf = ''
  constructor(private readonly emit: (line: string) => void) {}
  write(chunk: string): void {
    this.buf += chunk
    let i: number
    while ((i = this.buf.indexOf('\n')) >= 0) {
      this.emit(this.buf.slice(0, i).replace(/\r$/, ''))
      this.buf = this.buf.slice(i + 1)
    }
  }
  flush(): void {
    if (this.buf) this.emit(this.buf)
    this.buf = ''
  }
}

function hintOf(error: unknown): {hint?: string} {
  return error instanceof MetalplaneError && error.hint ? {hint: error.hint} : {}
}

function codeOf(error: unknown): number {
  return error instanceof MetalplaneError ? error.exitCode : ExitCode.FAILURE
}

/**
 * Runs one command on the spec's hosts (bounded parallel), streaming lines through `onLine`.
 * Never throws for a host: unreachable hosts and failures are in the results.
 */
export async function execOnHosts(spec: ClusterSpec, command: string, opts: ExecOnHostsOptions = {}): Promise<ExecOnHostsResult> {
  if (!command.trim()) throw new MetalplaneError('no command given', {exitCode: ExitCode.BAD_INPUT, code: 'BAD_INPUT', hint: 'Put the command after --, e.g. metalplane hosts exec -c cluster.yaml -- uptime'})
  const concurrency = opts.concurrency ?? spec.spec.ssh.concurrency
  const {hosts, failures} = await connectSome(spec, opts)
  const codes: number[] = []
  try {
    const results = new Map<string, HostExecResult>()
    for (const f of failures) {
      if (f.ok) continue
      results.set(f.name, {host: f.name, code: null, stdout: '', stderr: '', error: errorText(f.error), ...hintOf(f.error)})
      codes.push(codeOf(f.error))
    }
    const outcomes = await runOnHosts(hosts, concurrency, async (h) => {
      const out = new LineSplitter((l) => opts.onLine?.(h.name, 'stdout', l))
      const err = new LineSplitter((l) => opts.onLine?.(h.name, 'stderr', l))
      const r = await h.exec(command, {
        sudo: opts.sudo !== false && h.spec.user !== 'root',
        allowFail: true,
        timeoutMs: opts.timeoutMs,
        onStdout: (s) => out.write(s),
        onStderr: (s) => err.write(s),
      })
      out.flush()
      err.flush()
      return r
    })
    for (const o of outcomes) {
      if (o.ok) {
        const r: HostExecResult = {host: o.name, code: o.value.code, stdout: o.value.stdout, stderr: o.value.stderr}
        if (o.value.signal) r.signal = o.value.signal
        results.set(o.name, r)
        codes.push(o.value.code ?? ExitCode.FAILURE)
      } else {
        results.set(o.name, {host: o.name, code: null, stdout: '', stderr: '', error: errorText(o.error), ...hintOf(o.error)})
        codes.push(codeOf(o.error))
      }
    }
    const order = spec.spec.hosts.map((h) => h.name)
    return {
      command,
      exitCode: codes.length === 0 ? 0 : Math.max(...codes),
      hosts: [...results.values()].sort((a, b) => order.indexOf(a.host) - order.indexOf(b.host)),
    }
  } finally {
    await closeHosts(hosts)
  }
}

export interface HostFactsResult {
  hosts: {host: string; facts: HostFacts}[]
  failures: {host: string; error: string; hint?: string}[]
  /** 0, or the failures' common exit code (4 when all were host-key refusals), else 1. */
  exitCode: number
}

/** Connects to the spec's hosts and gathers their facts; failed hosts are listed, not thrown. */
export async function factsOnHosts(spec: ClusterSpec, opts: ConnectOptions = {}): Promise<HostFactsResult> {
  const {hosts, failures} = await connectSome(spec, opts)
  try {
    const outcomes = await runOnHosts(hosts, opts.concurrency ?? spec.spec.ssh.concurrency, (h) => gatherFacts(h))
    const failed = [...failures, ...outcomes.filter((o) => !o.ok)].map((o) => (o.ok ? undefined : o.error))
    const failedCodes = new Set(failed.map(codeOf))
    const order = spec.spec.hosts.map((h) => h.name)
    const fail = [...failures, ...outcomes]
      .flatMap((o) => (o.ok ? [] : [{host: o.name, error: errorText(o.error), ...hintOf(o.error)}]))
      .sort((a, b) => order.indexOf(a.host) - order.indexOf(b.host))
    return {
      hosts: outcomes.flatMap((o) => (o.ok ? [{host: o.name, facts: o.value}] : [])),
      failures: fail,
      exitCode: failed.length === 0 ? 0 : failedCodes.size === 1 ? [...failedCodes][0] : ExitCode.FAILURE,
    }
  } finally {
    await closeHosts(hosts)
  }
}
