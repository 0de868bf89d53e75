/**
 * Every request function takes `{ timeoutMs, signal }` as its last argument:
 * each one, against a server that never answers, times out with `TIMEOUT`
 * naming its request and is aborted with `ABORTED`, and either closes the
 * connection. Each one also works within a limit against the simulator.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as auth from '../../src/auth.ts';
import { Telegram } from '../../src/blather/index.ts';
import {
  type Connection,
  connect,
  expectOkFail,
  type RequestOptions,
  sendrecv,
  whoami,
} from '../../src/conn/index.ts';
import { acc } from '../../src/mgmt/index.ts';
import { subscribe } from '../../src/msg/index.ts';
import { getNodeInfo } from '../../src/probe.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { type HeldServer, startHeldServer } from '../helpers/held-server.ts';

/** A request function, called with `options` as its last argument. */
interface Case {
  name: string;
  /** The topic it sends (none: it only reads). */
  topic?: string;
  call: (conn: Connection, options: RequestOptions) => Promise<unknown>;
}

const CASES: Case[] = [
  { name: 'conn.whoami', topic: 'WhoAmI', call: (c, o) => whoami(c, o) },
  { name: 'sendrecv', topic: 'Ping', call: (c, o) => sendrecv(c, new Telegram('Ping'), o) },
  { name: 'expectOkFail', call: (c, o) => expectOkFail(c, o) },
  { name: 'probe.getNodeInfo', topic: 'GetNodeInfo', call: (c, o) => getNodeInfo(c, o) },
  { name: 'auth.token', topic: 'Auth', call: (c, o) => auth.token(c, 'tkn', o) },
  { name: 'auth.accpass', topic: 'Auth', call: (c, o) => auth.accpass(c, 'a', 'p', true, o) },
  {
    name: 'auth.authenticate',
    topic: 'Auth',
    call: (c, o) => auth.authenticate(c, { name: 'a', pass: 'p' }, o),
  },
  { name: 'auth.unauthenticate', topic: 'Unauth', call: (c, o) => auth.unauthenticate(c, o) },
  { name: 'msg.subscribe', topic: 'Sub', call: (c, o) => subscribe(c, 'ch', o) },
  { name: 'mgmt.acc.rd', topic: 'RdAcc', call: (c, o) => acc.rd(c, 'someone', o) },
  { name: 'mgmt.acc.ls', topic: 'LsAcc', call: (c, o) => acc.ls(c, true, o) },
  { name: 'mgmt.acc.wr', topic: 'WrAcc', call: (c, o) => acc.wr(c, 'x', { lock: true }, o) },
  { name: 'mgmt.acc.rm', topic: 'RmAcc', call: (c, o) => acc.rm(c, 'x', o) },
];

describe('every request function against a server that never answers', () => {
  let server: HeldServer;
  const conns: Connection[] = [];
  before(async () => {
    server = await startHeldServer(); // it never answers unless told
  });
  after(async () => {
    await Promise.all(conns.map((c) => c.close()));
    await server.close();
  });
  const open = async () => {
    const conn = await connect(server.addr);
    conns.push(conn);
    return conn;
  };

  for (const c of CASES) {
    it(`${c.name}: TIMEOUT naming the request, the connection closed`, async () => {
      const conn = await open();
      const start = performance.now();
      const err = await rejectsCode(c.call(conn, { timeoutMs: 30 }), 'TIMEOUT');
      assert.ok(performance.now() - start >= 30, 'timed out before its limit');
      const what = c.topic ? `${c.topic} request` : 'Waiting for Ok or Fail';
      assert.ok(err.message.startsWith(`${what}: no reply from`), err.message);
      assert.match(err.message, /within 30 ms; the connection was closed/);
      assert.equal(conn.isClosed, true);
      await rejectsCode(c.call(conn, {}), 'TIMEOUT');
    });

    it(`${c.name}: ABORTED once sent, the connection closed`, async () => {
      const conn = await open();
      const ac = new AbortController();
      const sentBefore = server.received.length;
      const pending = c.call(conn, { signal: ac.signal });
      if (c.topic) {
        await server.arrived(sentBefore + 1, `the ${c.topic} request`);
        assert.equal(server.received.at(-1)?.topic, c.topic);
      }
      ac.abort();
      const err = await rejectsCode(pending, 'ABORTED');
      assert.match(err.message, /was aborted; the connection was closed/);
      assert.equal(conn.isClosed, true);
    });
  }
});

describe('every request function within a limit, against the simulator', () => {
  let sim: Simulator;
  let mgmt: Connection;
  before(async () => {
    sim = await startSimulator({
      accounts: [
        { name: 'admin', pass: 'admin-pass', perms: ['*'] },
        { name: 'victim', pass: 'victim-pass' },
      ],
    });
    mgmt = await connect(sim.receiver.mgmtif, { requestTimeoutMs: 2000 });
  });
  after(async () => {
    await mgmt.close();
    await sim.close();
  });

  it('the calls succeed with timeoutMs and a signal given', async () => {
    const o = { timeoutMs: 2000, signal: new AbortController().signal };
    assert.equal((await getNodeInfo(mgmt, o)).nodeType, 'receiver');
    assert.equal(await auth.accpass(mgmt, 'admin', 'admin-pass', false, o), undefined);
    assert.equal((await whoami(mgmt, o)).name, 'admin');
    assert.equal((await acc.rd(mgmt, undefined, o)).name, 'admin');
    await acc.wr(mgmt, 'victim', { lock: true }, o);
    assert.equal((await acc.rd(mgmt, 'victim', o)).lock, true);
    await acc.rm(mgmt, 'victim', o);
    assert.deepEqual(
      (await acc.ls(mgmt, true, o)).map((e) => e.name),
      ['admin'],
    );
    await auth.unauthenticate(mgmt, o);
    assert.equal((await whoami(mgmt, o)).id, 0);
    await auth.authenticate(mgmt, { name: 'admin', pass: 'admin-pass' }, o);
    assert.equal((await sendrecv(mgmt, new Telegram('WhoAmI'), o)).get('Name'), 'admin');
    const sub = await connect(sim.receiver.subif, { auth: { name: 'admin', pass: 'admin-pass' } });
    try {
      await subscribe(sub, 'limits', o);
    } finally {
      await sub.close();
    }
  });
});
