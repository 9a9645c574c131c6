import {homedir} from 'node:os'
import {join} from 'node:path'

/** $METALPLANE_STATE_DIR, else $XDG_STATE_HOME/metalplane, else ~/.local/state/metalplane. */
export function stateDir(): string {
  if (process.env.METALPLANE_STATE_DIR) return process.env.METALPLANE_STATE_DIR
  const base = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state')
  return join(base, 'metalplane')
}

/** $METALPLANE_CACHE_DIR, else $XDG_CACHE_HOME/metalplane, else ~/.cache/metalplane. */
export function cacheDir(): string {
  if (process.env.METALPLANE_CACHE_DIR) return process.env.METALPLANE_CACHE_DIR
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
  return join(base, 'metalplane')
}

/** Root of the installed package (where templates/ lives). */
export function packageRoot(): string {
  return new URL('../..', import.meta.url).pathname.replace(/\/$/, '')
}

export function templatesDir(): string {
  return join(packageRoot(), 'templates')
}
