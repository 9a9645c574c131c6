import {Command, Flags, Interfaces} from '@oclif/core'
import {ExitCode, InputError, MetalplaneError} from '../errors.js'
import {Logger, type LogLevel} from '../ui/log.js'
import {redact, redactDeep} from '../util/redact.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/**
 * Every metalplane command extends this. It owns the flags shared by all commands, the
 * --json contract (the value `run()` returns is what --json prints), redaction of secrets,
 * and the mapping from error classes to exit codes.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    'log-level': Flags.option({
      options: ['error', 'warn', 'info', 'debug'] as const,
      default: 'info' as const,
      helpGroup: 'GLOBAL',
      summary: 'How much to log on stderr.',
    })(),
    progress: Flags.boolean({
      allowNo: true,
      default: true,
      helpGroup: 'GLOBAL',
      summary: 'Show live progress on a terminal; --no-progress prints plain timestamped lines.',
    }),
  }

  protected flags!: BaseFlags<T>
  protected args!: BaseArgs<T>
  protected log_!: Logger

  public override async init(): Promise<void> {
    await super.init()
    const {args, flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    const level = (this.jsonEnabled() && flags['log-level'] === 'info' ? 'warn' : flags['log-level']) as LogLevel
    this.log_ = new Logger(level)
  }

  /** Whether a live (listr2) renderer may be used. */
  protected get liveProgress(): boolean {
    return Boolean(this.flags.progress && process.stderr.isTTY && !process.env.CI && !this.jsonEnabled())
  }

  /** The listr2 renderer for workflow progress: live on a terminal, plain timestamped lines otherwise, none with --json. */
  protected get renderer(): 'default' | 'simple' | 'silent' {
    if (this.jsonEnabled()) return 'silent'
    return this.liveProgress ? 'default' : 'simple'
  }

  protected override toSuccessJson(result: unknown): unknown {
    return redactDeep(result)
  }

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    // oclif's own exit (this.exit()) passes through untouched.
    if (err.oclif?.exit !== undefined && err.constructor.name === 'ExitError') throw err
    let exitCode: number = ExitCode.FAILURE
    let code = 'ERROR'
    let hint: string | undefined
    let issues: unknown
    if (err instanceof MetalplaneError) {
      exitCode = err.exitCode
      code = err.code
      hint = err.hint
      if (err instanceof InputError) issues = err.issues
    } else if (err.oclif?.exit !== undefined) {
      // Flag/argument parse errors from oclif are bad input.
      exitCode = err.oclif.exit === 2 ? ExitCode.BAD_INPUT : err.oclif.exit
      code = exitCode === ExitCode.BAD_INPUT ? 'BAD_INPUT' : 'ERROR'
    }
    const message = redact(err.message)
    if (this.jsonEnabled()) {
      this.logJson(redactDeep({error: {code, exitCode, message, hint, issues}}))
    } else {
      process.stderr.write(`Error: ${message}\n`)
      if (hint) process.stderr.write(`Hint: ${redact(hint)}\n`)
      if (process.env.METALPLANE_DEBUG && err.stack) process.stderr.write(redact(err.stack) + '\n')
    }
    this.exit(exitCode)
  }
}
