/**
 * `Connection`: one socket to a DDMW client interface, its pull-based
 * `FrameReader`, and the lock that keeps requests from interleaving.
 *
 * Every exchange with the server (a request and its reply, or a longer
 * sequence such as a message transfer) runs inside {@link Connection.exclusive}:
 * one exchange at a time, later callers wait their turn in call order. A
 * failure that leaves the byte stream out of sync (a decode error, an
 * unexpected reply, a lost peer, a request that ran out of time or was
 * aborted after it was sent) is fatal: the socket is closed and every
 * waiting and later call rejects with that error. Whose turn it is, and
 * the time limits of requests, are kept by {@link Turns}.
 */
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { inspect } from 'node:util';
import {
  type ByteSource,
  encodeTelegram,
  FrameReader,
  type FrameReaderOptions,
  type Telegram,
} from '../blather/index.ts';
import { peerClosedError } from '../blather/reader.ts';
import { DdmwError, toDdmwError } from '../err.ts';
import { formatProtAddr, type ProtAddr } from './addr.ts';
import { DEFAULT_REQUEST_TIMEOUT_MS, type RequestOptions } from './limits.ts';
import { type Request, Turns } from './turns.ts';

/**
 * Error codes after which the connection cannot go on: the peer is gone, or
 * an exchange stopped half way. Decode errors are caught through the
 * reader's own fatal state, and an unexpected reply is failed explicitly
 * (`Exchange.fail`) where it is recognised.
 */
const FATAL_CODES = new Set(['DISCONNECTED', 'TIMEOUT', 'ABORTED']);

/** True when an exchange that fails with `err` closes its connection (see {@link FATAL_CODES}). */
export function closesConnection(err: DdmwError): boolean {
  return FATAL_CODES.has(err.code);
}

/**
 * The operations available inside an exclusive exchange. Obtained from
 * {@link Connection.exclusive}; do not keep it after the callback returns.
 */
export interface Exchange {
  /** The decoder over the connection's incoming bytes. */
  readonly reader: FrameReader;
  /** Writes raw bytes, waiting for the socket to drain when its buffer is full. */
  write(data: Uint8Array | string): Promise<void>;
  /** Encodes and writes a telegram. */
  writeTelegram(tg: Telegram): Promise<void>;
  /**
   * Writes a small request (its wire text, sent as UTF-8) without waiting
   * for the socket to drain: the caller reads the reply next, and a failed
   * write shows as the connection's failure on that read. A string goes to
   * the socket without an intermediate buffer. Throws when the connection
   * has failed.
   */
  writeRequest(text: string): void;
  /**
   * Writes exactly `length` bytes from `stream` with backpressure. A stream
   * that ends short or runs long is a `BAD_INPUT` error, and closes the
   * connection before the excess or missing bytes could complete the payload.
   */
  writeStream(stream: Readable | AsyncIterable<Uint8Array>, length: number): Promise<void>;
  /** Marks the connection failed (closing it) and returns `err`, to throw. */
  fail(err: DdmwError): DdmwError;
  /** True once the connection has failed or was closed. */
  hasFailed(): boolean;
  /**
   * Starts the time limit of the exchange's request again, from now, for
   * the reply awaited next (an acknowledgement after a payload); `what`
   * names that reply in the `TIMEOUT` error.
   */
  startLimit(what: string): void;
  /** Lifts the time limit until the next `startLimit`: while a payload is written, or a stream is held open. */
  stopLimit(): void;
  /**
   * The `TIMEOUT` or `ABORTED` error that stopped this exchange and closed
   * the connection, if any: reads failing after it fail because of it.
   */
  readonly stopped: DdmwError | undefined;
}

/**
 * Stops a payload source that was not read to its end. A `Readable` is
 * destroyed (its iterator's `return()` would wait behind a pending read);
 * another iterator is asked to return, without waiting for it.
 */
function stopSource(
  stream: Readable | AsyncIterable<Uint8Array>,
  it: AsyncIterator<unknown>,
): void {
  const readable = stream as Readable;
  if (typeof readable.destroy === 'function') readable.destroy();
  else it.return?.().catch(() => {});
}

/** An open connection to a DDMW client interface. Create it with `connect()`. */
export class Connection {
  /** The address this connection was opened to. */
  readonly addr: ProtAddr;
  /** Resolves once the socket has closed (for any reason). Never rejects. */
  readonly closed: Promise<void>;
  readonly #socket: Socket;
  readonly #reader: FrameReader;
  readonly #exchange: Exchange;
  readonly #turns: Turns;
  #failure: DdmwError | undefined;
  #drainWaiters: (() => void)[] = [];
  /** Stops the payload source being written, if any (see writeStream). */
  #stopSource: (() => void) | undefined;

