// The Kubernetes stand-ins (test/standins) on real lab hosts: systemd-nspawn machines without
// node. The bundle is copied over SSH and installed by the bundle contract (bin/* to
// /usr/local/bin, lib/ to /usr/lib); then a kubeadm init and a join run there for real, with
// containerd from Debian's .debs answering on its socket and the kubelet stand-in as
// kubelet.service with the project's unit and drop-in.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import {LAB_KUBERNETES_VERSION} from '../../../src/lab/lab.js'
import {render} from '../../../src/render/index.js'
import {buildStandinBundle} from '../../standins/build-bundle.js'
import {debianDebs} from '../cluster/bundle.js'
import {kubeadmHostDebs} from './host-debs.js'
import {presetSysctls} from '../cluster/helpers.js'
import {withLab, type LabHandle} from '../helpers/lab.js'

const VERSION = `v${LAB_KUBERNETES_VERSION}`


async function upload(lab: LabHandle, hostIndex: number, tarball: string, dest: string): Promise<void> {
  const h = lab.hosts[hostIndex]
  const r = await execa('ssh', [...lab.sshArgs(h), `mkdir -p ${dest} && tar -C ${dest} -xzf -`], {inputFile: tarball, reject: false, timeout: 120_000})
  assert.equal(r.exitCode, 0, `upload to ${h.name}: ${r.stderr}`)
}

async function sh(lab: LabHandle, i: number, cmd: string, timeoutMs = 60_000): Promise<string> {
  const r = await lab.ssh(lab.hosts[i], cmd, {timeoutMs})
  assert.equal(r.exitCode, 0, `${lab.hosts[i].name}: ${cmd}\n${r.stdout}\n${r.stderr}`)
  return String(r.stdout)
}

