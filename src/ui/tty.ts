import {InputError} from '../errors.js'

/** True only when a person can answer a prompt: stdin and stdout are TTYs and we are not in CI. */
export function isInteractive(): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY && !process.env.CI)
}

/** Fail with the flag that would have answered, instead of prompting without a TTY. */
export function requireInteractive(question: string, flagHint: string): void {
  if (!isInteractive()) {
    throw new InputError(`${question} needs an answer but there is no terminal to ask on`, [], `Pass ${flagHint}`)
  }
}

export async function confirm(message: string, opts: {yes?: boolean; flag?: string} = {}): Promise<boolean> {
  if (opts.yes) return true
  requireInteractive(message, opts.flag ?? '--yes')
  const {confirm: ask} = await import('@inquirer/prompts')
  return ask({message, default: false})
}

export async function promptSecret(message: string, envHint: string): Promise<string> {
  requireInteractive(message, envHint)
  const {password} = await import('@inquirer/prompts')
  return password({message, mask: true})
}
