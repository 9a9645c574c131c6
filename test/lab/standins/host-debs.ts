// Debian packages a lab host (bookworm minbase) needs before kubeadm's preflight passes.
import {execFileSync} from 'node:child_process'
import {mkdirSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {cacheDir} from '../../../src/util/paths.js'

export const KUBEADM_HOST_PACKAGES = ['iptables', 'conntrack', 'libip6tc2', 'libnetfilter-conntrack3', 'libnfnetlink0', 'libnftnl11', 'netbase']

/**
 * What kubeadm's preflight requires that a bookworm minbase lacks: iptables and (for control planes
 * < 1.32) conntrack, with the libraries they need there. Downloaded on this machine (cached).
 */
export function kubeadmHostDebs(): string[] {
  const dir = join(cacheDir(), 'test-debs', 'kubeadm-host')
  const pkgs = KUBEADM_HOST_PACKAGES
  mkdirSync(dir, {recursive: true})
  const have = () => readdirSync(dir).filter((f) => f.endsWith('.deb'))
  if (!pkgs.every((p) => have().some((f) => f.startsWith(`${p}_`)))) execFileSync('apt-get', ['download', ...pkgs], {cwd: dir, stdio: 'ignore', timeout: 300_000})
  return have().map((f) => join(dir, f))
}
