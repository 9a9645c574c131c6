/**
 * The discovery boot image: a Debian cloud kernel and a busybox-static initramfs carrying the
 * discovery agent (templates/agent). Built without root from Debian packages, cached by the hash
 * of its inputs under cacheDir()/images/<hash>/{vmlinuz,initrd.gz}.
 */
import {createHash} from 'node:crypto'
import {execFile} from 'node:child_process'
import {createReadStream, existsSync} from 'node:fs'
import {chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink, writeFile} from 'node:fs/promises'
import {basename, join} from 'node:path'
import {promisify} from 'node:util'
import {InputError, MetalplaneError, MissingDependencyError} from '../errors.js'
import {render} from '../render/index.js'
import {cacheDir} from '../util/paths.js'

const run = promisify(execFile)

/** Bumped when the layout of the initramfs changes, so cached images are rebuilt. */
export const IMAGE_FORMAT = 1
export const AGENT_VERSION = '0.1.0'

/** Modules the boot needs under qemu (virtio NIC), in load order; the cloud kernel builds NVMe in. */
export const REQUIRED_MODULES = ['virtio_ring', 'virtio', 'virtio_pci_legacy_dev', 'virtio_pci_modern_dev', 'virtio_pci', 'failover', 'net_failover', 'virtio_net']
/** Drivers of real servers' NICs and disk controllers, taken when the kernel has them. */
export const OPTIONAL_MODULES = [
  'e1000e', 'igb', 'ixgbe', 'i40e', 'ice', 'mlx5_core', 'bnxt_en', 'tg3',
  'nvme', 'virtio_blk', 'virtio_scsi', 'sd_mod', 'ahci', 'megaraid_sas', 'mpt3sas',
  'ipmi_si', 'ipmi_devintf',
]

export const KERNEL_META_PACKAGE = 'linux-image-cloud-amd64'

export interface ImageBuildOptions {
  /** Bring your own kernel (bzImage); skips the Debian package. */
  kernel?: string
  /** Bring your own initramfs; with --kernel, nothing is built. */
  initrd?: string
  /** Debian kernel package, e.g. linux-image-6.1.0-56-cloud-amd64-unsigned; default: the one linux-image-cloud-amd64 points at. */
  kernelPackage?: string
  /** Rebuild even when cached. */
  force?: boolean
  log?: (msg: string) => void
}

export interface BootImage {
  kernel: string
  initrd: string
  /** The input hash; undefined for a user's own kernel+initrd. */
  hash?: string
  cached: boolean
  kernelPackage?: string
  kernelRelease?: string
  /** Modules put in the initramfs, in load order. */
  modules: string[]
  /** Optional drivers the kernel does not have. */
  missingModules: string[]
  initrdBytes: number
}

async function need(tool: string, pkg: string, why: string): Promise<void> {
  try {
    await run('sh', ['-c', `command -v ${tool}`])
  } catch {
    throw new MissingDependencyError(tool, pkg, why)
  }
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer)
  return h.digest('hex')
}

/** The kernel package linux-image-cloud-amd64 depends on, as its -unsigned twin. */
export async function currentKernelPackage(): Promise<string> {
  await need('apt-cache', 'apt', 'needed to find the current Debian cloud kernel')
  const {stdout} = await run('apt-cache', ['show', '--no-all-versions', KERNEL_META_PACKAGE]).catch((e: unknown) => {
    throw new MetalplaneError(`apt-cache show ${KERNEL_META_PACKAGE} failed: ${(e as Error).message}`, {hint: 'Run apt-get update, or pass --kernel-package.'})
  })
  const m = /^Depends:.*?\b(linux-image-[\d.]+-\d+-cloud-amd64)\b/m.exec(stdout)
  if (!m) throw new MetalplaneError(`cannot find the kernel ${KERNEL_META_PACKAGE} depends on`, {hint: 'Pass --kernel-package linux-image-6.1.0-NN-cloud-amd64-unsigned.'})
  return `${m[1]}-unsigned`
}

