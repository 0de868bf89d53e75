/**
 * Closing a busy connection, and exchanges without a name: `close()`
 * rejects the waiting calls at once (saying this client closed it), and
 * every later call too, even while an exchange still holds the turn; an
 * exchange without a name has no time limit; an abort skips waiters
 * without a request; a bad `requestTimeoutMs` is refused. Against a server
 * that answers only when told.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect, whoami } from '../../src/conn/index.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { type HeldServer, startHeldServer } from '../helpers/held-server.ts';

const files = closedAfterFile();

async function held(): Promise<HeldServer> {
  const s = await startHeldServer();
  files.defer(() => s.close());
  return s;
}

/** An exchange without a name holding the turn until `release()`. */
function holdTurn(conn: Awaited<ReturnType<typeof connect>>) {
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { release, done: conn.exclusive(() => gate) };
}

describe('closing a busy connection', () => {
  it('rejects the waiting calls and later ones at once, while an exchange still holds the turn', async () => {
    const server = await held();
    const conn = await files.open(server.addr);
    const holder = holdTurn(conn);
    const waiting = whoami(conn);
    await conn.close();
    const err = await rejectsCode(waiting, 'DISCONNECTED', 5000);
    assert.match(err.message, /^Disconnected: the connection to .* was closed by this client$/);
    assert.equal(await rejectsCode(whoami(conn), 'DISCONNECTED', 5000), err);
    holder.release();
    await within(holder.done, 5000, 'the holder to end');
  });
});

describe('exchanges without a name', () => {
  it('have no time limit, even past requestTimeoutMs', async () => {
    const server = await held();
    const conn = await files.open(server.addr, { requestTimeoutMs: 50 });
    const holder = holdTurn(conn);
    // This request's 300 ms pass while it waits: the holder is well past the 50 ms.
    await rejectsCode(whoami(conn, { timeoutMs: 300 }), 'TIMEOUT');
    assert.equal(conn.isClosed, false);
    holder.release();
    await within(holder.done, 5000, 'the holder to end');
  });
  it('waiting without a request, they are not touched by an abort of others', async () => {
    const server = await held();
    const conn = await files.open(server.addr);
    const holder = holdTurn(conn);
    const unnamed = conn.exclusive(async () => 'ran');
    const ac = new AbortController();
    const aborted = whoami(conn, { signal: ac.signal });
    ac.abort();
    await rejectsCode(aborted, 'ABORTED');
    holder.release();
    assert.equal(await within(unnamed, 5000, 'the unnamed exchange'), 'ran');
  });
});

describe('connect', () => {
  it('refuses a bad requestTimeoutMs', async () => {
    const server = await held();
    const err = await rejectsCode(connect(server.addr, { requestTimeoutMs: -5 }), 'BAD_PARAMS');
    assert.equal(
      err.message,
      'requestTimeoutMs must be a non-negative finite number of milliseconds, got -5',
    );
    assert.equal(server.fake.accepted, 0);
  });
});
