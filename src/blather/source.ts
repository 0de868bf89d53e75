/**
 * Byte sources for the pull-based {@link FrameReader}: a Node `Readable`
 * (such as a socket) or any async iterable of byte chunks. A source hands out
 * one chunk per call and is only asked when the reader needs more bytes. It
 * holds at most a bounded queue of chunks nobody asked for yet; beyond that,
 * unread data stays in the kernel and TCP flow control does the backpressure.
 */
import type { Readable } from 'node:stream';
import { DdmwError, toDdmwError } from '../err.ts';

/** Receives the outcome of {@link ByteSource.nextChunk}: a chunk, `null` at end of data, or an error. */
export type ChunkCallback = (chunk: Buffer | null, err?: DdmwError) => void;

/** A pull-based stream of byte chunks. `null` means end of data. */
export interface ByteSource {
  /** The next chunk, or `null` at end of data. Rejects with a `DdmwError` on failure. */
  next(): Promise<Buffer | null>;
  /**
   * Optional callback form of {@link next}: calls `onChunk` exactly once, at
   * once when a chunk is ready, else from the stream's event. It spares a
   * promise per chunk, which counts on request/reply connections.
   */
  nextChunk?(onChunk: ChunkCallback): void;
  /**
   * Present on a source that lends its chunks: a chunk it hands out is a
   * view of memory it reuses, valid until the reader calls `release()` or
   * asks for the next chunk. The reader copies whatever it keeps longer
   * (see `FrameReader`). Lending spares an allocation per socket read,
   * which keeps a long receive's memory flat.
   */
  release?(): void;
}

/** What a {@link FrameReader} can read from. */
export type ByteSourceLike = ByteSource | Readable | AsyncIterable<Uint8Array>;

function asBuffer(chunk: Uint8Array | string): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * What the sources over a stream share: the one reader waiting for a chunk,
 * the chunks queued while nobody waits, and the stream's end and error.
 * @internal
 */
export abstract class StreamSource implements ByteSource {
  protected readonly queue: Buffer[] = [];
  protected queued = 0;
  protected waiter: ChunkCallback | undefined;
  protected ended = false;
  #error: unknown;

  abstract nextChunk(onChunk: ChunkCallback): void;

  next(): Promise<Buffer | null> {
    return new Promise((resolve, reject) =>
      this.nextChunk((chunk, err) => (err ? reject(err) : resolve(chunk))),
    );
  }

  /** Watches the stream's end, close and error. */
  protected watch(stream: Readable): void {
    stream.on('end', () => this.#finish());
    stream.on('close', () => this.#finish());
    stream.on('error', (err) => {
      this.#error = err;
      this.#finish();
    });
  }

  /** For a reader asking when nothing is queued: calls it back with the error or the end, if so; false while the stream goes on. */
  protected answerEnd(onChunk: ChunkCallback): boolean {
    if (this.#error !== undefined) onChunk(null, toDdmwError(this.#error, 'read failed'));
    else if (this.ended) onChunk(null);
    else return false;
    return true;
  }

  /** The stream ended or failed: a waiting reader learns it once the queue is read. */
  #finish(): void {
    this.ended = true;
    const waiter = this.waiter;
    if (!waiter || this.queue.length > 0) return;
    this.waiter = undefined;
    this.answerEnd(waiter);
  }
}

/** Bytes a flowing source queues before it pauses its stream. */
const QUEUE_HIGH_WATER = 1024 * 1024;

/**
 * Pulls chunks from a `Readable` in flowing mode. A chunk that arrives
 * while the reader waits is handed over inside the 'data' event (no extra
 * tick, which matters for request/reply round trips); otherwise it is
 * queued, and the stream is paused once the queue holds
 * {@link QUEUE_HIGH_WATER} bytes, so unread data stays in the kernel and
 * TCP flow control does the backpressure. The source is the stream's only
 * reader: a stream that also has a 'readable' listener does not flow.
 */
class ReadableSource extends StreamSource {
  readonly #stream: Readable;

  constructor(stream: Readable) {
    super();
    this.#stream = stream;
    stream.on('data', (chunk: Buffer | string) => this.#arrive(asBuffer(chunk)));
    this.watch(stream);
  }

  #arrive(chunk: Buffer): void {
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter(chunk);
      return;
    }
    this.queue.push(chunk);
    this.queued += chunk.length;
    if (this.queued >= QUEUE_HIGH_WATER) this.#stream.pause();
  }

  nextChunk(onChunk: ChunkCallback): void {
    const chunk = this.queue.shift();
    if (chunk) {
      this.queued -= chunk.length;
      if (this.queued < QUEUE_HIGH_WATER && !this.ended) this.#stream.resume();
      onChunk(chunk);
    } else if (this.answerEnd(onChunk)) {
      return;
    } else if (this.#stream.destroyed) {
      onChunk(null);
    } else {
      this.waiter = onChunk;
      this.#stream.resume(); // also starts a stream that was handed over paused
    }
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

function isAsyncIterable(x: unknown): x is AsyncIterable<Uint8Array> {
  return typeof (x as AsyncIterable<Uint8Array> | null)?.[Symbol.asyncIterator] === 'function';
}

/**
 * Adapts a `Readable`, an async iterable of chunks, or a `ByteSource` to a
 * `ByteSource`. A `Readable` is read through its `data` events: give it to
 * one reader only. Anything else throws `BAD_INPUT`.
 */
export function toByteSource(src: ByteSourceLike): ByteSource {
  if (isReadable(src)) return new ReadableSource(src);
  if (isAsyncIterable(src)) return new IterableSource(src);
  // A generator or other synchronous iterator has next() too, but not the promise a ByteSource gives.
  if (typeof (src as ByteSource | null)?.next === 'function' && !isSyncIterable(src)) {
    return src as ByteSource;
  }
  const what = src === null ? 'null' : isSyncIterable(src) ? 'a synchronous iterable' : typeof src;
  throw new DdmwError(
    'BAD_INPUT',
    `cannot read from ${what}: give a Readable (Readable.from(chunks) for an array or generator), an async iterable of byte chunks, or a ByteSource with next()`,
  );
}

function isSyncIterable(x: unknown): boolean {
  return typeof (x as Iterable<unknown> | null)?.[Symbol.iterator] === 'function';
}
