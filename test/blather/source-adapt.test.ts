/**
 * toByteSource: which adapter a source gets (Readable, async iterable, or a
 * ByteSource as it is), invalid sources refused with BAD_INPUT, and the
 * source over an async iterable (chunks as they are, strings as UTF-8, end
 * and errors).
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { type ByteSource, type ByteSourceLike, toByteSource } from '../../src/blather/source.ts';
import { DdmwError } from '../../src/err.ts';
import { chunksOf } from '../helpers/chunks.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';

/** The next chunk of `src`, within a deadline. */
function next(src: ByteSource): Promise<Buffer | null> {
  return within(src.next(), 5000, 'the next chunk');
}

describe('toByteSource', () => {
  it('reads a Readable through its events, with the callback form', () => {
    const src = toByteSource(new PassThrough());
    assert.equal(typeof src.nextChunk, 'function');
  });

  it('reads an async iterable through its iterator, without the callback form', async () => {
    const src = toByteSource(chunksOf([Buffer.from('x')]));
    assert.equal(src.nextChunk, undefined);
    assert.equal(String(await next(src)), 'x');
  });

  it('uses a ByteSource as it is, even one with a read method', () => {
    const own: ByteSource & { read(): void } = { next: async () => null, read() {} };
    assert.equal(toByteSource(own as ByteSourceLike), own);
  });

  it('reads an event emitter that is also async iterable as an iterable', async () => {
    const emitter = Object.assign(new EventEmitter(), {
      async *[Symbol.asyncIterator]() {
        yield Buffer.from('from the iterator');
      },
    });
    const src = toByteSource(emitter as unknown as ByteSourceLike);
    assert.equal(String(await next(src)), 'from the iterator');
    assert.equal(await next(src), null);
  });

  for (const [name, bad] of [
    ['null', null],
    ['undefined', undefined],
    ['a number', 42],
    ['a string', 'bytes'],
    ['a plain object', {}],
    ['an object whose next is not a function', { next: 1 }],
    ['an array of chunks', [Buffer.from('x')]],
    [
      'a generator of chunks',
      (function* () {
        yield Buffer.from('x');
      })(),
    ],
  ] as const) {
    it(`refuses ${name} with BAD_INPUT`, () => {
      assert.throws(
        () => toByteSource(bad as unknown as ByteSourceLike),
        (e) => e instanceof DdmwError && e.code === 'BAD_INPUT' && /Readable/.test(e.message),
      );
    });
  }
});

describe('an async iterable source', () => {
  it('hands out Uint8Array chunks as Buffers over the same memory', async () => {
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
    const view = backing.subarray(2, 5);
    const chunk = await next(toByteSource(chunksOf([view])));
    assert.ok(Buffer.isBuffer(chunk));
    assert.deepEqual([...chunk], [1, 2, 3]);
    assert.equal(chunk.buffer, backing.buffer, 'no copy');
    assert.equal(chunk.byteOffset, 2);
  });

  it('turns string chunks into their UTF-8 bytes', async () => {
    async function* text(): AsyncGenerator<string> {
      yield 'grüße';
    }
    const chunk = await next(toByteSource(text() as unknown as AsyncIterable<Uint8Array>));
    assert.ok(Buffer.isBuffer(chunk));
    assert.deepEqual(chunk, Buffer.from('grüße', 'utf8'));
  });

  it('after the end answers null without asking the iterator again', async () => {
    let asked = 0;
    const once: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({
        // A sloppy iterator: it would hand out more after saying it is done.
        next: async () => {
          asked++;
          return asked === 1
            ? { done: true as const, value: undefined }
            : { done: false as const, value: Buffer.from('late') };
        },
      }),
    };
    const src = toByteSource(once);
    assert.equal(await next(src), null);
    assert.equal(await next(src), null);
    assert.equal(asked, 1);
  });

  it('rejects with IO when the iterator throws', async () => {
    const boom = new Error('boom');
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('ok');
      throw boom;
    }
    const src = toByteSource(failing());
    assert.equal(String(await next(src)), 'ok');
    const err = await rejectsCode(src.next(), 'IO', 5000);
    assert.match(err.message, /^read failed: boom/);
    assert.equal(err.cause, boom);
  });
});
