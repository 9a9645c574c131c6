import {createHash} from 'node:crypto'
import {existsSync} from 'node:fs'
import {chmod, mkdir, readdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {execa} from 'execa'
import {MetalplaneError} from '../errors.js'
import {silentLogger, type Logger} from '../ui/log.js'
import {cacheDir} from '../util/paths.js'
import {tool} from './tools.js'
import {mountsUnder} from '../util/mounts.js'

export const ROOTFS_SUITE = 'bookworm'

/** Packages of the lab host tree on top of debootstrap's minbase. */
export const ROOTFS_PACKAGES = [
  'openssh-server',
  'systemd',
  'systemd-sysv',
  'dbus',
  'iproute2',
  'sudo',
  'python3',
  'ca-certificates',
  'kmod',
  'procps',
  'util-linux',
  'e2fsprogs',
  'xfsprogs',
  'parted',
  'gdisk',
] as const

/** Bump when the customisation below changes, so cached trees are rebuilt. */
const CUSTOMISATION_VERSION = 1
const STAMP = '.metalplane-rootfs.json'

export const LAB_USER = 'metal'

function stampValue(): string {
  return createHash('sha256')
    .update(JSON.stringify({suite: ROOTFS_SUITE, packages: [...ROOTFS_PACKAGES].sort(), v: CUSTOMISATION_VERSION}))
    .digest('hex')
}

export function rootfsDir(base = cacheDir()): string {
  return join(base, 'lab', `rootfs-${ROOTFS_SUITE}`)
}

/**
 * The Debian mirror apt uses on this machine (deb822 .sources or one-line sources.list),
 * for the suite the lab hosts run; the lab never names a mirror of its own.
 */
export async function aptMirror(suite = ROOTFS_SUITE, etcApt = '/etc/apt'): Promise<string> {
  const candidates: string[] = []
  const files: string[] = []
  if (existsSync(join(etcApt, 'sources.list'))) files.push(join(etcApt, 'sources.list'))
  const dDir = join(etcApt, 'sources.list.d')
  if (existsSync(dDir)) for (const f of (await readdir(dDir)).sort()) if (/\.(list|sources)$/.test(f)) files.push(join(dDir, f))
  for (const f of files) {
    const text = await readFile(f, 'utf8')
    if (f.endsWith('.sources')) {
      for (const para of text.split(/\n\s*\n/)) {
        const fields = new Map<string, string>()
        for (const line of para.split('\n')) {
          if (/^\s*#/.test(line)) continue
          const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line)
          if (m) fields.set(m[1].toLowerCase(), m[2].trim())
        }
        if (fields.get('enabled')?.toLowerCase() === 'no') continue
        if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue
        const suites = (fields.get('suites') ?? '').split(/\s+/)
        if (!suites.includes(suite)) continue
        candidates.push(...(fields.get('uris') ?? '').split(/\s+/).filter(Boolean))
      }
    } else {
      for (const raw of text.split('\n')) {
        const line = raw.replace(/#.*/, '').trim()
        const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line)
        if (m && m[2] === suite) candidates.push(m[1])
      }
    }
  }
  const uri = candidates.find((u) => /^https?:\/\//.test(u))
  if (!uri)
    throw new MetalplaneError(`no Debian mirror for "${suite}" found in ${etcApt}/sources.list or ${etcApt}/sources.list.d/`, {
      hint: `Add a "deb <mirror> ${suite} main" source to apt; the lab builds its host tree from the mirror apt uses.`,
    })
  return uri.replace(/\/+$/, '')
}


/** Removes a tree that may still have mounts in it (a debootstrap killed mid-way mounts /proc and /sys). */
async function removeTree(dir: string): Promise<void> {
  const umount = await tool('umount')
  for (const m of await mountsUnder(dir)) await execa(umount, ['-l', m], {reject: false})
  if ((await mountsUnder(dir)).length > 0) throw new MetalplaneError(`cannot remove ${dir}: still mounted`)
  await execa('rm', ['-rf', '--one-file-system', dir])
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Removes build leftovers of processes that no longer run. */
async function removeStaleBuilds(parent: string, name: string): Promise<void> {
  if (!existsSync(parent)) return
  for (const e of await readdir(parent)) {
    const m = new RegExp(`^${name}\\.tmp-(\\d+)-`).exec(e)
    if (m && !pidAlive(Number(m[1]))) await removeTree(join(parent, e))
  }
}

async function chroot(root: string, args: string[]): Promise<void> {
  await execa('chroot', [root, ...args], {env: {PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C'}})
}

/** Shared customisation of the tree; per-host files (keys, hostname, machine-id) go into each overlay. */
async function customise(root: string): Promise<void> {
  // Every host generates its own host key; a shared one would defeat host-key checks.
  for (const f of await readdir(join(root, 'etc/ssh'))) if (f.startsWith('ssh_host_')) await rm(join(root, 'etc/ssh', f))
  await mkdir(join(root, 'etc/ssh/sshd_config.d'), {recursive: true})
  await writeFile(
    join(root, 'etc/ssh/sshd_config.d/metalplane-lab.conf'),
    'HostKey /etc/ssh/ssh_host_ed25519_key\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUseDNS no\n',
  )
  await chroot(root, ['useradd', '--create-home', '--shell', '/bin/bash', '--groups', 'sudo', LAB_USER])
  await writeFile(join(root, `etc/sudoers.d/${LAB_USER}`), `${LAB_USER} ALL=(ALL) NOPASSWD:ALL\n`, {mode: 0o440})
  await chmod(join(root, `etc/sudoers.d/${LAB_USER}`), 0o440)
  await writeFile(join(root, 'etc/machine-id'), '')
  await writeFile(join(root, 'etc/fstab'), '')
  // Background jobs that would compete with what tests run on the hosts.
  for (const unit of ['apt-daily.timer', 'apt-daily-upgrade.timer', 'e2scrub_all.timer', 'e2scrub_reap.service', 'fstrim.timer'])
    await execa('ln', ['-sf', '/dev/null', join(root, 'etc/systemd/system', unit)])
  await execa('sh', ['-c', `rm -f ${join(root, 'var/cache/apt/archives')}/*.deb`])
  if (!existsSync(join(root, 'etc/systemd/system/multi-user.target.wants/ssh.service')))
    await execa('ln', ['-sf', '/lib/systemd/system/ssh.service', join(root, 'etc/systemd/system/multi-user.target.wants/ssh.service')])
}

/**
 * The cached Debian tree every lab host overlays. Built once with debootstrap (about a minute)
 * into a temp dir and renamed into place, so a killed build never leaves a half tree; rebuilt
 * when the package list changes.
 */
export async function ensureRootfs(opts: {cacheDir?: string; log?: Logger} = {}): Promise<string> {
  const log = opts.log ?? silentLogger
  const dir = rootfsDir(opts.cacheDir)
  const parent = join(dir, '..')
  const name = `rootfs-${ROOTFS_SUITE}`
  const want = stampValue()
  const current = async (): Promise<boolean> => {
    try {
      return JSON.parse(await readFile(join(dir, STAMP), 'utf8')).hash === want
    } catch {
      return false
    }
  }
  // what a killed build left (its temp tree may still have /proc and /sys mounted)
  await removeStaleBuilds(parent, name)
  if (await current()) return dir
  await mkdir(parent, {recursive: true})
  const debootstrap = await tool('debootstrap')
  const mirror = await aptMirror()
  const tmp = join(parent, `${name}.tmp-${process.pid}-${Date.now()}`)
  log.info(`Building the lab host tree (${ROOTFS_SUITE}, from ${mirror}) in ${dir}; this takes a minute once`)
  try {
    const r = await execa(
      debootstrap,
      ['--variant=minbase', `--include=${ROOTFS_PACKAGES.join(',')}`, ROOTFS_SUITE, tmp, mirror],
      {reject: false, all: true, env: {LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive'}},
    )
    if (r.exitCode !== 0) {
      const tail = String(r.all ?? '').split('\n').slice(-15).join('\n')
      let logTail = ''
      try {
        logTail = (await readFile(join(tmp, 'debootstrap/debootstrap.log'), 'utf8')).split('\n').slice(-15).join('\n')
      } catch {
        // no log
      }
      throw new MetalplaneError(`debootstrap of the lab host tree failed (exit ${r.exitCode}):\n${tail}\n${logTail}`, {
        hint: `Check that ${mirror} is reachable; the mirror comes from this machine's apt sources.`,
      })
    }
    await customise(tmp)
    await writeFile(join(tmp, STAMP), JSON.stringify({hash: want, suite: ROOTFS_SUITE, packages: ROOTFS_PACKAGES, mirror, built: new Date().toISOString()}) + '\n')
    if (await current()) {
      // another process finished first
      await removeTree(tmp)
      return dir
    }
    if (existsSync(dir)) {
      const old = join(parent, `${name}.old-${process.pid}-${Date.now()}`)
      await rename(dir, old)
      await rename(tmp, dir)
      // running labs may still overlay the old tree (their mounts name it by its former path): keep it then
      const mounts = await readFile('/proc/mounts', 'utf8')
      if (!mounts.includes(`lowerdir=${dir}`) && !mounts.includes(old)) await removeTree(old)
      else log.warn(`Kept the previous lab host tree at ${old}: running labs use it; remove it after they are down`)
    } else {
      try {
        await rename(tmp, dir)
      } catch (error) {
        // a concurrent build put its tree in place first
        if (!(await current())) throw error
        await removeTree(tmp)
      }
    }
  } catch (error) {
    if (existsSync(tmp)) await removeTree(tmp).catch(() => {})
    throw error
  }
  log.info(`Lab host tree ready: ${dir}`)
  return dir
}
