/**
 * `FrameReader`: the pull-based blather decoder (wire-protocol.md §4).
 *
 * The reader never parses ahead. After each frame the caller decides what the
 * next bytes are: a telegram, a params or kvlines block, or N raw bytes
 * (buffered, skipped, written to a file, or handed out as a stream). Bytes
 * beyond the current frame stay buffered for the next call.
 *
 * Memory is bounded: the reader holds at most the current source chunk plus
 * one partial line (itself bounded by `maxLineLength`), and a telegram or
 * block is refused once it has more lines or bytes than its limits allow
 * (`maxParams`, `maxTelegramBytes`; see limits.ts). A source may lend
 * its chunks (`ByteSource.release`, a client connection does): then what
 * the reader hands out for longer than a call (decoded params, payload
 * stream chunks) is copied, and the source reads no more while a chunk is out.
 *
 * Stricter than blather 0.8, on purpose: a topic-less telegram (an empty line
 * in telegram mode) is an error, end of data inside a frame or payload is a
 * `DISCONNECTED` error (never a silent loss), zero-length raw reads complete
 * at once, and every decode error is fatal: later calls fail with it again.
 */
import type { Readable } from 'node:stream';
import { DdmwError, toDdmwError } from '../err.ts';
import { ChunkCursor } from './chunk-cursor.ts';
import { scanTelegram } from './fastpath.ts';
import { fedReadable } from './fed-readable.ts';
import { writeChunksToFile } from './file-sink.ts';
import { FrameLines } from './frame-lines.ts';
import { KVLines } from './kvlines.ts';
import { type DecodeLimits, decodeLimits, type FrameReaderOptions } from './limits.ts';
import { Params } from './params.ts';
import { type ByteSourceLike, toByteSource } from './source.ts';
import { Telegram } from './telegram.ts';
import { validateKey, validateTopic } from './validate.ts';

/** Receives the outcome of {@link FrameReader.nextTelegramCallback}: a telegram, `undefined` at a clean end, or an error. */
export type TelegramCallback = (tg: Telegram | undefined, err?: DdmwError) => void;

/** Turns a byte count (number or bigint) into a safe integer number, or throws `BAD_INPUT`. */
export function byteCount(n: number | bigint): number {
  const v = typeof n === 'bigint' ? Number(n) : n;
  if (!Number.isSafeInteger(v) || v < 0 || BigInt(v) !== BigInt(n)) {
    throw new DdmwError(
      'BAD_INPUT',
      `Invalid byte count ${n}: expected an integer from 0 to 2^53-1`,
    );
  }
  return v;
}

/**
 * The error for a telegram that never came: the peer closed the connection
 * between frames (what {@link FrameReader.readTelegram} rejects with).
 * @internal
 */
export function peerClosedError(): DdmwError {
  return new DdmwError('DISCONNECTED', 'Disconnected: the peer closed the connection');
}

/** Pull-based decoder over a byte source. One operation at a time. */
export class FrameReader {
  readonly #chunks: ChunkCursor;
  readonly #limits: DecodeLimits;
  #error: DdmwError | undefined;
  #busy = false;
  /** True while a Readable from {@link readStream} is still being read. */
  #streaming = false;
  /** Settles when a destroyed payload stream has dropped the rest of its bytes. */
  #draining: Promise<void> | undefined;
  /** Set once the current operation has consumed its whole frame (errors after that are not fatal). */
  #inSync = true;

  constructor(source: ByteSourceLike, options: FrameReaderOptions = {}) {
    this.#limits = decodeLimits(options);
    this.#chunks = new ChunkCursor(toByteSource(source));
  }

  /** Bytes received from the source but not consumed yet. */
  get buffered(): number {
    return this.#chunks.buffered;
  }

