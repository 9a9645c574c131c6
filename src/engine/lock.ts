import {mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync} from 'node:fs'
import {hostname, userInfo} from 'node:os'
import {dirname} from 'node:path'
import {ExitCode, MetalplaneError} from '../errors.js'

export interface LockHolder {
  pid: number
  host: string
  user: string
  command: string
  since: string
}

export class LockedError extends MetalplaneError {
  constructor(
    readonly cluster: string,
    readonly holder: LockHolder,
  ) {
    super(
      `cluster "${cluster}" is locked by another run: pid ${holder.pid} on ${holder.host} (user ${holder.user}), "${holder.command}", since ${holder.since}`,
      {exitCode: ExitCode.LOCKED, code: 'LOCKED', hint: 'Wait for that run to finish. If it is gone for good, remove the lock with `metalplane cluster unlock`.'},
    )
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * A per-cluster lock file created with O_EXCL. A lock whose holder process is gone (same
 * machine) is stale and taken over; one held by a live process is refused with who holds it.
 */
export class ClusterLock {
  private constructor(
    readonly file: string,
    readonly takenOver?: LockHolder,
  ) {}

  static acquire(file: string, cluster: string, command: string): ClusterLock {
    mkdirSync(dirname(file), {recursive: true})
    const me: LockHolder = {pid: process.pid, host: hostname(), user: userInfo().username, command, since: new Date().toISOString()}
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, 'wx', 0o600)
        writeSync(fd, JSON.stringify(me))
        closeSync(fd)
        return new ClusterLock(file)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
        let holder: LockHolder | undefined
        try {
          holder = JSON.parse(readFileSync(file, 'utf8')) as LockHolder
        } catch {
          holder = undefined // torn or empty: treat as stale
        }
        if (holder && (holder.host !== hostname() || alive(holder.pid))) throw new LockedError(cluster, holder)
        rmSync(file, {force: true})
        if (attempt === 1) throw new LockedError(cluster, holder ?? me)
      }
    }
    throw new Error('unreachable')
  }

  static holder(file: string): LockHolder | undefined {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as LockHolder
    } catch {
      return undefined
    }
  }

  static forceRemove(file: string): void {
    rmSync(file, {force: true})
  }

  release(): void {
    rmSync(this.file, {force: true})
  }
}
