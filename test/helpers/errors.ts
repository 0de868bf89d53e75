/** Assertion helpers for DdmwError results. */
import assert from 'node:assert/strict';
import { DdmwError } from '../../src/err.ts';

/** Awaits `p`, which must reject with a `DdmwError` of `code`; returns that error. */
export async function rejectsCode(p: Promise<unknown>, code: string): Promise<DdmwError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DdmwError, `not a DdmwError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}`);
}
