/**
 * The options of `connect`: a bad time limit is `BAD_PARAMS` before any
 * socket is opened, a limit of 0 is allowed, an aborted connect says where
 * to and keeps the reason, a refused connect names the address, and the
 * signal is let go once the connect is done (aborting it later changes
 * nothing), also while the socket is still connecting. Against a scripted fake server.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { Telegram } from '../../src/blather/index.ts';
import { connect, whoami } from '../../src/conn/index.ts';
import { DdmwError } from '../../src/err.ts';
import { answerEach } from '../helpers/answer-each.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { freePort } from '../helpers/free-port.ts';

const files = closedAfterFile();

/** A fake server answering every request as `whoami` expects. */
async function server() {
  const answering = answerEach(() => new Telegram('Ok', { Id: 5, Name: 'frank' }));
  return files.fake(answering.script);
}

describe('connect options', () => {
  it('a negative, infinite or NaN timeoutMs is BAD_PARAMS, and no socket is opened', async () => {
    const fake = await server();
    for (const timeoutMs of [-1, Number.POSITIVE_INFINITY, Number.NaN]) {
      const err = await rejectsCode(connect(fake.addr, { timeoutMs }), 'BAD_PARAMS');
      assert.equal(err.message, `timeoutMs must be a non-negative number, got ${timeoutMs}`);
    }
    assert.equal(fake.accepted, 0);
  });
  it('a timeoutMs of 0 is allowed: the connect succeeds or runs out of time', async () => {
    const fake = await server();
    const outcome = await within(
      connect(fake.addr, { timeoutMs: 0 }).then(
        async (conn) => {
          await conn.close();
          return 'connected';
        },
        (e: unknown) => (e instanceof DdmwError ? e.code : String(e)),
      ),
      10_000,
      'the connect with a limit of 0',
    );
    assert.ok(['connected', 'TIMEOUT'].includes(outcome), outcome);
  });
  it('an aborted connect names the address and keeps the reason as its cause', async () => {
    const fake = await server();
    const reason = new Error('the user gave up');
    const err = await rejectsCode(
      connect(fake.addr, { signal: AbortSignal.abort(reason) }),
      'ABORTED',
    );
    assert.equal(err.message, `Connecting to ${fake.addr} was aborted`);
    assert.equal(err.cause, reason);
  });
  it('a connect aborted before the socket connects rejects at once, not hangs', async () => {
    const fake = await server();
    const ac = new AbortController();
    const pending = connect(fake.addr, { signal: ac.signal });
    ac.abort(); // the TCP connect cannot have completed: it takes a trip through the event loop
    const err = await rejectsCode(pending, 'ABORTED', 5000);
    assert.equal(err.message, `Connecting to ${fake.addr} was aborted`);
  });
  it('a refused connect is an IO error naming the address', async () => {
    const addr = `127.0.0.1:${await freePort()}`;
    const err = await rejectsCode(connect(addr), 'IO');
    assert.match(err.message, new RegExp(`^Cannot connect to ${addr}: .*ECONNREFUSED`));
  });
  it('the signal is let go once connected: aborting it later changes nothing', async () => {
    const fake = await server();
    const ac = new AbortController();
    const conn = await files.open(fake.addr, { signal: ac.signal });
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
    ac.abort();
    assert.equal(conn.isClosed, false);
    assert.deepEqual(await whoami(conn), { id: 5, name: 'frank' });
  });
});
