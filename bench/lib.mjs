// Shared helpers for the benchmarks: timing of whole commands, medians, ratio tables.
import {spawnSync} from 'node:child_process'

export function timeCmd(cmd, args, opts = {}) {
  const t = process.hrtime.bigint()
  const r = spawnSync(cmd, args, {stdio: opts.stdio ?? 'ignore', env: {...process.env, ...opts.env}, cwd: opts.cwd, timeout: opts.timeoutMs ?? 120_000})
  const s = Number(process.hrtime.bigint() - t) / 1e9
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr ?? ''}`)
  return s
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Runs each named command `runs` times, interleaved (so load changes hit all alike); returns medians. */
export function measure(cases, runs, warmup = 1) {
  const times = Object.fromEntries(cases.map((c) => [c.name, []]))
  for (let i = 0; i < warmup; i++) for (const c of cases) c.run()
  for (let i = 0; i < runs; i++) for (const c of cases) times[c.name].push(c.run())
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]))
}

export function printTable(title, medians, base) {
  console.log(`\n${title}`)
  for (const [k, v] of Object.entries(medians)) {
    const ratio = base && medians[base] ? `  ${(v / medians[base]).toFixed(2)}x ${base}` : ''
    console.log(`  ${k.padEnd(44)} ${v.toFixed(3)} s${ratio}`)
  }
}
