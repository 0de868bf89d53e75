/**
 * Time limits of a stream being sent: the node's replies to the opening,
 * the end and an abort are awaited within the limit; the time the stream is
 * held open and written is not limited. Against a scripted fake server.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeTelegram, Telegram } from '../../src/blather/index.ts';
import { DdmwError } from '../../src/err.ts';
import { open, type StreamWriter } from '../../src/strm/index.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { within } from '../helpers/deadline.ts';
import type { FakeConn } from '../helpers/fake-server.ts';

const files = closedAfterFile();
const fake = files.fake;
const connection = (addr: string) => files.open(addr);

/** A message interface that accepts a stream and answers its end or abort only when `answerEnd`. */
function strmif(answerOpen: boolean, answerEnd: boolean) {
  return async ({ socket, reader }: FakeConn) => {
    await reader.readTelegram(); // Strm
    if (!answerOpen) return;
    socket.write(encodeTelegram(new Telegram('Ok', { XferId: 3 })));
    for (;;) {
      const tg = await reader.readTelegram();
      if (tg.topic === 'Chunk') await reader.skip(tg.params.getInt('Len'));
      else break; // StrmEnd or StrmAbort
    }
    if (answerEnd) socket.write(encodeTelegram(new Telegram('Ok', { Len: 5 })));
  };
}

/** The stream's 'error' (waits at most 5 s). */
async function streamError(w: StreamWriter): Promise<DdmwError> {
  const [err] = await within(once(w, 'error'), 5000, "the stream's error");
  assert.ok(err instanceof DdmwError, String(err));
  return err;
}

describe('strm.open', () => {
  it('no reply to the opening in time: TIMEOUT, the connection closed', async () => {
    const server = await fake(strmif(false, false));
    const conn = await connection(server.addr);
    const w = open(conn, { ch: 1 }, { timeoutMs: 40 });
    const err = await streamError(w);
    assert.equal(err.code, 'TIMEOUT');
    assert.match(err.message, /^Strm request: no reply .* within 40 ms/);
    assert.equal(conn.isClosed, true);
  });

  it('no reply to the end in time: TIMEOUT, the connection closed', async () => {
    const server = await fake(strmif(true, false));
    const conn = await connection(server.addr);
    const w = open(conn, { ch: 1 }, { timeoutMs: 40 });
    await within(w.opened, 5000, 'the opening');
    w.end(Buffer.from('hello'));
    const err = await streamError(w);
    assert.equal(err.code, 'TIMEOUT');
    assert.match(err.message, /^End of stream 3: no reply .* within 40 ms/);
    assert.equal(conn.isClosed, true);
  });

  it('no reply to an abort in time: the connection is closed', async () => {
    const server = await fake(strmif(true, false));
    const conn = await connection(server.addr);
    const w = open(conn, { ch: 1 }, { timeoutMs: 40 });
    await within(w.opened, 5000, 'the opening');
    const stopped = once(w, 'error');
    w.destroy(new Error('stop'));
    await within(conn.closed, 5000, 'the connection closing');
    const [err] = await within(stopped, 5000, "the stream's error");
    assert.equal((err as Error).message, 'stop');
  });

  it('holding the stream open is not limited', async () => {
    const server = await fake(strmif(true, true));
    const conn = await connection(server.addr);
    const w = open(conn, { ch: 1 }, { timeoutMs: 40 });
    await within(w.opened, 5000, 'the opening');
    await sleep(150); // an idle stream, well past the limit
    w.end(Buffer.from('hello'));
    await within(once(w, 'finish'), 5000, "the stream's finish");
    assert.equal(w.length, 5);
    assert.equal(conn.isClosed, false);
  });

  it('a bad timeoutMs is BAD_PARAMS at once; the connection stays usable', async () => {
    const server = await fake(strmif(true, true));
    const conn = await connection(server.addr);
    assert.throws(
      () => open(conn, { ch: 1 }, { timeoutMs: -1 }),
      (e: DdmwError) => e.code === 'BAD_PARAMS',
    );
    const w = open(conn, { ch: 1 });
    await within(w.opened, 5000, 'a stream opened after it');
    w.destroy();
  });
});