  /** @internal Use `connect()`. */
  constructor(
    socket: Socket,
    addr: ProtAddr,
    options: FrameReaderOptions & { source?: ByteSource; requestTimeoutMs?: number } = {},
  ) {
    this.addr = addr;
    this.#turns = new Turns(this, options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
    this.#socket = socket;
    this.#reader = new FrameReader(options.source ?? socket, options);
    socket.on('error', () => {}); // errors surface through reads and writes
    socket.setNoDelay(true); // request/reply traffic: do not wait to coalesce small writes
    socket.on('drain', () => this.#wakeWriters());
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.#failure ??= new DdmwError(
          'DISCONNECTED',
          `Disconnected: the connection to ${this.address} is closed`,
        );
        this.#turns.close(this.#failure);
        this.#wakeWriters();
        this.#stopSource?.();
        resolve();
      });
    });
    const turns = this.#turns;
    this.#exchange = {
      reader: this.#reader,
      write: (data) => this.#write(data),
      writeTelegram: (tg) => this.#write(encodeTelegram(tg)),
      writeRequest: (text) => {
        if (this.#failure) throw this.#failure;
        this.#socket.write(text);
      },
      writeStream: (stream, length) => this.#writeStream(stream, length),
      fail: (err) => {
        this.fail(err);
        return err;
      },
      hasFailed: () => this.isClosed,
      startLimit: (what) => turns.startLimit(what),
      stopLimit: () => turns.stopLimit(),
      get stopped() {
        return turns.stopped;
      },
    };
  }

  /** The address as text, for messages. */
  get address(): string {
    return formatProtAddr(this.addr);
  }

  /** True once the connection is closed or has failed. */
  get isClosed(): boolean {
    return this.#failure !== undefined || this.#socket.destroyed;
  }

  /**
   * Runs `fn` with exclusive use of the connection. Calls are queued in call
   * order. An error that leaves the stream out of sync closes the connection
   * and makes every later call fail with it; other errors (a server `Fail`,
   * bad arguments) leave the connection usable.
   *
   * With `what` (naming it in errors), the exchange is a request: it has the
   * time limit `options.timeoutMs` (default: the connection's
   * `requestTimeoutMs`), counted from this call, and `options.signal`
   * aborts it (see {@link RequestOptions}). Without, it has no limit.
   */
  exclusive<T>(
    fn: (io: Exchange) => Promise<T>,
    what?: string,
    options?: RequestOptions,
  ): Promise<T> {
    // A closed connection refuses at once, even while an exchange still holds the turn.
    if (this.#failure) return Promise.reject(this.#failure);
    let request: Request | undefined;
    if (what !== undefined) {
      try {
        request = this.#turns.request(what, options);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.#turns.take()) return this.#run(fn, request, false);
    return this.#turns.wait(request).then(() => this.#run(fn, request, true));
  }

  /**
   * @internal {@link exclusive} for a request of one telegram answered by one
   * telegram: writes `text`, hands the reply to `onReply` in the reader's
   * callback and ends the exchange there. One promise per request instead
   * of three (`fn`'s, `#run`'s and the caller's): a round trip takes some
   * 30 µs, and each turn of the microtask queue shows in it.
   */
  request<T>(
    text: string,
    onReply: (io: Exchange, tg: Telegram) => T,
    what: string,
    options: RequestOptions | undefined,
  ): Promise<T> {
    if (this.#failure) return Promise.reject(this.#failure);
    let request: Request;
    try {
      request = this.#turns.request(what, options);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#turns.take()) return this.#runRequest(text, onReply, request, false);
    return this.#turns.wait(request).then(() => this.#runRequest(text, onReply, request, true));
  }

  /** {@link request} once it has the turn: {@link #run} for one telegram and its reply. */
  #runRequest<T>(
    text: string,
    onReply: (io: Exchange, tg: Telegram) => T,
    request: Request,
    waited: boolean,
  ): Promise<T> {
    const refused = this.#begin(request, waited);
    if (refused) return Promise.reject(refused);
    return new Promise<T>((resolve, reject) => {
      const fail = (err: unknown) => {
        try {
          this.#afterFailedRun(err);
        } catch (e) {
          reject(e);
        }
      };
      if (this.#failure) return fail(this.#failure);
      this.#socket.write(text);
      this.#reader.nextTelegramCallback((tg, err) => {
        let value: T;
        try {
          if (!tg) throw err ?? peerClosedError();
          value = onReply(this.#exchange, tg);
        } catch (e) {
          return fail(e);
        }
        resolve(this.#afterRun(value));
      });
    });
  }

  /**
   * Runs one exchange while holding the lock, then hands the lock on. Built
   * from plain promise callbacks rather than `async`/`await`: a request and
   * its reply are a few microseconds, and each extra promise hop shows.
   */
  #run<T>(
    fn: (io: Exchange) => Promise<T>,
    request: Request | undefined,
    waited: boolean,
  ): Promise<T> {
    const refused = this.#begin(request, waited);
    if (refused) return Promise.reject(refused);
    let result: Promise<T>;
    try {
      // Promise.resolve: a JavaScript caller's fn may return a plain value.
      result = this.#failure ? Promise.reject(this.#failure) : Promise.resolve(fn(this.#exchange));
    } catch (err) {
      result = Promise.reject(err);
    }
    return result.then(this.#afterRun, this.#afterFailedRun);
  }

  /**
   * Starts the exchange that got the turn. Returns the error to reject it
   * with instead, unrun, when its request was stopped meanwhile (the turn
   * is then handed on: nothing was sent, the connection goes on).
   */
  #begin(request: Request | undefined, waited: boolean): DdmwError | undefined {
    const refused = this.#failure ? undefined : this.#turns.begin(request, waited);
    if (refused) this.#turns.release();
    return refused;
  }

  readonly #afterRun = <T>(value: T): T => {
    this.#turns.end();
    this.#reader.ownBuffered();
    this.#turns.release();
    return value;
  };

  /** Makes an error that leaves the stream out of sync fatal, then hands the lock on. */
  readonly #afterFailedRun = (err: unknown): never => {
    // A stopped request reports why it was stopped, not the closed socket that followed.
    const e = this.#turns.end() ?? (err instanceof DdmwError ? err : toDdmwError(err));
    if (closesConnection(e) || this.#reader.error) this.fail(e);
    this.#reader.ownBuffered();
    this.#turns.release();
    throw e;
  };

  /**
   * Marks the connection as failed with `err` (if it has not failed yet) and
   * closes the socket. Pending and later calls reject with the first error.
   */
  fail(err: DdmwError): void {
    this.#failure ??= err;
    this.#socket.destroy();
  }

  /** Closes the connection at once. Pending calls reject with `DISCONNECTED`. */
  close(): Promise<void> {
    this.#failure ??= new DdmwError(
      'DISCONNECTED',
      `Disconnected: the connection to ${this.address} was closed by this client`,
    );
    this.#socket.destroy();
    return this.closed;
  }

  #wakeWriters(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Writes to the socket, waiting for 'drain' when its buffer is full. A
   * failed write shows as the socket's 'close' (and so as this connection's
   * failure), which later writes and reads report.
   */
  #write(data: Uint8Array | string): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#socket.write(data)) return Promise.resolve();
    return new Promise<void>((resolve) => this.#drainWaiters.push(resolve)).then(() => {
      if (this.#failure) throw this.#failure;
    });
  }

  async #writeStream(stream: Readable | AsyncIterable<Uint8Array>, length: number): Promise<void> {
    const source = (stream as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
    let sent = 0;
    let exhausted = false;
    // A source that stalls must not outlive the connection: closing it stops the source.
    this.#stopSource = () => stopSource(stream, source);
    // Bulk data: let TCP coalesce the tail of each write with the next one
    // (Nagle). Turning it back off afterwards also sends what is still held.
    this.#socket.setNoDelay(false);
    try {
      for (;;) {
        const next = await source.next();
        if (this.#failure) throw this.#failure;
        if (next.done) {
          exhausted = true;
          break;
        }
        const bytes = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
        if (sent + bytes.length > length) {
          throw this.#abortPayload(`is longer than the announced ${length} bytes`);
        }
        sent += bytes.length;
        await this.#write(bytes);
      }
    } catch (err) {
      // A source that fails half way (a file read error) leaves a partial payload too.
      const e = this.#failure ?? toDdmwError(err, 'Reading the payload source failed');
      this.fail(e);
      throw e;
    } finally {
      if (!this.#socket.destroyed) this.#socket.setNoDelay(true);
      this.#stopSource = undefined;
      if (!exhausted) stopSource(stream, source);
    }
    if (sent !== length) {
      throw this.#abortPayload(`ended after ${sent} of the announced ${length} bytes`);
    }
  }

  /**
   * The peer holds part of a payload that can no longer be completed as
   * announced: close the connection so it sees a truncated transfer (which
   * it discards) rather than a complete one with the wrong content.
   */
  #abortPayload(what: string): DdmwError {
    const err = new DdmwError(
      'BAD_INPUT',
      `The payload stream ${what}; the transfer was aborted and the connection closed`,
    );
    this.fail(err);
    return err;
  }

  /** Display form for `util.inspect` and `console.log`: `Connection <address>`, with `, closed` once closed. */
  [inspect.custom](): string {
    return `Connection <${this.address}${this.isClosed ? ', closed' : ''}>`;
  }
}
