import {spawn} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {closeSync, existsSync, openSync, readFileSync} from 'node:fs'
import {chmod, chown, mkdir, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {connect} from 'node:net'
import {join} from 'node:path'
import {execa} from 'execa'
import {stringify} from 'yaml'
import {InputError, MetalplaneError} from '../errors.js'
import {API_VERSION, ClusterSpec} from '../spec/schema.js'
import {silentLogger, type Logger} from '../ui/log.js'
import {writeFileAtomic} from '../util/fs.js'
import {stateDir} from '../util/paths.js'
import {ensureRootfs, LAB_USER} from './rootfs.js'
import {
  hostNetnsName,
  labDir,
  labMac,
  labNetnsName,
  labsRoot,
  LabStateWriter,
  readLabState,
  rootVethName,
  validateLabName,
  type LabHostState,
  type LabState,
} from './state.js'
import {requireRoot, requireTools, tool} from './tools.js'
import {mountsUnder} from '../util/mounts.js'

export const LAB_KUBERNETES_VERSION = '1.31.4'
export const DEFAULT_LAB_NAME = 'default'
export const DEFAULT_LAB_HOSTS = 3
export const MAX_LAB_HOSTS = 200

export interface LabUpOptions {
  /** Lab name (default `default`): a DNS label, part of every namespace name. */
  name?: string
  /** Number of SSH hosts (default 3). */
  hosts?: number
  /** `10.77.<k>.0/24`; by default k is derived from the name (the next free one on collision). */
  subnet?: string
  /** Base of the lab dir (`<stateDir>/labs/<name>`); defaults to stateDir(). */
  stateDir?: string
  /** Where the host tree is cached; defaults to cacheDir(). */
  cacheDir?: string
  /** Seconds to wait for every sshd (default 90, or 3 per host when more). */
  timeoutSeconds?: number
  log?: Logger
  /** Leave what was made in place when `up` fails (default: remove it, as `down` would). */
  keepOnFailure?: boolean
}

export interface LabHostInfo {
  name: string
  address: string
  port: number
  netns: string
  pid?: number
}

export interface LabInfo {
  name: string
  subnet: string
  /** This machine's address on the lab network. */
  gatewayAddress: string
  dir: string
  clusterYaml: string
  knownHosts: string
  keyFile: string
  user: string
  /** Non-root user on every host with passwordless sudo and the same key. */
  sudoUser: string
  hosts: LabHostInfo[]
  /** Milliseconds from start to every sshd answering. */
  elapsedMs: number
}

export interface LabHostStatus extends LabHostInfo {
  /** The host's systemd-nspawn process runs. */
  running: boolean
  /** sshd answers on address:port. */
  ssh: boolean
}

export interface LabStatus {
  name: string
  exists: boolean
  phase?: LabState['phase']
  subnet?: string
  dir: string
  clusterYaml?: string
  knownHosts?: string
  keyFile?: string
  hosts: LabHostStatus[]
}

export interface LabDownResult {
  name: string
  existed: boolean
  stopped: number[]
  unmounted: string[]
  removedNetns: string[]
  removedDir?: string
}

// ---------------------------------------------------------------- helpers

async function run(cmd: string, args: string[]): Promise<string> {
  const r = await execa(cmd, args, {reject: false, all: true})
  if (r.exitCode !== 0) throw new MetalplaneError(`${cmd} ${args.join(' ')} failed (exit ${r.exitCode}): ${String(r.all ?? '').trim()}`)
  return String(r.stdout ?? '')
}

async function ip(...args: string[]): Promise<string> {
  return run(await tool('ip'), args)
}

/** Runs several `ip` commands in one process (`ip -batch`), in a namespace if given; stops at the first failure. */
async function ipBatch(lines: string[], netns?: string): Promise<void> {
  if (lines.length === 0) return
  const args = [...(netns ? ['-n', netns] : []), '-batch', '-']
  const r = await execa(await tool('ip'), args, {reject: false, all: true, input: lines.join('\n') + '\n'})
  if (r.exitCode !== 0) throw new MetalplaneError(`ip ${args.join(' ')} failed (exit ${r.exitCode}): ${String(r.all ?? '').trim()}\n${lines.join('\n')}`)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Alive and not a zombie. */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
  } catch {
    return []
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Whether pid is a systemd-nspawn this lab started (guards against pid reuse). */
function isLabNspawn(pid: number, name: string): boolean {
  const argv = cmdline(pid)
  if (!argv[0]?.endsWith('systemd-nspawn')) return false
  const re = new RegExp(`^--network-namespace-path=/run/netns/${escapeRe(hostNetnsName(name, 0).replace(/0$/, ''))}\\d+$`)
  return argv.some((a) => re.test(a))
}

/** systemd-nspawn processes of this lab, found by their namespace argument (covers pids a crash kept from lab.json). */
async function findLabNspawns(name: string): Promise<number[]> {
  const out: number[] = []
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue
    const pid = Number(e)
    if (isLabNspawn(pid, name)) out.push(pid)
  }
  return out
}


async function listNetns(): Promise<string[]> {
  const out = await ip('netns', 'list')
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0])
    .filter(Boolean)
}