/** Downloads (once) and unpacks a kernel package; returns the unpacked tree and the .deb's hash. */
async function kernelTree(pkg: string, log: (m: string) => void): Promise<{root: string; debSha: string; release: string}> {
  if (!/^linux-image-[\w.+-]+$/.test(pkg)) throw new InputError(`bad kernel package name "${pkg}"`, [{path: '--kernel-package', message: 'expected linux-image-…'}])
  await need('apt-get', 'apt', 'needed to download the kernel package')
  await need('dpkg-deb', 'dpkg', 'needed to unpack the kernel package')
  await need('depmod', 'kmod', 'needed to resolve module dependencies')
  const debDir = join(cacheDir(), 'debs')
  await mkdir(debDir, {recursive: true})
  let deb = (await readdir(debDir)).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'))
  if (!deb) {
    log(`downloading ${pkg}`)
    const tmp = await mkdtemp(join(debDir, '.dl-'))
    try {
      await run('apt-get', ['download', '-q', pkg], {cwd: tmp, maxBuffer: 16 << 20})
    } catch (e) {
      await rm(tmp, {recursive: true, force: true})
      throw new MetalplaneError(`apt-get download ${pkg} failed: ${((e as {stderr?: string}).stderr || (e as Error).message).trim()}`, {hint: 'Check that the package exists (apt-cache policy) and the Debian archive is reachable.'})
    }
    deb = (await readdir(tmp)).find((f) => f.endsWith('.deb'))
    if (!deb) throw new MetalplaneError(`apt-get download ${pkg} produced no .deb`)
    await rename(join(tmp, deb), join(debDir, deb))
    await rm(tmp, {recursive: true, force: true})
  }
  const debPath = join(debDir, deb)
  const debSha = await sha256File(debPath)
  const root = join(cacheDir(), 'kernels', debSha.slice(0, 16))
  const done = join(root, '.unpacked')
  if (!existsSync(done)) {
    log(`unpacking ${deb}`)
    await rm(root, {recursive: true, force: true})
    await mkdir(root, {recursive: true})
    await run('dpkg-deb', ['-x', debPath, root], {maxBuffer: 16 << 20})
    const rel = (await readdir(join(root, 'lib', 'modules')))[0]
    // The package ships no modules.dep (depmod runs at install); make it here.
    await run('depmod', ['-b', root, rel])
    await writeFile(done, '')
  }
  const release = (await readdir(join(root, 'lib', 'modules')))[0]
  return {root, debSha, release}
}

/** Parses modules.dep into name -> {path, deps(paths)}; names use '_' for '-'. */
export function parseModulesDep(text: string): Map<string, {path: string; deps: string[]}> {
  const out = new Map<string, {path: string; deps: string[]}>()
  for (const line of text.split('\n')) {
    const i = line.indexOf(':')
    if (i < 0) continue
    const path = line.slice(0, i).trim()
    const deps = line.slice(i + 1).trim().split(/\s+/).filter(Boolean)
    out.set(moduleName(path), {path, deps})
  }
  return out
}

export function moduleName(path: string): string {
  return basename(path).replace(/\.ko(\.(xz|gz|zst))?$/, '').replace(/-/g, '_')
}

/** Names of the modules built into the kernel (modules.builtin); they need no file. */
export function parseBuiltin(text: string): Set<string> {
  return new Set(text.split('\n').filter(Boolean).map(moduleName))
}

/**
 * Load order for the wanted modules and their dependencies (dependencies first). Modules built
 * into the kernel are skipped; optional ones the kernel lacks are listed as missing.
 */
