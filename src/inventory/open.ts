import {join} from 'node:path'
import {InputError} from '../errors.js'
import {stateDir} from '../util/paths.js'
import {SqliteStore} from './sqlite-store.js'
import type {InventoryStore} from './store.js'

export const DEFAULT_ETCD_PREFIX = '/metalplane/inventory/'

/** Where the inventory lives unless --store says otherwise. */
export function defaultStoreLocation(): string {
  return process.env.METALPLANE_INVENTORY_STORE || `sqlite://${join(stateDir(), 'inventory.db')}`
}

/**
 * Opens a store from a location: `sqlite:///path/inventory.db` (or a plain path) or
 * `etcd://HOST:PORT[,HOST:PORT...][/prefix]`. Undefined means the default location.
 */
export async function openInventoryStore(location?: string): Promise<InventoryStore> {
  const loc = location || defaultStoreLocation()
  if (loc.startsWith('etcd://')) {
    const rest = loc.slice('etcd://'.length)
    const slash = rest.indexOf('/')
    const hostsPart = slash >= 0 ? rest.slice(0, slash) : rest
    const prefix = slash >= 0 && rest.length > slash + 1 ? rest.slice(slash).replace(/\/?$/, '/') : DEFAULT_ETCD_PREFIX
    const hosts = hostsPart.split(',').filter(Boolean)
    const bad = hosts.filter((h) => !/^[A-Za-z0-9.\-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(h))
    if (hosts.length === 0 || bad.length > 0)
      throw new InputError(`--store ${loc}: expected etcd://HOST:PORT[,HOST:PORT...]`, [{path: '--store', message: bad.length ? `bad endpoint ${bad.join(', ')}` : 'no endpoint'}])
    const {EtcdStore} = await import('./etcd-store.js')
    return EtcdStore.connect(hosts.map((h) => `http://${h}`), prefix)
  }
  if (/^[a-z]+:\/\//.test(loc) && !loc.startsWith('sqlite://')) throw new InputError(`--store ${loc}: unknown store`, [{path: '--store', message: 'use etcd://HOST:PORT or a SQLite file path'}])
  return new SqliteStore(loc.replace(/^sqlite:\/\//, ''))
}
