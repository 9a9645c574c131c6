#!/usr/bin/env node
// SSH fan-out: `metalplane hosts exec -- true` over N lab hosts against parallel-ssh and ansible
// on the same hosts, median of R runs, as ratios. Needs root (it starts a lab) and the Debian
// packages pssh and ansible. Usage: node bench/fanout.mjs [hosts=10] [runs=5]   (after npm run build)
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {measure, printTable, timeCmd} from './lib.mjs'

const nHosts = Number(process.argv[2] ?? 10)
const runs = Number(process.argv[3] ?? 5)
const bin = new URL('../bin/run.js', import.meta.url).pathname
const name = 'bench'
const work = mkdtempSync(join(tmpdir(), 'mp-fanout-'))
const env = {METALPLANE_STATE_DIR: join(work, 'state')}
const cp = join(work, 'ansible-cp')

function cli(args) {
  const r = spawnSync(process.execPath, [bin, ...args], {encoding: 'utf8', env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'inherit']})
  if (r.status !== 0) throw new Error(`metalplane ${args.join(' ')} exited ${r.status}`)
  return JSON.parse(r.stdout)
}

let lab
try {
  lab = cli(['lab', 'up', '--name', name, '--hosts', String(nHosts), '--json'])
  const addrs = lab.hosts.map((h) => h.address)
  const sshOpts = `-i ${lab.keyFile} -o UserKnownHostsFile=${lab.knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes`
  writeFileSync(join(work, 'hosts.txt'), addrs.map((a) => `root@${a}`).join('\n') + '\n')
  writeFileSync(
    join(work, 'inventory.ini'),
    '[all]\n' + addrs.join('\n') + `\n\n[all:vars]\nansible_user=root\nansible_ssh_private_key_file=${lab.keyFile}\nansible_ssh_common_args='-o UserKnownHostsFile=${lab.knownHosts} -o StrictHostKeyChecking=yes'\nansible_python_interpreter=/usr/bin/python3\n`,
  )
  const ansibleEnv = {ANSIBLE_SSH_CONTROL_PATH_DIR: cp, ANSIBLE_HOST_KEY_CHECKING: 'True', ANSIBLE_LOAD_CALLBACK_PLUGINS: '0', ANSIBLE_STDOUT_CALLBACK: 'minimal'}
  const medians = measure(
    [
      {name: `metalplane hosts exec -- true (${nHosts} hosts)`, run: () => timeCmd(process.execPath, [bin, 'hosts', 'exec', '-c', lab.clusterYaml, '--concurrency', String(nHosts), '--', 'true'], {env})},
      {name: `parallel-ssh -p ${nHosts}`, run: () => timeCmd('parallel-ssh', ['-p', String(nHosts), '-h', join(work, 'hosts.txt'), '-x', sshOpts, 'true'])},
      {name: `ansible -m command -f ${nHosts} (ControlPersist, warm)`, run: () => timeCmd('ansible', ['all', '-i', join(work, 'inventory.ini'), '-m', 'command', '-a', 'true', '-f', String(nHosts)], {env: ansibleEnv})},
    ],
    runs,
  )
  const ours = Object.keys(medians)[0]
  printTable(`SSH fan-out over ${nHosts} lab hosts, median of ${runs} (targets: <= 1.0x parallel-ssh, ansible/metalplane >= 2.5)`, medians, ours)
  const [m, p, a] = Object.values(medians)
  console.log(`  metalplane / parallel-ssh = ${(m / p).toFixed(2)}   ansible / metalplane = ${(a / m).toFixed(2)}`)
  if (process.env.BENCH_JSON) console.log(JSON.stringify({bench: 'fanout', hosts: nHosts, runs, medians}))
} finally {
  // Ansible's ControlPersist masters outlive the run: ask each one to exit through its socket.
  try {
    for (const s of readdirSync(cp)) spawnSync('ssh', ['-O', 'exit', '-o', `ControlPath=${join(cp, s)}`, 'placeholder'], {stdio: 'ignore'})
  } catch {}
  if (lab) spawnSync(process.execPath, [bin, 'lab', 'down', '--name', name], {env: {...process.env, ...env}, stdio: 'inherit'})
  rmSync(work, {recursive: true, force: true})
}
