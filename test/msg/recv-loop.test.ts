/**
 * The receive loops on a subscribed connection, against a scripted node
 * that writes a fixed sequence of messages: `recvLoop` (awaits its handler
 * for each message, reports skipped ones, ends quietly when aborted, fails
 * with a `Fail` from the node or its handler's error) and `messages`
 * (a `'stream'` payload read to its end or destroyed lets it go on).
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import type { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { encodeTelegram, Telegram } from '../../src/blather/index.ts';
import type { Connection } from '../../src/conn/index.ts';
import {
  type Msg,
  type MsgError,
  messages,
  recv,
  recvLoop,
  type StoreQ,
} from '../../src/msg/index.ts';
import type { StreamEvent } from '../../src/strm/index.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { sha } from '../helpers/sha.ts';

const files = closedAfterFile();

/** A `Msg` on channel 7 with its payload. */
function msg(xferId: string, cmd: number, payload: Buffer | string): Buffer {
  const bytes = Buffer.from(payload);
  return Buffer.concat([
    encodeTelegram(new Telegram('Msg', { _Ch: 7, XferId: xferId, Cmd: cmd, Len: bytes.length })),
    bytes,
  ]);
}

/** A complete stream of one chunk on channel 7. */
function strm(xferId: string, data: string): Buffer {
  const bytes = Buffer.from(data);
  return Buffer.concat([
    encodeTelegram(new Telegram('Strm', { _Ch: 7, XferId: xferId })),
    encodeTelegram(new Telegram('Chunk', { Len: bytes.length })),
    bytes,
    encodeTelegram(new Telegram('StrmEnd', { Len: bytes.length, Sha256: sha(bytes) })),
  ]);
}

/** A connection to a node that writes `bytes` as soon as it is connected, then waits. */
async function nodeSending(...bytes: Buffer[]): Promise<Connection> {
  const server = await files.fake(({ socket }) => {
    socket.write(Buffer.concat(bytes));
  });
  return files.open(server.addr);
}

function text(m: Msg | StreamEvent): string {
  assert.equal(m.kind, 'msg');
  const payload = (m as Msg).payload;
  assert.equal(payload?.kind, 'bytes', `payload of ${m.xferId}`);
  return (payload as { bytes: Buffer }).bytes.toString();
}

/** Refuses messages with command 2; buffers the others. */
const refuseCmd2: StoreQ = (info) => {
  if (info.cmd === 2) throw new Error('no store for cmd 2');
  return 'bytes';
};

