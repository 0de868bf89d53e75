/**
 * Whose turn it is on a connection, and the limits of the calls waiting for
 * it: waiting requests share one abort listener per signal (removed when
 * the last leaves), an abort takes out only its own waiters, each waiting
 * request runs out of time on its own deadline, a request whose deadline
 * passed just as its turn came is not sent, and an exchange can restart or
 * lift its time limit. Also: a call whose function throws at once, and the
 * display form. Against a server that answers only when told.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { type Connection, whoami } from '../../src/conn/index.ts';
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

/** Takes the connection's turn (an exchange without a limit) until `release()`. */
function hold(conn: Connection): { release: () => void; done: Promise<void> } {
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { release, done: conn.exclusive(() => gate) };
}

const listeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length;

describe('waiting for the turn', () => {
  it('waiting requests share one listener on their signal, removed when the last has gone', async () => {
    const server = await held();
    const conn = await files.open(server.addr);
    const holder = hold(conn);
    const { signal } = new AbortController();
    const first = whoami(conn, { signal });
    const second = whoami(conn, { signal });
    assert.equal(listeners(signal), 1, 'one listener for two waiting requests');
    holder.release();
    await server.arrived(1, 'the first request');
    assert.equal(listeners(signal), 2, 'the running one, and the one still waiting');
    server.answer();
    await within(first, 5000, 'the first reply');
    await server.arrived(2, 'the second request');
    assert.equal(listeners(signal), 1, 'only the running one');
    server.answer();
    await within(second, 5000, 'the second reply');
    assert.equal(listeners(signal), 0, 'nothing left on the signal');
  });
  it('an abort takes out only the calls waiting with that signal, unsent', async () => {
    const server = await held();
    const conn = await files.open(server.addr);
    const holder = hold(conn);
    const aborted = new AbortController();
    const other = new AbortController();
    const gone = whoami(conn, { signal: aborted.signal });
    const plain = whoami(conn);
    const otherSignal = whoami(conn, { signal: other.signal });
    aborted.abort();
    const err = await rejectsCode(gone, 'ABORTED');
    assert.match(err.message, /^WhoAmI request to .* was aborted before it was sent$/);
    holder.release();
    await server.arrived(1, 'the call without a signal');
    server.answer();
    await within(plain, 5000, 'the call without a signal');
    await server.arrived(2, 'the call with the other signal');
    server.answer();
    await within(otherSignal, 5000, 'the call with the other signal');
    assert.equal(server.received.length, 2, 'the aborted call was never sent');
  });
  it('each waiting request runs out of time on its own deadline; the others wait on', async () => {
    const server = await held();
    const conn = await files.open(server.addr);
    const holder = hold(conn);
    const early = whoami(conn, { timeoutMs: 50 });
    const later = whoami(conn, { timeoutMs: 400 });
    const unlimited = conn.exclusive(async () => 'ran');
    const patient = whoami(conn, { timeoutMs: 60_000 });
    const earlyErr = await rejectsCode(early, 'TIMEOUT');
    assert.match(earlyErr.message, /^WhoAmI request: still waiting after 50 ms /);
    const laterErr = await rejectsCode(later, 'TIMEOUT', 10_000);
    assert.match(laterErr.message, /^WhoAmI request: still waiting after 400 ms /);
    assert.equal(conn.isClosed, false);
    holder.release();
    assert.equal(await within(unlimited, 5000, 'the exchange without a limit'), 'ran');
    await server.arrived(1, 'the patient request');
    server.answer();
    await within(patient, 5000, 'the patient request');
  });
  it('a request whose deadline passed as its turn came is not sent', async () => {
    const server = await held();
    const conn = await files.open(server.addr);
    const holder = hold(conn);
    const late = whoami(conn, { timeoutMs: 20 });
    const until = performance.now() + 40;
    // Keep the event loop busy past the deadline, so that no timer can see
    // it first; the turn is handed on in the same tick.
    while (performance.now() < until);
    holder.release();
    const err = await rejectsCode(late, 'TIMEOUT');
    assert.match(err.message, /still waiting after 20 ms/);
    assert.equal(conn.isClosed, false);
    assert.equal(server.received.length, 0);
  });
  it('a limit of 0 on an idle connection is the limit of the reply (sent, then closed)', async () => {
    const server = await held();
    const conn = await files.open(server.addr);
    const err = await rejectsCode(whoami(conn, { timeoutMs: 0 }), 'TIMEOUT');
    assert.match(err.message, /no reply from .* within 0 ms; the connection was closed/);
    assert.equal(conn.isClosed, true);
  });
});

describe('the time limit inside an exchange', () => {
  it('startLimit gives an exchange without a limit the default one, naming the reply', async () => {
    const server = await held();
    const conn = await files.open(server.addr, { requestTimeoutMs: 100 });
    const err = await rejectsCode(
      conn.exclusive((io) => {
        io.stopLimit(); // nothing to lift yet
        io.startLimit('Waiting for the ack');
        return io.reader.readTelegram();
      }),
      'TIMEOUT',
    );
    assert.match(err.message, /^Waiting for the ack: no reply from .* within 100 ms/);
  });
  it('stopLimit lifts the limit of the running request', async () => {
    const server = await held();
    const conn = await files.open(server.addr);
    const running = conn.exclusive(
      (io) => {
        io.stopLimit();
        io.writeRequest('WhoAmI\n\n');
        return io.reader.readTelegram();
      },
      'Lifted request',
      { timeoutMs: 100 },
    );
    // A later request's 300 ms pass while it waits: the running one is past its 100 ms.
    await rejectsCode(whoami(conn, { timeoutMs: 300 }), 'TIMEOUT');
    assert.equal(conn.isClosed, false);
    await server.arrived(1, 'the lifted request');
    server.answer();
    assert.equal((await within(running, 5000, 'the lifted request')).topic, 'Ok');
  });
});

describe('exclusive', () => {
  it('a function that throws at once rejects the call; the connection goes on', async () => {
    const server = await held();
    const conn = await files.open(server.addr);
    const err = await rejectsCode(
      conn.exclusive(() => {
        throw new Error('bad argument');
      }),
      'IO',
    );
    assert.equal(err.message, 'bad argument');
    const after = whoami(conn);
    await server.arrived(1, 'the next request');
    server.answer();
    await within(after, 5000, 'the next request');
  });
  it('shows as Connection <address>, and says when it is closed', async () => {
    const server = await held();
    const conn = await files.open(server.addr);
    assert.equal(inspect(conn), `Connection <${server.addr}>`);
    await conn.close();
    assert.equal(inspect(conn), `Connection <${server.addr}, closed>`);
  });
});
