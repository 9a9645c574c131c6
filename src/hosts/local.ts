import {mkdir, readFile, rename, writeFile, chmod} from 'node:fs/promises'
import {dirname} from 'node:path'
import {execa} from 'execa'
import {CommandFailedError, type ExecOptions, type ExecResult, type Executor, type UploadOptions} from './executor.js'

/** Runs commands on this machine through /bin/sh (used for tests and for `localhost` hosts). */
export class LocalExecutor implements Executor {
  constructor(readonly name = 'localhost') {}

  async exec(cmd: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const child = execa('/bin/sh', ['-c', cmd], {
      reject: false,
      input: opts.input,
      timeout: opts.timeoutMs,
      stripFinalNewline: false,
      buffer: true,
    })
    if (opts.onStdout) child.stdout?.on('data', (d: Buffer) => opts.onStdout!(d.toString()))
    if (opts.onStderr) child.stderr?.on('data', (d: Buffer) => opts.onStderr!(d.toString()))
    const r = await child
    const result: ExecResult = {
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
      code: r.timedOut || r.exitCode === undefined ? null : r.exitCode,
      signal: r.timedOut ? 'timeout' : r.signal ?? undefined,
    }
    if (result.code !== 0 && !opts.allowFail) throw new CommandFailedError(this.name, cmd, result, opts.secret)
    return result
  }

  async upload(content: string | Buffer, remotePath: string, opts: UploadOptions = {}): Promise<void> {
    await mkdir(dirname(remotePath), {recursive: true})
    const tmp = `${remotePath}.metalplane-tmp`
    await writeFile(tmp, content, {mode: opts.mode ?? 0o644})
    await chmod(tmp, opts.mode ?? 0o644)
    await rename(tmp, remotePath)
  }

  async download(remotePath: string): Promise<Buffer | undefined> {
    try {
      return await readFile(remotePath)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  }

  async close(): Promise<void> {}
}
