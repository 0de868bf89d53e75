/**
 * Byte sources for the pull-based {@link FrameReader}: a Node `Readable`
 * (such as a socket) or any async iterable of byte chunks. A source hands out
 * one chunk per call and is only asked when the reader needs more bytes, so
 * unread data stays in the kernel and TCP flow control does the backpressure.
 */
import type { Readable } from 'node:stream';
import { toDdmwError } from '../err.ts';

/** A pull-based stream of byte chunks. `null` means end of data. */
export interface ByteSource {
  /** The next chunk, or `null` at end of data. Rejects with a `DdmwError` on failure. */
  next(): Promise<Buffer | null>;
}

/** What a {@link FrameReader} can read from. */
export type ByteSourceLike = ByteSource | Readable | AsyncIterable<Uint8Array>;

function asBuffer(chunk: Uint8Array | string): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * Pulls chunks from a paused `Readable`. When the reader is waiting, the
 * chunk is read inside the 'readable' event and handed over directly;
 * otherwise data stays in the stream (and the kernel) until asked for.
 */
class ReadableSource implements ByteSource {
  readonly #stream: Readable;
  #ended = false;
  #error: unknown;
  #waiter: { resolve: (chunk: Buffer | null) => void; reject: (err: unknown) => void } | undefined;

  constructor(stream: Readable) {
    this.#stream = stream;
    stream.on('readable', () => this.#serve());
    stream.on('end', () => this.#finish());
    stream.on('close', () => this.#finish());
    stream.on('error', (err) => {
      this.#error = err;
      this.#serve();
    });
  }

  #finish(): void {
    this.#ended = true;
    this.#serve();
  }

  /** Settles the waiting `next()` if there is something to give it. */
  #serve(): void {
    const waiter = this.#waiter;
    if (!waiter) return;
    const outcome = this.#take();
    if (outcome === undefined) return;
    this.#waiter = undefined;
    if (outcome instanceof Error) waiter.reject(outcome);
    else waiter.resolve(outcome);
  }

  /** A chunk, `null` at end, an error, or `undefined` when nothing is available yet. */
  #take(): Buffer | null | Error | undefined {
    const chunk = this.#stream.read() as Buffer | string | null;
    if (chunk !== null) return asBuffer(chunk);
    if (this.#error !== undefined) return toDdmwError(this.#error, 'read failed');
    if (this.#ended || this.#stream.destroyed) return null;
    return undefined;
  }

  next(): Promise<Buffer | null> {
    const outcome = this.#take();
    if (outcome instanceof Error) return Promise.reject(outcome);
    if (outcome !== undefined) return Promise.resolve(outcome);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }
}

/** Pulls chunks from an async iterator. */
class IterableSource implements ByteSource {
  readonly #it: AsyncIterator<Uint8Array>;
  #done = false;

  constructor(iterable: AsyncIterable<Uint8Array>) {
    this.#it = iterable[Symbol.asyncIterator]();
  }

  async next(): Promise<Buffer | null> {
    if (this.#done) return null;
    let r: IteratorResult<Uint8Array>;
    try {
      r = await this.#it.next();
    } catch (err) {
      throw toDdmwError(err, 'read failed');
    }
    if (r.done) {
      this.#done = true;
      return null;
    }
    return asBuffer(r.value);
  }
}

function isReadable(x: unknown): x is Readable {
  const r = x as Readable;
  return typeof r?.read === 'function' && typeof r?.on === 'function';
}

/** Adapts a `Readable`, an async iterable of chunks, or a `ByteSource` to a `ByteSource`. */
export function toByteSource(src: ByteSourceLike): ByteSource {
  if (isReadable(src)) return new ReadableSource(src);
  if (Symbol.asyncIterator in src) return new IterableSource(src as AsyncIterable<Uint8Array>);
  return src as ByteSource;
}
