/** A real etcd (Debian's etcd-server) on 127.0.0.1 random ports with a temp data dir, stopped by pid. */
import {spawn, type ChildProcess} from 'node:child_process'
import {createServer} from 'node:net'
import {join} from 'node:path'

export async function freeTcpPort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve, reject) => srv.listen(0, '127.0.0.1', resolve).once('error', reject))
  const port = (srv.address() as {port: number}).port
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  return port
}

export interface Etcd {
  endpoint: string
  pid: number
  stop(): Promise<void>
}

export async function startEtcd(dir: string): Promise<Etcd> {
  const client = await freeTcpPort()
  const peer = await freeTcpPort()
  const c = `http://127.0.0.1:${client}`
  const p = `http://127.0.0.1:${peer}`
  const child: ChildProcess = spawn(
    'etcd',
    ['--name', 'mp-test', '--data-dir', join(dir, 'etcd-data'), '--listen-client-urls', c, '--advertise-client-urls', c, '--listen-peer-urls', p, '--initial-advertise-peer-urls', p, '--initial-cluster', `mp-test=${p}`, '--log-level', 'error'],
    {stdio: ['ignore', 'ignore', 'pipe']},
  )
  let stderr = ''
  child.stderr?.on('data', (d) => (stderr += String(d)))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid!, 'SIGTERM')
      const t = setTimeout(() => child.exitCode === null && child.signalCode === null && process.kill(child.pid!, 'SIGKILL'), 5000)
      await exited
      clearTimeout(t)
    }
  }
  const end = Date.now() + 15_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`etcd exited ${child.exitCode}: ${stderr}`)
    try {
      const res = await fetch(`${c}/health`)
      if (res.ok && ((await res.json()) as {health?: string}).health === 'true') break
    } catch {
      // not up yet
    }
    if (Date.now() > end) {
      await stop()
      throw new Error(`etcd did not become healthy: ${stderr}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return {endpoint: `127.0.0.1:${client}`, pid: child.pid!, stop}
}
