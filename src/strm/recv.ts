/**
 * Receiving a stream on a subscribed connection: after the node announces
 * a stream (`Strm`), its `Chunk` frames are handed to a `Readable` as the
 * application reads it, and the end (`StrmEnd`) is checked against the
 * bytes received (length and sha-256). An aborted or damaged stream makes
 * the `Readable` fail; it never ends as if it were complete.
 */
import type { Readable } from 'node:stream';
import { byteCount, fedReadable, type Telegram, U32, U64 } from '../blather/index.ts';
import type { Exchange } from '../conn/connection.ts';
import { failError, unexpectedReply } from '../conn/request.ts';
import { DdmwError, toDdmwError } from '../err.ts';
import { streamHasher } from './hash-thread.ts';
import { KEYS, TOPICS } from './wire.ts';

/** Bytes a received stream buffers ahead of its reader (1 MiB). */
export const READ_AHEAD = 1024 * 1024;

/** A stream arriving on a subscription. */
export interface StreamEvent {
  /** Tells a stream from a message (`'msg'`). */
  kind: 'stream';
  /** Channel the stream was sent on (as the server names it). */
  ch: string | undefined;
  /** Application command number. */
  cmd: number;
  /** Transfer id assigned by the sender node. */
  xferId: string | undefined;
  /**
   * The bytes, as they arrive. Consume it (or destroy it, which skips the
   * rest) before the next message can be received. It fails with `ABORTED`
   * when the sender aborted the stream, and with `IO` when its length or
   * sha-256 does not match.
   */
  stream: Readable;
}

/** True when `tg` announces a stream. */
export function isStreamStart(tg: Telegram): boolean {
  return tg.topic === TOPICS.start;
}

/** How a stream's frames ended: complete (the `StrmEnd` telegram, its fields not yet read), or aborted. */
type StreamEnd = { kind: 'end'; frame: Telegram } | { kind: 'aborted'; reason: string };

/** The byte count of a `Chunk` frame. When it does not parse, its bytes cannot be skipped: the connection is closed. */
function chunkLength(io: Exchange, frame: Telegram): number {
  try {
    return byteCount(frame.params.getBigInt(KEYS.length, U64));
  } catch (err) {
    throw io.fail(toDdmwError(err, 'A stream chunk announced a length that does not parse'));
  }
}

/**
 * Reads a stream's frames after its `Strm` telegram, up to its end or
 * abort, handing each piece of its bytes to `onPiece` (kept by it). A
 * frame that cannot be read in step closes the connection.
 */
async function readStreamFrames(
  io: Exchange,
  onPiece: (piece: Buffer) => void | Promise<void>,
): Promise<StreamEnd> {
  for (;;) {
    const frame = await io.reader.readTelegram();
    if (frame.topic === TOPICS.chunk) {
      await io.reader.readChunks(chunkLength(io, frame), onPiece, { keep: true });
    } else if (frame.topic === TOPICS.end) {
      return { kind: 'end', frame };
    } else if (frame.topic === TOPICS.abort) {
      return { kind: 'aborted', reason: frame.params.getStrDef(KEYS.reason, 'no reason given') };
    } else if (frame.topic === 'Fail') {
      throw failError(frame);
    } else {
      throw unexpectedReply(io, frame, `${TOPICS.chunk}, ${TOPICS.end} or ${TOPICS.abort}`);
    }
  }
}

/** Reads and drops the rest of a stream (one that was refused; its end is not checked); resolves once the connection is in step. */
export async function skipStream(io: Exchange): Promise<void> {
  await readStreamFrames(io, () => {});
}

/** What a `Strm` telegram says without parsing, for reports. */
export function streamFields(tg: Telegram): { xferId: string | undefined; ch: string | undefined } {
  const p = tg.params;
  return { xferId: p.get(KEYS.xferId), ch: p.get(KEYS.channel) ?? p.get('Ch') };
}

/**
 * Starts receiving the stream that `tg` announced. Returns the event at
 * once, and `done`, which resolves once the stream's last frame was read
 * (the connection is then in step again) and rejects when the connection
 * failed under it. Throws, before reading anything, when the header does
 * not parse (the caller skips the stream).
 */
export function receiveStream(
  io: Exchange,
  tg: Telegram,
): { event: StreamEvent; done: Promise<void> } {
  const { xferId, ch } = streamFields(tg);
  const cmd = tg.params.getIntDef(KEYS.cmd, 0, U32);
  // Destroyed early, the rest is still read and dropped, to keep the connection in step.
  const fed = fedReadable({ highWaterMark: READ_AHEAD });
  const stream = fed.stream;
  const fail = (err: DdmwError) => {
    if (!fed.destroyed) stream.destroy(err);
  };
  const done = (async () => {
    const hasher = streamHasher();
    let len = 0;
    let end: StreamEnd;
    try {
      end = await readStreamFrames(io, (piece) => {
        len += piece.length;
        // Copied by the hasher before the consumer gets the piece (and may change it).
        const hashing = hasher.update(piece);
        const offered = fed.offer(piece);
        return hashing && offered
          ? Promise.all([hashing, offered]).then(() => {})
          : (hashing ?? offered);
      });
    } catch (err) {
      hasher.drop();
      throw err;
    }
    if (end.kind === 'aborted') {
      hasher.drop();
      fail(new DdmwError('ABORTED', `Stream ${xferId ?? ''} was aborted: ${end.reason}`));
      return;
    }
    let sha: string;
    try {
      sha = await hasher.digest();
    } catch (err) {
      fail(toDdmwError(err)); // every frame was read: the connection is in step
      return;
    }
    const wantLen = end.frame.params.getInt(KEYS.length);
    const wantSha = end.frame.params.getStr(KEYS.sha256);
    if (wantLen !== len || wantSha.toLowerCase() !== sha) {
      fail(
        new DdmwError(
          'IO',
          `Stream ${xferId ?? ''} failed its integrity check: ${len} bytes with sha-256 ${sha}, the node sent ${wantLen} bytes with sha-256 ${wantSha}`,
        ),
      );
    } else if (!fed.destroyed) stream.push(null);
  })();
  done.catch((err: unknown) => fail(toDdmwError(err)));
  return { event: { kind: 'stream', ch, cmd, xferId, stream }, done };
}
