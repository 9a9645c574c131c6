/**
 * Mocha helper for tests on real SSH hosts: `withLab('my-suite', 3)` inside a `describe`
 * brings a lab up before the suite and removes it after (also when a test or `before` fails,
 * and on SIGINT/SIGTERM). Use a lab name unique to your test file.
 *
 *   describe('facts', function () {
 *     const lab = withLab('facts', 3)
 *     it('reads hostname', async () => {
 *       const r = await lab.ssh(lab.hosts[0], 'hostname')
 *       assert.equal(r.stdout.trim(), 'node1')
 *     })
 *   })
 */
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa, type Result} from 'execa'
import {labDown, labUp, type LabHostInfo, type LabInfo, type LabUpOptions} from '../../../src/lab/lab.js'

/** Stable across runs, so a run cleans up what a killed earlier run left. */
export const TEST_LAB_STATE_DIR = join(tmpdir(), 'metalplane-lab-tests')

export interface WithLabOptions extends Omit<LabUpOptions, 'name' | 'hosts'> {}

export interface LabHandle {
  readonly name: string
  readonly stateDir: string
  /** The lab (throws before `before` has run). */
  readonly info: LabInfo
  readonly hosts: LabHostInfo[]
  /** ssh options for a host: strict host-key checking against the lab's known_hosts, the lab key, no agent. */
  sshArgs(host: LabHostInfo, user?: string): string[]
  /** Runs `cmd` on a host with the system ssh client; never rejects (check exitCode). */
  ssh(host: LabHostInfo, cmd: string, opts?: {user?: string; input?: string; timeoutMs?: number}): Promise<Result>
}

const active = new Map<string, string>()
let signalsHooked = false

function hookSignals(): void {
  if (signalsHooked) return
  signalsHooked = true
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      void Promise.allSettled([...active].map(([name, dir]) => labDown(name, {stateDir: dir}))).finally(() => process.exit(130))
    })
  }
}

export function labSshArgs(info: LabInfo, host: LabHostInfo, user = info.user): string[] {
  return [
    '-o', 'BatchMode=yes',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'IdentityAgent=none',
    '-o', `UserKnownHostsFile=${info.knownHosts}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'ConnectTimeout=10',
    '-o', 'ControlMaster=no',
    '-o', 'ControlPath=none',
    '-i', info.keyFile,
    '-p', String(host.port),
    `${user}@${host.address}`,
  ]
}

export function withLab(name: string, nHosts = 3, opts: WithLabOptions = {}): LabHandle {
  const stateDir = opts.stateDir ?? TEST_LAB_STATE_DIR
  let lab: LabInfo | undefined
  const handle: LabHandle = {
    name,
    stateDir,
    get info(): LabInfo {
      if (!lab) throw new Error(`lab ${name} is not up (its before hook failed or has not run)`)
      return lab
    },
    get hosts(): LabHostInfo[] {
      return handle.info.hosts
    },
    sshArgs: (host, user) => labSshArgs(handle.info, host, user),
    ssh: (host, cmd, o = {}) =>
      execa('ssh', [...labSshArgs(handle.info, host, o.user), cmd], {reject: false, input: o.input, timeout: o.timeoutMs ?? 60_000}),
  }

  before(async function () {
    // the first run on a machine builds the host tree (about a minute)
    this.timeout(10 * 60_000)
    hookSignals()
    active.set(name, stateDir)
    await labDown(name, {stateDir}) // leftovers of a killed earlier run
    lab = await labUp({...opts, name, hosts: nHosts, stateDir})
  })

  after(async function () {
    this.timeout(120_000)
    lab = undefined
    await labDown(name, {stateDir})
    active.delete(name)
  })

  return handle
}
