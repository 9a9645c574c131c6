import assert from 'node:assert/strict'
import {clearSecrets, redact, redactDeep, registerSecret} from '../../src/util/redact.js'
import {Logger} from '../../src/ui/log.js'

describe('secret redaction', () => {
  afterEach(() => clearSecrets())

  it('removes registered secrets from text and log lines', () => {
    registerSecret('hunter2-bmc')
    const lines: string[] = []
    const log = new Logger('debug', (l) => lines.push(l), false)
    log.info('ipmitool -P hunter2-bmc failed')
    assert.deepEqual(lines, ['ipmitool -P [REDACTED] failed'])
    assert.equal(redact('x hunter2-bmc y hunter2-bmc'), 'x [REDACTED] y [REDACTED]')
  })

  it('removes secrets by shape: bootstrap tokens, certificate keys, private keys', () => {
    const t = 'kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef --certificate-key ' + 'a'.repeat(64)
    const out = redact(t)
    assert.ok(!out.includes('abcdef.0123456789abcdef'))
    assert.ok(!out.includes('a'.repeat(64)))
    const pem = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----'
    assert.equal(redact(`key: ${pem}`), 'key: [REDACTED-PRIVATE-KEY]')
  })

  it('redacts JSON documents by value and by secret-looking keys', () => {
    registerSecret('s3cr3t-value')
    const out = redactDeep({bmc: {user: 'admin', password: 'whatever'}, note: 'pw s3cr3t-value', list: ['s3cr3t-value'], n: 3})
    assert.deepEqual(out, {bmc: {user: 'admin', password: '[REDACTED]'}, note: 'pw [REDACTED]', list: ['[REDACTED]'], n: 3})
  })

  it('ignores values too short to be secrets (would redact too much)', () => {
    registerSecret('ab')
    assert.equal(redact('abc'), 'abc')
  })
})
