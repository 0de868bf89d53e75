/**
 * How a skipped message is reported: the `MsgError` that names it (its
 * message, and a code that never closes the connection it was skipped on),
 * and `warnSkipped`, the default report (a process warning for each of the
 * first ten, then one for every hundredth with the count).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DdmwError } from '../../src/err.ts';
import { MsgError, warnSkipped } from '../../src/msg/index.ts';

const CAUSE = new DdmwError('BAD_PARAMS', 'storeq refused the message: no');

describe('MsgError', () => {
  it('names the message by transfer id, channel and command, and says what became of it', () => {
    const skipped = new MsgError({ xferId: 'x-1', cmd: 3, ch: '7' }, CAUSE, true);
    assert.equal(
      skipped.message,
      'Message x-1 (channel 7, cmd 3) was skipped: storeq refused the message: no',
    );
    assert.deepEqual(
      [skipped.name, skipped.code, skipped.xferId, skipped.cmd, skipped.ch, skipped.skipped],
      ['MsgError', 'BAD_PARAMS', 'x-1', 3, '7', true],
    );
    assert.equal(skipped.cause, CAUSE);
    const closed = new MsgError({ xferId: 'x-2', cmd: 0, ch: 'news' }, CAUSE, false);
    assert.equal(
      closed.message,
      'Message x-2 (channel news, cmd 0) could not be skipped; the connection was closed: storeq refused the message: no',
    );
  });

  it('a header without transfer id, channel or a command that parses is named as far as known', () => {
    const err = new MsgError({ xferId: undefined, cmd: undefined, ch: undefined }, CAUSE, true);
    assert.equal(
      err.message,
      'Message (no XferId) (channel ?) was skipped: storeq refused the message: no',
    );
    assert.deepEqual([err.xferId, err.cmd, err.ch], [undefined, undefined, undefined]);
  });

  it("a skipped message's code is never one that closes the connection; one that closed it keeps its cause's", () => {
    const info = { xferId: 'x', cmd: 1, ch: '1' };
    for (const code of ['DISCONNECTED', 'TIMEOUT', 'ABORTED'] as const) {
      const cause = new DdmwError(code, 'gone');
      assert.equal(new MsgError(info, cause, true).code, 'IO', code);
      assert.equal(new MsgError(info, cause, false).code, code);
    }
    assert.equal(new MsgError(info, new DdmwError('BAD_INPUT', 'x'), true).code, 'BAD_INPUT');
  });

  it("carries the parameters of the cause (a node's Fail)", () => {
    const params = new Map([['Reason', 'slow']]);
    const cause = new DdmwError('SERVER_ERROR', 'Server replied Fail: slow', { params });
    assert.equal(new MsgError({ xferId: 'x', cmd: 1, ch: '1' }, cause, false).params, params);
  });
});

describe('warnSkipped', () => {
  it('warns of each of the first ten, then of every hundredth with the count', (t) => {
    const warn = t.mock.method(process, 'emitWarning', () => {});
    const err = new MsgError({ xferId: 'x-9', cmd: 1, ch: '7' }, CAUSE, true);
    for (let n = 1; n <= 300; n++) warnSkipped(err, n);
    const calls = warn.mock.calls.map((c) => c.arguments);
    const summary = (n: number) =>
      `${n} messages skipped so far (the first 10 and every 100th are reported); the last: ${err.message}`;
    assert.deepEqual(calls, [
      ...Array.from({ length: 10 }, () => [err.message, { code: 'DDMW_MSG_SKIPPED' }]),
      [summary(100), { code: 'DDMW_MSG_SKIPPED' }],
      [summary(200), { code: 'DDMW_MSG_SKIPPED' }],
      [summary(300), { code: 'DDMW_MSG_SKIPPED' }],
    ]);
  });
});
