/**
 * The PXE service: dnsmasq (DHCP or proxyDHCP + TFTP) as a child process, plus metalplane's HTTP
 * server for boot.ipxe, the discovery image and the reports. Everything it starts or writes lives
 * until stop(): dnsmasq is stopped by its pid, its run dir (config, leases, pid file, TFTP root)
 * is removed.
 */
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {EventEmitter} from 'node:events'
import {chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import type {Server} from 'node:http'
import {networkInterfaces, tmpdir} from 'node:os'
import {join} from 'node:path'
import {InputError, MetalplaneError, MissingDependencyError} from '../errors.js'
import type {ReportSink} from '../inventory/report.js'
import {Logger, silentLogger} from '../ui/log.js'
import {
  BIOS_BOOT_FILE,
  DEFAULT_HTTP_PORT,
  EFI_BOOT_FILE,
  IPXE_DIR,
  networkOf,
  parseDhcpRange,
  renderBootScript,
  renderDnsmasqConfig,
  type DiscoveryPolicy,
} from './config.js'
import {createPxeHttpServer, listen, type ReceivedReport} from './http.js'

export interface PxeServiceOptions {
  /** The interface dnsmasq binds to; the HTTP server listens on its IPv4 address. */
  interface: string
  /** `START,END`: full DHCP. Without it, proxyDHCP beside the network's DHCP server. */
  dhcpRange?: string
  /** The server's IPv4 address; default: the interface's first one. */
  address?: string
  httpPort?: number
  policy?: DiscoveryPolicy
  kernel: string
  initrd: string
  sink: ReportSink
  /** Router advertisements on the interface (speeds up iPXE where nothing else sends them). */
  ipv6Ra?: boolean
  /** Extra kernel arguments for the discovery image. */
  kernelArgs?: string
  dnsmasqPath?: string
  ipxeDir?: string
  log?: Logger
}

export interface PxeService extends EventEmitter {
  readonly baseUrl: string
  readonly address: string
  readonly httpPort: number
  readonly mode: 'proxy' | 'dhcp'
  readonly dnsmasqPid: number
  readonly runDir: string
  readonly reports: ReceivedReport[]
  /** Resolves with the first report whose MACs include mac (lowercase) — received before or after the call. */
  waitForReport(mac: string, timeoutMs: number): Promise<ReceivedReport>
  /** Resolves when the service ended (stop() or dnsmasq died); rejects never. */
  readonly done: Promise<{error?: Error}>
  stop(): Promise<void>
}

/** The interface's first IPv4 address. Read with `ip` (node's list skips interfaces without carrier, e.g. a bridge whose VMs are not up yet). */
function interfaceIPv4(name: string): {address: string; prefix: number} | undefined {
  try {
    const out = execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', name], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
    const m = /\binet (\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(out)
    if (m) return {address: m[1], prefix: Number(m[2])}
  } catch {
    /* no ip(8): fall back */
  }
  const a = networkInterfaces()[name]?.find((i) => i.family === 'IPv4')
  return a ? {address: a.address, prefix: Number(a.cidr?.split('/')[1] ?? 24)} : undefined
}

/** Starts dnsmasq and the HTTP server. Throws (with nothing left running) when either cannot start. */
export async function startPxeService(o: PxeServiceOptions): Promise<PxeService> {
  const log = o.log ?? silentLogger
  const dnsmasq = o.dnsmasqPath ?? '/usr/sbin/dnsmasq'
  if (!existsSync(dnsmasq)) throw new MissingDependencyError('dnsmasq', 'dnsmasq-base', 'it answers DHCP/proxyDHCP and TFTP for network boot')
  const ipxeDir = o.ipxeDir ?? IPXE_DIR
  for (const f of [BIOS_BOOT_FILE, EFI_BOOT_FILE])
    if (!existsSync(join(ipxeDir, f))) throw new MissingDependencyError(`iPXE (${join(ipxeDir, f)})`, 'ipxe', 'PXE clients chainload iPXE from it')
  if (!/^[\w.:@-]{1,15}$/.test(o.interface)) throw new InputError(`bad interface name "${o.interface}"`, [{path: '--interface', message: 'not an interface name'}])
  if (!existsSync(`/sys/class/net/${o.interface}`)) throw new InputError(`no interface ${o.interface} here`, [{path: '--interface', message: 'no such interface in this network namespace'}], 'List interfaces with `ip link`.')
  const ifAddr = interfaceIPv4(o.interface)
  const address = o.address ?? ifAddr?.address
  if (!address) throw new InputError(`interface ${o.interface} has no IPv4 address`, [{path: '--interface', message: 'give it an address or pass --address'}])
  const range = o.dhcpRange ? parseDhcpRange(o.dhcpRange, ifAddr) : undefined
  if (!range && !ifAddr) throw new InputError('proxyDHCP needs an IPv4 address on the interface', [{path: '--interface', message: `${o.interface} has none`}])
  const policy = o.policy ?? 'poweroff'
  for (const [flag, p] of [['--kernel', o.kernel], ['--initrd', o.initrd]] as const)
    if (!existsSync(p)) throw new InputError(`${p} does not exist`, [{path: flag, message: 'no such file'}])

  const runDir = mkdtempSync(join(tmpdir(), 'metalplane-pxe-'))
  // dnsmasq drops to user nobody after start: it must be able to read the TFTP root.
  chmodSync(runDir, 0o755)
  const tftpRoot = join(runDir, 'tftp')
  let child: ChildProcess | undefined
  let server: Server | undefined
  const cleanupSync = (): void => {
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGTERM')
      } catch {
        /* already gone */
      }
    }
    rmSync(runDir, {recursive: true, force: true})
  }
  process.on('exit', cleanupSync)
  try {
    mkdirSync(tftpRoot, {mode: 0o755})
    for (const f of [BIOS_BOOT_FILE, EFI_BOOT_FILE]) {
      copyFileSync(join(ipxeDir, f), join(tftpRoot, f))
      chmodSync(join(tftpRoot, f), 0o644)
    }

    const reports: ReceivedReport[] = []
    const emitter = new EventEmitter()
    let baseUrl = ''
    server = createPxeHttpServer({
      bootScript: () => renderBootScript({baseUrl, policy, extraArgs: o.kernelArgs}),
      kernel: o.kernel,
      initrd: o.initrd,
      sink: o.sink,
      log,
      onReport: (r) => {
        reports.push(r)
        emitter.emit('report', r)
      },
    })
    let httpPort: number
    try {
      httpPort = await listen(server, address, o.httpPort ?? DEFAULT_HTTP_PORT)
    } catch (e) {
      throw new MetalplaneError(`cannot listen on ${address}:${o.httpPort ?? DEFAULT_HTTP_PORT}: ${(e as Error).message}`, {hint: 'Pick another --http-port or stop what uses that one.'})
    }
    baseUrl = `http://${address}:${httpPort}`

    const confPath = join(runDir, 'dnsmasq.conf')
    writeFileSync(
      confPath,
      renderDnsmasqConfig({
        interface: o.interface,
        dhcpRange: range,
        network: ifAddr ? `${networkOf(ifAddr.address, ifAddr.prefix)}` : undefined,
        ipv6Ra: o.ipv6Ra,
        tftpRoot,
        leaseFile: join(runDir, 'dnsmasq.leases'),
        pidFile: join(runDir, 'dnsmasq.pid'),
        bootScriptUrl: `${baseUrl}/boot.ipxe`,
      }),
    )
    child = spawn(dnsmasq, ['--keep-in-foreground', '--log-facility=-', `--conf-file=${confPath}`], {stdio: ['ignore', 'pipe', 'pipe']})
    const proc = child
    let stderr = ''
    const onLine = (line: string): void => {
      if (!line.trim()) return
      if (/DHCP|TFTP|sent|RA\(/.test(line)) log.debug(`dnsmasq: ${line}`)
      else log.info(`dnsmasq: ${line}`)
    }
    let buf = ''
    const onData = (d: Buffer): void => {
      stderr = (stderr + d.toString()).slice(-8192)
      buf += d.toString()
      let i
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i))
        buf = buf.slice(i + 1)
      }
    }
    proc.stdout!.on('data', onData)
    proc.stderr!.on('data', onData)
    // Started when it logs "started" (and reads its config); failed when it exits first.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => resolve(), 3000)
      const check = (): void => {
        if (/started, version/.test(stderr)) {
          clearTimeout(timer)
          proc.stderr!.off('data', check)
          proc.off('exit', onExit)
          resolve()
        }
      }
      const onExit = (code: number | null): void => {
        clearTimeout(timer)
        reject(new MetalplaneError(`dnsmasq exited (${code}) at start: ${stderr.trim().split('\n').slice(-3).join('; ')}`, {hint: 'Another DHCP server (or dnsmasq) may already bind this interface, or this needs root.'}))
      }
      proc.on('exit', onExit)
      proc.on('error', (e) => reject(new MetalplaneError(`cannot start dnsmasq: ${e.message}`)))
      proc.stderr!.on('data', check)
      check()
    })
    if (proc.exitCode !== null) throw new MetalplaneError(`dnsmasq exited (${proc.exitCode}) at start: ${stderr.trim()}`)
    log.info(`PXE service on ${o.interface} (${range ? `DHCP ${range.start}-${range.end}` : 'proxyDHCP'}), HTTP ${baseUrl}, dnsmasq pid ${proc.pid}, run dir ${runDir}`)

    let stopped = false
    let resolveDone!: (v: {error?: Error}) => void
    const done = new Promise<{error?: Error}>((r) => (resolveDone = r))
    const srv = server
    const finish = async (error?: Error): Promise<void> => {
      if (stopped) return
      stopped = true
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise<void>((r) => proc.once('exit', () => r()))
        try {
          process.kill(proc.pid!, 'SIGTERM')
        } catch {
          /* gone */
        }
        const t = setTimeout(() => {
          try {
            process.kill(proc.pid!, 'SIGKILL')
          } catch {
            /* gone */
          }
        }, 3000)
        await exited
        clearTimeout(t)
      }
      srv.closeAllConnections()
      await new Promise<void>((r) => srv.close(() => r()))
      rmSync(runDir, {recursive: true, force: true})
      process.off('exit', cleanupSync)
      log.info(`PXE service stopped${error ? `: ${error.message}` : ''}`)
      resolveDone({error})
    }
    proc.on('exit', (code, signal) => {
      if (!stopped) {
        const err = new MetalplaneError(`dnsmasq stopped unexpectedly (${code ?? signal}): ${stderr.trim().split('\n').slice(-3).join('; ')}`)
        emitter.emit('error-exit', err)
        void finish(err)
      }
    })

    const service = Object.assign(emitter, {
      baseUrl,
      address,
      httpPort,
      mode: (range ? 'dhcp' : 'proxy') as 'proxy' | 'dhcp',
      dnsmasqPid: proc.pid!,
      runDir,
      reports,
      done,
      stop: () => finish(),
      waitForReport(mac: string, timeoutMs: number): Promise<ReceivedReport> {
        const want = mac.toLowerCase()
        const found = reports.find((r) => r.macs.includes(want))
        if (found) return Promise.resolve(found)
        return new Promise<ReceivedReport>((resolve, reject) => {
          const timer = setTimeout(() => {
            emitter.off('report', on)
            reject(new MetalplaneError(`no report from ${want} within ${Math.round(timeoutMs / 1000)} s`))
          }, timeoutMs)
          const on = (r: ReceivedReport): void => {
            if (r.macs.includes(want)) {
              clearTimeout(timer)
              emitter.off('report', on)
              resolve(r)
            }
          }
          emitter.on('report', on)
        })
      },
    })
    return service as PxeService
  } catch (e) {
    if (child?.pid && child.exitCode === null) {
      const c = child
      const exited = new Promise<void>((r) => c.once('exit', () => r()))
      try {
        process.kill(c.pid!, 'SIGTERM')
      } catch {
        /* gone */
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))])
    }
    if (server?.listening) await new Promise<void>((r) => server!.close(() => r()))
    rmSync(runDir, {recursive: true, force: true})
    process.off('exit', cleanupSync)
    throw e
  }
}
