/**
 * Receiving messages on a connection to the receiver node's subscription
 * interface: `subscribe`, then `recv` one message at a time, or loop with
 * `recvLoop` (callback) or `messages` (async iterator).
 *
 * Each message arrives as a `Msg` telegram (`Cmd`, `MetaLen`, `Len`, `_Ch`,
 * `XferId`; missing numbers mean 0) followed by the metadata bytes, then the
 * payload bytes. Both parts are always consumed, whether or not they are
 * announced together (the Rust 0.1 client left a payload without metadata
 * unread and lost step).
 */
import { Telegram, U32, U64 } from '../blather/index.ts';
import type { Connection, Exchange } from '../conn/connection.ts';
import { failError, sendrecv, unexpectedReply } from '../conn/request.ts';
import { DdmwError } from '../err.ts';
import { isStreamStart, receiveStream, type StreamEvent } from '../strm/recv.ts';
import { type AppChannel, formatAppChannel } from '../types.ts';
import { discardPart, storePart } from './store.ts';
import type { Msg, MsgInfo, StoreChoice, StoreQ, StoreType } from './types.ts';

/** Largest part the default store buffers in memory (64 MiB). */
export const DEFAULT_MAX_BUFFERED = 64 * 1024 * 1024;

/** Options of {@link recv}. */
export interface RecvOptions {
  /** Chooses where each part goes. Default: buffer both parts, up to `maxBuffered` bytes each. */
  storeq?: StoreQ;
  /** Limit of the default store, in bytes (default 64 MiB). */
  maxBuffered?: number;
  /**
   * Also receive streams, as {@link StreamEvent}s. Without it, a stream
   * that arrives is skipped (read and dropped) and reported as a
   * `BAD_PARAMS` error; the connection stays usable.
   */
  streams?: boolean;
}

/** Options that ask for streams too. */
export type RecvStreamsOptions = RecvOptions & {
  /** Streams are received too. */
  streams: true;
};

/** Subscribes the connection to a channel (`Sub` with `Ch`). */
export async function subscribe(conn: Connection, ch: AppChannel): Promise<void> {
  await sendrecv(conn, new Telegram('Sub', { Ch: formatAppChannel(ch) }));
}

function parseInfo(io: Exchange, tg: Telegram): MsgInfo {
  const p = tg.params;
  const len = p.getBigIntDef('Len', 0n, U64);
  if (len > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw io.fail(
      new DdmwError(
        'BAD_STATE',
        `The server announced a ${len}-byte payload, beyond what can be received`,
      ),
    );
  }
  return {
    cmd: p.getIntDef('Cmd', 0, U32),
    ch: p.get('_Ch') ?? p.get('Ch'),
    xferId: p.get('XferId'),
    metaLen: p.getIntDef('MetaLen', 0, U32),
    payloadLen: Number(len),
  };
}

function defaultChoice(info: MsgInfo, limit: number): StoreChoice {
  const biggest = Math.max(info.metaLen, info.payloadLen);
  if (biggest > limit) {
    throw new DdmwError(
      'BAD_PARAMS',
      `Message ${info.xferId ?? ''} has a ${biggest}-byte part, over the ${limit}-byte limit for buffering in memory; it was skipped. Pass a storeq that stores large parts as { file } or 'stream'`,
    );
  }
  return 'bytes';
}

function split(choice: StoreChoice): { meta: StoreType; payload: StoreType } {
  // Metadata cannot be a stream (the payload follows it): 'stream' for both buffers the metadata.
  if (choice === 'stream') return { meta: 'bytes', payload: 'stream' };
  if (typeof choice === 'string' || 'file' in choice) return { meta: choice, payload: choice };
  return { meta: choice.meta ?? 'none', payload: choice.payload ?? 'none' };
}

/** Reads one message inside an exchange, after its telegram `tg`. */
async function readMsg(io: Exchange, tg: Telegram, options: RecvOptions): Promise<Msg> {
  if (tg.topic === 'Fail') throw failError(tg);
  if (tg.topic !== 'Msg') throw unexpectedReply(io, tg, 'Msg');
  const info = parseInfo(io, tg);
  let stores: { meta: StoreType; payload: StoreType };
  try {
    const choice = options.storeq
      ? await options.storeq(info)
      : defaultChoice(info, options.maxBuffered ?? DEFAULT_MAX_BUFFERED);
    stores = split(choice);
    if (stores.meta === 'stream' && info.metaLen > 0) {
      throw new DdmwError(
        'BAD_PARAMS',
        "Metadata cannot be received as a 'stream'; choose another store for it",
      );
    }
  } catch (err) {
    // Keep the connection in step: the message is skipped.
    await io.reader.skip(info.metaLen);
    await io.reader.skip(info.payloadLen);
    throw err;
  }
  const meta = await storePart(io, stores.meta, info.metaLen, 'metadata');
  try {
    const payload = await storePart(io, stores.payload, info.payloadLen, 'payload');
    return { kind: 'msg', ...info, meta, payload };
  } catch (err) {
    await discardPart(meta);
    throw err;
  }
}

