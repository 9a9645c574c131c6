import {readFile} from 'node:fs/promises'

/** Mount points at or below `dir` (from /proc/mounts), deepest first so they can be unmounted in order. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/mounts', 'utf8')
  return text
    .split('\n')
    .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((m): m is string => Boolean(m) && (m === dir || m.startsWith(dir + '/')))
    .sort((a, b) => b.length - a.length)
}
