/**
 * One client connection to a simulator interface. A session owns the socket,
 * a pull-based {@link FrameReader} over it and the account the connection is
 * logged in as. It answers requests one at a time, in order: read a
 * telegram, look its topic up in the interface's command table, run the
 * handler, write the reply. Pipelined requests therefore get their replies
 * in order, and a client that stops reading stops the session (TCP flow
 * control), so memory stays bounded.
 */
import type { Socket } from 'node:net';
import { replyText } from '../../blather/encode.ts';
import { FrameReader, type FrameReaderOptions, Params, Telegram } from '../../blather/index.ts';
import { DdmwError, isDdmwError } from '../../err.ts';
import { type Account, UNAUTHENTICATED } from '../accounts/accounts.ts';
import { CommandFailed } from './command-failed.ts';
import { writeChunks, writeNow } from './socket-write.ts';
import { StallWatch } from './stall-watch.ts';

export { CommandFailed };

/**
 * What a client's request may hold: lines of 64 KiB, 10,000 parameter lines
 * and 1 MiB in all. Beyond, the session closes the connection (and logs
 * why), so one client cannot make the simulator hold more than that.
 */
const REQUEST_LIMITS: FrameReaderOptions = {
  maxLineLength: 64 * 1024,
  maxParams: 10_000,
  maxTelegramBytes: 1024 * 1024,
};

/** Parameter keys whose values are never logged. */
const SECRET_KEYS = ['Pass', 'Tkn'] as const;

/** Receives one log line. */
export type Logger = (line: string) => void;

/**
 * Runs one command. It returns the parameters of the `Ok` reply, or throws
 * {@link CommandFailed} for a `Fail` reply. A command that exchanges several
 * messages (such as `Msg`, whose metadata and payload bytes follow the
 * request) reads the raw bytes from `session.reader`, writes its earlier
 * replies with {@link Session.ok}, and returns the parameters of its last one.
 */
export type CommandHandler = (session: Session, request: Telegram) => Params | Promise<Params>;

/** The commands an interface answers, by topic. */
export type CommandTable = ReadonlyMap<string, CommandHandler>;

/** When a session closes its connection for lack of progress. */
export interface SessionTimeouts {
  /** Closes a connection not logged in for this long (since it connected, or went back with `Unauth`). */
  loginMs: number;
  /** Closes a connection whose request has had no byte for this long. */
  stallMs: number;
  /** Called when a connection is closed for either. */
  onTimeout: () => void;
}

/** How a session is set up by its listener. */
export interface SessionOptions {
  /** Commands of the interface the connection came in on. */
  commands: CommandTable;
  /** Names the interface in `Fail` reasons, e.g. `the sender node's msgif`. */
  interfaceName: string;
  /** Prefixes the session's log lines, e.g. `sender/msgif#3`. */
  label: string;
  /** Where log lines go; `undefined` for no logging. */
  log: Logger | undefined;
  /** When the connection is closed for lack of progress. */
  timeouts: SessionTimeouts;
}

/** Errors from reading request parameters: the request was framed fine but a value is bad or missing. */
function isBadRequest(err: unknown): err is DdmwError {
  return isDdmwError(err, 'BLATHER') || isDdmwError(err, 'MISSING_DATA');
}

function describe(tg: Telegram): string {
  for (const key of SECRET_KEYS) tg.params.markSecret(key);
  return tg.toString();
}

/** A client connection and its serial request loop. */
export class Session {
  /** The connection. Write to it through {@link write}, which handles closed sockets and backpressure. */
  readonly socket: Socket;
  /** Decoder over the socket; handlers read raw bytes that follow a request from it. */
  readonly reader: FrameReader;
  readonly #options: SessionOptions;
  readonly #watch: StallWatch;
  #account: Account = UNAUTHENTICATED;
  /** Closes the connection when it has not logged in in time; runs while it is not logged in. */
  #loginTimer: NodeJS.Timeout | undefined;
  /** The login time ran out during a request: the connection closes after its reply, unless it logged in. */
  #loginOverdue = false;
  /** True while a request's handler runs. */
  #handling = false;
  /**
   * Set by the login guard while an `Auth`'s passphrase check waits for its
   * turn or runs: the listener does not close the connection to make room.
   */
  checkingPassword = false;
  readonly #closing = new AbortController();
  /** Settles when the current {@link exclusive} writer is done; `undefined` when there is none. */
  #writer: Promise<void> | undefined;