describe('stand-ins on lab hosts', function () {
  this.timeout(600_000)
  const lab = withLab('standins', 2)
  let tmp: string

  before(async function () {
    this.timeout(600_000)
    tmp = mkdtempSync(join(tmpdir(), 'mp-standins-lab-'))
    const dir = join(tmp, 'bundle')
    await buildStandinBundle(dir, {kubernetesVersion: VERSION})
    execFileSync('tar', ['-C', dir, '-czf', join(tmp, 'bundle.tgz'), 'bin', 'lib'])
    const debs = [...debianDebs(), ...kubeadmHostDebs()]
    execFileSync('tar', ['-czf', join(tmp, 'debs.tgz'), ...debs.flatMap((d) => ['-C', d.split('/').slice(0, -1).join('/'), d.split('/').pop()!])])
    for (const i of [0, 1]) {
      await upload(lab, i, join(tmp, 'bundle.tgz'), '/root/standin-bundle')
      // the bundle contract: bin/* where binaries go, everything under lib/ to /usr/lib/
      await sh(lab, i, 'install -m 0755 /root/standin-bundle/bin/* /usr/local/bin/ && cp -a /root/standin-bundle/lib/. /usr/lib/')
    }
  })
  after(() => {
    if (tmp) rmSync(tmp, {recursive: true, force: true})
  })

  it('runs kubeadm, kubelet and kubectl on a host without node', async () => {
    assert.equal(await sh(lab, 0, 'command -v node || echo no-node'), 'no-node')
    assert.equal(await sh(lab, 0, 'kubeadm version -o short'), VERSION)
    assert.equal(await sh(lab, 0, 'kubelet --version'), `Kubernetes ${VERSION}`)
    assert.equal(JSON.parse(await sh(lab, 0, 'kubectl version --client -o json')).clientVersion.gitVersion, VERSION)
    const bad = await lab.ssh(lab.hosts[0], 'kubeadm init --pod-network-cidr-typo=10.0.0.0/8')
    assert.equal(bad.exitCode, 1)
    assert.match(String(bad.stderr), /unknown flag: --pod-network-cidr-typo/)
  })

  it('kubeadm init on node1 and join of node2: kubelet.service runs the apiserver, kubectl lists both nodes', async () => {
    presetSysctls(lab.hosts)
    for (const i of [0, 1]) {
      await upload(lab, i, join(tmp, 'debs.tgz'), '/root/debs')
      await sh(
        lab,
        i,
        'dpkg -i /root/debs/*.deb >/dev/null && mkdir -p /etc/containerd && containerd config default | sed "s/SystemdCgroup = false/SystemdCgroup = true/" > /etc/containerd/config.toml && systemctl restart containerd && systemctl is-active containerd',
        300_000,
      )
      const unit = render('systemd/kubelet.service', {kubeletPath: '/usr/local/bin/kubelet'})
      const dropin = render('systemd/10-kubeadm.conf', {kubeletPath: '/usr/local/bin/kubelet'})
      await lab.ssh(lab.hosts[i], 'cat > /etc/systemd/system/kubelet.service', {input: unit})
      await lab.ssh(lab.hosts[i], 'mkdir -p /etc/systemd/system/kubelet.service.d && cat > /etc/systemd/system/kubelet.service.d/10-kubeadm.conf', {input: dropin})
      await sh(lab, i, 'systemctl daemon-reload && systemctl enable kubelet 2>/dev/null && systemctl start kubelet; true')
    }
    // before init the kubelet has no config and exits non-zero: systemd keeps restarting it
    const pre = await lab.ssh(lab.hosts[0], 'sleep 1; journalctl -u kubelet --no-pager | grep -c "failed to load kubelet config file"')
    assert.ok(Number(String(pre.stdout)) >= 1, `kubelet before init: ${pre.stdout}${pre.stderr}`)

    const cp = lab.hosts[0]
    const vip = lab.info.subnet.replace(/\.0\/\d+$/, '.250')
    const config = `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: ${cp.address}
  bindPort: 6443
nodeRegistration:
  name: ${cp.name}
  criSocket: unix:///run/containerd/containerd.sock
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: ${VERSION}
controlPlaneEndpoint: ${cp.address}:6443
apiServer:
  certSANs: [${vip}]
networking:
  podSubnet: 10.244.0.0/16
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
`
    await lab.ssh(cp, 'cat > /root/kubeadm-init.yaml', {input: config})
    const init = await lab.ssh(cp, 'kubeadm init --config /root/kubeadm-init.yaml --upload-certs', {timeoutMs: 300_000})
    assert.equal(init.exitCode, 0, `${init.stdout}\n${init.stderr}\n${(await lab.ssh(cp, 'journalctl -u kubelet --no-pager | tail -30')).stdout}`)
    const m = /kubeadm join (\S+) --token (\S+) \\\n\t--discovery-token-ca-cert-hash (\S+)\s*$/m.exec(String(init.stdout))
    assert.ok(m, String(init.stdout))
    const apiserver = await sh(lab, 0, `ss -ltn | grep -c ':6443 ' ; test -e /etc/kubernetes/pki/apiserver.crt && echo pki`)
    assert.match(apiserver, /pki/)

    const joined = await lab.ssh(lab.hosts[1], `kubeadm join ${m[1]} --token ${m[2]} --discovery-token-ca-cert-hash ${m[3]}`, {timeoutMs: 300_000})
    assert.equal(joined.exitCode, 0, `${joined.stdout}\n${joined.stderr}`)
    const nodes = await sh(lab, 0, 'kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o name')
    assert.deepEqual(nodes.split('\n').sort(), [`node/${lab.hosts[0].name}`, `node/${lab.hosts[1].name}`].sort())
    // the worker's kubelet reached the apiserver over the lab network with its bootstrapped certificate
    assert.match(await sh(lab, 1, 'systemctl is-active kubelet; grep -c client-certificate /etc/kubernetes/kubelet.conf'), /^active\n1$/)
  })

  it('kube-vip static pod: the VIP answers on the bridge and the API is reachable through it', async () => {
    const cp = lab.hosts[0]
    const vip = lab.info.subnet.replace(/\.0\/\d+$/, '.250')
    const kubeVip = render('manifests/kube-vip.yaml', {
      version: 'v0.8.9',
      vip,
      interface: 'eth0',
      port: '6443',
      vipCidr: '32',
      image: 'ghcr.io/kube-vip/kube-vip:v0.8.9',
      kubeconfigReason: 'admin.conf after kubeadm init',
      kubeconfigPath: '/etc/kubernetes/admin.conf',
    })
    await lab.ssh(cp, 'cat > /etc/kubernetes/manifests/kube-vip.yaml', {input: kubeVip})
    // The lab grants CAP_NET_ADMIN (bit 12) in each host's own network namespace: kube-vip needs it.
    const capBnd = BigInt('0x' + (await sh(lab, 0, "awk '/^CapBnd/ {print $2}' /proc/1/status")))
    assert.ok((capBnd & (1n << 12n)) !== 0n, 'lab hosts run with CAP_NET_ADMIN')
    await new Promise((r) => setTimeout(r, 3000))
    assert.match(await sh(lab, 0, 'ip -o addr show dev eth0'), new RegExp(` ${vip.replace(/\./g, '\\.')}/32 `))
    await sh(lab, 1, `bash -c 'exec 3<>/dev/tcp/${vip}/6443' && echo open`)
    const admin = join(tmp, 'admin.conf')
    writeFileSync(admin, (await sh(lab, 0, 'cat /etc/kubernetes/admin.conf')).replace(/server: https:\/\/[^\s]+/, `server: https://${vip}:6443`))
    const local = await execa(process.execPath, [join(tmp, 'bundle/lib/metalplane-standins/kubectl.cjs'), '--kubeconfig', admin, 'get', 'nodes', '-o', 'name'], {reject: false, timeout: 30_000})
    assert.equal(local.exitCode, 0, local.stderr)
  })
})
