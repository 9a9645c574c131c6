import type {Phase} from '../engine/phase.js'

/** Edit an ordered phase list by name, like kubeadm's phase lists. */
export class PhaseList {
  constructor(private phases: Phase[]) {}
  get names(): string[] {
    return this.phases.map((p) => p.name)
  }
  get list(): Phase[] {
    return [...this.phases]
  }
  private index(name: string): number {
    const i = this.phases.findIndex((p) => p.name === name)
    if (i < 0) throw new Error(`no phase "${name}"; phases are: ${this.names.join(', ')}`)
    return i
  }
  insertBefore(name: string, ...p: Phase[]): this {
    this.phases.splice(this.index(name), 0, ...p)
    return this
  }
  insertAfter(name: string, ...p: Phase[]): this {
    this.phases.splice(this.index(name) + 1, 0, ...p)
    return this
  }
  remove(name: string): this {
    this.phases.splice(this.index(name), 1)
    return this
  }
  replace(name: string, p: Phase): this {
    this.phases.splice(this.index(name), 1, p)
    return this
  }
  has(name: string): boolean {
    return this.phases.some((p) => p.name === name)
  }
}

function isPhase(v: unknown): v is Phase {
  const p = v as Phase
  return Boolean(p) && typeof p === 'object' && typeof p.name === 'string' && typeof p.title === 'string' && typeof p.run === 'function'
}

/**
 * Phases of optional modules (CNI, storage, GPU): a module's `phases` array when it exports one,
 * else its Phase exports (a module namespace lists them alphabetically). A module that does not
 * exist in this build contributes nothing. Where they run is up to the workflow (APPLY_ORDER).
 */
export async function optionalPhases(modules: string[]): Promise<Phase[]> {
  const out: Phase[] = []
  for (const m of modules) {
    let mod: Record<string, unknown>
    try {
      mod = (await import(m)) as Record<string, unknown>
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(m.replace(/^\.\.\//, '').replace(/\.js$/, ''))) continue
      throw error
    }
    const listed = Array.isArray(mod.phases) ? (mod.phases as unknown[]) : Object.values(mod)
    for (const v of listed) if (isPhase(v) && !out.some((p) => p.name === v.name)) out.push(v)
  }
  return out
}