  constructor(socket: Socket, options: SessionOptions) {
    this.socket = socket;
    this.#options = options;
    const { stallMs } = options.timeouts;
    this.#watch = new StallWatch(socket, stallMs, () =>
      this.#timedOut(`no byte from the client for ${stallMs} ms in the middle of a request`),
    );
    this.reader = new FrameReader(this.#watch, REQUEST_LIMITS);
    // Socket errors (a reset, a broken pipe) also end the reader, which ends the loop.
    socket.on('error', (err) => this.log(`socket error: ${err.message}`));
    socket.once('close', () => {
      clearTimeout(this.#loginTimer);
      this.#closing.abort(new DdmwError('DISCONNECTED', 'The client disconnected'));
    });
    this.#startLoginTimer();
  }

  /** The account this connection is logged in as. */
  get account(): Account {
    return this.#account;
  }

  /** Logs the connection in (or, with the unauthenticated account, out: the login time limit runs again). */
  set account(account: Account) {
    this.#account = account;
    clearTimeout(this.#loginTimer);
    this.#loginTimer = undefined;
    this.#loginOverdue = false;
    if (account.id === UNAUTHENTICATED.id) this.#startLoginTimer();
  }

  /** Aborted (with a `DISCONNECTED` error) once the connection has closed. */
  get closed(): AbortSignal {
    return this.#closing.signal;
  }

  /** Not once the connection is destroyed: its 'close' handler, which clears the timer, has run or is on its way. */
  #startLoginTimer(): void {
    if (this.socket.destroyed) return;
    // Unreferenced: an open connection keeps the process alive through its socket, not this timer.
    this.#loginTimer = setTimeout(this.#loginTimeUp, this.#options.timeouts.loginMs).unref();
  }

  /** A request in progress (a login, say) is answered first; the loop then closes the connection. */
  readonly #loginTimeUp = (): void => {
    this.#loginTimer = undefined;
    this.#loginOverdue = true;
    if (!this.#handling) this.#closeIfOverdue();
  };

  #closeIfOverdue(): void {
    if (this.#loginOverdue) {
      this.#timedOut(`not logged in within ${this.#options.timeouts.loginMs} ms`);
    }
  }

