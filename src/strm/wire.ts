/**
 * The stream wire format, in one place so that it can be replaced when the
 * real DDMW format is known. It is ours, provisional (the Rust client's
 * `strm` module is an empty placeholder): see docs/streams.md.
 *
 * Sender node's message interface:
 *
 * ```
 * C: Strm _Ch [Cmd]             S: Ok XferId  (or Fail)
 * C: Chunk Len + <Len bytes>    (repeated, no reply)
 * C: StrmEnd                    S: Ok Len
 * C: StrmAbort Reason           S: Ok         (instead of StrmEnd)
 * ```
 *
 * Receiver node's subscription interface, pushed between messages:
 *
 * ```
 * S: Strm _Ch XferId Cmd
 * S: Chunk Len + <Len bytes>    (repeated)
 * S: StrmEnd Len Sha256         (or StrmAbort Reason)
 * ```
 */
import { Telegram } from '../blather/index.ts';
import { type AppChannel, formatAppChannel } from '../types.ts';

/** Telegram topics of the stream protocol. */
export const TOPICS = {
  /** Opens a stream (client to sender node) or announces one (receiver node to subscriber). */
  start: 'Strm',
  /** Announces `Len` raw bytes of the stream. */
  chunk: 'Chunk',
  /** Completes the stream. */
  end: 'StrmEnd',
  /** Abandons the stream. */
  abort: 'StrmAbort',
} as const;

/** Parameter keys of the stream protocol. */
export const KEYS = {
  /** Channel of the stream. */
  channel: '_Ch',
  /** Application command number. */
  cmd: 'Cmd',
  /** Transfer id assigned by the sender node. */
  xferId: 'XferId',
  /** Byte count of a chunk, or of the whole stream at its end. */
  length: 'Len',
  /** sha-256 of the whole stream, at its end. */
  sha256: 'Sha256',
  /** Why a stream was aborted. */
  reason: 'Reason',
} as const;

/** The telegram that opens a stream; `Cmd` is only sent when non-zero. */
export function startTelegram(ch: AppChannel, cmd: number): Telegram {
  const tg = new Telegram(TOPICS.start, { [KEYS.channel]: formatAppChannel(ch) });
  if (cmd !== 0) tg.params.set(KEYS.cmd, cmd);
  return tg;
}

/** The telegram in front of `length` raw bytes of a stream. */
export function chunkTelegram(length: number): Telegram {
  return new Telegram(TOPICS.chunk, { [KEYS.length]: length });
}

/** The telegram that completes a stream. */
export function endTelegram(): Telegram {
  return new Telegram(TOPICS.end);
}

/** The telegram that abandons a stream (line breaks in `reason` become spaces). */
export function abortTelegram(reason: string): Telegram {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters cannot go on the wire
  const text = reason.replace(/[\x00-\x1f\x7f]+/g, ' ').trim() || 'aborted';
  return new Telegram(TOPICS.abort, { [KEYS.reason]: text });
}