async function linkExists(name: string): Promise<boolean> {
  const r = await execa(await tool('ip'), ['link', 'show', 'dev', name], {reject: false})
  return r.exitCode === 0
}

/** TCP connect and read the SSH banner. */
export function sshAnswers(address: string, port = 22, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({host: address, port})
    let done = false
    const finish = (ok: boolean) => {
      if (done) return
      done = true
      clearTimeout(timer)
      sock.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    sock.once('data', (d: Buffer) => finish(d.toString('latin1').startsWith('SSH-')))
    sock.once('error', () => finish(false))
    sock.once('close', () => finish(false))
  })
}

function subnetFromK(k: number): string {
  return `10.77.${k}.0/24`
}

function parseLabSubnet(subnet: string): number {
  const m = /^10\.77\.(\d{1,3})\.0\/24$/.exec(subnet.trim())
  const k = m ? Number(m[1]) : Number.NaN
  if (!m || !(k >= 1 && k <= 254))
    throw new InputError('Invalid lab subnet', [{path: 'subnet', message: `"${subnet}" must be 10.77.<1-254>.0/24`}])
  return k
}

/** Subnets in use by other labs on this machine or by this machine's addresses. */
async function usedSubnets(name: string, base: string): Promise<Map<number, string>> {
  const used = new Map<number, string>()
  const root = labsRoot(base)
  if (existsSync(root)) {
    for (const other of await readdir(root)) {
      if (other === name) continue
      const s = await readLabState(join(root, other))
      const k = s?.subnet ? /^10\.77\.(\d+)\.0\/24$/.exec(s.subnet)?.[1] : undefined
      if (k) used.set(Number(k), `lab "${other}"`)
    }
  }
  const addrs = await ip('-4', '-o', 'addr', 'show')
  for (const m of addrs.matchAll(/^\d+:\s+(\S+)\s+inet 10\.77\.(\d+)\./gm)) {
    if (!used.has(Number(m[2]))) used.set(Number(m[2]), `interface ${m[1].replace(/@.*/, '')}`)
  }
  return used
}

async function pickSubnet(name: string, base: string, explicit?: string): Promise<number> {
  const used = await usedSubnets(name, base)
  if (explicit) {
    const k = parseLabSubnet(explicit)
    const by = used.get(k)
    if (by) throw new InputError('Lab subnet in use', [{path: 'subnet', message: `${explicit} is already used by ${by}`}], 'Pick another --subnet 10.77.<k>.0/24.')
    return k
  }
  const start = 1 + (createHash('sha256').update(name).digest().readUInt16BE(0) % 254)
  for (let j = 0; j < 254; j++) {
    const k = 1 + ((start - 1 + j) % 254)
    if (!used.has(k)) return k
  }
  throw new MetalplaneError('no free 10.77.<k>.0/24 subnet for the lab', {hint: 'Remove labs with `metalplane lab down --name <name>`.'})
}

async function tail(file: string, lines = 20): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split('\n').slice(-lines).join('\n')
  } catch {
    return ''
  }
}

