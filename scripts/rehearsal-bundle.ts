// Builds a REHEARSAL bundle for the lab: real containerd/runc/conntrack/iptables .debs from
// Debian's archive, and the project's test stand-ins for kubeadm, kubelet, kubectl and the
// tigera-operator manifest (test/standins, test/fixtures/bundle) because no registry reachable
// here serves the real ones. Never use it for real machines: put the real binaries in a bundle
// (docs/bundle.md). Then writes a copy of the lab's cluster spec pointing at the bundle.
// Usage: node --import tsx scripts/rehearsal-bundle.ts LAB_CLUSTER_YAML OUT_DIR   (prints the new spec's path)
import {copyFileSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {parseDocument} from 'yaml'
import {standinBundle} from '../test/lab/cluster/bundle.js'

const [specFile, outDir] = process.argv.slice(2)
if (!specFile || !outDir) {
  console.error('usage: rehearsal-bundle.ts LAB_CLUSTER_YAML OUT_DIR')
  process.exit(2)
}
const doc = parseDocument(readFileSync(specFile, 'utf8'))
const version = String(doc.getIn(['spec', 'kubernetes', 'version']))
mkdirSync(outDir, {recursive: true})
const bundle = await standinBundle(resolve(outDir), version)
mkdirSync(join(bundle, 'manifests'), {recursive: true})
copyFileSync(new URL('../test/fixtures/bundle/tigera-operator-standin.yaml', import.meta.url), join(bundle, 'manifests/tigera-operator.yaml'))
doc.setIn(['spec', 'bundle'], bundle)
const out = join(resolve(outDir), 'cluster.yaml')
writeFileSync(out, doc.toString())
console.log(out)
