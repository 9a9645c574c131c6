// Real disks: loop devices on sparse files, partitioned and formatted by the local-volumes phase
// through a LocalExecutor on this machine. Needs root, losetup, sgdisk, partprobe, mkfs.xfs.
//
// This machine's PID 1 is not systemd, so the phase runs with systemd: 'never': it writes the
// mount unit (into a temp dir, never /etc/systemd/system) and mounts with mount(8). The unit's
// name is checked against the real `systemd-escape`; enabling it through systemd is not tested
// here (real hosts do that with `systemctl enable --now`).
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {runWorkflow, WorkflowFailedError} from '../../../src/engine/manager.js'
import {ExitCode} from '../../../src/errors.js'
import {Host} from '../../../src/hosts/host.js'
import {LocalExecutor} from '../../../src/hosts/local.js'
import {createLocalVolumesPhase, FS_LABEL, PART_LABEL} from '../../../src/phases/storage.js'
import {parseSpec} from '../../../src/spec/load.js'
import {silentLogger} from '../../../src/ui/log.js'

const sh = (cmd: string) => execFileSync('/bin/sh', ['-c', cmd], {encoding: 'utf8'})
const probe = (dev: string) => sh(`blkid -p -o export ${dev} || true`)

describe('local volumes on real (loop) disks', function () {
  this.timeout(120_000)
  let dir: string
  const loops: string[] = []
  let devDisk: string
  let mountRoot: string
  let unitDir: string

  function loopDisk(id: string, sizeMiB = 512): string {
    const file = join(dir, `${id}.img`)
    sh(`truncate -s ${sizeMiB}M ${file}`)
    const dev = sh(`losetup -f --show -P ${file}`).trim()
    loops.push(dev)
    symlinkSync(dev, join(devDisk, 'by-id', id))
    return dev
  }

  function hostFor(volumes: {disk: string; wipe?: boolean}[]): {spec: ReturnType<typeof parseSpec>; hosts: Host[]} {
    const spec = parseSpec(JSON.stringify({
      apiVersion: 'metalplane.io/v1alpha1',
      kind: 'Cluster',
      metadata: {name: 'disks'},
      spec: {
        kubernetes: {version: '1.31.4'},
        storage: {mountRoot},
        hosts: [{name: 'lab1', address: '127.0.0.1', role: 'controller+worker', localVolumes: volumes}],
      },
    }))
    return {spec, hosts: spec.spec.hosts.map((h) => new Host(h, new LocalExecutor(h.name)))}
  }

  const phase = () => createLocalVolumesPhase({devDiskRoot: devDisk, unitDir, systemd: 'never'})
  const run = (s: ReturnType<typeof hostFor>, dryRun = false) =>
    runWorkflow([phase()], {workflow: 'apply', spec: s.spec, hosts: s.hosts, dryRun, concurrency: 4, log: silentLogger, renderer: 'silent', exitCodeFor: {'local-volumes': ExitCode.PREFLIGHT}})

  before(function () {
    if (process.getuid?.() !== 0) this.skip()
    for (const t of ['losetup', 'sgdisk', 'partprobe', 'mkfs.xfs', 'wipefs', 'systemd-escape']) {
      try {
        sh(`command -v ${t}`)
      } catch {
        this.skip()
      }
    }
    dir = mkdtempSync(join(tmpdir(), 'mp-disks-'))
    devDisk = join(dir, 'dev-disk')
    mkdirSync(join(devDisk, 'by-id'), {recursive: true})
    mountRoot = join(dir, 'mnt')
    unitDir = join(dir, 'units')
  })

  after(() => {
    if (!dir) return
    // Unmount everything under our mount root, then detach our loop devices, then remove files.
    try {
      const mounts = sh(`findmnt -rn -o TARGET | grep -F ${JSON.stringify(dir + '/')} || true`).split('\n').filter(Boolean)
      for (const m of mounts.reverse()) sh(`umount ${JSON.stringify(m)} || umount -l ${JSON.stringify(m)} || true`)
    } catch {}
    sh(`chattr -R -i ${JSON.stringify(mountRoot)} 2>/dev/null || true`)
    for (const l of loops) {
      try {
        sh(`losetup -d ${l}`)
      } catch {}
    }
    rmSync(dir, {recursive: true, force: true})
  })

  it('partitions, formats (xfs) and mounts an empty disk; writes the mount unit by UUID', async () => {
    const dev = loopDisk('loop-mp-empty')
    const s = hostFor([{disk: '/dev/disk/by-id/loop-mp-empty'}])

    const plan = await run(s, true)
    assert.ok(plan.actions.some((a) => /partition \/dev\/disk\/by-id\/loop-mp-empty/.test(a.action)), JSON.stringify(plan.actions))
    assert.equal(probe(dev).includes('PTTYPE'), false, 'dry-run changed nothing')

    const r = await run(s)
    assert.ok(r.ok)
    const part = `${dev}p1`
    const p = probe(part)
    assert.match(p, new RegExp(`^PART_ENTRY_NAME=${PART_LABEL}$`, 'm'))
    assert.match(p, /^TYPE=xfs$/m)
    assert.match(p, new RegExp(`^LABEL=${FS_LABEL}$`, 'm'))
    const uuid = /^UUID=(.+)$/m.exec(p)![1]
    const where = join(mountRoot, 'loop-mp-empty')
    assert.equal(sh(`findmnt -n -o SOURCE --mountpoint ${where}`).trim(), part)

    const unitName = sh(`systemd-escape -p --suffix=mount ${where}`).trim()
    const unit = readFileSync(join(unitDir, unitName), 'utf8')
    assert.match(unit, new RegExp(`^What=/dev/disk/by-uuid/${uuid}$`, 'm'))
    assert.match(unit, new RegExp(`^Where=${where}$`, 'm'))
    assert.match(unit, /^Type=xfs$/m)

    // Data written now must survive a re-run, which must change nothing.
    sh(`echo keep > ${where}/keep`)
    const again = await run(s)
    assert.equal(again.changed, 0)
    assert.deepEqual(again.actions, [])
    assert.equal(readFileSync(join(where, 'keep'), 'utf8'), 'keep\n')
  })

  it('recognises its own disk after an unmount and only mounts it again (no wipe even with wipe: true)', async () => {
    const where = join(mountRoot, 'loop-mp-empty')
    sh(`umount ${where}`)
    const s = hostFor([{disk: '/dev/disk/by-id/loop-mp-empty', wipe: true}])
    assert.match(sh(`lsattr -d ${where}`), /^\S*i\S* /, 'the bare mount point is immutable')
    assert.throws(() => sh(`touch ${where}/stray 2>&1`), 'nothing can be written into the bare mount point')
    const r = await run(s)
    assert.ok(r.actions.every((a) => !/ERASE|partition|format/.test(a.action)), JSON.stringify(r.actions))
    assert.ok(r.actions.some((a) => /^mount /.test(a.action)))
    assert.equal(readFileSync(join(where, 'keep'), 'utf8'), 'keep\n')
  })

  it('refuses a disk carrying a filesystem, changing nothing on any disk of the run', async () => {
    const foreign = loopDisk('loop-mp-foreign')
    sh(`mkfs.ext4 -q -L precious ${foreign}`)
    const empty = loopDisk('loop-mp-other')
    const s = hostFor([{disk: '/dev/disk/by-id/loop-mp-other'}, {disk: '/dev/disk/by-id/loop-mp-foreign'}])
    await assert.rejects(run(s), (e: unknown) => {
      assert.ok(e instanceof WorkflowFailedError)
      assert.equal(e.exitCode, ExitCode.PREFLIGHT)
      assert.match(e.message, /  - lab1: disk \/dev\/disk\/by-id\/loop-mp-foreign \(\/dev\/loop\d+\) is not empty: it has a filesystem: ext4 "precious"\. Set wipe: true for this disk to erase it/)
      return true
    })
    assert.match(probe(foreign), /^LABEL=precious$/m)
    assert.equal(probe(empty).trim(), '', 'the empty disk of the same run was not touched either')
  })

  it('erases and prepares it with wipe: true', async () => {
    const s = hostFor([{disk: '/dev/disk/by-id/loop-mp-foreign', wipe: true}])
    const r = await run(s)
    assert.ok(r.actions.some((a) => /^ERASE \/dev\/disk\/by-id\/loop-mp-foreign .*ext4 "precious"/.test(a.action)), JSON.stringify(r.actions))
    const dev = join(devDisk, 'by-id', 'loop-mp-foreign')
    const real = sh(`readlink -f ${dev}`).trim()
    assert.match(probe(`${real}p1`), /^TYPE=xfs$/m)
    assert.ok(existsSync(join(mountRoot, 'loop-mp-foreign')))
    assert.equal(sh(`findmnt -n -o FSTYPE --mountpoint ${join(mountRoot, 'loop-mp-foreign')}`).trim(), 'xfs')
  })

  it('erases a disk with two partitions (wipe: true) and leaves one partition of ours', async () => {
    const dev = loopDisk('loop-mp-parts')
    sh(`sgdisk -n 1:0:+100M -n 2:0:0 ${dev} >/dev/null && partprobe ${dev} 2>/dev/null; mkfs.ext4 -q -L old ${dev}p2`)
    const refused = hostFor([{disk: '/dev/disk/by-id/loop-mp-parts'}])
    await assert.rejects(run(refused), /a gpt partition table; partition \/dev\/loop\d+p1; partition \/dev\/loop\d+p2 \(ext4 "old"\)\. Set wipe: true/)
    const r = await run(hostFor([{disk: '/dev/disk/by-id/loop-mp-parts', wipe: true}]))
    assert.ok(r.ok)
    assert.deepEqual(sh(`lsblk -nrpo PATH,TYPE ${dev}`).trim().split('\n'), [`${dev} loop`, `${dev}p1 part`])
    assert.match(probe(`${dev}p1`), /^PART_ENTRY_NAME=metalplane-local$/m)
  })

  it('formats ext4 when the volume asks for it', async () => {
    const dev = loopDisk('loop-mp-ext4', 64)
    const s = hostFor([{disk: '/dev/disk/by-id/loop-mp-ext4', fsType: 'ext4'} as any])
    await run(s)
    assert.match(probe(`${dev}p1`), /^TYPE=ext4$/m)
  })
})
