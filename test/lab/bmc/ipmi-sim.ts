/**
 * Starts OpenIPMI's ipmi_sim as a BMC on 127.0.0.1 for tests. Its chassis_control script
 * appends every request (`get power`, `set power 1`, `set boot pxe`, ...) to calls.log and
 * keeps the power state in a file; an optional hook runs on every `set power N`.
 * Stopped with SIGINT by pid (ipmi_sim ignores SIGTERM).
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {createSocket} from 'node:dgram'
import {chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

export interface IpmiSim {
  host: string
  port: number
  pid: number
  dir: string
  /** Lines the chassis_control script received, without the MC address. */
  calls(): string[]
  stop(): Promise<void>
}

export async function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  const s = createSocket('udp4')
  await new Promise<void>((resolve, reject) => s.bind(0, host, resolve).once('error', reject))
  const port = s.address().port
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

export async function startIpmiSim(opts: {dir: string; user?: string; password: string; powerHook?: string; host?: string}): Promise<IpmiSim> {
  const host = opts.host ?? '127.0.0.1'
  const {dir} = opts
  mkdirSync(dir, {recursive: true})
  const port = await freeUdpPort(host)
  const log = join(dir, 'calls.log')
  const powerFile = join(dir, 'power')
  const script = join(dir, 'chassis.sh')
  writeFileSync(
    script,
    `#!/bin/sh
# ipmi_sim chassis_control: $1 is the MC address, then "get PARM..." or "set PARM VALUE..."
mc="$1"; shift
echo "$*" >> '${log}'
op="$1"; shift
if [ "$op" = get ]; then
  for p in "$@"; do
    case "$p" in
      power) echo "power:$(cat '${powerFile}' 2>/dev/null || echo 0)";;
      boot) echo "boot:default";;
    esac
  done
  exit 0
fi
while [ $# -gt 1 ]; do
  case "$1" in
    power) echo "$2" > '${powerFile}'; ${opts.powerHook ? `'${opts.powerHook}' "$2"` : 'true'};;
  esac
  shift 2
done
exit 0
`,
  )
  chmodSync(script, 0o755)
  writeFileSync(
    join(dir, 'lan.conf'),
    `name "mp-test"
set_working_mc 0x20
  startlan 1
    addr ${host} ${port}
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "${script} 0x20"
  user 2 true "${opts.user ?? 'admin'}" "${opts.password}" admin 10 none md2 md5 straight
`,
  )
  writeFileSync(join(dir, 'cmd'), 'mc_setbmc 0x20\nmc_add 0x20 0 has-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n')
  const child: ChildProcess = spawn('ipmi_sim', ['-c', join(dir, 'lan.conf'), '-f', join(dir, 'cmd'), '-n', '-s', join(dir, 'state')], {stdio: ['ignore', 'ignore', 'pipe']})
  let stderr = ''
  child.stderr?.on('data', (d) => (stderr += String(d)))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  // Ready when it answers on its port: poll with ipmitool's cheapest request.
  await new Promise((r) => setTimeout(r, 300))
  if (child.exitCode !== null) throw new Error(`ipmi_sim exited ${child.exitCode}: ${stderr}`)
  const sim: IpmiSim = {
    host,
    port,
    pid: child.pid!,
    dir,
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid!, 'SIGINT')
        const t = setTimeout(() => child.exitCode === null && child.signalCode === null && process.kill(child.pid!, 'SIGKILL'), 3000)
        await exited
        clearTimeout(t)
      }
    },
  }
  return sim
}
