/**
 * What a machine does after a PXE boot, for discovery tests where the machine is an ipmi_sim:
 * post its report into the inventory, as the PXE service would on the agent's request.
 * Usage: node --import tsx test/lab/inventory/post-report.ts STORE REPORT.json [DELAY_MS]
 */
import {readFileSync} from 'node:fs'
import {openInventoryStore} from '../../../src/inventory/open.js'

const [location, file, delay] = process.argv.slice(2)
await new Promise((r) => setTimeout(r, Number(delay ?? 0)))
const store = await openInventoryStore(location)
try {
  const r = await store.record(JSON.parse(readFileSync(file, 'utf8')), {peer: '127.0.0.1', receivedAt: new Date()})
  process.stdout.write(`${r.id} ${r.created ? 'created' : 'updated'}\n`)
} finally {
  await store.close()
}
