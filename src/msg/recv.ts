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
import type { Readable } from 'node:stream';
import { Telegram, U32, U64 } from '../blather/index.ts';
import type { Connection, Exchange } from '../conn/connection.ts';
import type { RequestOptions } from '../conn/limits.ts';
import { failError, sendrecv, unexpectedReply } from '../conn/request.ts';
import { DdmwError, toDdmwError } from '../err.ts';
import {
  isStreamStart,
  receiveStream,
  type StreamEvent,
  skipStream,
  streamFields,
} from '../strm/recv.ts';
import { type AppChannel, formatAppChannel } from '../types.ts';
import { bufferLimit, chooseStores, type PartStores } from './choose.ts';
import { MsgError, type MsgErrorInfo } from './msg-error.ts';
import { type StoredPart, storePart } from './store.ts';
import type { Msg, MsgInfo, StoreQ } from './types.ts';

/** Options of {@link recv}. */
export interface RecvOptions {
  /** Chooses where each part goes. Default: buffer both parts, up to `maxBuffered` bytes each. */
  storeq?: StoreQ;
  /**
   * Largest part held in memory (stored as `'bytes'`, `'params'` or
   * `'kvlines'`, by `storeq` or by default), in bytes: default 64 MiB, at
   * most `buffer.constants.MAX_LENGTH`. A larger part is refused before it
   * is read: the message is skipped with a `BAD_PARAMS` {@link MsgError}.
   */
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

/**
 * Subscribes the connection to a channel (`Sub` with `Ch`). `options` limit
 * the time of the `Sub` request (see {@link RequestOptions}); waiting for
 * the messages that follow has no time limit.
 */
export async function subscribe(
  conn: Connection,
  ch: AppChannel,
  options?: RequestOptions,
): Promise<void> {
  await sendrecv(conn, new Telegram('Sub', { Ch: formatAppChannel(ch) }), options);
}

/** The fields of a `Msg` header that need no parsing, and `Cmd` if it parses. */
function headerFields(tg: Telegram): MsgErrorInfo {
  const p = tg.params;
  let cmd: number | undefined;
  try {
    cmd = p.getIntDef('Cmd', 0, U32);
  } catch {
    cmd = undefined; // the error is reported when the message is read
  }
  return { xferId: p.get('XferId'), cmd, ch: p.get('_Ch') ?? p.get('Ch') };
}

/**
 * The part lengths of a `Msg` header. Without them the message cannot be
 * skipped: when they do not parse, the connection is closed (its next bytes
 * are the message's, never to be read as a telegram).
 */
function parseLengths(io: Exchange, tg: Telegram, fields: MsgErrorInfo) {
  const p = tg.params;
  try {
    const metaLen = p.getIntDef('MetaLen', 0, U32);
    const len = p.getBigIntDef('Len', 0n, U64);
    if (BigInt(metaLen) + len > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new DdmwError(
        'BAD_INPUT',
        `MetaLen ${metaLen} + Len ${len} is beyond what can be received (2^53-1 bytes)`,
      );
    }
    return { metaLen, payloadLen: Number(len) };
  } catch (err) {
    throw io.fail(new MsgError(fields, toDdmwError(err), false));
  }
}

/** Reads and drops the `n` bytes left of a message; if that fails, the connection is closed. */
async function skipOrClose(io: Exchange, n: number): Promise<void> {
  if (n === 0 || io.reader.error || io.hasFailed()) return;
  try {
    await io.reader.skip(n);
  } catch (err) {
    if (!io.reader.error) io.fail(toDdmwError(err));
  }
}

/** Whether the message was read to its end with the connection still usable. */
const inStep = (io: Exchange) => !io.reader.error && !io.hasFailed();

/**
 * Stores both parts. Each store reads exactly its part's bytes, or fails
 * the reader (and so the connection); a part that failed otherwise has
 * been read, so the payload after failed metadata is skipped here. Files
 * are moved to their names only once both parts are read.
 */
async function storeParts(io: Exchange, info: MsgInfo, stores: PartStores) {
  let meta: StoredPart;
  try {
    meta = await storePart(io, stores.meta, info.metaLen, 'metadata');
  } catch (err) {
    await skipOrClose(io, info.payloadLen);
    throw err;
  }
  let payload: StoredPart | undefined;
  try {
    payload = await storePart(io, stores.payload, info.payloadLen, 'payload');
    await meta.commit();
    await payload.commit();
    return { meta: meta.storage, payload: payload.storage };
  } catch (err) {
    await meta.discard();
    await payload?.discard();
    throw err;
  }
}

/**
 * Reads one message inside an exchange, after its telegram `tg`. Whatever
 * fails, the message's bytes are read to their end (the connection is then
 * at the next message) or the connection is closed; a failure is a
 * {@link MsgError}.
 */
async function readMsg(io: Exchange, tg: Telegram, options: RecvOptions): Promise<Msg> {
  if (tg.topic === 'Fail') throw failError(tg);
  if (tg.topic !== 'Msg') throw unexpectedReply(io, tg, 'Msg');
  const fields = headerFields(tg);
  const lengths = parseLengths(io, tg, fields);
  let unread = lengths.metaLen + lengths.payloadLen;
  try {
    const info: MsgInfo = { ...fields, cmd: tg.params.getIntDef('Cmd', 0, U32), ...lengths };
    const stores = await chooseStores(info, options);
    unread = 0; // storeParts reads every byte, or fails the reader
    const { meta, payload } = await storeParts(io, info, stores);
    return { kind: 'msg', ...info, meta, payload };
  } catch (err) {
    await skipOrClose(io, unread);
    throw new MsgError(fields, toDdmwError(err), inStep(io));
  }
}

/** The payload stream of each connection still being read, if any (for a `recv` called too early). */
const unreadPayloads = new WeakMap<Connection, Readable>();

/** Resolves once `stream` has ended or was destroyed (never rejects). */
function endOf(stream: Readable): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => stream.once('close', () => resolve()));
}

