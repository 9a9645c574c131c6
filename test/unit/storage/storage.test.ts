import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {
  decideDisk,
  diskContents,
  isOurs,
  mergeProbe,
  mountUnitName,
  parseBlkidExport,
  parseLsblk,
  pvName,
  renderMountUnit,
  storageObjects,
  systemdEscapePath,
  type BlockDev,
} from '../../../src/phases/storage.js'

const dir = new URL('./lsblk/', import.meta.url).pathname
const lsblk = (f: string): BlockDev => parseLsblk(readFileSync(join(dir, f), 'utf8'))
const blkid = (f: string) => parseBlkidExport(readFileSync(join(dir, f), 'utf8'))
const DISK = '/dev/disk/by-id/nvme-SAMSUNG_MZQL23T8HCLS-00A07_S64HNE0T512345'

describe('local volumes: disk decision', () => {
  it('an empty disk is prepared', () => {
    const d = decideDisk({host: 'w1', disk: DISK, dev: lsblk('empty-nvme.json'), wipe: false})
    assert.deepEqual(d, {kind: 'empty'})
  })

  it('a disk with partitions is refused, naming host, disk and what is on it', () => {
    const d = decideDisk({host: 'w1', disk: DISK, dev: lsblk('partitioned-nvme.json'), wipe: false})
    assert.equal(d.kind, 'refuse')
    const reason = (d as {reason: string}).reason
    assert.match(reason, /^disk \/dev\/disk\/by-id\/nvme-SAMSUNG\S+ \(\/dev\/nvme2n1\) is not empty/)
    assert.match(reason, /a gpt partition table/)
    assert.match(reason, /partition \/dev\/nvme2n1p1 \(vfat, partition name "EFI System Partition"\)/)
    assert.match(reason, /partition \/dev\/nvme2n1p2 \(LVM2_member\)/)
    assert.match(reason, /Set wipe: true for this disk to erase it/)
  })

  it('a disk with a filesystem is refused', () => {
    const d = decideDisk({host: 'w2', disk: DISK, dev: lsblk('filesystem-nvme.json'), wipe: false})
    assert.equal(d.kind, 'refuse')
    assert.match((d as {reason: string}).reason, /a filesystem: ext4 "scratch".*Set wipe: true for this disk to erase it/)
  })

  it('wipe: true allows erasing partitions and filesystems', () => {
    const a = decideDisk({host: 'w1', disk: DISK, dev: lsblk('partitioned-nvme.json'), wipe: true})
    assert.equal(a.kind, 'wipe')
    assert.equal((a as {found: string[]}).found.length, 3)
    assert.equal(decideDisk({host: 'w1', disk: DISK, dev: lsblk('filesystem-nvme.json'), wipe: true}).kind, 'wipe')
  })

  it('a mounted disk is refused even with wipe: true', () => {
    const d = decideDisk({host: 'w1', disk: DISK, dev: lsblk('mounted-nvme.json'), wipe: true})
    assert.equal(d.kind, 'refuse')
    assert.match((d as {reason: string}).reason, /in use \(mounted: \/dev\/nvme0n1p1 at \/boot\/efi, \/dev\/nvme0n1p2 at \/\)/)
  })

  it('a disk prepared by us is recognised and not wiped again, even with wipe: true', () => {
    for (const wipe of [false, true]) {
      const d = decideDisk({host: 'w1', disk: DISK, dev: lsblk('ours-nvme.json'), wipe})
      assert.deepEqual(d, {
        kind: 'ours',
        partition: '/dev/nvme1n1p1',
        uuid: '3f0c2a9e-5d41-4b8e-9a77-2c6b1e0d4f88',
        fsType: 'xfs',
        mountpoint: '/mnt/metalplane/nvme-SAMSUNG_MZQL23T8HCLS-00A07_S64HNE0T512345',
      })
    }
  })

  it('a partition with our name but a foreign filesystem label is not ours', () => {
    const dev = lsblk('ours-nvme.json')
    dev.children![0].label = 'data'
    dev.children![0].mountpoint = null
    assert.equal(isOurs(dev), false)
    assert.equal(decideDisk({host: 'w1', disk: DISK, dev, wipe: false}).kind, 'refuse')
  })

  it('a partition given as the disk is refused', () => {
    const dev: BlockDev = {name: 'nvme1n1p1', path: '/dev/nvme1n1p1', type: 'part'}
    assert.match((decideDisk({host: 'w1', disk: DISK + '-part1', dev, wipe: true}) as {reason: string}).reason, /is a partition, not a whole disk/)
  })

  it('without udev lsblk sees nothing; blkid -p probes reveal the filesystem (captured on a loop device)', () => {
    const bare = lsblk('loop-ext4.json')
    assert.equal(diskContents(bare).length, 0, 'lsblk alone misses it')
    const dev = mergeProbe(bare, {'/dev/loop0': blkid('blkid-loop-ext4.txt')})
    const d = decideDisk({host: 'lab', disk: '/dev/disk/by-id/loop-test', dev, wipe: false})
    assert.equal(d.kind, 'refuse')
    assert.match((d as {reason: string}).reason, /a filesystem: ext4 "data"/)
  })

  it('recognises our layout from blkid probes (captured on a loop device)', () => {
    const dev = mergeProbe(lsblk('loop-ours.json'), {'/dev/loop0': blkid('blkid-loop-ours-disk.txt'), '/dev/loop0p1': blkid('blkid-loop-ours-part.txt')})
    const d = decideDisk({host: 'lab', disk: '/dev/disk/by-id/loop-test', dev, wipe: false})
    assert.equal(d.kind, 'ours')
    assert.equal((d as {partition: string}).partition, '/dev/loop0p1')
  })
})

