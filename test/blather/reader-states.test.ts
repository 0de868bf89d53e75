/**
 * FrameReader's states: a telegram arriving whole is delivered inside the
 * chunk's delivery; a reader waiting for a chunk is busy; at the end it does
 * not ask its source again; a fatal error sticks; a payload stream destroyed
 * early is drained before the next read; overlapping calls are refused.
 */
import assert from 'node:assert/strict';
import { finished } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { FrameReader } from '../../src/blather/reader.ts';
import type { Telegram } from '../../src/blather/telegram.ts';
import { DdmwError } from '../../src/err.ts';
import { chunksOf } from '../helpers/chunks.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { HandSource } from '../helpers/test-sources.ts';

/** What a nextTelegramCallback call has been answered with so far. */
function answers(reader: FrameReader): (Telegram | DdmwError | undefined)[] {
  const got: (Telegram | DdmwError | undefined)[] = [];
  reader.nextTelegramCallback((tg, err) => got.push(err ?? tg));
  return got;
}

describe('nextTelegramCallback', () => {
  it('delivers a telegram that arrives whole inside the chunk delivery', () => {
    const src = new HandSource();
    const reader = new FrameReader(src);
    const got = answers(reader);
    assert.ok(src.waiting);
    src.deliver(Buffer.from('Ok\nid 7\n\n'));
    assert.equal(got.length, 1, 'called synchronously');
    assert.equal((got[0] as Telegram).params.get('id'), '7');
  });

  it('keeps the reader busy while it waits for a chunk', async () => {
    const src = new HandSource();
    const reader = new FrameReader(src);
    answers(reader);
    const err = await rejectsCode(reader.readBytes(1), 'BAD_STATE', 5000);
    assert.match(err.message, /busy/);
    assert.equal(reader.tryReadTelegram(), undefined);
  });

  it('at the end answers undefined without asking the source again', async () => {
    const src = new HandSource();
    const reader = new FrameReader(src);
    const first = answers(reader);
    src.deliver(null);
    assert.deepEqual(first, [undefined]);
    assert.equal(await within(reader.nextTelegram(), 5000, 'the end again'), undefined);
    assert.equal(src.asked, 1);
  });

  it('is still synchronous after a payload stream was read to its end', async () => {
    const src = new HandSource();
    src.deliver(Buffer.from('abc'));
    const reader = new FrameReader(src);
    const stream = reader.readStream(3);
    const seen: Buffer[] = [];
    stream.on('data', (b: Buffer) => seen.push(b));
    await within(finished(stream), 5000, 'the payload stream to finish');
    assert.equal(Buffer.concat(seen).toString(), 'abc');
    assert.ok(stream.destroyed, 'destroyed by itself after its end');
    const got = answers(reader);
    src.deliver(Buffer.from('Ok\n\n'));
    assert.equal(got.length, 1, 'called synchronously');
    assert.equal((got[0] as Telegram).topic, 'Ok');
  });
});

describe('a payload stream destroyed early', () => {
  it('has the rest of its payload dropped before the next read, which then succeeds', async () => {
    const payload = Buffer.alloc(256 * 1024, 7);
    const reader = new FrameReader(
      chunksOf([payload.subarray(0, 1000), payload.subarray(1000), Buffer.from('Ok\nn 1\n\n')]),
    );
    const stream = reader.readStream(payload.length);
    const first = await within(
      new Promise<Buffer>((resolve) => stream.once('data', resolve)),
      5000,
      'the first piece',
    );
    assert.equal(first.length, 1000);
    stream.destroy();
    const tg = await within(reader.readTelegram(), 5000, 'the telegram after the payload');
    assert.equal(tg.topic, 'Ok');
    assert.equal(tg.params.get('n'), '1');
  });
});

describe('readChunks', () => {
  it('at an early end of data rejects with DISCONNECTED, never handing an empty piece', async () => {
    const reader = new FrameReader(chunksOf([Buffer.from('ab'), Buffer.from('cde')]));
    const sizes: number[] = [];
    const err = await rejectsCode(
      reader.readChunks(10, (piece) => void sizes.push(piece.length)),
      'DISCONNECTED',
      5000,
    );
    assert.deepEqual(sizes, [2, 3]);
    assert.match(err.message, /5 bytes before the end of a 10-byte payload/);
  });
});

describe('refused calls', () => {
  it('a read while a payload stream is unread names the stream', async () => {
    const reader = new FrameReader(chunksOf([Buffer.from('abcdef')]));
    const stream = reader.readStream(6);
    const err = await rejectsCode(reader.readBytes(1), 'BAD_STATE', 5000);
    assert.match(err.message, /payload stream has not been consumed/);
    stream.destroy();
  });

  it('a read after a fatal error fails with that same error', async () => {
    const boom = new Error('boom');
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('ab');
      throw boom;
    }
    const reader = new FrameReader(failing());
    const err = await rejectsCode(reader.readBytes(4), 'IO', 5000);
    assert.equal(err.cause, boom);
    assert.equal(reader.error, err);
    const again = await rejectsCode(reader.readTelegram(), 'IO', 5000);
    assert.equal(again, err);
  });

  it('a byte count that is not a safe non-negative integer, quoting it', () => {
    for (const n of [-1, 1.5, 2 ** 53]) {
      assert.throws(
        () => new FrameReader(chunksOf([])).skip(n),
        (e) => e instanceof DdmwError && e.code === 'BAD_INPUT' && e.message.includes(`${n}`),
      );
    }
  });
});
