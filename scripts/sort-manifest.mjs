// `oclif manifest` lists commands in the order their modules finished loading, which varies from
// run to run. Sort them so the committed manifest only changes when the commands do.
import {readFileSync, writeFileSync} from 'node:fs'

const file = new URL('../oclif.manifest.json', import.meta.url)
const m = JSON.parse(readFileSync(file, 'utf8'))
m.commands = Object.fromEntries(Object.keys(m.commands).sort().map((k) => [k, m.commands[k]]))
writeFileSync(file, JSON.stringify(m, null, 2) + '\n')