describe('recvLoop', () => {
  it('awaits its handler for each message in turn, reports a skipped one, and ends quietly when aborted', async () => {
    const conn = await nodeSending(msg('a', 1, 'one'), msg('b', 2, 'two'), msg('c', 3, 'three'));
    const ac = new AbortController();
    const log: string[] = [];
    const skipped: [string | undefined, boolean, number, string][] = [];
    await within(
      recvLoop(conn, {
        signal: ac.signal,
        storeq: refuseCmd2,
        onSkipped: (err: MsgError, n: number) =>
          skipped.push([err.xferId, err.skipped, n, err.message]),
        onMsg: async (m) => {
          log.push(`start ${m.xferId} ${text(m)}`);
          await turn(); // a handler that takes a while: the next message waits for it
          log.push(`end ${m.xferId}`);
          if (m.xferId === 'c') ac.abort();
        },
      }),
      5000,
      'the loop to end once aborted',
    );
    assert.deepEqual(log, ['start a one', 'end a', 'start c three', 'end c']);
    assert.deepEqual(skipped, [
      [
        'b',
        true,
        1,
        'Message b (channel 7, cmd 2) was skipped: storeq refused the message: no store for cmd 2',
      ],
    ]);
    assert.equal(conn.isClosed, true, 'aborting closes the connection');
  });

  it('rejects with the error its handler throws', async () => {
    const conn = await nodeSending(msg('a', 1, 'one'), msg('b', 1, 'two'));
    const broke = new Error('handler broke');
    const seen: string[] = [];
    await assert.rejects(
      within(
        recvLoop(conn, {
          onMsg: (m) => {
            seen.push(text(m));
            throw broke;
          },
        }),
        5000,
        'the loop to fail',
      ),
      (e) => e === broke,
    );
    assert.deepEqual(seen, ['one']);
  });

  it('a signal aborted before it starts: no message is handled, the connection is closed', async () => {
    const conn = await nodeSending(msg('a', 1, 'one'));
    const seen: string[] = [];
    await within(
      recvLoop(conn, { signal: AbortSignal.abort(), onMsg: (m) => void seen.push(text(m)) }),
      5000,
      'the loop with an aborted signal to end',
    );
    assert.deepEqual(seen, []);
    await within(conn.closed, 5000, 'the connection to close');
  });

  it('a Fail from the node ends it with SERVER_ERROR and the reason', async () => {
    const fail = encodeTelegram(new Telegram('Fail', { Reason: 'subscriber too slow' }));
    const conn = await nodeSending(msg('a', 1, 'one'), fail);
    const seen: string[] = [];
    const err = await rejectsCode(
      recvLoop(conn, { onMsg: (m) => void seen.push(text(m)) }),
      'SERVER_ERROR',
      5000,
    );
    assert.equal(err.message, 'Server replied Fail: subscriber too slow');
    assert.deepEqual(seen, ['one']);
  });

  it('with streams: true, hands streams to the handler too', async () => {
    const conn = await nodeSending(strm('s', 'streamed bytes'), msg('m', 1, 'after'));
    const ac = new AbortController();
    const seen: string[] = [];
    await within(
      recvLoop(conn, {
        streams: true,
        signal: ac.signal,
        onMsg: async (m) => {
          if (m.kind === 'stream') {
            const parts: Buffer[] = [];
            for await (const c of m.stream) parts.push(c as Buffer);
            seen.push(`stream ${m.xferId} ${Buffer.concat(parts)}`);
          } else {
            seen.push(`msg ${m.xferId} ${text(m)}`);
            ac.abort();
          }
        },
      }),
      5000,
      'the stream and the message',
    );
    assert.deepEqual(seen, ['stream s streamed bytes', 'msg m after']);
  });
});

describe('messages', () => {
  it("goes on after a 'stream' payload read to its end, and after one destroyed unread", async () => {
    const big = Buffer.alloc(100_000, 0x61);
    const conn = await nodeSending(
      msg('read', 1, big),
      msg('dropped', 1, big),
      msg('c', 1, 'last'),
    );
    const storeq: StoreQ = (info) => (info.xferId === 'c' ? 'bytes' : 'stream');
    const seen: string[] = [];
    const loop = (async () => {
      for await (const m of messages(conn, { storeq })) {
        const stream = (m.payload as { stream?: Readable }).stream;
        if (m.xferId === 'read') {
          let n = 0;
          for await (const c of stream as Readable) n += (c as Buffer).length;
          seen.push(`read ${n}`);
        } else if (m.xferId === 'dropped') {
          stream?.destroy();
          seen.push('destroyed');
        } else {
          seen.push(text(m));
          break;
        }
      }
    })();
    await within(loop, 5000, 'three messages');
    assert.deepEqual(seen, ['read 100000', 'destroyed', 'last']);
    assert.equal(conn.isClosed, false, 'breaking out leaves the connection open');
  });

  it('once the loop is left, its signal is no longer its: aborting it later leaves the connection open', async () => {
    const conn = await nodeSending(msg('a', 1, 'one'), msg('b', 1, 'two'));
    const ac = new AbortController();
    const loop = (async () => {
      for await (const m of messages(conn, { signal: ac.signal })) {
        assert.equal(text(m), 'one');
        break;
      }
    })();
    await within(loop, 5000, 'the first message');
    assert.equal(
      getEventListeners(ac.signal, 'abort').length,
      0,
      'a listener was left on the signal',
    );
    ac.abort();
    assert.equal(conn.isClosed, false, 'the abort closed a connection the loop had left');
    const next = await within(recv(conn), 5000, 'the next message after the loop');
    assert.equal(text(next), 'two');
  });
});
