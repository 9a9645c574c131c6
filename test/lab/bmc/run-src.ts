/**
 * Runs one `metalplane TOPIC VERB ...` command class straight from src/ (through tsx), so
 * tests exercise the current code without a build. Errors and exit codes go through
 * oclif's handler as in the real binary.
 * Usage: node --import tsx test/lab/bmc/run-src.ts TOPIC VERB [args...]
 */
import {Config, flush, handle} from '@oclif/core'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('../../..', import.meta.url))
const [topic, verb, ...argv] = process.argv.slice(2)
try {
  if (!/^[a-z]+$/.test(topic ?? '') || !/^[a-z]+$/.test(verb ?? '')) throw new Error('usage: run-src.ts TOPIC VERB [args...]')
  const mod = (await import(`../../../src/commands/${topic}/${verb}.ts`)) as {default: {run(argv: string[], opts: Config): Promise<unknown>}}
  const config = await Config.load({root})
  await mod.default.run(argv, config)
  await flush()
} catch (error) {
  await handle(error as Error)
}