/** Skips a stream nobody asked for, then reports it. */
async function refuseStream(io: Exchange, tg: Telegram): Promise<never> {
  const { event, done } = receiveStream(io, tg);
  event.stream.destroy();
  await done;
  throw new DdmwError(
    'BAD_PARAMS',
    `Stream ${event.xferId ?? ''} on channel ${event.ch ?? '?'} arrived and was skipped: pass { streams: true } to receive streams`,
  );
}

/**
 * Receives the next message (or, with `streams: true`, the next message or
 * stream). A `Fail` from the node (for instance when this subscriber was
 * too slow) is a `SERVER_ERROR`. A part stored as `'stream'`, and the
 * `Readable` of a stream, must be consumed or destroyed before the next
 * `recv`: a stream holds the connection until its end.
 */
export function recv(conn: Connection, options?: RecvOptions & { streams?: false }): Promise<Msg>;
export function recv(conn: Connection, options: RecvStreamsOptions): Promise<Msg | StreamEvent>;
export function recv(conn: Connection, options?: RecvOptions): Promise<Msg | StreamEvent>;
export function recv(conn: Connection, options: RecvOptions = {}): Promise<Msg | StreamEvent> {
  return new Promise((resolve, reject) => {
    conn
      .exclusive(async (io) => {
        const tg = await io.reader.readTelegram();
        if (!isStreamStart(tg)) {
          resolve(await readMsg(io, tg, options));
          return;
        }
        if (!options.streams) await refuseStream(io, tg);
        const { event, done } = receiveStream(io, tg);
        resolve(event);
        await done; // the exchange lasts until the stream's last frame was read
      })
      .catch(reject); // ignored once resolved: the stream itself reports later errors
  });
}

/** Options of {@link recvLoop} and {@link messages}. */
export interface LoopOptions extends RecvOptions {
  /**
   * Stops receiving. A read in progress cannot be taken back half way, so
   * stopping closes the connection; the loop then ends without an error.
   */
  signal?: AbortSignal;
}

/** Closes `conn` when `signal` aborts; returns the function that stops listening. */
function closeWhenAborted(conn: Connection, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => {};
  const onAbort = () => {
    conn.close();
  };
  if (signal.aborted) onAbort();
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/**
 * Receives messages one after another and awaits `onMsg` for each (so a
 * slow handler slows the node down instead of piling messages up). Resolves
 * when `signal` aborts; rejects on a lost connection or any other error,
 * including one thrown by `onMsg`.
 */
export async function recvLoop(
  conn: Connection,
  options: LoopOptions & { streams?: false; onMsg: (msg: Msg) => void | Promise<void> },
): Promise<void>;
export async function recvLoop(
  conn: Connection,
  options: LoopOptions & {
    streams: true;
    onMsg: (msg: Msg | StreamEvent) => void | Promise<void>;
  },
): Promise<void>;
export async function recvLoop(
  conn: Connection,
  options: LoopOptions & { onMsg: (msg: never) => void | Promise<void> },
): Promise<void> {
  const onMsg = options.onMsg as (msg: Msg | StreamEvent) => void | Promise<void>;
  for await (const msg of messages(conn, options)) await onMsg(msg);
}

/**
 * The messages of a subscribed connection as an async iterable. Breaking
 * out of the loop leaves the connection open and in step (an unconsumed
 * `'stream'` part is destroyed, which skips its rest); aborting `signal`
 * closes the connection and ends the loop quietly.
 */
export function messages(
  conn: Connection,
  options?: LoopOptions & { streams?: false },
): AsyncGenerator<Msg>;
export function messages(
  conn: Connection,
  options: LoopOptions & { streams: true },
): AsyncGenerator<Msg | StreamEvent>;
export function messages(
  conn: Connection,
  options?: LoopOptions,
): AsyncGenerator<Msg | StreamEvent>;
export async function* messages(
  conn: Connection,
  options: LoopOptions = {},
): AsyncGenerator<Msg | StreamEvent> {
  const stop = closeWhenAborted(conn, options.signal);
  let last: Msg | StreamEvent | undefined;
  try {
    for (;;) {
      try {
        last = await recv(conn, options);
      } catch (err) {
        if (options.signal?.aborted) return;
        throw err;
      }
      yield last;
    }
  } finally {
    stop();
    const open = last?.kind === 'stream' ? last.stream : last?.payload;
    if (open && 'stream' in open && !open.stream.readableEnded) open.stream.destroy();
  }
}
