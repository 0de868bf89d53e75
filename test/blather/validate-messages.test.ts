/**
 * The validators' answers beyond the vectors: the short-string fast paths
 * agree with the rules (long values, the last surrogate, a trailing CR),
 * each refusal says which rule was broken, and quoted text is shortened.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  quote,
  validateKey,
  validateKVLinesKey,
  validateValue,
} from '../../src/blather/validate.ts';
import { DdmwError } from '../../src/err.ts';

/** Asserts that `fn` throws a BLATHER error whose message matches every pattern. */
function refuses(fn: () => void, ...patterns: RegExp[]): void {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof DdmwError, String(e));
    assert.equal(e.code, 'BLATHER');
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

describe('quote', () => {
  it('shows text of up to 64 characters whole', () => {
    const text = 'k'.repeat(64);
    assert.equal(quote(text), JSON.stringify(text));
  });

  it('cuts longer text to 64 characters and an ellipsis', () => {
    assert.equal(quote(`${'k'.repeat(64)}TAIL`), JSON.stringify(`${'k'.repeat(64)}...`));
  });
});

describe('validateValue', () => {
  const long = 'v'.repeat(40);

  it('accepts short and long plain values, empty and with an inner CR', () => {
    for (const v of ['', 'x', 'a\rb', `${long}\rb`, long, '~'.repeat(33)]) validateValue('k', v);
  });

  for (const [name, value] of [
    ['short', 'a\nb'],
    ['long', `${long}\n${long}`],
  ] as const) {
    it(`refuses a ${name} value with a line feed, saying so`, () => {
      refuses(() => validateValue('the-key', value), /line feed/, /"the-key"/);
    });
  }

  for (const [name, value] of [
    ['short', 'abc\r'],
    ['long', `${long}\r`],
  ] as const) {
    it(`refuses a ${name} value ending with CR, saying so`, () => {
      refuses(() => validateValue('the-key', value), /carriage return/, /"the-key"/);
    });
  }

  for (const s of ['\uD800', '\uDBFF', '\uDC00', '\uDFFF', `${long}\uDFFF`, 'a\uDFFFb']) {
    it(`refuses a lone surrogate (${s.length} chars ending ${s.charCodeAt(s.length - 1).toString(16)})`, () => {
      refuses(() => validateValue('the-key', s), /lone UTF-16 surrogate/, /"the-key"/);
    });
  }

  it('accepts a surrogate pair', () => {
    validateValue('k', '😀');
    validateValue('k', `${long}😀`);
  });

  it('never shows the value in its message (it may be a secret)', () => {
    for (const v of ['hunter2\n', 'hunter2\r', 'hunter2\uD800']) {
      assert.throws(
        () => validateValue('password', v),
        (e) => e instanceof DdmwError && !e.message.includes('hunter2'),
      );
    }
  });
});

describe('validateKey', () => {
  it('accepts every printable ASCII character, in short and long keys', () => {
    const printable = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) =>
      String.fromCharCode(0x21 + i),
    ).join('');
    validateKey('~');
    validateKey('a~');
    validateKey(printable);
  });

  it('names the key, shortened, when it refuses it', () => {
    refuses(() => validateKey(`${'k'.repeat(70)} x`), /Invalid key character/, /"k{64}\.\.\."/);
  });
});

describe('validateKVLinesKey', () => {
  it('refuses a key with a space, saying why', () => {
    refuses(() => validateKVLinesKey('a b'), /"a b"/, /space, a line break or a lone surrogate/);
  });
});
