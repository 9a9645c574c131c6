/**
 * qemu VMs for the lab: a machine that network-boots (BIOS or UEFI) from a tap in a network
 * namespace, with NVMe disks of known serial and size. Also the namespace/bridge/tap plumbing
 * a PXE lab needs. Every VM is stopped by its own pid; its temp dir (disks, UEFI vars, console
 * log) is removed when it exits.
 */
import {spawn, execFile} from 'node:child_process'
import {closeSync, copyFileSync, existsSync, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {InputError, MetalplaneError, MissingDependencyError} from '../errors.js'

const run = promisify(execFile)

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE.fd'
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS.fd'
export const QEMU = 'qemu-system-x86_64'

export interface VmOptions {
  name: string
  /** Network namespace the tap lives in; qemu runs under `ip netns exec`. */
  netns?: string
  tap: string
  mac: string
  firmware: 'bios' | 'uefi'
  nvme?: {serial: string; sizeBytes: number}[]
  memoryMb?: number
  cpus?: number
  /** Direct kernel boot instead of network boot (the raw boot the benchmark compares against). */
  kernel?: string
  initrd?: string
  append?: string
  /** Where the serial console goes (appended); default: a file in the VM's temp dir, removed when qemu exits. */
  consoleLog?: string
}

export interface VmHandle {
  name: string
  pid: number
  /** The serial console output so far. */
  consoleLog: string
  startedAt: number
  /** Resolves with qemu's exit code when it exits (guest poweroff, stop(), crash). */
  exited: Promise<number | null>
  /** SIGTERM, then SIGKILL after 5 s; resolves when qemu is gone. */
  stop(): Promise<void>
}

const MAC_RE = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i

/** Starts one VM. Needs root (tap) when netns/tap are used. */
export async function startVm(o: VmOptions): Promise<VmHandle> {
  const issues = []
  if (!MAC_RE.test(o.mac)) issues.push({path: 'mac', message: `"${o.mac}" is not a MAC address`})
  if (!/^[\w.-]{1,15}$/.test(o.tap)) issues.push({path: 'tap', message: `"${o.tap}" is not an interface name`})
  for (const [i, d] of (o.nvme ?? []).entries()) {
    if (!/^[\w-]{1,20}$/.test(d.serial)) issues.push({path: `nvme[${i}].serial`, message: 'up to 20 letters, digits, - or _'})
    if (!(d.sizeBytes >= 1 << 20 && d.sizeBytes % 512 === 0)) issues.push({path: `nvme[${i}].sizeBytes`, message: 'a multiple of 512, at least 1 MiB'})
  }
  if (issues.length > 0) throw new InputError(`bad VM options for ${o.name}`, issues)
  try {
    await run('sh', ['-c', `command -v ${QEMU}`])
  } catch {
    throw new MissingDependencyError(QEMU, 'qemu-system-x86', 'lab VMs run under qemu')
  }
  if (o.firmware === 'uefi' && (!existsSync(OVMF_CODE) || !existsSync(OVMF_VARS))) throw new MissingDependencyError('OVMF', 'ovmf', 'UEFI VMs boot OVMF')

  const dir = mkdtempSync(join(tmpdir(), `metalplane-vm-${o.name.replace(/[^\w-]/g, '')}-`))
  const consoleLog = o.consoleLog ?? join(dir, 'console.log')
  const args = ['-name', o.name, '-accel', 'tcg', '-m', String(o.memoryMb ?? 512), '-smp', String(o.cpus ?? 1), '-nographic', '-no-reboot']
  if (o.firmware === 'uefi') {
    const vars = join(dir, 'OVMF_VARS.fd')
    copyFileSync(OVMF_VARS, vars)
    args.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,unit=1,file=${vars}`)
  }
  args.push('-netdev', `tap,id=n0,ifname=${o.tap},script=no,downscript=no`, '-device', `virtio-net-pci,netdev=n0,mac=${o.mac.toLowerCase()},bootindex=1`)
  for (const [i, d] of (o.nvme ?? []).entries()) {
    const img = join(dir, `nvme${i}.raw`)
    writeFileSync(img, '')
    truncateSync(img, d.sizeBytes)
    args.push('-drive', `file=${img},if=none,id=d${i},format=raw`, '-device', `nvme,drive=d${i},serial=${d.serial}`)
  }
  if (o.kernel) {
    args.push('-kernel', o.kernel)
    if (o.initrd) args.push('-initrd', o.initrd)
    if (o.append) args.push('-append', o.append)
  } else {
    args.push('-boot', 'n')
  }
  const out = openSync(consoleLog, 'a')
  const cmd = o.netns ? 'ip' : QEMU
  const argv = o.netns ? ['netns', 'exec', o.netns, QEMU, ...args] : args
  // `ip netns exec` execs qemu: the pid is qemu's own.
  const child = spawn(cmd, argv, {stdio: ['ignore', out, out]})
  closeSync(out)
  const startedAt = Date.now()
  if (!child.pid) {
    rmSync(dir, {recursive: true, force: true})
    throw new MetalplaneError(`cannot start qemu for ${o.name}`)
  }
  const pid = child.pid
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      rmSync(dir, {recursive: true, force: true})
      resolve(code)
    })
    child.on('error', () => resolve(null))
  })
  // A qemu that fails on its arguments exits at once: report that as an error.
  const early = await Promise.race([exited.then((c) => ({c})), new Promise<undefined>((r) => setTimeout(r, 300))])
  if (early) {
    let text = ''
    try {
      text = (await import('node:fs')).readFileSync(consoleLog, 'utf8').slice(-2000)
    } catch {
      /* removed */
    }
    throw new MetalplaneError(`qemu for ${o.name} exited at once (${early.c}): ${text.trim()}`)
  }
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return void (await exited)
    try {
      process.kill(pid, 'SIGTERM')
    } catch {
      /* gone */
    }
    const t = setTimeout(() => {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        /* gone */
      }
    }, 5000)
    await exited
    clearTimeout(t)
  }
  return {name: o.name, pid, consoleLog, startedAt, exited, stop}
}

async function sh(argv: string[]): Promise<void> {
  try {
    await run(argv[0], argv.slice(1))
  } catch (e) {
    throw new MetalplaneError(`${argv.join(' ')} failed: ${((e as {stderr?: string}).stderr || (e as Error).message).trim()}`)
  }
}

export interface PxeNetOptions {
  /** Namespace name to create. */
  netns: string
  bridge?: string
  /** Bridge address, e.g. 10.78.0.1/24. */
  ipv4: string
  /** Bridge IPv6 address, e.g. fd78::1/64 (lets dnsmasq send RAs: iPXE stops waiting for SLAAC). */
  ipv6?: string
}

export interface PxeNet {
  netns: string
  bridge: string
  /** Creates a tap on the bridge for one VM. */
  addTap(name: string): Promise<string>
  /** Deletes the namespace and everything in it; safe to call twice. */
  destroy(): Promise<void>
}

/** A network namespace with a bridge, for PXE-booting VMs on taps. Needs root. */
export async function createPxeNet(o: PxeNetOptions): Promise<PxeNet> {
  if (!/^[\w.-]{1,32}$/.test(o.netns)) throw new InputError(`bad namespace name "${o.netns}"`)
  const br = o.bridge ?? 'br0'
  const nsx = (...a: string[]) => sh(['ip', 'netns', 'exec', o.netns, ...a])
  await sh(['ip', 'netns', 'add', o.netns])
  const destroy = async (): Promise<void> => {
    await run('ip', ['netns', 'del', o.netns]).catch(() => undefined)
  }
  try {
    await nsx('ip', 'link', 'set', 'lo', 'up')
    await nsx('ip', 'link', 'add', br, 'type', 'bridge')
    await nsx('ip', 'addr', 'add', o.ipv4, 'dev', br)
    if (o.ipv6) await nsx('ip', '-6', 'addr', 'add', o.ipv6, 'dev', br, 'nodad')
    await nsx('ip', 'link', 'set', br, 'up')
  } catch (e) {
    await destroy()
    throw e
  }
  return {
    netns: o.netns,
    bridge: br,
    async addTap(name: string) {
      await nsx('ip', 'tuntap', 'add', name, 'mode', 'tap')
      await nsx('ip', 'link', 'set', name, 'master', br)
      await nsx('ip', 'link', 'set', name, 'up')
      return name
    },
    destroy,
  }
}
