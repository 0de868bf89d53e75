/**
 * The ByteSource over a Readable: chunks in order, string chunks as UTF-8
 * bytes, backpressure (the stream is paused once 1 MiB waits unread and
 * resumed when the reader drains it), end, close and errors.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { type ByteSource, toByteSource } from '../../src/blather/source.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

/** A Readable the test pushes into by hand. */
function manual(opts: { autoDestroy?: boolean; emitClose?: boolean } = {}): Readable {
  return new Readable({ read() {}, ...opts });
}

/** The next chunk of `src`, within a deadline. */
function next(src: ByteSource, what = 'the next chunk'): Promise<Buffer | null> {
  return within(src.next(), 5000, what);
}

/** Waits for `event` on `stream` (listening from now on). */
function event(stream: Readable, name: string): Promise<unknown> {
  return within(once(stream, name), 5000, `the stream's '${name}'`);
}

/** Chunks of `size` bytes, each filled with its own index. */
function blocks(count: number, size: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.alloc(size, i));
}

describe('a Readable source', () => {
  it('hands out the chunks in order, then null', async () => {
    const r = manual();
    const src = toByteSource(r);
    const pending = next(src);
    r.push(Buffer.from('one'));
    assert.equal(String(await pending), 'one');
    r.push(Buffer.from('two'));
    r.push(Buffer.from('three'));
    r.push(null);
    assert.equal(String(await next(src)), 'two');
    assert.equal(String(await next(src)), 'three');
    assert.equal(await next(src), null);
    assert.equal(await next(src), null, 'and null again');
  });

  it('turns string chunks into their UTF-8 bytes', async () => {
    const r = manual();
    r.setEncoding('utf8');
    const src = toByteSource(r);
    const text = 'grüße, 世界';
    r.push(Buffer.from(text, 'utf8'));
    const chunk = await next(src);
    assert.ok(Buffer.isBuffer(chunk));
    assert.deepEqual(chunk, Buffer.from(text, 'utf8'));
  });

  it('pauses the stream once 1 MiB is queued and resumes it when the reader takes some', async () => {
    const r = manual();
    const src = toByteSource(r);
    const parts = blocks(6, 256 * KiB);
    for (const p of parts) r.push(p);
    await event(r, 'pause');
    assert.ok(r.isPaused());
    assert.equal(r.readableLength, 2 * 256 * KiB, 'four chunks taken, two left in the stream');
    const paused = event(r, 'pause');
    assert.deepEqual(await next(src), parts[0]);
    assert.equal(r.isPaused(), false, 'below 1 MiB again: resumed');
    await paused;
    assert.equal(r.readableLength, 256 * KiB, 'one more taken, then paused again');
    r.push(null);
    for (const p of parts.slice(1)) assert.deepEqual(await next(src), p);
    assert.equal(await next(src), null);
  });

  it('does not pause below 1 MiB queued', async () => {
    const r = manual();
    const src = toByteSource(r);
    const parts = blocks(3, 256 * KiB);
    for (const p of parts) r.push(p);
    r.push(null);
    await event(r, 'end');
    assert.equal(r.isPaused(), false);
    for (const p of parts) assert.deepEqual(await next(src), p);
    assert.equal(await next(src), null);
  });

  it('stays paused while 1 MiB or more is still queued', async () => {
    const r = manual();
    const src = toByteSource(r);
    const small = Buffer.alloc(512 * KiB, 1);
    const big = Buffer.alloc(MiB, 2);
    r.push(small);
    r.push(big);
    await event(r, 'pause');
    assert.deepEqual(await next(src), small);
    assert.equal(r.isPaused(), true, 'exactly 1 MiB left: still paused');
    assert.deepEqual(await next(src), big);
    assert.equal(r.isPaused(), false, 'drained: resumed');
  });

  it("ends on 'end' alone (a stream that never closes)", async () => {
    const r = manual({ autoDestroy: false, emitClose: false });
    const src = toByteSource(r);
    const pending = next(src, 'null at the end');
    r.push(null);
    assert.equal(await pending, null);
    assert.equal(r.destroyed, false);
    assert.equal(await next(src, 'null once more'), null);
  });

  it("ends on 'close' alone (a stream destroyed without an error)", async () => {
    const r = manual();
    const src = toByteSource(r);
    const pending = next(src, 'null on close');
    r.destroy();
    assert.equal(await pending, null);
  });

  it('ends at once for a stream destroyed before it was handed over', async () => {
    const r = manual();
    r.destroy();
    await event(r, 'close');
    assert.equal(await next(toByteSource(r), 'null for a dead stream'), null);
  });

  it('hands out what was queued before the end, then null', async () => {
    const r = manual();
    const src = toByteSource(r);
    r.push(Buffer.from('a'));
    r.push(Buffer.from('b'));
    r.push(null);
    await event(r, 'close');
    assert.equal(String(await next(src)), 'a');
    assert.equal(String(await next(src)), 'b');
    assert.equal(await next(src), null);
  });

  it('rejects a waiting reader with IO when the stream fails, and every reader after', async () => {
    const r = manual();
    const src = toByteSource(r);
    const pending = src.next();
    const boom = Object.assign(new Error('boom'), { code: 'EIO' });
    r.destroy(boom);
    for (const ask of [() => pending, () => src.next()]) {
      const err = await rejectsCode(ask(), 'IO', 5000);
      assert.match(err.message, /^read failed: boom/);
      assert.equal(err.cause, boom);
    }
  });

  it('calls a nextChunk callback exactly once after the end', async () => {
    const r = manual();
    const src = toByteSource(r);
    r.push(null);
    await event(r, 'close');
    const answers: unknown[] = [];
    src.nextChunk?.((chunk, err) => answers.push(err ?? chunk));
    assert.deepEqual(answers, [null]);
  });
});
