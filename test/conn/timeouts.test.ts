/**
 * Time limits and cancelling of requests, shown with `whoami`: against a
 * server that never answers, one that answers a byte at a time, one that
 * answers late, and one that answers when told (for calls waiting their
 * turn); the default limit of `requestTimeoutMs`; the normal path through
 * the simulator.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeTelegram } from '../../src/blather/index.ts';
import {
  type Connection,
  connect,
  DEFAULT_REQUEST_TIMEOUT_MS,
  whoami,
} from '../../src/conn/index.ts';
import type { DdmwError } from '../../src/err.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { type FakeServer, hang } from '../helpers/fake-server.ts';
import {
  type HeldServer,
  OK_REPLY,
  startDripServer,
  startHeldServer,
} from '../helpers/held-server.ts';

/** Runs `fn`; returns its result and how long it took in ms. */
async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

const files = closedAfterFile();
const fake = files.fake;
const open = (addr: string, requestTimeoutMs?: number) => files.open(addr, { requestTimeoutMs });
async function held(): Promise<HeldServer> {
  const s = await startHeldServer();
  files.defer(() => s.close());
  return s;
}

/** Checks that `conn` was closed by `err`: later calls fail with it, the server saw the close. */
async function closedBy(conn: Connection, err: DdmwError, server: FakeServer): Promise<void> {
  assert.equal(conn.isClosed, true);
  assert.equal(await rejectsCode(whoami(conn, { timeoutMs: 1000 }), err.code), err);
  await within(server.allClosed(), 2000, 'the server seeing the connection closed');
}

describe('a request that runs out of time', () => {
  it('against a server that never answers: TIMEOUT naming it, the connection closed', async () => {
    const server = await fake(hang);
    const conn = await open(server.addr);
    const [err, ms] = await timed(() => rejectsCode(whoami(conn, { timeoutMs: 40 }), 'TIMEOUT'));
    assert.ok(ms >= 40, `timed out after ${ms} ms, before its 40 ms`);
    assert.match(err.message, /^WhoAmI request: no reply from 127\.0\.0\.1:\d+ within 40 ms/);
    assert.match(err.message, /connection was closed/);
    await closedBy(conn, err, server);
  });

  it('against a server that answers a byte at a time: the limit is for the whole reply', async () => {
    const server = await startDripServer(OK_REPLY, 10);
    files.defer(() => server.close());
    const conn = await open(server.addr);
    const err = await rejectsCode(whoami(conn, { timeoutMs: 60 }), 'TIMEOUT');
    assert.match(err.message, /WhoAmI request: no reply .* within 60 ms/);
    await closedBy(conn, err, server);
  });

  it('a reply after the limit is too late: the connection is closed, not out of step', async () => {
    const server = await held();
    const conn = await open(server.addr);
    const err = await rejectsCode(whoami(conn, { timeoutMs: 30 }), 'TIMEOUT');
    server.answer(); // the late reply meets a closed connection (or none)
    await closedBy(conn, err, server.fake);
  });

  it('within its limit, a slow reply is fine', async () => {
    const server = await held();
    const conn = await open(server.addr);
    const pending = whoami(conn, { timeoutMs: 2000 });
    await server.arrived(1, 'the WhoAmI request');
    server.answer();
    assert.deepEqual(await within(pending, 5000, 'the reply'), { id: 5, name: 'frank' });
    assert.equal(conn.isClosed, false);
  });
});

describe('a reply that came in time', () => {
  it('is no timeout, though this process was too busy to read it before the limit', async () => {
    const server = await fake(async ({ socket, reader }) => {
      for (;;) {
        await reader.readTelegram();
        socket.write(encodeTelegram(OK_REPLY));
      }
    });
    const conn = await open(server.addr);
    await within(whoami(conn), 5000, 'the first reply'); // the server is answering
    const pending = whoami(conn, { timeoutMs: 20 });
    // Nothing runs for 100 ms: the limit passes, and the reply is read only after it.
    const busyUntil = performance.now() + 100;
    while (performance.now() < busyUntil);
    assert.deepEqual(await within(pending, 5000, 'the reply'), { id: 5, name: 'frank' });
    assert.equal(conn.isClosed, false);
  });
});

describe('the default limit', () => {
  it('is 30 s', () => {
    assert.equal(DEFAULT_REQUEST_TIMEOUT_MS, 30_000);
  });

  it('requestTimeoutMs sets it for every request on the connection', async () => {
    const server = await fake(hang);
    const conn = await open(server.addr, 40);
    const err = await rejectsCode(whoami(conn), 'TIMEOUT');
    assert.match(err.message, /within 40 ms/);
  });

  it('a request’s own timeoutMs overrides it, longer or shorter', async () => {
    const server = await held();
    const conn = await open(server.addr, 40);
    // Longer: the reply comes after the connection's 40 ms.
    const longer = whoami(conn, { timeoutMs: 5000 });
    await server.arrived(1, 'the first WhoAmI request');
    await sleep(80); // past the connection's limit
    server.answer();
    assert.equal((await within(longer, 5000, 'the first reply')).name, 'frank');
    // Shorter than the one the watchdog is set for: it still fires in time.
    const conn2 = await open(server.addr, 5000);
    const first = whoami(conn2);
    await server.arrived(2, 'the second WhoAmI request');
    server.answer();
    await within(first, 5000, 'the second reply');
    const [err, ms] = await timed(() => rejectsCode(whoami(conn2, { timeoutMs: 40 }), 'TIMEOUT'));
    assert.ok(ms < 2000, `a 40 ms limit fired after ${ms} ms`);
    assert.match(err.message, /within 40 ms/);
  });
});

