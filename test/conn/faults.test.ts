/**
 * Connection behaviour under faults, against a scripted fake server: drops
 * at every byte offset of a reply, garbage, unexpected replies, hangs,
 * timeouts, aborts, refused connections, and request serialisation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeTelegram, Telegram } from '../../src/blather/index.ts';
import { connect, sendrecv, whoami } from '../../src/conn/index.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { hang, writeAndEnd } from '../helpers/fake-server.ts';
import { freePort } from '../helpers/free-port.ts';

const { fake } = closedAfterFile();

const REPLY = encodeTelegram(new Telegram('Ok', { Id: 5, Name: 'frank' }));

describe('a reply cut at every byte offset', () => {
  it('ends in DISCONNECTED every time, never a hang', async () => {
    for (let cut = 0; cut < REPLY.length; cut++) {
      const server = await fake(async ({ socket, reader }) => {
        await reader.readTelegram();
        await writeAndEnd(socket, REPLY.subarray(0, cut));
      });
      const conn = await connect(server.addr);
      await rejectsCode(whoami(conn), 'DISCONNECTED');
      assert.equal(conn.isClosed, true);
      await server.close();
    }
  });
  it('the whole reply works', async () => {
    const server = await fake(async ({ socket, reader }) => {
      await reader.readTelegram();
      await writeAndEnd(socket, REPLY);
    });
    const conn = await connect(server.addr);
    assert.deepEqual(await whoami(conn), { id: 5, name: 'frank' });
    await conn.close();
  });
});

describe('bad replies', () => {
  it('garbage is a fatal BLATHER error: later calls fail with it', async () => {
    const server = await fake(async ({ socket, reader }) => {
      await reader.readTelegram();
      socket.write('not a topic\n\n');
    });
    const conn = await connect(server.addr);
    const first = await rejectsCode(whoami(conn), 'BLATHER');
    const second = await rejectsCode(whoami(conn), 'BLATHER');
    assert.equal(first, second);
    await within(conn.closed, 2000, 'close');
  });
  it('an unexpected topic is BAD_STATE and closes the connection', async () => {
    const server = await fake(async ({ socket, reader }) => {
      await reader.readTelegram();
      socket.write(encodeTelegram(new Telegram('Msg', { Len: 3 })));
    });
    const conn = await connect(server.addr);
    await rejectsCode(whoami(conn), 'BAD_STATE');
    await within(conn.closed, 2000, 'close');
  });
  it('Fail is SERVER_ERROR with its params, and the connection stays usable', async () => {
    const server = await fake(async ({ socket, reader }) => {
      await reader.readTelegram();
      socket.write(encodeTelegram(new Telegram('Fail', { Reason: 'nope', Code: 7 })));
      await reader.readTelegram();
      socket.write(REPLY);
    });
    const conn = await connect(server.addr);
    const err = await rejectsCode(whoami(conn), 'SERVER_ERROR');
    assert.equal(err.params?.get('Reason'), 'nope');
    assert.match(err.message, /nope/);
    assert.equal((await whoami(conn)).name, 'frank');
    await conn.close();
  });
  it('a missing reply key is MISSING_DATA', async () => {
    const server = await fake(async ({ socket, reader }) => {
      await reader.readTelegram();
      socket.write(encodeTelegram(new Telegram('Ok', { Id: 1 })));
    });
    const conn = await connect(server.addr);
    await rejectsCode(whoami(conn), 'MISSING_DATA');
    await conn.close();
  });
});

describe('serialisation', () => {
  it('concurrent calls never interleave and get their own replies', async () => {
    const server = await fake(async ({ socket, reader }) => {
      for (;;) {
        const tg = await reader.nextTelegram();
        if (!tg) return;
        // Answer slowly, echoing the request's key, to expose any mix-up.
        await new Promise((r) => setTimeout(r, 2));
        socket.write(encodeTelegram(new Telegram('Ok', { Echo: tg.params.getStr('N') })));
      }
    });
    const conn = await connect(server.addr);
    const calls = Array.from({ length: 50 }, (_, i) =>
      sendrecv(conn, new Telegram('Ping', { N: i, Pad: 'x'.repeat(i * 100) })),
    );
    const replies = await Promise.all(calls);
    replies.forEach((p, i) => {
      assert.equal(p.get('Echo'), String(i));
    });
    await conn.close();
  });
  it('pending calls reject when the connection is closed', async () => {
    const server = await fake(hang); // never answers
    const conn = await connect(server.addr);
    const a = whoami(conn);
    const b = whoami(conn);
    await new Promise((r) => setTimeout(r, 20));
    await conn.close();
    await rejectsCode(a, 'DISCONNECTED');
    await rejectsCode(b, 'DISCONNECTED');
    await rejectsCode(whoami(conn), 'DISCONNECTED');
  });
});

describe('connect failures', () => {
  it('a closed port is an IO error naming the address', async () => {
    const port = await freePort();
    const err = await rejectsCode(connect(`127.0.0.1:${port}`), 'IO');
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
  });
  it('a malformed address is a PARSE error', async () => {
    await rejectsCode(connect('no-port'), 'PARSE');
    await rejectsCode(connect('host:99999'), 'PARSE');
  });
  it('times out against a server that never answers, leaving no socket open', async () => {
    const server = await fake(hang);
    const start = Date.now();
    const err = await rejectsCode(
      connect(server.addr, { auth: { name: 'a', pass: 'b' }, timeoutMs: 150 }),
      'TIMEOUT',
    );
    assert.ok(Date.now() - start < 2000);
    assert.match(err.message, /150 ms/);
    await within(server.allClosed(), 2000, 'server side close');
  });
  it('aborts, before and during the connect, leaving no socket open', async () => {
    const server = await fake(hang);
    await rejectsCode(connect(server.addr, { signal: AbortSignal.abort() }), 'ABORTED');
    assert.equal(server.accepted, 0);
    const ac = new AbortController();
    const pending = connect(server.addr, { auth: { name: 'a', pass: 'b' }, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await rejectsCode(pending, 'ABORTED');
    await within(server.allClosed(), 2000, 'server side close');
  });
  it('a refused authentication fails the connect and closes the socket', async () => {
    const server = await fake(async ({ socket, reader }) => {
      await reader.readTelegram();
      socket.write(encodeTelegram(new Telegram('Fail', { Reason: 'bad credentials' })));
    });
    await rejectsCode(
      connect(server.addr, { auth: { name: 'a', pass: 'secret-pw' } }),
      'SERVER_ERROR',
    );
    await within(server.allClosed(), 2000, 'server side close');
  });
});