function passwdEntry(passwd: string, user: string): {uid: number; gid: number; home: string} | undefined {
  for (const line of passwd.split('\n')) {
    const f = line.split(':')
    if (f[0] === user) return {uid: Number(f[2]), gid: Number(f[3]), home: f[5]}
  }
  return undefined
}

// ---------------------------------------------------------------- up

async function setUpHost(w: LabStateWriter, h: LabHostState, ctx: {rootfs: string; pubKey: string; hostsFile: string; log: Logger}): Promise<void> {
  const s = w.state
  // network (eth0 already moved here by setUpNetwork)
  await ipBatch(['link set lo up', `addr add ${h.address}/24 dev eth0`, 'link set eth0 up', `route add default via ${s.bridgeAddress}`], h.netns)

  // filesystem: overlay over the shared tree
  const upper = join(h.dir, 'upper')
  const work = join(h.dir, 'work')
  for (const d of [upper, work, h.merged]) await mkdir(d, {recursive: true})
  await w.update((st) => st.mounts.push(h.merged))
  await run(await tool('mount'), ['-t', 'overlay', 'overlay', '-o', `lowerdir=${ctx.rootfs},upperdir=${upper},workdir=${work}`, h.merged])

  // per-host identity: host key, hostname, machine-id, authorized keys
  const m = h.merged
  const keyFile = join(m, 'etc/ssh/ssh_host_ed25519_key')
  await run(await tool('ssh-keygen'), ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${h.name}`, '-f', keyFile])
  await writeFile(join(m, 'etc/hostname'), `${h.name}\n`)
  await writeFile(join(m, 'etc/hosts'), ctx.hostsFile)
  await writeFile(join(m, 'etc/machine-id'), randomBytes(16).toString('hex') + '\n')
  // No DNS on the lab network: lookups fail at once instead of timing out; names are in /etc/hosts.
  await rm(join(m, 'etc/resolv.conf'), {force: true})
  await writeFile(join(m, 'etc/resolv.conf'), '# lab host: no DNS server; lab hosts are in /etc/hosts\n')
  await mkdir(join(m, 'root/.ssh'), {recursive: true, mode: 0o700})
  await chmod(join(m, 'root/.ssh'), 0o700)
  await writeFile(join(m, 'root/.ssh/authorized_keys'), ctx.pubKey, {mode: 0o600})
  const user = passwdEntry(await readFile(join(m, 'etc/passwd'), 'utf8'), LAB_USER)
  if (user) {
    const sshDir = join(m, user.home.replace(/^\//, ''), '.ssh')
    await mkdir(sshDir, {recursive: true, mode: 0o700})
    await chmod(sshDir, 0o700)
    await writeFile(join(sshDir, 'authorized_keys'), ctx.pubKey, {mode: 0o600})
    await chown(sshDir, user.uid, user.gid)
    await chown(join(sshDir, 'authorized_keys'), user.uid, user.gid)
  }
  const pub = (await readFile(`${keyFile}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ')
  await w.update(() => {
    h.hostKey = pub
  })

  // boot: detached systemd-nspawn that outlives this process
  const nspawn = await tool('systemd-nspawn')
  const fd = openSync(h.log, 'a', 0o600)
  let pid: number | undefined
  try {
    const child = spawn(
      nspawn,
      [
        '--boot',
        '--register=no',
        '--keep-unit',
        `--network-namespace-path=/run/netns/${h.netns}`,
        // The host's network namespace is its own, created by the lab for it alone: these
        // capabilities let the host change only its own interfaces, addresses and routes (as
        // kube-vip must, to hold the control-plane VIP), never this machine's.
        '--capability=CAP_NET_ADMIN,CAP_NET_RAW',
        `--directory=${h.merged}`,
        `--machine=${h.netns}`,
        `--hostname=${h.name}`,
        '--link-journal=no',
        '--resolv-conf=off',
        '--timezone=off',
        '--console=read-only',
      ],
      {detached: true, stdio: ['ignore', fd, fd], env: {PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', SYSTEMD_LOG_COLOR: '0'}},
    )
    pid = child.pid
    child.on('error', () => {})
    child.unref()
  } finally {
    closeSync(fd)
  }
  if (!pid) throw new MetalplaneError(`could not start systemd-nspawn for lab host ${h.name}`, {hint: `See ${h.log}.`})
  await w.update((st) => {
    h.pid = pid
    st.pids.push({host: h.name, pid: pid!})
  })
  ctx.log.debug(`lab ${s.name}: ${h.name} booting (pid ${pid}, ${h.address})`)
}

/**
 * The lab network: bridge br0 in mpl-<name>, uplinked to this machine by a veth, and one
 * namespace per host with a veth to the bridge; fixed MACs so no stale neighbour entry survives
 * a re-created lab. Each name is in lab.json before it is created.
 */
async function setUpNetwork(w: LabStateWriter): Promise<void> {
  const s = w.state
  const name = s.name
  await w.update((st) => st.netns.push(st.labNetns))
  await ip('netns', 'add', s.labNetns)
  await ipBatch(['link set lo up', `link add br0 address ${labMac(name, 0, 'bridge')} type bridge`, `addr add ${s.bridgeAddress}/24 dev br0`, 'link set br0 up'], s.labNetns)
  await w.update((st) => st.veths.push(st.rootVeth))
  await ip('link', 'add', s.rootVeth, 'address', labMac(name, 0, 'root'), 'type', 'veth', 'peer', 'name', 'uplink', 'address', labMac(name, 0, 'uplink'), 'netns', s.labNetns)
  await ipBatch(['link set uplink master br0 up'], s.labNetns)
  await ipBatch([`addr add ${s.gatewayAddress}/24 dev ${s.rootVeth}`, `link set ${s.rootVeth} up`, `neigh flush dev ${s.rootVeth}`])
  // a lab started at the same moment may have picked the same subnet
  const others = (await ip('-4', '-o', 'addr', 'show'))
    .split('\n')
    .filter((l) => l.includes(` inet ${s.prefix}.`) && l.split(/\s+/)[1]?.replace(/@.*/, '') !== s.rootVeth)
  if (others.length > 0)
    throw new MetalplaneError(`subnet ${s.subnet} is also in use on this machine: ${others[0].split(/\s+/)[1]}`, {hint: 'Run lab up again, or pass another --subnet 10.77.<k>.0/24.'})

  await w.update((st) => st.netns.push(...st.hosts.map((h) => h.netns)))
  await ipBatch(s.hosts.map((h) => `netns add ${h.netns}`))
  await ipBatch(
    s.hosts.flatMap((h) => [
      `link add h${h.index} address ${labMac(name, h.index, 'bridge-port')} type veth peer name eth0 address ${h.mac} netns ${h.netns}`,
      `link set h${h.index} master br0 up`,
    ]),
    s.labNetns,
  )
}

async function waitForSsh(h: LabHostState, deadline: number): Promise<void> {
  for (;;) {
    if (await sshAnswers(h.address, 22, 500)) return
    if (h.pid && !pidAlive(h.pid))
      throw new MetalplaneError(`lab host ${h.name} (${h.address}) stopped while booting:\n${await tail(h.log)}`, {hint: `Full log: ${h.log}`})
    if (Date.now() > deadline)
      throw new MetalplaneError(`sshd on lab host ${h.name} (${h.address}) did not answer in time:\n${await tail(h.log)}`, {hint: `Full log: ${h.log}`})
    await sleep(50)
  }
}

function clusterDocument(s: LabState): unknown {
  return {
    apiVersion: API_VERSION,
    kind: 'Cluster',
    metadata: {name: s.name},
    spec: {
      kubernetes: {version: LAB_KUBERNETES_VERSION},
      ssh: {knownHosts: s.knownHosts},
      hosts: s.hosts.map((h, i) => ({
        name: h.name,
        address: h.address,
        port: 22,
        user: 'root',
        keyFile: s.keyFile,
        role: i === 0 ? 'controller' : 'worker',
      })),
    },
  }
}

function info(s: LabState, elapsedMs: number): LabInfo {
  return {
    name: s.name,
    subnet: s.subnet,
    gatewayAddress: s.gatewayAddress,
    dir: s.dir,
    clusterYaml: s.clusterYaml,
    knownHosts: s.knownHosts,
    keyFile: s.keyFile,
    user: 'root',
    sudoUser: LAB_USER,
    hosts: s.hosts.map((h) => ({name: h.name, address: h.address, port: 22, netns: h.netns, pid: h.pid})),
    elapsedMs,
  }
}

/**
 * Brings up a lab: a bridge in namespace `mpl-<name>` reachable from this machine at
 * 10.77.<k>.254, and N booted systemd-nspawn hosts (10.77.<k>.11…) each in its own namespace,
 * on an overlay over one cached Debian tree, with its own SSH host key. Writes cluster.yaml,
 * known_hosts and the lab key into the lab dir; returns once every sshd answers.
 */
export async function labUp(opts: LabUpOptions = {}): Promise<LabInfo> {
  const name = opts.name ?? DEFAULT_LAB_NAME
  const nHosts = opts.hosts ?? DEFAULT_LAB_HOSTS
  const log = opts.log ?? silentLogger
  const base = opts.stateDir ?? stateDir()
  validateLabName(name)
  if (!Number.isInteger(nHosts) || nHosts < 1 || nHosts > MAX_LAB_HOSTS)
    throw new InputError('Invalid number of lab hosts', [{path: 'hosts', message: `${nHosts} must be an integer from 1 to ${MAX_LAB_HOSTS}`}])
  if (opts.subnet) parseLabSubnet(opts.subnet)
  requireRoot('lab up')
  await requireTools(['ip', 'systemd-nspawn', 'ssh-keygen', 'mount', 'umount'])

  const dir = labDir(name, base)
  const existing = await readLabState(dir)
  if (existing || (await listNetns()).includes(labNetnsName(name)))
    throw new MetalplaneError(`lab "${name}" already exists (${dir})`, {hint: `Remove it first: metalplane lab down --name ${name}`})

  const rootfs = await ensureRootfs({cacheDir: opts.cacheDir, log})
  const started = Date.now()
  const k = await pickSubnet(name, base, opts.subnet)
  const prefix = `10.77.${k}`
  await mkdir(dir, {recursive: true, mode: 0o700})
  const state: LabState = {
    version: 1,
    name,
    subnet: subnetFromK(k),
    prefix,
    bridgeAddress: `${prefix}.1`,
    gatewayAddress: `${prefix}.254`,
    labNetns: labNetnsName(name),
    rootVeth: rootVethName(name),
    dir,
    keyFile: join(dir, 'id_ed25519'),
    knownHosts: join(dir, 'known_hosts'),
    clusterYaml: join(dir, 'cluster.yaml'),
    rootfs,
    phase: 'creating',
    createdAt: new Date().toISOString(),
    netns: [],
    veths: [],
    mounts: [],
    pids: [],
    dirs: [dir],
    hosts: [],
  }
  for (let i = 1; i <= nHosts; i++) {
    const hostName = `node${i}`
    const hdir = join(dir, 'hosts', hostName)
    state.hosts.push({
      index: i,
      name: hostName,
      address: `${prefix}.${10 + i}`,
      netns: hostNetnsName(name, i),
      mac: labMac(name, i, 'host'),
      dir: hdir,
      merged: join(hdir, 'merged'),
      log: join(dir, `${hostName}.log`),
    })
  }
  const w = new LabStateWriter(state)
  await w.save()

  try {
    if (await linkExists(state.rootVeth))
      throw new MetalplaneError(`interface ${state.rootVeth} already exists on this machine`, {hint: `Remove the lab that owns it, or pick another lab name.`})
    // lab key pair
    await run(await tool('ssh-keygen'), ['-q', '-t', 'ed25519', '-N', '', '-C', `metalplane-lab-${name}`, '-f', state.keyFile])
    await chmod(state.keyFile, 0o600)
    const pubKey = await readFile(`${state.keyFile}.pub`, 'utf8')

    await setUpNetwork(w)

    const hostsFile =
      '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' + state.hosts.map((h) => `${h.address}\t${h.name}\n`).join('')
    await Promise.all(state.hosts.map((h) => setUpHost(w, h, {rootfs, pubKey, hostsFile, log})))

    const knownHosts = state.hosts.map((h) => `${h.address} ${h.hostKey}\n`).join('')
    await writeFileAtomic(state.knownHosts, knownHosts, 0o644)
    const doc = clusterDocument(state)
    const parsed = ClusterSpec.safeParse(doc)
    if (!parsed.success) throw new MetalplaneError(`generated lab cluster spec is invalid: ${parsed.error.message}`)
    await writeFileAtomic(state.clusterYaml, stringify(doc), 0o644)

    const deadline = Date.now() + (opts.timeoutSeconds ?? Math.max(90, 3 * nHosts)) * 1000
    await Promise.all(state.hosts.map((h) => waitForSsh(h, deadline)))
    await w.update((st) => {
      st.phase = 'up'
    })
    const elapsed = Date.now() - started
    log.info(`Lab ${name} up: ${nHosts} host${nHosts === 1 ? '' : 's'} on ${state.subnet} in ${(elapsed / 1000).toFixed(1)} s`)
    return info(state, elapsed)
  } catch (error) {
    await w.update((st) => {
      st.phase = 'failed'
    }).catch(() => {})
    if (!opts.keepOnFailure) {
      log.warn(`lab up failed; removing what it made`)
      await labDown(name, {stateDir: base, log}).catch((e: unknown) => log.warn(`cleanup after failed lab up: ${(e as Error).message}`))
    }
    throw error
  }
}

// ---------------------------------------------------------------- down

async function waitGone(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms
  let left = pids.filter(pidAlive)
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50)
    left = left.filter(pidAlive)
  }
  return left
}

async function netnsPids(ns: string): Promise<number[]> {
  const r = await execa(await tool('ip'), ['netns', 'pids', ns], {reject: false})
  if (r.exitCode !== 0) return []
  return String(r.stdout)
    .split('\n')
    .filter((l) => /^\d+$/.test(l.trim()))
    .map(Number)
}

/**
 * Removes a lab and everything `lab up` made for it: stops each host's nspawn by its pid
 * (SIGTERM, then SIGKILL), unmounts the overlays, deletes namespaces and veths, removes the
 * lab dir. Works from a partial lab.json (a crashed `up`); a lab that does not exist is a no-op.
 */
export async function labDown(name: string = DEFAULT_LAB_NAME, opts: {stateDir?: string; log?: Logger} = {}): Promise<LabDownResult> {
  validateLabName(name)
  const log = opts.log ?? silentLogger
  const dir = labDir(name, opts.stateDir ?? stateDir())
  const result: LabDownResult = {name, existed: false, stopped: [], unmounted: [], removedNetns: []}
  const state = await readLabState(dir)
  const nsRe = new RegExp(`^${escapeRe(labNetnsName(name))}(-h\\d+)?$`)
  const hasNs = existsSync('/run/netns') ? (await readdir('/run/netns')).some((n) => nsRe.test(n)) : false
  const found = await findLabNspawns(name)
  if (!state && !existsSync(dir) && !hasNs && found.length === 0) return result
  result.existed = true
  requireRoot('lab down')
  await requireTools(['ip', 'umount'])

  // 1. processes, by pid
  const pids = new Set<number>(found)
  for (const p of state?.pids ?? []) if (isLabNspawn(p.pid, name)) pids.add(p.pid)
  const all = [...pids]
  for (const pid of all) {
    try {
      process.kill(pid, 'SIGTERM')
    } catch {
      // already gone
    }
  }
  // A machine still early in boot may miss the first request (its init has no handler yet): repeat it.
  let left = all.filter(pidAlive)
  for (let i = 0; i < 15 && left.length > 0; i++) {
    left = await waitGone(left, 1_000)
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGTERM')
      } catch {
        // gone
      }
    }
  }
  for (const pid of left) {
    log.warn(`lab ${name}: nspawn ${pid} ignored SIGTERM; killing it`)
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone
    }
  }
  left = await waitGone(left, 5_000)
  result.stopped = all
  // what is left inside the hosts' namespaces (a container init orphaned by a SIGKILLed nspawn)
  const namespaces = new Set<string>([...(state?.netns ?? [])])
  if (existsSync('/run/netns')) for (const n of await readdir('/run/netns')) if (nsRe.test(n)) namespaces.add(n)
  const hostNs = [...namespaces].filter((n) => n !== labNetnsName(name))
  const stragglers: number[] = []
  for (const ns of hostNs) stragglers.push(...(await netnsPids(ns)))
  for (const pid of stragglers) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone
    }
  }
  if ((await waitGone([...left, ...stragglers], 5_000)).length > 0)
    throw new MetalplaneError(`lab ${name}: processes ${[...left, ...stragglers].filter(pidAlive).join(', ')} do not stop`)

  // 2. mounts
  const umount = await tool('umount')
  const mounts = new Set<string>([...(state?.mounts ?? []), ...(await mountsUnder(dir))])
  const current = new Set((await readFile('/proc/mounts', 'utf8')).split('\n').map((l) => l.split(' ')[1]))
  for (const m of [...mounts].sort((a, b) => b.length - a.length)) {
    if (!current.has(m)) continue
    let r = await execa(umount, [m], {reject: false, all: true})
    for (let i = 0; r.exitCode !== 0 && i < 20; i++) {
      await sleep(100)
      r = await execa(umount, [m], {reject: false, all: true})
    }
    if (r.exitCode !== 0) {
      log.warn(`lab ${name}: ${m} busy (${String(r.all).trim()}); detaching it`)
      await run(umount, ['-l', m])
    }
    result.unmounted.push(m)
  }

  // 3. namespaces (their veths go with them) and the root-side veth
  const order = [...hostNs, ...[...namespaces].filter((n) => n === labNetnsName(name))]
  const present = existsSync('/run/netns') ? new Set(await readdir('/run/netns')) : new Set<string>()
  for (const ns of order) {
    if (!present.has(ns)) continue
    await ip('netns', 'del', ns)
    result.removedNetns.push(ns)
  }
  for (const v of new Set([...(state?.veths ?? []), rootVethName(name)])) {
    if (await linkExists(v)) {
      // only a veth that carries a lab address is ours
      const addrs = String((await execa(await tool('ip'), ['-4', '-o', 'addr', 'show', 'dev', v], {reject: false})).stdout ?? '')
      if (state?.veths.includes(v) || /inet 10\.77\./.test(addrs)) {
        // deleting the lab namespace removes its peer, and with it this end, asynchronously
        const r = await execa(await tool('ip'), ['link', 'del', v], {reject: false, all: true})
        if (r.exitCode !== 0 && (await linkExists(v))) throw new MetalplaneError(`ip link del ${v} failed: ${String(r.all).trim()}`)
      }
    }
  }

  // 4. the lab dir, once nothing is mounted in it
  if (existsSync(dir)) {
    const still = await mountsUnder(dir)
    if (still.length > 0) throw new MetalplaneError(`lab ${name}: ${still.join(', ')} still mounted; not removing ${dir}`)
    await execa('rm', ['-rf', '--one-file-system', dir])
    result.removedDir = dir
  }
  log.info(`Lab ${name} removed`)
  return result
}

// ---------------------------------------------------------------- status

/** State of a lab and of each host: nspawn running, sshd answering. */
export async function labStatus(name: string = DEFAULT_LAB_NAME, opts: {stateDir?: string} = {}): Promise<LabStatus> {
  validateLabName(name)
  const dir = labDir(name, opts.stateDir ?? stateDir())
  const s = await readLabState(dir)
  if (!s) return {name, exists: false, dir, hosts: []}
  const hosts = await Promise.all(
    s.hosts.map(async (h) => ({
      name: h.name,
      address: h.address,
      port: 22,
      netns: h.netns,
      pid: h.pid,
      running: h.pid !== undefined && pidAlive(h.pid) && isLabNspawn(h.pid, name),
      ssh: await sshAnswers(h.address, 22, 1000),
    })),
  )
  return {
    name,
    exists: true,
    phase: s.phase,
    subnet: s.subnet,
    dir,
    clusterYaml: existsSync(s.clusterYaml) ? s.clusterYaml : undefined,
    knownHosts: existsSync(s.knownHosts) ? s.knownHosts : undefined,
    keyFile: existsSync(s.keyFile) ? s.keyFile : undefined,
    hosts,
  }
}
