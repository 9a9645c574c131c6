// Fake cluster hosts for unit tests: each host is a directory tree standing in for "/", driven
// through a LocalExecutor. Absolute paths in commands, uploads and downloads are mapped under
// that root; fake systemctl/modprobe/sysctl/dpkg/ctr come first on PATH and keep their state
// under <root>/state; the bundle's kubeadm/kubectl are small shell stand-ins writing what the
// real ones write (admin.conf, kubelet.conf, pki/ca.crt). Facts are canned per host.
import {execFileSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {ExecOptions, ExecResult, Executor, UploadOptions} from '../../../src/hosts/executor.js'
import {LocalExecutor} from '../../../src/hosts/local.js'
import type {Host} from '../../../src/hosts/host.js'
import type {Connector} from '../../../src/phases/connect.js'
import {FACTS_SCRIPT, type NodeFacts} from '../../../src/phases/facts.js'
import {parseSpec} from '../../../src/spec/load.js'

export function baseFacts(over: Partial<NodeFacts> = {}): NodeFacts {
  return {
    osId: 'debian',
    osVersionId: '12',
    osPrettyName: 'Debian GNU/Linux 12 (bookworm)',
    kernel: '6.1.0-28-amd64',
    arch: 'x86_64',
    hostname: 'h',
    cpus: 4,
    memoryMB: 8000,
    swaps: [],
    macs: ['52:54:00:00:00:01'],
    productUuid: '00000000-0000-0000-0000-000000000001',
    cgroupVersion: 'v2',
    systemd: true,
    listening: [22],
    timeSynced: true,
    timeDaemon: 'systemd-timesyncd',
    adminConf: false,
    kubeletConf: false,
    overlay: false,
    brNetfilter: false,
    defaultInterface: 'eth0',
    ...over,
  }
}

const MAPPED = /(^|[\s'"=:;(>|])\/(etc|var|run|usr\/local|usr\/lib|opt|proc)(?=[/\s'"]|$)/g

const FAKEBIN: Record<string, string> = {
  systemctl: `#!/bin/sh
S=$ROOT/state/systemd; mkdir -p $S
q=0; [ "$1" = --quiet ] && { q=1; shift; }
cmd=$1; shift
[ "$1" = --quiet ] && shift
case $cmd in
  daemon-reload) echo x >> $S/daemon-reload ;;
  enable) for u in "$@"; do touch $S/$u.enabled; done ;;
  restart|start) for u in "$@"; do touch $S/$u.active; echo $u >> $S/restarts; done ;;
  stop) for u in "$@"; do rm -f $S/$u.active; done ;;
  is-enabled) test -e $S/$1.enabled ;;
  is-active) test -e $S/$1.active ;;
esac
`,
  modprobe: `#!/bin/sh
[ "$1" = -a ] && shift
for m in "$@"; do
  case $m in
    overlay) mkdir -p $ROOT/proc; echo "nodev	overlay" >> $ROOT/proc/filesystems ;;
    br_netfilter) mkdir -p $ROOT/proc/sys/net/bridge ;;
  esac
done
`,
  sysctl: `#!/bin/sh
S=$ROOT/state/sysctl; mkdir -p $S
if [ "$1" = -n ]; then cat $S/$2 2>/dev/null; exit 0; fi
if [ "$1" = --system ]; then
  cat $ROOT/etc/sysctl.d/*.conf 2>/dev/null | grep -v '^#' | grep = | while IFS='= ' read -r k v; do
    k=$(echo $k); v=$(echo $v | tr -d ' ')
    case $k in net.bridge.*) [ -d $ROOT/proc/sys/net/bridge ] || continue ;; esac
    echo $v > $S/$k
  done
fi
`,
  dpkg: `#!/bin/sh
mkdir -p $ROOT/state; for a in "$@"; do case $a in *.deb) echo $(basename $a) >> $ROOT/state/dpkg-installed ;; esac; done
for c in containerd runc conntrack iptables; do printf '#!/bin/sh\\nexit 0\\n' > $ROOT/fakebin/$c; chmod +x $ROOT/fakebin/$c; done
`,
  ctr: `#!/bin/sh
test -e $ROOT/state/systemd/containerd.active
`,
}

/** kubeadm stand-in for unit tests: records each call and its config, writes kubeadm's files. */
const KUBEADM = `#!/bin/sh
V=__VERSION__
[ "$1" = version ] && { echo $V; exit 0; }
# Unit tests set ROOT to the fake host's root; on a lab host state goes to /var/lib/standin-state.
S=\${ROOT:-/var/lib/standin}/state
[ -n "$ROOT" ] && S=$ROOT/state
if [ -z "$CA_PEM" ]; then CA_PEM=/run/standin-ca.pem; cat > $CA_PEM <<'PEM'
__CA__
PEM
fi
mkdir -p $S
echo "$*" >> $S/kubeadm-calls
cfg=""; prev=""
for a in "$@"; do [ "$prev" = --config ] && cfg=$a; prev=$a; done
if [ -n "$cfg" ]; then cp $cfg $S/kubeadm-$1.yaml; stat -c %a $cfg > $S/kubeadm-$1.mode; fi
case "$1" in
  init)
    if [ "$2" = phase ]; then echo "[upload-certs] done"; exit 0; fi
    mkdir -p $ROOT/etc/kubernetes/pki $ROOT/etc/kubernetes/manifests
    cp $CA_PEM $ROOT/etc/kubernetes/pki/ca.crt
    printf 'apiVersion: v1\\nkind: Config\\nclusters: [{name: c, cluster: {server: "https://%s"}}]\\nusers: [{name: admin, user: {client-key-data: c2VjcmV0a2V5ZGF0YQ==}}]\\n' "$(grep controlPlaneEndpoint $cfg | cut -d'"' -f2)" > $ROOT/etc/kubernetes/admin.conf
    echo kubelet > $ROOT/etc/kubernetes/kubelet.conf
    echo "kubeadm join ... --token $(grep -- '- token:' $cfg | cut -d'"' -f2)" ;;
  join)
    mkdir -p $ROOT/etc/kubernetes
    echo kubelet > $ROOT/etc/kubernetes/kubelet.conf
    if grep -q '^controlPlane:' $cfg; then cp $CA_PEM $ROOT/etc/kubernetes/admin.conf; fi ;;
  token) echo abcdef.0123456789abcdef ;;
  reset) rm -rf $ROOT/etc/kubernetes/*.conf $ROOT/etc/kubernetes/pki $ROOT/etc/kubernetes/manifests/* ;;
esac
`

export class FakeHostExecutor implements Executor {
  private readonly local: LocalExecutor
  /** Every command run (after path mapping), for assertions. */
  readonly commands: string[] = []
  constructor(
    readonly name: string,
    readonly root: string,
    public facts: NodeFacts,
    private readonly caPem: string,
  ) {
    this.local = new LocalExecutor(name)
    mkdirSync(join(root, 'fakebin'), {recursive: true})
    for (const [n, body] of Object.entries(FAKEBIN)) {
      writeFileSync(join(root, 'fakebin', n), body)
      chmodSync(join(root, 'fakebin', n), 0o755)
    }
  }
  map(p: string): string {
    return join(this.root, p)
  }
  async exec(cmd: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (cmd === FACTS_SCRIPT) {
      const f = {...this.facts, adminConf: existsSync(this.map('/etc/kubernetes/admin.conf')), kubeletConf: existsSync(this.map('/etc/kubernetes/kubelet.conf'))}
      const lines = [
        `osId=${f.osId}`, `osVersionId=${f.osVersionId}`, `osPrettyName=${f.osPrettyName}`, `kernel=${f.kernel}`, `arch=${f.arch}`, `hostname=${f.hostname}`,
        `cpus=${f.cpus}`, `memKB=${f.memoryMB * 1024}`, `swaps=${f.swaps.join(' ')}`, `macs=${f.macs.join(' ')}`, `productUuid=${f.productUuid}`,
        `cgroup=${f.cgroupVersion}`, `systemd=${f.systemd ? 1 : 0}`, `listening=${f.listening.join(' ')}`,
        `timeSynced=${f.timeSynced === undefined ? '' : f.timeSynced ? 'yes' : 'no'}`, `timeDaemon=${f.timeDaemon ?? ''}`,
        `adminConf=${f.adminConf ? 1 : 0}`, `kubeletConf=${f.kubeletConf ? 1 : 0}`, `overlay=${f.overlay ? 1 : 0}`, `brNetfilter=${f.brNetfilter ? 1 : 0}`,
        `defaultInterface=${f.defaultInterface ?? ''}`,
        `kubeadm=${existsSync(this.map('/usr/local/bin/kubeadm')) ? execFileSync(this.map('/usr/local/bin/kubeadm'), ['version', '-o', 'short'], {encoding: 'utf8'}).trim() : ''}`,
      ]
      return {stdout: lines.join('\n') + '\n', stderr: '', code: 0}
    }
    const mapped = cmd.replace(MAPPED, (_m, pre: string, dir: string) => `${pre}${this.root}/${dir}`)
    this.commands.push(mapped)
    return this.local.exec(`export ROOT=${this.root} CA_PEM=${this.caPem} PATH=${this.root}/fakebin:$PATH; ${mapped}`, opts)
  }
  upload(content: string | Buffer, remotePath: string, opts?: UploadOptions): Promise<void> {
    return this.local.upload(content, this.map(remotePath), opts)
  }
  download(remotePath: string): Promise<Buffer | undefined> {
    return this.local.download(this.map(remotePath))
  }
  async close(): Promise<void> {}
}

export interface FakeCluster {
  dir: string
  bundle: string
  specText: string
  executors: Map<string, FakeHostExecutor>
  connector: Connector
  file(host: string, path: string): string | undefined
}

/** A self-signed CA certificate (real, so the discovery hash is computed on a real key). */
export function makeCa(dir: string): string {
  const key = join(dir, 'ca.key')
  const crt = join(dir, 'ca.crt')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', crt, '-days', '1', '-subj', '/CN=kubernetes'], {stdio: 'ignore'})
  return crt
}

export function makeBundle(dir: string, version: string, caPem = ''): string {
  const b = join(dir, 'bundle')
  mkdirSync(join(b, 'bin'), {recursive: true})
  mkdirSync(join(b, 'debs'), {recursive: true})
  writeFileSync(join(b, 'bin', 'kubeadm'), KUBEADM.replace('__VERSION__', `v${version}`).replace('__CA__', caPem.trim()), {mode: 0o755})
  writeFileSync(join(b, 'bin', 'kubelet'), '#!/bin/sh\necho kubelet\n', {mode: 0o755})
  writeFileSync(join(b, 'bin', 'kubectl'), '#!/bin/sh\nexit 0\n', {mode: 0o755})
  mkdirSync(join(b, 'lib', 'kube-support'), {recursive: true})
  writeFileSync(join(b, 'lib', 'kube-support', 'helper'), '#!/bin/sh\n', {mode: 0o750})
  writeFileSync(join(b, 'debs', 'containerd_1.6.20~ds1-1+b1_amd64.deb'), 'not really a deb')
  writeFileSync(join(b, 'debs', 'runc_1.1.5+ds1-1+deb12u1_amd64.deb'), 'not really a deb either')
  return b
}

export function fakeCluster(hosts: {name: string; role: string; address: string; facts?: Partial<NodeFacts>}[], o: {version?: string; vip?: string; name?: string} = {}): FakeCluster {
  const version = o.version ?? '1.31.4'
  const dir = mkdtempSync(join(tmpdir(), 'mp-cluster-'))
  const ca = makeCa(dir)
  const bundle = makeBundle(dir, version)
  const specText = `
apiVersion: metalplane.io/v1alpha1
kind: Cluster
metadata: {name: ${o.name ?? 'unit'}}
spec:
  kubernetes: {version: ${version}}
  controlPlane: {${o.vip ? `vip: ${o.vip}` : ''}}
  bundle: ${bundle}
  containerd:
    registryMirrors: {registry.k8s.io: ["https://mirror.example.internal:5000"]}
  hosts:
${hosts.map((h) => `    - {name: ${h.name}, address: ${h.address}, role: ${h.role}}`).join('\n')}
`
  parseSpec(specText)
  const executors = new Map<string, FakeHostExecutor>()
  hosts.forEach((h, i) => {
    const root = join(dir, 'hosts', h.name)
    mkdirSync(root, {recursive: true})
    const mac = `52:54:00:00:00:${(i + 1).toString(16).padStart(2, '0')}`
    executors.set(h.name, new FakeHostExecutor(h.name, root, baseFacts({hostname: h.name, macs: [mac], productUuid: `uuid-${i}`, ...h.facts}), ca))
  })
  return {
    dir,
    bundle,
    specText,
    executors,
    connector: async (hs: Host[]) => {
      for (const h of hs) h.executor = executors.get(h.name)!
    },
    file(host, path) {
      const p = executors.get(host)!.map(path)
      return existsSync(p) ? readFileSync(p, 'utf8') : undefined
    },
  }
}
