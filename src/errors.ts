/**
 * Exit codes are part of the CLI contract (documented in README "Exit codes").
 * Scripts rely on them, so they never change meaning.
 */
export const ExitCode = {
  OK: 0,
  /** A step failed on one or more hosts (or a command failed for a runtime reason). */
  FAILURE: 1,
  /** Bad input: flags, spec file, report. Nothing was changed. */
  BAD_INPUT: 2,
  /** Another run holds the cluster lock. */
  LOCKED: 3,
  /** An SSH host key was unknown or changed and was refused. */
  HOST_KEY: 4,
  /** A preflight check failed before any change was made. */
  PREFLIGHT: 5,
  /** A required tool or package is missing on this machine. */
  MISSING_DEPENDENCY: 6,
  /** Interrupted by a signal (Ctrl-C); a re-run resumes. */
  INTERRUPTED: 130,
} as const
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export class MetalplaneError extends Error {
  readonly exitCode: ExitCodeValue
  readonly code: string
  /** What the user can do about it; printed under the message. */
  readonly hint?: string
  constructor(message: string, opts: {exitCode?: ExitCodeValue; code?: string; hint?: string; cause?: unknown} = {}) {
    super(message, opts.cause === undefined ? undefined : {cause: opts.cause})
    this.name = new.target.name
    this.exitCode = opts.exitCode ?? ExitCode.FAILURE
    this.code = opts.code ?? 'METALPLANE_ERROR'
    this.hint = opts.hint
  }
}

export interface FieldIssue {
  /** Dotted path into the input, e.g. `hosts[2].address`. */
  path: string
  message: string
  /** Line in the input file, when known. */
  line?: number
}

/** Bad user input; lists every bad field so the user can fix them in one go. */
export class InputError extends MetalplaneError {
  readonly issues: FieldIssue[]
  constructor(message: string, issues: FieldIssue[] = [], hint?: string) {
    const detail = issues.length > 0 ? '\n' + issues.map((i) => `  - ${i.path}${i.line ? ` (line ${i.line})` : ''}: ${i.message}`).join('\n') : ''
    super(message + detail, {exitCode: ExitCode.BAD_INPUT, code: 'BAD_INPUT', hint})
    this.issues = issues
  }
}

export class MissingDependencyError extends MetalplaneError {
  constructor(tool: string, pkg: string, why: string) {
    super(`${tool} is not installed: ${why}`, {
      exitCode: ExitCode.MISSING_DEPENDENCY,
      code: 'MISSING_DEPENDENCY',
      hint: `Install it with: apt-get install -y ${pkg}`,
    })
  }
}

/** One or more hosts failed; each failure is kept so none is hidden. */
export class HostsFailedError extends MetalplaneError {
  readonly failures: {host: string; error: string}[]
  constructor(what: string, failures: {host: string; error: string}[], exitCode: ExitCodeValue = ExitCode.FAILURE, hint?: string) {
    super(
      `${what} failed on ${failures.length} host${failures.length === 1 ? '' : 's'}:\n` +
        failures.map((f) => `  - ${f.host}: ${f.error}`).join('\n'),
      {exitCode, code: 'HOSTS_FAILED', hint},
    )
    this.failures = failures
  }
}

/** An SSH host key was unknown, changed or revoked, and the connection was refused. */
export class HostKeyError extends MetalplaneError {
  readonly host: string
  readonly reason: 'unknown' | 'changed' | 'revoked'
  /** `SHA256:...` of the key the host presented. */
  readonly fingerprint: string
  constructor(opts: {host: string; reason: 'unknown' | 'changed' | 'revoked'; fingerprint: string; message: string; hint?: string}) {
    super(opts.message, {exitCode: ExitCode.HOST_KEY, code: 'HOST_KEY', hint: opts.hint})
    this.host = opts.host
    this.reason = opts.reason
    this.fingerprint = opts.fingerprint
  }
}
