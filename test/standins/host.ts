// STAND-IN host facts shared by kubeadm and kubelet stand-ins: hostname, node IP, the CRI socket,
// swap, CNI config, containerd's cgroup setting.
import {execFileSync} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import {connect} from 'node:net'
import {hostname as osHostname, networkInterfaces} from 'node:os'
import {hostExists, hp, readHost, underRoot} from './common.js'

export function nodeHostname(): string {
  return (process.env.STANDIN_HOSTNAME || osHostname()).toLowerCase()
}

/** IP of the interface holding the default route (kubeadm/kubelet's choice), else the first non-loopback IPv4. */
export function defaultIP(): string | undefined {
  if (process.env.STANDIN_NODE_IP) return process.env.STANDIN_NODE_IP
  let iface: string | undefined
  try {
    const lines = readFileSync('/proc/net/route', 'utf8').trim().split('\n').slice(1)
    iface = lines.map((l) => l.split(/\s+/)).find((f) => f[1] === '00000000')?.[0]
  } catch {
    // no /proc/net/route
  }
  const nets = networkInterfaces()
  const pick = (name: string) => nets[name]?.find((a) => a.family === 'IPv4' && !a.internal)?.address
  if (iface && pick(iface)) return pick(iface)
  for (const name of Object.keys(nets)) if (pick(name)) return pick(name)
  return undefined
}

export function criSocketPath(endpoint: string): string {
  return endpoint.replace(/^unix:\/\//, '')
}

/** Connects to the CRI socket like kubeadm's CRI preflight / kubelet's runtime check. Resolves to an error text or undefined. */
export function probeSocket(endpoint: string): Promise<string | undefined> {
  const path = hp(criSocketPath(endpoint))
  return new Promise((resolve) => {
    const s = connect(path)
    const t = setTimeout(() => {
      s.destroy()
      resolve(`dial unix ${criSocketPath(endpoint)}: i/o timeout`)
    }, 2000)
    s.once('connect', () => {
      clearTimeout(t)
      s.destroy()
      resolve(undefined)
    })
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t)
      const why = e.code === 'ENOENT' ? 'no such file or directory' : e.code === 'ECONNREFUSED' ? 'connect: connection refused' : e.message
      resolve(`dial unix ${criSocketPath(endpoint)}: connect: ${why}`)
    })
  })
}

export function swapOn(): boolean {
  const p = underRoot() ? hp('/proc/swaps') : '/proc/swaps'
  try {
    return readFileSync(p, 'utf8').trim().split('\n').length > 1
  } catch {
    return false
  }
}

/** containerd's runc SystemdCgroup setting from /etc/containerd/config.toml (containerd's default: false). */
export function containerdSystemdCgroup(): {value: boolean; source: string} {
  const p = '/etc/containerd/config.toml'
  if (!hostExists(p)) return {value: false, source: `${p} absent (containerd default SystemdCgroup = false)`}
  const text = readHost(p)
  const m = /^\s*SystemdCgroup\s*=\s*(true|false)\s*$/m.exec(text)
  if (!m) return {value: false, source: `${p} has no SystemdCgroup setting (containerd default false)`}
  return {value: m[1] === 'true', source: `${p}: SystemdCgroup = ${m[1]}`}
}

/** A usable CNI network config in /etc/cni/net.d, as containerd's CRI plugin requires for NetworkReady. */
export function cniStatus(): {ready: boolean; message: string} {
  const dir = '/etc/cni/net.d'
  let files: string[] = []
  try {
    files = readdirSync(hp(dir)).filter((f) => /\.(conf|conflist|json)$/.test(f)).sort()
  } catch {
    // absent
  }
  const notReady = 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized'
  if (!files.length) return {ready: false, message: notReady}
  const f = files[0]
  try {
    const conf = JSON.parse(readHost(`${dir}/${f}`))
    const plugins = conf.plugins ?? (conf.type ? [conf] : [])
    if (!conf.cniVersion || !conf.name || !plugins.length) return {ready: false, message: `${notReady} (${dir}/${f}: missing cniVersion, name or plugins)`}
    const binDirs = ['/opt/cni/bin', '/usr/lib/cni']
    for (const p of plugins)
      if (!binDirs.some((d) => hostExists(`${d}/${p.type}`)))
        return {ready: false, message: `${notReady} (${dir}/${f}: plugin binary "${p.type}" not found in ${binDirs.join(' or ')})`}
    return {ready: true, message: 'kubelet is posting ready status'}
  } catch (e) {
    return {ready: false, message: `${notReady} (${dir}/${f}: ${(e as Error).message})`}
  }
}

export function systemctl(...args: string[]): void {
  if (underRoot()) return // tests manage the kubelet themselves
  execFileSync('systemctl', args, {stdio: 'inherit'})
}

export function ipCmd(...args: string[]): string {
  return execFileSync('ip', args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
}
