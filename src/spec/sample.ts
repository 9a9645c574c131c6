import {render} from '../render/index.js'
import {parseSpec} from './load.js'

export interface SampleOptions {
  name?: string
  version?: string
  controllers?: number
  workers?: number
  /** First host address; the others follow (IPv4). */
  firstAddress?: string
  vip?: string
  file?: string
}

/** A commented sample spec that validates as written. */
export function sampleSpec(o: SampleOptions = {}): string {
  const controllers = o.controllers ?? 3
  const workers = o.workers ?? 2
  const [a, b, c, d] = (o.firstAddress ?? '192.0.2.11').split('.').map(Number)
  const hosts = Array.from({length: controllers + workers}, (_, i) => ({
    name: i < controllers ? `cp${i + 1}` : `worker${i - controllers + 1}`,
    address: `${a}.${b}.${c}.${d + i}`,
    role: i < controllers ? 'controller' : 'worker',
    first: i === 0,
  }))
  const text = render('spec/cluster.yaml', {
    name: o.name ?? 'my-cluster',
    version: o.version ?? '1.31.4',
    vip: o.vip ?? `${a}.${b}.${c}.${d - 1}`,
    hosts,
    file: o.file ?? 'cluster.yaml',
  })
  parseSpec(text) // the sample must always validate
  return text
}