export function resolveModules(dep: Map<string, {path: string; deps: string[]}>, required: string[], optional: string[], builtin: Set<string> = new Set()): {order: string[]; missing: string[]} {
  const order: string[] = []
  const seen = new Set<string>()
  const visit = (path: string): void => {
    const name = moduleName(path)
    if (seen.has(name)) return
    seen.add(name)
    for (const d of dep.get(name)?.deps ?? []) visit(d)
    order.push(dep.get(name)?.path ?? path)
  }
  required = required.filter((m) => !builtin.has(m))
  optional = optional.filter((m) => !builtin.has(m))
  const absent = required.filter((m) => !dep.has(m))
  if (absent.length > 0) throw new MetalplaneError(`the kernel lacks modules the discovery image needs: ${absent.join(', ')}`, {hint: 'Use a Debian cloud kernel package (linux-image-6.1.0-NN-cloud-amd64-unsigned) or bring your own with --kernel/--initrd.'})
  for (const m of required) visit(dep.get(m)!.path)
  const missing: string[] = []
  for (const m of optional) {
    if (dep.has(m)) visit(dep.get(m)!.path)
    else missing.push(m)
  }
  return {order, missing}
}

function busyboxPath(): string {
  return process.env.METALPLANE_BUSYBOX || '/bin/busybox'
}

async function checkBusyboxStatic(path: string): Promise<void> {
  if (!existsSync(path)) throw new MissingDependencyError('busybox', 'busybox-static', 'the discovery initramfs is built from the static busybox')
  const head = (await readFile(path)).subarray(0, 4096)
  // A dynamically linked ELF names its interpreter (/lib64/ld-linux-x86-64.so.2) near the start.
  if (head.includes(Buffer.from('ld-linux'))) throw new MissingDependencyError('busybox (static)', 'busybox-static', `${path} is dynamically linked`)
}

async function agentFiles(): Promise<Record<string, string>> {
  const vars = {version: AGENT_VERSION}
  return {
    init: render('agent/init', vars),
    'etc/metalplane/discover.sh': render('agent/discover.sh', vars),
    'etc/metalplane/udhcpc.script': render('agent/udhcpc.script', vars),
  }
}

/** Writes a newc cpio of dir (owner root) gzipped to out, from a sorted file list. */
async function packCpio(dir: string, out: string): Promise<void> {
  const useGnu = await run('sh', ['-c', 'cpio --version']).then((r) => r.stdout.includes('GNU'), () => false)
  const cpio = useGnu ? 'cpio -o -H newc -R 0:0 --quiet' : `${busyboxPath()} cpio -o -H newc`
  if (!useGnu && !existsSync(busyboxPath())) throw new MissingDependencyError('cpio', 'cpio', 'needed to pack the initramfs')
  await need('gzip', 'gzip', 'needed to compress the initramfs')
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
  await run('sh', ['-c', `cd ${q(dir)} && find . -mindepth 1 | LC_ALL=C sort | ${cpio} | gzip -9n > ${q(out)}`], {maxBuffer: 16 << 20})
}