/** Skips a stream that cannot be received as asked, then reports it. */
async function refuseStream(io: Exchange, tg: Telegram, cause: DdmwError): Promise<never> {
  await skipStream(io);
  throw new MsgError({ ...streamFields(tg), cmd: undefined }, cause, inStep(io));
}

/**
 * Receives the next message (or, with `streams: true`, the next message or
 * stream). A `Fail` from the node (for instance when this subscriber was
 * too slow) is a `SERVER_ERROR`. A message that arrives but cannot be
 * received as asked rejects with a {@link MsgError} naming it; the message
 * is then skipped, and the connection is ready for the next one, unless
 * the error says the connection was closed. A part stored as `'stream'`,
 * and the `Readable` of a stream, must be consumed or destroyed before the
 * next `recv`: a stream holds the connection until its end.
 */
export function recv(conn: Connection, options?: RecvOptions & { streams?: false }): Promise<Msg>;
export function recv(conn: Connection, options: RecvStreamsOptions): Promise<Msg | StreamEvent>;
export function recv(conn: Connection, options?: RecvOptions): Promise<Msg | StreamEvent>;
export function recv(conn: Connection, options: RecvOptions = {}): Promise<Msg | StreamEvent> {
  return new Promise((resolve, reject) => {
    bufferLimit(options); // a bad limit is refused before a message is read
    const unread = unreadPayloads.get(conn);
    if (unread && !conn.isClosed && !unread.readableEnded && !unread.destroyed) {
      throw new DdmwError(
        'BAD_STATE',
        "The previous message's payload stream was not read to its end: read it (or destroy it, which skips its rest) before the next recv",
      );
    }
    conn
      .exclusive(async (io) => {
        const tg = await io.reader.readTelegram();
        if (!isStreamStart(tg)) {
          const msg = await readMsg(io, tg, options);
          resolve(msg);
          // A payload handed out as a stream is still being read: the exchange lasts until its end.
          if (msg.payload?.kind === 'stream') {
            const stream = msg.payload.stream;
            unreadPayloads.set(conn, stream);
            await Promise.race([endOf(stream), conn.closed]);
            if (unreadPayloads.get(conn) === stream) unreadPayloads.delete(conn);
          }
          return;
        }
        if (!options.streams) {
          const cause = new DdmwError(
            'BAD_PARAMS',
            'It is a stream: pass { streams: true } to receive streams',
          );
          await refuseStream(io, tg, cause);
        }
        let started: ReturnType<typeof receiveStream>;
        try {
          started = receiveStream(io, tg);
        } catch (err) {
          await refuseStream(io, tg, toDdmwError(err));
          return;
        }
        resolve(started.event);
        // The exchange lasts until the stream's last frame was read (or the connection closed).
        await Promise.race([started.done, conn.closed]);
      })
      .catch(reject); // ignored once resolved: the stream itself reports later errors
  });
}
