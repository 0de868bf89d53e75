/**
 * Receiving in a loop on a subscribed connection: `messages` (async
 * iterator) and `recvLoop` (callback). A message that cannot be received
 * as asked is reported and skipped; the loop goes on with the next one.
 */
import type { Readable } from 'node:stream';
import type { Connection } from '../conn/connection.ts';
import { DdmwError } from '../err.ts';
import type { StreamEvent } from '../strm/recv.ts';
import { MsgError } from './msg-error.ts';
import { type RecvOptions, recv } from './recv.ts';
import type { Msg } from './types.ts';

/** Told of each skipped message, with how many this loop has skipped so far. */
export type OnSkipped = (err: MsgError, skipped: number) => void;

/** Options of {@link recvLoop} and {@link messages}. */
export interface LoopOptions extends RecvOptions {
  /**
   * Stops receiving. A read in progress cannot be taken back half way, so
   * stopping closes the connection; the loop then ends without an error.
   */
  signal?: AbortSignal;
  /**
   * Told of each message that arrived but could not be received as asked
   * (a {@link MsgError} with `skipped` true: a refused store, a part that
   * does not parse, a file that cannot be written), after it was skipped.
   * The loop then goes on. Default: {@link warnSkipped}, process warnings
   * (code `DDMW_MSG_SKIPPED`), so that no message is dropped silently.
   */
  onSkipped?: OnSkipped;
}

/** Skipped messages reported one by one by {@link warnSkipped}; after them, every 100th. */
const WARN_EACH = 10;

/**
 * The default report of a skipped message: a process warning for each of
 * the first ten, then one for every hundredth with the count (a hostile
 * sender cannot flood the log, and nothing goes unsaid).
 */
export const warnSkipped: OnSkipped = (err, skipped) => {
  if (skipped <= WARN_EACH) {
    process.emitWarning(err.message, { code: 'DDMW_MSG_SKIPPED' });
  } else if (skipped % 100 === 0) {
    const summary = `${skipped} messages skipped so far (the first ${WARN_EACH} and every 100th are reported); the last: ${err.message}`;
    process.emitWarning(summary, { code: 'DDMW_MSG_SKIPPED' });
  }
};

/** The stream of `item` (a stream, or a payload stored as one) when it has not been read to its end. */
function unread(item: Msg | StreamEvent | undefined): Readable | undefined {
  const open = item?.kind === 'stream' ? item : item?.payload;
  if (!open || !('stream' in open)) return undefined;
  return open.stream.readableEnded || open.stream.destroyed ? undefined : open.stream;
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
 * slow handler slows the node down instead of piling messages up). A
 * message that cannot be received is reported to `onSkipped` and skipped.
 * Resolves when `signal` aborts; rejects on a lost connection, a `Fail`
 * from the node, or an error thrown by `onMsg`.
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
 * The messages of a subscribed connection as an async iterable. A message
 * that cannot be received is reported to `onSkipped` and skipped. Breaking
 * out of the loop leaves the connection open and in step (an unconsumed
 * `'stream'` part is destroyed, which skips its rest); aborting `signal`
 * closes the connection and ends the loop quietly. A lost connection, a
 * `Fail` from the node, or a message that had to close the connection (a
 * {@link MsgError} with `skipped` false) ends the loop with that error.
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
  const onSkipped = options.onSkipped ?? warnSkipped;
  let skipped = 0;
  let last: Msg | StreamEvent | undefined;
  try {
    for (;;) {
      if (unread(last)) {
        throw new DdmwError(
          'BAD_STATE',
          "The previous message's payload stream was not read to its end: read it (or destroy it, which skips its rest) before asking for the next message",
        );
      }
      try {
        last = await recv(conn, options);
      } catch (err) {
        if (options.signal?.aborted) return;
        if (!(err instanceof MsgError && err.skipped)) throw err;
        onSkipped(err, ++skipped);
        continue;
      }
      yield last;
    }
  } finally {
    stop();
    // A stream not read to its end holds the connection: destroying it skips its rest.
    unread(last)?.destroy();
  }
}
