import {closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync, existsSync, renameSync} from 'node:fs'
import {dirname} from 'node:path'
import {randomUUID} from 'node:crypto'

export type JournalEvent =
  | {t: 'run-start'; run: string; workflow: string; specDigest: string; at: string}
  | {t: 'done'; run: string; phase: string; host: string; at: string}
  | {t: 'failed'; run: string; phase: string; host: string; error: string; at: string}
  | {t: 'run-end'; run: string; ok: boolean; at: string}

/**
 * Append-only journal of a workflow run (JSON lines, fsync'd per entry), so a run killed at
 * any point can resume: steps recorded as done in an unfinished run with the same spec are
 * skipped. A finished run closes the journal; the next run starts a fresh one.
 */
export class Journal {
  readonly run: string
  /** The run being resumed, when the previous run did not finish with the same spec. */
  readonly resumedFrom?: {run: string; at: string; done: number}
  private readonly done = new Set<string>()

  private constructor(
    readonly file: string,
    readonly workflow: string,
    specDigest: string,
    previous: JournalEvent[],
  ) {
    const start = [...previous].reverse().find((e) => e.t === 'run-start') as Extract<JournalEvent, {t: 'run-start'}> | undefined
    const ended = start && previous.some((e) => e.t === 'run-end' && e.run === start.run)
    if (start && !ended && start.specDigest === specDigest && start.workflow === workflow) {
      // Resume: keep the run id and its done steps.
      this.run = start.run
      for (const e of previous) if (e.t === 'done' && e.run === start.run) this.done.add(key(e.phase, e.host))
      this.resumedFrom = {run: start.run, at: start.at, done: this.done.size}
    } else {
      if (existsSync(file)) renameSync(file, file + '.prev')
      this.run = randomUUID()
      this.append({t: 'run-start', run: this.run, workflow, specDigest, at: now()})
    }
  }

  static open(file: string, workflow: string, specDigest: string): Journal {
    mkdirSync(dirname(file), {recursive: true})
    let previous: JournalEvent[] = []
    if (existsSync(file)) {
      previous = readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as JournalEvent]
          } catch {
            return [] // a line torn by a crash mid-write
          }
        })
    }
    return new Journal(file, workflow, specDigest, previous)
  }

  isDone(phase: string, host: string): boolean {
    return this.done.has(key(phase, host))
  }

  markDone(phase: string, host: string): void {
    this.done.add(key(phase, host))
    this.append({t: 'done', run: this.run, phase, host, at: now()})
  }

  markFailed(phase: string, host: string, error: string): void {
    this.append({t: 'failed', run: this.run, phase, host, error, at: now()})
  }

  finish(ok: boolean): void {
    this.append({t: 'run-end', run: this.run, ok, at: now()})
  }

  private append(e: JournalEvent): void {
    const fd = openSync(this.file, 'a', 0o600)
    try {
      writeSync(fd, JSON.stringify(e) + '\n')
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  }
}

function key(phase: string, host: string): string {
  return `${phase}\u0000${host}`
}
function now(): string {
  return new Date().toISOString()
}
