// A fake executor for unit tests of code that runs kubectl and shell commands on hosts.
import type {ExecOptions, ExecResult, Executor} from '../../../src/hosts/executor.js'

/** Records commands; answers with `reply`. */
export class RecordingExecutor implements Executor {
  calls: {cmd: string; input?: string}[] = []
  constructor(
    readonly name = 'c1',
    private readonly reply: (cmd: string) => Partial<ExecResult> = () => ({}),
  ) {}
  async exec(cmd: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.calls.push({cmd, input: opts.input === undefined ? undefined : String(opts.input)})
    const r = {stdout: '', stderr: '', code: 0, ...this.reply(cmd)} as ExecResult
    if (r.code !== 0 && !opts.allowFail) throw new Error(`${cmd}: exit ${r.code}`)
    return r
  }
  async upload(): Promise<void> {}
  async download(): Promise<Buffer | undefined> {
    return undefined
  }
  async close(): Promise<void> {}
}