/** Builds (or finds in the cache) the discovery kernel and initramfs. */
export async function buildImage(opts: ImageBuildOptions = {}): Promise<BootImage> {
  const log = opts.log ?? (() => {})
  if (opts.kernel || opts.initrd) {
    const issues = []
    if (!opts.kernel) issues.push({path: '--kernel', message: 'needed with --initrd'})
    if (!opts.initrd) issues.push({path: '--initrd', message: 'needed with --kernel'})
    for (const [flag, p] of [['--kernel', opts.kernel], ['--initrd', opts.initrd]] as const) if (p && !existsSync(p)) issues.push({path: flag, message: `${p} does not exist`})
    if (issues.length > 0) throw new InputError('cannot use your own boot image', issues)
    return {kernel: opts.kernel!, initrd: opts.initrd!, cached: true, modules: [], missingModules: [], initrdBytes: (await stat(opts.initrd!)).size}
  }
  const pkg = opts.kernelPackage ?? (await currentKernelPackage())
  const {root, debSha, release} = await kernelTree(pkg, log)
  const bb = busyboxPath()
  await checkBusyboxStatic(bb)
  const files = await agentFiles()
  const h = createHash('sha256')
  h.update(JSON.stringify({IMAGE_FORMAT, debSha, required: REQUIRED_MODULES, optional: OPTIONAL_MODULES, busybox: await sha256File(bb), files}))
  const hash = h.digest('hex').slice(0, 24)
  const dir = join(cacheDir(), 'images', hash)
  const kernel = join(dir, 'vmlinuz')
  const initrd = join(dir, 'initrd.gz')
  const manifestPath = join(dir, 'manifest.json')
  if (!opts.force && existsSync(manifestPath) && existsSync(kernel) && existsSync(initrd)) {
    const m = JSON.parse(await readFile(manifestPath, 'utf8')) as {modules: string[]; missingModules: string[]}
    return {kernel, initrd, hash, cached: true, kernelPackage: pkg, kernelRelease: release, modules: m.modules, missingModules: m.missingModules, initrdBytes: (await stat(initrd)).size}
  }
  log(`building discovery image ${hash} (${pkg})`)
  const modDir = join(root, 'lib', 'modules', release)
  const dep = parseModulesDep(await readFile(join(modDir, 'modules.dep'), 'utf8'))
  const builtinFile = join(modDir, 'modules.builtin')
  const builtin = existsSync(builtinFile) ? parseBuiltin(await readFile(builtinFile, 'utf8')) : new Set<string>()
  const {order, missing} = resolveModules(dep, REQUIRED_MODULES, OPTIONAL_MODULES, builtin)
  await mkdir(join(cacheDir(), 'images'), {recursive: true})
  const work = await mkdtemp(join(cacheDir(), 'images', '.build-'))
  try {
    const tree = join(work, 'root')
    for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'proc', 'sys', 'dev', 'tmp', 'run', 'etc/metalplane', 'lib/modules']) await mkdir(join(tree, d), {recursive: true})
    await copyFile(bb, join(tree, 'bin', 'busybox'))
    await chmod(join(tree, 'bin', 'busybox'), 0o755)
    const {stdout} = await run(bb, ['--list-full'])
    for (const applet of stdout.split('\n').filter(Boolean)) {
      if (applet === 'bin/busybox' || applet.endsWith('/init') || applet === 'linuxrc') continue
      const target = join(tree, applet)
      if (existsSync(target)) continue
      await mkdir(join(target, '..'), {recursive: true})
      await symlink('/bin/busybox', target)
    }
    const names: string[] = []
    for (const rel of order) {
      const name = moduleName(rel)
      const src = join(modDir, rel)
      if (/\.ko\.(xz|gz|zst)$/.test(rel)) throw new MetalplaneError(`compressed module ${rel} is not supported`, {hint: 'Bring your own initramfs with --kernel/--initrd.'})
      await copyFile(src, join(tree, 'lib', 'modules', `${name}.ko`))
      names.push(name)
    }
    await writeFile(join(tree, 'etc', 'metalplane', 'modules'), names.map((n) => `${n}.ko`).join('\n') + '\n')
    for (const [rel, text] of Object.entries(files)) {
      await writeFile(join(tree, rel), text)
      await chmod(join(tree, rel), 0o755)
    }
    await writeFile(join(tree, 'etc', 'metalplane', 'version'), `${AGENT_VERSION}\n`)
    await packCpio(tree, join(work, 'initrd.gz'))
    await copyFile(join(root, 'boot', `vmlinuz-${release}`), join(work, 'vmlinuz'))
    const manifest = {hash, kernelPackage: pkg, kernelRelease: release, kernelDebSha256: debSha, agentVersion: AGENT_VERSION, modules: names, missingModules: missing, builtAt: new Date().toISOString()}
    await writeFile(join(work, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n')
    await rm(join(work, 'root'), {recursive: true, force: true})
    await rm(dir, {recursive: true, force: true})
    await rename(work, dir)
    return {kernel, initrd, hash, cached: false, kernelPackage: pkg, kernelRelease: release, modules: names, missingModules: missing, initrdBytes: (await stat(initrd)).size}
  } finally {
    await rm(work, {recursive: true, force: true})
  }
}
