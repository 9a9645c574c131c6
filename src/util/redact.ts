/**
 * Secrets registry. Anything registered here is replaced by `[REDACTED]` in every log line,
 * error message and --json document the CLI prints. Register a secret as soon as it is read
 * (BMC passwords, bootstrap tokens, certificate keys, key passphrases).
 */
const secrets = new Set<string>()

export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 4) secrets.add(value)
}

export function redact(text: string): string {
  let out = text
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join('[REDACTED]')
  }
  // Patterns that are secret by shape even if never registered.
  out = out.replace(/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g, '[REDACTED-TOKEN]') // kubeadm bootstrap token
  out = out.replace(/(--certificate-key[= ])[0-9a-f]{64}/g, '$1[REDACTED]')
  out = out.replace(/-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g, '[REDACTED-PRIVATE-KEY]')
  return out
}

/** Deep-redacts strings inside a JSON-able value. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = /password|passphrase|secret|token|certificateKey|privateKey/i.test(k) && typeof v === 'string' ? '[REDACTED]' : redactDeep(v)
    }
    return out as T
  }
  return value
}

/** For tests. */
export function clearSecrets(): void {
  secrets.clear()
}