describe('a request waiting its turn', () => {
  it('runs out of time in the queue: TIMEOUT, nothing sent, the connection stays open', async () => {
    const server = await held();
    const conn = await open(server.addr);
    const first = whoami(conn);
    const err = await rejectsCode(whoami(conn, { timeoutMs: 40 }), 'TIMEOUT');
    assert.match(err.message, /^WhoAmI request: still waiting after 40 ms for the connection/);
    assert.match(err.message, /so it was not sent/);
    assert.equal(conn.isClosed, false);
    await server.arrived(1, 'the first WhoAmI request');
    server.answer();
    await within(first, 5000, 'the first reply');
    const third = whoami(conn);
    await server.arrived(2, 'the third WhoAmI request');
    server.answer();
    await within(third, 5000, 'the third reply');
    assert.equal(server.received.length, 2, 'the timed-out request was sent');
  });

  it('aborted in the queue: ABORTED, nothing sent, the connection stays open', async () => {
    const server = await held();
    const conn = await open(server.addr);
    const first = whoami(conn);
    const ac = new AbortController();
    const queued = whoami(conn, { signal: ac.signal });
    ac.abort(new Error('changed my mind'));
    const err = await rejectsCode(queued, 'ABORTED');
    assert.match(err.message, /WhoAmI request to .* was aborted before it was sent$/);
    assert.equal((err.cause as Error).message, 'changed my mind');
    await server.arrived(1, 'the first WhoAmI request');
    server.answer();
    await within(first, 5000, 'the first reply');
    assert.equal(server.received.length, 1);
    assert.equal(conn.isClosed, false);
  });
});

describe('many requests waiting on one signal', () => {
  it('aborting it drops them all, nothing sent; Node does not warn of a listener leak', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const server = await held();
      const conn = await open(server.addr);
      const first = whoami(conn);
      const ac = new AbortController();
      const queued = Array.from({ length: 20 }, () => whoami(conn, { signal: ac.signal }));
      ac.abort();
      for (const p of queued) await rejectsCode(p, 'ABORTED');
      await server.arrived(1, 'the first WhoAmI request');
      server.answer();
      await within(first, 5000, 'the first reply');
      assert.equal(server.received.length, 1);
      assert.equal(conn.isClosed, false);
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(
      warnings.map((w) => w.name),
      [],
    );
  });
});

describe('aborting a request', () => {
  it('already aborted: ABORTED at once, nothing sent, the connection stays open', async () => {
    const server = await held();
    const conn = await open(server.addr);
    const err = await rejectsCode(whoami(conn, { signal: AbortSignal.abort() }), 'ABORTED');
    assert.match(err.message, /aborted before it was sent/);
    const next = whoami(conn);
    await server.arrived(1, 'the next WhoAmI request');
    server.answer();
    await within(next, 5000, 'the next reply');
    assert.equal(server.received.length, 1);
  });

  it('while waiting for the reply: ABORTED, the connection closed', async () => {
    const server = await held();
    const conn = await open(server.addr);
    const ac = new AbortController();
    const pending = whoami(conn, { signal: ac.signal });
    await server.arrived(1, 'the WhoAmI request');
    ac.abort();
    const err = await rejectsCode(pending, 'ABORTED');
    assert.match(err.message, /WhoAmI request to .* was aborted; the connection was closed/);
    await closedBy(conn, err, server.fake);
  });

  it('a signal aborted after its request is done changes nothing', async () => {
    const server = await held();
    const conn = await open(server.addr);
    const ac = new AbortController();
    const pending = whoami(conn, { signal: ac.signal });
    await server.arrived(1, 'the WhoAmI request');
    server.answer();
    await within(pending, 5000, 'the reply');
    ac.abort();
    assert.equal(conn.isClosed, false);
  });
});

describe('option values', () => {
  it('a timeoutMs that is not a non-negative finite number is BAD_PARAMS, nothing sent', async () => {
    const server = await held();
    const conn = await open(server.addr);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '10']) {
      const err = await rejectsCode(whoami(conn, { timeoutMs: bad as number }), 'BAD_PARAMS');
      assert.match(err.message, /timeoutMs \(of WhoAmI request\) must be a non-negative finite/);
    }
    assert.equal(server.received.length, 0);
    assert.equal(conn.isClosed, false);
  });

  it('a bad requestTimeoutMs fails the connect with BAD_PARAMS, without connecting', async () => {
    const server = await held();
    for (const bad of [-5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const err = await rejectsCode(connect(server.addr, { requestTimeoutMs: bad }), 'BAD_PARAMS');
      assert.match(err.message, /requestTimeoutMs/);
    }
    assert.equal(server.fake.accepted, 0);
  });
});

describe('with the simulator', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator();
  });
  after(async () => {
    await sim.close();
  });

  it('requests with limits keep succeeding well past those limits', async () => {
    // Limits with room for a loaded machine's pauses; the loop lasts several of them.
    const conn = await open(sim.sender.mgmtif, 200);
    const ac = new AbortController();
    const start = performance.now();
    let count = 0;
    // Each request has its own deadline: the watchdog fires and re-arms several times meanwhile.
    while (performance.now() - start < 700) {
      const me = await whoami(conn, count % 2 ? { timeoutMs: 150, signal: ac.signal } : undefined);
      assert.equal(me.id, 0);
      count++;
    }
    assert.ok(count > 10, `only ${count} requests`);
    assert.equal(conn.isClosed, false);
  });

  it('concurrent requests with limits all get their replies', async () => {
    const conn = await open(sim.sender.mgmtif);
    const replies = await within(
      Promise.all(Array.from({ length: 100 }, () => whoami(conn, { timeoutMs: 2000 }))),
      5000,
      '100 concurrent replies',
    );
    assert.equal(replies.length, 100);
  });
});
