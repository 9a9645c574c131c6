// Renders the root help once at build time (dist/root-help.txt), with oclif's own help class,
// so `metalplane --help` and bare `metalplane` print it without loading the framework.
// Command help (`metalplane cluster apply --help`) still goes through oclif.
import {writeFileSync} from 'node:fs'
import {Config, Help} from '@oclif/core'

const config = await Config.load({root: new URL('..', import.meta.url).pathname})
let text = ''
const help = new Help(config, {maxWidth: 80, stripAnsi: true})
help.log = (...args) => {
  text += args.join(' ') + '\n'
}
await help.showHelp([])
// The version line is filled in at run time (the node running it may differ from the build's).
text = text.replace(`${config.userAgent}`, '@@VERSION@@')
writeFileSync(new URL('../dist/root-help.txt', import.meta.url), text)
