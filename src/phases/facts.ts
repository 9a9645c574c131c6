import type {Phase, RunContext} from '../engine/phase.js'
import type {Host} from '../hosts/host.js'
import {pool} from '../engine/manager.js'
import {HostsFailedError} from '../errors.js'

/** What the cluster phases need to know about a host, read in one round trip. */
export interface NodeFacts {
  osId: string
  osVersionId: string
  osPrettyName: string
  kernel: string
  arch: string
  hostname: string
  cpus: number
  memoryMB: number
  /** Active swap devices/files (from /proc/swaps). */
  swaps: string[]
  macs: string[]
  productUuid: string
  /** 'v1' (legacy or hybrid) or 'v2' (unified). */
  cgroupVersion: 'v1' | 'v2'
  /** PID 1 is systemd (/run/systemd/system exists). */
  systemd: boolean
  /** TCP ports something listens on. */
  listening: number[]
  /** NTP synchronised per timedatectl; undefined when it cannot tell. */
  timeSynced?: boolean
  /** A time daemon is active (chrony, systemd-timesyncd, ntp, ntpsec, openntpd). */
  timeDaemon?: string
  /** /etc/kubernetes/admin.conf exists (the host was initialised as first controller). */
  adminConf: boolean
  /** /etc/kubernetes/kubelet.conf exists (the host is part of a cluster). */
  kubeletConf: boolean
  /** `containerd --version` output, when installed. */
  containerdVersion?: string
  /** `kubeadm version -o short`, when installed. */
  kubeadmVersion?: string
  /** Modules available/loaded: overlay (in /proc/filesystems), br_netfilter (/proc/sys/net/bridge). */
  overlay: boolean
  brNetfilter: boolean
  /** Default-route interface and its first IPv4 address. */
  defaultInterface?: string
}

// One POSIX shell script; every line is key=value. Failures of single probes leave the key empty.
export const FACTS_SCRIPT = String.raw`
. /etc/os-release 2>/dev/null
echo "osId=$ID"
echo "osVersionId=$VERSION_ID"
echo "osPrettyName=$PRETTY_NAME"
echo "kernel=$(uname -r)"
echo "arch=$(uname -m)"
echo "hostname=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)"
echo "cpus=$(nproc 2>/dev/null || grep -c ^processor /proc/cpuinfo)"
echo "memKB=$(awk '/^MemTotal:/{print $2}' /proc/meminfo)"
echo "swaps=$(awk 'NR>1{printf "%s ", $1}' /proc/swaps 2>/dev/null)"
# MACs of this network namespace's NICs (netlink: /sys/class/net is not namespaced in every container).
macs=$(ip -o link show 2>/dev/null | awk '{n=$2; sub(/:$/,"",n); sub(/@.*/,"",n); for(i=1;i<NF;i++) if($i=="link/ether") print n, $(i+1)}' \
  | grep -Ev '^(lo|veth|docker|cni|flannel|cali|vxlan|kube-|tunl|br-|virbr|lxc|cilium|ifb|dummy|kube-ipvs)' | awk '{printf " %s", $2}')
echo "macs=$macs"
echo "productUuid=$(cat /sys/class/dmi/id/product_uuid 2>/dev/null || cat /etc/machine-id 2>/dev/null)"
if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then echo cgroup=v2; else echo cgroup=v1; fi
if [ -d /run/systemd/system ]; then echo systemd=1; else echo systemd=0; fi
echo "listening=$( (ss -H -ltn 2>/dev/null || netstat -ltn 2>/dev/null | tail -n +3) | awk '{print $4}' | sed 's/.*://' | sort -un | tr '\n' ' ')"
echo "timeSynced=$(timedatectl show -p NTPSynchronized --value 2>/dev/null)"
td=""
for s in chrony chronyd systemd-timesyncd ntp ntpd ntpsec openntpd; do
  if systemctl is-active --quiet "$s" 2>/dev/null; then td=$s; break; fi
done
echo "timeDaemon=$td"
[ -e /etc/kubernetes/admin.conf ] && echo adminConf=1 || echo adminConf=0
[ -e /etc/kubernetes/kubelet.conf ] && echo kubeletConf=1 || echo kubeletConf=0
echo "containerd=$(containerd --version 2>/dev/null)"
echo "kubeadm=$( (kubeadm version -o short || /usr/local/bin/kubeadm version -o short) 2>/dev/null | head -1)"
grep -qw overlay /proc/filesystems 2>/dev/null && echo overlay=1 || echo overlay=0
[ -d /proc/sys/net/bridge ] && echo brNetfilter=1 || echo brNetfilter=0
echo "defaultInterface=$(ip -o route show default 2>/dev/null | awk '{for(i=1;i<NF;i++) if($i=="dev"){print $(i+1); exit}}')"
exit 0
`

export function parseFacts(out: string): NodeFacts {
  const kv = new Map<string, string>()
  for (const line of out.split('\n')) {
    const i = line.indexOf('=')
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1).trim())
  }
  const g = (k: string) => kv.get(k) ?? ''
  const words = (k: string) => g(k).split(/\s+/).filter(Boolean)
  const synced = g('timeSynced')
  return {
    osId: g('osId'),
    osVersionId: g('osVersionId'),
    osPrettyName: g('osPrettyName'),
    kernel: g('kernel'),
    arch: g('arch'),
    hostname: g('hostname'),
    cpus: Number(g('cpus')) || 0,
    memoryMB: Math.floor((Number(g('memKB')) || 0) / 1024),
    swaps: words('swaps'),
    macs: words('macs').map((m) => m.toLowerCase()),
    productUuid: g('productUuid').toLowerCase(),
    cgroupVersion: g('cgroup') === 'v2' ? 'v2' : 'v1',
    systemd: g('systemd') === '1',
    listening: words('listening').map(Number).filter((n) => Number.isInteger(n) && n > 0),
    timeSynced: synced === 'yes' ? true : synced === 'no' ? false : undefined,
    timeDaemon: g('timeDaemon') || undefined,
    adminConf: g('adminConf') === '1',
    kubeletConf: g('kubeletConf') === '1',
    containerdVersion: g('containerd') || undefined,
    kubeadmVersion: g('kubeadm') || undefined,
    overlay: g('overlay') === '1',
    brNetfilter: g('brNetfilter') === '1',
    defaultInterface: g('defaultInterface') || undefined,
  }
}

export async function readNodeFacts(host: Host): Promise<NodeFacts> {
  const r = await host.exec(FACTS_SCRIPT, {timeoutMs: 60_000})
  return parseFacts(r.stdout)
}

/** The facts gathered by the facts phase. */
export function nodeFacts(host: Host): NodeFacts {
  const f = host.facts.node as NodeFacts | undefined
  if (!f) throw new Error(`no facts for host ${host.name}: the facts phase did not run`)
  return f
}

/** Re-read facts on all hosts (read-only; also in dry-run). Failures name every host. */
export async function refreshFacts(ctx: RunContext, hosts: Host[] = ctx.hosts): Promise<void> {
  const failures: {host: string; error: string}[] = []
  await pool(hosts, ctx.concurrency, async (h) => {
    try {
      h.facts.node = await readNodeFacts(h)
    } catch (error) {
      failures.push({host: h.name, error: (error as Error).message})
    }
  })
  if (failures.length > 0) throw new HostsFailedError('gathering facts', failures)
}

export const factsPhase: Phase = {
  name: 'facts',
  title: 'Gather host facts',
  async prepare(ctx) {
    await refreshFacts(ctx)
  },
  targets: () => [],
  async run() {},
}
