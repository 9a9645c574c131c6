import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
  json?: any
}

/** Runs the built CLI (node bin/run.js) as a user would, without a TTY. */
export function cli(args: string[], opts: {env?: Record<string, string>; cwd?: string; input?: string; timeoutMs?: number} = {}): CliResult {
  const r = spawnSync(process.execPath, [`${repoRoot}/bin/run.js`, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: {...process.env, NO_COLOR: '1', ...opts.env},
    input: opts.input ?? '',
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
  })
  const out: CliResult = {code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr}
  if (args.includes('--json')) {
    try {
      out.json = JSON.parse(r.stdout)
    } catch {
      out.json = undefined
    }
  }
  return out
}
