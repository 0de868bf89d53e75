/**
 * Integer parsing at its edges: the sign a range allows, text BigInt or
 * Number would take but Rust's FromStr refuses, both ends of a range, and
 * numbers that would not be exact.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  I32,
  I64,
  parseBigIntValue,
  parseIntValue,
  SAFE_INT,
  U8,
  U64,
} from '../../src/blather/values.ts';
import { DdmwError } from '../../src/err.ts';

/** Asserts that `fn` throws a BLATHER error naming the key and the range. */
function refusesNumber(fn: () => unknown, min: string, max: string): void {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof DdmwError, String(e));
    assert.equal(e.code, 'BLATHER');
    assert.match(e.message, /"n"/);
    assert.ok(e.message.includes(`from ${min} to ${max}`), e.message);
    return true;
  });
}

describe('parseBigIntValue', () => {
  it('takes a sign only when the range has negatives', () => {
    assert.equal(parseBigIntValue('n', '-0', I64), 0n);
    assert.equal(parseBigIntValue('n', '-5', I64), -5n);
    assert.equal(parseBigIntValue('n', '+5', U64), 5n);
    refusesNumber(() => parseBigIntValue('n', '-0', U64), '0', '18446744073709551615');
  });

  for (const text of ['', ' 1', '1 ', '0x10', '1e3', '1.5', '1_000']) {
    it(`refuses ${JSON.stringify(text)}, which BigInt would take or throw on`, () => {
      refusesNumber(() => parseBigIntValue('n', text, U64), '0', '18446744073709551615');
    });
  }

  it('refuses values past either end of the range', () => {
    assert.equal(parseBigIntValue('n', '18446744073709551615', U64), U64.max);
    refusesNumber(() => parseBigIntValue('n', '18446744073709551616', U64), '0', `${U64.max}`);
    assert.equal(parseBigIntValue('n', '-9223372036854775808', I64), I64.min);
    refusesNumber(
      () => parseBigIntValue('n', '-9223372036854775809', I64),
      `${I64.min}`,
      `${I64.max}`,
    );
  });
});

describe('parseIntValue', () => {
  it('takes a sign only when the range has negatives', () => {
    assert.equal(parseIntValue('n', '-5', I32), -5);
    assert.equal(parseIntValue('n', '+5', U8), 5);
    refusesNumber(() => parseIntValue('n', '-0', U8), '0', '255');
    refusesNumber(() => parseIntValue('n', '-1', U8), '0', '255');
  });

  it('refuses values past either end of the range', () => {
    assert.equal(parseIntValue('n', '-2147483648', I32), I32.min);
    refusesNumber(() => parseIntValue('n', '-2147483649', I32), '-2147483648', '2147483647');
    refusesNumber(() => parseIntValue('n', '256', U8), '0', '255');
    refusesNumber(() => parseIntValue('n', '9', { min: 10, max: 20 }), '10', '20');
  });

  it('reads long digit strings exactly', () => {
    assert.equal(parseIntValue('n', '9007199254740991', SAFE_INT), Number.MAX_SAFE_INTEGER);
    assert.equal(parseIntValue('n', '0000000000000000042', SAFE_INT), 42);
    refusesNumber(
      () => parseIntValue('n', '9007199254740992', SAFE_INT),
      `${SAFE_INT.min}`,
      `${SAFE_INT.max}`,
    );
  });

  it('refuses a number it cannot hold exactly, whatever the range', () => {
    const wide = { min: 0, max: Number.MAX_VALUE };
    refusesNumber(() => parseIntValue('n', '18446744073709551615', wide), '0', `${wide.max}`);
  });
});
