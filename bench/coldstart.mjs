#!/usr/bin/env node
// Cold start of the CLI against a bare `node -e 0`, median of N runs (default 10).
// Usage: node bench/coldstart.mjs [runs]     (after `npm run build`)
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {measure, printTable, timeCmd} from './lib.mjs'

const runs = Number(process.argv[2] ?? 10)
const bin = new URL('../bin/run.js', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'mp-bench-'))
const spec = join(dir, 'cluster.yaml')
timeCmd(process.execPath, [bin, 'init', '-o', spec])
try {
  const node = process.execPath
  const medians = measure(
    [
      {name: 'node -e 0', run: () => timeCmd(node, ['-e', '0'])},
      {name: 'metalplane --help', run: () => timeCmd(node, [bin, '--help'])},
      {name: 'metalplane spec validate --help', run: () => timeCmd(node, [bin, 'spec', 'validate', '--help'])},
      {name: 'metalplane spec validate -c cluster.yaml', run: () => timeCmd(node, [bin, 'spec', 'validate', '-c', spec])},
    ],
    runs,
  )
  printTable(`Cold start, median of ${runs} (target: metalplane --help <= 2.5x node -e 0)`, medians, 'node -e 0')
  if (process.env.BENCH_JSON) console.log(JSON.stringify({bench: 'coldstart', runs, medians}))
} finally {
  rmSync(dir, {recursive: true, force: true})
}
