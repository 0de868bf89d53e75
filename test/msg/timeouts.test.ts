/**
 * Time limits of messages: `send` limits each acknowledgement of the node
 * but not the writing of a part; waiting for the next message on a
 * subscription has no default limit. Against scripted fake servers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeTelegram, Telegram } from '../../src/blather/index.ts';
import { recv, send, subscribe } from '../../src/msg/index.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import type { FakeConn } from '../helpers/fake-server.ts';

const files = closedAfterFile();
const fake = files.fake;
const open = (addr: string, requestTimeoutMs?: number) => files.open(addr, { requestTimeoutMs });

const OK = (params: Record<string, string | number> = {}) =>
  encodeTelegram(new Telegram('Ok', params));

/**
 * A sender node's message interface that gives only the first `acks`
 * acknowledgements of a message (the `Ok` with the transfer id, then one
 * per part), and waits `readDelayMs` before reading the parts (a slow
 * reader: the client's writes wait for it). It sends them as soon as the
 * client connects: the one awaited in vain is then the only one a time
 * limit can hit, however busy the machine.
 */
function msgif(acks: number, readDelayMs = 0) {
  return async ({ socket, reader }: FakeConn) => {
    for (let i = 0; i < acks; i++) socket.write(i === 0 ? OK({ XferId: 7 }) : OK());
    const tg = await reader.readTelegram();
    await sleep(readDelayMs);
    await reader.skip(tg.params.getIntDef('MetaLen', 0) + tg.params.getIntDef('Len', 0));
  };
}

describe('msg.send', () => {
  const message = { ch: 1, meta: 'm=1\n\n', payload: 'payload' };

  /** All acknowledgements of `message`: the transfer id, the metadata, the payload. */
  const ALL = 3;
  for (const [acks, what] of [
    [0, 'Msg request'],
    [1, 'Acknowledgement of the metadata of message 7'],
    [2, 'Acknowledgement of the payload of message 7'],
  ] as const) {
    it(`limits each acknowledgement: no ${what} is TIMEOUT, the connection closed`, async () => {
      const server = await fake(msgif(acks));
      const conn = await open(server.addr);
      const err = await rejectsCode(
        within(send(conn, message, { timeoutMs: 40 }), 5000, 'the send'),
        'TIMEOUT',
      );
      assert.ok(err.message.startsWith(`${what}: no reply from`), err.message);
      assert.match(err.message, /within 40 ms/);
      assert.equal(conn.isClosed, true);
      await within(server.allClosed(), 2000, 'the server seeing the connection closed');
    });
  }

  it('the default limit is the connection’s requestTimeoutMs', async () => {
    const server = await fake(msgif(2));
    const conn = await open(server.addr, 40);
    const err = await rejectsCode(within(send(conn, message), 5000, 'the send'), 'TIMEOUT');
    assert.match(err.message, /payload of message 7: no reply .* within 40 ms/);
  });

  it('writing a part is not limited: a node slow to read is waited for', async () => {
    const server = await fake(msgif(2, 300)); // a payload only: two acknowledgements
    const conn = await open(server.addr);
    const size = 32 * 1024 * 1024; // more than the socket buffers take: the write waits
    const start = performance.now();
    const xferId = await within(
      send(conn, { ch: 1, payload: Buffer.alloc(size) }, { timeoutMs: 100 }),
      10_000,
      'the send',
    );
    assert.equal(xferId, '7');
    assert.ok(performance.now() - start >= 300, 'the node never made the write wait');
    assert.equal(conn.isClosed, false);
  });

  it('aborted before its turn: ABORTED, nothing sent, the connection stays open', async () => {
    const server = await fake(msgif(ALL));
    const conn = await open(server.addr);
    const err = await rejectsCode(send(conn, message, { signal: AbortSignal.abort() }), 'ABORTED');
    assert.match(err.message, /Msg request to .* was aborted before it was sent/);
    assert.equal(await within(send(conn, message), 5000, 'the next send'), '7');
  });

  it('a bad timeoutMs is BAD_PARAMS', async () => {
    const server = await fake(msgif(ALL));
    const conn = await open(server.addr);
    await rejectsCode(send(conn, message, { timeoutMs: -1 }), 'BAD_PARAMS');
    assert.equal(conn.isClosed, false);
  });
});

describe('waiting for a message on a subscription', () => {
  it('has no default limit: a message later than requestTimeoutMs is received', async () => {
    const server = await fake(async ({ socket, reader }) => {
      await reader.readTelegram(); // Sub
      socket.write(OK());
      await sleep(200); // well past the connection's 40 ms
      socket.write(encodeTelegram(new Telegram('Msg', { _Ch: 'ch', XferId: 9, Len: 2 })));
      socket.write('hi');
    });
    const conn = await open(server.addr, 40);
    await subscribe(conn, 'ch');
    const start = performance.now();
    const msg = await within(recv(conn), 5000, 'the message');
    assert.ok(performance.now() - start >= 150, 'the message came early: nothing was shown');
    assert.equal(msg.xferId, '9');
    assert.equal(msg.payload?.kind === 'bytes' && msg.payload.bytes.toString(), 'hi');
  });
});
