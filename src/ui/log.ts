import {redact} from '../util/redact.js'

export type LogLevel = 'error' | 'warn' | 'info' | 'debug'
const order: Record<LogLevel, number> = {error: 0, warn: 1, info: 2, debug: 3}

/**
 * Plain, timestamped, redacted log lines on stderr. stdout is kept for results
 * (tables, --json) so scripts can pipe it.
 */
export class Logger {
  constructor(
    public level: LogLevel = 'info',
    private readonly sink: (line: string) => void = (l) => process.stderr.write(l + '\n'),
    private readonly timestamps = true,
  ) {}

  private emit(level: LogLevel, msg: string): void {
    if (order[level] > order[this.level]) return
    const ts = this.timestamps ? new Date().toISOString() + ' ' : ''
    const tag = level === 'info' ? '' : level.toUpperCase() + ' '
    for (const line of redact(msg).split('\n')) this.sink(`${ts}${tag}${line}`)
  }

  error(msg: string): void { this.emit('error', msg) }
  warn(msg: string): void { this.emit('warn', msg) }
  info(msg: string): void { this.emit('info', msg) }
  debug(msg: string): void { this.emit('debug', msg) }
}

/** A logger that drops everything (library default, --json mode). */
export const silentLogger = new Logger('error', () => {})
