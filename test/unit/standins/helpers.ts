// Test helpers for the Kubernetes stand-ins: a bundle built once, "hosts" as temp roots
// (STANDIN_ROOT), a fake containerd socket, and a systemd-like restart loop for the kubelet.
import {spawn, type ChildProcess} from 'node:child_process'
import {chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {buildStandinBundle, type Bundle} from '../../standins/build-bundle.js'

let bundle: Promise<Bundle> | undefined
let bundleDir: string | undefined

export function standinBundle(): Promise<Bundle> {
  if (!bundle) {
    bundleDir = mkdtempSync(join(tmpdir(), 'mp-standin-bundle-'))
    bundle = buildStandinBundle(bundleDir, {kubernetesVersion: 'v1.31.2'})
  }
  return bundle
}

export function removeBundle(): void {
  if (bundleDir) rmSync(bundleDir, {recursive: true, force: true})
  bundle = undefined
  bundleDir = undefined
}

export interface Result {
  code: number
  stdout: string
  stderr: string
}

export interface FakeHost {
  root: string
  name: string
  env: Record<string, string>
  sock?: Server
  kubelet?: {stop: () => Promise<void>; log: () => string}
}

/** A host as a temp directory: ip_forward=1, no swap, containerd config + socket, a CNI config. */
export async function fakeHost(name: string, opts: {systemdCgroup?: boolean; cni?: boolean; socket?: boolean; tools?: boolean} = {}): Promise<FakeHost> {
  const root = mkdtempSync(join(tmpdir(), `mp-standin-${name}-`))
  const w = (p: string, text: string) => {
    mkdirSync(join(root, p, '..'), {recursive: true})
    writeFileSync(join(root, p), text)
  }
  w('proc/sys/net/ipv4/ip_forward', '1\n')
  w('proc/swaps', 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n')
  w('etc/containerd/config.toml', `version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n  SystemdCgroup = ${opts.systemdCgroup ?? true}\n`)
  if (opts.cni ?? true) {
    w('etc/cni/net.d/10-bridge.conflist', JSON.stringify({cniVersion: '1.0.0', name: 'bridge', plugins: [{type: 'bridge', bridge: 'cni0'}, {type: 'portmap'}]}))
    w('opt/cni/bin/bridge', '')
    w('opt/cni/bin/portmap', '')
  }
  // the executables kubeadm's preflight looks up (iptables and conntrack are not in a bookworm minbase)
  if (opts.tools ?? true)
    for (const exe of ['usr/sbin/iptables', 'usr/sbin/conntrack', 'bin/ip', 'bin/mount', 'usr/bin/nsenter', 'usr/sbin/ebtables', 'usr/sbin/ethtool', 'usr/bin/socat', 'sbin/tc', 'bin/touch']) {
      w(exe, '#!/bin/sh\n')
      chmodSync(join(root, exe), 0o755)
    }
  mkdirSync(join(root, 'run/containerd'), {recursive: true})
  mkdirSync(join(root, 'var'), {recursive: true})
  symlinkSync('../run', join(root, 'var/run'))
  const h: FakeHost = {root, name, env: {STANDIN_ROOT: root, STANDIN_HOSTNAME: name, STANDIN_NODE_IP: '127.0.0.1', STANDIN_WAIT_SECONDS: '20'}}
  if (opts.socket ?? true) {
    const sock = createServer((c) => c.end())
    await new Promise<void>((r) => sock.listen(join(root, 'run/containerd/containerd.sock'), () => r()))
    h.sock = sock
  }
  return h
}

export async function removeHost(h: FakeHost): Promise<void> {
  await h.kubelet?.stop()
  await new Promise<void>((r) => (h.sock ? h.sock.close(() => r()) : r()))
  rmSync(h.root, {recursive: true, force: true})
}

export async function run(tool: 'kubeadm' | 'kubelet' | 'kubectl', args: string[], env: Record<string, string> = {}, input?: string): Promise<Result> {
  const b = await standinBundle()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [b.cjs[tool], ...args], {env: {...process.env, ...env}, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => resolve({code: code ?? -1, stdout, stderr}))
    child.stdin.end(input ?? '')
  })
}

export const KUBELET_ARGS = [
  '--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf',
  '--kubeconfig=/etc/kubernetes/kubelet.conf',
  '--config=/var/lib/kubelet/config.yaml',
  '--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock',
]

/** Runs the kubelet stand-in like systemd's Restart=always (RestartSec short), stopped by pid. */
export async function superviseKubelet(h: FakeHost, extra: string[] = []): Promise<void> {
  const b = await standinBundle()
  let child: ChildProcess | undefined
  let stopped = false
  let log = ''
  const loop = () => {
    if (stopped) return
    child = spawn(process.execPath, [b.cjs.kubelet, ...KUBELET_ARGS, ...extra], {env: {...process.env, ...h.env}, stdio: ['ignore', 'pipe', 'pipe']})
    child.stdout!.on('data', (d) => (log += d))
    child.stderr!.on('data', (d) => (log += d))
    child.on('exit', () => {
      child = undefined
      if (!stopped) setTimeout(loop, 300)
    })
  }
  loop()
  h.kubelet = {
    log: () => log,
    stop: async () => {
      stopped = true
      const c = child
      if (c?.pid) {
        const done = new Promise((r) => c.once('exit', r))
        process.kill(c.pid, 'SIGTERM')
        await done
      }
    },
  }
}

export function writeFile(dir: string, name: string, text: string): string {
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}
