#!/usr/bin/env node
// Root help is rendered at build time (scripts/build-help.mjs): printing it needs no framework.
const argv = process.argv.slice(2)
if (argv.length === 0 || (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h'))) {
  const {readFileSync} = await import('node:fs')
  let text
  try {
    text = readFileSync(new URL('../dist/root-help.txt', import.meta.url), 'utf8')
  } catch {}
  if (text && text.includes('@@VERSION@@')) {
    const {version} = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    process.stdout.write(text.replace('@@VERSION@@', `metalplane/${version} ${process.platform}-${process.arch} node-${process.version}`))
    process.exit(0)
  }
}
const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
