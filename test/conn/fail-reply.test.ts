/**
 * How a reply other than `Ok` is reported: `Fail` is `SERVER_ERROR` whose
 * message gives the reason and then the other parameters (the reason not
 * repeated), with all of them in `params`; any other topic is `BAD_STATE`
 * naming what was expected and what came. Against a scripted fake server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Telegram } from '../../src/blather/index.ts';
import { sendrecv } from '../../src/conn/index.ts';
import { answerEach } from '../helpers/answer-each.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { rejectsCode } from '../helpers/errors.ts';

const files = closedAfterFile();

/** The error of a request answered with `reply`. */
async function errorOf(reply: Telegram, code: string) {
  const server = answerEach(() => reply);
  const fake = await files.fake(server.script);
  const conn = await files.open(fake.addr);
  const err = await rejectsCode(sendrecv(conn, new Telegram('Ping')), code);
  return { err, conn };
}

describe('a Fail reply', () => {
  it('gives the reason, then the other parameters, and all of them in params', async () => {
    const { err, conn } = await errorOf(
      new Telegram('Fail', { Code: 7, Reason: 'no such channel', Chan: 'news' }),
      'SERVER_ERROR',
    );
    assert.equal(err.message, 'Server replied Fail: no such channel {Code=7,Chan=news}');
    assert.deepEqual(
      [...(err.params ?? [])],
      [
        ['Code', '7'],
        ['Reason', 'no such channel'],
        ['Chan', 'news'],
      ],
    );
    assert.equal(conn.isClosed, false, 'a Fail leaves the connection usable');
  });
  it('only a reason, only other parameters, or nothing at all', async () => {
    const cases: [Telegram, string][] = [
      [new Telegram('Fail', { Reason: 'locked' }), 'Server replied Fail: locked'],
      [new Telegram('Fail', { Code: 3 }), 'Server replied Fail {Code=3}'],
      [new Telegram('Fail'), 'Server replied Fail'],
    ];
    for (const [reply, message] of cases) {
      assert.equal((await errorOf(reply, 'SERVER_ERROR')).err.message, message);
    }
  });
});

describe('a reply that is neither Ok nor Fail', () => {
  it('is BAD_STATE naming both, and closes the connection', async () => {
    const { err, conn } = await errorOf(new Telegram('Msg', { Len: 0 }), 'BAD_STATE');
    assert.equal(err.message, 'Unexpected reply from server: expected Ok or Fail, got "Msg"');
    assert.equal(conn.isClosed, true);
  });
});
