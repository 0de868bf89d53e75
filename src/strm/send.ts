/**
 * Sending a stream: bytes of a length not known up front, written to a
 * `Writable` while they are produced (see wire.ts for the frames). The
 * stream holds its connection from `open` until it is finished or
 * aborted; other calls on the connection wait their turn. The node's
 * replies (to the opening, the end and an abort) are awaited within a time
 * limit, as requests are; writing the stream is not limited.
 */
import { Writable } from 'node:stream';
import { U32 } from '../blather/index.ts';
import type { Connection, Exchange } from '../conn/connection.ts';
import { checkTimeoutMs } from '../conn/limits.ts';
import { readOkFail } from '../conn/request.ts';
import { DdmwError, toDdmwError } from '../err.ts';
import { type AppChannel, formatAppChannel } from '../types.ts';
import { abortTelegram, chunkTelegram, endTelegram, KEYS, startTelegram, TOPICS } from './wire.ts';

/** A stream to send. */
export interface StrmSpec {
  /** Application channel: a number 0..255 or a channel name. */
  ch: AppChannel;
  /** Application command number (u32). 0 (the default) is not sent. */
  cmd?: number;
}

/** Options of {@link open}. */
export interface OpenOptions {
  /** Bytes the `Writable` buffers before `write()` returns false (default 1 MiB). */
  highWaterMark?: number;
  /**
   * Time limit in milliseconds for each reply of the node: the one to the
   * opening counts from `open` (waiting for the connection included), those
   * to the end and to an abort from when they were sent. Default: the
   * connection's `requestTimeoutMs`. Running out of time fails the stream
   * with `TIMEOUT` and closes the connection.
   */
  timeoutMs?: number;
}

/** Default `highWaterMark` of a {@link StreamWriter}. */
export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;

/**
 * A stream being sent. Write to it with backpressure (`write()` returns
 * false: wait for `'drain'`); `end()` completes the stream, and `'finish'`
 * is emitted once the node acknowledged the end. `destroy(err)` aborts the
 * stream: the node is told, and subscribers see an error, never a
 * truncated success. A refusal or failure of the node is an `'error'`.
 */
export class StreamWriter extends Writable {
  /** The transfer id the node assigned, once the stream is open. */
  xferId: string | undefined;
  /** Resolves with the transfer id once the node accepted the stream; rejects if it refused. */
  readonly opened: Promise<string>;
  /** Bytes the node counted for the completed stream (set before `'finish'`). */
  length: number | undefined;
  readonly #conn: Connection;
  readonly #spec: { ch: AppChannel; cmd: number };
  readonly #timeoutMs: number | undefined;
  #io: Exchange | undefined;
  #release: () => void = () => {};
  #state: 'opening' | 'open' | 'ending' | 'done' = 'opening';
  #sent = 0;
  #resolveOpened: (xferId: string) => void = () => {};
  #rejectOpened: (err: DdmwError) => void = () => {};

  /** @internal Use {@link open}. */
  constructor(conn: Connection, spec: StrmSpec, options: OpenOptions = {}) {
    // Checked before super(): the Writable schedules _construct, which must not run after a throw.
    const cmd = spec.cmd ?? 0;
    if (!Number.isInteger(cmd) || cmd < U32.min || cmd > U32.max) {
      throw new DdmwError('BAD_INPUT', `Invalid cmd ${cmd}: use an integer from 0 to ${U32.max}`);
    }
    formatAppChannel(spec.ch);
    if (options.timeoutMs !== undefined) checkTimeoutMs('timeoutMs', options.timeoutMs);
    super({ highWaterMark: options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK });
    this.#conn = conn;
    this.#spec = { ch: spec.ch, cmd };
    this.#timeoutMs = options.timeoutMs;
    this.opened = new Promise<string>((resolve, reject) => {
      this.#resolveOpened = resolve;
      this.#rejectOpened = reject;
    });
    this.opened.catch(() => {}); // also reported as 'error'
  }

  /** @internal */
  override _construct(callback: (error?: Error | null) => void): void {
    const held = new Promise<void>((resolve) => {
      this.#release = resolve;
    });
    const exchange = async (io: Exchange) => {
      await io.writeTelegram(startTelegram(this.#spec.ch, this.#spec.cmd));
      const xferId = (await readOkFail(io)).get(KEYS.xferId);
      if (xferId === undefined) {
        throw new DdmwError(
          'MISSING_DATA',
          'Missing expected transfer identifier (XferId) in the server reply',
        );
      }
      io.stopLimit(); // writing the stream takes as long as it takes
      this.xferId = xferId;
      this.#io = io;
      this.#state = 'open';
      this.#resolveOpened(xferId);
      callback();
      await held; // the connection is the stream's until it is finished or aborted
    };
    this.#conn
      .exclusive(exchange, `${TOPICS.start} request`, { timeoutMs: this.#timeoutMs })
      .catch((err: unknown) => {
        const e = toDdmwError(err);
        this.#rejectOpened(e);
        if (this.#state === 'opening') callback(e);
      });
  }

  /** @internal */
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error) => void): void {
    const io = this.#io as Exchange;
    if (chunk.length === 0) {
      callback();
      return;
    }
    this.#sent += chunk.length;
    // Both writes reach the socket now, so nothing can come between the frame and its bytes.
    Promise.all([io.writeTelegram(chunkTelegram(chunk.length)), io.write(chunk)]).then(
      () => callback(),
      (err: unknown) => callback(toDdmwError(err)),
    );
  }

  /** @internal */
  override _final(callback: (err?: Error) => void): void {
    const io = this.#io as Exchange;
    this.#state = 'ending';
    io.startLimit(`End of stream ${this.xferId}`);
    io.writeTelegram(endTelegram())
      .then(() => readOkFail(io))
      .then(
        (reply) => {
          this.length = reply.getIntDef(KEYS.length, this.#sent);
          this.#finish();
          if (this.length !== this.#sent) {
            callback(
              new DdmwError(
                'BAD_STATE',
                `The node counted ${this.length} bytes in stream ${this.xferId}; ${this.#sent} were sent`,
              ),
            );
          } else callback();
        },
        (err: unknown) => {
          this.#finish();
          callback(toDdmwError(err));
        },
      );
  }

  /** @internal */
  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const io = this.#io;
    if (this.#state !== 'open' || !io) {
      if (this.#state !== 'ending') this.#finish();
      callback(err);
      return;
    }
    this.#state = 'ending';
    const reason = err?.message ?? 'the sender destroyed the stream';
    io.startLimit(`Abort of stream ${this.xferId}`);
    io.writeTelegram(abortTelegram(reason))
      .then(() => readOkFail(io))
      .catch(() => {}) // the stream is over either way; the caller hears about `err`
      .finally(() => {
        this.#finish();
        callback(err);
      });
  }

  #finish(): void {
    this.#state = 'done';
    this.#io = undefined;
    this.#release();
  }
}

/**
 * Opens a stream on the connection (which must be to a sender node's
 * message interface) and returns the `Writable` to write it to. The stream
 * holds the connection until it is finished or aborted.
 */
export function open(conn: Connection, spec: StrmSpec, options: OpenOptions = {}): StreamWriter {
  return new StreamWriter(conn, spec, options);
}