describe('local volumes: mount unit names', () => {
  const paths = [
    '/mnt/metalplane/nvme-SAMSUNG_MZQL23T8HCLS-00A07_S64HNE0T512345',
    '/mnt/metalplane/nvme-eui.36344730526046580025384500000001',
    '/mnt/metalplane/pci-0000:3b:00.0-nvme-1',
    '/mnt/metal plane/wwn-0x5002538e40a1b2c3',
    '/var/lib/metal-plane/disk_1',
    '//mnt//x/./y/',
    '/',
    '/.hidden/a',
    '/mnt/ü/Ä-b',
    '/mnt/a\\b',
    '/mnt/a~b+c@d%e',
    '/mnt/.x.y',
  ]
  for (const p of paths) {
    it(`matches systemd-escape -p --suffix=mount for ${JSON.stringify(p)}`, () => {
      const real = execFileSync('systemd-escape', ['-p', '--suffix=mount', p], {encoding: 'utf8'}).trim()
      assert.equal(mountUnitName(p), real)
    })
  }
  it('refuses relative and non-normalized paths', () => {
    assert.throws(() => systemdEscapePath('mnt/x'), /absolute/)
    assert.throws(() => systemdEscapePath('/mnt/../x'), /normalized/)
  })

  it('renders the mount unit by filesystem UUID', () => {
    const unit = renderMountUnit({host: 'w1', disk: DISK, uuid: '3f0c2a9e-5d41-4b8e-9a77-2c6b1e0d4f88', where: '/mnt/metalplane/x', fsType: 'xfs'})
    assert.match(unit, /^What=\/dev\/disk\/by-uuid\/3f0c2a9e-5d41-4b8e-9a77-2c6b1e0d4f88$/m)
    assert.match(unit, /^Where=\/mnt\/metalplane\/x$/m)
    assert.match(unit, /^Type=xfs$/m)
    assert.match(unit, /^Options=defaults,noatime,nofail$/m)
    assert.match(unit, /^WantedBy=local-fs.target$/m)
  })
})

describe('local volumes: Kubernetes objects', () => {
  it('a no-provisioner StorageClass and one PV per volume', () => {
    const [sc, pv] = storageObjects('local-nvme', [{host: 'w1', disk: DISK, where: '/mnt/metalplane/x', bytes: 3840753885184 - 1024 * 1024 * 1024, fsType: 'xfs'}])
    assert.deepEqual(Object.keys(sc).sort(), ['apiVersion', 'kind', 'metadata', 'provisioner', 'reclaimPolicy', 'volumeBindingMode'])
    assert.equal((sc as any).provisioner, 'kubernetes.io/no-provisioner')
    assert.equal((sc as any).volumeBindingMode, 'WaitForFirstConsumer')
    assert.equal(pv.metadata.name, 'local-w1-nvme-samsung-mzql23t8hcls-00a07-s64hne0t512345')
    const spec = (pv as any).spec
    assert.equal(spec.local.path, '/mnt/metalplane/x')
    assert.equal(spec.capacity.storage, String(3840753885184 - 1024 * 1024 * 1024))
    assert.deepEqual(spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0], {key: 'kubernetes.io/hostname', operator: 'In', values: ['w1']})
  })

  it('PV names stay valid for long ids', () => {
    const n = pvName('worker-with-a-rather-long-name', '/dev/disk/by-id/' + 'nvme-'.padEnd(300, 'X'))
    assert.ok(n.length <= 253)
    assert.match(n, /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/)
  })
})

