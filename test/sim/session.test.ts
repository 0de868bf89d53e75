/**
 * The simulator's request loop (`src/sim/session.ts`) over a real socket,
 * with a command table of its own: requests that queue up behind a slow
 * command, handlers that are plain functions, and the login timer of a
 * connection that has closed.
 */
import assert from 'node:assert/strict';
import { createServer, connect as netConnect, type Server, Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { Params } from '../../src/blather/index.ts';
import { UNAUTHENTICATED } from '../../src/sim/accounts/accounts.ts';
import { type CommandHandler, Session } from '../../src/sim/node/session.ts';
import { within } from '../helpers/deadline.ts';

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

/** The login time limit of the test sessions. */
const LOGIN_MS = 60_000;

function session(socket: Socket, commands = new Map<string, CommandHandler>()): Session {
  return new Session(socket, {
    commands,
    interfaceName: 'test',
    label: 'test',
    log: undefined,
    timeouts: { loginMs: LOGIN_MS, stallMs: 60_000, onTimeout: () => {} },
  });
}

async function serve(commands: Map<string, CommandHandler>): Promise<number> {
  const server = createServer((socket) => {
    void session(socket, commands).run();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

describe('simulator session', () => {
  it('answers thousands of requests that queued up behind a slow command, in order', async () => {
    let releaseSlow: () => void = () => {};
    const slowDone = new Promise<void>((resolve) => {
      releaseSlow = resolve;
    });
    let pings = 0;
    const port = await serve(
      new Map<string, CommandHandler>([
        ['Slow', () => slowDone.then(() => new Params().set('Slow', 'done'))],
        ['Ping', () => new Params().set('N', ++pings)],
      ]),
    );
    const client = netConnect(port, '127.0.0.1');
    const count = 3000;
    let text = '';
    const allReplies = new Promise<void>((resolve) => {
      client.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (text.split('Ok\n').length - 1 === count + 1) resolve();
      });
    });
    client.write('Slow\n\n');
    // One request per write and per event-loop turn: each arrives as its own chunk.
    for (let i = 0; i < count; i++) {
      client.write('Ping\n\n');
      await new Promise((resolve) => setImmediate(resolve));
    }
    releaseSlow();
    await within(allReplies, 10_000, 'the replies');
    const replies = text.split('\n\n').filter((r) => r !== '');
    assert.equal(replies[0], 'Ok\nSlow done');
    assert.equal(replies[count], `Ok\nN ${count}`);
    client.destroy();
  });

  it('an asynchronous handler replies when it settles; an internal error closes the session', async () => {
    const port = await serve(
      new Map<string, CommandHandler>([
        ['Later', () => Promise.resolve(new Params().set('A', 1))],
        ['Boom', () => Promise.reject(new Error('internal'))],
      ]),
    );
    const client = netConnect(port, '127.0.0.1');
    let text = '';
    const closed = new Promise<void>((resolve) => client.on('close', () => resolve()));
    client.on('data', (d: Buffer) => {
      text += d.toString();
    });
    client.write('Later\n\nBoom\n\n');
    await within(closed, 5000, 'the session closing after an internal error');
    assert.equal(text, 'Ok\nA 1\n\n');
  });

  it('a connection logged out after it closed starts no login timer', async (t) => {
    const socket = new Socket();
    socket.destroy();
    const s = session(socket);
    await within(
      new Promise((resolve) => s.closed.addEventListener('abort', resolve)),
      5000,
      'the session seeing its connection closed',
    );
    const setTimeoutSpy = t.mock.method(globalThis, 'setTimeout');
    s.account = UNAUTHENTICATED; // as an Unauth answered after the client went away
    assert.equal(setTimeoutSpy.mock.callCount(), 0);
  });

  it('the login timer of an open connection does not hold the process', (t) => {
    const setTimeoutSpy = t.mock.method(globalThis, 'setTimeout');
    const socket = new Socket();
    try {
      session(socket);
      const logins = setTimeoutSpy.mock.calls.filter((c) => c.arguments[1] === LOGIN_MS);
      const [login, ...others] = logins;
      assert.ok(login && others.length === 0, `one login timer, got ${logins.length}`);
      assert.equal((login.result as NodeJS.Timeout).hasRef(), false);
    } finally {
      socket.destroy();
    }
  });
});
