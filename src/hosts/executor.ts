import {MetalplaneError} from '../errors.js'

export interface ExecResult {
  stdout: string
  stderr: string
  /** Exit code; null when killed by a signal or timed out. */
  code: number | null
  signal?: string
}

export interface ExecOptions {
  /** Run through sudo when the login user is not root. */
  sudo?: boolean
  /** Kill the command after this long (ms). */
  timeoutMs?: number
  /** Data for stdin. */
  input?: string | Buffer
  /** Return a non-zero result instead of throwing. */
  allowFail?: boolean
  onStdout?: (chunk: string) => void
  onStderr?: (chunk: string) => void
  /** The command line carries a secret: never put it in errors or logs. */
  secret?: boolean
}

export interface UploadOptions {
  mode?: number
  /** Write as root (through sudo) when the login user is not root. */
  sudo?: boolean
}

/**
 * One transport to one machine. SSH and local executors implement it so phases can run
 * against either. stderr is not failure: the exit code is.
 */
export interface Executor {
  /** Log prefix: the host name. */
  readonly name: string
  exec(cmd: string, opts?: ExecOptions): Promise<ExecResult>
  /** Write a file atomically (temp file + rename) with the given mode. */
  upload(content: string | Buffer, remotePath: string, opts?: UploadOptions): Promise<void>
  /** Read a remote file; undefined when it does not exist. */
  download(remotePath: string, opts?: {sudo?: boolean}): Promise<Buffer | undefined>
  close(): Promise<void>
}

export class CommandFailedError extends MetalplaneError {
  constructor(
    readonly host: string,
    readonly command: string,
    readonly result: ExecResult,
    secret = false,
  ) {
    const shown = secret ? '(command hidden: it carries a secret)' : command.length > 200 ? command.slice(0, 200) + '…' : command
    const why = result.code === null ? `killed (${result.signal ?? 'timeout'})` : `exit code ${result.code}`
    const tail = (result.stderr || result.stdout).trim().split('\n').slice(-5).join('\n    ')
    super(`${shown}: ${why}${tail ? `\n    ${tail}` : ''}`, {code: 'COMMAND_FAILED'})
  }
}

/** Quote a string for a POSIX shell. */
export function shq(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s
  return `'${s.replace(/'/g, `'\\''`)}'`
}