describe('local volumes: StorageClass and PV phase', () => {
  it('finds the mounted volumes on every host and applies SC + PVs through the first controller', async () => {
    const {RecordingExecutor} = await import('../kube/recording.js')
    const {Host} = await import('../../../src/hosts/host.js')
    const {parseSpec} = await import('../../../src/spec/load.js')
    const {runWorkflow} = await import('../../../src/engine/manager.js')
    const {silentLogger} = await import('../../../src/ui/log.js')
    const {createLocalVolumeObjectsPhase} = await import('../../../src/phases/storage.js')
    const spec = parseSpec(JSON.stringify({
      apiVersion: 'metalplane.io/v1alpha1', kind: 'Cluster', metadata: {name: 's'},
      spec: {
        kubernetes: {version: '1.31.4'},
        hosts: [
          {name: 'cp1', address: '10.0.0.1', role: 'controller'},
          {name: 'w1', address: '10.0.0.2', role: 'worker', localVolumes: [{disk: DISK}]},
        ],
      },
    }))
    const where = '/mnt/metalplane/nvme-SAMSUNG_MZQL23T8HCLS-00A07_S64HNE0T512345'
    const findmnt = JSON.stringify({filesystems: [{target: where, fstype: 'xfs', size: 3839578390528, label: 'mp-local'}]})
    const cp = new RecordingExecutor('cp1', (cmd) => (cmd.includes(' diff ') ? {code: 1} : {}))
    const w1 = new RecordingExecutor('w1', (cmd) => (cmd.startsWith('findmnt') ? {stdout: findmnt} : {}))
    const hosts = [new Host(spec.spec.hosts[0], cp), new Host(spec.spec.hosts[1], w1)]
    const r = await runWorkflow([createLocalVolumeObjectsPhase()], {workflow: 'apply', spec, hosts, dryRun: false, concurrency: 2, log: silentLogger, renderer: 'silent'})
    assert.deepEqual(r.actions.map((a) => `${a.host}: ${a.action}`), ['cp1: kubectl apply StorageClass local-nvme and 1 PersistentVolume(s)'])
    const apply = cp.calls.find((c) => c.cmd.endsWith(' apply -f -'))!
    assert.match(apply.input!, /kind: StorageClass/)
    assert.match(apply.input!, /storage: "3839578390528"/)
    assert.match(apply.input!, new RegExp(`path: ${where}`))
    assert.equal(w1.calls[0].cmd, `findmnt -J -b -o TARGET,FSTYPE,SIZE,LABEL --mountpoint ${where}`)
  })
})

describe('local volumes: systemd path (recorded commands)', () => {
  it('formats an empty disk and mounts it with systemctl enable --now, never restart', async () => {
    const {RecordingExecutor} = await import('../kube/recording.js')
    const {Host} = await import('../../../src/hosts/host.js')
    const {parseSpec} = await import('../../../src/spec/load.js')
    const {runWorkflow} = await import('../../../src/engine/manager.js')
    const {silentLogger} = await import('../../../src/ui/log.js')
    const {createLocalVolumesPhase} = await import('../../../src/phases/storage.js')
    const spec = parseSpec(JSON.stringify({
      apiVersion: 'metalplane.io/v1alpha1', kind: 'Cluster', metadata: {name: 's'},
      spec: {kubernetes: {version: '1.31.4'}, hosts: [{name: 'w1', address: '10.0.0.2', role: 'controller+worker', localVolumes: [{disk: DISK}]}]},
    }))
    const empty = readFileSync(join(dir, 'empty-nvme.json'), 'utf8')
    const ex = new RecordingExecutor('w1', (cmd) => {
      if (cmd.startsWith('dev=$(readlink')) return {stdout: `@@metalplane-probe device /dev/nvme1n1\n${empty}@@metalplane-probe blkid /dev/nvme1n1\n`}
      if (cmd.startsWith('dev=/dev/nvme1n1')) return {stdout: '/dev/nvme1n1p1\n'}
      if (cmd.startsWith('blkid -p -o value -s UUID')) return {stdout: '3f0c2a9e-5d41-4b8e-9a77-2c6b1e0d4f88\n'}
      if (cmd.startsWith('findmnt') || cmd.startsWith('systemctl is-enabled')) return {code: 1}
      return {}
    })
    const r = await runWorkflow([createLocalVolumesPhase({systemd: 'always'})], {
      workflow: 'apply', spec, hosts: [new Host(spec.spec.hosts[0], ex)], dryRun: false, concurrency: 1, log: silentLogger, renderer: 'silent',
    })
    assert.ok(r.ok)
    const unit = 'mnt-metalplane-nvme\\x2dSAMSUNG_MZQL23T8HCLS\\x2d00A07_S64HNE0T512345.mount'
    const cmds = ex.calls.map((c) => c.cmd)
    assert.ok(cmds.includes('sgdisk -n 1:0:0 -t 1:8300 -c 1:metalplane-local /dev/nvme1n1 >/dev/null'), cmds.join('\n'))
    assert.ok(cmds.includes('mkfs.xfs -f -q -L mp-local /dev/nvme1n1p1'))
    const mount = cmds.find((c) => c.includes('systemctl enable'))!
    assert.ok(mount.includes(`systemctl daemon-reload && systemctl enable --quiet --now '${unit}'`), mount)
    assert.ok(mount.startsWith("mkdir -p /mnt/metalplane/nvme-SAMSUNG_MZQL23T8HCLS-00A07_S64HNE0T512345 && if ! mountpoint -q"), mount)
    assert.ok(!cmds.some((c) => /wipefs|zap-all|restart/.test(c)), 'an empty disk is not wiped; nothing restarted')
    assert.ok(r.actions.some((a) => a.action === `write /etc/systemd/system/${unit}`))
  })
})