  /**
   * Between frames, copies bytes already received beyond them out of a chunk
   * the source lent, and gives the chunk back. A connection calls this when
   * an exchange ends: an idle connection then keeps reading (a little) and
   * notices when its peer closes. Does nothing while a read is under way.
   */
  ownBuffered(): void {
    if (!this.#busy && !this.#streaming) this.#chunks.ownRest();
  }

  /** The fatal error that stopped this reader, if any. */
  get error(): DdmwError | undefined {
    return this.#error;
  }

  /**
   * Reads the next telegram, or `undefined` at a clean end of data (the
   * source ended exactly between frames).
   */
  nextTelegram(): Promise<Telegram | undefined> {
    const tg = this.tryReadTelegram();
    if (tg) return Promise.resolve(tg);
    return new Promise((resolve, reject) =>
      this.nextTelegramCallback((next, err) => (err ? reject(err) : resolve(next))),
    );
  }

  /** Reads the next telegram; end of data is a `DISCONNECTED` error. */
  readTelegram(): Promise<Telegram> {
    const tg = this.tryReadTelegram();
    if (tg) return Promise.resolve(tg);
    return new Promise((resolve, reject) =>
      this.nextTelegramCallback((next, err) => {
        if (next) resolve(next);
        else reject(err ?? peerClosedError());
      }),
    );
  }

  /**
   * Callback form of {@link nextTelegram}: calls `onTelegram` once with the
   * telegram, with `undefined` at a clean end of data, or with an error.
   * When the telegram is buffered, or arrives whole in the next chunk, the
   * call happens synchronously (inside the source's data event): a server
   * can then answer a request without a single promise, which counts on a
   * request/reply connection. `onTelegram` must not throw.
   */
  nextTelegramCallback(onTelegram: TelegramCallback): void {
    const tg = this.tryReadTelegram();
    if (tg) {
      onTelegram(tg);
      return;
    }
    const idle = !this.#busy && !this.#error && !this.#draining && !this.#chunks.eof;
    if (!idle || this.#chunks.buffered > 0) {
      this.#op(() => this.#slowTelegram()).then(
        (next) => onTelegram(next),
        (err: unknown) => onTelegram(undefined, toDdmwError(err)),
      );
      return;
    }
    this.#busy = true;
    this.#telegramWaiter = onTelegram;
    const source = this.#chunks.source;
    if (source.nextChunk) source.nextChunk(this.#onTelegramChunk);
    else
      source
        .next()
        .then(this.#onTelegramChunk, (e: unknown) => this.#onTelegramChunk(null, toDdmwError(e)));
  }

  /** Who waits in {@link nextTelegramCallback} for the chunk being pulled. */
  #telegramWaiter: TelegramCallback | undefined;

  /** The chunk pulled for {@link nextTelegramCallback} (one function for all calls: no closure per request). */
  readonly #onTelegramChunk = (chunk: Buffer | null, err?: DdmwError): void => {
    const onTelegram = this.#telegramWaiter as TelegramCallback;
    this.#telegramWaiter = undefined;
    this.#busy = false;
    if (err) onTelegram(undefined, this.#fatal(err));
    else if (chunk === null) {
      this.#chunks.eof = true;
      onTelegram(undefined);
    } else {
      this.#chunks.setChunk(chunk);
      this.nextTelegramCallback(onTelegram);
    }
  };

  /**
   * Decodes a telegram synchronously when one is wholly buffered and takes
   * the fast path; otherwise returns `undefined` and consumes nothing.
   */
  tryReadTelegram(): Telegram | undefined {
    return this.#busy || this.#error ? undefined : this.#scanFast();
  }

  #scanFast(): Telegram | undefined {
    const chunks = this.#chunks;
    const buf = chunks.buf;
    if (chunks.pos >= buf.length) return undefined;
    const tg = scanTelegram(buf, chunks, this.#limits); // advances chunks.pos
    if (tg && chunks.lends) {
      tg.params.ownBytes();
      chunks.releaseIfDone();
    }
    return tg;
  }

  /** Reads a params block (key/value lines up to an empty line), within the same limits as a telegram. */
  readParams(): Promise<Params> {
    return this.#op(() => this.#readParams(this.#frame()));
  }

  /** Reads a kvlines block: order and duplicates kept, keys not validated; within the same limits as a telegram. */
  readKVLines(): Promise<KVLines> {
    return this.#op(async () => {
      const lines = new KVLines();
      await this.#frame().readPairs((key, value) => lines.append(key, value));
      return lines;
    });
  }

