#!/usr/bin/env node
// Runs the benchmarks: cold start always; the lab ones (fan-out, PXE, cluster apply) as root.
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'

const here = new URL('.', import.meta.url).pathname
const which = process.argv.slice(2)
const all = ['coldstart', 'fanout', 'pxe', 'cluster-apply']
for (const b of which.length ? which : all) {
  const file = `${here}${b}.mjs`
  if (!existsSync(file)) {
    console.error(`bench ${b}: ${file} not found`)
    continue
  }
  if (b !== 'coldstart' && process.getuid?.() !== 0) {
    console.error(`bench ${b}: needs root (it builds a lab); skipped`)
    continue
  }
  const r = spawnSync(process.execPath, [file], {stdio: 'inherit'})
  if (r.status !== 0) process.exitCode = 1
}