  /** Closes the connection for lack of progress, saying why. */
  #timedOut(why: string): void {
    if (this.socket.destroyed) return;
    this.log(`closing: ${why}`);
    this.#options.timeouts.onTimeout();
    this.socket.destroy();
  }

  /**
   * The client may pause before its next frame, as a stream does between
   * chunks: waiting for it is not a stall. Call at a frame boundary.
   */
  restBetweenFrames(): void {
    if (this.reader.buffered === 0) this.#watch.rest();
  }

  /** Writes a log line prefixed with the session label (no-op without a logger). */
  log(line: string): void {
    this.#options.log?.(`${this.#options.label} ${line}`);
  }

  /**
   * Writes raw bytes for the client. The socket keeps writes in order (it
   * buffers what the kernel cannot take yet); the promise resolves at once,
   * or once the socket drained when its buffer is full, so a caller writing a
   * large payload in pieces gets backpressure by awaiting each call. Writes
   * to a closed connection are dropped; a failed write closes the socket.
   * Several writes that must stay together go inside {@link exclusive}.
   */
  write(...chunks: Uint8Array[]): Promise<void> {
    return writeChunks(this.socket, chunks);
  }

  /** {@link write}, resolving only once the chunks are handed to the system: their buffers may then be reused. */
  writeFlushed(chunks: Uint8Array[]): Promise<void> {
    return writeChunks(this.socket, chunks, true);
  }

  /**
   * Runs `fn` with the write side of the connection to itself: replies and
   * other exclusive writers wait until it is done. Used to push a whole
   * message (telegram, metadata, payload) without a reply in the middle.
   */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#writer) await this.#writer;
    let release = () => {};
    this.#writer = new Promise((resolve) => {
      release = resolve;
    });
    try {
      return await fn();
    } finally {
      this.#writer = undefined;
      release();
    }
  }

  /** Writes an `Ok` reply. */
  ok(params: Params = new Params()): Promise<void> {
    return this.#reply('Ok', params) ?? Promise.resolve();
  }

  /** Writes a `Fail` reply whose `Reason` is `reason`. */
  fail(reason: string): Promise<void> {
    return this.#replyFail(reason) ?? Promise.resolve();
  }

  #replyFail(reason: string): Promise<void> | undefined {
    return this.#reply('Fail', new Params({ Reason: reason }));
  }

  /**
   * Writes a reply; `undefined` when it went out at once, else a promise
   * that settles once it is written (behind an exclusive writer, or after
   * the socket drained). Its text is made straight from the topic and the
   * params, and a string goes out without an intermediate buffer: a round
   * trip takes a few microseconds, and each step of a reply shows in it.
   */
  #reply(topic: 'Ok' | 'Fail', params: Params): Promise<void> | undefined {
    if (this.#options.log) this.log(`> ${describe(new Telegram(topic, params))}`);
    const text = replyText(topic, params);
    if (this.#writer) return this.exclusive(() => writeChunks(this.socket, [text]));
    return writeNow(this.socket, text);
  }

  /** Closes the connection at once; the request loop then ends. */
  close(): void {
    this.socket.destroy();
  }

  /**
   * Serves requests until the client disconnects, a decode error occurs or
   * the session is closed. Never rejects. Ends the socket when done.
   *
   * Driven by callbacks rather than an `await` loop: a request that arrives
   * whole and has a synchronous handler is answered inside the socket's data
   * event, without a promise.
   */
  run(): Promise<void> {
    return new Promise((resolve) => {
      this.#stopped = resolve;
      this.#serve();
    });
  }

  /** Resolves {@link run}'s promise; `undefined` once the session has stopped. */
  #stopped: (() => void) | undefined;

  /** Answers every buffered request, then waits for the next one. */
  readonly #serve = (): void => {
    this.#serving = true;
    this.#handling = false;
    try {
      for (;;) {
        this.#closeIfOverdue();
        if (this.socket.destroyed) {
          this.#stop();
          return;
        }
        let request = this.reader.tryReadTelegram();
        if (!request) {
          this.restBetweenFrames();
          this.reader.nextTelegramCallback(this.#onRequest);
          // A request that came at once (queued data) is served by this loop, not by a nested call.
          const next = this.#arrived;
          this.#arrived = undefined;
          if (!next) return;
          if (!next.request) {
            this.#stop(next.err);
            return;
          }
          request = next.request;
        }
        if (!this.#handle(request)) return;
      }
    } finally {
      this.#serving = false;
    }
  };

  /** True while {@link #serve} runs; a request that arrives meanwhile waits in {@link #arrived}. */
  #serving = false;
  #arrived: { request: Telegram | undefined; err: DdmwError | undefined } | undefined;

  readonly #onRequest = (request: Telegram | undefined, err?: DdmwError): void => {
    if (this.#serving) this.#arrived = { request, err };
    else if (!request) this.#stop(err);
    else if (this.#handle(request)) this.#serve();
  };

  /** Runs one request; false when the session goes on later (after an asynchronous reply) or has stopped. */
  #handle(request: Telegram): boolean {
    let pending: Promise<void> | undefined;
    this.#handling = true;
    try {
      pending = this.#dispatch(request);
    } catch (err) {
      this.#stop(err);
      return false;
    }
    if (!pending) {
      this.#handling = false;
      return true;
    }
    pending.then(this.#serve, (err: unknown) => this.#stop(err));
    return false;
  }

  /** Ends the session: after a clean end of data the socket is ended, after an error it is closed. */
  #stop(err?: unknown): void {
    const stopped = this.#stopped;
    if (!stopped) return;
    this.#stopped = undefined;
    if (err !== undefined) this.#closeOnError(err);
    else if (!this.socket.destroyed) this.socket.end(); // after the replies already written
    stopped();
  }

  /**
   * Runs one request. A synchronous handler whose reply goes out at once
   * completes here (`undefined`): most requests are small, and a promise
   * per request is a measurable part of a round trip. Otherwise the
   * returned promise settles when the reply is written.
   */
  #dispatch(request: Telegram): Promise<void> | undefined {
    if (this.#options.log) this.log(`< ${describe(request)}`);
    const handler = this.#options.commands.get(request.topic);
    if (!handler) {
      return this.#replyFail(
        `Unknown command "${request.topic}" on ${this.#options.interfaceName}`,
      );
    }
    let result: Params | Promise<Params>;
    try {
      result = handler(this, request);
    } catch (err) {
      return this.#replyFailure(err);
    }
    if (result instanceof Params) return this.#reply('Ok', result);
    return Promise.resolve(result).then(
      (params) => this.ok(params),
      (err: unknown) => this.#replyFailure(err),
    );
  }

  /** Replies `Fail` for a refused or bad request; rethrows anything else (it closes the session). */
  #replyFailure(err: unknown): Promise<void> | undefined {
    if (this.reader.error || !(err instanceof CommandFailed || isBadRequest(err))) throw err;
    return this.#replyFail(err.message);
  }

  #closeOnError(err: unknown): void {
    if (isDdmwError(err, 'DISCONNECTED')) {
      this.log('client disconnected in the middle of a request');
    } else if (this.reader.error) {
      this.log(`closing: undecodable data from the client: ${this.reader.error.message}`);
    } else {
      const text = err instanceof Error ? err.message : String(err);
      this.log(`closing: internal simulator error: ${text}`);
    }
    this.socket.destroy();
  }
}