  /** Reads exactly `n` raw bytes into a new buffer (that owns its memory). */
  readBytes(n: number): Promise<Buffer> {
    const count = byteCount(n);
    return this.#op(async () => {
      const out = Buffer.allocUnsafe(count);
      let at = 0;
      await this.#rawChunks(count, (chunk) => {
        chunk.copy(out, at);
        at += chunk.length;
      });
      return out;
    });
  }

  /** Reads and discards exactly `n` raw bytes. */
  skip(n: number | bigint): Promise<void> {
    const count = byteCount(n);
    return this.#op(() => this.#rawChunks(count, () => {}));
  }

  /**
   * Hands exactly `n` raw bytes to `onChunk`, one piece at a time, awaiting
   * it between pieces (backpressure). Pieces are views into the reader's
   * buffer, valid until the callback's promise settles, unless `keep` is
   * set: then they are the caller's to keep (copied when the source lends
   * its chunks). If `onChunk` throws, the rest of the payload is still read
   * (and dropped) so the reader stays in sync, and the call then rejects
   * with that error.
   */
  readChunks(
    n: number | bigint,
    onChunk: (chunk: Buffer) => void | Promise<void>,
    { keep = false }: { keep?: boolean } = {},
  ): Promise<void> {
    const count = byteCount(n);
    const hand = keep ? (piece: Buffer) => onChunk(this.#kept(piece)) : onChunk;
    return this.#op(() => this.#rawChunks(count, hand));
  }

  /**
   * A piece the caller may keep: itself, or a copy when the source reuses
   * its chunks (into unzeroed memory: `Buffer.from` zero-fills a large
   * copy first, measured twice as slow for 64 KiB pieces).
   */
  #kept(piece: Buffer): Buffer {
    if (!this.#chunks.lends) return piece;
    const copy = Buffer.allocUnsafe(piece.length);
    piece.copy(copy);
    return copy;
  }

  /**
   * Writes exactly `n` raw bytes to the file at `path` (created or
   * truncated). On failure the partial file is removed and the call rejects.
   */
  readToFile(path: string, n: number | bigint, options: { mode?: number } = {}): Promise<void> {
    const count = byteCount(n);
    return this.#op(() =>
      writeChunksToFile(path, options.mode, (onChunk) => this.#rawChunks(count, onChunk), {
        copy: this.#chunks.lends,
      }),
    );
  }

  /**
   * Returns a `Readable` of exactly `n` raw bytes, read from the source as
   * the consumer reads (backpressure). The stream must be consumed (or
   * destroyed) before the next read on this reader; destroying it early
   * skips the rest of the payload so the reader stays in sync. End of data
   * before `n` bytes makes the stream fail with `DISCONNECTED`.
   */
  readStream(n: number | bigint): Readable {
    const count = byteCount(n);
    this.#enter();
    this.#streaming = true;
    const finish = () => {
      this.#streaming = false;
      this.#draining = undefined;
      this.#busy = false;
      this.#chunks.releaseIfDone();
    };
    // Destroyed early, the rest of the payload is dropped; the next read waits until that is done.
    const fed = fedReadable({
      onDestroy: () => {
        if (this.#streaming) this.#draining = finished;
      },
    });
    // The stream's consumer keeps its chunks.
    const finished = this.#rawChunks(count, (piece) => fed.offer(this.#kept(piece))).then(
      () => {
        finish();
        if (!fed.destroyed) fed.stream.push(null);
      },
      (err: unknown) => {
        finish();
        fed.stream.destroy(this.#fatal(err));
      },
    );
    return fed.stream;
  }

  #enter(): void {
    if (this.#error) throw this.#error;
    if (this.#streaming) {
      throw new DdmwError(
        'BAD_STATE',
        'The previous payload stream has not been consumed: read it to the end or destroy it before the next read',
      );
    }
    if (this.#busy) {
      throw new DdmwError('BAD_STATE', 'FrameReader is busy: wait for the previous read to finish');
    }
    this.#busy = true;
    this.#inSync = false;
  }

  /** Runs one operation: refuses overlapping calls and makes errors that lose sync fatal. */
  async #op<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#draining) await this.#draining;
    this.#enter();
    try {
      return await fn();
    } catch (err) {
      throw this.#inSync ? err : this.#fatal(err);
    } finally {
      this.#busy = false;
      this.#inSync = true;
      this.#chunks.releaseIfDone();
    }
  }

  /** Records a fatal error: every later call fails with it. */
  #fatal(err: unknown): DdmwError {
    const e = toDdmwError(err);
    this.#error ??= e;
    return e;
  }

  /**
   * Reads `n` raw bytes into `onChunk`. Once they are all read the frame is
   * done, so a consumer's error is thrown as is, not as a fatal one.
   */
  async #rawChunks(n: number, onChunk: (chunk: Buffer) => void | Promise<void>): Promise<void> {
    const outcome = await this.#chunks.rawChunks(n, onChunk);
    this.#inSync = true;
    if (outcome.failed) throw outcome.error;
  }

  /** The lines of a new frame, read within this reader's limits. */
  #frame(): FrameLines {
    return new FrameLines(this.#chunks, this.#limits);
  }

  /** Reads key/value lines up to an empty line (Telegram/Params rules: keys validated, the last duplicate wins). */
  async #readParams(frame: FrameLines): Promise<Params> {
    const map = new Map<string, string>();
    await frame.readPairs((key, value) => {
      validateKey(key);
      map.set(key, value);
    });
    return Params.fromDecoded(map);
  }

  /** The reference (line by line) telegram decoder; `undefined` at a clean end. */
  async #slowTelegram(): Promise<Telegram | undefined> {
    if (this.#chunks.buffered === 0 && !(await this.#chunks.pull())) return undefined;
    const fast = this.#scanFast();
    if (fast) return fast;
    const frame = this.#frame();
    const topic = await frame.next();
    if (topic === null) return undefined;
    if (topic === '') {
      throw new DdmwError('BLATHER', 'Received an empty line where a telegram topic was expected');
    }
    validateTopic(topic);
    return Telegram.fromDecoded(topic, await this.#readParams(frame));
  }
}
