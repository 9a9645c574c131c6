import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '')

export interface Run {
  code: number
  stdout: string
  stderr: string
  json?: any
}

/** `metalplane TOPIC VERB ...` from src/, without a TTY. */
export function mp(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 120_000): Run {
  const merged: Record<string, string> = {}
  for (const [k, v] of Object.entries({...process.env, NO_COLOR: '1', METALPLANE_BMC_PASSWORD: undefined, ...env})) if (v !== undefined) merged[k] = v
  const r = spawnSync(process.execPath, ['--import', 'tsx', `${repoRoot}/test/lab/bmc/run-src.ts`, ...args], {
    cwd: repoRoot,
    env: merged,
    input: '',
    encoding: 'utf8',
    timeout: timeoutMs,
  })
  const out: Run = {code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr}
  if (args.includes('--json')) {
    try {
      out.json = JSON.parse(r.stdout)
    } catch {
      out.json = undefined
    }
  }
  return out
}
