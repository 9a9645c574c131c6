import assert from 'node:assert/strict'
import {renderText} from '../../../src/render/index.js'

describe('template renderer', () => {
  it('substitutes values, nested paths, lists and conditionals', () => {
    const out = renderText('v={{ a.b }}\n{{#each xs}}\n- {{ .n }}{{#if .on}} on{{/if}}\n{{/each}}\n{{#unless none}}empty{{/unless}}\n', {
      a: {b: 7},
      xs: [{n: 'x', on: true}, {n: 'y', on: false}],
      none: [],
    })
    assert.equal(out, 'v=7\n- x on\n- y\nempty\n')
  })
  it('fails on a missing variable instead of rendering an empty string', () => {
    assert.throws(() => renderText('x={{ nope }}', {}), /variable "nope" is not set/)
    assert.throws(() => renderText('{{#each xs}}{{ .missing }}{{/each}}', {xs: [{}]}), /"\.missing"/)
    assert.throws(() => renderText('x={{ u }}', {u: undefined}), /undefined/)
  })
  it('fails on an unclosed block and on each over a non-list', () => {
    assert.throws(() => renderText('{{#if a}}x', {a: 1}), /\{\{#if a\}\} has no matching open\/close tag/)
    assert.throws(() => renderText('{{#each a}}x{{/each}}', {a: 1}), /not a list/)
  })
  it('drops comments', () => {
    assert.equal(renderText('{{! note }}\nx', {}), 'x')
  })
})
