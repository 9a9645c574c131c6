import assert from 'node:assert/strict'
import {Host} from '../../../src/hosts/host.js'
import {LocalExecutor} from '../../../src/hosts/local.js'
import {factsScript, gatherFacts, parseFacts, parseListening} from '../../../src/hosts/facts.js'
import {HostSpec} from '../../../src/spec/schema.js'

const sec = (name: string, body: string) => `\n@@metalplane-facts ${name}@@\n${body}\n`

const full = [
  sec('os-release', 'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\nID_LIKE=debian'),
  sec('hostname', 'node1'),
  sec('kernel', '6.8.0-45-generic'),
  sec('arch', 'x86_64'),
  sec('cgroupfs', 'cgroup2fs'),
  sec('nproc', '64'),
  sec('cpu-model', 'model name\t: AMD EPYC 7543 32-Core Processor'),
  sec('meminfo', 'MemTotal:       263856128 kB\nSwapTotal:        8388604 kB'),
  sec('swaps', 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/swap.img                               file\t\t8388604\t\t0\t\t-2'),
  sec(
    'lsblk',
    JSON.stringify({
      blockdevices: [
        {name: 'loop0', size: '4096', type: 'loop', model: null, serial: null, rota: '0', fstype: null, mountpoint: null, tran: null},
        {name: 'nvme0n1', size: '3840755982336', type: 'disk', model: 'SAMSUNG MZQL23T8HCLS-00A07', serial: 'S64HNE0T123456', rota: '0', fstype: null, mountpoint: null, tran: 'nvme', children: [
          {name: 'nvme0n1p1', size: 1073741824, type: 'part', fstype: 'vfat', mountpoint: '/boot/efi'},
          {name: 'nvme0n1p2', size: 3839680000000, type: 'part', fstype: 'ext4', mountpoint: '/'},
        ]},
        {name: 'sda', size: 4000787030016, type: 'disk', model: 'ST4000NM000A', serial: 'WS2ABCDE', rota: true, fstype: null, mountpoint: null, tran: 'sata'},
      ],
    }),
  ),
  sec('disk-by-id', '/dev/disk/by-id/nvme-SAMSUNG_MZQL23T8HCLS-00A07_S64HNE0T123456 /dev/nvme0n1\n/dev/disk/by-id/nvme-eui.0025388b1234 /dev/nvme0n1\n/dev/disk/by-id/nvme-SAMSUNG_MZQL23T8HCLS-00A07_S64HNE0T123456-part1 /dev/nvme0n1p1\n/dev/disk/by-id/ata-ST4000NM000A_WS2ABCDE /dev/sda'),
  sec('ip-addr', JSON.stringify([
    {ifname: 'lo', address: '00:00:00:00:00:00', operstate: 'UNKNOWN', mtu: 65536, addr_info: [{family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host'}]},
    {ifname: 'eno1', address: '3c:ec:ef:01:02:03', operstate: 'UP', mtu: 9000, addr_info: [{family: 'inet', local: '10.0.0.11', prefixlen: 24, scope: 'global'}, {family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link'}]},
  ])),
  sec('sys-net', 'eno1 3c:ec:ef:01:02:03 up 9000'),
  sec('timedatectl', 'NTPSynchronized=yes\nNTP=yes'),
  sec('chrony', ''),
  sec('time-services', 'active systemd-timesyncd\ninstalled systemd-timesyncd'),
  sec('listen', 'LISTEN 0      4096   127.0.0.53%lo:53        0.0.0.0:*\nLISTEN 0      128          0.0.0.0:22        0.0.0.0:*\nLISTEN 0      128             [::]:22           [::]:*\nLISTEN 0      4096               *:10250             *:*'),
  sec('proc-net-tcp', ''),
  sec('product-uuid', '4C4C4544-0042-3510-8048-B4C04F333532'),
  sec('end', ''),
].join('')

describe('host facts', () => {
  it('parses every section', () => {
    const f = parseFacts(full)
    assert.equal(f.hostname, 'node1')
    assert.deepEqual(f.os, {id: 'ubuntu', versionId: '24.04', prettyName: 'Ubuntu 24.04.1 LTS'})
    assert.equal(f.kernel, '6.8.0-45-generic')
    assert.equal(f.arch, 'x86_64')
    assert.equal(f.cgroupVersion, 2)
    assert.deepEqual(f.cpu, {count: 64, model: 'AMD EPYC 7543 32-Core Processor'})
    assert.equal(f.memory.totalBytes, 263856128 * 1024)
    assert.deepEqual(f.swap, {totalBytes: 8388604 * 1024, active: [{device: '/swap.img', type: 'file', sizeBytes: 8388604 * 1024}]})
    assert.deepEqual(f.disks.map((d) => d.name), ['nvme0n1', 'sda'], 'loop devices are not disks')
    const nvme = f.disks[0]
    assert.equal(nvme.sizeBytes, 3840755982336)
    assert.equal(nvme.rotational, false)
    assert.equal(nvme.transport, 'nvme')
    assert.equal(nvme.serial, 'S64HNE0T123456')
    assert.deepEqual(nvme.byId, ['/dev/disk/by-id/nvme-SAMSUNG_MZQL23T8HCLS-00A07_S64HNE0T123456', '/dev/disk/by-id/nvme-eui.0025388b1234'])
    assert.deepEqual(nvme.partitions.map((p) => [p.name, p.mountpoint]), [['nvme0n1p1', '/boot/efi'], ['nvme0n1p2', '/']])
    assert.equal(f.disks[1].rotational, true)
    assert.deepEqual(f.disks[1].byId, ['/dev/disk/by-id/ata-ST4000NM000A_WS2ABCDE'])
    const eno = f.nics.find((n) => n.name === 'eno1')!
    assert.deepEqual(eno, {
      name: 'eno1', mac: '3c:ec:ef:01:02:03', state: 'up', mtu: 9000,
      addresses: [{family: 'inet', address: '10.0.0.11', prefixLength: 24, scope: 'global'}, {family: 'inet6', address: 'fe80::1', prefixLength: 64, scope: 'link'}],
    })
    assert.deepEqual(f.timeSync, {synchronized: true, service: 'systemd-timesyncd', ntpEnabled: true})
    assert.deepEqual(f.listeningTcpPorts, [22, 53, 10250])
    assert.equal(f.productUuid, '4c4c4544-0042-3510-8048-b4c04f333532')
  })

  it('falls back when tools are missing: no ip, ss, lsblk, timedatectl; cgroup v1; unreadable product_uuid', () => {
    const minimal = [
      sec('os-release', 'ID=debian\nVERSION_ID="11"'),
      sec('hostname', 'old'),
      sec('kernel', '5.10.0'),
      sec('arch', 'aarch64'),
      sec('cgroupfs', 'tmpfs'),
      sec('nproc', '4'),
      sec('cpu-model', ''),
      sec('meminfo', 'MemTotal:        4000000 kB\nSwapTotal:             0 kB'),
      sec('swaps', 'Filename\tType\tSize\tUsed\tPriority'),
      sec('lsblk', ''),
      sec('disk-by-id', ''),
      sec('ip-addr', ''),
      sec('sys-net', 'eth0 52:54:00:aa:bb:cc up 1500\nlo 00:00:00:00:00:00 unknown 65536'),
      sec('timedatectl', ''),
      sec('chrony', 'Leap status     : Not synchronised'),
      sec('time-services', 'installed chronyd'),
      sec('listen', ''),
      sec('proc-net-tcp', '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n   1: 0100007F:0CEA 0100007F:0016 01 00000000:00000000 00:00000000 00000000     0        0 2 1\n  sl  local_address                         remote_address                        st\n   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1'),
      sec('product-uuid', ''),
      sec('end', ''),
    ].join('')
    const f = parseFacts(minimal)
    assert.equal(f.cgroupVersion, 1)
    assert.deepEqual(f.os, {id: 'debian', versionId: '11', prettyName: null})
    assert.equal(f.cpu.model, null)
    assert.deepEqual(f.swap, {totalBytes: 0, active: []})
    assert.deepEqual(f.disks, [])
    assert.deepEqual(f.nics.map((n) => [n.name, n.mac, n.state, n.mtu, n.addresses.length]), [['eth0', '52:54:00:aa:bb:cc', 'up', 1500, 0], ['lo', '00:00:00:00:00:00', 'unknown', 65536, 0]])
    assert.deepEqual(f.timeSync, {synchronized: false, service: 'chrony', ntpEnabled: null})
    assert.deepEqual(f.listeningTcpPorts, [22, 8080])
    assert.equal(f.productUuid, null)
  })

  it('rejects truncated output', () => {
    assert.throws(() => parseFacts(sec('hostname', 'x')), /incomplete/)
    assert.deepEqual(parseListening('', ''), [])
  })

  it('runs the real script on this machine through an executor', async () => {
    assert.match(factsScript(), /^#!\/bin\/sh/)
    const spec = HostSpec.parse({name: 'local', address: '127.0.0.1', role: 'worker'})
    const host = new Host(spec, new LocalExecutor('local'))
    const f = await gatherFacts(host)
    assert.ok(f.hostname.length > 0)
    assert.ok(f.kernel.length > 0)
    assert.ok(f.cpu.count >= 1)
    assert.ok(f.memory.totalBytes > 0)
    assert.ok(f.nics.some((n) => n.name === 'lo'))
    assert.equal(host.facts.hostname, f.hostname)
  })
})
