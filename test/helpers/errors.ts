/** Assertion helpers for DdmwError results. */
import assert from 'node:assert/strict';
import { DdmwError } from '../../src/err.ts';
import { within } from './deadline.ts';

/**
 * Awaits `p` (at most `ms`: a hang fails the test, saying so), which must
 * reject with a `DdmwError` of `code`; returns that error.
 */
export async function rejectsCode(
  p: Promise<unknown>,
  code: string,
  ms = 10_000,
): Promise<DdmwError> {
  try {
    await within(p, ms, `the call expected to fail with ${code}`);
  } catch (e) {
    assert.ok(e instanceof DdmwError, `not a DdmwError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}`);
}
