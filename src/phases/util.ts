import type {RunContext} from '../engine/phase.js'
import type {Host} from '../hosts/host.js'
import {shq} from '../hosts/executor.js'

/** A minimal unified diff (whole file as one hunk set with 3 lines of context). */
export function unifiedDiff(path: string, before: string | undefined, after: string): string {
  const a = before === undefined ? [] : before.split('\n')
  const b = after.split('\n')
  const n = a.length
  const m = b.length
  // LCS table (config files are small).
  const lcs: number[][] = Array.from({length: n + 1}, () => new Array<number>(m + 1).fill(0))
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1])
  const ops: {op: ' ' | '-' | '+'; line: string; ai: number; bi: number}[] = []
  let i = 0
  let j = 0
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({op: ' ', line: a[i], ai: i++, bi: j++})
    else if (j < m && (i >= n || lcs[i][j + 1] >= lcs[i + 1][j])) ops.push({op: '+', line: b[j], ai: i, bi: j++})
    else ops.push({op: '-', line: a[i], ai: i++, bi: j})
  }
  const out = [`--- ${before === undefined ? '/dev/null' : path}`, `+++ ${path}`]
  const ctx = 3
  let k = 0
  while (k < ops.length) {
    if (ops[k].op === ' ') {
      k++
      continue
    }
    const start = Math.max(0, k - ctx)
    let end = k
    // extend the hunk while changes are within 2*ctx of each other
    let last = k
    while (end < ops.length) {
      if (ops[end].op !== ' ') last = end
      else if (end - last > 2 * ctx) break
      end++
    }
    end = Math.min(ops.length, last + ctx + 1)
    const hunk = ops.slice(start, end)
    const aStart = hunk[0].ai + 1
    const bStart = hunk[0].bi + 1
    const aLen = hunk.filter((o) => o.op !== '+').length
    const bLen = hunk.filter((o) => o.op !== '-').length
    out.push(`@@ -${aLen === 0 ? aStart - 1 : aStart},${aLen} +${bLen === 0 ? bStart - 1 : bStart},${bLen} @@`)
    for (const o of hunk) out.push(o.op + o.line)
    k = end
  }
  return out.join('\n') + '\n'
}

function sudo(host: Host): boolean {
  return host.spec.user !== 'root'
}

export async function readRemote(host: Host, path: string): Promise<string | undefined> {
  const buf = await host.executor.download(path, {sudo: sudo(host)})
  return buf?.toString('utf8')
}

export async function writeRemote(host: Host, path: string, content: string | Buffer, mode = 0o644): Promise<void> {
  await host.executor.upload(content, path, {mode, sudo: sudo(host)})
}

/** True when the remote file differs from `content` (or is missing). Read-only. */
export async function fileDiffers(host: Host, path: string, content: string): Promise<boolean> {
  return (await readRemote(host, path)) !== content
}

/**
 * Make a remote file hold `content`. Records `write <path>` with a diff for the plan. Returns
 * whether the file changed (or would change, in dry-run).
 */
export async function ensureFile(ctx: RunContext, host: Host, path: string, content: string, mode = 0o644): Promise<boolean> {
  const current = await readRemote(host, path)
  if (current === content) return false
  await ctx.wet(host, `${current === undefined ? 'create' : 'update'} ${path}`, () => writeRemote(host, path, content, mode), {
    diff: unifiedDiff(path, current, content),
  })
  return true
}

/** Run a command as a state change (recorded in plan). */
export async function change(ctx: RunContext, host: Host, action: string, cmd: string, opts: {timeoutMs?: number; secret?: boolean} = {}): Promise<string | undefined> {
  return ctx.wet(host, action, async () => (await host.exec(cmd, {timeoutMs: opts.timeoutMs ?? 600_000, secret: opts.secret})).stdout)
}

/** Exit code 0 of a read-only probe. */
export async function probe(host: Host, cmd: string): Promise<boolean> {
  const r = await host.exec(cmd, {allowFail: true, timeoutMs: 60_000})
  return r.code === 0
}

export async function sha256Remote(host: Host, path: string): Promise<string | undefined> {
  const r = await host.exec(`sha256sum ${shq(path)} 2>/dev/null`, {allowFail: true})
  return r.code === 0 ? r.stdout.split(/\s+/)[0] : undefined
}

/** Upload a file holding secrets (mode 0600, under /run which is tmpfs), run fn, delete it. */
export async function withSecretFile<T>(host: Host, name: string, content: string, fn: (path: string) => Promise<T>): Promise<T> {
  const path = `/run/metalplane/${name}`
  await host.exec('install -d -m 0700 /run/metalplane')
  await writeRemote(host, path, content, 0o600)
  try {
    return await fn(path)
  } finally {
    await host.exec(`rm -f ${shq(path)}`, {allowFail: true})
  }
}
